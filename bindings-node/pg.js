'use strict'
// `unipool/pg`: a drop-in for node-postgres's `pg.Pool` (pg-pool).
//
// pg `Client`s are created, connected, verified and ended here, in JS, exactly
// as pg-pool does it. Which client is handed to whom and when — the FIFO
// queue of waiters, the LIFO idle list, `max`, `connectionTimeoutMillis`
// deadlines, `idleTimeoutMillis`, `maxLifetimeSeconds`, `maxUses` and every
// counter — is decided by the unipool core (Rust) through `host.js`.

const EventEmitter = require('events').EventEmitter
const { Host, CLOSE_REASONS } = require('./host')

const NOOP = function () {}
const KEY = Symbol('unipool.key')
const CREATED = Symbol('unipool.created')
const IDLE_LISTENER = Symbol('unipool.idleListener')

const now = () => performance.now()

function throwOnDoubleRelease() {
  throw new Error('Release called on client which has already been released to the pool.')
}

function promisify(Promise, callback) {
  if (callback) {
    return { callback, result: undefined, cbStyle: true }
  }
  let res
  let rej
  const cb = function (err, client) {
    err ? rej(err) : res(client)
  }
  const result = new Promise(function (resolve, reject) {
    res = resolve
    rej = reject
  }).catch((err) => {
    // a stack that leads back to the application, not to the socket
    Error.captureStackTrace(err)
    throw err
  })
  return { callback: cb, result, cbStyle: false }
}

function makeIdleListener(pool, client) {
  return function idleListener(err) {
    err.client = client
    client.removeListener('error', idleListener)
    client.on('error', () => {
      pool.log('additional client error after disconnection due to error', err)
    })
    pool._removeIdleBroken(client)
    pool.emit('error', err, client)
  }
}

// Messages handed to the core as "last connect error": no secrets. pg's
// connection errors name host/port/user at most, never the password.
function safeMessage(err) {
  const m = err && err.message ? String(err.message) : String(err)
  return m.length > 500 ? m.slice(0, 500) : m
}

class Pool extends EventEmitter {
  constructor(options, Client) {
    super()
    this.options = Object.assign({}, options)

    if (options != null && 'password' in options) {
      // keep the password out of logs, stack traces and console.log(pool)
      Object.defineProperty(this.options, 'password', {
        configurable: true,
        enumerable: false,
        writable: true,
        value: options.password,
      })
    }
    if (options != null && options.ssl && options.ssl.key) {
      Object.defineProperty(this.options.ssl, 'key', { enumerable: false })
    }

    // pg-pool's defaults
    this.options.max = this.options.max || this.options.poolSize || 10
    this.options.min = this.options.min || 0
    this.options.maxUses = this.options.maxUses || Infinity
    this.options.allowExitOnIdle = this.options.allowExitOnIdle || false
    this.options.maxLifetimeSeconds = this.options.maxLifetimeSeconds || 0
    this.log = this.options.log || function () {}
    this.Client = this.options.Client || Client || require('pg').Client
    this.Promise = this.options.Promise || global.Promise

    if (typeof this.options.idleTimeoutMillis === 'undefined') {
      this.options.idleTimeoutMillis = 10000
    }

    const o = this.options
    this._cto = o.connectionTimeoutMillis > 0 ? o.connectionTimeoutMillis : 0
    this._idleMs = o.idleTimeoutMillis > 0 ? o.idleTimeoutMillis : 0
    this._lifeMs = o.maxLifetimeSeconds > 0 ? o.maxLifetimeSeconds * 1000 : 0

    this._host = new Host(
      null,
      {
        name: o.poolName || 'pg',
        pool_size: o.max,
        max_overflow: 0,
        // pg-pool's min: idle clients are not timed out below it (pg-pool never
        // pre-creates; the core's refill permits are given back in _maintain)
        min_idle: Math.min(o.min, o.max),
        lifetime_jitter: 0,
        // pg-pool waits forever without connectionTimeoutMillis
        pool_timeout: this._cto ? this._cto / 1000 : 365 * 24 * 3600,
        connect_timeout: this._cto ? this._cto / 1000 : 365 * 24 * 3600,
        idle_timeout: this._idleMs ? this._idleMs / 1000 : null,
        pool_recycle: this._lifeMs ? this._lifeMs / 1000 : null,
        max_uses: Number.isFinite(o.maxUses) ? o.maxUses : null,
        use_lifo: true,
        pool_pre_ping: false,
        reset_on_return: 'none',
      },
      {
        refWhileWaiting: false,
        onEvents: (evs) => {
          for (const e of evs) this.emit('event', e)
        },
      }
    )
    // unipool extension: the core's own events as pool.on('event', {type, id, ms, reason, message})
    this.on('newListener', (name) => {
      if (name === 'event' && !this._host.eventsOn) this._host.enableEvents(true)
    })
    this._raw = this._host.raw

    this._clientMap = new Map() // key -> client: connecting, idle and checked out
    this._idleSince = new Map() // key -> time it went idle (for maintenance timing)
    this._brokenIdle = 0 // idle in the core but already removed here (errored while idle)
    this._keySeq = 0
    this._mt = null
    this._mtDue = Infinity
    this._endCallback = undefined
    this.ending = false
    this.ended = false
  }

