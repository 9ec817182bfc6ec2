//! [`Pool<M>`]: the async Rust front end, driving a [`Manager`] on tokio.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crate::config::{PoolConfig, ResetOnReturn};
use crate::error::{redact, Error, ErrorKind, Result};
use crate::events::{Event, ListenerId};
use crate::manager::Manager;
use crate::pool::{Checkout, CloseReason, Grant, PoolStatus, RawPool};

struct Inner<M: Manager> {
    raw: RawPool<M::Connection>,
    manager: M,
    maintenance: parking_lot::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl<M: Manager> Drop for Inner<M> {
    fn drop(&mut self) {
        if let Some(h) = self.maintenance.lock().take() {
            h.abort();
        }
        // Connections still idle are dropped (closed) with the pool.
        drop(self.raw.close());
    }
}

/// An async pool of `M::Connection`s.
///
/// Cloning is cheap and shares the pool. Background maintenance (keeping
/// `min_idle`, reaping idle and expired connections, reporting leaks) runs
/// as a tokio task while any clone is alive.
pub struct Pool<M: Manager> {
    inner: Arc<Inner<M>>,
}

impl<M: Manager> Clone for Pool<M> {
    fn clone(&self) -> Self {
        Pool { inner: self.inner.clone() }
    }
}

impl<M: Manager> fmt::Debug for Pool<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool").field("status", &self.status()).finish()
    }
}

fn connect_error<E: std::error::Error + Send + Sync + 'static>(pool: &str, e: E) -> Error {
    Error::new(ErrorKind::ConnectFailed, format!("pool '{pool}': connect failed: {}", redact(&e.to_string()))).with_source(e)
}

impl<M: Manager> Pool<M> {
    /// Creates the pool. Starts maintenance on the current tokio runtime, if
    /// there is one (without a runtime the pool works, but nothing refills
    /// `min_idle` or reaps idle connections in the background).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`] for an invalid configuration.
    pub fn new(manager: M, config: PoolConfig) -> Result<Self> {
        let raw = RawPool::new(config)?;
        Ok(Self::from_raw(manager, raw))
    }

