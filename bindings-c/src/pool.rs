//! The pool: `unipool::RawPool<ConnPtr>` plus the C callbacks that create, ping, reset and
//! close the pooled `void *` objects. The callbacks always run on the calling thread (or the
//! pool's maintenance thread) and never while the core holds a lock.

use std::ffi::{c_char, c_int, c_void, CString};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use unipool::{Checkout, ErrorKind, Grant, PoolConfig, RawPool, ResetOnReturn};

use crate::config::unipool_config;
use crate::error::{copy_out, guard, guard_void, kind_of, owned_c_string, unipool_code, FfiError, FfiResult};

/// Creates a connection. Store it in `*conn_out` (must not be NULL) and return UNIPOOL_OK; or
/// write a NUL-terminated message (at most `err_len` bytes including the NUL) into `err` and return
/// UNIPOOL_E_CONNECT_FAILED or UNIPOOL_E_CONNECT_TIMEOUT (any other non-zero value counts as
/// CONNECT_FAILED). The message becomes the pool's "last connect error": never put a password in it.
pub type unipool_create_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, conn_out: *mut *mut c_void, err: *mut c_char, err_len: usize) -> c_int>;

/// Checks a connection before it is handed out (only with pool_pre_ping). Return UNIPOOL_OK if
/// usable; anything else (plus a message in `err`) makes the pool close it and try another.
pub type unipool_ping_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, conn: *mut c_void, err: *mut c_char, err_len: usize) -> c_int>;

/// Resets a returned connection before reuse (e.g. ROLLBACK). `mode` is UNIPOOL_RESET_ROLLBACK or
/// UNIPOOL_RESET_COMMIT (never called with reset_on_return = none). Non-zero: the connection is
/// closed instead of reused.
pub type unipool_reset_fn = Option<
    unsafe extern "C" fn(user_data: *mut c_void, conn: *mut c_void, mode: c_int, err: *mut c_char, err_len: usize) -> c_int,
>;

/// Closes a connection for good; the pool forgets it. The return value and `err` are only
/// reported to event listeners (UNIPOOL_EVENT_CLOSE_FAILED); the connection is gone either way.
pub type unipool_close_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, conn: *mut c_void, err: *mut c_char, err_len: usize) -> c_int>;

/// The callbacks that manage the pooled objects. `create` and `close` are required; `ping` and
/// `reset` may be NULL (no pre-ping / no reset). They may be called from any thread that calls
/// into the pool and from the pool's maintenance thread, concurrently: they must be thread-safe.
/// `user_data` is passed to each of them untouched; the library never frees it. It must stay valid
/// until unipool_pool_free has returned AND every connection handle has been released.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct unipool_callbacks {
    pub create: unipool_create_fn,
    pub ping: unipool_ping_fn,
    pub reset: unipool_reset_fn,
    pub close: unipool_close_fn,
    pub user_data: *mut c_void,
}

/// A pooled connection: the C program's `void *`, made Send so the core may hold it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConnPtr(pub *mut c_void);
// SAFETY: the pointer is an opaque handle the core only stores and hands back; the C
// program promises (header docs) that its objects may be used from any thread.
unsafe impl Send for ConnPtr {}

#[derive(Clone, Copy)]
struct UserData(*mut c_void);
// SAFETY: passed through to thread-safe C callbacks only (documented requirement).
unsafe impl Send for UserData {}
unsafe impl Sync for UserData {}

const ERR_LEN: usize = 512;

enum Settle {
    /// The pre-ping failed and the connection was closed: acquire again.
    Retry,
    Failed(FfiError),
}

pub(crate) struct Shared {
    pub(crate) raw: RawPool<ConnPtr>,
    create: unsafe extern "C" fn(*mut c_void, *mut *mut c_void, *mut c_char, usize) -> c_int,
    ping: unipool_ping_fn,
    reset: unipool_reset_fn,
    close: unsafe extern "C" fn(*mut c_void, *mut c_void, *mut c_char, usize) -> c_int,
    user_data: UserData,
    reset_mode: Option<c_int>,
    pool_timeout: Duration,
    pub(crate) name: CString,
    stop: Mutex<bool>,
    wake: Condvar,
    pub(crate) events: crate::events::Registry,
}

