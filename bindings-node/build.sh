#!/usr/bin/env bash
# Builds the napi addon with the shared `ci` profile and copies it to
# bindings-node/unipool.node, where native.js loads it and `npm pack` ships it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
(cd "$root" && cargo build --profile ci -p unipool-node)
case "$(uname -s)" in
  Darwin) lib="libunipool_node.dylib" ;;
  *) lib="libunipool_node.so" ;;
esac
cp "$target/ci/$lib" "$here/unipool.node"
echo "built $here/unipool.node"
