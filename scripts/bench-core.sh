#!/usr/bin/env bash
# Core benchmark (issue 2.6): unipool's pool against deadpool, bb8, r2d2 and
# mobc in ONE run on a no-op connection; prints the tables (medians), the
# throughput ratios unipool / best peer and whether each goal is met.
#
#   scripts/bench-core.sh            full run, release-grade (cargo's bench profile), ~3-4 min
#   scripts/bench-core.sh --smoke    tiny run for CI (--profile ci, < 1 min once built)
#
# Env: BENCH_PROFILE (cargo profile; default bench, or ci with --smoke),
#      BENCH_ROUNDS, BENCH_MS, BENCH_ONLY (see core/benches/acquire.rs),
#      BENCH_OUT (copy of the output; default $CARGO_TARGET_DIR/bench-core.txt).
# Needs only cargo (crates.io for the peer crates on a cold build). Exits
# non-zero if the build or any scenario fails (a pool that hands out more
# connections than its limit, or none at all, fails the run).
set -euo pipefail

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }

smoke=0
for arg in "$@"; do
    case "$arg" in
        --smoke) smoke=1 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "bench-core.sh: unknown argument '$arg' (allowed: --smoke, --help)" >&2; exit 2 ;;
    esac
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
command -v cargo >/dev/null || { echo "bench-core.sh: cargo is not installed (install Rust via rustup)" >&2; exit 1; }

target="${CARGO_TARGET_DIR:-$root/target}"
mkdir -p "$target"
out="${BENCH_OUT:-$target/bench-core.txt}"
args=()
if [ "$smoke" = 1 ]; then
    profile="${BENCH_PROFILE:-ci}"
    args+=(--smoke)
else
    profile="${BENCH_PROFILE:-bench}"
fi

echo "== building benches/acquire.rs (profile $profile)"
cargo bench --profile "$profile" -p unipool --bench acquire --no-run

echo "== running (one process: every contender measured in the same run)"
# cargo bench passes --bench to a harness = false binary; acquire.rs ignores it.
cargo bench --profile "$profile" -p unipool --bench acquire -- "${args[@]}" | tee "$out"

echo
echo "== throughput ratios unipool / best peer (>1 = unipool faster)"
awk -F'\t' '$1 == "RATIO" { printf "  %-8sx  %-42s %-26s vs %s\n", $5, $3, $4, $6; n++ }
            END { if (n == 0) { print "  no RATIO lines: the benchmark printed no results" > "/dev/stderr"; exit 1 } }' "$out"

echo
echo "== goals"
awk -F'\t' '$1 == "GOAL" { printf "  %-8s %-18s %-50s %s\n", $5, $2, $3, $4 }' "$out"

rows=$(grep -c '^RATIO' "$out" || true)
tables=$(grep -c '^### ' "$out" || true)
if [ -z "${BENCH_ONLY:-}" ] && [ "$tables" -lt 10 ]; then
    echo "bench-core.sh: expected 10 result tables, got $tables" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
echo "bench-core: $tables tables, $rows unipool/peer comparisons measured (output in $out)"
# Every comparison row is a scenario that ran to completion with its checks
# (connections created > 0 and within the pool limit) passing.
echo "$rows passed, 0 failed"
