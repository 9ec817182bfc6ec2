//! One error type for every front end.
//!
//! Each binding maps [`ErrorKind`] to its own idiom in exactly one exhaustive
//! `match` (Python exception classes, a JS `code`, a C status), so adding a
//! kind here breaks their build instead of silently falling through.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::pool::PoolStatus;

/// What went wrong, independent of the language the caller uses.
///
/// Deliberately not `#[non_exhaustive]`: every binding maps it with an
/// exhaustive `match` and no wildcard, so a new kind fails their build
/// instead of silently becoming "internal".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// No connection became available within `pool_timeout`.
    PoolTimeout,
    /// The pool was closed before or while waiting.
    PoolClosed,
    /// Creating a connection failed (the driver's error is the source).
    ConnectFailed,
    /// Creating a connection took longer than `connect_timeout`.
    ConnectTimeout,
    /// A connection failed its ping or reset and was discarded.
    ConnectionBroken,
    /// A configuration key or value was not acceptable.
    InvalidConfig,
    /// The API was used in a way it does not allow (double release, ...).
    InvalidUsage,
    /// A bug in unipool or a caught panic.
    Internal,
}

impl ErrorKind {
    /// Every kind, for exhaustive tables in docs and bindings' tests.
    pub const ALL: [ErrorKind; 8] = [
        ErrorKind::PoolTimeout,
        ErrorKind::PoolClosed,
        ErrorKind::ConnectFailed,
        ErrorKind::ConnectTimeout,
        ErrorKind::ConnectionBroken,
        ErrorKind::InvalidConfig,
        ErrorKind::InvalidUsage,
        ErrorKind::Internal,
    ];

