//! Status codes, the per-thread last error, and the panic/NULL guard every
//! `extern "C"` function runs its body in.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use unipool::ErrorKind;

/// Status codes returned by every unipool function (as `int`). The values are fixed ABI.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum unipool_code {
    /// Success.
    UNIPOOL_OK = 0,
    /// No connection became available before the deadline (also: try-acquire found none).
    UNIPOOL_E_POOL_TIMEOUT = 1,
    /// The pool was closed (unipool_pool_close / unipool_pool_free).
    UNIPOOL_E_POOL_CLOSED = 2,
    /// The create callback failed.
    UNIPOOL_E_CONNECT_FAILED = 3,
    /// The create callback reported a connect timeout.
    UNIPOOL_E_CONNECT_TIMEOUT = 4,
    /// A connection was found broken (ping or reset callback failed).
    UNIPOOL_E_CONNECTION_BROKEN = 5,
    /// A configuration key or value was rejected; the message names key, value and what is allowed.
    UNIPOOL_E_INVALID_CONFIG = 6,
    /// The API was misused: a NULL or invalid argument, a missing callback, bad UTF-8.
    UNIPOOL_E_INVALID_USAGE = 7,
    /// A bug in unipool (a caught Rust panic or an unexpected state).
    UNIPOOL_E_INTERNAL = 99,
}

pub(crate) const OK: c_int = unipool_code::UNIPOOL_OK as c_int;

/// Maps the core's error kind to the C status code. The one place this mapping lives.
pub(crate) fn code_of(kind: ErrorKind) -> c_int {
    use unipool_code::*;
    let code = match kind {
        ErrorKind::PoolTimeout => UNIPOOL_E_POOL_TIMEOUT,
        ErrorKind::PoolClosed => UNIPOOL_E_POOL_CLOSED,
        ErrorKind::ConnectFailed => UNIPOOL_E_CONNECT_FAILED,
        ErrorKind::ConnectTimeout => UNIPOOL_E_CONNECT_TIMEOUT,
        ErrorKind::ConnectionBroken => UNIPOOL_E_CONNECTION_BROKEN,
        ErrorKind::InvalidConfig => UNIPOOL_E_INVALID_CONFIG,
        ErrorKind::InvalidUsage => UNIPOOL_E_INVALID_USAGE,
        ErrorKind::Internal => UNIPOOL_E_INTERNAL,
        // No wildcard: ErrorKind is exhaustive on purpose, so a kind added to
        // the core fails this build until it gets its own code here.
    };
    code as c_int
}

/// The inverse, for codes a C callback returns. Unknown codes map to `fallback`.
pub(crate) fn kind_of(code: c_int, fallback: ErrorKind) -> ErrorKind {
    match code {
        1 => ErrorKind::PoolTimeout,
        2 => ErrorKind::PoolClosed,
        3 => ErrorKind::ConnectFailed,
        4 => ErrorKind::ConnectTimeout,
        5 => ErrorKind::ConnectionBroken,
        6 => ErrorKind::InvalidConfig,
        7 => ErrorKind::InvalidUsage,
        99 => ErrorKind::Internal,
        _ => fallback,
    }
}

/// An error on its way out through the C boundary.
#[derive(Debug)]
pub(crate) struct FfiError {
    pub code: c_int,
    pub message: String,
    /// The configuration key an InvalidConfig error is about.
    pub config_key: Option<String>,
}

impl FfiError {
    pub fn new(code: unipool_code, message: impl Into<String>) -> Self {
        FfiError { code: code as c_int, message: message.into(), config_key: None }
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(unipool_code::UNIPOOL_E_INVALID_USAGE, message)
    }
    pub fn null(arg: &str) -> Self {
        Self::usage(format!("argument '{arg}' is NULL; a valid pointer is required"))
    }
}

impl From<unipool::Error> for FfiError {
    fn from(e: unipool::Error) -> Self {
        FfiError { code: code_of(e.kind()), message: e.to_string(), config_key: e.config_key().map(str::to_string) }
    }
}

pub(crate) type FfiResult<T = ()> = Result<T, FfiError>;

struct LastError {
    code: c_int,
    message: CString,
    config_key: CString,
}

thread_local! {
    static LAST_ERROR: RefCell<LastError> = RefCell::new(LastError {
        code: OK,
        message: CString::default(),
        config_key: CString::default(),
    });
}

pub(crate) fn set_last_error(code: c_int, message: &str) {
    set_last_error_full(code, message, None)
}

pub(crate) fn set_last_error_full(code: c_int, message: &str, config_key: Option<&str>) {
    let message = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    let config_key = CString::new(config_key.unwrap_or("").replace('\0', "")).unwrap_or_default();
    // try_with: during thread teardown the slot may already be gone; then there is no
    // one left on this thread to read the message anyway.
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            slot.code = code;
            slot.message = message;
            slot.config_key = config_key;
        }
    });
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