    /// Builds on an existing [`RawPool`] (e.g. one with a manual clock).
    pub fn from_raw(manager: M, raw: RawPool<M::Connection>) -> Self {
        let pool = Pool { inner: Arc::new(Inner { raw, manager, maintenance: parking_lot::Mutex::new(None) }) };
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let weak = Arc::downgrade(&pool.inner);
            *pool.inner.maintenance.lock() = Some(handle.spawn(maintenance(weak)));
        }
        pool
    }

    /// Creates the pool and, when `initialization_fail_timeout` is set, opens
    /// `min_idle` connections (at least one) before returning, failing with
    /// the reason if that is not possible in time (HikariCP's
    /// initializationFailTimeout).
    pub async fn connect(manager: M, config: PoolConfig) -> Result<Self> {
        let wait = config.initialization_fail_timeout;
        let pool = Self::new(manager, config)?;
        if let Some(t) = wait {
            pool.fill(pool.inner.raw.settings().min_idle.max(1), t).await?;
        }
        Ok(pool)
    }

    async fn fill(&self, want: usize, within: Duration) -> Result<()> {
        let deadline = Instant::now() + within;
        let mut backoff = Duration::from_millis(10);
        loop {
            let st = self.status();
            if st.open >= want {
                return Ok(());
            }
            let last = match self.inner.raw.try_create_permit()? {
                Some(permit) => match self.create(permit.waited(), deadline).await {
                    Ok(conn) => {
                        if let Some(obj) = permit.fulfill_idle(conn) {
                            self.inner.manager.close(obj).await;
                        }
                        continue;
                    }
                    Err(e) => {
                        permit.fail(e.clone());
                        Some(e)
                    }
                },
                None => None,
            };
            if Instant::now() + backoff >= deadline {
                let base = format!(
                    "pool '{}' could not open {want} connection(s) within {:.3}s (initialization_fail_timeout)",
                    self.inner.raw.name(),
                    within.as_secs_f64()
                );
                return Err(match last.or_else(|| self.inner.raw.last_connect_error()) {
                    Some(e) => Error::new(ErrorKind::ConnectFailed, format!("{base}: {}", e.full_message())).with_source(e),
                    None => Error::new(ErrorKind::ConnectTimeout, base),
                });
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_millis(250));
        }
    }

    async fn create(&self, _waited: Duration, deadline: Instant) -> Result<M::Connection> {
        let cfg_timeout = self.inner.raw.settings().connect_timeout;
        let limit = cfg_timeout.min(deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1)));
        match tokio::time::timeout(limit, self.inner.manager.connect()).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => {
                let transient = self.inner.manager.is_transient(&e);
                let err = connect_error(self.inner.raw.name(), e);
                if transient {
                    Err(err)
                } else {
                    Err(Error::new(ErrorKind::ConnectFailed, format!("{} (not retried: permanent error)", err.message()))
                        .with_shared_source(err.shared_source().expect("set above")))
                }
            }
            Err(_) => Err(Error::new(
                ErrorKind::ConnectTimeout,
                format!("pool '{}': connect timed out after {:.3}s", self.inner.raw.name(), limit.as_secs_f64()),
            )),
        }
    }

    /// Gets a connection, waiting up to `pool_timeout`.
    ///
    /// Idle connections are pre-pinged when `pool_pre_ping` is on (unless used
    /// within `pre_ping_bypass`); a failed ping discards the connection and
    /// tries again, so the caller never sees it. When connecting fails with a
    /// transient error, `get` keeps trying (short backoff) until its deadline
    /// and then returns a timeout carrying the last connect error.
    ///
    /// # Errors
    /// [`ErrorKind::PoolTimeout`], [`ErrorKind::PoolClosed`], or
    /// [`ErrorKind::ConnectFailed`] for a permanent connect error.
    ///
    /// # Cancel safety
    /// Dropping the future at any await point leaks nothing: the wait is
    /// withdrawn, a permit returns its slot, a connection goes back.
    pub async fn get(&self) -> Result<PooledConnection<M>> {
        self.get_timeout(None).await
    }

    /// [`get`](Self::get) with its own timeout instead of `pool_timeout`.
    pub async fn get_timeout(&self, timeout: Option<Duration>) -> Result<PooledConnection<M>> {
        let cfg_timeout = timeout.unwrap_or(self.inner.raw.settings().pool_timeout);
        // The deadline is kept on the coarse clock: reading the precise one on
        // every get() would cost more than the rest of the fast path.
        let start = crate::clock::coarse_nanos();
        let deadline_ns = start.saturating_add(cfg_timeout.as_nanos().min(u64::MAX as u128) as u64);
        let time_left = || Duration::from_nanos(deadline_ns.saturating_sub(crate::clock::coarse_nanos()));
        let mut backoff = Duration::from_millis(5);
        let mut first = true;
        loop {
            let remaining = if std::mem::take(&mut first) { cfg_timeout } else { time_left() };
            let grant = self.inner.raw.acquire(Some(remaining)).await?;
            self.close_retired();
            match grant {
                Grant::Idle(mut c) => {
                    if self.inner.manager.has_broken(c.conn_mut()) {
                        let obj = c.invalidate();
                        self.spawn_close(obj);
                        continue;
                    }
                    if c.needs_ping() {
                        let limit = self.inner.raw.settings().connect_timeout;
                        // Rare paths (ping, connect, backoff) are boxed: inline, their
                        // timers would make every pending get() future ~500 bytes.
                        let ok = matches!(Box::pin(tokio::time::timeout(limit, self.inner.manager.ping(c.conn_mut()))).await, Ok(Ok(())));
                        if ok {
                            c.ping_ok();
                        } else {
                            let obj = c.ping_failed();
                            self.spawn_close(obj);
                            continue;
                        }
                    }
                    return Ok(PooledConnection { pool: self.clone(), conn: Some(c) });
                }
                Grant::Create(permit) => match Box::pin(self.create(permit.waited(), Instant::now() + time_left())).await {
                    Ok(conn) => return Ok(PooledConnection { pool: self.clone(), conn: Some(permit.fulfill(conn)) }),
                    Err(e) => {
                        let permanent = e.message().ends_with("(not retried: permanent error)");
                        permit.fail(e.clone());
                        if permanent {
                            return Err(e);
                        }
                        let left = time_left();
                        if left.is_zero() {
                            let waited = Duration::from_nanos(crate::clock::coarse_nanos().saturating_sub(start));
                            return Err(self.inner.raw.retry_timeout(waited, e));
                        }
                        Box::pin(tokio::time::sleep(backoff.min(left))).await;
                        backoff = (backoff * 2).min(Duration::from_millis(100));
                    }
                },
            }
        }
    }

    fn spawn_close(&self, obj: M::Connection) {
        match tokio::runtime::Handle::try_current() {
            Ok(h) => {
                let inner = self.inner.clone();
                h.spawn(async move { inner.manager.close(obj).await });
            }
            Err(_) => drop(obj),
        }
    }

    fn close_retired(&self) {
        for (obj, _) in self.inner.raw.take_retired() {
            self.spawn_close(obj);
        }
    }

    /// Gauges and counters.
    pub fn status(&self) -> PoolStatus {
        self.inner.raw.status()
    }

    /// Prometheus text (see [`RawPool::metrics_text`]).
    pub fn metrics_text(&self) -> String {
        self.inner.raw.metrics_text()
    }

    /// Subscribes to pool events.
    pub fn subscribe(&self, listener: impl Fn(&Event) + Send + Sync + 'static) -> ListenerId {
        self.inner.raw.subscribe(listener)
    }

    /// The underlying [`RawPool`].
    pub fn raw(&self) -> &RawPool<M::Connection> {
        &self.inner.raw
    }

    /// The manager.
    pub fn manager(&self) -> &M {
        &self.inner.manager
    }

    /// Closes idle connections and retires the ones checked out now when they return.
    pub async fn dispose(&self) {
        for obj in self.inner.raw.dispose() {
            self.inner.manager.close(obj).await;
        }
    }

    /// Changes `pool_size` / `max_overflow` at runtime.
    pub async fn resize(&self, pool_size: usize, max_overflow: i64) -> Result<()> {
        for obj in self.inner.raw.resize(pool_size, max_overflow)? {
            self.inner.manager.close(obj).await;
        }
        Ok(())
    }

    /// Stops handing out connections until [`resume`](Self::resume).
    pub fn pause(&self) {
        self.inner.raw.pause()
    }

    /// Resumes after [`pause`](Self::pause).
    pub fn resume(&self) {
        self.inner.raw.resume()
    }

    /// Closes the pool: waiters get [`ErrorKind::PoolClosed`], idle
    /// connections are closed now, checked-out ones when returned.
    pub async fn close(&self) {
        if let Some(h) = self.inner.maintenance.lock().take() {
            h.abort();
        }
        for obj in self.inner.raw.close() {
            self.inner.manager.close(obj).await;
        }
    }
}

