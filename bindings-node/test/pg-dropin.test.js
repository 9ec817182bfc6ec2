'use strict'
// The pg-pool behaviours (pg-pool's own suite, packages/pg-pool/test, is the
// yardstick; these are our own tests of the same behaviours), against the
// real PostgreSQL, with `unipool/pg` instead of `pg-pool`.
const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const path = require('path')
const { fork } = require('child_process')
const EventEmitter = require('events')
const { wait, silentServer } = require('./helpers')
const pg = require('pg')
const Pool = require('unipool/pg')

describe('pg drop-in: basics', () => {
  it('exports the Pool class like pg and pg-pool', () => {
    assert.equal(typeof Pool, 'function')
    assert.equal(require('unipool/pg').Pool, Pool)
    const p = new Pool()
    assert.ok(p instanceof EventEmitter)
    assert.equal(p.options.max, 10)
    assert.equal(p.options.idleTimeoutMillis, 10000)
    assert.equal(p.options.maxUses, Infinity)
    assert.equal(p.options.min, 0)
    return p.end()
  })

  it('works totally unconfigured (callbacks)', (t, done) => {
    const pool = new Pool()
    pool.connect((err, client, release) => {
      if (err) return done(err)
      client.query('SELECT NOW()', (err, res) => {
        release()
        if (err) return done(err)
        assert.equal(res.rows.length, 1)
        pool.end(done)
      })
    })
  })

  it('passes options to clients', async () => {
    const pool = new Pool({ binary: true })
    const client = await pool.connect()
    client.release()
    assert.equal(client.binary, true)
    await pool.end()
  })

  it('runs queries with and without values, callback and promise', async () => {
    const pool = new Pool()
    const r1 = await new Promise((res, rej) => pool.query('SELECT 1 as num', (e, r) => (e ? rej(e) : res(r))))
    assert.deepEqual(r1.rows[0], { num: 1 })
    const r2 = await new Promise((res, rej) =>
      pool.query('SELECT $1::text as name', ['brianc'], (e, r) => (e ? rej(e) : res(r)))
    )
    assert.deepEqual(r2.rows[0], { name: 'brianc' })
    const r3 = await pool.query({ text: 'SELECT $1::text as name', values: ['hi'] })
    assert.equal(r3.rows[0].name, 'hi')
    await pool.end()
  })

  it('returns undefined (no promise) when given callbacks', (t, done) => {
    const pool = new Pool()
    const r1 = pool.connect((err, client, release) => {
      if (err) return done(err)
      release()
      const r2 = pool.query('SELECT 1', (err) => {
        if (err) return done(err)
        const r3 = pool.end(done)
        assert.equal(r3, undefined)
      })
      assert.equal(r2, undefined)
    })
    assert.equal(r1, undefined)
  })

  it('never calls the connect callback synchronously', (t, done) => {
    const pool = new Pool()
    pool.connect((err, client) => {
      if (err) return done(err)
      client.release()
      setImmediate(() => {
        let called = false
        pool.connect((err, client) => {
          if (err) return done(err)
          called = true
          client.release()
          setImmediate(() => pool.end(done))
        })
        assert.equal(called, false)
      })
    })
  })

  it('does not change the options object it was given', async () => {
    const options = { max: 10 }
    const pool = new Pool(options)
    const c = await pool.connect()
    c.release()
    assert.deepEqual(options, { max: 10 })
    await pool.end()
  })

  it('pools clients: 30 checkouts with max 9 open 9 clients', async () => {
    const pool = new Pool({ poolSize: 9 })
    const res = await Promise.all(
      Array.from({ length: 30 }, async () => {
        const client = await pool.connect()
        const r = await client.query('select $1::text as name', ['hi'])
        client.release()
        return r
      })
    )
    assert.equal(res.length, 30)
    assert.equal(pool.totalCount, 9)
    assert.equal(pool.idleCount, 9)
    assert.equal(pool.stats().created, 9)
    await pool.end()
  })

  it('connection errors go to the callback and leave no dead client', (t, done) => {
    const pool = new Pool({ port: 53922 })
    pool.query('SELECT $1::text as name', ['brianc'], (err, res) => {
      assert.equal(res, undefined)
      assert.ok(err instanceof Error)
      assert.equal(pool.totalCount, 0)
      assert.equal(pool.stats().createFailures, 1)
      pool.connect((err, client, release) => {
        assert.ok(err instanceof Error)
        assert.equal(client, undefined)
        assert.equal(typeof release, 'function')
        pool.end(done)
      })
    })
  })

  it('recovers from query errors: release(err) destroys the client', async () => {
    const pool = new Pool()
    const errors = []
    await Promise.all(Array.from({ length: 30 }, () => pool.query('SELECT asldkfjasldkf').catch((e) => errors.push(e))))
    assert.equal(errors.length, 30)
    assert.equal(pool.totalCount, 0)
    assert.equal(pool.idleCount, 0)
    const res = await pool.query('SELECT $1::text as name', ['hi'])
    assert.deepEqual(res.rows, [{ name: 'hi' }])
    await pool.end()
  })

  it('keeps working after many errors with max 1', async () => {
    const pool = new Pool({ max: 1 })
    let errors = 0
    for (let i = 0; i < 20; i++) {
      await pool.query('invalid sql').catch(() => errors++)
    }
    assert.equal(errors, 20)
    assert.equal(pool.idleCount, 0)
    const res = await pool.query('SELECT $1::text as name', ['brianc'])
    assert.equal(res.rows[0].name, 'brianc')
    await pool.end()
  })

  it('rejects a function as the query text', (t, done) => {
    const pool = new Pool()
    pool.query((err) => {
      assert.ok(err instanceof Error)
      assert.match(err.message, /not supported/)
      pool.end(done)
    })
  })
})

