//! Node binding (napi-rs) for the unipool core.
//!
//! The addon is deliberately small: it wraps `unipool::RawPool<u64>`, where the
//! `u64` is a key into a JS-side `Map` of objects (pg `Client`s or any resource
//! from a user factory). JavaScript creates, checks and closes the objects;
//! the core owns the queue, the limits, the deadlines, the idle and lifetime
//! rules, the counters and the metrics.
//!
//! Numbers cross the boundary instead of wrapped objects so that the hot path
//! (an idle object handed out and given back) is two plain native calls:
//!
//! * `acquire(waiterId, timeoutMs)` answers `key > 0` (an idle object, now
//!   checked out), `-permitId < 0` (a slot to create a new object in), or `0`
//!   (the waiter is queued in the core; its answer arrives later).
//! * queued answers are produced by the core on whichever thread frees a slot
//!   (the JS thread during `release`, or the core's timer thread for
//!   deadlines). They are put in a ready list; JS takes them with
//!   `takeReady()`, right after its own calls or when the thread-safe
//!   function wakes it up from another thread.

#[macro_use]
extern crate napi_derive;

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ErrorStrategy, ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, JsFunction, JsObject, JsUnknown, ValueType};
use parking_lot::Mutex;
use unipool::{
    Checkout, Clock, CloseReason, ConfigValue, CreatePermit, ErrorKind, Grant, PoolConfig,
    PoolStatus, RawPool, WaitHandle,
};

thread_local! {
    /// True on a thread that runs JavaScript and owns a pool (set by the
    /// constructor). Answers produced there are drained by JS itself right
    /// after the native call that produced them; answers produced on any
    /// other thread wake JS through the thread-safe function.
    static ON_JS_THREAD: Cell<bool> = const { Cell::new(false) };
}

type Tsfn = ThreadsafeFunction<(), ErrorStrategy::Fatal>;

/// Keys are small integers chosen by JS: a multiplicative hash is enough and
/// much cheaper than SipHash on the hot path.
#[derive(Default)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type KeyMap<V> = HashMap<u64, V, std::hash::BuildHasherDefault<KeyHasher>>;

enum Outcome {
    Granted(Grant<u64>),
    Failed(unipool::Error),
}

struct Shared {
    ready: Mutex<Vec<(u64, Outcome)>>,
    events: Mutex<Vec<EventRecord>>,
    events_on: AtomicBool,
    notified: AtomicBool,
    tsfn: Tsfn,
}

impl Shared {
    fn notify(&self) {
        if !self.notified.swap(true, Ordering::AcqRel) {
            self.tsfn.call((), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }

    fn push_ready(&self, waiter: u64, outcome: Outcome) {
        self.ready.lock().push((waiter, outcome));
        if !ON_JS_THREAD.with(|c| c.get()) {
            self.notify();
        }
    }
}

/// One pool event, flattened for JS.
struct EventRecord {
    kind: &'static str,
    id: Option<u64>,
    millis: Option<f64>,
    reason: Option<&'static str>,
    message: Option<String>,
}

// ---------------------------------------------------------------------------
// Error mapping: the one place ErrorKind becomes a JS `err.code`.
// ---------------------------------------------------------------------------

/// `err.code` for a core error kind: the one exhaustive match (no wildcard,
/// so a kind added to the core breaks this build until it is mapped here; the
/// unit test below also checks the table against the core's own codes).
pub fn error_code(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::PoolTimeout => "UNIPOOL_POOL_TIMEOUT",
        ErrorKind::PoolClosed => "UNIPOOL_POOL_CLOSED",
        ErrorKind::ConnectFailed => "UNIPOOL_CONNECT_FAILED",
        ErrorKind::ConnectTimeout => "UNIPOOL_CONNECT_TIMEOUT",
        ErrorKind::ConnectionBroken => "UNIPOOL_CONNECTION_BROKEN",
        ErrorKind::InvalidConfig => "UNIPOOL_INVALID_CONFIG",
        ErrorKind::InvalidUsage => "UNIPOOL_INVALID_USAGE",
        ErrorKind::Internal => "UNIPOOL_INTERNAL",
    }
}

/// The number `release()` and `maintain()` use for a close reason: its
/// position in `CloseReason::ALL` plus one (0 = kept). `closeReasonNames()`
/// gives JS the names in the same order.
pub fn close_reason_code(r: CloseReason) -> u32 {
    CloseReason::ALL
        .iter()
        .position(|x| *x == r)
        .map(|i| i as u32 + 1)
        .unwrap_or(0)
}

fn reason_name(r: CloseReason) -> &'static str {
    r.as_str()
}

