#!/bin/bash
# Build the unit's SD-card image: ./build.sh /path/to/pi-gen  (pi-gen's arm64 branch).
# Needs network at build time (apt, pip wheels for aarch64); the unit never downloads anything.
set -euo pipefail
PI_GEN=${1:?usage: build.sh /path/to/pi-gen}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
FILES="$HERE/stage-alpr/00-alpr/files"
PYTHON=${PYTHON:-python3}

rm -rf "$FILES/wheels" "$FILES/docs"
mkdir -p "$FILES/wheels" "$FILES/docs"
"$PYTHON" -m pip wheel --no-deps -w "$FILES/wheels" "$REPO"
wheel=$(ls "$FILES"/wheels/roadside_alpr-*.whl)
# Dependencies as aarch64 / CPython 3.11 wheels (Raspberry Pi OS bookworm).
"$PYTHON" -m pip download --only-binary=:all: --implementation cp --python-version 3.11 \
	--platform manylinux2014_aarch64 --platform manylinux_2_28_aarch64 \
	--platform manylinux_2_17_aarch64 -d "$FILES/wheels" "${wheel}[pi]"
cp "$REPO"/docs/deploy.md "$REPO"/docs/provisioning.md "$REPO"/docs/image.md "$FILES/docs/"

rm -rf "$PI_GEN/stage-alpr"
cp -a "$HERE/stage-alpr" "$PI_GEN/stage-alpr"
cp "$HERE/config" "$PI_GEN/config"
touch "$PI_GEN/stage2/SKIP_IMAGES"
cd "$PI_GEN"
if [ "${BUILD_DOCKER:-1}" = 1 ]; then ./build-docker.sh; else ./build.sh; fi
