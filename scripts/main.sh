#!/bin/bash
# The main job: install what is missing, build the dev preset, and run the
# model's self-check over every design (a table of which flaw each design
# shows). Later this becomes a short fuzzing campaign over the catalog.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset dev >/dev/null
cmake --build --preset dev --target pinfuzz
exec build/dev/fuzz/pinfuzz selfcheck "$@"