fn status_object(env: &Env, s: &PoolStatus) -> Result<JsObject> {
    let mut o = env.create_object()?;
    let n = |v: f64| env.create_double(v);
    o.set_named_property("name", env.create_string(&s.name)?)?;
    o.set_named_property("open", n(s.open as f64)?)?;
    o.set_named_property("idle", n(s.idle as f64)?)?;
    o.set_named_property("inUse", n(s.in_use as f64)?)?;
    o.set_named_property("pending", n(s.pending as f64)?)?;
    o.set_named_property("waiting", n(s.waiting as f64)?)?;
    match s.max {
        Some(m) => o.set_named_property("max", n(m as f64)?)?,
        None => o.set_named_property("max", env.get_null()?)?,
    }
    o.set_named_property("poolSize", n(s.pool_size as f64)?)?;
    o.set_named_property("maxOverflow", n(s.max_overflow as f64)?)?;
    o.set_named_property("minIdle", n(s.min_idle as f64)?)?;
    o.set_named_property("overflow", n(s.overflow as f64)?)?;
    o.set_named_property("generation", n(s.generation as f64)?)?;
    o.set_named_property("isPaused", env.get_boolean(s.is_paused)?)?;
    o.set_named_property("isClosed", env.get_boolean(s.is_closed)?)?;
    o.set_named_property("acquired", n(s.acquired as f64)?)?;
    o.set_named_property("created", n(s.created as f64)?)?;
    o.set_named_property("createFailures", n(s.create_failures as f64)?)?;
    o.set_named_property("closed", n(s.closed as f64)?)?;
    o.set_named_property("timeouts", n(s.timeouts as f64)?)?;
    o.set_named_property("pings", n(s.pings as f64)?)?;
    o.set_named_property("pingFailures", n(s.ping_failures as f64)?)?;
    o.set_named_property("leaksDetected", n(s.leaks_detected as f64)?)?;
    o.set_named_property("invalidated", n(s.invalidated as f64)?)?;
    Ok(o)
}

/// Builds a JS `Error` carrying `code`, `kind`, `retryable` and, where the core
/// set them, `status`, `waitedMs` and `configKey`.
fn error_object(env: &Env, e: &unipool::Error) -> Result<JsObject> {
    // Redacted again here: a value echoed back (a DSN given under a wrong key)
    // must not carry its password into JS.
    let message = unipool::redact(&e.full_message());
    let mut o = env.create_error(napi::Error::new(Status::GenericFailure, message))?;
    let kind = e.kind();
    o.set_named_property("code", env.create_string(error_code(kind))?)?;
    o.set_named_property("kind", env.create_string(kind.as_str())?)?;
    o.set_named_property("retryable", env.get_boolean(kind.is_retryable())?)?;
    if let Some(s) = e.status() {
        o.set_named_property("status", status_object(env, s)?)?;
    }
    if let Some(w) = e.waited() {
        o.set_named_property("waitedMs", env.create_double(w.as_secs_f64() * 1000.0)?)?;
    }
    if let Some(k) = e.config_key() {
        o.set_named_property("configKey", env.create_string(&unipool::redact(k))?)?;
    }
    Ok(o)
}

/// Throws `e` as a JS error and returns the napi error that tells napi-rs an
/// exception is already pending.
fn throw(env: &Env, e: &unipool::Error) -> napi::Error {
    match error_object(env, e) {
        Ok(obj) => {
            let _ = env.throw(obj);
            napi::Error::new(Status::PendingException, e.to_string())
        }
        Err(err) => err,
    }
}

fn usage(env: &Env, message: String) -> napi::Error {
    throw(env, &unipool::Error::new(ErrorKind::InvalidUsage, message))
}

