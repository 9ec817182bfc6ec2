#!/usr/bin/env bash
# Test entry point for the built-in connectors (PostgreSQL, MySQL/MariaDB, SQLite, Redis, Redis Cluster).
# Needs the machine's PostgreSQL, MariaDB and Redis (see servers.sh). The tests themselves start and
# stop their throwaway servers through pg.sh, pgbouncer.sh and redis-cluster.sh (so a plain
# `cargo test` works too); this script installs what those need, checks the real servers, runs
# the tests, and makes sure nothing throwaway is left running.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
. "$here/servers.sh"

missing=0
require_postgres || missing=1
require_mysql || missing=1
require_redis || missing=1
[ "$missing" = 0 ] || { echo "connectors.sh: a required server is missing (see above)" >&2; exit 1; }

# Throwaway servers' tools (Debian packages), installed once up front.
pg_bindir >/dev/null
apt_install pgbouncer pgbouncer
apt_install redis-server redis-server
apt_install redis-cli redis-tools
apt_install openssl openssl

cleanup() {
    # Anything a crashed test run left behind (dirs are per-process, see connector_support).
    for d in /tmp/unipool-pgbouncer-*; do [ -d "$d" ] && bash "$here/pgbouncer.sh" stop "$d" || true; done
    for d in /tmp/unipool-pg-*; do [ -d "$d" ] && bash "$here/pg.sh" destroy "$d" || true; done
    for d in /tmp/unipool-redis-tls-*; do
        [ -f "$d/redis.pid" ] && kill "$(cat "$d/redis.pid")" 2>/dev/null
        [ -d "$d" ] && rm -rf "$d"
    done
    for d in /tmp/unipool-redis-cluster-*; do
        [ -d "$d" ] || continue
        first=$(ls "$d" | grep -E '^[0-9]+$' | sort -n | head -1 || true)
        [ -n "$first" ] && bash "$here/redis-cluster.sh" stop "$d" "$first" || rm -rf "$d"
    done
}
trap cleanup EXIT

cd "$root"
features=postgres,mysql,sqlite,redis,redis-cluster
log=$(mktemp /tmp/unipool-connectors-test.XXXXXX)
status=0
# unit tests of the connectors module (URL options, password masking)
cargo test --profile ci -p unipool --features "$features" --lib connectors:: 2>&1 | tee -a "$log" || status=1
# against the real servers
cargo test --profile ci -p unipool --features "$features" --test 'connector_*' 2>&1 | tee -a "$log" || status=1
# One closing line for the whole run.
passed=$(grep -E '^test result:' "$log" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep -E '^test result:' "$log" | grep -Eo '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
rm -f "$log"
echo "connectors: $passed passed, $failed failed"
exit "$status"