fn err_text(buf: &[u8; ERR_LEN]) -> String {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(ERR_LEN);
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

impl Shared {
    fn call_create(&self) -> Result<ConnPtr, unipool::Error> {
        let mut buf = [0u8; ERR_LEN];
        let mut conn: *mut c_void = std::ptr::null_mut();
        // SAFETY: valid out-pointers; the callback contract is documented in the header.
        let rc = unsafe { (self.create)(self.user_data.0, &mut conn, buf.as_mut_ptr() as *mut c_char, ERR_LEN - 1) };
        if rc == 0 && !conn.is_null() {
            return Ok(ConnPtr(conn));
        }
        if rc == 0 {
            return Err(unipool::Error::new(
                ErrorKind::ConnectFailed,
                "create callback returned UNIPOOL_OK but left *conn_out NULL; it must store a non-NULL connection",
            ));
        }
        let kind = match kind_of(rc, ErrorKind::ConnectFailed) {
            ErrorKind::ConnectTimeout => ErrorKind::ConnectTimeout,
            _ => ErrorKind::ConnectFailed,
        };
        let msg = err_text(&buf);
        let msg = if msg.is_empty() { format!("create callback failed with code {rc}") } else { msg };
        Err(unipool::Error::new(kind, msg))
    }

    fn call_ping(&self, conn: ConnPtr) -> Result<(), String> {
        let Some(ping) = self.ping else { return Ok(()) };
        let mut buf = [0u8; ERR_LEN];
        let rc = unsafe { ping(self.user_data.0, conn.0, buf.as_mut_ptr() as *mut c_char, ERR_LEN - 1) };
        if rc == 0 {
            Ok(())
        } else {
            let msg = err_text(&buf);
            Err(if msg.is_empty() { format!("ping callback failed with code {rc}") } else { msg })
        }
    }

    fn call_reset(&self, conn: ConnPtr) -> Result<(), String> {
        let (Some(reset), Some(mode)) = (self.reset, self.reset_mode) else { return Ok(()) };
        let mut buf = [0u8; ERR_LEN];
        let rc = unsafe { reset(self.user_data.0, conn.0, mode, buf.as_mut_ptr() as *mut c_char, ERR_LEN - 1) };
        if rc == 0 {
            Ok(())
        } else {
            let msg = err_text(&buf);
            Err(if msg.is_empty() { format!("reset callback failed with code {rc}") } else { msg })
        }
    }

    pub(crate) fn call_close(&self, conn: ConnPtr) {
        let mut buf = [0u8; ERR_LEN];
        let rc = unsafe { (self.close)(self.user_data.0, conn.0, buf.as_mut_ptr() as *mut c_char, ERR_LEN - 1) };
        if rc != 0 {
            let msg = err_text(&buf);
            crate::events::emit_close_failed(self, rc, &msg);
        }
    }

    fn close_all(&self, conns: Vec<ConnPtr>) {
        for c in conns {
            self.call_close(c);
        }
    }

    /// Acquire loop: runs the create / ping callbacks for what the core grants.
    fn acquire(&self, timeout: Option<Duration>, wait: bool) -> FfiResult<Checkout<ConnPtr>> {
        if wait {
            // Fast path without reading the clock: something is free right now and nobody
            // queues ahead (try_acquire keeps the FIFO fairness of waiters).
            if let Some(g) = self.raw.try_acquire()? {
                match self.settle(g) {
                    Ok(co) => return Ok(co),
                    Err(Settle::Retry) => {}
                    Err(Settle::Failed(e)) => return Err(e),
                }
            }
        }
        let timeout = timeout.unwrap_or(self.pool_timeout);
        let deadline = Instant::now().checked_add(timeout);
        loop {
            let grant = if wait {
                let left = deadline.map(|d| d.saturating_duration_since(Instant::now())).unwrap_or(timeout);
                self.raw.acquire_blocking(Some(left))?
            } else {
                match self.raw.try_acquire()? {
                    Some(g) => g,
                    None => {
                        let st = self.raw.status();
                        return Err(FfiError::new(
                            unipool_code::UNIPOOL_E_POOL_TIMEOUT,
                            format!(
                                "pool '{}': no connection available without waiting (try-acquire): \
                                 open={}, in_use={}, idle={}, waiting={}, max={}",
                                st.name,
                                st.open,
                                st.in_use,
                                st.idle,
                                st.waiting,
                                st.max.map(|m| m.to_string()).unwrap_or_else(|| "unbounded".into())
                            ),
                        ));
                    }
                }
            };
            match self.settle(grant) {
                Ok(co) => return Ok(co),
                Err(Settle::Retry) => continue,
                Err(Settle::Failed(e)) => return Err(e),
            }
        }
    }

    /// Turns what the core granted into a usable checkout: pings an idle connection when
    /// pre-ping asks for it (a failed ping closes it: `Retry`), runs create for a permit.
    fn settle(&self, grant: Grant<ConnPtr>) -> Result<Checkout<ConnPtr>, Settle> {
        match grant {
            Grant::Idle(mut co) => {
                if self.ping.is_some() && co.needs_ping() {
                    match self.call_ping(*co.conn()) {
                        Ok(()) => co.ping_ok(),
                        Err(_msg) => {
                            let conn = co.ping_failed();
                            self.call_close(conn);
                            return Err(Settle::Retry);
                        }
                    }
                }
                Ok(co)
            }
            Grant::Create(permit) => match self.call_create() {
                Ok(conn) => Ok(permit.fulfill(conn)),
                Err(e) => {
                    let out = FfiError {
                        code: crate::error::code_of(e.kind()),
                        message: format!("pool '{}': create callback failed: {}", self.raw.name(), e.message()),
                        config_key: None,
                    };
                    permit.fail(e);
                    Err(Settle::Failed(out))
                }
            },
        }
    }

    /// One maintenance pass on the calling thread: closes what the core hands back
    /// (idle timeout, lifetime, connections parked by the core) and fills min_idle.
    pub(crate) fn maintain_once(&self) -> unipool_maintenance {
        let m = self.raw.maintain();
        let mut report = unipool_maintenance {
            closed: m.to_close.len(),
            closed_by_reason: [0; 16],
            created: 0,
            create_failures: 0,
            leaks: m.leaks.len(),
            next_run_ms: m.next_run.as_millis().min(i64::MAX as u128) as i64,
        };
        for (conn, reason) in m.to_close {
            let i = crate::events::close_reason(&reason) as usize;
            if i < report.closed_by_reason.len() {
                report.closed_by_reason[i] += 1;
            }
            self.call_close(conn);
        }
        for permit in m.to_create {
            match self.call_create() {
                Ok(conn) => {
                    report.created += 1;
                    if let Some(unwanted) = permit.fulfill_idle(conn) {
                        self.call_close(unwanted);
                    }
                }
                Err(e) => {
                    report.create_failures += 1;
                    permit.fail(e)
                }
            }
        }
        report
    }
}

struct Maintenance {
    handle: JoinHandle<()>,
    thread: ThreadId,
}

/// A pool (opaque). Made by unipool_pool_new, freed by unipool_pool_free. All functions taking a
/// pool may be called from any number of threads at once, except unipool_pool_free, which must be
/// the last call on it.
pub struct unipool_pool {
    pub(crate) shared: Arc<Shared>,
    maintenance: Option<Maintenance>,
}

/// A checked-out connection (opaque handle). Made by unipool_pool_acquire / try_acquire; ended by
/// exactly one of unipool_conn_release, unipool_conn_invalidate or unipool_conn_detach, after which
/// the handle is gone. A handle may outlive its pool's unipool_pool_free; releasing it then closes
/// the connection. One handle must not be used from two threads at the same time.
pub struct unipool_conn {
    co: Checkout<ConnPtr>,
    shared: Arc<Shared>,
}

// One spare handle allocation per thread: acquire+release through the C ABI then costs no
// malloc/free in the steady state. A handle may be released on another thread than the one that
// acquired it; the allocation just moves to that thread's spare slot.
thread_local! {
    static SPARE: std::cell::Cell<Option<Box<std::mem::MaybeUninit<unipool_conn>>>> =
        const { std::cell::Cell::new(None) };
}

fn new_handle(conn: unipool_conn) -> *mut unipool_conn {
    let spare = SPARE.try_with(|s| s.take()).ok().flatten();
    let mut b = spare.unwrap_or_else(Box::new_uninit);
    b.write(conn);
    // SAFETY: just initialised.
    Box::into_raw(unsafe { b.assume_init() })
}

/// Takes the handle's contents out and keeps (or frees) its allocation.
unsafe fn take_handle(h: *mut unipool_conn) -> unipool_conn {
    let conn = std::ptr::read(h);
    // SAFETY: `h` came from Box::into_raw in new_handle; its contents were moved out above,
    // so it is re-owned as uninitialised memory (dropping that only deallocates).
    let b = Box::from_raw(h as *mut std::mem::MaybeUninit<unipool_conn>);
    if let Ok(Some(old)) = SPARE.try_with(|s| s.replace(Some(b))) {
        drop(old);
    }
    conn
}

/// Facts about a checked-out connection (caller-owned, filled by unipool_conn_get_info).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct unipool_conn_info {
    /// Unique connection id within the pool (as in events).
    pub id: u64,
    /// Times this connection has been checked out, including this time.
    pub use_count: u64,
    /// Seconds since it was created.
    pub age_seconds: f64,
    /// True when it was created for this checkout.
    pub is_new: bool,
}