  // pg-pool exposes its client list; some code (and its tests) read it.
  get _clients() {
    return Array.from(this._clientMap.values())
  }

  _promiseTry(f) {
    const Promise = this.Promise
    if (typeof Promise.try === 'function') {
      return Promise.try(f)
    }
    return new Promise((resolve) => resolve(f()))
  }

  _translate(err) {
    if (err && err.code === 'UNIPOOL_POOL_TIMEOUT') {
      err.detail = err.message
      err.message = 'timeout exceeded when trying to connect'
    } else if (err && err.code === 'UNIPOOL_POOL_CLOSED') {
      err.detail = err.message
      err.message = 'Cannot use a pool after calling end on the pool'
    }
    return err
  }

  _deliver(pending, err, client, release) {
    if (pending.delivered) return
    pending.delivered = true
    if (pending.tid) clearTimeout(pending.tid)
    if (pending.sync && pending.cbStyle) {
      // never call a callback synchronously (pg-pool's promise)
      process.nextTick(pending.callback, err, client, release)
    } else {
      pending.callback(err, client, release)
    }
  }

  connect(cb) {
    if (this.ending) {
      const err = new Error('Cannot use a pool after calling end on the pool')
      return cb ? cb(err) : this.Promise.reject(err)
    }
    const response = promisify(this.Promise, cb)
    const pending = {
      callback: response.callback,
      cbStyle: response.cbStyle,
      deadline: this._cto ? now() + this._cto : Infinity,
      sync: true,
      delivered: false,
      timedOut: false,
      tid: null,
    }
    this._acquireFor(pending)
    pending.sync = false
    return response.result
  }

  _acquireFor(pending) {
    let timeout = null
    if (pending.deadline !== Infinity) timeout = Math.max(0, pending.deadline - now())
    else timeout = 365 * 24 * 3600 * 1000
    let answer
    try {
      answer = this._host.acquire(timeout, (a, err) => this._onAnswer(pending, a, err, true))
    } catch (err) {
      return this._deliver(pending, this._translate(err))
    }
    if (answer !== 0) this._onAnswer(pending, answer, null, false)
  }

  // clients the core found past their lifetime while looking for an idle one
  _reapRetired() {
    const out = this._raw.takeRetired()
    for (let i = 0; i < out.length; i += 2) {
      const client = this._clientMap.get(out[i])
      if (client === undefined) {
        this._brokenIdle--
        continue
      }
      this.log('remove expired client')
      this._remove(client)
    }
  }

  _onAnswer(pending, answer, err, queued) {
    if (this._lifeMs) this._reapRetired()
    if (err) {
      pending.timedOut = err.code === 'UNIPOOL_POOL_TIMEOUT'
      return this._deliver(pending, this._translate(err))
    }
    if (answer > 0) {
      const client = this._clientMap.get(answer)
      this._idleSince.delete(answer)
      if (client === undefined) {
        // it errored while idle and was removed already: drop it, ask again
        this._brokenIdle--
        this._raw.invalidate(answer)
        this._host.drain()
        return this._acquireFor(pending)
      }
      if (this.options.allowExitOnIdle && client.ref) client.ref()
      return this._acquireClient(client, pending, false)
    }
    return this._newClient(pending, -answer, queued)
  }