fn config_value(env: &Env, key: &str, v: JsUnknown) -> Result<ConfigValue> {
    Ok(match v.get_type()? {
        ValueType::Null | ValueType::Undefined => ConfigValue::Null,
        ValueType::Boolean => ConfigValue::Bool(v.coerce_to_bool()?.get_value()?),
        ValueType::Number => {
            let n = v.coerce_to_number()?.get_double()?;
            if n.fract() == 0.0 && n.abs() < 9.0e15 {
                ConfigValue::Int(n as i64)
            } else {
                ConfigValue::Float(n)
            }
        }
        ValueType::String => ConfigValue::Str(v.coerce_to_string()?.into_utf8()?.into_owned()?),
        other => {
            let err = unipool::Error::config(
                key,
                format!("<a JS {other}>"),
                "expected a boolean, a number, a string or null",
            );
            return Err(throw(env, &err));
        }
    })
}

fn timeout_arg(ms: Option<f64>) -> Option<Duration> {
    match ms {
        Some(ms) if ms.is_finite() && ms >= 0.0 => Some(Duration::from_secs_f64(ms / 1000.0)),
        _ => None,
    }
}

/// The native pool. Not exported from the package as is: `index.js` and
/// `pg.js` wrap it.
#[napi]
pub struct NativePool {
    pool: RawPool<u64>,
    shared: Arc<Shared>,
    tsfn: Tsfn,
    checkouts: KeyMap<Checkout<u64>>,
    permits: KeyMap<CreatePermit<u64>>,
    waits: KeyMap<WaitHandle<u64>>,
    errors: KeyMap<unipool::Error>,
    next_permit: u64,
    listener: Option<unipool::ListenerId>,
}

#[napi]
impl NativePool {
    /// `envPrefix`: read `PoolConfig::from_env_prefix(envPrefix)` first (null:
    /// start from the defaults). Then `keys[i] = values[i]` through
    /// `PoolConfig::set` (any alias, camelCase or snake_case). `onReady` is
    /// called (with no arguments) when answers or events wait in the ready list.
    #[napi(constructor)]
    pub fn new(
        env: Env,
        env_prefix: Option<String>,
        keys: Vec<String>,
        values: Vec<JsUnknown>,
        on_ready: JsFunction,
        manual_clock: Option<bool>,
    ) -> Result<Self> {
        if keys.len() != values.len() {
            return Err(usage(
                &env,
                "NativePool: keys and values differ in length".into(),
            ));
        }
        let mut config = match env_prefix {
            Some(p) => PoolConfig::from_env_prefix(&p).map_err(|e| throw(&env, &e))?,
            None => PoolConfig::default(),
        };
        for (k, v) in keys.iter().zip(values) {
            let v = config_value(&env, k, v)?;
            config.set(k, v).map_err(|e| throw(&env, &e))?;
        }
        config.normalize().map_err(|e| throw(&env, &e))?;
        let clock = if manual_clock.unwrap_or(false) {
            Clock::manual()
        } else {
            Clock::system()
        };
        let pool = RawPool::with_clock(config, clock).map_err(|e| throw(&env, &e))?;
        let mut tsfn: Tsfn =
            on_ready.create_threadsafe_function(0, |_ctx| Ok(Vec::<u32>::new()))?;
        // Never keeps the process alive by itself; JS refs it while it waits.
        tsfn.unref(&env)?;
        ON_JS_THREAD.with(|c| c.set(true));
        let shared = Arc::new(Shared {
            ready: Mutex::new(Vec::new()),
            events: Mutex::new(Vec::new()),
            events_on: AtomicBool::new(false),
            notified: AtomicBool::new(false),
            tsfn: tsfn.clone(),
        });
        Ok(NativePool {
            pool,
            shared,
            tsfn,
            checkouts: KeyMap::default(),
            permits: KeyMap::default(),
            waits: KeyMap::default(),
            errors: KeyMap::default(),
            next_permit: 1,
            listener: None,
        })
    }

    fn store_grant(&mut self, g: Grant<u64>) -> f64 {
        match g {
            Grant::Idle(c) => {
                let key = *c.conn();
                self.checkouts.insert(key, c);
                key as f64
            }
            Grant::Create(p) => {
                let id = self.next_permit;
                self.next_permit += 1;
                self.permits.insert(id, p);
                -(id as f64)
            }
        }
    }

    /// The fast path, never waits: `> 0` key of an idle object now checked
    /// out; `< 0` `-permitId`, create one; `0` nothing free (or others are
    /// queued ahead): call `wait`. Throws `UNIPOOL_POOL_CLOSED` when closed.
    #[napi]
    pub fn try_acquire(&mut self, env: Env) -> Result<f64> {
        match self.pool.try_acquire() {
            Ok(Some(g)) => Ok(self.store_grant(g)),
            Ok(None) => Ok(0.0),
            Err(e) => Err(throw(&env, &e)),
        }
    }