fn maintenance_loop(shared: Arc<Shared>) {
    loop {
        if *shared.stop.lock().unwrap_or_else(|e| e.into_inner()) || shared.raw.is_closed() {
            return;
        }
        let next = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| shared.maintain_once())) {
            Ok(report) => Duration::from_millis(report.next_run_ms.max(0) as u64),
            Err(_) => Duration::from_secs(1),
        };
        let next = next.clamp(Duration::from_millis(10), Duration::from_secs(1));
        let stop = shared.stop.lock().unwrap_or_else(|e| e.into_inner());
        if *stop {
            return;
        }
        let _ = shared.wake.wait_timeout(stop, next);
    }
}

unsafe fn pool_ref<'a>(pool: *const unipool_pool) -> FfiResult<&'a unipool_pool> {
    pool.as_ref().ok_or_else(|| FfiError::null("pool"))
}

fn timeout_arg(timeout_ms: i64) -> Option<Duration> {
    if timeout_ms < 0 {
        None
    } else {
        Some(Duration::from_millis(timeout_ms as u64))
    }
}

/// Makes a pool. `config` may be NULL (defaults); it is copied and may be freed afterwards.
/// `callbacks` is copied (the struct, not `user_data`). A background maintenance thread owned by
/// the pool closes idle/expired connections and keeps min_idle filled, calling the callbacks
/// outside any lock; it stops in unipool_pool_close / unipool_pool_free. When the config sets
/// initialization_fail_timeout, this waits up to that long for min_idle connections and fails with
/// the last connect error if they cannot be made.
/// On success `*out` is a new pool owned by the caller (free with unipool_pool_free); on failure
/// `*out` is NULL.
#[no_mangle]
pub unsafe extern "C" fn unipool_pool_new(
    config: *const unipool_config,
    callbacks: *const unipool_callbacks,
    out: *mut *mut unipool_pool,
) -> c_int {
    guard(|| make_pool(config, callbacks, out, false))
}

