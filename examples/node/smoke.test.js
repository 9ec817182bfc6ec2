'use strict'
// Smoke test of the example: starts server.js on a free port against the real
// PostgreSQL and checks /health/database, /metrics and a query route.
const { it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const path = require('path')
const { spawn } = require('child_process')

let child
let base

before(async () => {
  child = spawn(process.execPath, [path.join(__dirname, 'server.js')], {
    env: { ...process.env, PORT: '0', DB_POOL_SIZE: '3' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  base = await new Promise((resolve, reject) => {
    let out = ''
    const t = setTimeout(() => reject(new Error('server did not start: ' + out)), 10000)
    child.stdout.on('data', (d) => {
      out += d
      const m = /listening on (\d+)/.exec(out)
      if (m) {
        clearTimeout(t)
        resolve(`http://127.0.0.1:${m[1]}`)
      }
    })
    child.on('exit', (code) => reject(new Error('server exited with ' + code + ': ' + out)))
  })
})

after(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGTERM')
    await exited
  }
})

it('GET /health/database reports the pool with the Python example\'s fields', async () => {
  const res = await fetch(base + '/health/database')
  assert.equal(res.status, 200)
  const body = await res.json()
  assert.equal(body.status, 'ok')
  for (const k of ['size', 'checked_in', 'checked_out', 'overflow', 'status', 'core']) assert.ok(k in body.pool, k)
  assert.equal(body.pool.size, 3)
  assert.equal(body.pool.checked_out, 0)
  assert.equal(body.pool.checked_in, 1)
  assert.equal(body.pool.core.name, 'app')
  assert.equal(body.pool.core.in_use, 0)
  assert.ok(body.pool.core.acquired >= 1)
})

it('GET /items/:n runs a query through the pool', async () => {
  const rs = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => fetch(`${base}/items/${n}`).then((r) => r.json())))
  assert.deepEqual(rs[2].items, [1, 2, 3])
  const body = await (await fetch(base + '/health/database')).json()
  assert.ok(body.pool.core.open <= 3)
  assert.ok(body.pool.core.acquired >= 7)
})

it('GET /metrics serves the core\'s Prometheus text', async () => {
  const res = await fetch(base + '/metrics')
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type'), /text\/plain/)
  const text = await res.text()
  assert.match(text, /db_client_connection_count\{db_client_connection_pool_name="app",db_client_connection_state="idle"\} \d+/)
  assert.match(text, /db_client_connection_max\{db_client_connection_pool_name="app"\} 3/)
})
