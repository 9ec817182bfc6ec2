'use strict'
// `unipool`: a pool for any resource, with the unipool core (Rust) deciding
// queueing, limits, deadlines, idle and lifetime rules, and metrics.
//
//   const { createPool } = require('unipool')
//   const pool = createPool({ create: async () => conn, destroy: async (c) => c.close(),
//                             poolSize: 5, maxOverflow: 10, poolTimeout: 30 })
//   const conn = await pool.acquire(); try { ... } finally { pool.release(conn) }

const EventEmitter = require('events').EventEmitter
const { Host, CLOSE_REASONS, native, parseDurationMs } = require('./host')

const now = () => performance.now()
const ERROR_CODES = Object.fromEntries(native.errorCodes())

function unipoolError(kind, message, extra) {
  const err = new Error(native.redact(String(message)))
  err.code = ERROR_CODES[kind] || 'UNIPOOL_INTERNAL'
  err.kind = kind
  err.retryable = kind === 'pool_timeout' || kind === 'connect_failed' || kind === 'connect_timeout' || kind === 'connection_broken'
  if (extra) Object.assign(err, extra)
  return err
}

class Pool extends EventEmitter {
  /**
   * @param {object} options `create()` (required), `destroy(resource)`, `validate(resource)`
   *   and any configuration key of the shared vocabulary (camelCase or snake_case).
   *   `envPrefix`: read `<PREFIX>POOL_SIZE` etc. first (see `fromEnv`).
   */
  constructor(options) {
    super()
    if (!options || typeof options.create !== 'function') {
      throw unipoolError('invalid_config', 'invalid pool configuration: create = ' + (options && typeof options.create) + ': expected a function returning a resource or a promise of one', { configKey: 'create' })
    }
    const { create, destroy, validate, envPrefix, clock, ...config } = options
    if (clock !== undefined && clock !== 'manual' && clock !== 'system') {
      throw unipoolError('invalid_config', `invalid pool configuration: clock = ${clock}: expected "system" or "manual"`, { configKey: 'clock' })
    }
    this._manual = clock === 'manual'
    for (const [k, f] of [['destroy', destroy], ['validate', validate]]) {
      if (f !== undefined && typeof f !== 'function') {
        throw unipoolError('invalid_config', `invalid pool configuration: ${k} = ${typeof f}: expected a function or nothing`, { configKey: k })
      }
    }
    this._create = create
    this._destroy = destroy || null
    this._validate = validate || null
    if (validate && !('pool_pre_ping' in config) && !('poolPrePing' in config) && !('prePing' in config)) {
      config.pool_pre_ping = true
    }
    this._host = new Host(envPrefix == null ? null : envPrefix, config, {
      refWhileWaiting: true,
      manualClock: this._manual,
      onEvents: (evs) => {
        for (const e of evs) this.emit('event', e)
      },
    })
    this._raw = this._host.raw
    const eff = this._host.config()
    this.name = eff.name
    this._connectTimeoutMs = parseDurationMs(eff.connect_timeout) || 30000
    this._objects = new Map() // key -> resource
    this._keys = new Map() // resource -> key (checked out only)
    this._keySeq = 0
    this._closed = false
    this._mt = null
    this._creating = 0
    // emit() only for events someone listens to (the hot path stays cheap)
    this._onAcquire = false
    this._onRelease = false
    this.on('newListener', (name) => {
      if (name === 'event' && !this._host.eventsOn) this._host.enableEvents(true)
      if (name === 'acquire') this._onAcquire = true
      if (name === 'release') this._onRelease = true
    })
    // a manual clock (tests) means maintenance runs only when maintain() is called
    if (!this._manual) this._scheduleMaintain(0)
  }

  /** The effective configuration (canonical keys, values as text). */
  config() {
    return this._host.config()
  }

  /**
   * Resolves with a resource; rejects with `err.code` UNIPOOL_POOL_TIMEOUT,
   * UNIPOOL_POOL_CLOSED, UNIPOOL_CONNECT_FAILED or UNIPOOL_CONNECT_TIMEOUT.
   * @param {{timeoutMs?: number}} [opts] overrides `pool_timeout` for this call
   */
  acquire(opts) {
    if (opts === undefined && this._validate === null) {
      // fast path: an idle resource, no promise machinery beyond one resolve.
      // With callers already queued the core would not let this one barge
      // past them: queue at once (wait() still takes a free slot if there is one).
      let a = 0
      if (this._host.waiters.size === 0) {
        try {
          a = this._raw.tryAcquire()
        } catch (err) {
          return Promise.reject(err)
        }
      }
      if (a > 0) {
        const r = this._objects.get(a)
        this._keys.set(r, a)
        if (this._onAcquire) this.emit('acquire', r)
        return Promise.resolve(r)
      }
      if (a < 0) return new Promise((resolve, reject) => this._createFor(-a, null, resolve, reject, false))
      // nothing free: queue in the core right away (no second try)
      return new Promise((resolve, reject) => {
        this._host.enqueue(null, (a, err) => (err ? reject(err) : this._grant(a, null, resolve, reject)))
      })
    }
    return this._acquireSlow(opts)
  }

