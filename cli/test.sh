#!/usr/bin/env bash
# Test entry point for the `unipool` command (cli/):
#   1. cargo test --profile ci -p unipool-cli  (unit tests + end-to-end tests
#      that run the binary on embedded SQLite and on the real PostgreSQL,
#      MariaDB and Redis of this machine; with CI=true a missing server fails)
#   2. a smoke run of every subcommand through the built binary, checking the
#      outputs (JSON fields, exit codes, the sweep SVG parses and marks the knee,
#      and renders to PNG when rsvg-convert can be installed).
# Prints cargo's summary lines and "smoke: N passed, M failed".
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
export MYSQL_URL="${MYSQL_URL:-mysql://root@127.0.0.1:3306/test}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"

echo "== cargo test --profile ci -p unipool-cli"
if ! cargo test --profile ci -p unipool-cli 2>&1; then
  echo "cli/test.sh: cargo test failed" >&2
  cargo_failed=1
else
  cargo_failed=0
fi

bin="$CARGO_TARGET_DIR/ci/unipool"
if [ ! -x "$bin" ]; then
  cargo build --profile ci -p unipool-cli || { echo "cli/test.sh: build failed" >&2; exit 1; }
fi

out="$(mktemp -d "${TMPDIR:-/tmp}/unipool-cli-smoke.XXXXXX")"
trap 'rm -rf "$out"' EXIT
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && sed 's/^/     /' "$2" | tail -n 30; }

# check NAME CMD... : runs CMD, records pass/fail on exit status 0
check() {
  local name="$1"; shift
  if "$@" >"$out/last.out" 2>"$out/last.err"; then pass "$name"; else cat "$out/last.out" >>"$out/last.err"; fail "$name" "$out/last.err"; fi
}

# JSON assertions use python3 (present on Debian; installed if missing).
command -v python3 >/dev/null || { apt-get update -qq && apt-get install -y -qq python3 >/dev/null; }
jcheck() { # jcheck FILE PYTHON-EXPR (v = the parsed JSON)
  python3 -c "import json,sys; v=json.load(open(sys.argv[1])); ok=($2); sys.exit(0 if ok else 1)" "$1"
}

server_up() { # server_up HOST PORT
  timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}
ci=false; [ "${CI:-}" = "true" ] && ci=true
have_pg=false
if server_up 127.0.0.1 5432; then have_pg=true
elif $ci; then fail "PostgreSQL reachable at 127.0.0.1:5432 (required with CI=true)"
else echo "NOT RUN: PostgreSQL smoke (nothing listening on 127.0.0.1:5432)"; fi

smoke_bench() { # smoke_bench NAME BACKEND ARGS...
  local name="$1" backend="$2"; shift 2
  if "$bin" bench --duration 1s --warmup 200ms --workers 8 --json "$@" >"$out/b.json" 2>"$out/b.err" \
     && jcheck "$out/b.json" "v['backend']=='$backend' and v['measured']['ops']>0 and v['measured']['errors']==0 and v['measured']['latency']['p50_ms']<=v['measured']['latency']['p99_ms'] and v['pool']['acquired']>=v['measured']['ops']"; then
    pass "$name"
  else cat "$out/b.json" >>"$out/b.err"; fail "$name" "$out/b.err"; fi
}

echo
echo "== smoke: every subcommand"
# bench: the README's main job, no server
smoke_bench "bench on embedded SQLite (no URL)" sqlite --embedded
cp "$out/b.json" "$out/bench-sqlite.json"
check "bench text output on SQLite has throughput and percentiles" bash -c \
  "'$bin' bench --embedded --duration 500ms --warmup 0 --workers 4 --quiet | grep -q 'latency .*p50.*p95.*p99'"
if $have_pg; then
  smoke_bench "bench on PostgreSQL via DATABASE_URL" postgres
  cp "$out/b.json" "$out/bench-pg.json"
fi

# Redis Cluster: three masters on loopback ports started here (redis-server from Debian's package)
if ! command -v redis-server >/dev/null && $ci; then
  (apt-get install -y -qq redis-server >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq redis-server >/dev/null 2>&1; }) || true
fi
if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
  cluster_ports="7311 7312 7313"
  for p in $cluster_ports; do
    mkdir -p "$out/cluster-$p"
    redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file nodes.conf \
      --dir "$out/cluster-$p" --daemonize yes --save "" --appendonly no --logfile "$out/cluster-$p/log" >/dev/null
  done
  trap 'for p in $cluster_ports; do redis-cli -p $p shutdown nosave >/dev/null 2>&1; done; rm -rf "$out"' EXIT
  for _ in $(seq 50); do redis-cli -p 7313 ping >/dev/null 2>&1 && break; sleep 0.1; done
  if redis-cli --cluster create 127.0.0.1:7311 127.0.0.1:7312 127.0.0.1:7313 --cluster-replicas 0 --cluster-yes >"$out/cluster.log" 2>&1; then
    for _ in $(seq 50); do redis-cli -p 7311 cluster info 2>/dev/null | grep -q 'cluster_state:ok' && break; sleep 0.1; done
    smoke_bench "bench on a 3-master Redis Cluster (INCR routed by slot)" redis-cluster \
      --url "redis://127.0.0.1:7311,127.0.0.1:7312,127.0.0.1:7313" --query "INCR unipool:cli:counter"
  else
    fail "start a 3-master Redis Cluster on 127.0.0.1:7311-7313" "$out/cluster.log"
  fi
