//! The pool state machine and [`RawPool`], the foreign-object pool every
//! front end is built on.
//!
//! # Design
//! One mutex guards the whole [`State`]: idle connections, counts, the FIFO
//! waiter queue and the deadline heap. Every operation is a short critical
//! section with no I/O, no allocation on the fast path and no call into user
//! code; whatever must happen afterwards (waking a waiter, running a callback,
//! emitting an event, logging) is collected in an [`Outbox`] and done after the
//! lock is released. The core never creates, pings, resets or closes a
//! connection: acquire hands out either an idle connection ([`Checkout`]) or a
//! [`CreatePermit`] that owns a slot until the caller fulfils it with a
//! connection it made itself, fails it, or drops it.
//!
//! Slots: `idle + in_use + pending <= pool_size + max_overflow` at all times.
//! Fairness: while anyone waits, new callers queue behind them, and a returned
//! connection (or a freed slot, as a permit) goes to the oldest waiter.

mod handles;
#[cfg(all(test, feature = "loom-model"))]
mod loom_tests;
mod status;
pub(crate) mod wait;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::time::Duration;

use crate::clock::{Clock, Nanos};
use crate::config::PoolConfig;
use crate::error::{redact, Error, ErrorKind, Result};
use crate::events::{Event, ListenerId};
use crate::metrics::Metrics;
use crate::sync::{Arc, AtomicUsize, Mutex, Ordering};

pub use handles::{Checkout, CreatePermit, Grant};
pub use status::{CloseReason, PoolStatus};
pub use wait::{Acquire, WaitHandle};
use wait::{Begin, Cancel, DeadlineHeap, Notify, Waiter};

/// Bookkeeping of one connection, kept beside the host's object.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Meta {
    pub id: u64,
    pub created_at: Nanos,
    pub expires_at: Option<Nanos>,
    pub last_used: Nanos,
    pub use_count: u64,
    pub generation: u64,
}

pub(crate) struct Idle<T> {
    pub obj: T,
    pub meta: Meta,
    pub idle_since: Nanos,
}

/// Everything guarded by the pool's lock.
pub(crate) struct State<T: Send + 'static> {
    pub idle: VecDeque<Idle<T>>,
    pub in_use: usize,
    pub pending: usize,
    pub waiters: VecDeque<Arc<Waiter<T>>>,
    pub live_waiters: usize,
    pub deadlines: DeadlineHeap<T>,
    pub deadline_seq: u64,
    /// When the deadline thread will next look (None: it sleeps without a deadline).
    pub deadline_wake_at: Option<std::time::Instant>,
    #[cfg_attr(feature = "loom-model", allow(dead_code))]
    pub deadline_thread: Option<std::thread::Thread>,
    pub pool_size: usize,
    pub max_overflow: i64,
    pub generation: u64,
    pub closed: bool,
    pub paused: bool,
    pub next_id: u64,
    pub retired: Vec<(T, CloseReason)>,
    pub last_connect_error: Option<Error>,
    pub failures_in_row: u32,
    pub next_create_at: Nanos,
    /// Checked-out connections by id: (checked out at, already reported).
    /// Only kept when leak detection is on.
    pub out: HashMap<u64, (Nanos, bool)>,
}

impl<T: Send + 'static> State<T> {
    #[inline]
    pub(crate) fn slots(&self) -> usize {
        self.idle.len() + self.in_use + self.pending
    }
    #[inline]
    pub(crate) fn max_total(&self) -> Option<usize> {
        if self.max_overflow < 0 {
            None
        } else {
            Some(self.pool_size + self.max_overflow as usize)
        }
    }
    #[inline]
    pub(crate) fn has_capacity(&self) -> bool {
        self.max_total().is_none_or(|m| self.slots() < m)
    }
    #[inline]
    fn keep_limit(&self) -> usize {
        if self.pool_size == 0 {
            usize::MAX
        } else {
            self.pool_size
        }
    }
}

/// Work to do once the lock is released.
pub(crate) struct Outbox<T: Send + 'static> {
    /// The first waiter to wake, inline: almost every operation wakes at most
    /// one, and a Vec would allocate for it.
    pub wake_one: Option<Arc<Waiter<T>>>,
    pub wake: Vec<Arc<Waiter<T>>>,
    pub events: Vec<Event>,
}

impl<T: Send + 'static> Default for Outbox<T> {
    fn default() -> Self {
        Outbox { wake_one: None, wake: Vec::new(), events: Vec::new() }
    }
}

