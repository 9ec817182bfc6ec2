'use strict'
// Shared plumbing between the native pool and the two JS front ends
// (index.js: generic resources, pg.js: node-postgres drop-in).
// It owns no pool semantics: queueing, limits, deadlines, idle and lifetime
// rules live in the Rust core; this file only routes the core's answers
// (numbers) to the JS callbacks waiting for them.

const native = require('./native')

const CLOSE_REASONS = native.closeReasonNames()

function toKeysValues(config) {
  const keys = []
  const values = []
  for (const [k, v] of Object.entries(config || {})) {
    if (v === undefined) continue
    if (typeof v === 'number' && !Number.isFinite(v)) {
      // Infinity / NaN: "no limit" is null in the shared vocabulary
      keys.push(k)
      values.push(null)
      continue
    }
    keys.push(k)
    values.push(v)
  }
  return { keys, values }
}

class Host {
  /**
   * @param {string|null} envPrefix read the configuration from the environment first
   * @param {object} config key -> value (canonical snake_case keys, aliases or camelCase)
   * @param {{refWhileWaiting?: boolean, onEvents?: (events: object[]) => void}} opts
   */
  constructor(envPrefix, config, opts = {}) {
    const { keys, values } = toKeysValues(config)
    this.raw = new native.NativePool(
      envPrefix == null ? null : String(envPrefix),
      keys,
      values,
      () => this.wake(),
      !!opts.manualClock
    )
    this.waiters = new Map()
    this.seq = 0
    this.refWhileWaiting = !!opts.refWhileWaiting
    this.onEvents = opts.onEvents || null
    this.eventsOn = false
    this._reffed = false
  }

  /**
   * Asks the core for an object. Returns the answer when the core gives one at
   * once (> 0 idle key, < 0 -permitId); returns 0 when queued, and then
   * `onAnswer(answer, err)` is called exactly once later. Throws a JS error
   * with `code` when the core refuses at once (closed pool, ...).
   */
  acquire(timeoutMs, onAnswer, cancellable) {
    // others queued: the core would not let this caller barge past them
    if (this.waiters.size === 0) {
      const a = this.raw.tryAcquire()
      if (a !== 0) return a
    }
    // (a closed pool answers a queued caller at once with UNIPOOL_POOL_CLOSED)
    this.enqueue(timeoutMs, onAnswer, cancellable)
    return 0
  }

  /** Queues in the core without trying first (the caller just did). */
  enqueue(timeoutMs, onAnswer, cancellable) {
    const id = ++this.seq
    this.waiters.set(id, onAnswer)
    this.lastWaiter = id
    if (this.refWhileWaiting && !this._reffed) {
      this._reffed = true
      this.raw.setRef(true)
    }
    // 1: the core answered at once (a release raced us): deliver now
    if (this.raw.wait(id, timeoutMs, cancellable === true) !== 0) this.drain()
  }

  /** The thread-safe function's call: answers or events arrived from another thread. */
  wake() {
    this.deliver(this.raw.takeReady(), 0)
    if (this.eventsOn && this.onEvents) {
      const evs = this.raw.takeEvents()
      if (evs.length) this.onEvents(evs)
    }
  }

  /** Delivers every answer the core has produced. Cheap when there is none. */
  drain() {
    if (this.waiters.size !== 0) this.deliver(this.raw.takeReady(), 0)
    if (this.eventsOn && this.onEvents) {
      const evs = this.raw.takeEvents()
      if (evs.length) this.onEvents(evs)
    }
  }

  /**
   * Gives back checked-out `key`; returns the close reason (0: kept) and
   * delivers any answer the release produced (usually a hand-off).
   */
  release(key) {
    if (this.waiters.size === 0) return this.raw.release(key)
    const out = this.raw.releaseTake(key)
    if (typeof out === 'number') {
      // kept and handed straight to waiter `out`
      this.deliverOne(out, key)
      return 0
    }
    this.deliver(out, 1)
    return out[0]
  }

  /** Waiter `id` now holds `key` (the common hand-off, without an array). */
  deliverOne(id, key) {
    const cb = this.waiters.get(id)
    this.waiters.delete(id)
    if (this._reffed && this.waiters.size === 0) {
      this._reffed = false
      this.raw.setRef(false)
    }
    if (cb) cb(key, null)
  }

  deliver(out, start) {
    // Every answer is delivered even if a callback throws (a grant that is
    // never delivered would hold its slot forever); the first throw is rethrown.
    let thrown = null
    for (let i = start; i < out.length; i += 2) {
      const id = out[i]
      const answer = out[i + 1]
      const cb = this.waiters.get(id)
      this.waiters.delete(id)
      const err = answer === 0 ? this.raw.takeError(id) : null
      if (cb) {
        try {
          cb(answer, err)
        } catch (e) {
          if (thrown === null) thrown = { e }
        }
      }
    }
    if (this._reffed && this.waiters.size === 0) {
      this._reffed = false
      this.raw.setRef(false)
    }
    if (thrown !== null) throw thrown.e
  }

  /** Withdraws queued waiter `id`; true if it was still waiting (its callback will not run). */
  cancel(id) {
    if (!this.waiters.has(id)) return false
    if (!this.raw.cancel(id)) return false
    this.waiters.delete(id)
    if (this._reffed && this.waiters.size === 0) {
      this._reffed = false
      this.raw.setRef(false)
    }
    return true
  }

  enableEvents(on) {
    this.eventsOn = !!on
    this.raw.enableEvents(!!on)
  }

  config() {
    const flat = this.raw.config()
    const out = {}
    for (let i = 0; i < flat.length; i += 2) out[flat[i]] = flat[i + 1]
    return out
  }
}

/** Parses a duration as printed by the core's effective config ("30s", "500ms", "1.5", "none"). */
function parseDurationMs(s) {
  if (s == null) return null
  const t = String(s).trim()
  if (t === '' || t === 'none' || t === 'null' || t === '-1') return null
  const m = /^(-?[0-9.]+)\s*(ms|s|m|h)?$/.exec(t)
  if (!m) return null
  const n = parseFloat(m[1])
  switch (m[2]) {
    case 'ms':
      return n
    case 'm':
      return n * 60000
    case 'h':
      return n * 3600000
    default:
      return n * 1000
  }
}

module.exports = { Host, CLOSE_REASONS, native, parseDurationMs }