    /// snake_case name, as used in conformance files and event payloads.
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorKind::PoolTimeout => "pool_timeout",
            ErrorKind::PoolClosed => "pool_closed",
            ErrorKind::ConnectFailed => "connect_failed",
            ErrorKind::ConnectTimeout => "connect_timeout",
            ErrorKind::ConnectionBroken => "connection_broken",
            ErrorKind::InvalidConfig => "invalid_config",
            ErrorKind::InvalidUsage => "invalid_usage",
            ErrorKind::Internal => "internal",
        }
    }

    /// The code the Node binding puts in `err.code` (`UNIPOOL_POOL_TIMEOUT`, ...).
    pub fn code(&self) -> &'static str {
        match self {
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

    /// Parses [`ErrorKind::as_str`] back.
    pub fn parse(s: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether retrying the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ErrorKind::PoolTimeout
                | ErrorKind::ConnectFailed
                | ErrorKind::ConnectTimeout
                | ErrorKind::ConnectionBroken
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type Source = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// The error every unipool operation returns.
///
/// Cheap to clone (the source is shared), so the pool can keep the last
/// connect error and attach it as the cause of later timeouts.
#[derive(Clone)]
pub struct Error {
    inner: Arc<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    source: Option<Source>,
    status: Option<PoolStatus>,
    waited: Option<Duration>,
    config_key: Option<String>,
}

impl Error {
    /// A new error of `kind`. The message must not contain secrets.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            inner: Arc::new(Inner {
                kind,
                message: message.into(),
                source: None,
                status: None,
                waited: None,
                config_key: None,
            }),
        }
    }

    fn map(self, f: impl FnOnce(&mut Inner)) -> Error {
        let mut inner = match Arc::try_unwrap(self.inner) {
            Ok(inner) => inner,
            Err(shared) => Inner {
                kind: shared.kind,
                message: shared.message.clone(),
                source: shared.source.clone(),
                status: shared.status.clone(),
                waited: shared.waited,
                config_key: shared.config_key.clone(),
            },
        };
        f(&mut inner);
        Error { inner: Arc::new(inner) }
    }

    /// Attaches the underlying cause (a driver error, the last connect error).
    pub fn with_source(self, source: impl std::error::Error + Send + Sync + 'static) -> Error {
        let source: Source = Arc::new(source);
        self.map(|i| i.source = Some(source))
    }

    /// Attaches an already shared cause.
    pub fn with_shared_source(self, source: Arc<dyn std::error::Error + Send + Sync>) -> Error {
        self.map(|i| i.source = Some(source))
    }

    pub(crate) fn with_status(self, status: PoolStatus, waited: Duration) -> Error {
        self.map(|i| {
            i.status = Some(status);
            i.waited = Some(waited);
        })
    }

    /// An invalid-configuration error naming the key, the value and what is allowed.
    /// The value is redacted (a DSN given under a wrong key must not put its
    /// password into the message).
    pub fn config(key: &str, value: impl fmt::Display, allowed: impl fmt::Display) -> Error {
        let value = redact(&value.to_string());
        Error::new(
            ErrorKind::InvalidConfig,
            format!("invalid pool configuration: {key} = {value}: {allowed}"),
        )
        .map(|i| i.config_key = Some(key.to_string()))
    }

    /// The kind, for matching.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The message alone, without the cause.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// For [`ErrorKind::PoolTimeout`]: the pool's counts when the wait ended.
    pub fn status(&self) -> Option<&PoolStatus> {
        self.inner.status.as_ref()
    }

    /// For [`ErrorKind::PoolTimeout`]: how long the caller waited.
    pub fn waited(&self) -> Option<Duration> {
        self.inner.waited
    }

    /// For [`ErrorKind::InvalidConfig`]: the offending key as the caller spelt it.
    pub fn config_key(&self) -> Option<&str> {
        self.inner.config_key.as_deref()
    }

    /// Whether retrying later may succeed.
    pub fn is_retryable(&self) -> bool {
        self.inner.kind.is_retryable()
    }

    /// The cause as a shared pointer (bindings use it to chain host exceptions).
    pub fn shared_source(&self) -> Option<Arc<dyn std::error::Error + Send + Sync>> {
        self.inner.source.clone()
    }

    /// The message followed by every cause, `: `-separated. A cause whose
    /// text the message already quotes is not repeated.
    pub fn full_message(&self) -> String {
        let mut out = self.inner.message.clone();
        let mut cur: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(self);
        while let Some(e) = cur {
            let text = e.to_string();
            if !out.contains(&text) {
                out.push_str(": ");
                out.push_str(&text);
            }
            cur = e.source();
        }
        out
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind).field("message", &self.inner.message);
        if let Some(s) = &self.inner.source {
            d.field("source", &s.to_string());
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.source.as_deref().map(|s| s as &(dyn std::error::Error + 'static))
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Removes the password from anything URL-shaped in `s`, for messages and logs.
///
/// `postgres://user:secret@host/db` becomes `postgres://user:***@host/db`;
/// `password=secret` key/value pairs (libpq style) become `password=***`.
pub fn redact(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    // URL userinfo: scheme://user:pass@
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        let end = tail.find(|c: char| c == '/' || c.is_whitespace() || c == '?' || c == '#').unwrap_or(tail.len());
        let authority = &tail[..end];
        if let Some(at) = authority.rfind('@') {
            let userinfo = &authority[..at];
            if let Some(colon) = userinfo.find(':') {
                out.push_str(&userinfo[..colon]);
                out.push_str(":***");
                out.push_str(&authority[at..]);
            } else {
                out.push_str(authority);
            }
        } else {
            out.push_str(authority);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    // key=value secrets
    let mut result = String::with_capacity(out.len());
    let lower = out.to_ascii_lowercase();
    let mut i = 0;
    let bytes = out.as_bytes();
    while i < out.len() {
        let mut matched = false;
        for key in ["password=", "passwd=", "pwd="] {
            if lower[i..].starts_with(key) && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric() && bytes[i - 1] != b'_') {
                result.push_str(&out[i..i + key.len()]);
                result.push_str("***");
                i += key.len();
                while i < out.len() && !matches!(bytes[i], b'&' | b' ' | b';' | b'\n' | b'\t') {
                    i += 1;
                }
                matched = true;
                break;
            }
        }
        if !matched {
            let ch = out[i..].chars().next().unwrap();
            result.push(ch);
            i += ch.len_utf8();
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_masks_url_passwords_and_key_values() {
        assert_eq!(redact("postgres://u:secret@h:5432/db?x=1"), "postgres://u:***@h:5432/db?x=1");
        assert_eq!(redact("connect to redis://:pw@127.0.0.1/0 failed"), "connect to redis://:***@127.0.0.1/0 failed");
        assert_eq!(redact("host=h password=hunter2 user=u"), "host=h password=*** user=u");
        assert_eq!(redact("mysql://root@h/db"), "mysql://root@h/db");
        assert!(!redact("a://x:y@z and b://p:q@r").contains('y'));
    }

    #[test]
    fn full_message_does_not_repeat_quoted_causes() {
        let driver = Error::new(ErrorKind::ConnectFailed, "connection refused");
        let wrapped = Error::new(ErrorKind::ConnectFailed, "pool 'p': connect failed: connection refused").with_source(driver);
        let timeout = Error::new(ErrorKind::PoolTimeout, format!("timed out; last error: {}", wrapped.full_message()))
            .with_source(wrapped);
        let m = timeout.full_message();
        assert_eq!(m.matches("connection refused").count(), 1, "{m}");
        let plain = Error::new(ErrorKind::ConnectFailed, "pool 'p': connect failed").with_source(Error::new(ErrorKind::Internal, "eof"));
        assert_eq!(plain.full_message(), "pool 'p': connect failed: eof");
    }

    #[test]
    fn kinds_round_trip() {
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::parse(k.as_str()), Some(k));
            assert!(k.code().starts_with("UNIPOOL_"));
        }
    }

    #[test]
    fn config_error_names_key_value_and_range() {
        let e = Error::config("pool_size", "-3", "expected an integer from 0 to 100000");
        assert_eq!(e.kind(), ErrorKind::InvalidConfig);
        assert_eq!(e.config_key(), Some("pool_size"));
        assert!(e.to_string().contains("pool_size = -3"));
        assert!(e.to_string().contains("0 to 100000"));
        let e = Error::config("pool_name", "postgres://app:hunter2@db/x", "expected a name");
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(e.to_string().contains("postgres://app:***@db/x"), "{e}");
    }
}