  _acquireSlow(opts) {
    const signal = opts && opts.signal
    if (signal && signal.aborted) return Promise.reject(abortError(signal))
    const deadline = opts && opts.timeoutMs != null ? now() + opts.timeoutMs : null
    let answer
    let resolve, reject
    const p = new Promise((res, rej) => {
      resolve = res
      reject = rej
    })
    const onAnswer = (a, err) => {
      if (err) return reject(err)
      this._grant(a, deadline, resolve, reject)
    }
    try {
      answer = this._host.acquire(deadline === null ? null : Math.max(0, deadline - now()), onAnswer, !!signal)
    } catch (err) {
      return Promise.reject(err)
    }
    if (answer !== 0) this._grant(answer, deadline, resolve, reject)
    else if (signal) {
      const id = this._host.lastWaiter
      signal.addEventListener(
        'abort',
        () => {
          // still queued: leave the queue; already answered: the answer stands
          if (this._host.cancel(id)) reject(abortError(signal))
        },
        { once: true }
      )
    }
    return p
  }

  _grant(a, deadline, resolve, reject) {
    if (a > 0) {
      const r = this._objects.get(a)
      if (this._validate !== null && this._raw.needsPing(a)) return this._check(a, r, deadline, resolve, reject)
      this._keys.set(r, a)
      if (this._onAcquire) this.emit('acquire', r)
      return resolve(r)
    }
    this._createFor(-a, deadline, resolve, reject, false)
  }

  async _check(key, r, deadline, resolve, reject) {
    let ok
    try {
      ok = await this._validate(r)
    } catch (err) {
      ok = false
    }
    if (ok !== false) {
      this._raw.pingOk(key)
      this._keys.set(r, key)
      if (this._onAcquire) this.emit('acquire', r)
      return resolve(r)
    }
    // pre-ping failed: drop it and ask the core again (same deadline)
    this._raw.pingFailed(key)
    this._objects.delete(key)
    this._host.drain()
    this._destroyResource(r, 'ping_failed')
    const left = deadline === null ? null : Math.max(0, deadline - now())
    let answer
    try {
      answer = this._host.acquire(left, (a, err) => (err ? reject(err) : this._grant(a, deadline, resolve, reject)))
    } catch (err) {
      return reject(err)
    }
    if (answer !== 0) this._grant(answer, deadline, resolve, reject)
  }

  _createFor(permitId, deadline, resolve, reject, toIdle) {
    this._creating++
    let timer = null
    let settled = false
    const finish = (err, r) => {
      if (settled) return
      settled = true
      this._creating--
      if (timer) clearTimeout(timer)
      if (err) {
        const timedOut = err === TIMED_OUT
        this._raw.fail(permitId, timedOut ? 'connect_timeout' : 'connect_failed', String((err && err.message) || err))
        this._host.drain()
        const e = timedOut
          ? unipoolError('connect_timeout', `pool '${this.name}' could not create a resource within ${this._connectTimeoutMs} ms (connect_timeout)`)
          : unipoolError('connect_failed', `pool '${this.name}' could not create a resource: ${(err && err.message) || err}`, { cause: err })
        if (reject) reject(e)
        if (toIdle || !reject) this._backgroundError(e)
        return
      }
      const key = ++this._keySeq
      this._objects.set(key, r)
      this.emit('create', r)
      if (toIdle) {
        if (this._raw.fulfillIdle(permitId, key)) {
          this._objects.delete(key)
          this._destroyResource(r, 'pool_closed')
        }
        this._host.drain()
        if (resolve) resolve(r)
        return
      }
      this._raw.fulfill(permitId, key)
      this._keys.set(r, key)
      this.emit('acquire', r)
      resolve(r)
    }
    timer = setTimeout(() => finish(TIMED_OUT), this._connectTimeoutMs)
    let p
    try {
      p = Promise.resolve(this._create())
    } catch (err) {
      p = Promise.reject(err)
    }
    p.then(
      (r) => {
        if (settled) {
          // created after its deadline: nobody wants it any more
          this._destroyResource(r, 'connect_timeout')
          return
        }
        finish(null, r)
      },
      (err) => finish(err == null ? new Error('create() rejected with ' + err) : err)
    )
  }