/// Runs an `extern "C"` body: catches panics, records the error for this thread and
/// turns the outcome into a status code.
pub(crate) fn guard(body: impl FnOnce() -> FfiResult) -> c_int {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => OK,
        Ok(Err(e)) => {
            set_last_error_full(e.code, &e.message, e.config_key.as_deref());
            e.code
        }
        Err(payload) => {
            let code = unipool_code::UNIPOOL_E_INTERNAL as c_int;
            set_last_error(code, &format!("internal error (Rust panic): {}", panic_message(&*payload)));
            code
        }
    }
}

/// Like [`guard`] for functions that return nothing (the `_free` family).
pub(crate) fn guard_void(body: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(body)) {
        set_last_error(
            unipool_code::UNIPOOL_E_INTERNAL as c_int,
            &format!("internal error (Rust panic): {}", panic_message(&*payload)),
        );
    }
}

/// Borrows a C string argument as UTF-8.
pub(crate) unsafe fn arg_str<'a>(p: *const c_char, arg: &str) -> FfiResult<&'a str> {
    if p.is_null() {
        return Err(FfiError::null(arg));
    }
    CStr::from_ptr(p)
        .to_str()
        .map_err(|_| FfiError::usage(format!("argument '{arg}' is not valid UTF-8")))
}

/// Copies `s` into a caller buffer the way snprintf does: at most `buf_len - 1` bytes and a
/// terminating NUL (nothing when `buf_len` is 0), and stores the full length (without the NUL)
/// in `*needed` when `needed` is not NULL. `buf` may be NULL only when `buf_len` is 0.
pub(crate) unsafe fn copy_out(s: &str, buf: *mut c_char, buf_len: usize, needed: *mut usize) -> FfiResult {
    if buf.is_null() && buf_len != 0 {
        return Err(FfiError::usage("argument 'buf' is NULL but 'buf_len' is not 0"));
    }
    if !needed.is_null() {
        *needed = s.len();
    }
    if buf_len > 0 {
        let n = s.len().min(buf_len - 1);
        std::ptr::copy_nonoverlapping(s.as_ptr(), buf as *mut u8, n);
        *buf.add(n) = 0;
    }
    Ok(())
}

/// Hands a Rust string to C as a malloc-free-able-by-us `char *` (free with unipool_string_free).
pub(crate) fn owned_c_string(s: &str) -> *mut c_char {
    CString::new(s.replace('\0', "\\0")).unwrap_or_default().into_raw()
}

/// Message of the last failed unipool call on the calling thread.
///
/// Returns a NUL-terminated string owned by the library, valid on this thread until the next
/// failing unipool call on this thread; copy it if you need it longer. Never NULL: "" when no call
/// has failed on this thread yet. A successful call does not clear it.
#[no_mangle]
pub extern "C" fn unipool_last_error_message() -> *const c_char {
    static EMPTY: &[u8] = b"\0";
    catch_unwind(|| {
        LAST_ERROR
            .try_with(|slot| match slot.try_borrow() {
                Ok(slot) => slot.message.as_ptr(),
                Err(_) => EMPTY.as_ptr() as *const c_char,
            })
            .unwrap_or(EMPTY.as_ptr() as *const c_char)
    })
    .unwrap_or(EMPTY.as_ptr() as *const c_char)
}

/// The configuration key the last failed call on this thread was about (set with
/// UNIPOOL_E_INVALID_CONFIG, canonical name, e.g. "min_idle"), "" otherwise. Owned by the library,
/// valid like unipool_last_error_message. Never NULL.
#[no_mangle]
pub extern "C" fn unipool_last_error_config_key() -> *const c_char {
    static EMPTY: &[u8] = b"\0";
    catch_unwind(|| {
        LAST_ERROR
            .try_with(|slot| match slot.try_borrow() {
                Ok(slot) => slot.config_key.as_ptr(),
                Err(_) => EMPTY.as_ptr() as *const c_char,
            })
            .unwrap_or(EMPTY.as_ptr() as *const c_char)
    })
    .unwrap_or(EMPTY.as_ptr() as *const c_char)
}

/// Status code (UNIPOOL_E_*) of the last failed unipool call on the calling thread,
/// UNIPOOL_OK when none has failed yet. A successful call does not clear it.
#[no_mangle]
pub extern "C" fn unipool_last_error_kind() -> c_int {
    catch_unwind(|| LAST_ERROR.try_with(|slot| slot.try_borrow().map(|s| s.code).unwrap_or(OK)).unwrap_or(OK))
        .unwrap_or(unipool_code::UNIPOOL_E_INTERNAL as c_int)
}

