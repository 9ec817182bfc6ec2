//! [`BlockingPool<M>`]: the synchronous Rust front end (threads, no async
//! runtime), driving a [`SyncManager`] the way [`Pool`](crate::Pool) drives a
//! [`Manager`](crate::Manager). Same core, same rules, same metrics.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crate::config::{PoolConfig, ResetOnReturn};
use crate::error::{redact, Error, ErrorKind, Result};
use crate::events::{Event, ListenerId};
use crate::pool::{Checkout, Grant, PoolStatus, RawPool};

/// Creates, checks, resets and closes connections for a [`BlockingPool`]
/// (r2d2's `ManageConnection`, with unipool's hooks). Only `connect` and
/// `ping` are required. Calls run on the caller's thread (or the pool's
/// maintenance thread), never under a pool lock. A blocking `connect` cannot
/// be interrupted: it should honour `connect_timeout` itself (the value is in
/// [`BlockingPool::settings`]).
pub trait SyncManager: Send + Sync + 'static {
    /// The connection type.
    type Connection: Send + 'static;
    /// The driver's error type.
    type Error: std::error::Error + Send + Sync + 'static;
    /// Opens a connection.
    fn connect(&self) -> std::result::Result<Self::Connection, Self::Error>;
    /// Checks a connection (pre-ping).
    fn ping(&self, conn: &mut Self::Connection) -> std::result::Result<(), Self::Error>;
    /// Whether [`reset`](Self::reset) has work to do. Default `false`.
    fn needs_reset(&self, _conn: &mut Self::Connection, _how: ResetOnReturn) -> bool {
        false
    }
    /// Cleans a returned connection; an error discards it.
    fn reset(&self, _conn: &mut Self::Connection, _how: ResetOnReturn) -> std::result::Result<(), Self::Error> {
        Ok(())
    }
    /// Closes a connection. Default: drop it.
    fn close(&self, conn: Self::Connection) {
        drop(conn)
    }
    /// Known-broken check on checkout. Default `false`.
    fn has_broken(&self, _conn: &mut Self::Connection) -> bool {
        false
    }
    /// Whether a connect error may pass by retrying. Default `true`.
    fn is_transient(&self, _err: &Self::Error) -> bool {
        true
    }
}

struct Inner<M: SyncManager> {
    raw: RawPool<M::Connection>,
    manager: M,
    stop: AtomicBool,
    maintenance: parking_lot::Mutex<Option<std::thread::Thread>>,
}

impl<M: SyncManager> Drop for Inner<M> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.maintenance.lock().take() {
            t.unpark();
        }
        for obj in self.raw.close() {
            self.manager.close(obj);
        }
    }
}

/// A pool for synchronous code. Cloning shares the pool; a maintenance
/// thread keeps `min_idle`, reaps idle and expired connections and reports
/// leaks while any clone lives.
pub struct BlockingPool<M: SyncManager> {
    inner: Arc<Inner<M>>,
}

impl<M: SyncManager> Clone for BlockingPool<M> {
    fn clone(&self) -> Self {
        BlockingPool { inner: self.inner.clone() }
    }
}

impl<M: SyncManager> fmt::Debug for BlockingPool<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingPool").field("status", &self.status()).finish()
    }
}

fn connect_error<E: std::error::Error + Send + Sync + 'static>(pool: &str, e: E, permanent: bool) -> Error {
    let suffix = if permanent { " (not retried: permanent error)" } else { "" };
    Error::new(ErrorKind::ConnectFailed, format!("pool '{pool}': connect failed: {}{suffix}", redact(&e.to_string()))).with_source(e)
}

