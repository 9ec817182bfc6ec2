'use strict'
// The plain API: createPool({create, destroy, validate, ...config}) for any resource.
const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const { wait, DATABASE_URL } = require('./helpers')
const unipool = require('unipool')
const { createPool, fromEnv, configFromEnv, registerPromClient, errorCodes } = unipool
const pg = require('pg')

function counterFactory() {
  let n = 0
  const made = []
  const destroyed = []
  return {
    made,
    destroyed,
    create: () => {
      const r = { id: ++n }
      made.push(r)
      return r
    },
    destroy: (r) => {
      destroyed.push(r)
    },
  }
}

const STATUS_FIELDS = [
  'name', 'open', 'idle', 'inUse', 'pending', 'waiting', 'max', 'poolSize', 'maxOverflow', 'minIdle',
  'overflow', 'generation', 'isPaused', 'isClosed', 'acquired', 'created', 'createFailures', 'closed', 'timeouts', 'pings',
  'pingFailures', 'leaksDetected', 'invalidated',
]

describe('plain API: configuration', () => {
  it('maps every core error kind to a UNIPOOL_ code', () => {
    assert.deepEqual(Object.values(errorCodes).sort(), [
      'UNIPOOL_CONNECTION_BROKEN',
      'UNIPOOL_CONNECT_FAILED',
      'UNIPOOL_CONNECT_TIMEOUT',
      'UNIPOOL_INTERNAL',
      'UNIPOOL_INVALID_CONFIG',
      'UNIPOOL_INVALID_USAGE',
      'UNIPOOL_POOL_CLOSED',
      'UNIPOOL_POOL_TIMEOUT',
    ])
    assert.equal(errorCodes.pool_timeout, 'UNIPOOL_POOL_TIMEOUT')
  })

  it('rejects a missing factory and unknown or bad keys, naming key and value', () => {
    assert.throws(() => createPool({}), { code: 'UNIPOOL_INVALID_CONFIG', configKey: 'create' })
    const f = counterFactory()
    assert.throws(
      () => createPool({ create: f.create, poolSise: 3 }),
      (e) => e.code === 'UNIPOOL_INVALID_CONFIG' && /poolSise/.test(e.message) && /pool_size/.test(e.message)
    )
    assert.throws(
      () => createPool({ create: f.create, poolSize: -2 }),
      (e) => e.code === 'UNIPOOL_INVALID_CONFIG' && /-2/.test(e.message) && e.configKey !== undefined
    )
    assert.throws(
      () => createPool({ create: f.create, poolSize: {} }),
      (e) => e.code === 'UNIPOOL_INVALID_CONFIG' && /poolSize/.test(e.message)
    )
    // a DSN under a wrong key is echoed back without its password
    assert.throws(
      () => createPool({ create: f.create, connectionString: 'postgres://app:s3cret@db/x' }),
      (e) => e.code === 'UNIPOOL_INVALID_CONFIG' && /connectionString/.test(e.message) && !/s3cret/.test(e.message)
    )
    const failing = createPool({
      create: () => {
        throw new Error('could not reach postgres://app:s3cret@db/x')
      },
    })
    return failing.acquire().then(
      () => assert.fail('acquire should fail'),
      (e) => {
        assert.equal(e.code, 'UNIPOOL_CONNECT_FAILED')
        assert.ok(!/s3cret/.test(e.message), e.message)
        assert.ok(!/s3cret/.test(failing.metricsText()))
        return failing.close()
      }
    )
  })

  it('rejects combinations the core does not allow', () => {
    const f = counterFactory()
    assert.throws(() => createPool({ create: f.create, minIdle: 50, poolSize: 2, maxOverflow: 0 }), {
      code: 'UNIPOOL_INVALID_CONFIG',
    })
  })

  it('accepts camelCase, snake_case and aliases of the shared vocabulary', async () => {
    const f = counterFactory()
    const p = createPool({ create: f.create, poolSize: 3, max_overflow: 2, poolTimeout: '1500ms', name: 'cfg' })
    const c = p.config()
    assert.equal(c.pool_size, '3')
    assert.equal(c.max_overflow, '2')
    assert.equal(Number(c.pool_timeout), 1.5)
    assert.equal(c.name, 'cfg')
    const s = p.stats()
    assert.deepEqual(Object.keys(s).sort(), STATUS_FIELDS.slice().sort())
    assert.equal(s.name, 'cfg')
    assert.equal(s.max, 5)
    await p.close()
    const q = createPool({ create: f.create, max: 4 })
    assert.equal(q.config().pool_size, '4')
    assert.equal(q.config().max_overflow, '0')
    await q.close()
  })

  it('reads the environment with fromEnv(prefix), options override it', async () => {
    process.env.NODETEST_POOL_SIZE = '3'
    process.env.NODETEST_MAX_OVERFLOW = '1'
    try {
      assert.equal(configFromEnv('NODETEST_').pool_size, '3')
      const f = counterFactory()
      const p = fromEnv('NODETEST_', { create: f.create, maxOverflow: 4 })
      assert.equal(p.config().pool_size, '3')
      assert.equal(p.config().max_overflow, '4')
      await p.close()
      process.env.NODETEST_POOL_SIZE = 'lots'
      assert.throws(
        () => fromEnv('NODETEST_', { create: f.create }),
        (e) => e.code === 'UNIPOOL_INVALID_CONFIG' && /lots/.test(e.message) && /NODETEST_POOL_SIZE|pool_size/.test(e.message)
      )
    } finally {
      delete process.env.NODETEST_POOL_SIZE
      delete process.env.NODETEST_MAX_OVERFLOW
    }
  })
})