describe('pg drop-in: timeouts and errors', () => {
  it('times out connecting to a server that never answers (callback and promise)', async () => {
    const srv = await silentServer()
    try {
      const pool = new Pool({ connectionTimeoutMillis: 20, port: srv.port, host: '127.0.0.1' })
      const err = await new Promise((resolve) =>
        pool.connect((err, client) => {
          assert.equal(client, undefined)
          resolve(err)
        })
      )
      assert.ok(err instanceof Error)
      assert.match(err.message, /timeout/)
      assert.equal(pool.idleCount, 0)
      const err2 = await pool.connect().then(
        () => null,
        (e) => e
      )
      assert.match(err2.message, /timeout/)
      assert.equal(pool.totalCount, 0)
      const errors = []
      for (let i = 0; i < 15; i++) await pool.connect().catch((e) => errors.push(e))
      assert.equal(errors.length, 15)
      assert.equal(pool.totalCount, 0)
      assert.ok(pool.stats().createFailures >= 17)
    } finally {
      await srv.close()
    }
  })

  it('times out waiting for a busy client with pg-pool\'s message and a core code', async () => {
    const pool = new Pool({ connectionTimeoutMillis: 100, max: 1 })
    const client = await pool.connect()
    const t0 = Date.now()
    const err = await pool.connect().then(
      () => null,
      (e) => e
    )
    assert.ok(Date.now() - t0 >= 90)
    assert.equal(err.message, 'timeout exceeded when trying to connect')
    assert.equal(err.code, 'UNIPOOL_POOL_TIMEOUT')
    assert.equal(pool.stats().timeouts, 1)
    // the timed-out connect() gave back nothing it did not get
    assert.equal(pool.waitingCount, 0)
    assert.equal(pool.totalCount, 1)
    client.release()
    assert.equal(pool.idleCount, 1)
    assert.equal(pool.stats().inUse, 0)
    const again = await pool.connect()
    assert.equal(again, client)
    again.release()
    await pool.end()
  })

  it('a timeout does not break later pending checkouts; query times out too', async () => {
    const pool = new Pool({ connectionTimeoutMillis: 200, max: 1 })
    const client = await pool.connect()
    const p1 = pool.connect().then(
      () => 'got',
      (e) => e.message
    )
    const q = pool.query('select now()').then(
      () => 'got',
      (e) => e.message
    )
    assert.equal(await p1, 'timeout exceeded when trying to connect')
    assert.equal(await q, 'timeout exceeded when trying to connect')
    const p2 = pool.connect()
    client.release()
    const c2 = await p2
    assert.equal(c2, client)
    c2.release()
    const res = await pool.query('select $1::text as name', ['brianc'])
    assert.equal(res.rows.length, 1)
    await pool.end()
  })

  it('continues after a connection failure (a factory that fails once)', async () => {
    const failure = new Error('Temporary connection failure')
    let called = false
    class FlakyClient extends pg.Client {
      connect(cb) {
        if (!called) {
          called = true
          return setTimeout(() => cb(failure), 50)
        }
        return super.connect(cb)
      }
    }
    const pool = new Pool({ Client: FlakyClient, connectionTimeoutMillis: 1000, max: 1 })
    const first = pool.connect().then(
      () => null,
      (e) => e
    )
    const second = pool.query('select $1::text as name', ['brianc'])
    assert.equal(await first, failure)
    const res = await second
    assert.equal(res.rows[0].name, 'brianc')
    assert.equal(pool.stats().createFailures, 1)
    await pool.end()
  })

  it('serves queued callers after a failed connect (server resets)', async () => {
    const net = require('net')
    const server = net.createServer((s) => s.destroy())
    await new Promise((r) => server.listen(0, '127.0.0.1', r))
    const pool = new Pool({ max: 1, port: server.address().port, host: '127.0.0.1' })
    const errs = await Promise.all([pool.connect().catch((e) => e), pool.connect().catch((e) => e)])
    assert.ok(errs[0] instanceof Error && errs[1] instanceof Error)
    assert.equal(pool.totalCount, 0)
    await new Promise((r) => server.close(r))
    await pool.end()
  })

  it('release twice throws pg-pool\'s message', async () => {
    const pool = new Pool()
    const client = await pool.connect()
    client.release()
    assert.throws(() => client.release(), { message: 'Release called on client which has already been released to the pool.' })
    assert.throws(() => client.release(), /already been released/)
    await pool.end()
  })

  it('an ended pool rejects connect, query and end', async () => {
    const pool = new Pool()
    await pool.end()
    await assert.rejects(pool.connect(), { message: 'Cannot use a pool after calling end on the pool' })
    await assert.rejects(pool.query('SELECT NOW()'), { message: 'Cannot use a pool after calling end on the pool' })
    await assert.rejects(pool.end(), { message: 'Called end on pool more than once' })
    await new Promise((resolve) =>
      pool.query('SELECT 1', (err) => {
        assert.ok(err instanceof Error)
        pool.connect((err) => {
          assert.ok(err instanceof Error)
          pool.end((err) => {
            assert.ok(err instanceof Error)
            resolve()
          })
        })
      })
    )
  })

  it('an error from an idle client removes it and is emitted on the pool', async () => {
    const pool = new Pool()
    const client = await pool.connect()
    client.testString = 'foo'
    assert.equal(pool.totalCount, 1)
    client.release()
    assert.equal(pool.idleCount, 1)
    let poolError
    let poolErrorClient
    pool.once('error', (err, c) => {
      poolError = err
      poolErrorClient = c
    })
    let clientError
    client.once('error', (err) => (clientError = err))
    client.emit('error', new Error('expected'))
    assert.equal(clientError.message, 'expected')
    assert.equal(poolError.message, 'expected')
    assert.equal(poolError.client.testString, 'foo')
    assert.equal(poolErrorClient, client)
    assert.equal(pool.idleCount, 0)
    assert.equal(pool.totalCount, 0)
    // the pool still works and never hands out the broken client
    const c2 = await pool.connect()
    assert.notEqual(c2, client)
    const r = await c2.query('SELECT 1 AS x')
    assert.equal(r.rows[0].x, 1)
    c2.release()
    assert.equal(pool.totalCount, 1)
    await pool.end()
  })

  it('an error from an in-use client keeps it in the pool', async () => {
    const pool = new Pool()
    const client = await pool.connect()
    let poolError
    pool.once('error', (err) => (poolError = err))
    let clientError
    client.once('error', (err) => (clientError = err))
    client.emit('error', new Error('expected'))
    assert.equal(clientError.message, 'expected')
    assert.equal(poolError, undefined)
    assert.equal(pool.totalCount, 1)
    assert.equal(pool.idleCount, 0)
    client.release()
    await pool.end()
  })

  it('a checked-out client killed by pg_terminate_backend is destroyed on release(err)', async () => {
    const pool = new Pool({ max: 2 })
    const victim = await pool.connect()
    const pid = (await victim.query('SELECT pg_backend_pid() AS pid')).rows[0].pid
    const errored = new Promise((resolve) => victim.once('error', resolve))
    const killed = await pool.query('SELECT pg_terminate_backend($1) AS ok', [pid])
    assert.equal(killed.rows[0].ok, true)
    const err = await victim.query('SELECT 1').then(
      () => null,
      (e) => e
    )
    assert.ok(err instanceof Error)
    await errored.catch(() => {})
    victim.release(err)
    assert.equal(pool.totalCount, 1) // only the one that ran pg_terminate_backend
    const res = await pool.query('SELECT 1 AS x')
    assert.equal(res.rows[0].x, 1)
    assert.ok(pool.stats().invalidated >= 1)
    await pool.end()
  })

  it('an idle client killed by pg_terminate_backend is removed and reported', async () => {
    const pool = new Pool({ max: 2 })
    const a = await pool.connect()
    const b = await pool.connect()
    const pid = (await a.query('SELECT pg_backend_pid() AS pid')).rows[0].pid
    a.release()
    const poolErr = new Promise((resolve) => pool.once('error', (err, client) => resolve({ err, client })))
    await b.query('SELECT pg_terminate_backend($1)', [pid])
    b.release()
    const { err, client } = await poolErr
    assert.ok(err instanceof Error)
    assert.equal(client, a)
    assert.equal(pool.totalCount, 1)
    assert.equal(pool.idleCount, 1)
    // both next checkouts work: the dead one is never handed out
    const [c1, c2] = await Promise.all([pool.connect(), pool.connect()])
    assert.notEqual(c1, a)
    assert.notEqual(c2, a)
    await c1.query('SELECT 1')
    await c2.query('SELECT 1')
    c1.release()
    c2.release()
    await pool.end()
  })

  it('a client that cannot be queried any more is removed on release', async () => {
    const pool = new Pool({ max: 1 })
    const client = await pool.connect()
    client.connection.end()
    const err = await new Promise((resolve) => client.once('error', resolve))
    assert.ok(err)
    assert.equal(pool.totalCount, 1)
    client.release()
    assert.equal(pool.totalCount, 0)
    assert.equal(pool.idleCount, 0)
    const { rows } = await pool.query('SELECT NOW()')
    assert.equal(rows.length, 1)
    await pool.end()
  })

  it('a client that is ending is removed on release', async () => {
    const pool = new Pool({ max: 1 })
    const client = await pool.connect()
    client.end()
    client.release()
    assert.equal(pool.totalCount, 0)
    const { rows } = await pool.query('SELECT NOW()')
    assert.equal(rows.length, 1)
    await pool.end()
  })
})