impl<T: Send + 'static> Outbox<T> {
    #[inline]
    pub(crate) fn wake(&mut self, w: Arc<Waiter<T>>) {
        if self.wake_one.is_none() {
            self.wake_one = Some(w);
        } else {
            self.wake.push(w);
        }
    }

    #[inline]
    pub(crate) fn flush(self, shared: &Shared<T>) {
        if self.wake_one.is_none() && self.events.is_empty() {
            return;
        }
        self.flush_slow(shared)
    }

    #[inline(never)]
    fn flush_slow(self, shared: &Shared<T>) {
        if let Some(w) = self.wake_one {
            w.wake();
        }
        for w in self.wake {
            w.wake();
        }
        for e in &self.events {
            shared.log_event(e);
            shared.events.emit(e);
        }
    }
}

/// State shared by a pool's handles.
pub(crate) struct Shared<T: Send + 'static> {
    pub state: Mutex<State<T>>,
    pub config: PoolConfig,
    pub clock: Clock,
    pub metrics: Metrics,
    pub events: crate::events::Events,
    pub retired_count: AtomicUsize,
    /// Events for checkout/checkin are only built when someone listens or echoes.
    pub echo: bool,
}

impl<T: Send + 'static> Drop for Shared<T> {
    fn drop(&mut self) {
        #[cfg(not(feature = "loom-model"))]
        if let Some(t) = self.state.lock().deadline_thread.take() {
            t.unpark();
        }
    }
}