describe('plain API: acquire and release', () => {
  it('reuses a released resource and counts checkouts', async () => {
    const f = counterFactory()
    const p = createPool({ create: f.create, destroy: f.destroy, poolSize: 2, maxOverflow: 0 })
    const a = await p.acquire()
    p.release(a)
    const b = await p.acquire()
    assert.equal(b, a)
    assert.equal(f.made.length, 1)
    let s = p.stats()
    assert.equal(s.inUse, 1)
    assert.equal(s.acquired, 2)
    assert.equal(s.created, 1)
    p.release(b)
    s = p.stats()
    assert.equal(s.idle, 1)
    assert.equal(s.inUse, 0)
    await p.close()
    assert.deepEqual(f.destroyed, [a])
  })

  it('overflow: connections beyond pool_size are closed when returned', async () => {
    const f = counterFactory()
    const reasons = []
    const p = createPool({ create: f.create, destroy: f.destroy, poolSize: 2, maxOverflow: 1, poolTimeout: 0.2 })
    p.on('destroy', (r, reason) => reasons.push(reason))
    const rs = await Promise.all([p.acquire(), p.acquire(), p.acquire()])
    let s = p.stats()
    assert.equal(s.open, 3)
    assert.equal(s.overflow, 1)
    assert.equal(s.inUse, 3)
    // a fourth waits and times out: accounted once, nothing leaked
    const err = await p.acquire().then(
      () => null,
      (e) => e
    )
    assert.equal(err.code, 'UNIPOOL_POOL_TIMEOUT')
    assert.equal(err.retryable, true)
    assert.equal(err.status.inUse, 3)
    assert.equal(err.status.max, 3)
    assert.ok(err.waitedMs >= 150, 'waitedMs ' + err.waitedMs)
    s = p.stats()
    assert.equal(s.timeouts, 1)
    assert.equal(s.waiting, 0)
    for (const r of rs) p.release(r)
    s = p.stats()
    assert.equal(s.open, 2)
    assert.equal(s.idle, 2)
    assert.equal(s.overflow, 0)
    assert.deepEqual(reasons, ['overflow'])
    await p.close()
  })

  it('many waiters timing out on the core\'s timer thread are all answered once', async () => {
    const f = counterFactory()
    const p = createPool({ create: f.create, poolSize: 2, maxOverflow: 0, poolTimeout: 0.03 })
    const held = [await p.acquire(), await p.acquire()]
    const results = await Promise.all(
      Array.from({ length: 200 }, () =>
        p.acquire().then(
          () => 'got',
          (e) => e.code
        )
      )
    )
    assert.deepEqual(new Set(results), new Set(['UNIPOOL_POOL_TIMEOUT']))
    const s = p.stats()
    assert.equal(s.timeouts, 200)
    assert.equal(s.waiting, 0)
    assert.equal(s.inUse, 2)
    for (const r of held) p.release(r)
    // and the pool still serves
    const r = await p.acquire()
    p.release(r)
    assert.equal(p.stats().idle, 2)
    await p.close()
  })

  it('a per-call timeout overrides pool_timeout', async () => {
    const f = counterFactory()
    const p = createPool({ create: f.create, poolSize: 1, maxOverflow: 0, poolTimeout: 30 })
    const a = await p.acquire()
    const t0 = Date.now()
    await assert.rejects(p.acquire({ timeoutMs: 50 }), { code: 'UNIPOOL_POOL_TIMEOUT' })
    assert.ok(Date.now() - t0 < 5000)
    p.release(a)
    await p.close()
  })

  it('serves waiters first-in first-out, handing the released resource over', async () => {
    const f = counterFactory()
    const p = createPool({ create: f.create, poolSize: 1, maxOverflow: 0 })
    const a = await p.acquire()
    const order = []
    const ws = [1, 2, 3].map((i) =>
      p.acquire().then((r) => {
        order.push(i)
        assert.equal(r, a)
        p.release(r)
      })
    )
    assert.equal(p.stats().waiting, 3)
    p.release(a)
    await Promise.all(ws)
    assert.deepEqual(order, [1, 2, 3])
    assert.equal(f.made.length, 1)
    await p.close()
  })

  it('double release and foreign resources are UNIPOOL_INVALID_USAGE', async () => {
    const f = counterFactory()
    const p = createPool({ create: f.create })
    const a = await p.acquire()
    p.release(a)
    assert.throws(() => p.release(a), { code: 'UNIPOOL_INVALID_USAGE' })
    assert.throws(() => p.destroy({}), { code: 'UNIPOOL_INVALID_USAGE' })
    await p.close()
  })

  it('destroy() closes a broken resource and frees its slot', async () => {
    const f = counterFactory()
    const p = createPool({ create: f.create, destroy: f.destroy, poolSize: 1, maxOverflow: 0 })
    const a = await p.acquire()
    p.destroy(a)
    assert.deepEqual(f.destroyed, [a])
    const b = await p.acquire()
    assert.notEqual(b, a)
    assert.equal(p.stats().invalidated, 1)
    p.release(b)
    await p.close()
  })

  it('use() releases after success and destroys after a throw', async () => {
    const f = counterFactory()
    const p = createPool({ create: f.create, destroy: f.destroy, poolSize: 1, maxOverflow: 0 })
    assert.equal(await p.use(async (r) => r.id), 1)
    await assert.rejects(
      p.use(() => {
        throw new Error('boom')
      }),
      /boom/
    )
    assert.equal(f.destroyed.length, 1)
    assert.equal(p.stats().open, 0)
    await p.close()
  })
})