/// For tests and simulations: like unipool_pool_new, but the pool's lifecycle clock (connection
/// age for pool_recycle, idle_timeout, pre_ping_bypass, leak_detection_threshold) is a manual clock
/// that only moves with unipool_pool_advance_clock, and NO background maintenance thread is
/// started: call unipool_pool_maintain yourself. Acquire deadlines still use real time.
/// initialization_fail_timeout is not waited for. Ownership as for unipool_pool_new.
#[no_mangle]
pub unsafe extern "C" fn unipool_pool_new_manual_clock(
    config: *const unipool_config,
    callbacks: *const unipool_callbacks,
    out: *mut *mut unipool_pool,
) -> c_int {
    guard(|| make_pool(config, callbacks, out, true))
}

/// Moves the manual clock of a pool made by unipool_pool_new_manual_clock forward by `seconds`
/// (>= 0). Any other pool: UNIPOOL_E_INVALID_USAGE.
#[no_mangle]
pub unsafe extern "C" fn unipool_pool_advance_clock(pool: *mut unipool_pool, seconds: f64) -> c_int {
    guard(|| {
        let p = pool_ref(pool)?;
        if !(seconds.is_finite() && seconds >= 0.0) {
            return Err(FfiError::usage(format!("seconds = {seconds} is not allowed; expected a finite number >= 0")));
        }
        p.shared.raw.clock().advance(Duration::from_secs_f64(seconds)).map_err(|m| {
            FfiError::usage(format!("{m}; only pools made by unipool_pool_new_manual_clock can be advanced"))
        })
    })
}

unsafe fn make_pool(
    config: *const unipool_config,
    callbacks: *const unipool_callbacks,
    out: *mut *mut unipool_pool,
    manual_clock: bool,
) -> FfiResult {
    if out.is_null() {
        return Err(FfiError::null("out"));
    }
    *out = std::ptr::null_mut();
    let cb = callbacks.as_ref().ok_or_else(|| FfiError::null("callbacks"))?;
    let create = cb.create.ok_or_else(|| FfiError::usage("callbacks->create is NULL; a create callback is required"))?;
    let close = cb.close.ok_or_else(|| FfiError::usage("callbacks->close is NULL; a close callback is required"))?;
    let cfg: PoolConfig = match config.as_ref() {
        Some(c) => c.inner.clone(),
        None => PoolConfig::default(),
    };
    let reset_mode = match cfg.reset_on_return {
        ResetOnReturn::Rollback => Some(crate::config::unipool_reset_mode::UNIPOOL_RESET_ROLLBACK as c_int),
        ResetOnReturn::Commit => Some(crate::config::unipool_reset_mode::UNIPOOL_RESET_COMMIT as c_int),
        ResetOnReturn::None => None,
    };
    let init_wait = if manual_clock { None } else { cfg.initialization_fail_timeout };
    let pool_timeout = cfg.pool_timeout;
    let name = CString::new(cfg.name.replace('\0', "")).unwrap_or_default();
    let raw = if manual_clock { RawPool::with_clock(cfg, unipool::Clock::manual())? } else { RawPool::new(cfg)? };
    let shared = Arc::new(Shared {
        raw,
        create,
        ping: cb.ping,
        reset: cb.reset,
        close,
        user_data: UserData(cb.user_data),
        reset_mode,
        pool_timeout,
        name,
        stop: Mutex::new(false),
        wake: Condvar::new(),
        events: Default::default(),
    });
    let maintenance = if manual_clock {
        None
    } else {
        let worker = Arc::clone(&shared);
        let handle = std::thread::Builder::new()
            .name("unipool-maint".into())
            .spawn(move || maintenance_loop(worker))
            .map_err(|e| FfiError::new(unipool_code::UNIPOOL_E_INTERNAL, format!("cannot start the maintenance thread: {e}")))?;
        let thread = handle.thread().id();
        Some(Maintenance { handle, thread })
    };
    let pool = Box::new(unipool_pool { shared, maintenance });
    if let Some(wait) = init_wait {
        if let Err(e) = pool.shared.raw.wait_for_min_idle(wait) {
            free_pool(pool);
            return Err(e.into());
        }
    }
    *out = Box::into_raw(pool);
    Ok(())
}

fn stop_maintenance(pool: &mut unipool_pool) {
    {
        let mut stop = pool.shared.stop.lock().unwrap_or_else(|e| e.into_inner());
        *stop = true;
    }
    pool.shared.wake.notify_all();
    if let Some(m) = pool.maintenance.take() {
        // Freeing the pool from inside a callback running on the maintenance thread
        // must not join itself; the thread exits on its own once it sees `stop`.
        if m.thread != std::thread::current().id() {
            let _ = m.handle.join();
        }
    }
}

fn free_pool(mut pool: Box<unipool_pool>) {
    stop_maintenance(&mut pool);
    let idle = pool.shared.raw.close();
    pool.shared.close_all(idle);
    crate::events::unsubscribe_all(&pool);
    drop(pool);
}