  _newClient(pending, permitId, queued) {
    const client = new this.Client(this.options)
    const key = ++this._keySeq
    client[KEY] = key
    this._clientMap.set(key, client)
    const idleListener = makeIdleListener(this, client)
    client[IDLE_LISTENER] = idleListener

    this.log('checking client timeout')
    let tid
    let timeoutHit = false
    if (this._cto) {
      tid = setTimeout(() => {
        if (client.connection) {
          this.log('ending client due to timeout')
          timeoutHit = true
          client.connection.stream.destroy()
        } else if (!client.isConnected()) {
          this.log('ending client due to timeout')
          timeoutHit = true
          client.end()
        }
      }, this._cto)
      // a caller that waited in the queue keeps its own deadline, as in pg-pool
      if (queued && pending.deadline !== Infinity) {
        pending.tid = setTimeout(() => {
          pending.timedOut = true
          this._deliver(pending, new Error('timeout exceeded when trying to connect'))
        }, Math.max(0, pending.deadline - now()))
        if (pending.tid.unref) pending.tid.unref()
      }
    }

    this.log('connecting new client')
    client.connect((err) => {
      if (tid) clearTimeout(tid)
      client.on('error', idleListener)
      if (err) {
        this.log('client failed to connect', err)
        this._clientMap.delete(key)
        this._raw.fail(permitId, timeoutHit ? 'connect_timeout' : 'connect_failed', safeMessage(err))
        if (timeoutHit) {
          err = new Error('Connection terminated due to connection timeout', { cause: err })
        }
        this._host.drain()
        this._maybeEnded()
        if (!pending.timedOut) this._deliver(pending, err, undefined, NOOP)
        return
      }
      this.log('new client connected')
      if (this.options.onConnect) {
        this._promiseTry(() => this.options.onConnect(client)).then(
          () => this._afterConnect(client, permitId, pending),
          (hookErr) => {
            this._clientMap.delete(key)
            this._raw.fail(permitId, 'connect_failed', safeMessage(hookErr))
            client.end(() => {
              this._host.drain()
              this._maybeEnded()
              if (!pending.timedOut) this._deliver(pending, hookErr, undefined, NOOP)
            })
          }
        )
        return
      }
      this._afterConnect(client, permitId, pending)
    })
  }

  _afterConnect(client, permitId, pending) {
    client[CREATED] = now()
    this._raw.fulfill(permitId, client[KEY])
    this._acquireClient(client, pending, true)
  }

  _acquireClient(client, pending, isNew) {
    if (isNew) this.emit('connect', client)
    this.emit('acquire', client)
    client.release = this._releaseOnce(client)
    client.removeListener('error', client[IDLE_LISTENER])

    if (!pending.timedOut) {
      if (isNew && this.options.verify) {
        this.options.verify(client, (err) => {
          if (err) {
            client.release(err)
            return this._deliver(pending, err, undefined, NOOP)
          }
          this._deliver(pending, undefined, client, client.release)
        })
      } else {
        this._deliver(pending, undefined, client, client.release)
      }
    } else if (isNew && this.options.verify) {
      this.options.verify(client, client.release)
    } else {
      client.release()
    }
  }

  _releaseOnce(client) {
    let released = false
    return (err) => {
      if (released) throwOnDoubleRelease()
      released = true
      this._release(client, err)
    }
  }

  _release(client, err) {
    client.on('error', client[IDLE_LISTENER])
    this.emit('release', err, client)
    const key = client[KEY]

    // no rollback or reset here: pg-pool does none either
    if (err || this.ending || !client._queryable || client._ending) {
      this._raw.invalidate(key)
      this._remove(client)
      this._host.drain()
      return
    }

    // one native call; with callers queued it also collects the hand-off
    const host = this._host
    const out = host.waiters.size !== 0 ? this._raw.releaseTake(key) : null
    if (typeof out === 'number') {
      // kept and handed straight to the oldest waiter (id `out`)
      host.deliverOne(out, key)
      return
    }
    const reason = out === null ? this._raw.release(key) : out[0]
    if (reason !== 0) {
      const name = CLOSE_REASONS[reason]
      if (name === 'max_uses') this.log('remove expended client')
      else if (name === 'recycled') this.log('remove expired client')
      else this.log('remove client: ' + name)
      this._remove(client)
      if (out !== null) host.deliver(out, 1)
      host.drain()
      return
    }

    const t = now()
    this._idleSince.set(key, t)
    if (this.options.allowExitOnIdle && client.unref) client.unref()
    // the core may have handed it straight to the oldest waiter
    if (out !== null) host.deliver(out, 1)
    if (this._idleSince.has(key) && (this._idleMs || this._lifeMs)) {
      // this client's own next deadline; earlier ones are already scheduled
      let due = Infinity
      if (this._idleMs) due = t + this._idleMs
      if (this._lifeMs && client[CREATED] !== undefined) due = Math.min(due, client[CREATED] + this._lifeMs)
      if (!this._mt || this._mtDue > due + 1) this._scheduleMaintain(Math.max(1, Math.ceil(due - t) + 1))
    }
  }

  _remove(client, callback) {
    const key = client[KEY]
    this._clientMap.delete(key)
    this._idleSince.delete(key)
    client.end(() => {
      this.emit('remove', client)
      if (typeof callback === 'function') callback()
      this._maybeEnded()
    })
  }

  // A client that errored while idle: gone for us now; the core still lists it
  // as idle until it hands it out (then it is invalidated) or times it out.
  _removeIdleBroken(client) {
    const key = client[KEY]
    if (this._clientMap.has(key) && this._idleSince.has(key)) this._brokenIdle++
    this._remove(client)
  }