describe('plain API: factory failures', () => {
  it('a factory that throws gives UNIPOOL_CONNECT_FAILED and frees the slot', async () => {
    let fail = true
    const p = createPool({
      create: () => {
        if (fail) throw new Error('no route to resource')
        return { ok: true }
      },
      poolSize: 1,
      maxOverflow: 0,
    })
    const err = await p.acquire().then(
      () => null,
      (e) => e
    )
    assert.equal(err.code, 'UNIPOOL_CONNECT_FAILED')
    assert.match(err.message, /no route to resource/)
    assert.equal(err.cause.message, 'no route to resource')
    let s = p.stats()
    assert.equal(s.createFailures, 1)
    assert.equal(s.open, 0)
    assert.equal(s.pending, 0)
    fail = false
    const r = await p.acquire()
    assert.equal(r.ok, true)
    p.release(r)
    await p.close()
  })

  it('a factory that rejects (a real PostgreSQL connect to a closed port)', async () => {
    const p = createPool({
      create: async () => {
        const c = new pg.Client({ host: new URL(DATABASE_URL).hostname, port: 53921, user: 'postgres' })
        await c.connect()
        return c
      },
      destroy: (c) => c.end(),
      poolSize: 2,
      maxOverflow: 0,
    })
    const err = await p.acquire().then(
      () => null,
      (e) => e
    )
    assert.equal(err.code, 'UNIPOOL_CONNECT_FAILED')
    assert.equal(err.cause.code, 'ECONNREFUSED')
    assert.equal(p.stats().createFailures, 1)
    assert.equal(p.stats().open, 0)
    await p.close()
  })

  it('a factory that never settles gives UNIPOOL_CONNECT_TIMEOUT after connect_timeout', async () => {
    const p = createPool({ create: () => new Promise(() => {}), connectTimeout: 0.05, poolSize: 1, maxOverflow: 0 })
    const t0 = Date.now()
    await assert.rejects(p.acquire(), { code: 'UNIPOOL_CONNECT_TIMEOUT' })
    assert.ok(Date.now() - t0 >= 40)
    assert.equal(p.stats().open, 0)
    await p.close()
  })

  it('a late resource created after its timeout is destroyed, not leaked', async () => {
    const destroyed = []
    const p = createPool({
      create: () => new Promise((r) => setTimeout(() => r({ late: true }), 80)),
      destroy: (r) => destroyed.push(r),
      connectTimeout: 0.02,
    })
    await assert.rejects(p.acquire(), { code: 'UNIPOOL_CONNECT_TIMEOUT' })
    await wait(120)
    assert.equal(destroyed.length, 1)
    assert.equal(p.stats().open, 0)
    await p.close()
  })

  it('validate (pre-ping) replaces a resource that fails it', async () => {
    const f = counterFactory()
    const bad = new Set()
    const p = createPool({
      create: f.create,
      destroy: f.destroy,
      validate: (r) => !bad.has(r),
      prePingBypass: 0,
      poolSize: 1,
      maxOverflow: 0,
    })
    const a = await p.acquire()
    p.release(a)
    bad.add(a)
    const b = await p.acquire()
    assert.notEqual(b, a)
    assert.deepEqual(f.destroyed, [a])
    p.release(b)
    await p.close()
  })
})

