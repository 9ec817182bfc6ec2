//! Event callbacks: the core's pool events, translated to a plain C struct.

use std::ffi::{c_char, c_int, c_void, CString};
use std::sync::{Arc, Weak};

use crate::error::{guard, unipool_code, FfiError};
use crate::pool::{unipool_pool, Shared};

/// Kinds of pool events (unipool_event.kind).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum unipool_event_kind {
    /// A connection was created (conn_id; seconds = how long the create took).
    UNIPOOL_EVENT_CONNECT = 1,
    /// A connection was checked out (conn_id; seconds = time waited).
    UNIPOOL_EVENT_CHECKOUT = 2,
    /// A connection was returned (conn_id; seconds = time it was held).
    UNIPOOL_EVENT_CHECKIN = 3,
    /// A connection was closed (conn_id; reason = UNIPOOL_CLOSE_*).
    UNIPOOL_EVENT_CLOSE = 4,
    /// A connection was invalidated (conn_id).
    UNIPOOL_EVENT_INVALIDATE = 5,
    /// An acquire timed out (seconds = time waited).
    UNIPOOL_EVENT_TIMEOUT = 6,
    /// A connection was held longer than leak_detection_threshold (conn_id; seconds = held).
    UNIPOOL_EVENT_LEAK = 7,
    /// Creating a connection failed (code = UNIPOOL_E_CONNECT_FAILED or _TIMEOUT; message = the error).
    UNIPOOL_EVENT_CONNECT_FAILED = 8,
    /// The close callback returned non-zero (code = its return value; message = its error text).
    UNIPOOL_EVENT_CLOSE_FAILED = 9,
    /// An event kind this version of the C API does not describe (message = its debug text).
    UNIPOOL_EVENT_OTHER = 100,
}

/// Why a connection was closed (unipool_event.reason for UNIPOOL_EVENT_CLOSE).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum unipool_close_reason {
    UNIPOOL_CLOSE_NONE = 0,
    UNIPOOL_CLOSE_OVERFLOW = 1,
    UNIPOOL_CLOSE_RECYCLED = 2,
    UNIPOOL_CLOSE_IDLE_TIMEOUT = 3,
    UNIPOOL_CLOSE_MAX_USES = 4,
    UNIPOOL_CLOSE_INVALIDATED = 5,
    UNIPOOL_CLOSE_PING_FAILED = 6,
    UNIPOOL_CLOSE_DISPOSED = 7,
    UNIPOOL_CLOSE_POOL_CLOSED = 8,
    UNIPOOL_CLOSE_RESIZED = 9,
    UNIPOOL_CLOSE_DETACHED = 10,
    UNIPOOL_CLOSE_OTHER = 100,
}

/// One pool event, passed to an event callback. The struct and its strings are owned by the
/// library and valid only during the callback: copy what you need.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct unipool_event {
    /// A UNIPOOL_EVENT_* value.
    pub kind: c_int,
    /// Name of the pool, NUL-terminated.
    pub pool_name: *const c_char,
    /// Connection id, 0 when the event is not about one connection.
    pub conn_id: u64,
    /// Waited / held / used time in seconds, 0 when not applicable.
    pub seconds: f64,
    /// A UNIPOOL_CLOSE_* value for UNIPOOL_EVENT_CLOSE, else UNIPOOL_CLOSE_NONE.
    pub reason: c_int,
    /// A status code for failure events, else UNIPOOL_OK.
    pub code: c_int,
    /// Error text for failure events, else NULL.
    pub message: *const c_char,
}

/// An event callback. Called on whatever thread caused the event (an acquiring or releasing
/// thread, or the maintenance thread), never under a pool lock; it may call back into the pool
/// (even unsubscribe itself). It must be thread-safe and should be quick.
pub type unipool_event_fn = Option<unsafe extern "C" fn(user_data: *mut c_void, event: *const unipool_event)>;

#[derive(Clone, Copy)]
pub(crate) struct Listener {
    id: u64,
    func: unsafe extern "C" fn(*mut c_void, *const unipool_event),
    user_data: *mut c_void,
}
// SAFETY: the C side promises its callback and user_data are usable from any thread.
unsafe impl Send for Listener {}
unsafe impl Sync for Listener {}