impl<T: Send + 'static> Shared<T> {
    #[inline]
    fn verbose(&self) -> bool {
        self.echo || self.events.active()
    }

    fn log_event(&self, e: &Event) {
        let name = self.config.name.as_str();
        match e {
            Event::Leak { id, held } => tracing::warn!(
                pool = name, connection = id, held_ms = held.as_millis() as u64,
                "connection held longer than leak_detection_threshold; possible leak"
            ),
            Event::ConnectFailed { error } => {
                tracing::warn!(pool = name, error = %redact(&error.full_message()), "connect failed")
            }
            Event::Connect { id, took } => {
                tracing::debug!(pool = name, connection = id, took_ms = took.as_millis() as u64, "connection created")
            }
            Event::Close { id, reason } => tracing::debug!(pool = name, connection = id, reason = %reason, "connection closed"),
            Event::Timeout { waited } => {
                tracing::debug!(pool = name, waited_ms = waited.as_millis() as u64, "acquire timed out")
            }
            other if self.echo => tracing::debug!(pool = name, event = ?other, "pool event"),
            _ => {}
        }
    }

    fn new_meta(&self, st: &mut State<T>, now: Nanos) -> Meta {
        st.next_id += 1;
        let expires_at = self.config.pool_recycle.map(|life| {
            let jitter = self.config.lifetime_jitter;
            let factor = if jitter > 0.0 { 1.0 - jitter * fastrand::f64() } else { 1.0 };
            now.add(life.mul_f64(factor))
        });
        Meta { id: st.next_id, created_at: now, expires_at, last_used: now, use_count: 0, generation: st.generation }
    }

    /// Why an idle or returning connection must go, if it must.
    #[inline]
    fn expired(&self, st: &State<T>, meta: &Meta, now: Nanos) -> Option<CloseReason> {
        if meta.generation != st.generation {
            Some(CloseReason::Disposed)
        } else if meta.expires_at.is_some_and(|e| now >= e) {
            Some(CloseReason::Recycled)
        } else {
            None
        }
    }

    #[inline]
    fn note_close(&self, id: u64, reason: CloseReason, out: &mut Outbox<T>) {
        self.metrics.closed[reason.index()].add_locked(1);
        out.events.push(Event::Close { id, reason });
    }

    fn retire(&self, st: &mut State<T>, obj: T, id: u64, reason: CloseReason, out: &mut Outbox<T>) {
        self.note_close(id, reason, out);
        st.retired.push((obj, reason));
        self.retired_count.store(st.retired.len(), Ordering::Relaxed);
    }

    /// Hands `obj` to the caller as checked out.
    #[inline]
    fn checkout_locked(
        self: &Arc<Self>,
        st: &mut State<T>,
        obj: T,
        mut meta: Meta,
        now: Nanos,
        is_new: bool,
        waited: Duration,
        out: &mut Outbox<T>,
    ) -> Checkout<T> {
        st.in_use += 1;
        meta.use_count += 1;
        let bypass = self.config.pre_ping_bypass;
        // A zero bypass means "always ping" even within one tick of the coarse clock.
        let needs_ping = self.config.pool_pre_ping && !is_new && (bypass.is_zero() || now.since(meta.last_used) > bypass);
        self.metrics.acquired.add_locked(1);
        if !waited.is_zero() {
            self.metrics.wait_time.observe_locked(waited);
        }
        if self.config.leak_detection_threshold.is_some() {
            st.out.insert(meta.id, (now, false));
        }
        if self.verbose() {
            out.events.push(Event::Checkout { id: meta.id, waited });
        }
        Checkout::new(self.clone(), obj, meta, now, is_new, needs_ping)
    }

    /// The fast path: an idle connection or a permit, if fairness allows.
    pub(crate) fn take_now(self: &Arc<Self>, st: &mut State<T>, now: Nanos, out: &mut Outbox<T>) -> Result<Option<Grant<T>>> {
        if st.closed {
            return Err(self.closed_error());
        }
        if st.paused || st.live_waiters > 0 {
            return Ok(None);
        }
        loop {
            let next = if self.config.use_lifo { st.idle.pop_back() } else { st.idle.pop_front() };
            let Some(i) = next else { break };
            if let Some(reason) = self.expired(st, &i.meta, now) {
                self.retire(st, i.obj, i.meta.id, reason, out);
                continue;
            }
            return Ok(Some(Grant::Idle(self.checkout_locked(st, i.obj, i.meta, now, false, Duration::ZERO, out))));
        }
        if st.has_capacity() {
            st.pending += 1;
            return Ok(Some(Grant::Create(CreatePermit::new(self.clone(), now, Duration::ZERO))));
        }
        Ok(None)
    }

    /// The oldest waiter that still waits, removed from the live count.
    #[inline]
    fn pop_live_waiter(&self, st: &mut State<T>) -> Option<Arc<Waiter<T>>> {
        if st.live_waiters == 0 {
            return None;
        }
        while let Some(w) = st.waiters.pop_front() {
            if w.is_waiting() {
                st.live_waiters -= 1;
                return Some(w);
            }
        }
        None
    }

    pub(crate) fn compact_waiters(&self, st: &mut State<T>) {
        if st.waiters.len() > 64 && st.waiters.len() > 2 * st.live_waiters + 64 {
            st.waiters.retain(|w| w.is_waiting());
        }
    }

    /// Gives waiters whatever is available, oldest first: idle connections,
    /// then permits for free slots.
    fn dispatch(self: &Arc<Self>, st: &mut State<T>, now: Nanos, out: &mut Outbox<T>) {
        while !st.paused && !st.closed && st.live_waiters > 0 {
            let next = if self.config.use_lifo { st.idle.pop_back() } else { st.idle.pop_front() };
            if let Some(i) = next {
                if let Some(reason) = self.expired(st, &i.meta, now) {
                    self.retire(st, i.obj, i.meta.id, reason, out);
                    continue;
                }
                match self.pop_live_waiter(st) {
                    Some(w) => {
                        let waited = w.since.elapsed();
                        let c = self.checkout_locked(st, i.obj, i.meta, now, false, waited, out);
                        w.complete(Ok(Grant::Idle(c)));
                        out.wake(w);
                    }
                    None => {
                        // Put it back where it came from, keeping the idle order.
                        if self.config.use_lifo {
                            st.idle.push_back(i);
                        } else {
                            st.idle.push_front(i);
                        }
                        break;
                    }
                }
                continue;
            }
            if !st.has_capacity() {
                break;
            }
            let Some(w) = self.pop_live_waiter(st) else { break };
            st.pending += 1;
            let waited = w.since.elapsed();
            w.complete(Ok(Grant::Create(CreatePermit::new(self.clone(), now, waited))));
            out.wake(w);
        }
    }

    /// A checked-out connection comes back. Returns it when it must be closed.
    fn release_locked(
        self: &Arc<Self>,
        st: &mut State<T>,
        obj: T,
        mut meta: Meta,
        checked_out_at: Nanos,
        now: Nanos,
        out: &mut Outbox<T>,
    ) -> Option<(T, CloseReason)> {
        st.in_use -= 1;
        if self.config.leak_detection_threshold.is_some() {
            st.out.remove(&meta.id);
        }
        let used = now.since(checked_out_at);
        self.metrics.use_time.observe_locked(used);
        meta.last_used = now;
        if self.verbose() {
            out.events.push(Event::Checkin { id: meta.id, used });
        }
        let reason = if st.closed {
            Some(CloseReason::PoolClosed)
        } else if let Some(r) = self.expired(st, &meta, now) {
            Some(r)
        } else if self.config.max_uses.is_some_and(|m| meta.use_count >= m) {
            Some(CloseReason::MaxUses)
        } else if st.max_total().is_some_and(|m| st.slots() + 1 > m) {
            Some(CloseReason::Resized)
        } else {
            None
        };
        if let Some(r) = reason {
            self.note_close(meta.id, r, out);
            self.dispatch(st, now, out);
            return Some((obj, r));
        }
        if !st.paused {
            if let Some(w) = self.pop_live_waiter(st) {
                let waited = w.since.elapsed();
                let c = self.checkout_locked(st, obj, meta, now, false, waited, out);
                w.complete(Ok(Grant::Idle(c)));
                out.wake(w);
                return None;
            }
        }
        // SQLAlchemy's rule: an overflow connection is closed when it comes
        // back to a pool that already keeps `pool_size` idle connections.
        // (Closing whenever more than pool_size are open would churn a new
        // connection per checkout under a steady load between pool_size and
        // the maximum.)
        if st.idle.len() >= st.keep_limit() {
            self.note_close(meta.id, CloseReason::Overflow, out);
            return Some((obj, CloseReason::Overflow));
        }
        st.idle.push_back(Idle { obj, meta, idle_since: now });
        None
    }

    /// A checked-out connection leaves for good (invalidate, detach, ping failure).
    fn remove_locked(self: &Arc<Self>, st: &mut State<T>, meta: &Meta, reason: CloseReason, now: Nanos, out: &mut Outbox<T>) {
        st.in_use -= 1;
        if self.config.leak_detection_threshold.is_some() {
            st.out.remove(&meta.id);
        }
        if reason == CloseReason::Invalidated {
            out.events.push(Event::Invalidate { id: meta.id });
        }
        self.note_close(meta.id, reason, out);
        self.dispatch(st, now, out);
    }

    fn closed_error(&self) -> Error {
        Error::new(ErrorKind::PoolClosed, format!("pool '{}' is closed", self.config.name))
    }

    pub(crate) fn status_locked(&self, st: &State<T>) -> PoolStatus {
        let m = &self.metrics;
        let open = st.idle.len() + st.in_use;
        PoolStatus {
            name: self.config.name.clone(),
            open,
            idle: st.idle.len(),
            in_use: st.in_use,
            pending: st.pending,
            waiting: st.live_waiters,
            max: st.max_total(),
            pool_size: st.pool_size,
            max_overflow: st.max_overflow,
            min_idle: self.config.min_idle,
            overflow: (open + st.pending) as i64 - st.pool_size as i64,
            generation: st.generation,
            is_paused: st.paused,
            is_closed: st.closed,
            acquired: m.acquired.get(),
            created: m.created.get(),
            create_failures: m.create_failures.get(),
            closed: m.closed_total(),
            timeouts: m.timeouts.get(),
            pings: m.pings.get(),
            ping_failures: m.ping_failures.get(),
            leaks_detected: m.leaks.get(),
            invalidated: m.closed[CloseReason::Invalidated.index()].get(),
        }
    }

    /// The diagnosis a caller gets when its wait ends without a connection.
    pub(crate) fn timeout_error(&self, st: &State<T>, waited: Duration) -> Error {
        let status = self.status_locked(st);
        let mut msg = format!(
            "pool '{}' timed out after {:.3}s waiting for a connection ({status})",
            self.config.name,
            waited.as_secs_f64()
        );
        if st.paused {
            msg.push_str("; the pool is paused");
        }
        let mut e = match (&st.last_connect_error, st.failures_in_row) {
            (Some(last), n) if n > 0 => {
                msg.push_str(&format!(
                    "; the last {n} connect attempt(s) failed, last error: {}",
                    redact(&last.full_message())
                ));
                Error::new(ErrorKind::PoolTimeout, msg).with_source(last.clone())
            }
            _ => Error::new(ErrorKind::PoolTimeout, msg),
        };
        e = e.with_status(status, waited);
        e
    }

    pub(crate) fn note_timeout(&self, waited: Duration) {
        self.metrics.timeouts.add(1);
        let e = Event::Timeout { waited };
        self.log_event(&e);
        self.events.emit(&e);
    }

    fn backoff(&self, failures: u32) -> Duration {
        let base = Duration::from_millis(50).saturating_mul(1u32 << failures.saturating_sub(1).min(10));
        let capped = base.min(Duration::from_secs(1));
        capped.mul_f64(0.8 + 0.4 * fastrand::f64())
    }
}

