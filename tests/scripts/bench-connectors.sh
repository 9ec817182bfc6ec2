#!/usr/bin/env bash
# Connector benchmarks, one run, same machine:
#   PostgreSQL: unipool+sqlx vs sqlx PgPool vs deadpool-postgres (64 workers, pool of 10, SELECT 1),
#               pgbench -f (SELECT 1, 10 connections, prepared) as the ceiling;
#   Redis:      unipool+redis vs deadpool-redis vs bb8-redis (64 workers, pool of 10, PING),
#               redis-benchmark (PING_MBULK, 10 connections) as the ceiling.
# Prints every median and the ratios. Env: DATABASE_URL, REDIS_URL, BENCH_SECS (5), BENCH_ROUNDS (3).
# --smoke: one short round of everything (CI: proves the benchmarks run; numbers mean nothing).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
. "$here/servers.sh"
require_postgres
require_redis
apt_install pgbench postgresql-contrib
apt_install redis-benchmark redis-tools

smoke=0
[ "${1:-}" = "--smoke" ] && smoke=1
secs=${BENCH_SECS:-5}
rounds=${BENCH_ROUNDS:-3}
rb_n=200000
if [ "$smoke" = 1 ]; then secs=0.5; rounds=1; rb_n=5000; fi
pg_secs=$(awk -v s="$secs" 'BEGIN { t = int(s + 0.5); print (t < 1 ? 1 : t) }')
export BENCH_SECS=$secs BENCH_ROUNDS=$rounds BENCH_WORKERS=64 BENCH_POOL=10
out=$(mktemp /tmp/unipool-bench-connectors.XXXXXX)
trap 'rm -f "$out" "$out.sql"' EXIT

cd "$root"
# Build first, so compiling does not overlap the measurements.
cargo bench --profile ci -p unipool --features postgres,redis --bench peers_pg --bench peers_redis --no-run >&2

echo "== PostgreSQL peers (${rounds}x${secs}s each, interleaved)" >&2
cargo bench --profile ci -p unipool --features postgres,redis --bench peers_pg 2>&2 | tee -a "$out"

echo "== pgbench ceiling" >&2
printf 'SELECT 1;\n' >"$out.sql"
pg_tps=()
for _ in $(seq 1 "$rounds"); do
    t=$(pgbench -n -f "$out.sql" -c 10 -j 2 -T "$pg_secs" -M prepared "$DATABASE_URL" 2>/dev/null \
        | awk '/^tps = / {print $3}')
    echo "pgbench round: $t tps" >&2
    pg_tps+=("$t")
done
pg_med=$(printf '%s\n' "${pg_tps[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "RESULT pg pgbench_ceiling ${pg_med%.*} ops/s (pgbench -f SELECT 1, -c 10 -j 2 -M prepared, median of $rounds)" | tee -a "$out"

echo "== Redis peers" >&2
cargo bench --profile ci -p unipool --features postgres,redis --bench peers_redis 2>&2 | tee -a "$out"

echo "== redis-benchmark ceiling" >&2
rh=$(url_host "$REDIS_URL"); rp=$(url_port "$REDIS_URL" 6379)
rb=()
for _ in $(seq 1 "$rounds"); do
    r=$(redis-benchmark -h "$rh" -p "$rp" -c 10 -n "$rb_n" -t ping --csv 2>/dev/null \
        | awk -F'","' '/PING_MBULK/ {print $2}')
    echo "redis-benchmark round: $r rps" >&2
    rb+=("$r")
done
rb_med=$(printf '%s\n' "${rb[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "RESULT redis redis_benchmark_ceiling ${rb_med%.*} ops/s (redis-benchmark -t ping PING_MBULK, -c 10, median of $rounds)" | tee -a "$out"

get() { awk -v k="$1" -v n="$2" '$1=="RESULT" && $2==k && $3==n {print $4}' "$out"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
uni=$(get pg unipool_sqlx); sq=$(get pg sqlx_pgpool); sqn=$(get pg sqlx_pgpool_no_test)
dp=$(get pg deadpool_postgres); pgc=$(get pg pgbench_ceiling); sqd=$(get pg sqlx_direct_no_pool)
ur=$(get redis unipool_redis); dr=$(get redis deadpool_redis); br=$(get redis bb8_redis)
rc=$(get redis redis_benchmark_ceiling); rd=$(get redis redis_direct_no_pool)
echo
echo "== ratios (ops/s medians; >1 means unipool is faster)"
echo "pg    unipool+sqlx / sqlx PgPool (defaults)          = $(ratio "$uni" "$sq")   (goal >= 1.10)"
echo "pg    unipool+sqlx / sqlx PgPool (no test_before_acq)= $(ratio "$uni" "$sqn")"
echo "pg    unipool+sqlx / deadpool-postgres               = $(ratio "$uni" "$dp")"
echo "pg    unipool+sqlx / pgbench ceiling                 = $(ratio "$uni" "$pgc")   (goal >= 0.90)"
echo "pg    unipool+sqlx / sqlx, 10 conns, no pool         = $(ratio "$uni" "$sqd")   (pool overhead)"
echo "pg    sqlx, 10 conns, no pool / pgbench ceiling      = $(ratio "$sqd" "$pgc")   (driver vs libpq)"
echo "redis unipool+redis / deadpool-redis                 = $(ratio "$ur" "$dr")"
echo "redis unipool+redis / bb8-redis                      = $(ratio "$ur" "$br")"
echo "redis unipool+redis / redis-benchmark ceiling        = $(ratio "$ur" "$rc")"
echo "redis unipool+redis / redis-rs, 10 conns, no pool    = $(ratio "$ur" "$rd")   (pool overhead)"
# every contender must have produced a number
for v in "$uni" "$sq" "$sqn" "$dp" "$sqd" "$pgc" "$ur" "$dr" "$br" "$rd" "$rc"; do
    case "$v" in ''|0) echo "bench-connectors: a contender produced no result" >&2; exit 1 ;; esac
done
[ "$smoke" = 1 ] && echo "bench-connectors smoke: 11 passed, 0 failed"
exit 0