describe('plain API: close, metrics, events', () => {
  it('close wakes waiters with UNIPOOL_POOL_CLOSED and refuses new acquires', async () => {
    const f = counterFactory()
    const p = createPool({ create: f.create, destroy: f.destroy, poolSize: 1, maxOverflow: 0 })
    const a = await p.acquire()
    const w = p.acquire().then(
      () => null,
      (e) => e
    )
    await p.close()
    const err = await w
    assert.equal(err.code, 'UNIPOOL_POOL_CLOSED')
    await assert.rejects(p.acquire(), { code: 'UNIPOOL_POOL_CLOSED' })
    p.release(a)
    assert.deepEqual(f.destroyed, [a])
  })

  it('metricsText() is the core\'s Prometheus text for this pool', async () => {
    const f = counterFactory()
    const p = createPool({ create: f.create, name: 'metrics_test' })
    const a = await p.acquire()
    const text = p.metricsText()
    assert.match(text, /# (HELP|TYPE) /)
    assert.match(text, /"metrics_test"/)
    p.release(a)
    await p.close()
  })

  it('core events reach pool.on("event")', async () => {
    const f = counterFactory()
    const p = createPool({ create: f.create, name: 'events_test' })
    const seen = []
    p.on('event', (e) => seen.push(e.type))
    const a = await p.acquire()
    p.release(a)
    await wait(30)
    assert.ok(seen.includes('checkout'), JSON.stringify(seen))
    assert.ok(seen.includes('checkin'), JSON.stringify(seen))
    await p.close()
  })

  it('prom-client integration reports the core snapshot', async () => {
    const client = require('prom-client')
    const register = new client.Registry()
    const f = counterFactory()
    const p = createPool({ create: f.create, name: 'prom_test' })
    registerPromClient(p, { register })
    const a = await p.acquire()
    const text = await register.metrics()
    assert.match(text, /unipool_connections_in_use\{pool="prom_test"\} 1/)
    assert.match(text, /unipool_acquired_total\{pool="prom_test"\} 1/)
    p.release(a)
    assert.match(await register.metrics(), /unipool_connections_idle\{pool="prom_test"\} 1/)
    await p.close()
  })

  it('a waiting caller keeps the process alive until its deadline; an idle pool does not', async () => {
    const { execFileSync } = require('child_process')
    const path = require('path')
    const t0 = Date.now()
    const out = execFileSync(process.execPath, [path.join(__dirname, 'fixtures', 'plain-exit.js')], { encoding: 'utf8', timeout: 10000 })
    assert.equal(out, 'UNIPOOL_POOL_TIMEOUT after >=250ms\n')
    assert.ok(Date.now() - t0 < 5000)
  })

  it('min_idle is filled by maintenance', async () => {
    const f = counterFactory()
    const p = createPool({ create: f.create, minIdle: 2, poolSize: 3, maxOverflow: 0 })
    for (let i = 0; i < 50 && p.stats().idle < 2; i++) await wait(20)
    assert.equal(p.stats().idle, 2)
    assert.equal(f.made.length, 2)
    await p.close()
  })
})