describe('pg drop-in: ordering and semantics', () => {
  it('reuses idle clients last-in first-out', async () => {
    const pool = new Pool({ max: 3 })
    const [a, b, c] = await Promise.all([pool.connect(), pool.connect(), pool.connect()])
    a.release()
    b.release()
    c.release()
    const first = await pool.connect()
    assert.equal(first, c)
    const second = await pool.connect()
    assert.equal(second, b)
    first.release()
    second.release()
    await pool.end()
  })

  it('serves waiters first-in first-out', async () => {
    const pool = new Pool({ max: 1 })
    const held = await pool.connect()
    const order = []
    const ps = [1, 2, 3].map((i) =>
      pool.connect().then((c) => {
        order.push(i)
        c.release()
      })
    )
    assert.equal(pool.waitingCount, 3)
    held.release()
    await Promise.all(ps)
    assert.deepEqual(order, [1, 2, 3])
    await pool.end()
  })

  it('does not roll back on release (like pg-pool)', async () => {
    const pool = new Pool({ max: 1 })
    const c = await pool.connect()
    await c.query('BEGIN')
    const xid = (await c.query('SELECT txid_current()::text AS x')).rows[0].x
    c.release()
    const c2 = await pool.connect()
    assert.equal(c2, c)
    const still = (await c2.query('SELECT txid_current_if_assigned()::text AS x')).rows[0].x
    assert.equal(still, xid)
    await c2.query('ROLLBACK')
    c2.release()
    await pool.end()
  })

  it('runs verify for new clients only', async () => {
    let calls = 0
    const pool = new Pool({
      max: 1,
      verify: (client, cb) => {
        calls++
        cb()
      },
    })
    const a = await pool.connect()
    a.release()
    const b = await pool.connect()
    b.release()
    assert.equal(calls, 1)
    await pool.end()
  })

  it('a failing verify errors the connect and destroys the client', (t, done) => {
    const pool = new Pool({ verify: (client, cb) => cb(new Error('nope')) })
    pool.connect((err, client) => {
      assert.ok(err instanceof Error)
      assert.equal(err.message, 'nope')
      assert.equal(client, undefined)
      setImmediate(() => {
        assert.equal(pool.totalCount, 0)
        pool.end(done)
      })
    })
  })

  it('calls onConnect once per new client and fails connect when it throws', async () => {
    const pool = new Pool({
      onConnect: async (client) => {
        client.HOOK = (client.HOOK || 0) + 1
        await client.query('SELECT 1')
      },
    })
    const c = await pool.connect()
    c.release()
    const c2 = await pool.connect()
    assert.equal(c2, c)
    assert.equal(c2.HOOK, 1)
    c2.release()
    await pool.end()

    const bad = new Pool({
      max: 2,
      onConnect: () => {
        throw new Error('connect hook error')
      },
    })
    for (let i = 0; i < 4; i++) await assert.rejects(bad.connect(), { message: 'connect hook error' })
    assert.equal(bad.totalCount, 0)
    await bad.end()
  })

  it('maxUses: same client twice, then it is closed and a new one comes', async () => {
    const messages = []
    const pool = new Pool({ maxUses: 2, log: (m) => messages.push(m) })
    const c1 = await pool.connect()
    c1.release()
    const c2 = await pool.connect()
    assert.equal(c2, c1)
    assert.equal(c2._ending, false)
    c2.release()
    assert.equal(c2._ending, true)
    assert.ok(messages.includes('remove expended client'))
    const c3 = await pool.connect()
    assert.notEqual(c3, c2)
    c3.release()
    await pool.end()
  })

  it('maxUses: a pending request gets a fresh client when the released one is expended', async () => {
    const pool = new Pool({ max: 1, maxUses: 2 })
    const c1 = await pool.connect()
    const p2 = pool.connect().then((c2) => {
      assert.equal(c2, c1)
      assert.equal(pool.waitingCount, 1)
      c2.release()
    })
    const p3 = pool.connect().then((c3) => {
      assert.equal(pool.waitingCount, 0)
      assert.notEqual(c3, c1)
      c3.release()
    })
    assert.equal(pool.waitingCount, 2)
    c1.release()
    await Promise.all([p2, p3])
    await pool.end()
  })

  it('only one query at a time per client with max 1', async () => {
    const pool = new Pool({ max: 1 })
    const queryText = 'SELECT COUNT(*) as counts FROM pg_stat_activity WHERE query = $1'
    const results = await Promise.all(Array.from({ length: 20 }, () => pool.query(queryText, [queryText])))
    assert.deepEqual(
      results.map((r) => parseInt(r.rows[0].counts, 10)),
      Array(20).fill(1)
    )
    await pool.end()
  })

  it('counts waiting callers and resolves them with the same client', async () => {
    const pool = new Pool({ max: 1 })
    assert.equal(pool.waitingCount, 0)
    const client = await pool.connect()
    const w = pool.connect()
    assert.equal(pool.waitingCount, 1)
    client.release()
    const client2 = await w
    assert.equal(client2, client)
    client2.release()
    await pool.end()
  })
})

