#!/usr/bin/env bash
# Benchmark: acquire+release through the C ABI vs the Rust core (RawPool) in the same run,
# 1 thread and 8 threads on a pool of 4. Prints both result sets and a markdown table.
# Usage: bindings-c/bench.sh [iters-per-thread-per-round (default 1000000)]
set -euo pipefail
. "$(dirname "$0")/scripts/common.sh"
ITERS="${1:-1000000}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
bc_build
(cd "$ROOT" && cargo build --profile "$PROFILE" -p unipool-c --example rust_core_bench -q)
gcc -std=c11 -D_GNU_SOURCE -O2 -I "$BC_DIR/include" "$BC_DIR/bench/bench_c_abi.c" "$LIB_DIR/libunipool_c.a" $NATIVE_LIBS -o "$WORK/bench_c_abi"
"$LIB_DIR/examples/rust_core_bench" --iters "$ITERS" --threads 1,8 | tee "$WORK/rust.txt"
"$WORK/bench_c_abi" --iters "$ITERS" --threads 1,8 | tee "$WORK/c.txt"
med() { sed -n "s/^$1 threads=$2 .*median_ns=\([0-9.]*\).*/\1/p" "$WORK/$3"; }
echo
echo "| threads (pool of 4) | Rust core RawPool ns/op | C ABI ns/op | C / Rust |"
echo "|---|---|---|---|"
for t in 1 8; do
    r="$(med rust_core $t rust.txt)"; c="$(med c_abi $t c.txt)"
    echo "| $t | $r | $c | $(awk -v a="$c" -v b="$r" 'BEGIN{printf "%.2f", a/b}') |"
done