/// Closes the pool (waiting acquires, blocking or asynchronous, get UNIPOOL_E_POOL_CLOSED; idle
/// connections are closed), stops the maintenance thread, removes the event listeners and frees
/// it. NULL is a no-op. The pool must not be used afterwards. Connection handles still checked out
/// stay valid: release them as usual (the pool then closes them through the close callback), so
/// `user_data` must stay valid until then.
#[no_mangle]
pub unsafe extern "C" fn unipool_pool_free(pool: *mut unipool_pool) {
    if !pool.is_null() {
        guard_void(|| free_pool(Box::from_raw(pool)));
    }
}

/// Closes the pool without freeing it: waiters (blocking or asynchronous) and later acquires get
/// UNIPOOL_E_POOL_CLOSED, idle connections are closed now (on this thread), checked-out ones when
/// they come back, and the maintenance thread stops. Idempotent. The pool must still be freed with
/// unipool_pool_free.
#[no_mangle]
pub unsafe extern "C" fn unipool_pool_close(pool: *mut unipool_pool) -> c_int {
    guard(|| {
        let p = pool_ref(pool)?;
        let idle = p.shared.raw.close();
        p.shared.close_all(idle);
        // Stop the thread too, but via the flag only: joining here would make close
        // racy with concurrent callers holding &pool; free joins.
        *p.shared.stop.lock().unwrap_or_else(|e| e.into_inner()) = true;
        p.shared.wake.notify_all();
        Ok(())
    })
}

/// Checks out a connection, waiting up to `timeout_ms` milliseconds (negative: the config's
/// pool_timeout; 0: do not wait for a busy pool, but still create a connection when allowed).
/// May run the create callback (when the pool may grow) or the ping callback (pool_pre_ping) on
/// this thread. On success `*out` is a handle owned by the caller, to be ended with
/// unipool_conn_release / _invalidate / _detach; on failure `*out` is NULL and the code is
/// UNIPOOL_E_POOL_TIMEOUT, UNIPOOL_E_POOL_CLOSED, UNIPOOL_E_CONNECT_FAILED or
/// UNIPOOL_E_CONNECT_TIMEOUT (the message carries the pool's counts and last connect error).
#[no_mangle]
pub unsafe extern "C" fn unipool_pool_acquire(pool: *mut unipool_pool, timeout_ms: i64, out: *mut *mut unipool_conn) -> c_int {
    guard(|| {
        if out.is_null() {
            return Err(FfiError::null("out"));
        }
        *out = std::ptr::null_mut();
        let p = pool_ref(pool)?;
        let sh = &p.shared;
        // Hot path inline: an idle connection that needs no ping, with no clock read here.
        let co = match sh.raw.try_acquire()? {
            Some(Grant::Idle(co)) if !(sh.ping.is_some() && co.needs_ping()) => co,
            Some(g) => match sh.settle(g) {
                Ok(co) => co,
                Err(Settle::Retry) => sh.acquire(timeout_arg(timeout_ms), true)?,
                Err(Settle::Failed(e)) => return Err(e),
            },
            None => sh.acquire(timeout_arg(timeout_ms), true)?,
        };
        *out = new_handle(unipool_conn { co, shared: Arc::clone(sh) });
        Ok(())
    })
}

/// Checks out a connection without waiting for another thread to return one: gives an idle
/// connection, or creates one (create callback, on this thread) when the pool is below its maximum,
/// else fails at once with UNIPOOL_E_POOL_TIMEOUT. Ownership as for unipool_pool_acquire.
#[no_mangle]
pub unsafe extern "C" fn unipool_pool_try_acquire(pool: *mut unipool_pool, out: *mut *mut unipool_conn) -> c_int {
    guard(|| {
        if out.is_null() {
            return Err(FfiError::null("out"));
        }
        *out = std::ptr::null_mut();
        let p = pool_ref(pool)?;
        let co = p.shared.acquire(None, false)?;
        *out = new_handle(unipool_conn { co, shared: Arc::clone(&p.shared) });
        Ok(())
    })
}

/// The pooled object (the `void *` the create callback made) behind a handle, into `*out`.
/// It stays owned by the pool: use it only until the handle is released.
#[no_mangle]
pub unsafe extern "C" fn unipool_conn_get(conn: *const unipool_conn, out: *mut *mut c_void) -> c_int {
    guard(|| {
        if out.is_null() {
            return Err(FfiError::null("out"));
        }
        *out = std::ptr::null_mut();
        let c = conn.as_ref().ok_or_else(|| FfiError::null("conn"))?;
        *out = c.co.conn().0;
        Ok(())
    })
}

/// Facts about a checked-out connection into the caller-owned `*out`.
#[no_mangle]
pub unsafe extern "C" fn unipool_conn_get_info(conn: *const unipool_conn, out: *mut unipool_conn_info) -> c_int {
    guard(|| {
        let c = conn.as_ref().ok_or_else(|| FfiError::null("conn"))?;
        let out = out.as_mut().ok_or_else(|| FfiError::null("out"))?;
        *out = unipool_conn_info {
            id: c.co.id(),
            use_count: c.co.use_count(),
            age_seconds: c.co.age().as_secs_f64(),
            is_new: c.co.is_new(),
        };
        Ok(())
    })
}