/// C listeners of one pool. The core gets one listener (installed at the first subscribe) that
/// fans out to these, so a pool with no C listener pays nothing per event.
#[derive(Default)]
pub(crate) struct Registry {
    list: std::sync::Mutex<RegistryInner>,
}

#[derive(Default)]
struct RegistryInner {
    listeners: Arc<Vec<Listener>>,
    next_id: u64,
    core_listener: Option<unipool::ListenerId>,
}

impl Registry {
    fn snapshot(&self) -> Arc<Vec<Listener>> {
        Arc::clone(&self.list.lock().unwrap_or_else(|e| e.into_inner()).listeners)
    }
}

fn dispatch(shared: &Shared, ev: &unipool_event) {
    for l in shared.events.snapshot().iter() {
        // SAFETY: C callback contract (header docs); `ev` lives across the call.
        unsafe { (l.func)(l.user_data, ev) };
    }
}

pub(crate) fn close_reason(r: &unipool::CloseReason) -> c_int {
    use unipool::CloseReason as R;
    use unipool_close_reason::*;
    (match r {
        R::Overflow => UNIPOOL_CLOSE_OVERFLOW,
        R::Recycled => UNIPOOL_CLOSE_RECYCLED,
        R::IdleTimeout => UNIPOOL_CLOSE_IDLE_TIMEOUT,
        R::MaxUses => UNIPOOL_CLOSE_MAX_USES,
        R::Invalidated => UNIPOOL_CLOSE_INVALIDATED,
        R::PingFailed => UNIPOOL_CLOSE_PING_FAILED,
        R::Disposed => UNIPOOL_CLOSE_DISPOSED,
        R::PoolClosed => UNIPOOL_CLOSE_POOL_CLOSED,
        R::Resized => UNIPOOL_CLOSE_RESIZED,
        R::Detached => UNIPOOL_CLOSE_DETACHED,
        #[allow(unreachable_patterns)]
        _ => UNIPOOL_CLOSE_OTHER,
    }) as c_int
}

fn translate(shared: &Shared, e: &unipool::Event) {
    use unipool::Event as E;
    use unipool_event_kind::*;
    let mut ev = unipool_event {
        kind: UNIPOOL_EVENT_OTHER as c_int,
        pool_name: shared.name.as_ptr(),
        conn_id: 0,
        seconds: 0.0,
        reason: unipool_close_reason::UNIPOOL_CLOSE_NONE as c_int,
        code: 0,
        message: std::ptr::null(),
    };
    let mut msg: Option<CString> = None;
    match e {
        E::Connect { id, took, .. } => {
            ev.kind = UNIPOOL_EVENT_CONNECT as c_int;
            ev.conn_id = *id;
            ev.seconds = took.as_secs_f64();
        }
        E::Checkout { id, waited, .. } => {
            ev.kind = UNIPOOL_EVENT_CHECKOUT as c_int;
            ev.conn_id = *id;
            ev.seconds = waited.as_secs_f64();
        }
        E::Checkin { id, used, .. } => {
            ev.kind = UNIPOOL_EVENT_CHECKIN as c_int;
            ev.conn_id = *id;
            ev.seconds = used.as_secs_f64();
        }
        E::Close { id, reason, .. } => {
            ev.kind = UNIPOOL_EVENT_CLOSE as c_int;
            ev.conn_id = *id;
            ev.reason = close_reason(reason);
        }
        E::Invalidate { id, .. } => {
            ev.kind = UNIPOOL_EVENT_INVALIDATE as c_int;
            ev.conn_id = *id;
        }
        E::Timeout { waited, .. } => {
            ev.kind = UNIPOOL_EVENT_TIMEOUT as c_int;
            ev.seconds = waited.as_secs_f64();
            ev.code = unipool_code::UNIPOOL_E_POOL_TIMEOUT as c_int;
        }
        E::Leak { id, held, .. } => {
            ev.kind = UNIPOOL_EVENT_LEAK as c_int;
            ev.conn_id = *id;
            ev.seconds = held.as_secs_f64();
        }
        E::ConnectFailed { error, .. } => {
            ev.kind = UNIPOOL_EVENT_CONNECT_FAILED as c_int;
            ev.code = crate::error::code_of(error.kind());
            msg = Some(CString::new(error.to_string().replace('\0', "")).unwrap_or_default());
        }
        #[allow(unreachable_patterns)]
        other => {
            msg = Some(CString::new(format!("{other:?}").replace('\0', "")).unwrap_or_default());
        }
    }
    if let Some(m) = &msg {
        ev.message = m.as_ptr();
    }
    dispatch(shared, &ev);
}