  /** Gives a resource back. Throws UNIPOOL_INVALID_USAGE if it is not checked out. */
  release(resource) {
    const key = this._keys.get(resource)
    if (key === undefined) {
      throw unipoolError('invalid_usage', `pool '${this.name}': release() of a resource that is not checked out from this pool (double release?)`)
    }
    this._keys.delete(resource)
    const reason = this._host.release(key)
    if (this._onRelease) this.emit('release', resource)
    if (reason !== 0) {
      this._objects.delete(key)
      this._destroyResource(resource, CLOSE_REASONS[reason])
    }
  }

  /** Closes a checked-out resource instead of returning it (it is broken). */
  destroy(resource) {
    const key = this._keys.get(resource)
    if (key === undefined) {
      throw unipoolError('invalid_usage', `pool '${this.name}': destroy() of a resource that is not checked out from this pool`)
    }
    this._keys.delete(resource)
    this._objects.delete(key)
    this._raw.invalidate(key)
    this._destroyResource(resource, 'invalidated')
    this._host.drain()
  }

  /** Runs `fn(resource)`; releases afterwards, or destroys if it threw/rejected. */
  async use(fn, opts) {
    const r = await this.acquire(opts)
    let out
    try {
      out = await fn(r)
    } catch (err) {
      this.destroy(r)
      throw err
    }
    this.release(r)
    return out
  }

  _destroyResource(r, reason) {
    this.emit('destroy', r, reason)
    if (this._destroy === null) return
    let p
    try {
      p = this._destroy(r)
    } catch (err) {
      this._backgroundError(err)
      return
    }
    if (p && typeof p.then === 'function') p.then(undefined, (err) => this._backgroundError(err))
  }

  // errors nobody awaits (destroy(), maintenance creates): 'error' event if listened to
  _backgroundError(err) {
    if (this.listenerCount('error') > 0) this.emit('error', err)
  }

  /**
   * Runs maintenance now (normally a timer does it): closes idle resources past
   * idle_timeout / lifetime, reports leaks, creates resources for min_idle.
   * Resolves when the creations have settled.
   * @returns {Promise<{closed: string[], creates: number, leaks: number, nextRunMs: number}>}
   */
  async maintain() {
    const res = this._maintainOnce()
    await Promise.all(res.creating)
    return { closed: res.closed, creates: res.creates, leaks: res.leaks, nextRunMs: res.nextRunMs }
  }

  /** Moves a manual clock (`clock: 'manual'`) forward; for tests and simulations. */
  advanceClock(seconds) {
    this._raw.advanceClock(seconds)
  }

  _scheduleMaintain(delay) {
    if (this._closed) return
    if (this._mt) clearTimeout(this._mt)
    this._mt = setTimeout(() => this._maintain(), delay)
    this._mt.unref()
  }

  _maintain() {
    this._mt = null
    if (this._closed) return
    const res = this._maintainOnce()
    this._scheduleMaintain(Math.max(1, res.nextRunMs))
  }

  _maintainOnce() {
    const out = this._raw.maintain()
    const n = out[1]
    const closed = []
    const creating = []
    for (let i = 0; i < n; i++) {
      const key = out[3 + 2 * i]
      const reason = CLOSE_REASONS[out[4 + 2 * i]]
      closed.push(reason)
      const r = this._objects.get(key)
      this._objects.delete(key)
      if (r !== undefined) this._destroyResource(r, reason)
    }
    for (let i = 3 + 2 * n; i < out.length; i++) {
      creating.push(new Promise((done) => this._createFor(out[i], null, done, done, true)))
    }
    this._host.drain()
    if (out[2] > 0) this.emit('leak', out[2])
    return { closed, creates: out.length - 3 - 2 * n, leaks: out[2], nextRunMs: out[0], creating }
  }

  /** Same fields as Rust `PoolStatus`, camelCase (inUse, maxOverflow, createFailures, ...). */
  stats() {
    return this._raw.status()
  }

  /** The core's Prometheus text exposition for this pool. */
  metricsText() {
    return this._raw.metricsText()
  }