/// A pool of connections the caller creates and closes itself.
///
/// This is the core every front end uses: Python, Node and C keep their own
/// connection objects (`T` is a handle to one) and do all I/O on their own
/// threads; the Rust [`Pool`](crate::Pool) drives it with a
/// [`Manager`](crate::Manager). Cloning gives another handle to the same pool.
///
/// ```
/// use unipool::{Grant, PoolConfig, RawPool};
/// let pool: RawPool<String> = RawPool::new(PoolConfig::builder().pool_size(1).max_overflow(0).build()?)?;
/// let conn = match pool.try_acquire()?.expect("a free slot") {
///     Grant::Create(permit) => permit.fulfill("connection #1".to_string()),
///     Grant::Idle(_) => unreachable!("the pool starts empty"),
/// };
/// assert!(pool.try_acquire()?.is_none()); // the only slot is taken
/// assert!(conn.release().is_none());       // kept: it is within pool_size
/// assert_eq!(pool.status().idle, 1);
/// # Ok::<(), unipool::Error>(())
/// ```
pub struct RawPool<T: Send + 'static> {
    pub(crate) shared: Arc<Shared<T>>,
}

impl<T: Send + 'static> Clone for RawPool<T> {
    fn clone(&self) -> Self {
        RawPool { shared: self.shared.clone() }
    }
}