    /// Queues `waiterId` in the core (deadline `timeoutMs`, default
    /// `pool_timeout`). Returns 1 when answers are already in the ready list
    /// (call `takeReady()` now), else 0. Only a `cancellable` wait can be
    /// withdrawn with `cancel` (the others skip keeping a handle).
    #[napi]
    pub fn wait(
        &mut self,
        waiter_id: f64,
        timeout_ms: Option<f64>,
        cancellable: Option<bool>,
    ) -> u32 {
        let waiter = waiter_id as u64;
        let shared = self.shared.clone();
        let handle = self
            .pool
            .acquire_callback(timeout_arg(timeout_ms), move |res| {
                let outcome = match res {
                    Ok(g) => Outcome::Granted(g),
                    Err(e) => Outcome::Failed(e),
                };
                shared.push_ready(waiter, outcome);
            });
        if cancellable.unwrap_or(false) {
            self.waits.insert(waiter, handle);
        }
        u32::from(!self.shared.ready.lock().is_empty())
    }

    /// Answers for queued waiters, flat: `[waiterId, answer, waiterId, answer, ...]`
    /// with `answer` encoded as for `tryAcquire`, `0` meaning an error (`takeError`).
    #[napi]
    pub fn take_ready(&mut self) -> Vec<f64> {
        let mut out = Vec::new();
        self.take_ready_into(&mut out);
        out
    }

    /// `release(key)` and `takeReady()` in one call, for when JS has waiters
    /// (a release usually hands the object to one). The common case — kept,
    /// and handed straight to exactly one waiter — answers just that waiter's
    /// id (a number: the object `key` is now checked out by it); anything else
    /// answers `[reason, waiterId, answer, ...]`.
    #[napi]
    pub fn release_take(&mut self, env: Env, key: f64) -> Result<Either<f64, Vec<f64>>> {
        let c = self.take_checkout(&env, "release", key)?;
        let reason = match c.release() {
            None => 0,
            Some((_k, reason)) => close_reason_code(reason),
        };
        if reason == 0 {
            let single = {
                let mut ready = self.shared.ready.lock();
                let handed = ready.len() == 1
                    && matches!(&ready[0].1, Outcome::Granted(Grant::Idle(c)) if *c.conn() == key as u64);
                if handed {
                    ready.pop()
                } else {
                    None
                }
            };
            if let Some((waiter, Outcome::Granted(g))) = single {
                self.shared.notified.store(false, Ordering::Release);
                if !self.waits.is_empty() {
                    self.waits.remove(&waiter);
                }
                self.store_grant(g);
                return Ok(Either::A(waiter as f64));
            }
        }
        let mut out = vec![f64::from(reason)];
        self.take_ready_into(&mut out);
        Ok(Either::B(out))
    }

    fn take_ready_into(&mut self, out: &mut Vec<f64>) {
        self.shared.notified.store(false, Ordering::Release);
        let batch = std::mem::take(&mut *self.shared.ready.lock());
        out.reserve(batch.len() * 2);
        for (waiter, outcome) in batch {
            if !self.waits.is_empty() {
                self.waits.remove(&waiter);
            }
            out.push(waiter as f64);
            match outcome {
                Outcome::Granted(g) => out.push(self.store_grant(g)),
                Outcome::Failed(e) => {
                    self.errors.insert(waiter, e);
                    out.push(0.0);
                }
            }
        }
    }

    /// The error answered to `waiterId` (once), as a JS Error with `code`.
    #[napi]
    pub fn take_error(&mut self, env: Env, waiter_id: f64) -> Result<Option<JsObject>> {
        match self.errors.remove(&(waiter_id as u64)) {
            Some(e) => Ok(Some(error_object(&env, &e)?)),
            None => Ok(None),
        }
    }

    /// Withdraws a queued waiter; false if the core already answered it (the
    /// answer is then in the ready list and must be taken and given back).
    #[napi]
    pub fn cancel(&mut self, waiter_id: f64) -> bool {
        match self.waits.remove(&(waiter_id as u64)) {
            Some(h) => h.cancel(),
            None => false,
        }
    }

