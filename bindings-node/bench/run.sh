#!/usr/bin/env bash
# One benchmark run: builds and packs the addon, installs it with pg, generic-pool
# and tarn into a scratch app, runs bench.js there. Output: the medians and ratios
# (and JSON at $BENCH_JSON if set).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
bash "$here/build.sh" >/dev/null
scratch="$(mktemp -d "${TMPDIR:-/tmp}/unipool-node-bench.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
(cd "$here" && npm pack --silent --pack-destination "$scratch" >/dev/null)
mkdir -p "$scratch/app" && cd "$scratch/app"
echo '{ "name": "unipool-bench-app", "version": "0.0.0", "private": true }' > package.json
npm install --no-audit --no-fund --loglevel=error "$scratch"/unipool-*.tgz pg@8 generic-pool@3 tarn@3 >/dev/null
echo "versions: node $(node --version), pg $(node -p 'require("pg/package.json").version'), pg-pool $(node -p 'JSON.parse(require("fs").readFileSync("node_modules/pg-pool/package.json")).version'), generic-pool $(node -p 'require("generic-pool/package.json").version'), tarn $(node -p 'require("tarn/package.json").version')"
cp "$here/bench/bench.js" ./bench.js
node ./bench.js
