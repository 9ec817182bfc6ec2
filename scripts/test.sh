#!/usr/bin/env bash
# Every test of unipool, in one command (the README's test command; .ci/run
# calls exactly this). Steps run in order and all run even if one fails; the
# last line is "unipool: N passed, N failed" over the steps, and the exit code
# is non-zero if any step failed. One cargo target directory and one profile
# (`ci`) are shared by every step, so nothing is compiled twice.
#
#   scripts/test.sh            all steps
#   scripts/test.sh core c     only the named steps (see STEPS below)
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
export MYSQL_URL="${MYSQL_URL:-mysql://root@127.0.0.1:3306/test}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
FEATURES=postgres,mysql,sqlite,redis,redis-cluster

command -v cargo >/dev/null || { echo "test.sh: cargo is missing: install Rust with rustup (https://rustup.rs)" >&2; exit 1; }

step_services() { bash scripts/services.sh; }
step_core() {
    cargo test --profile ci -p unipool --features "$FEATURES" --lib --test conformance --test semantics --test stress --test blocking \
        && cargo test --profile ci -p unipool --features "$FEATURES" --doc \
        && cargo run --profile ci -p unipool --features "$FEATURES" --example basic
}
step_loom() {
    # The loom-model feature swaps the state machine's locks for loom's; only
    # unipool itself is rebuilt for it.
    cargo test --profile ci -p unipool --no-default-features --features loom-model --lib loom
}
step_connectors() { bash tests/scripts/connectors.sh; }
step_cli() { bash cli/test.sh; }
step_c() { bash bindings-c/test.sh; }
step_python() { bash bindings-python/test.sh; }
step_node() { bash bindings-node/test.sh; }
step_bench_smoke() {
    bash scripts/bench-core.sh --smoke
    local rc=$?
    if [ -f tests/scripts/bench-connectors.sh ]; then bash tests/scripts/bench-connectors.sh --smoke || rc=1; fi
    return $rc
}

STEPS=(services core loom connectors cli c python node bench_smoke)
[ $# -gt 0 ] && STEPS=("$@")

passed=0; failed=0; report=()
for s in "${STEPS[@]}"; do
    declare -F "step_$s" >/dev/null || { echo "test.sh: unknown step '$s' (steps: services core loom connectors cli c python node bench_smoke)" >&2; exit 2; }
    echo
    echo "======== $s"
    start=$(date +%s)
    if "step_$s"; then r=ok; passed=$((passed+1)); else r=FAILED; failed=$((failed+1)); fi
    report+=("$(printf '%-12s %-7s %4ss' "$s" "$r" "$(( $(date +%s) - start ))")")
done
echo
echo "======== summary"
printf '%s\n' "${report[@]}"
echo "unipool: $passed passed, $failed failed"
[ "$failed" = 0 ]
