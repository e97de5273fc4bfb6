#!/bin/bash
# Builds and runs every test suite: dev, asan (ASan+UBSan), tsan, and fuzz
# (libFuzzer + ASan + UBSan: the fuzz target's smoke runs). This is the
# README's test command and what .ci/run executes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
for preset in dev asan tsan fuzz; do
  echo "=== preset $preset ==="
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
  ctest --preset "$preset" -j2 --output-on-failure
done