/// Returns a connection to the pool and ends the handle (in every case, also on error).
/// Runs the reset callback first (unless reset_on_return is none); if it fails, the connection is
/// closed instead and UNIPOOL_E_CONNECTION_BROKEN is returned. Connections the pool no longer wants
/// (overflow, recycled, max_uses, disposed, pool closed) are closed through the close callback on
/// this thread. NULL: UNIPOOL_E_INVALID_USAGE.
#[no_mangle]
pub unsafe extern "C" fn unipool_conn_release(conn: *mut unipool_conn) -> c_int {
    guard(|| {
        if conn.is_null() {
            return Err(FfiError::null("conn"));
        }
        let unipool_conn { co, shared } = take_handle(conn);
        if let Err(msg) = shared.call_reset(*co.conn()) {
            let c = co.invalidate();
            shared.call_close(c);
            return Err(FfiError::new(
                unipool_code::UNIPOOL_E_CONNECTION_BROKEN,
                format!("reset callback failed, connection closed instead of returned: {msg}"),
            ));
        }
        if let Some((c, _reason)) = co.release() {
            shared.call_close(c);
        }
        Ok(())
    })
}

/// Marks a connection broken: the pool closes it (close callback, on this thread), frees its slot
/// and ends the handle. NULL: UNIPOOL_E_INVALID_USAGE.
#[no_mangle]
pub unsafe extern "C" fn unipool_conn_invalidate(conn: *mut unipool_conn) -> c_int {
    guard(|| {
        if conn.is_null() {
            return Err(FfiError::null("conn"));
        }
        let unipool_conn { co, shared } = take_handle(conn);
        let c = co.invalidate();
        shared.call_close(c);
        Ok(())
    })
}

/// Takes a connection out of the pool for good: its slot is freed, the handle ends, and the object
/// is stored in `*out`, now owned by the caller (the pool will never close it).
/// On error (NULL `out`) the handle is NOT consumed.
#[no_mangle]
pub unsafe extern "C" fn unipool_conn_detach(conn: *mut unipool_conn, out: *mut *mut c_void) -> c_int {
    guard(|| {
        if conn.is_null() {
            return Err(FfiError::null("conn"));
        }
        if out.is_null() {
            return Err(FfiError::null("out"));
        }
        let unipool_conn { co, shared: _ } = take_handle(conn);
        *out = co.detach().0;
        Ok(())
    })
}

/// Closes every idle connection now and makes checked-out ones close when returned (a new
/// generation), e.g. after a database failover. Closing runs on this thread.
#[no_mangle]
pub unsafe extern "C" fn unipool_pool_dispose(pool: *mut unipool_pool) -> c_int {
    guard(|| {
        let p = pool_ref(pool)?;
        let idle = p.shared.raw.dispose();
        p.shared.close_all(idle);
        Ok(())
    })
}

/// Changes pool_size and max_overflow (-1 = unbounded) at run time; surplus idle connections are
/// closed on this thread. Invalid sizes: UNIPOOL_E_INVALID_CONFIG, pool unchanged.
#[no_mangle]
pub unsafe extern "C" fn unipool_pool_resize(pool: *mut unipool_pool, pool_size: usize, max_overflow: i64) -> c_int {
    guard(|| {
        let p = pool_ref(pool)?;
        let surplus = p.shared.raw.resize(pool_size, max_overflow)?;
        p.shared.close_all(surplus);
        Ok(())
    })
}

/// Pauses the pool: acquires wait (until unipool_pool_resume or their deadline).
#[no_mangle]
pub unsafe extern "C" fn unipool_pool_pause(pool: *mut unipool_pool) -> c_int {
    guard(|| {
        pool_ref(pool)?.shared.raw.pause();
        Ok(())
    })
}

/// Resumes a paused pool.
#[no_mangle]
pub unsafe extern "C" fn unipool_pool_resume(pool: *mut unipool_pool) -> c_int {
    guard(|| {
        pool_ref(pool)?.shared.raw.resume();
        Ok(())
    })
}

/// Stores whether the pool is closed into `*out`.
#[no_mangle]
pub unsafe extern "C" fn unipool_pool_is_closed(pool: *const unipool_pool, out: *mut bool) -> c_int {
    guard(|| {
        let p = pool_ref(pool)?;
        let out = out.as_mut().ok_or_else(|| FfiError::null("out"))?;
        *out = p.shared.raw.is_closed();
        Ok(())
    })
}

/// What one maintenance pass did (caller-owned, filled by unipool_pool_maintain).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct unipool_maintenance {
    /// Connections closed (close callback called).
    pub closed: usize,
    /// The same, counted by reason: index with a UNIPOOL_CLOSE_* value.
    pub closed_by_reason: [usize; 16],
    /// Connections created to keep min_idle.
    pub created: usize,
    /// Creates that failed (the pool backs off before trying again).
    pub create_failures: usize,
    /// Connections newly reported as leaked (held past leak_detection_threshold).
    pub leaks: usize,
    /// When the core wants the next pass, in milliseconds.
    pub next_run_ms: i64,
}

