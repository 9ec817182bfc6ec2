#!/usr/bin/env bash
# Fails when the committed include/unipool.h differs from a fresh cbindgen generation.
set -euo pipefail
. "$(dirname "$0")/common.sh"
bc_build
if ! diff -u "$BC_DIR/include/unipool.h" "$GEN_HEADER"; then
    echo "header check FAILED: bindings-c/include/unipool.h is stale; run bindings-c/scripts/gen-header.sh and commit it" >&2
    exit 1
fi
echo "header check ok: include/unipool.h matches a fresh generation"
