#!/usr/bin/env bash
# Test entry point of the Node binding.
#
# 1. builds the addon (cargo --profile ci) and its Rust unit test,
# 2. packs the package (`npm pack`) and installs the tarball into a scratch
#    app, exactly as the README tells users to,
# 3. runs node's test runner there, against the real PostgreSQL.
#
# Env: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test),
#      CARGO_TARGET_DIR, UNIPOOL_NODE_KEEP=1 keeps the scratch dir.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"

need() { command -v "$1" >/dev/null 2>&1 || { echo "bindings-node/test.sh: '$1' is missing ($2)" >&2; exit 1; }; }
need node "Node.js >= 18"
need npm "npm"
need cargo "Rust toolchain"

# PostgreSQL must be there: the point of these tests is the database.
node -e '
const net = require("net"); const u = new URL(process.env.DATABASE_URL);
const s = net.connect({ host: u.hostname, port: Number(u.port || 5432) });
s.setTimeout(3000, () => { console.error("bindings-node/test.sh: PostgreSQL at " + u.hostname + ":" + (u.port||5432) + " is not answering (timeout); set DATABASE_URL"); process.exit(1) });
s.on("connect", () => { s.end(); process.exit(0) });
s.on("error", (e) => { console.error("bindings-node/test.sh: PostgreSQL missing at " + u.hostname + ":" + (u.port||5432) + " (" + e.code + "); set DATABASE_URL"); process.exit(1) });
'

echo "== building the addon"
bash "$here/build.sh"
(cd "$root" && cargo test --profile ci -p unipool-node --lib -q 2>&1 | tail -3)

echo "== npm pack"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/unipool-node-test.XXXXXX")"
if [ "${UNIPOOL_NODE_KEEP:-0}" != "1" ]; then trap 'rm -rf "$scratch"' EXIT; fi
(cd "$here" && npm pack --silent --pack-destination "$scratch" >/dev/null)
tarball="$(ls "$scratch"/unipool-*.tgz)"
echo "packed $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KiB)"

echo "== installing into a scratch app: $scratch/app"
mkdir -p "$scratch/app"
cd "$scratch/app"
cat > package.json <<'EOF'
{ "name": "unipool-scratch-app", "version": "0.0.0", "private": true }
EOF
npm install --no-audit --no-fund --loglevel=error "$tarball" pg@8 prom-client@15 smol-toml@1 express@4 typescript@5 @types/pg@8 @types/node@20 >/dev/null
cp -r "$here/test" ./test
cp -r "$root/tests/conformance" ./conformance
# the Express example runs from the app too (same installed package)
mkdir -p example && cp "$root/examples/node/server.js" "$root/examples/node/smoke.test.js" example/

echo "== node --test"
# Files run one at a time: several tests count server backends.
node --test --test-concurrency=1 --test-reporter=spec test/*.test.js test/*.test.mjs example/smoke.test.js 2>&1 | tee "$scratch/test-output.txt"
status=${PIPESTATUS[0]}
exit "$status"