/// Reports a failed close callback to the C listeners (the core does not see close results).
pub(crate) fn emit_close_failed(shared: &Shared, rc: c_int, message: &str) {
    if shared.events.snapshot().is_empty() {
        return;
    }
    let msg = CString::new(message.replace('\0', "")).unwrap_or_default();
    let ev = unipool_event {
        kind: unipool_event_kind::UNIPOOL_EVENT_CLOSE_FAILED as c_int,
        pool_name: shared.name.as_ptr(),
        conn_id: 0,
        seconds: 0.0,
        reason: unipool_close_reason::UNIPOOL_CLOSE_NONE as c_int,
        code: rc,
        message: msg.as_ptr(),
    };
    dispatch(shared, &ev);
}

pub(crate) fn unsubscribe_all(pool: &unipool_pool) {
    let mut reg = pool.shared.events.list.lock().unwrap_or_else(|e| e.into_inner());
    reg.listeners = Arc::new(Vec::new());
    if let Some(id) = reg.core_listener.take() {
        drop(reg);
        pool.shared.raw.unsubscribe(id);
    }
}

/// Registers an event callback. `user_data` is passed back untouched and never freed; it must stay
/// valid until unipool_pool_unsubscribe (or unipool_pool_free) has returned. The listener id goes to
/// `*out_id` (may be NULL if you never unsubscribe). After unsubscribe returns, the callback is not
/// called for new events, but a call already running on another thread may still finish.
#[no_mangle]
pub unsafe extern "C" fn unipool_pool_subscribe(
    pool: *mut unipool_pool,
    callback: unipool_event_fn,
    user_data: *mut c_void,
    out_id: *mut u64,
) -> c_int {
    guard(|| {
        let p = pool.as_ref().ok_or_else(|| FfiError::null("pool"))?;
        let func = callback.ok_or_else(|| FfiError::null("callback"))?;
        let mut reg = p.shared.events.list.lock().unwrap_or_else(|e| e.into_inner());
        reg.next_id += 1;
        let id = reg.next_id;
        let mut v = (*reg.listeners).clone();
        v.push(Listener { id, func, user_data });
        reg.listeners = Arc::new(v);
        if reg.core_listener.is_none() {
            let weak: Weak<Shared> = Arc::downgrade(&p.shared);
            reg.core_listener = Some(p.shared.raw.subscribe(move |e: &unipool::Event| {
                if let Some(shared) = weak.upgrade() {
                    translate(&shared, e);
                }
            }));
        }
        if !out_id.is_null() {
            *out_id = id;
        }
        Ok(())
    })
}

/// Removes an event callback by the id unipool_pool_subscribe gave. Unknown id:
/// UNIPOOL_E_INVALID_USAGE.
#[no_mangle]
pub unsafe extern "C" fn unipool_pool_unsubscribe(pool: *mut unipool_pool, id: u64) -> c_int {
    guard(|| {
        let p = pool.as_ref().ok_or_else(|| FfiError::null("pool"))?;
        let mut reg = p.shared.events.list.lock().unwrap_or_else(|e| e.into_inner());
        if !reg.listeners.iter().any(|l| l.id == id) {
            return Err(FfiError::usage(format!("listener id {id} is not subscribed to this pool")));
        }
        let v: Vec<Listener> = reg.listeners.iter().copied().filter(|l| l.id != id).collect();
        reg.listeners = Arc::new(v);
        Ok(())
    })
}