/// Runs one maintenance pass now on this thread (the background thread does this periodically):
/// closes idle-timed-out / expired connections and connections the pool parked for closing
/// (e.g. found expired during an acquire), reports leaks, and creates connections up to min_idle.
/// `out` may be NULL; otherwise it receives what the pass did.
#[no_mangle]
pub unsafe extern "C" fn unipool_pool_maintain(pool: *mut unipool_pool, out: *mut unipool_maintenance) -> c_int {
    guard(|| {
        let p = pool_ref(pool)?;
        let report = p.shared.maintain_once();
        if let Some(out) = out.as_mut() {
            *out = report;
        }
        Ok(())
    })
}

/// Waits up to `timeout_ms` for min_idle connections to be open (made by the maintenance thread);
/// fails with the last connect error when they cannot be made in time.
#[no_mangle]
pub unsafe extern "C" fn unipool_pool_wait_min_idle(pool: *mut unipool_pool, timeout_ms: i64) -> c_int {
    guard(|| {
        let p = pool_ref(pool)?;
        p.shared.wake.notify_all();
        p.shared.raw.wait_for_min_idle(Duration::from_millis(timeout_ms.max(0) as u64))?;
        Ok(())
    })
}

/// The pool's Prometheus text exposition into a caller buffer, snprintf-style: at most
/// buf_len-1 bytes plus a NUL are written, and `*needed` (if not NULL) receives the full length
/// without the NUL; call with buf=NULL, buf_len=0 to learn the size. Truncation is not an error:
/// compare `*needed` with `buf_len`.
#[no_mangle]
pub unsafe extern "C" fn unipool_pool_metrics(pool: *const unipool_pool, buf: *mut c_char, buf_len: usize, needed: *mut usize) -> c_int {
    guard(|| {
        let p = pool_ref(pool)?;
        copy_out(&p.shared.raw.metrics_text(), buf, buf_len, needed)
    })
}

/// The pool's Prometheus text exposition as a new string in `*out`, owned by the caller: free it
/// with unipool_string_free.
#[no_mangle]
pub unsafe extern "C" fn unipool_pool_metrics_string(pool: *const unipool_pool, out: *mut *mut c_char) -> c_int {
    guard(|| {
        if out.is_null() {
            return Err(FfiError::null("out"));
        }
        *out = std::ptr::null_mut();
        let p = pool_ref(pool)?;
        *out = owned_c_string(&p.shared.raw.metrics_text());
        Ok(())
    })
}

/// Counts of a pool at one moment, the same fields as the Rust `PoolStatus` (caller-owned,
/// filled by unipool_pool_status).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct unipool_status {
    /// Pool name, NUL-terminated, truncated to 63 bytes.
    pub name: [c_char; 64],
    /// Connections open (idle + in use).
    pub open: usize,
    /// Open and idle.
    pub idle: usize,
    /// Checked out.
    pub in_use: usize,
    /// Creates in flight.
    pub pending: usize,
    /// Threads waiting in acquire.
    pub waiting: usize,
    /// Maximum open connections (pool_size + max_overflow); -1 = unbounded.
    pub max: i64,
    pub pool_size: usize,
    pub max_overflow: i64,
    pub min_idle: usize,
    /// SQLAlchemy's overflow(): open - pool_size (negative while below pool_size).
    pub overflow: i64,
    /// Bumped by every dispose.
    pub generation: u64,
    /// Paused by unipool_pool_pause.
    pub is_paused: bool,
    /// Closed by unipool_pool_close / unipool_pool_free.
    pub is_closed: bool,
    /// Counters since the pool was made.
    pub acquired: u64,
    pub created: u64,
    pub create_failures: u64,
    pub closed: u64,
    pub timeouts: u64,
    pub pings: u64,
    pub ping_failures: u64,
    pub leaks_detected: u64,
    pub invalidated: u64,
}

/// Fills the caller-owned `*out` with the pool's current status.
#[no_mangle]
pub unsafe extern "C" fn unipool_pool_status(pool: *const unipool_pool, out: *mut unipool_status) -> c_int {
    guard(|| {
        let p = pool_ref(pool)?;
        let out = out.as_mut().ok_or_else(|| FfiError::null("out"))?;
        let s = p.shared.raw.status();
        let mut name = [0 as c_char; 64];
        for (i, b) in s.name.bytes().filter(|&b| b != 0).take(63).enumerate() {
            name[i] = b as c_char;
        }
        *out = unipool_status {
            name,
            open: s.open,
            idle: s.idle,
            in_use: s.in_use,
            pending: s.pending,
            waiting: s.waiting,
            max: s.max.map(|m| m.min(i64::MAX as usize) as i64).unwrap_or(-1),
            pool_size: s.pool_size,
            max_overflow: s.max_overflow,
            min_idle: s.min_idle,
            overflow: s.overflow,
            generation: s.generation,
            is_paused: s.is_paused,
            is_closed: s.is_closed,
            acquired: s.acquired,
            created: s.created,
            create_failures: s.create_failures,
            closed: s.closed,
            timeouts: s.timeouts,
            pings: s.pings,
            ping_failures: s.ping_failures,
            leaks_detected: s.leaks_detected,
            invalidated: s.invalidated,
        };
        Ok(())
    })
}