elif $ci; then
  fail "redis-server for the Redis Cluster smoke (could not be installed)"
else
  echo "NOT RUN: Redis Cluster smoke (redis-server not installed)"
fi

# sweep + SVG
if "$bin" sweep --embedded --sizes 1,2,4,8 --workers 16 --duration 500ms --warmup 100ms --quiet --out "$out/sweep.svg" >"$out/sweep.txt" 2>&1; then
  pass "sweep on SQLite"
  knee="$(sed -n 's/^knee: pool_size \([0-9]*\).*/\1/p' "$out/sweep.txt")"
  check "sweep printed a table and a knee" test -n "$knee" -a "$(grep -c '<- knee' "$out/sweep.txt")" = 1
  check "sweep SVG is well-formed XML with both series and the knee labelled" python3 - "$out/sweep.svg" "$knee" <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag.endswith('svg'), root.tag
ns = '{http://www.w3.org/2000/svg}'
classes = [e.get('class') for e in root.iter(ns + 'polyline')]
assert 'throughput' in classes and 'p99' in classes, classes
labels = [e.text or '' for e in root.iter(ns + 'text')]
assert any(t.startswith('knee: pool size %s ' % sys.argv[2]) for t in labels), labels
assert any('throughput (ops/s)' in t for t in labels) and any('p99 latency (ms)' in t for t in labels)
assert any(e.get('class') == 'knee' for e in root.iter(ns + 'line'))
EOF
  if ! command -v rsvg-convert >/dev/null; then
    (apt-get install -y -qq librsvg2-bin >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq librsvg2-bin >/dev/null 2>&1; }) || true
  fi
  if command -v rsvg-convert >/dev/null; then
    check "sweep SVG renders to PNG (rsvg-convert)" bash -c "rsvg-convert '$out/sweep.svg' -o '$out/sweep.png' && test -s '$out/sweep.png'"
  else
    echo "NOT RUN: SVG render check (rsvg-convert could not be installed)"
  fi
else
  fail "sweep on SQLite" "$out/sweep.txt"
fi
if $have_pg; then
  check "sweep on PostgreSQL" "$bin" sweep --sizes 1,2,4 --workers 8 --duration 300ms --warmup 100ms --quiet --out "$out/sweep-pg.svg"
fi

# size
check "size: Little's law closed system (64 x 1ms / (1ms + 3ms) = 16)" bash -c \
  "'$bin' size --offline --concurrency 64 --query-time 1ms --wait 3ms | grep -q 'recommended pool size per pool: 16'"
check "size --from a bench report" bash -c "'$bin' size --offline --from '$out/bench-sqlite.json' | grep -q 'erlang_c'"
"$bin" size --offline --processes 4 --workers 4 --pool-size 5 --max-overflow 10 --max-connections 100 --check >"$out/s.txt" 2>&1
code=$?
if [ "$code" = 3 ] && grep -q 'OVER BUDGET' "$out/s.txt"; then pass "size --check exits 3 over budget"; else fail "size --check exits 3 over budget (got $code)" "$out/s.txt"; fi
if $have_pg; then
  check "size reads max_connections from PostgreSQL" bash -c \
    "'$bin' size --json --pool-size 5 --max-overflow 10 | python3 -c 'import json,sys; b=json.load(sys.stdin)[\"report\"][\"budget\"]; sys.exit(0 if b[\"max_connections\"]>0 and b[\"source\"].startswith(\"server \") else 1)'"
fi

# config
check "config shows env source and masks the password" bash -c \
  "out=\$(DB_POOL_SIZE=12 '$bin' config --url 'postgres://u:topsecret@h/db?pool_timeout=3'); echo \"\$out\" | grep -Eq '^pool_size +12 +env DB_POOL_SIZE' && echo \"\$out\" | grep -Eq '^pool_timeout +3 +url' && ! echo \"\$out\" | grep -q topsecret"
DB_POOL_SIZE=-3 "$bin" config --embedded >"$out/c.txt" 2>&1
code=$?
if [ "$code" = 2 ] && grep -q 'DB_POOL_SIZE' "$out/c.txt" && grep -q 'from 0 to' "$out/c.txt"; then
  pass "config explains an invalid env value and exits 2"
else fail "config explains an invalid env value and exits 2 (got $code)" "$out/c.txt"; fi

echo
echo "smoke: $passed passed, $failed failed"
if [ "$cargo_failed" != 0 ] || [ "$failed" != 0 ]; then exit 1; fi
