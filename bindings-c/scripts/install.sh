#!/usr/bin/env bash
# Installs the C library: PREFIX/lib/libunipool.{a,so*}, PREFIX/include/unipool.h and
# PREFIX/lib/pkgconfig/unipool.pc.   Usage: scripts/install.sh PREFIX   (DESTDIR honoured)
# Builds first unless NO_BUILD=1. UNIPOOL_C_PROFILE=ci by default (release also works).
set -euo pipefail
. "$(dirname "$0")/common.sh"
PREFIX="${1:-${PREFIX:-/usr/local}}"
case "$PREFIX" in /*) ;; *) PREFIX="$(pwd)/$PREFIX" ;; esac
DEST="${DESTDIR:-}$PREFIX"
if [ "${NO_BUILD:-0}" != 1 ]; then bc_build; fi
install -d "$DEST/lib/pkgconfig" "$DEST/include"
install -m 644 "$BC_DIR/include/unipool.h" "$DEST/include/unipool.h"
install -m 644 "$LIB_DIR/libunipool_c.a" "$DEST/lib/libunipool.a"
# The Cargo target is libunipool_c.so (named to avoid clashing with the core crate's
# libunipool.rlib); its soname is libunipool.so.0 (set in build.rs).
install -m 755 "$LIB_DIR/libunipool_c.so" "$DEST/lib/libunipool.so.$VERSION"
ln -sf "libunipool.so.$VERSION" "$DEST/lib/libunipool.so.0"
ln -sf "libunipool.so.0" "$DEST/lib/libunipool.so"
sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@VERSION@|$VERSION|g" -e "s|@NATIVE_LIBS@|$NATIVE_LIBS|g" \
    "$BC_DIR/unipool.pc.in" >"$DEST/lib/pkgconfig/unipool.pc"
chmod 644 "$DEST/lib/pkgconfig/unipool.pc"
echo "installed unipool $VERSION into $DEST (lib, include, lib/pkgconfig/unipool.pc)"