describe('pg drop-in: events and logging', () => {
  it('emits connect before the callback, only for successful connections', async () => {
    const pool = new Pool()
    let emitted
    pool.on('connect', (c) => (emitted = c))
    const client = await pool.connect()
    assert.equal(emitted, client)
    client.release()
    await pool.end()

    const bad = new Pool({
      Client: function () {
        const c = new EventEmitter()
        c.connect = (cb) => process.nextTick(() => cb(new Error('bad news')))
        return c
      },
    })
    bad.on('connect', () => {
      throw new Error('should never get here')
    })
    await assert.rejects(bad.connect(), { message: 'bad news' })
  })

  it('emits acquire and release for every checkout, release with the error', async () => {
    const pool = new Pool()
    let acquired = 0
    let released = 0
    pool.on('acquire', (c) => {
      assert.ok(c)
      acquired++
    })
    pool.on('release', (err, c) => {
      assert.ok(!(err instanceof Error))
      assert.ok(c)
      released++
    })
    const ps = []
    for (let i = 0; i < 10; i++) {
      ps.push(pool.connect().then((c) => c.release()))
      ps.push(pool.query('SELECT now()'))
    }
    await Promise.all(ps)
    assert.equal(acquired, 20)
    assert.equal(released, 20)
    pool.removeAllListeners('release')
    const c = await pool.connect()
    const releaseError = new Error('problem')
    const seen = new Promise((resolve) => pool.once('release', (err, client) => resolve([err, client])))
    c.release(releaseError)
    const [err, client] = await seen
    assert.equal(err, releaseError)
    assert.equal(client, c)
    await pool.end()
  })

  it('emits remove when a client is closed', async () => {
    const pool = new Pool()
    const c = await pool.connect()
    const removed = new Promise((resolve) => pool.once('remove', resolve))
    c.release(new Error('drop it'))
    assert.equal(await removed, c)
    await pool.end()
  })

  it('forwards the core\'s events as pool.on("event")', async () => {
    const pool = new Pool({ max: 1 })
    const seen = []
    pool.on('event', (e) => seen.push(e.type))
    await pool.query('SELECT 1')
    await wait(20)
    assert.ok(seen.includes('connect'), JSON.stringify(seen))
    assert.ok(seen.includes('checkout'), JSON.stringify(seen))
    assert.ok(seen.includes('checkin'), JSON.stringify(seen))
    await pool.end()
  })

  it('logs to the supplied log function', async () => {
    const messages = []
    const pool = new Pool({ log: (m) => messages.push(m) })
    await pool.query('SELECT NOW()')
    assert.ok(messages.length > 0)
    await pool.end()
  })
})

