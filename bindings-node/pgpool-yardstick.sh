#!/usr/bin/env bash
# Runs node-postgres's own pg-pool test suite (packages/pg-pool/test) with
# unipool/pg substituted for pg-pool. Not part of test.sh: it needs a local
# checkout of node-postgres, which this repository does not ship or fetch.
#
#   bash bindings-node/pgpool-yardstick.sh /path/to/node-postgres [git-dir]
#
# The path may be a work tree or a bare git directory. The suite's files are
# copied into a scratch dir, whose index.js is `module.exports = require('unipool/pg')`
# (the tests do `require('../')`), and run with mocha there. Results: docs/node.md.
set -euo pipefail
src="${1:?usage: pgpool-yardstick.sh /path/to/node-postgres}"
here="$(cd "$(dirname "$0")" && pwd)"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/unipool-pgpool.XXXXXX")"
if [ "${UNIPOOL_NODE_KEEP:-0}" != "1" ]; then trap 'rm -rf "$scratch"' EXIT; fi
if [ -d "$src/packages/pg-pool/test" ]; then
  cp -r "$src/packages/pg-pool/test" "$scratch/test"
else
  git --git-dir="$src" archive HEAD packages/pg-pool/test | tar -x -C "$scratch"
  mv "$scratch/packages/pg-pool/test" "$scratch/test"
fi
bash "$here/build.sh" >/dev/null
(cd "$here" && npm pack --silent --pack-destination "$scratch" >/dev/null)
cd "$scratch"
echo '{ "name": "pg-pool", "version": "0.0.0-unipool", "private": true, "main": "index.js" }' > package.json
if [ "${UNIPOOL_YARDSTICK_BASELINE:-0}" = "1" ]; then
  # baseline: the real pg-pool in the same scratch setup
  echo "module.exports = require('pg').Pool" > index.js
else
  echo "module.exports = require('unipool/pg')" > index.js
fi
npm install --no-audit --no-fund --loglevel=error ./unipool-*.tgz pg@8 pg-cursor@2 mocha@11 expect.js@0.3.1 co@4 lodash@4 bluebird@3 >/dev/null
u="${DATABASE_URL#*://}"; hostport="${u#*@}"; hostport="${hostport%%/*}"
export PGHOST="${PGHOST:-${hostport%%:*}}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}" PGDATABASE="${PGDATABASE:-${u##*/}}"
npx mocha --exit --timeout 10000 --reporter dot test/*.js 2>&1 | tee "$scratch/mocha.txt" || true