  _maybeEnded() {
    if (this.ending && !this.ended && this._clientMap.size === 0) {
      this.ended = true
      if (this._mt) clearTimeout(this._mt)
      const cb = this._endCallback
      this._endCallback = undefined
      if (cb) cb()
    }
  }

  // -- maintenance: the core decides what to close; JS only wakes it up on time
  _nextDeadline() {
    const t = now()
    let next = Infinity
    for (const [key, since] of this._idleSince) {
      if (this._idleMs) next = Math.min(next, since + this._idleMs)
      if (this._lifeMs) {
        const c = this._clientMap.get(key)
        if (c && c[CREATED] !== undefined) next = Math.min(next, c[CREATED] + this._lifeMs)
      }
    }
    return next === Infinity ? Infinity : Math.max(1, Math.ceil(next - t) + 1)
  }

  _scheduleMaintain(delay) {
    if (delay === Infinity || this.ended) return
    const due = now() + delay
    if (this._mt && this._mtDue <= due) return
    if (this._mt) clearTimeout(this._mt)
    this._mtDue = due
    this._mt = setTimeout(() => this._maintain(), delay)
    if (this.options.allowExitOnIdle) this._mt.unref()
  }

  _maintain() {
    this._mt = null
    this._mtDue = Infinity
    if (this.ended) return
    const out = this._raw.maintain()
    const n = out[1]
    for (let i = 0; i < n; i++) {
      const key = out[3 + 2 * i]
      const reason = CLOSE_REASONS[out[4 + 2 * i]]
      const client = this._clientMap.get(key)
      if (client === undefined) {
        this._brokenIdle--
        continue
      }
      this.log(reason === 'idle_timeout' ? 'remove idle client' : 'remove client: ' + reason)
      this._remove(client)
    }
    // pg-pool never pre-creates clients: permits for min_idle are given back
    for (let i = 3 + 2 * n; i < out.length; i++) this._raw.dropPermit(out[i])
    this._host.drain()
    if (this._idleSince.size) this._scheduleMaintain(Math.min(this._nextDeadline(), Math.max(1, out[0])))
  }

  query(text, values, cb) {
    if (typeof text === 'function') {
      const response = promisify(this.Promise, text)
      setImmediate(function () {
        return response.callback(new Error('Passing a function as the first parameter to pool.query is not supported'))
      })
      return response.result
    }
    if (typeof values === 'function') {
      cb = values
      values = undefined
    }
    const response = promisify(this.Promise, cb)
    cb = response.callback

    this.connect((err, client) => {
      if (err) return cb(err)
      let clientReleased = false
      const onError = (err) => {
        if (clientReleased) return
        clientReleased = true
        client.release(err)
        cb(err)
      }
      client.once('error', onError)
      this.log('dispatching query')
      try {
        client.query(text, values, (err, res) => {
          this.log('query dispatched')
          client.removeListener('error', onError)
          if (clientReleased) return
          clientReleased = true
          client.release(err)
          if (err) return cb(err)
          return cb(undefined, res)
        })
      } catch (err) {
        client.release(err)
        return cb(err)
      }
    })
    return response.result
  }

  end(cb) {
    this.log('ending')
    if (this.ending) {
      const err = new Error('Called end on pool more than once')
      return cb ? cb(err) : this.Promise.reject(err)
    }
    this.ending = true
    const promised = promisify(this.Promise, cb)
    this._endCallback = promised.callback
    if (this._mt) {
      clearTimeout(this._mt)
      this._mt = null
    }
    // the core wakes every waiter with UNIPOOL_POOL_CLOSED and hands back the idle
    const idle = this._raw.close()
    for (const key of idle) {
      const client = this._clientMap.get(key)
      if (client === undefined) this._brokenIdle--
      else this._remove(client)
    }
    this._host.drain()
    this._maybeEnded()
    return promised.result
  }

  get waitingCount() {
    return this._raw.counts()[4]
  }

  get idleCount() {
    return this._raw.counts()[1] - this._brokenIdle
  }

  get totalCount() {
    const c = this._raw.counts()
    return c[0] + c[3] - this._brokenIdle
  }

  get expiredCount() {
    if (!this._lifeMs) return 0
    const t = now()
    let n = 0
    for (const [key, client] of this._clientMap) {
      if (!this._idleSince.has(key) && client[CREATED] !== undefined && t - client[CREATED] >= this._lifeMs) n++
    }
    return n
  }

  /** unipool extension: the core's snapshot (same fields as Rust PoolStatus, camelCase). */
  stats() {
    return this._raw.status()
  }

  /** unipool extension: the core's Prometheus text. */
  metricsText() {
    return this._raw.metricsText()
  }
}

module.exports = Pool
module.exports.Pool = Pool
module.exports.default = Pool