impl<M: SyncManager> BlockingPool<M> {
    /// Creates the pool and starts its maintenance thread.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`]; with `initialization_fail_timeout`, the
    /// reason `min_idle` connections could not be opened in time.
    pub fn new(manager: M, config: PoolConfig) -> Result<Self> {
        let wait = config.initialization_fail_timeout;
        let raw = RawPool::new(config)?;
        let pool = BlockingPool {
            inner: Arc::new(Inner { raw, manager, stop: AtomicBool::new(false), maintenance: parking_lot::Mutex::new(None) }),
        };
        let weak = Arc::downgrade(&pool.inner);
        let name = format!("unipool-maint-{}", pool.inner.raw.name());
        let handle = std::thread::Builder::new()
            .name(name)
            .spawn(move || maintenance(weak))
            .map_err(|e| Error::new(ErrorKind::Internal, format!("cannot start the maintenance thread: {e}")))?;
        *pool.inner.maintenance.lock() = Some(handle.thread().clone());
        if let Some(t) = wait {
            let want = pool.inner.raw.settings().min_idle.max(1);
            let deadline = Instant::now() + t;
            while pool.status().open < want {
                if Instant::now() >= deadline {
                    let base = format!(
                        "pool '{}' could not open {want} connection(s) within {:.3}s (initialization_fail_timeout)",
                        pool.inner.raw.name(),
                        t.as_secs_f64()
                    );
                    return Err(match pool.inner.raw.last_connect_error() {
                        Some(e) => Error::new(ErrorKind::ConnectFailed, format!("{base}: {}", e.full_message())).with_source(e),
                        None => Error::new(ErrorKind::ConnectTimeout, base),
                    });
                }
                match pool.inner.raw.try_create_permit()? {
                    Some(p) => match pool.inner.manager.connect() {
                        Ok(c) => {
                            if let Some(obj) = p.fulfill_idle(c) {
                                pool.inner.manager.close(obj);
                            }
                        }
                        Err(e) => {
                            p.fail(connect_error(pool.inner.raw.name(), e, false));
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    },
                    None => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        }
        Ok(pool)
    }

    /// Gets a connection, waiting up to `pool_timeout` (parked, FIFO).
    /// Pre-pings like [`Pool::get`](crate::Pool::get); retries transient
    /// connect errors until the deadline; a permanent one returns at once.
    pub fn get(&self) -> Result<BlockingConnection<M>> {
        self.get_timeout(None)
    }

    /// [`get`](Self::get) with its own timeout.
    pub fn get_timeout(&self, timeout: Option<Duration>) -> Result<BlockingConnection<M>> {
        let total = timeout.unwrap_or(self.inner.raw.settings().pool_timeout);
        let start = crate::clock::coarse_nanos();
        let left = || total.saturating_sub(Duration::from_nanos(crate::clock::coarse_nanos().saturating_sub(start)));
        let mut first = true;
        let mut backoff = Duration::from_millis(5);
        loop {
            let remaining = if std::mem::take(&mut first) { total } else { left() };
            let grant = self.inner.raw.acquire_blocking(Some(remaining))?;
            for (obj, _) in self.inner.raw.take_retired() {
                self.inner.manager.close(obj);
            }
            match grant {
                Grant::Idle(mut c) => {
                    if self.inner.manager.has_broken(c.conn_mut()) {
                        self.inner.manager.close(c.invalidate());
                        continue;
                    }
                    if c.needs_ping() {
                        if self.inner.manager.ping(c.conn_mut()).is_ok() {
                            c.ping_ok();
                        } else {
                            self.inner.manager.close(c.ping_failed());
                            continue;
                        }
                    }
                    return Ok(BlockingConnection { pool: self.clone(), conn: Some(c) });
                }
                Grant::Create(permit) => match self.inner.manager.connect() {
                    Ok(conn) => return Ok(BlockingConnection { pool: self.clone(), conn: Some(permit.fulfill(conn)) }),
                    Err(e) => {
                        let permanent = !self.inner.manager.is_transient(&e);
                        let err = connect_error(self.inner.raw.name(), e, permanent);
                        permit.fail(err.clone());
                        if permanent {
                            return Err(err);
                        }
                        let rest = left();
                        if rest.is_zero() {
                            return Err(self.inner.raw.retry_timeout(total, err));
                        }
                        std::thread::sleep(backoff.min(rest));
                        backoff = (backoff * 2).min(Duration::from_millis(100));
                    }
                },
            }
        }
    }

    /// Gauges and counters.
    pub fn status(&self) -> PoolStatus {
        self.inner.raw.status()
    }

    /// Prometheus text.
    pub fn metrics_text(&self) -> String {
        self.inner.raw.metrics_text()
    }

    /// Subscribes to events.
    pub fn subscribe(&self, listener: impl Fn(&Event) + Send + Sync + 'static) -> ListenerId {
        self.inner.raw.subscribe(listener)
    }

    /// The configuration the pool was created with.
    pub fn settings(&self) -> &PoolConfig {
        self.inner.raw.settings()
    }

    /// The underlying [`RawPool`].
    pub fn raw(&self) -> &RawPool<M::Connection> {
        &self.inner.raw
    }

    /// New generation: idle connections closed now, checked-out ones on return.
    pub fn dispose(&self) {
        for obj in self.inner.raw.dispose() {
            self.inner.manager.close(obj);
        }
    }

    /// Changes `pool_size` / `max_overflow`.
    pub fn resize(&self, pool_size: usize, max_overflow: i64) -> Result<()> {
        for obj in self.inner.raw.resize(pool_size, max_overflow)? {
            self.inner.manager.close(obj);
        }
        Ok(())
    }

    /// Closes the pool (waiters get `PoolClosed`; idle connections are closed now).
    pub fn close(&self) {
        for obj in self.inner.raw.close() {
            self.inner.manager.close(obj);
        }
    }
}

fn maintenance<M: SyncManager>(weak: Weak<Inner<M>>) {
    loop {
        let Some(inner) = weak.upgrade() else { return };
        if inner.stop.load(Ordering::Acquire) || inner.raw.is_closed() {
            return;
        }
        let work = inner.raw.maintain();
        for (obj, _) in work.to_close {
            inner.manager.close(obj);
        }
        for permit in work.to_create {
            match inner.manager.connect() {
                Ok(c) => {
                    if let Some(obj) = permit.fulfill_idle(c) {
                        inner.manager.close(obj);
                    }
                }
                Err(e) => permit.fail(connect_error(inner.raw.name(), e, false)),
            }
        }
        let next = work.next_run;
        drop(inner);
        std::thread::park_timeout(next);
    }
}

/// A connection checked out of a [`BlockingPool`]; derefs to the connection
/// and goes back when dropped (reset first when the manager says so).
pub struct BlockingConnection<M: SyncManager> {
    pool: BlockingPool<M>,
    conn: Option<Checkout<M::Connection>>,
}

impl<M: SyncManager> fmt::Debug for BlockingConnection<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingConnection").field("checkout", &self.conn).finish()
    }
}

impl<M: SyncManager> BlockingConnection<M> {
    /// The connection is broken: close it instead of returning it.
    pub fn invalidate(mut self) {
        if let Some(c) = self.conn.take() {
            self.pool.inner.manager.close(c.invalidate());
        }
    }

    /// Takes the connection out of the pool for good.
    pub fn detach(mut self) -> M::Connection {
        self.conn.take().expect("present").detach()
    }
}

impl<M: SyncManager> Deref for BlockingConnection<M> {
    type Target = M::Connection;
    fn deref(&self) -> &M::Connection {
        self.conn.as_ref().expect("present").conn()
    }
}

impl<M: SyncManager> DerefMut for BlockingConnection<M> {
    fn deref_mut(&mut self) -> &mut M::Connection {
        self.conn.as_mut().expect("present").conn_mut()
    }
}

impl<M: SyncManager> Drop for BlockingConnection<M> {
    fn drop(&mut self) {
        let Some(mut c) = self.conn.take() else { return };
        let inner = &self.pool.inner;
        let how = inner.raw.settings().reset_on_return;
        if how != ResetOnReturn::None && inner.manager.needs_reset(c.conn_mut(), how) && inner.manager.reset(c.conn_mut(), how).is_err() {
            inner.manager.close(c.invalidate());
            return;
        }
        if let Some((obj, _)) = c.release() {
            inner.manager.close(obj);
        }
    }
}
