#!/usr/bin/env bash
# Benchmark: acquire+release through the C ABI vs the Rust core (RawPool) in the same run,
# 1 thread and 8 threads on a pool of 4 (max_overflow 0, reset none, no pre-ping).
# Prints both result sets (median of ROUNDS rounds) and a markdown table. With valgrind
# installed it also counts instructions per acquire+release (1 thread), which does not depend
# on how loaded the machine is.
# Usage: bindings-c/bench.sh [iters per round, 1 thread (default 1000000)] [iters per thread per round, 8 threads (default 100000)]
set -euo pipefail
. "$(dirname "$0")/scripts/common.sh"
ITERS1="${1:-1000000}"
ITERS8="${2:-100000}"
ROUNDS="${ROUNDS:-7}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
bc_build
(cd "$ROOT" && cargo build --profile "$PROFILE" -p unipool-c --example rust_core_bench -q)
RUST="$LIB_DIR/examples/rust_core_bench"
gcc -std=c11 -D_GNU_SOURCE -O2 -I "$BC_DIR/include" "$BC_DIR/bench/bench_c_abi.c" "$LIB_DIR/libunipool_c.a" $NATIVE_LIBS -o "$WORK/bench_c_abi"
C="$WORK/bench_c_abi"
echo "machine: $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
{
    "$RUST" --iters "$ITERS1" --threads 1 --rounds "$ROUNDS"
    "$C" --iters "$ITERS1" --threads 1 --rounds "$ROUNDS"
    "$RUST" --iters "$ITERS8" --threads 8 --rounds "$ROUNDS"
    "$C" --iters "$ITERS8" --threads 8 --rounds "$ROUNDS"
} | tee "$WORK/out.txt"
med() { sed -n "s/^$1 threads=$2 .*median_ns=\([0-9.]*\).*/\1/p" "$WORK/out.txt"; }
instr() { # instructions per op: difference of two runs, so setup cancels out
    local a b
    a="$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" --iters 100000 --threads 1 --rounds 1 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p')"
    b="$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" --iters 200000 --threads 1 --rounds 1 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p')"
    echo $(((b - a) / 100000))
}
echo
echo "| threads (pool of 4) | Rust core RawPool, ns per acquire+release | C ABI, ns per acquire+release | C / Rust |"
echo "|---|---|---|---|"
for t in 1 8; do
    r="$(med rust_core $t)"; c="$(med c_abi $t)"
    echo "| $t | $r | $c | $(awk -v a="$c" -v b="$r" 'BEGIN{printf "%.2f", a/b}') |"
done
if command -v valgrind >/dev/null; then
    ri="$(instr "$RUST")"; ci="$(instr "$C")"
    echo "| 1 (instructions, callgrind) | $ri | $ci | $(awk -v a="$ci" -v b="$ri" 'BEGIN{printf "%.2f", a/b}') |"
fi