/// The constant's name for a status code, e.g. "UNIPOOL_E_POOL_TIMEOUT"; "UNIPOOL_E_UNKNOWN" for
/// a value that is not a unipool code. The string is static: never free it.
#[no_mangle]
pub extern "C" fn unipool_code_name(code: c_int) -> *const c_char {
    catch_unwind(|| code_name(code)).unwrap_or(b"UNIPOOL_E_UNKNOWN\0".as_ptr() as *const c_char)
}

fn code_name(code: c_int) -> *const c_char {
    let s: &'static [u8] = match code {
        0 => b"UNIPOOL_OK\0",
        1 => b"UNIPOOL_E_POOL_TIMEOUT\0",
        2 => b"UNIPOOL_E_POOL_CLOSED\0",
        3 => b"UNIPOOL_E_CONNECT_FAILED\0",
        4 => b"UNIPOOL_E_CONNECT_TIMEOUT\0",
        5 => b"UNIPOOL_E_CONNECTION_BROKEN\0",
        6 => b"UNIPOOL_E_INVALID_CONFIG\0",
        7 => b"UNIPOOL_E_INVALID_USAGE\0",
        99 => b"UNIPOOL_E_INTERNAL\0",
        _ => b"UNIPOOL_E_UNKNOWN\0",
    };
    s.as_ptr() as *const c_char
}

/// Frees a string the library returned through a `char **` out-parameter
/// (unipool_pool_metrics_string, unipool_config_to_string). NULL is a no-op.
/// Never pass a pointer that did not come from unipool, and never free it twice.
#[no_mangle]
pub unsafe extern "C" fn unipool_string_free(s: *mut c_char) {
    if !s.is_null() {
        guard_void(|| drop(CString::from_raw(s)));
    }
}

/// The library version as a static NUL-terminated string, e.g. "0.1.0". Never free it.
#[no_mangle]
pub extern "C" fn unipool_version() -> *const c_char {
    // Nothing here can panic; the catch_unwind keeps the rule "every body is guarded" literal.
    catch_unwind(|| concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char).unwrap_or(b"\0".as_ptr() as *const c_char)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last_message() -> String {
        unsafe { CStr::from_ptr(unipool_last_error_message()) }.to_string_lossy().into_owned()
    }

    #[test]
    fn a_panic_becomes_internal_and_sets_the_last_error() {
        let code = guard(|| panic!("boom {}", 42));
        assert_eq!(code, 99);
        assert_eq!(unipool_last_error_kind(), 99);
        assert!(last_message().contains("boom 42"), "{}", last_message());
        guard_void(|| panic!("in a free"));
        assert!(last_message().contains("in a free"));
    }

    #[test]
    fn every_error_kind_has_its_code() {
        let want = [1, 2, 3, 4, 5, 6, 7, 99];
        for (kind, code) in ErrorKind::ALL.iter().zip(want) {
            assert_eq!(code_of(*kind), code, "{kind:?}");
            assert_eq!(kind_of(code, ErrorKind::Internal), *kind);
        }
    }

    #[test]
    fn copy_out_is_snprintf_like() {
        let mut buf = [7 as c_char; 4];
        let mut needed = 0usize;
        unsafe { copy_out("hello", buf.as_mut_ptr(), 4, &mut needed) }.unwrap();
        assert_eq!(needed, 5);
        assert_eq!(unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap(), "hel");
        unsafe { copy_out("hello", std::ptr::null_mut(), 0, &mut needed) }.unwrap();
        assert!(unsafe { copy_out("x", std::ptr::null_mut(), 3, std::ptr::null_mut()) }.is_err());
    }

    /// Every `extern "C"` function body runs inside catch_unwind (via guard / guard_void or
    /// directly), so no panic can unwind into C.
    #[test]
    fn every_extern_c_body_is_guarded() {
        let sources = [
            ("error.rs", include_str!("error.rs")),
            ("config.rs", include_str!("config.rs")),
            ("pool.rs", include_str!("pool.rs")),
            ("events.rs", include_str!("events.rs")),
        ];
        let mut count = 0;
        for (file, src) in sources {
            let mut rest = src;
            while let Some(i) = rest.find("extern \"C\" fn unipool_") {
                let after = &rest[i..];
                let body_start = after.find('{').expect("body");
                // the body ends at the next top-level "\n}"
                let body_end = after[body_start..].find("\n}").expect("end of body") + body_start;
                let body = &after[body_start..body_end];
                let name = &after[14..after.find('(').unwrap()];
                assert!(
                    body.contains("guard(") || body.contains("guard_void(") || body.contains("catch_unwind("),
                    "{file}: {name} is not guarded"
                );
                count += 1;
                rest = &after[body_end..];
            }
        }
        assert!(count >= 45, "found only {count} extern \"C\" functions");
    }
}