async fn maintenance<M: Manager>(weak: Weak<Inner<M>>) {
    loop {
        let Some(inner) = weak.upgrade() else { return };
        if inner.raw.is_closed() {
            return;
        }
        let work = inner.raw.maintain();
        for (obj, _) in work.to_close {
            inner.manager.close(obj).await;
        }
        let limit = inner.raw.settings().connect_timeout;
        for permit in work.to_create {
            match tokio::time::timeout(limit, inner.manager.connect()).await {
                Ok(Ok(conn)) => {
                    if let Some(obj) = permit.fulfill_idle(conn) {
                        inner.manager.close(obj).await;
                    }
                }
                Ok(Err(e)) => permit.fail(connect_error(inner.raw.name(), e)),
                Err(_) => permit.fail(Error::new(
                    ErrorKind::ConnectTimeout,
                    format!("pool '{}': connect timed out after {:.3}s", inner.raw.name(), limit.as_secs_f64()),
                )),
            }
        }
        let next = work.next_run;
        drop(inner);
        tokio::time::sleep(next).await;
    }
}

/// A connection checked out of a [`Pool`]; derefs to `M::Connection` and goes
/// back to the pool when dropped (after a reset, when one is needed).
pub struct PooledConnection<M: Manager> {
    pool: Pool<M>,
    conn: Option<Checkout<M::Connection>>,
}

