'use strict'
// One run of the Node benchmarks (see bench/run.sh, which installs the packed
// package and the competitors into a scratch app and runs this there).
//
//  A. end to end: unipool/pg drop-in vs pg-pool (pg.Pool), 64 concurrent
//     loops of `pool.query('SELECT 1')`, max 10, against the real PostgreSQL.
//  B. pool overhead: unipool's plain pool vs generic-pool vs tarn on a no-op
//     resource, acquire + release, 1 and 64 concurrent loops, max 8.
//
// Each case runs WINDOWS windows of WINDOW_MS after a warm-up, competitors
// interleaved window by window so drift hits all alike; the median window
// throughput (ops/s) is reported, and the ratio of medians.
const DATABASE_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test'
const WINDOWS = Number(process.env.BENCH_WINDOWS || 7)
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS || 1000)

const median = (xs) => {
  const s = xs.slice().sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

// Runs `loops` concurrent async loops of `op` for `ms`; returns ops/s.
// The clock is read in the loop (not a timer): an op that resolves without
// I/O never yields to the timer queue.
async function window(op, loops, ms) {
  let count = 0
  const t0 = performance.now()
  const end = t0 + ms
  async function loop() {
    while (performance.now() < end) {
      await op()
      count++
    }
  }
  await Promise.all(Array.from({ length: loops }, loop))
  return (count * 1000) / (performance.now() - t0)
}

async function compare(title, loops, cases) {
  const results = Object.fromEntries(cases.map((c) => [c.name, []]))
  for (const c of cases) await window(c.op, loops, 300) // warm-up
  for (let w = 0; w < WINDOWS; w++) {
    for (const c of cases) results[c.name].push(await window(c.op, loops, WINDOW_MS))
  }
  const rows = cases.map((c) => ({ name: c.name, median: median(results[c.name]), windows: results[c.name] }))
  console.log(`\n### ${title}`)
  for (const r of rows) console.log(`${r.name.padEnd(28)} ${Math.round(r.median).toString().padStart(9)} ops/s  (windows: ${r.windows.map((x) => Math.round(x)).join(', ')})`)
  return rows
}

async function main() {
  const out = { date: new Date().toISOString(), node: process.version, windows: WINDOWS, windowMs: WINDOW_MS, cases: {} }

  // ---- A: drop-in vs pg-pool
  const pg = require('pg')
  const UPool = require('unipool/pg')
  const opts = { connectionString: DATABASE_URL, max: 10 }
  const pgPool = new pg.Pool(opts)
  const uPool = new UPool(opts)
  const a = await compare('A. SELECT 1, 64 loops, max 10', 64, [
    { name: 'unipool/pg', op: () => uPool.query('SELECT 1') },
    { name: 'pg-pool (pg.Pool)', op: () => pgPool.query('SELECT 1') },
  ])
  out.cases.pg = a
  await Promise.all([pgPool.end(), uPool.end()])

  // ---- A2: the same drop-in path with a fake pg Client (no socket, no server):
  // what the pool itself costs per query, drop-in vs pg-pool.
  const EventEmitter = require('events')
  class FakeClient extends EventEmitter {
    constructor() {
      super()
      this._queryable = true
      this._ending = false
    }
    connect(cb) {
      setImmediate(cb)
    }
    query(text, values, cb) {
      setImmediate(() => cb(undefined, { rows: [] }))
    }
    end(cb) {
      this._ending = true
      if (cb) setImmediate(cb)
    }
  }
  const fp = new pg.Pool({ max: 10, Client: FakeClient })
  const fu = new UPool({ max: 10, Client: FakeClient })
  out.cases.pgfake = await compare('A2. fake client (pool cost only), 64 loops, max 10', 64, [
    { name: 'unipool/pg', op: () => fu.query('SELECT 1') },
    { name: 'pg-pool (pg.Pool)', op: () => fp.query('SELECT 1') },
  ])
  await Promise.all([fp.end(), fu.end()])

  // ---- B: no-op resource
  const { createPool } = require('unipool')
  const genericPool = require('generic-pool')
  const tarn = require('tarn')
  for (const loops of [1, 64]) {
    const u = createPool({ create: () => ({}), poolSize: 8, maxOverflow: 0, poolTimeout: 60 })
    const g = genericPool.createPool({ create: async () => ({}), destroy: async () => {} }, { max: 8, min: 0 })
    const t = new tarn.Pool({ create: () => Promise.resolve({}), destroy: () => {}, min: 0, max: 8, acquireTimeoutMillis: 60000 })
    const rows = await compare(`B. no-op acquire+release, ${loops} loop(s), max 8`, loops, [
      {
        name: 'unipool createPool',
        op: async () => {
          const r = await u.acquire()
          u.release(r)
        },
      },
      {
        name: 'generic-pool',
        op: async () => {
          const r = await g.acquire()
          await g.release(r)
        },
      },
      {
        name: 'tarn',
        op: async () => {
          const r = await t.acquire().promise
          t.release(r)
        },
      },
    ])
    out.cases['noop' + loops] = rows
    await u.close()
    await g.drain()
    await g.clear()
    await t.destroy()
  }

  const m = (rows, name) => rows.find((r) => r.name === name).median
  const ratios = {
    pg: m(out.cases.pg, 'unipool/pg') / m(out.cases.pg, 'pg-pool (pg.Pool)'),
    pg_fake_client: m(out.cases.pgfake, 'unipool/pg') / m(out.cases.pgfake, 'pg-pool (pg.Pool)'),
    noop1_generic: m(out.cases.noop1, 'unipool createPool') / m(out.cases.noop1, 'generic-pool'),
    noop1_tarn: m(out.cases.noop1, 'unipool createPool') / m(out.cases.noop1, 'tarn'),
    noop64_generic: m(out.cases.noop64, 'unipool createPool') / m(out.cases.noop64, 'generic-pool'),
    noop64_tarn: m(out.cases.noop64, 'unipool createPool') / m(out.cases.noop64, 'tarn'),
  }
  out.ratios = ratios
  console.log('\n### ratios (unipool / competitor, medians)')
  for (const [k, v] of Object.entries(ratios)) console.log(`${k.padEnd(16)} ${v.toFixed(2)}x`)
  if (process.env.BENCH_JSON) require('fs').writeFileSync(process.env.BENCH_JSON, JSON.stringify(out, null, 2))
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