/// A copy of the pool's effective configuration in `*out`, owned by the caller
/// (free with unipool_config_free).
#[no_mangle]
pub unsafe extern "C" fn unipool_pool_config(pool: *const unipool_pool, out: *mut *mut unipool_config) -> c_int {
    guard(|| {
        if out.is_null() {
            return Err(FfiError::null("out"));
        }
        *out = std::ptr::null_mut();
        let p = pool_ref(pool)?;
        *out = Box::into_raw(Box::new(unipool_config { inner: p.shared.raw.config() }));
        Ok(())
    })
}

/// Called exactly once with the outcome of unipool_pool_acquire_async (unless cancelled):
/// `code` UNIPOOL_OK and `conn` a handle now owned by the callee (end it with
/// unipool_conn_release / _invalidate / _detach), or an error code, `conn` NULL and `message`
/// (valid during the call only; also readable with unipool_last_error_message on that thread).
/// It runs on the thread that made the outcome: the caller of unipool_pool_acquire_async (at
/// once, when a connection is free), a thread releasing a connection, or the pool's timer thread
/// (deadline). The create and ping callbacks run there too, just before it.
pub type unipool_acquire_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, code: c_int, conn: *mut unipool_conn, message: *const c_char)>;

/// A pending asynchronous acquire (opaque), for cancelling. Made by unipool_pool_acquire_async,
/// freed by unipool_wait_free (freeing does not cancel).
pub struct unipool_wait {
    handle: Mutex<Option<unipool::WaitHandle<ConnPtr>>>,
}

/// Starts an acquire that does not block: `callback` gets the outcome (see unipool_acquire_fn),
/// possibly before this function returns. Waiters are served first come, first served, together
/// with blocking acquires. `timeout_ms` as for unipool_pool_acquire. When the pre-ping of the
/// connection it was given fails, the callback gets UNIPOOL_E_CONNECTION_BROKEN (the connection
/// was closed; acquire again). `user_data` is passed through untouched and must stay valid until
/// the callback has run or the wait was cancelled. If `out_wait` is not NULL it receives a handle
/// owned by the caller for unipool_wait_cancel, to be freed with unipool_wait_free.
/// If this function fails, the callback is never called.
#[no_mangle]
pub unsafe extern "C" fn unipool_pool_acquire_async(
    pool: *mut unipool_pool,
    timeout_ms: i64,
    callback: unipool_acquire_fn,
    user_data: *mut c_void,
    out_wait: *mut *mut unipool_wait,
) -> c_int {
    guard(|| {
        if !out_wait.is_null() {
            *out_wait = std::ptr::null_mut();
        }
        let p = pool_ref(pool)?;
        let func = callback.ok_or_else(|| FfiError::null("callback"))?;
        let shared = Arc::clone(&p.shared);
        let ud = UserData(user_data);
        let timeout = timeout_arg(timeout_ms).unwrap_or(p.shared.pool_timeout);
        let handle = p.shared.raw.acquire_callback(Some(timeout), move |r| {
            let ud = ud;
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let outcome = match r {
                    Err(e) => Err(FfiError::from(e)),
                    Ok(grant) => match shared.settle(grant) {
                        Ok(co) => Ok(co),
                        Err(Settle::Retry) => Err(FfiError::new(
                            unipool_code::UNIPOOL_E_CONNECTION_BROKEN,
                            format!(
                                "pool '{}': the pre-ping of the connection handed to this wait failed; \
                                 it was closed; acquire again",
                                shared.raw.name()
                            ),
                        )),
                        Err(Settle::Failed(e)) => Err(e),
                    },
                };
                match outcome {
                    Ok(co) => {
                        let conn = new_handle(unipool_conn { co, shared: Arc::clone(&shared) });
                        func(ud.0, crate::error::OK, conn, std::ptr::null());
                    }
                    Err(e) => {
                        crate::error::set_last_error(e.code, &e.message);
                        let msg = CString::new(e.message.replace('\0', "")).unwrap_or_default();
                        func(ud.0, e.code, std::ptr::null_mut(), msg.as_ptr());
                    }
                }
            }));
        });
        if !out_wait.is_null() {
            *out_wait = Box::into_raw(Box::new(unipool_wait { handle: Mutex::new(Some(handle)) }));
        }
        Ok(())
    })
}

/// Withdraws an asynchronous acquire. `*out_cancelled` (may be NULL) is set to true when it was
/// still waiting: its callback will never run. False means it was already answered: the callback
/// has run or is running on another thread and owns the outcome. A second cancel reports false.
#[no_mangle]
pub unsafe extern "C" fn unipool_wait_cancel(wait: *mut unipool_wait, out_cancelled: *mut bool) -> c_int {
    guard(|| {
        let w = wait.as_ref().ok_or_else(|| FfiError::null("wait"))?;
        let handle = w.handle.lock().unwrap_or_else(|e| e.into_inner()).take();
        let cancelled = handle.map(|h| h.cancel()).unwrap_or(false);
        if !out_cancelled.is_null() {
            *out_cancelled = cancelled;
        }
        Ok(())
    })
}

/// Frees a wait handle. Does not cancel: an uncancelled wait still gets its callback.
/// NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn unipool_wait_free(wait: *mut unipool_wait) {
    if !wait.is_null() {
        guard_void(|| drop(Box::from_raw(wait)));
    }
}
