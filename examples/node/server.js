'use strict'
// Express service using unipool's drop-in for node-postgres's Pool.
//
//   npm install express pg /path/to/unipool-0.1.0.tgz   (see README.md)
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node server.js
//   curl localhost:3000/health/database   # pool size, checked in/out, overflow + core stats
//   curl localhost:3000/metrics           # Prometheus text from the core
const express = require('express')
const { Pool } = require('unipool/pg') // was: const { Pool } = require('pg')

const pool = new Pool({
  connectionString: process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test',
  max: Number(process.env.DB_POOL_SIZE || 10),
  idleTimeoutMillis: 30000,
  connectionTimeoutMillis: Number(process.env.DB_POOL_TIMEOUT_MS || 5000),
  poolName: 'app', // the pool's name in metrics
})
pool.on('error', (err) => console.error('idle client error:', err.message))

const snake = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase()), v]))

// Same fields as the Python example (SQLAlchemy's names), plus pg-pool's counters.
function poolReport() {
  const s = pool.stats()
  return {
    size: s.poolSize,
    checked_in: pool.idleCount,
    checked_out: s.inUse,
    overflow: s.overflow,
    status: `Pool size: ${s.poolSize}  Connections in pool: ${s.idle} Current Overflow: ${s.overflow} Current Checked out connections: ${s.inUse}`,
    pg: { totalCount: pool.totalCount, idleCount: pool.idleCount, waitingCount: pool.waitingCount, expiredCount: pool.expiredCount },
    core: snake(s), // unipool's snapshot: same fields as Rust's PoolStatus
  }
}

const app = express()

app.get('/health/database', async (req, res) => {
  let ok = false
  let error
  try {
    const r = await pool.query('SELECT 1 AS one')
    ok = r.rows[0].one === 1
  } catch (e) {
    error = `${e.code || e.name}: ${e.message}` // report, don't crash the health check
  }
  const body = { status: ok ? 'ok' : 'error', pool: poolReport() }
  if (error) body.error = error
  res.status(ok ? 200 : 503).json(body)
})

app.get('/metrics', (req, res) => {
  res.type('text/plain; version=0.0.4; charset=utf-8').send(pool.metricsText())
})

app.get('/items/:n', async (req, res, next) => {
  try {
    const r = await pool.query('SELECT generate_series(1, $1::int) AS i', [Number(req.params.n)])
    res.json({ items: r.rows.map((row) => row.i) })
  } catch (e) {
    next(e)
  }
})

const server = app.listen(Number(process.env.PORT || 3000), '127.0.0.1', () => {
  console.log(`listening on ${server.address().port}`)
})

function shutdown() {
  server.close(() => pool.end().then(() => process.exit(0)))
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