impl<T: Send + 'static> fmt::Debug for RawPool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawPool").field("status", &self.status()).finish()
    }
}

/// What [`RawPool::maintain`] asks the host to do.
#[must_use = "connections to close and permits to fulfil are the host's job"]
pub struct Maintenance<T: Send + 'static> {
    /// Connections that left the pool (idle timeout, lifetime, dispose, ...):
    /// the host closes each.
    pub to_close: Vec<(T, CloseReason)>,
    /// Permits for connections to open now to keep `min_idle`; fulfil each with
    /// [`CreatePermit::fulfill_idle`] or fail it.
    pub to_create: Vec<CreatePermit<T>>,
    /// Connections held longer than `leak_detection_threshold`, newly reported.
    pub leaks: Vec<(u64, Duration)>,
    /// When to run maintenance again.
    pub next_run: Duration,
}

impl<T: Send + 'static> fmt::Debug for Maintenance<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Maintenance")
            .field("to_close", &self.to_close.len())
            .field("to_create", &self.to_create.len())
            .field("leaks", &self.leaks)
            .field("next_run", &self.next_run)
            .finish()
    }
}

impl<T: Send + 'static> RawPool<T> {
    /// Creates a pool on the system clock. Validates (and normalises) `config`.
    pub fn new(config: PoolConfig) -> Result<Self> {
        Self::with_clock(config, Clock::system())
    }

    /// Creates a pool reading lifecycle time from `clock` (a manual clock in tests).
    pub fn with_clock(mut config: PoolConfig, clock: Clock) -> Result<Self> {
        config.normalize()?;
        let state = State {
            idle: VecDeque::with_capacity(config.pool_size.min(1024)),
            in_use: 0,
            pending: 0,
            waiters: VecDeque::new(),
            live_waiters: 0,
            deadlines: DeadlineHeap::new(),
            deadline_seq: 0,
            deadline_wake_at: None,
            deadline_thread: None,
            pool_size: config.pool_size,
            max_overflow: config.max_overflow,
            generation: 0,
            closed: false,
            paused: false,
            next_id: 0,
            retired: Vec::new(),
            last_connect_error: None,
            failures_in_row: 0,
            next_create_at: Nanos(0),
            out: HashMap::new(),
        };
        let echo = config.echo_pool;
        Ok(RawPool {
            shared: Arc::new(Shared {
                state: Mutex::new(state),
                config,
                clock,
                metrics: Metrics::default(),
                events: Default::default(),
                retired_count: AtomicUsize::new(0),
                echo,
            }),
        })
    }

    /// The configuration, with the current `pool_size` and `max_overflow`.
    pub fn config(&self) -> PoolConfig {
        let mut c = self.shared.config.clone();
        let st = self.shared.state.lock();
        c.pool_size = st.pool_size;
        c.max_overflow = st.max_overflow;
        c
    }

    /// The configuration the pool was created with (without later resizes):
    /// a cheap borrow for hot paths, unlike [`config`](Self::config).
    pub fn settings(&self) -> &PoolConfig {
        &self.shared.config
    }

    /// The pool's clock.
    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// The pool's name.
    pub fn name(&self) -> &str {
        &self.shared.config.name
    }

    /// An idle connection or a permit, if one is available right now and no
    /// one is queued ahead. Never waits.
    ///
    /// # Errors
    /// [`ErrorKind::PoolClosed`].
    pub fn try_acquire(&self) -> Result<Option<Grant<T>>> {
        let now = self.shared.clock.now();
        let mut out = Outbox::default();
        let mut st = self.shared.state.lock();
        let r = self.shared.take_now(&mut st, now, &mut out);
        drop(st);
        out.flush(&self.shared);
        r
    }

    /// A permit to create one more connection if there is a free slot and no
    /// one is waiting, even when idle connections exist (for warming a pool).
    ///
    /// # Errors
    /// [`ErrorKind::PoolClosed`].
    pub fn try_create_permit(&self) -> Result<Option<CreatePermit<T>>> {
        let now = self.shared.clock.now();
        let mut st = self.shared.state.lock();
        if st.closed {
            return Err(self.shared.closed_error());
        }
        if st.paused || st.live_waiters > 0 || !st.has_capacity() {
            return Ok(None);
        }
        st.pending += 1;
        Ok(Some(CreatePermit::new(self.shared.clone(), now, Duration::ZERO)))
    }

    /// Waits on this thread (parked, not spinning) up to `timeout` (default
    /// `pool_timeout`) for an idle connection or a permit. Waiters are served
    /// strictly first come, first served.
    ///
    /// # Errors
    /// [`ErrorKind::PoolTimeout`] with the pool's counts and the last connect
    /// error as its cause; [`ErrorKind::PoolClosed`].
    pub fn acquire_blocking(&self, timeout: Option<Duration>) -> Result<Grant<T>> {
        let timeout = timeout.unwrap_or(self.shared.config.pool_timeout);
        #[cfg(not(feature = "loom-model"))]
        let notify = || Notify::Thread(std::thread::current());
        #[cfg(feature = "loom-model")]
        let notify = || Notify::None;
        let w = match self.shared.begin_wait(timeout, notify, false) {
            Begin::Ready(r) => return r,
            Begin::Queued(w) => w,
        };
        let deadline = w.since + timeout;
        loop {
            if let Some(r) = w.try_take() {
                return r;
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                break;
            }
            #[cfg(not(feature = "loom-model"))]
            std::thread::park_timeout(deadline - now);
            #[cfg(feature = "loom-model")]
            loom::thread::yield_now();
        }
        match self.shared.cancel_waiter(&w, true) {
            Cancel::Answered(r) => r,
            Cancel::Withdrawn | Cancel::AlreadyTaken => {
                Err(Error::new(ErrorKind::Internal, "waiter in an impossible state after timeout"))
            }
        }
    }

    /// Waits asynchronously up to `timeout` (default `pool_timeout`). Works on
    /// any executor: deadlines are kept by the pool's own timer thread.
    ///
    /// # Cancel safety
    /// Dropping the future gives back anything it was handed; nothing leaks.
    pub fn acquire(&self, timeout: Option<Duration>) -> Acquire<T> {
        Acquire {
            shared: self.shared.clone(),
            timeout: timeout.unwrap_or(self.shared.config.pool_timeout),
            waiter: None,
            finished: false,
        }
    }

    /// Calls `cb` exactly once with the outcome, unless the returned handle is
    /// cancelled first: right away on this thread when something is available,
    /// otherwise on the thread that releases a connection or on the pool's
    /// timer thread at the deadline. Never called with a lock held.
    pub fn acquire_callback(
        &self,
        timeout: Option<Duration>,
        cb: impl FnOnce(Result<Grant<T>>) + Send + 'static,
    ) -> WaitHandle<T> {
        let timeout = timeout.unwrap_or(self.shared.config.pool_timeout);
        let mut cb = Some(Box::new(cb) as wait::Callback<T>);
        match self.shared.begin_wait(timeout, || Notify::Callback(cb.take()), true) {
            Begin::Ready(r) => {
                if let Some(cb) = cb.take() {
                    wait::run_callback(Box::new(move || cb(r)));
                }
                WaitHandle { shared: self.shared.clone(), waiter: None }
            }
            Begin::Queued(w) => WaitHandle { shared: self.shared.clone(), waiter: Some(w) },
        }
    }

    /// A consistent snapshot of gauges and counters.
    pub fn status(&self) -> PoolStatus {
        let st = self.shared.state.lock();
        self.shared.status_locked(&st)
    }

    /// Prometheus / OpenMetrics text with the OpenTelemetry connection-pool names.
    pub fn metrics_text(&self) -> String {
        let status = self.status();
        crate::metrics::render(&status, &self.shared.metrics)
    }

    /// Histograms of wait, use and create time.
    pub fn histograms(&self) -> crate::metrics::Histograms {
        crate::metrics::Histograms {
            wait_time: self.shared.metrics.wait_time_snapshot(),
            use_time: self.shared.metrics.use_time.snapshot(),
            create_time: self.shared.metrics.create_time.snapshot(),
        }
    }

    /// Counters of closed connections by reason.
    pub fn closed_by_reason(&self) -> Vec<(CloseReason, u64)> {
        CloseReason::ALL.iter().map(|r| (*r, self.shared.metrics.closed[r.index()].get())).collect()
    }

    /// Calls `listener` for every event, outside the pool's lock.
    pub fn subscribe(&self, listener: impl Fn(&Event) + Send + Sync + 'static) -> ListenerId {
        self.shared.events.subscribe(Arc::new(listener))
    }

    /// Removes a listener; returns whether it was subscribed.
    pub fn unsubscribe(&self, id: ListenerId) -> bool {
        self.shared.events.unsubscribe(id)
    }

    /// Connections that left the pool without a caller to close them (found
    /// expired on acquire, dropped checkouts that had to go): the host closes them.
    pub fn take_retired(&self) -> Vec<(T, CloseReason)> {
        if self.shared.retired_count.load(Ordering::Relaxed) == 0 {
            return Vec::new();
        }
        let mut st = self.shared.state.lock();
        self.shared.retired_count.store(0, Ordering::Relaxed);
        std::mem::take(&mut st.retired)
    }

    /// Starts a new generation: idle connections are returned for closing, and
    /// connections checked out now are closed when they come back
    /// (SQLAlchemy's `dispose()` / `recreate()`).
    pub fn dispose(&self) -> Vec<T> {
        let mut out = Outbox::default();
        let mut st = self.shared.state.lock();
        st.generation += 1;
        let idle: Vec<Idle<T>> = st.idle.drain(..).collect();
        for i in &idle {
            self.shared.note_close(i.meta.id, CloseReason::Disposed, &mut out);
        }
        let now = self.shared.clock.now();
        self.shared.dispatch(&mut st, now, &mut out);
        drop(st);
        out.flush(&self.shared);
        idle.into_iter().map(|i| i.obj).collect()
    }

    /// Changes `pool_size` and `max_overflow` at runtime. Idle connections
    /// beyond the new limits are returned for closing; checked-out ones beyond
    /// them are closed when returned; waiters get any new capacity at once.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`] naming the value and the allowed range.
    pub fn resize(&self, pool_size: usize, max_overflow: i64) -> Result<Vec<T>> {
        let mut check = self.shared.config.clone();
        check.max_size = None;
        check.set("pool_size", pool_size)?;
        check.set("max_overflow", max_overflow)?;
        check.validate()?;
        let now = self.shared.clock.now();
        let mut out = Outbox::default();
        let mut st = self.shared.state.lock();
        st.pool_size = pool_size;
        st.max_overflow = max_overflow;
        let mut surplus = Vec::new();
        loop {
            let over_keep = st.idle.len() > st.keep_limit();
            let over_max = st.max_total().is_some_and(|m| st.slots() > m);
            if !(over_keep || over_max) {
                break;
            }
            let Some(i) = st.idle.pop_front() else { break };
            self.shared.note_close(i.meta.id, CloseReason::Resized, &mut out);
            surplus.push(i.obj);
        }
        self.shared.dispatch(&mut st, now, &mut out);
        drop(st);
        out.flush(&self.shared);
        Ok(surplus)
    }

    /// Stops handing out connections: callers wait (up to their deadline)
    /// until [`resume`](Self::resume). Returns in-flight connections as usual.
    pub fn pause(&self) {
        self.shared.state.lock().paused = true;
    }

    /// Ends a [`pause`](Self::pause) and serves the waiters in order.
    pub fn resume(&self) {
        let now = self.shared.clock.now();
        let mut out = Outbox::default();
        let mut st = self.shared.state.lock();
        st.paused = false;
        self.shared.dispatch(&mut st, now, &mut out);
        drop(st);
        out.flush(&self.shared);
    }

    /// Closes the pool: every waiter is woken with [`ErrorKind::PoolClosed`],
    /// idle connections are returned for closing, connections still checked
    /// out are handed back for closing when released. Idempotent.
    pub fn close(&self) -> Vec<T> {
        let mut out = Outbox::default();
        let mut st = self.shared.state.lock();
        st.closed = true;
        while let Some(w) = self.shared.pop_live_waiter(&mut st) {
            w.complete(Err(self.shared.closed_error()));
            out.wake(w);
        }
        st.waiters.clear();
        st.deadlines.clear();
        let idle: Vec<Idle<T>> = st.idle.drain(..).collect();
        for i in &idle {
            self.shared.note_close(i.meta.id, CloseReason::PoolClosed, &mut out);
        }
        let mut objs: Vec<T> = idle.into_iter().map(|i| i.obj).collect();
        objs.extend(st.retired.drain(..).map(|(o, _)| o));
        self.shared.retired_count.store(0, Ordering::Relaxed);
        drop(st);
        out.flush(&self.shared);
        objs
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.shared.state.lock().closed
    }

    /// Background upkeep, to be called every [`Maintenance::next_run`] by the
    /// host: reaps idle connections past `idle_timeout` (keeping `min_idle`)
    /// or past their lifetime, reports leaks, and hands out permits to refill
    /// `min_idle` (one at a time, with exponential backoff plus jitter, while
    /// connecting fails).
    pub fn maintain(&self) -> Maintenance<T> {
        let sh = &self.shared;
        let cfg = &sh.config;
        let now = sh.clock.now();
        let mut out = Outbox::default();
        let mut st = sh.state.lock();
        let mut to_close = std::mem::take(&mut st.retired);
        sh.retired_count.store(0, Ordering::Relaxed);
        let mut to_create = Vec::new();
        let mut leaks = Vec::new();
        if !st.closed {
            // Reap: oldest idle first; keep min_idle for the idle timeout rule.
            let mut kept = VecDeque::with_capacity(st.idle.len());
            let mut open = st.idle.len() + st.in_use;
            let idle: Vec<Idle<T>> = st.idle.drain(..).collect();
            for i in idle {
                let reason = sh.expired(&st, &i.meta, now).or_else(|| {
                    cfg.idle_timeout
                        .filter(|t| now.since(i.idle_since) >= *t && open > cfg.min_idle)
                        .map(|_| CloseReason::IdleTimeout)
                });
                match reason {
                    Some(r) => {
                        open -= 1;
                        sh.note_close(i.meta.id, r, &mut out);
                        to_close.push((i.obj, r));
                    }
                    None => kept.push_back(i),
                }
            }
            st.idle = kept;
            if let Some(threshold) = cfg.leak_detection_threshold {
                for (id, (since, reported)) in st.out.iter_mut() {
                    let held = now.since(*since);
                    if !*reported && held >= threshold {
                        *reported = true;
                        leaks.push((*id, held));
                    }
                }
                for (id, held) in &leaks {
                    sh.metrics.leaks.add_locked(1);
                    out.events.push(Event::Leak { id: *id, held: *held });
                }
            }
            // Refill min_idle (counting connections being created).
            if !st.paused {
                let have = st.idle.len() + st.pending;
                let mut want = cfg.min_idle.saturating_sub(have);
                if st.failures_in_row > 0 {
                    want = want.min(if now >= st.next_create_at { 1 } else { 0 });
                }
                while want > 0 && st.has_capacity() && st.live_waiters == 0 {
                    st.pending += 1;
                    to_create.push(CreatePermit::new(sh.clone(), now, Duration::ZERO));
                    want -= 1;
                }
            }
        }
        let mut next_run = cfg.maintenance_interval;
        if st.failures_in_row > 0 && st.idle.len() + st.pending < cfg.min_idle {
            next_run = next_run.min(Duration::from_nanos(st.next_create_at.0.saturating_sub(now.0).max(1_000_000)));
        }
        drop(st);
        out.flush(sh);
        Maintenance { to_close, to_create, leaks, next_run }
    }

    /// Waits until at least `min_idle` connections are open (made by whoever
    /// runs maintenance), for a fail-fast start.
    ///
    /// # Errors
    /// [`ErrorKind::ConnectFailed`] with the last connect error as cause, or
    /// [`ErrorKind::ConnectTimeout`] if nothing failed but nothing was made in time.
    pub fn wait_for_min_idle(&self, timeout: Duration) -> Result<()> {
        let deadline = std::time::Instant::now() + timeout;
        let want = self.shared.config.min_idle;
        loop {
            let (have, last, closed) = {
                let st = self.shared.state.lock();
                (st.idle.len() + st.in_use, st.last_connect_error.clone(), st.closed)
            };
            if have >= want {
                return Ok(());
            }
            if closed {
                return Err(self.shared.closed_error());
            }
            if std::time::Instant::now() >= deadline {
                let base = format!(
                    "pool '{}' could not open min_idle = {want} connections within {:.3}s (opened {have})",
                    self.shared.config.name,
                    timeout.as_secs_f64()
                );
                return Err(match last {
                    Some(e) => Error::new(ErrorKind::ConnectFailed, format!("{base}: {}", redact(&e.full_message())))
                        .with_source(e),
                    None => Error::new(ErrorKind::ConnectTimeout, format!("{base}: no connection attempt finished")),
                });
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// The timeout a front end returns when it kept retrying a failing
    /// connect until its deadline: the usual diagnosis with `last` as cause.
    pub(crate) fn retry_timeout(&self, waited: Duration, last: Error) -> Error {
        let status = self.status();
        Error::new(
            ErrorKind::PoolTimeout,
            format!(
                "pool '{}' timed out after {:.3}s waiting for a connection ({status}); last connect error: {}",
                self.name(),
                waited.as_secs_f64(),
                last.full_message()
            ),
        )
        .with_source(last)
        .with_status(status, waited)
    }

    /// The last connect error while connecting is failing, if it is.
    pub fn last_connect_error(&self) -> Option<Error> {
        let st = self.shared.state.lock();
        if st.failures_in_row > 0 {
            st.last_connect_error.clone()
        } else {
            None
        }
    }

    /// Asserts the slot invariants (used by tests and debug builds).
    #[doc(hidden)]
    pub fn check_invariants(&self) -> std::result::Result<(), String> {
        let st = self.shared.state.lock();
        let live = st.waiters.iter().filter(|w| w.is_waiting()).count();
        if live != st.live_waiters {
            return Err(format!("live waiter count {} but {} waiting in queue", st.live_waiters, live));
        }
        if let Some(m) = st.max_total() {
            // Only connections checked out before a shrinking resize may exceed the maximum.
            if st.slots() > m.max(st.in_use) {
                return Err(format!("slots {} (idle {}, in use {}, pending {}) exceed max {m}", st.slots(), st.idle.len(), st.in_use, st.pending));
            }
        }
        if st.pool_size > 0 && st.idle.len() > st.pool_size {
            return Err(format!("{} idle connections kept with pool_size {}", st.idle.len(), st.pool_size));
        }
        if !st.closed && !st.paused && st.live_waiters > 0 && (!st.idle.is_empty() || st.has_capacity()) {
            return Err(format!(
                "{} waiting while {} idle / capacity {}",
                st.live_waiters,
                st.idle.len(),
                st.has_capacity()
            ));
        }
        if st.closed && st.live_waiters > 0 {
            return Err("waiters left after close".into());
        }
        Ok(())
    }
}
