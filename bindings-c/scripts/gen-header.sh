#!/usr/bin/env bash
# Regenerates the committed include/unipool.h from the Rust sources (via build.rs + cbindgen).
set -euo pipefail
. "$(dirname "$0")/common.sh"
bc_build
cp "$GEN_HEADER" "$BC_DIR/include/unipool.h"
echo "updated $BC_DIR/include/unipool.h"
