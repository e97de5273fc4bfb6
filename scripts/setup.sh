#!/bin/bash
# Installs the Debian 12 packages pinfuzz needs, if any are missing.
# Idempotent and quiet when everything is there. Needs root (or sudo) only
# when something must be installed.
set -euo pipefail

packages=(clang libclang-rt-14-dev ninja-build cmake libboost-dev
          libboost-context-dev libgtest-dev libbenchmark-dev libcli11-dev
          libfmt-dev nlohmann-json3-dev
          # tests: docs/designs.md drift check, the OSS-Fuzz build test
          python3 zip unzip binutils libc++-14-dev libc++abi-14-dev)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