  /** New generation: idle resources are destroyed now, checked-out ones when returned. */
  dispose() {
    for (const key of this._raw.dispose()) this._dropIdle(key, 'disposed')
  }

  resize(poolSize, maxOverflow) {
    for (const key of this._raw.resize(poolSize, maxOverflow == null ? Number(this.config().max_overflow) : maxOverflow)) this._dropIdle(key, 'resized')
    this._host.drain()
  }

  pause() {
    this._raw.pause()
  }

  resume() {
    this._raw.resume()
    this._host.drain()
  }

  _dropIdle(key, reason) {
    const r = this._objects.get(key)
    this._objects.delete(key)
    if (r !== undefined) this._destroyResource(r, reason)
  }

  /** Closes the pool: waiters get UNIPOOL_POOL_CLOSED, idle resources are destroyed now. */
  async close() {
    if (this._closed) return
    this._closed = true
    if (this._mt) clearTimeout(this._mt)
    for (const key of this._raw.close()) this._dropIdle(key, 'pool_closed')
    this._host.drain()
  }

  end() {
    return this.close()
  }

  get closed() {
    return this._closed
  }
}

const TIMED_OUT = Symbol('timed out')

function abortError(signal) {
  const err = new Error('acquire() was aborted' + (signal && signal.reason ? ': ' + signal.reason : ''))
  err.name = 'AbortError'
  err.code = 'ABORT_ERR'
  err.cause = signal && signal.reason
  return err
}

/** `new Pool(options)`. */
function createPool(options) {
  return new Pool(options)
}

/**
 * A pool configured from the environment: `${prefix}POOL_SIZE`, `${prefix}MAX_OVERFLOW`,
 * `${prefix}POOL_TIMEOUT`, ... (the core's `PoolConfig::from_env_prefix`). Keys given in
 * `options` override the environment.
 */
function fromEnv(prefix, options) {
  return new Pool({ ...(options || {}), envPrefix: prefix == null ? 'UNIPOOL_' : prefix })
}

/** The effective configuration the core reads from the environment under `prefix`. */
function configFromEnv(prefix) {
  const flat = native.configFromEnv(prefix == null ? 'UNIPOOL_' : prefix)
  const out = {}
  for (let i = 0; i < flat.length; i += 2) out[flat[i]] = flat[i + 1]
  return out
}

/**
 * Registers gauges and counters for one or more pools in a prom-client registry.
 * Values come from the core's snapshot at scrape time.
 * @param {Pool|Pool[]} pools unipool pools (generic or pg drop-in)
 * @param {{register?: object, prefix?: string, promClient?: object}} [opts]
 */
function registerPromClient(pools, opts = {}) {
  const client = opts.promClient || require('prom-client')
  const register = opts.register || client.register
  const prefix = opts.prefix == null ? 'unipool_' : opts.prefix
  const list = Array.isArray(pools) ? pools : [pools]
  const gauges = [
    ['connections_open', 'Connections open (idle + in use)', (s) => s.open],
    ['connections_idle', 'Idle connections', (s) => s.idle],
    ['connections_in_use', 'Connections checked out', (s) => s.inUse],
    ['connections_pending', 'Connections being created', (s) => s.pending],
    ['waiters', 'Callers waiting for a connection', (s) => s.waiting],
    ['overflow', 'open - pool_size (SQLAlchemy overflow())', (s) => s.overflow],
    ['max_size', 'pool_size + max_overflow (-1: unbounded)', (s) => (s.max == null ? -1 : s.max)],
    ['acquired_total', 'Checkouts granted', (s) => s.acquired],
    ['created_total', 'Connections created', (s) => s.created],
    ['create_failures_total', 'Failed connection attempts', (s) => s.createFailures],
    ['closed_total', 'Connections closed', (s) => s.closed],
    ['timeouts_total', 'Checkouts that timed out', (s) => s.timeouts],
    ['invalidated_total', 'Connections invalidated', (s) => s.invalidated],
  ]
  const metrics = []
  for (const [name, help, pick] of gauges) {
    const g = new client.Gauge({
      name: prefix + name,
      help,
      labelNames: ['pool'],
      registers: [register],
      collect() {
        this.reset()
        for (const p of list) {
          const s = p.stats()
          this.set({ pool: s.name }, pick(s))
        }
      },
    })
    metrics.push(g)
  }
  return metrics
}

module.exports = {
  Pool,
  createPool,
  fromEnv,
  configFromEnv,
  registerPromClient,
  errorCodes: ERROR_CODES,
  closeReasons: CLOSE_REASONS.slice(),
}