impl<M: Manager> fmt::Debug for PooledConnection<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PooledConnection").field("checkout", &self.conn).finish()
    }
}

impl<M: Manager> PooledConnection<M> {
    /// The connection is broken: close it instead of returning it.
    pub fn invalidate(mut self) {
        if let Some(c) = self.conn.take() {
            let obj = c.invalidate();
            self.pool.spawn_close(obj);
        }
    }

    /// Takes the connection out of the pool for good.
    pub fn detach(mut self) -> M::Connection {
        self.conn.take().expect("present").detach()
    }

    /// Connection id within the pool.
    pub fn id(&self) -> u64 {
        self.conn.as_ref().expect("present").id()
    }
}

impl<M: Manager> Deref for PooledConnection<M> {
    type Target = M::Connection;
    fn deref(&self) -> &M::Connection {
        self.conn.as_ref().expect("present").conn()
    }
}

impl<M: Manager> DerefMut for PooledConnection<M> {
    fn deref_mut(&mut self) -> &mut M::Connection {
        self.conn.as_mut().expect("present").conn_mut()
    }
}

/// A checkout waiting for its reset; dropped unfinished, it is invalidated.
struct Unreset<T: Send + 'static>(Option<Checkout<T>>);

impl<T: Send + 'static> Drop for Unreset<T> {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            drop(c.invalidate());
        }
    }
}

fn finish<M: Manager>(pool: &Pool<M>, c: Checkout<M::Connection>) {
    if let Some((obj, _reason)) = c.release() {
        pool.spawn_close(obj);
    }
}

impl<M: Manager> Drop for PooledConnection<M> {
    fn drop(&mut self) {
        let Some(mut c) = self.conn.take() else { return };
        let how = self.pool.inner.raw.settings().reset_on_return;
        if how != ResetOnReturn::None && self.pool.inner.manager.needs_reset(c.conn_mut(), how) {
            if let Ok(h) = tokio::runtime::Handle::try_current() {
                let pool = self.pool.clone();
                // If the task is dropped before the reset finishes (runtime
                // shutdown), the guard discards the connection: one in an
                // unknown state must never go back to the pool.
                let mut guard = Unreset(Some(c));
                h.spawn(async move {
                    let limit = pool.inner.raw.settings().connect_timeout;
                    let conn = guard.0.as_mut().expect("present until the reset ends").conn_mut();
                    match tokio::time::timeout(limit, pool.inner.manager.reset(conn, how)).await {
                        Ok(Ok(())) => finish(&pool, guard.0.take().expect("present")),
                        _ => {
                            let obj = guard.0.take().expect("present").invalidate();
                            pool.inner.manager.close(obj).await;
                        }
                    }
                });
                return;
            }
            // No runtime to run the reset on: a connection in an unknown state must not be reused.
            let obj = c.invalidate();
            drop(obj);
            return;
        }
        finish(&self.pool, c);
    }
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    struct M;
    impl Manager for M {
        type Connection = ();
        type Error = std::io::Error;
        async fn connect(&self) -> std::result::Result<(), std::io::Error> {
            Ok(())
        }
        async fn ping(&self, _: &mut ()) -> std::result::Result<(), std::io::Error> {
            Ok(())
        }
    }
    is::<Pool<M>>();
    is::<PooledConnection<M>>();
    let _ = CloseReason::Overflow;
}