    fn take_permit(&mut self, env: &Env, what: &str, permit_id: f64) -> Result<CreatePermit<u64>> {
        self.permits.remove(&(permit_id as u64)).ok_or_else(|| {
            usage(
                env,
                format!("{what}: permit {permit_id} is not outstanding"),
            )
        })
    }

    /// The host created object `key` for `permitId`; it is now checked out.
    #[napi]
    pub fn fulfill(&mut self, env: Env, permit_id: f64, key: f64) -> Result<()> {
        let p = self.take_permit(&env, "fulfill", permit_id)?;
        let c = p.fulfill(key as u64);
        self.checkouts.insert(key as u64, c);
        Ok(())
    }

    /// The host created object `key` for a maintenance permit: straight to
    /// idle (or to a waiter). True when the pool was closed meanwhile and the
    /// host must close it.
    #[napi]
    pub fn fulfill_idle(&mut self, env: Env, permit_id: f64, key: f64) -> Result<bool> {
        let p = self.take_permit(&env, "fulfillIdle", permit_id)?;
        Ok(p.fulfill_idle(key as u64).is_some())
    }

    /// Creating failed. `kind` is "connect_timeout" or anything else for
    /// "connect_failed". The message becomes the core's last connect error.
    #[napi]
    pub fn fail(&mut self, env: Env, permit_id: f64, kind: String, message: String) -> Result<()> {
        let p = self.take_permit(&env, "fail", permit_id)?;
        let k = if kind == "connect_timeout" {
            ErrorKind::ConnectTimeout
        } else {
            ErrorKind::ConnectFailed
        };
        p.fail(unipool::Error::new(k, unipool::redact(&message)));
        Ok(())
    }

    /// Gives a permit back unused (the slot is freed).
    #[napi]
    pub fn drop_permit(&mut self, env: Env, permit_id: f64) -> Result<()> {
        drop(self.take_permit(&env, "dropPermit", permit_id)?);
        Ok(())
    }

    fn take_checkout(&mut self, env: &Env, what: &str, key: f64) -> Result<Checkout<u64>> {
        self.checkouts.remove(&(key as u64)).ok_or_else(|| {
            usage(
                env,
                format!("{what}: object {key} is not checked out from this pool"),
            )
        })
    }

    /// Back to the pool. `0`: kept (idle or handed to a waiter); otherwise the
    /// index in `closeReasonNames()` of why the host must close it now.
    #[napi]
    pub fn release(&mut self, env: Env, key: f64) -> Result<u32> {
        let c = self.take_checkout(&env, "release", key)?;
        Ok(match c.release() {
            None => 0,
            Some((_k, reason)) => close_reason_code(reason),
        })
    }

    /// Broken: the host closes it; the slot is freed.
    #[napi]
    pub fn invalidate(&mut self, env: Env, key: f64) -> Result<()> {
        let c = self.take_checkout(&env, "invalidate", key)?;
        let _ = c.invalidate();
        Ok(())
    }

    /// Leaves the pool for good; the slot is freed.
    #[napi]
    pub fn detach(&mut self, env: Env, key: f64) -> Result<()> {
        let c = self.take_checkout(&env, "detach", key)?;
        let _ = c.detach();
        Ok(())
    }

    /// The pre-ping of checked-out `key` succeeded.
    #[napi]
    pub fn ping_ok(&mut self, env: Env, key: f64) -> Result<()> {
        match self.checkouts.get_mut(&(key as u64)) {
            Some(c) => {
                c.ping_ok();
                Ok(())
            }
            None => Err(usage(
                &env,
                format!("pingOk: object {key} is not checked out from this pool"),
            )),
        }
    }

    /// The pre-ping of checked-out `key` failed: it leaves the pool (host closes it).
    #[napi]
    pub fn ping_failed(&mut self, env: Env, key: f64) -> Result<()> {
        let c = self.take_checkout(&env, "pingFailed", key)?;
        let _ = c.ping_failed();
        Ok(())
    }

    /// Objects that left the pool without a caller to close them (found
    /// expired on acquire): flat `[key, reason, ...]`; the host closes each.
    #[napi]
    pub fn take_retired(&mut self) -> Vec<f64> {
        let mut out = Vec::new();
        for (k, r) in self.pool.take_retired() {
            out.push(k as f64);
            out.push(close_reason_code(r) as f64);
        }
        out
    }