describe('pg drop-in: idle timeout, lifetime, min, ending', () => {
  it('removes an idle client after idleTimeoutMillis', async () => {
    const pool = new Pool({ idleTimeoutMillis: 10 })
    const removed = new Promise((resolve) => pool.on('remove', resolve))
    await pool.query('SELECT NOW()')
    await removed
    assert.equal(pool.idleCount, 0)
    assert.equal(pool.totalCount, 0)
    await pool.end()
  })

  it('removes idle clients and recreates them', async () => {
    const pool = new Pool({ idleTimeoutMillis: 5 })
    for (let i = 0; i < 5; i++) {
      const q = pool.query('SELECT NOW()')
      assert.equal(pool.totalCount, 1)
      await q
      await wait(40)
      assert.equal(pool.idleCount, 0)
      assert.equal(pool.totalCount, 0)
    }
    assert.equal(pool.stats().created, 5)
    await pool.end()
  })

  it('does not time out clients which are in use', async () => {
    const pool = new Pool({ idleTimeoutMillis: 1 })
    for (let i = 0; i < 5; i++) {
      const client = await pool.connect()
      await wait(10)
      await client.query('SELECT NOW()')
      client.release()
      assert.equal(pool.idleCount, 1)
      assert.equal(pool.totalCount, 1)
      await wait(20)
    }
    await pool.end()
  })

  it('min: does not remove clients at or below min, removes above', async () => {
    const pool = new Pool({ max: 2, min: 1, idleTimeoutMillis: 10 })
    const a = await pool.connect()
    const b = await pool.connect()
    a.release()
    b.release()
    await wait(60)
    assert.equal(pool.idleCount, 1)
    assert.equal(pool.totalCount, 1)
    await pool.end()
  })

  it('min does not keep a client past maxUses', async () => {
    const pool = new Pool({ max: 1, min: 1, idleTimeoutMillis: 10, maxUses: 1 })
    const client = await pool.connect()
    client.release()
    await wait(40)
    assert.equal(pool.idleCount, 0)
    await pool.end()
  })

  it('maxLifetimeSeconds: an idle client is removed when its lifetime ends', async () => {
    const pool = new Pool({ maxLifetimeSeconds: 1 })
    const removed = new Promise((resolve) => pool.on('remove', resolve))
    await pool.query('SELECT NOW()')
    await removed
    assert.equal(pool.expiredCount, 0)
    assert.equal(pool.totalCount, 0)
    await pool.end()
  })

  it('maxLifetimeSeconds: a busy client expires and is removed after its work', async () => {
    const pool = new Pool({ maxLifetimeSeconds: 1 })
    const q = pool.query('SELECT pg_sleep(1.3)')
    assert.equal(pool.totalCount, 1)
    await wait(1100)
    assert.equal(pool.expiredCount, 1)
    await q
    await wait(50)
    assert.equal(pool.expiredCount, 0)
    assert.equal(pool.totalCount, 0)
    await pool.query('SELECT NOW()')
    assert.equal(pool.totalCount, 1)
    await pool.end()
  })

  it('end() lets running queries finish, including ones still connecting', async () => {
    const pool = new Pool({ max: 20 })
    let completed = 0
    const qs = []
    for (let i = 0; i < 20; i++) qs.push(pool.query('SELECT $1::text as name', ['brianc']).then(() => completed++))
    await pool.end()
    assert.equal(completed, 20)
    assert.equal(pool.totalCount, 0)
    assert.equal(pool.ended, true)
  })

  it('end() rejects callers still waiting for a client', async () => {
    const pool = new Pool({ max: 1 })
    const c = await pool.connect()
    const waiting = pool.connect().then(
      () => null,
      (e) => e
    )
    const ended = pool.end()
    const err = await waiting
    assert.equal(err.message, 'Cannot use a pool after calling end on the pool')
    assert.equal(err.code, 'UNIPOOL_POOL_CLOSED')
    c.release()
    await ended
  })

  for (const allow of [true, false]) {
    it(`process exit when idle: allowExitOnIdle=${allow}`, async () => {
      const child = fork(path.join(__dirname, 'fixtures', 'exit-on-idle.js'), [], {
        stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
        env: { ...process.env, ALLOW_EXIT_ON_IDLE: allow ? '1' : '0' },
      })
      let out = ''
      child.stdout.setEncoding('utf8')
      child.stdout.on('data', (d) => (out += d))
      const t0 = Date.now()
      const code = await new Promise((resolve, reject) => {
        child.on('error', reject)
        child.on('exit', resolve)
      })
      assert.equal(code, 0)
      if (allow) {
        assert.equal(out, 'completed first\ncompleted second\n')
      } else {
        assert.equal(out, 'completed first\ncompleted second\nremoved\n')
      }
      assert.ok(Date.now() - t0 < 5000)
    })
  }
})
