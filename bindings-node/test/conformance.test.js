'use strict'
// Runs the shared conformance scenarios (tests/conformance/*.toml, format in
// FORMAT.md) through the public plain API: createPool({create, ...config}).
const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('fs')
const path = require('path')
const { parse } = require('smol-toml')
const { createPool } = require('unipool')

const dir = process.env.UNIPOOL_CONFORMANCE_DIR || path.join(process.cwd(), 'conformance')
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.toml')).sort() : []

const tick = () => new Promise((r) => setImmediate(r))
const camel = (k) => k.replace(/_([a-z])/g, (_, c) => c.toUpperCase())

describe('conformance scenarios', () => {
  it('the scenario directory is there', () => {
    assert.ok(files.length > 0, `no *.toml in ${dir}`)
  })

  for (const file of files) {
    const sc = parse(fs.readFileSync(path.join(dir, file), 'utf8'))
    it(`${file}: ${sc.name}`, async () => {
      await run(sc)
    })
  }
})

async function run(sc) {
  const config = { ...(sc.config || {}) }
  let made = 0
  let failNext = false
  let pings = 0
  const options = {
    ...config,
    clock: 'manual',
    create: () => {
      if (failNext) {
        failNext = false
        throw new Error('scenario connect failure')
      }
      made++
      return { name: 'c' + made }
    },
    destroy: () => {},
  }
  if (config.pool_pre_ping) {
    options.validate = () => {
      pings++
      return true
    }
  }

  if (sc.expect_config_error) {
    let err
    try {
      createPool(options)
    } catch (e) {
      err = e
    }
    assert.ok(err, 'expected an invalid_config error')
    assert.equal(err.code, 'UNIPOOL_INVALID_CONFIG')
    assert.equal(err.configKey, sc.expect_config_error.key)
    return
  }

  const pool = createPool(options)
  const poolName = pool.name
  const handles = new Map()
  const waits = new Map()
  let destroyed = []
  pool.on('destroy', (r, reason) => destroyed.push(reason))
  pool.on('error', () => {})

  try {
    for (const [i, step] of (sc.step || []).entries()) {
      const where = `step ${i + 1} ${JSON.stringify(step)}`
      if ('acquire' in step) {
        const before = made
        const pingsBefore = pings
        if (step.connect_fails) failNext = true
        let r
        let err
        try {
          r = await pool.acquire({ timeoutMs: (step.timeout || 0) * 1000 })
        } catch (e) {
          err = e
        }
        failNext = false
        if (step.expect_error) {
          assert.ok(err, `${where}: expected error ${step.expect_error}`)
          assert.equal(err.kind, step.expect_error, where)
          continue
        }
        assert.ok(!err, `${where}: unexpected error ${err && err.message}`)
        handles.set(step.acquire, r)
        if ('expect_conn' in step) assert.equal(r.name, step.expect_conn, where)
        if ('expect_new' in step) assert.equal(made > before, step.expect_new, where)
        if ('expect_needs_ping' in step) assert.equal(pings > pingsBefore, step.expect_needs_ping, where)
      } else if ('release' in step) {
        destroyed = []
        pool.release(handles.get(step.release))
        handles.delete(step.release)
        if ('expect_closed' in step) assert.equal(destroyed[0] || 'none', step.expect_closed, where)
      } else if ('invalidate' in step) {
        pool.destroy(handles.get(step.invalidate))
        handles.delete(step.invalidate)
      } else if ('wait' in step) {
        const w = { state: 'waiting', conn: undefined, ac: new AbortController() }
        const timeoutMs = (step.timeout == null ? 10 : step.timeout) * 1000
        w.promise = pool.acquire({ timeoutMs, signal: w.ac.signal }).then(
          (r) => {
            w.state = 'served'
            w.conn = r
          },
          (e) => {
            w.state = e.name === 'AbortError' ? 'cancelled' : 'error:' + e.kind
          }
        )
        waits.set(step.wait, w)
        await tick()
        if ('expect_state' in step) assert.equal(w.state, step.expect_state, where)
      } else if ('check' in step) {
        await tick()
        await tick()
        const w = waits.get(step.check)
        assert.equal(w.state, step.expect_state, where)
        if ('expect_conn' in step) assert.equal(w.conn && w.conn.name, step.expect_conn, where)
        if (w.state === 'served') handles.set(step.check, w.conn)
      } else if ('cancel' in step) {
        const w = waits.get(step.cancel)
        w.ac.abort()
        await tick()
        if ('expect_state' in step) assert.equal(w.state, step.expect_state, where)
      } else if ('sleep' in step) {
        await new Promise((r) => setTimeout(r, step.sleep * 1000))
      } else if ('advance' in step) {
        pool.advanceClock(step.advance)
      } else if ('maintain' in step) {
        const res = await pool.maintain()
        if ('expect_closed_reasons' in step) assert.deepEqual(res.closed.slice().sort(), step.expect_closed_reasons.slice().sort(), where)
        if ('expect_creates' in step) assert.equal(res.creates, step.expect_creates, where)
        if ('expect_leaks' in step) assert.equal(res.leaks, step.expect_leaks, where)
      } else if ('dispose' in step) {
        destroyed = []
        pool.dispose()
        if ('expect_closed_count' in step) assert.equal(destroyed.length, step.expect_closed_count, where)
      } else if ('resize' in step) {
        destroyed = []
        pool.resize(step.resize.pool_size, step.resize.max_overflow)
        if ('expect_closed_count' in step) assert.equal(destroyed.length, step.expect_closed_count, where)
      } else if ('pause' in step) {
        pool.pause()
      } else if ('resume' in step) {
        pool.resume()
      } else if ('close' in step) {
        destroyed = []
        await pool.close()
        if ('expect_closed_count' in step) assert.equal(destroyed.length, step.expect_closed_count, where)
      } else if ('status' in step) {
        await tick()
        const s = pool.stats()
        for (const [k, v] of Object.entries(step.expect_status || {})) {
          assert.ok(camel(k) in s, `${where}: status has no field ${k}`)
          assert.equal(s[camel(k)], v, `${where}: ${k}`)
        }
      } else if ('metrics' in step) {
        const lines = new Set(pool.metricsText().split('\n'))
        for (const l of step.expect_lines || []) {
          const want = l.split('{pool}').join(poolName)
          assert.ok(lines.has(want), `${where}: missing metrics line ${want}`)
        }
      } else {
        assert.fail(`${where}: unknown action`)
      }
    }
  } finally {
    for (const w of waits.values()) w.ac.abort()
    await pool.close()
  }
}