    /// Whether the checked-out object should be pinged before use (pre-ping).
    #[napi]
    pub fn needs_ping(&self, key: f64) -> bool {
        self.checkouts
            .get(&(key as u64))
            .map(|c| c.needs_ping())
            .unwrap_or(false)
    }

    /// How many times the checked-out object was handed out.
    #[napi]
    pub fn use_count(&self, key: f64) -> f64 {
        self.checkouts
            .get(&(key as u64))
            .map(|c| c.use_count() as f64)
            .unwrap_or(0.0)
    }

    /// Periodic housekeeping. Flat:
    /// `[nextRunMs, nClose, nLeaks, key, reason, ..., permitId, ...]`.
    #[napi]
    pub fn maintain(&mut self) -> Vec<f64> {
        let m = self.pool.maintain();
        let mut out = Vec::with_capacity(3 + m.to_close.len() * 2 + m.to_create.len());
        out.push(m.next_run.as_secs_f64() * 1000.0);
        out.push(m.to_close.len() as f64);
        out.push(m.leaks.len() as f64);
        for (k, r) in m.to_close {
            out.push(k as f64);
            out.push(close_reason_code(r) as f64);
        }
        for p in m.to_create {
            let id = self.next_permit;
            self.next_permit += 1;
            self.permits.insert(id, p);
            out.push(id as f64);
        }
        out
    }

    /// Snapshot of the core's counters (same fields as Rust `PoolStatus`, camelCase).
    #[napi]
    pub fn status(&self, env: Env) -> Result<JsObject> {
        status_object(&env, &self.pool.status())
    }

    /// Cheap counts for pg-pool's getters: `[open, idle, inUse, pending, waiting]`.
    #[napi]
    pub fn counts(&self) -> Vec<f64> {
        let s = self.pool.status();
        vec![
            s.open as f64,
            s.idle as f64,
            s.in_use as f64,
            s.pending as f64,
            s.waiting as f64,
        ]
    }

    /// The core's Prometheus text exposition.
    #[napi]
    pub fn metrics_text(&self) -> String {
        self.pool.metrics_text()
    }

    /// Effective configuration, flat `[key, value, key, value, ...]` (canonical names).
    #[napi]
    pub fn config(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (k, v) in self.pool.config().to_pairs() {
            out.push(k.to_string());
            out.push(v);
        }
        out
    }

    /// Closes the pool: waiters get `UNIPOOL_POOL_CLOSED`; returns idle keys to close.
    #[napi]
    pub fn close(&mut self) -> Vec<f64> {
        self.pool.close().into_iter().map(|k| k as f64).collect()
    }

    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.pool.is_closed()
    }

    /// New generation: returns idle keys to close; older checked-out ones close on return.
    #[napi]
    pub fn dispose(&mut self) -> Vec<f64> {
        self.pool.dispose().into_iter().map(|k| k as f64).collect()
    }

    #[napi]
    pub fn resize(&mut self, env: Env, pool_size: f64, max_overflow: f64) -> Result<Vec<f64>> {
        let surplus = self
            .pool
            .resize(pool_size as usize, max_overflow as i64)
            .map_err(|e| throw(&env, &e))?;
        Ok(surplus.into_iter().map(|k| k as f64).collect())
    }

    #[napi]
    pub fn pause(&self) {
        self.pool.pause();
    }

    #[napi]
    pub fn resume(&self) {
        self.pool.resume();
    }

    /// Moves a manual clock (constructor's `manualClock`) forward; tests only.
    #[napi]
    pub fn advance_clock(&self, env: Env, seconds: f64) -> Result<()> {
        if !(seconds.is_finite() && seconds >= 0.0) {
            return Err(usage(
                &env,
                format!("advanceClock: seconds = {seconds}: expected a finite number >= 0"),
            ));
        }
        self.pool
            .clock()
            .advance(Duration::from_secs_f64(seconds))
            .map_err(|m| usage(&env, format!("advanceClock: {m}")))
    }

    /// Whether the wake-up function keeps the event loop alive (JS refs it
    /// while it has waiters whose deadline only the core's timer will end).
    #[napi]
    pub fn set_ref(&mut self, env: Env, on: bool) -> Result<()> {
        if on {
            self.tsfn.refer(&env)
        } else {
            self.tsfn.unref(&env)
        }
    }

    /// Starts (true) or stops collecting core events for `takeEvents()`.
    #[napi]
    pub fn enable_events(&mut self, on: bool) {
        self.shared.events_on.store(on, Ordering::Release);
        if on && self.listener.is_none() {
            let shared = self.shared.clone();
            let id = self.pool.subscribe(move |ev: &unipool::Event| {
                if !shared.events_on.load(Ordering::Acquire) {
                    return;
                }
                if let Some(rec) = event_record(ev) {
                    shared.events.lock().push(rec);
                    shared.notify();
                }
            });
            self.listener = Some(id);
        }
    }

    /// Core events since the last call: `[{type, id?, ms?, reason?, message?}, ...]`.
    #[napi]
    pub fn take_events(&mut self, env: Env) -> Result<Vec<JsObject>> {
        self.shared.notified.store(false, Ordering::Release);
        let batch = std::mem::take(&mut *self.shared.events.lock());
        let mut out = Vec::with_capacity(batch.len());
        for r in batch {
            let mut o = env.create_object()?;
            o.set_named_property("type", env.create_string(r.kind)?)?;
            if let Some(id) = r.id {
                o.set_named_property("id", env.create_double(id as f64)?)?;
            }
            if let Some(ms) = r.millis {
                o.set_named_property("ms", env.create_double(ms)?)?;
            }
            if let Some(reason) = r.reason {
                o.set_named_property("reason", env.create_string(reason)?)?;
            }
            if let Some(m) = r.message {
                o.set_named_property("message", env.create_string(&m)?)?;
            }
            out.push(o);
        }
        Ok(out)
    }
}

impl Drop for NativePool {
    fn drop(&mut self) {
        if let Some(id) = self.listener.take() {
            self.pool.unsubscribe(id);
        }
    }
}

fn ms(d: Duration) -> Option<f64> {
    Some(d.as_secs_f64() * 1000.0)
}

fn event_record(ev: &unipool::Event) -> Option<EventRecord> {
    use unipool::Event as E;
    let rec = |kind, id, millis, reason, message| EventRecord {
        kind,
        id,
        millis,
        reason,
        message,
    };
    Some(match ev {
        E::Connect { id, took } => rec("connect", Some(*id), ms(*took), None, None),
        E::Checkout { id, waited, .. } => rec("checkout", Some(*id), ms(*waited), None, None),
        E::Checkin { id, used, .. } => rec("checkin", Some(*id), ms(*used), None, None),
        E::Close { id, reason, .. } => {
            rec("close", Some(*id), None, Some(reason_name(*reason)), None)
        }
        E::Invalidate { id, .. } => rec("invalidate", Some(*id), None, None, None),
        E::Timeout { waited, .. } => rec("timeout", None, ms(*waited), None, None),
        E::Leak { id, held, .. } => rec("leak", Some(*id), ms(*held), None, None),
        E::ConnectFailed { error } => rec(
            "connect_failed",
            None,
            None,
            None,
            Some(error.full_message()),
        ),
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

/// The core's password redaction (`postgres://u:***@h`, `password=***`), for
/// messages JS builds from foreign errors.
#[napi]
pub fn redact(text: String) -> String {
    unipool::redact(&text)
}

/// Names for the numbers `release()` and `maintain()` return.
#[napi]
pub fn close_reason_names() -> Vec<&'static str> {
    let mut v = vec!["none"];
    v.extend(CloseReason::ALL.iter().map(|r| r.as_str()));
    v
}

/// `[kind, code]` pairs for every core error kind, for docs and tests.
#[napi]
pub fn error_codes() -> Vec<Vec<&'static str>> {
    ErrorKind::ALL
        .iter()
        .map(|k| vec![k.as_str(), error_code(*k)])
        .collect()
}

/// The effective configuration for `PoolConfig::from_env_prefix(prefix)`,
/// flat `[key, value, ...]`; throws `UNIPOOL_INVALID_CONFIG` naming the variable.
#[napi]
pub fn config_from_env(env: Env, prefix: String) -> Result<Vec<String>> {
    let c = PoolConfig::from_env_prefix(&prefix).map_err(|e| throw(&env, &e))?;
    let mut out = Vec::new();
    for (k, v) in c.to_pairs() {
        out.push(k.to_string());
        out.push(v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_kind_has_its_own_code() {
        for k in ErrorKind::ALL {
            assert_eq!(error_code(k), k.code(), "{k:?}");
        }
    }
}
