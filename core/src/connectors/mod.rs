//! Built-in connectors: [`Manager`](crate::Manager) implementations for real
//! databases, each behind its own cargo feature.
//!
//! | feature         | manager                                   | connection type                          |
//! |-----------------|-------------------------------------------|------------------------------------------|
//! | `postgres`      | [`postgres::PgManager`]                   | `sqlx::PgConnection`                     |
//! | `mysql`         | [`mysql::MySqlManager`]                   | `sqlx::MySqlConnection`                  |
//! | `sqlite`        | [`sqlite::SqliteManager`]                 | `sqlx::SqliteConnection`                 |
//! | `redis`         | [`redis::RedisManager`]                   | `redis::aio::MultiplexedConnection`      |
//! | `redis-cluster` | [`redis::RedisClusterManager`]            | `redis::cluster_async::ClusterConnection`|
//!
//! A checked-out `PooledConnection<M>` derefs to the driver's own connection,
//! so queries are written with sqlx / redis-rs exactly as their docs show.
//!
//! Every manager is built with `from_url(url)`. Pool parameters in the query
//! string (`pool_size=…`, `max_overflow=…`, …) belong to
//! [`PoolConfig::from_url`](crate::PoolConfig::from_url) and are ignored here;
//! driver parameters (`sslmode=require`, `application_name=…`) go to the
//! driver; the few connector options (`pgbouncer`, `reset`) are read by the
//! manager. No error, log line or `Debug` output of a manager ever contains
//! the password of the URL: it is shown as `***`.

use std::fmt;
use std::time::Duration;

use crate::{Error, ErrorKind};

#[cfg(feature = "postgres")]
pub mod postgres;

#[cfg(feature = "mysql")]
pub mod mysql;

#[cfg(feature = "sqlite")]
pub mod sqlite;

#[cfg(feature = "redis")]
pub mod redis;

/// The password placeholder used in every URL this module shows.
pub(crate) const MASK: &str = "***";

/// Returns `url` with its password (if any) replaced by `***`.
///
/// Works for ordinary URLs and for the comma-separated host lists used for
/// Redis Cluster (`redis://:secret@h1:7000,h2:7001`), and never panics: a
/// string it cannot understand is returned with everything between `://`
/// and the last `@` of the authority replaced.
pub fn mask_url(url: &str) -> String {
    let url = &mask_query_password(url);
    if let Ok(mut parsed) = url::Url::parse(url) {
        if parsed.password().is_some() && parsed.set_password(Some(MASK)).is_ok() {
            return parsed.to_string();
        }
        if parsed.password().is_none() {
            // Nothing to hide; keep the caller's spelling.
            return url.to_string();
        }
    }
    mask_authority(url)
}

/// Masks `password=` in the query string (sqlx and libpq accept it there).
fn mask_query_password(url: &str) -> String {
    let (base, pairs, fragment) = split_query(url);
    if !pairs.iter().any(|(k, _)| k.eq_ignore_ascii_case("password")) {
        return url.to_string();
    }
    let pairs: Vec<(String, String)> = pairs
        .into_iter()
        .map(|(k, v)| {
            if k.eq_ignore_ascii_case("password") {
                (k, MASK.to_string())
            } else {
                (k, v)
            }
        })
        .collect();
    join_query(&base, &pairs, fragment.as_deref())
}

/// Manual masking for strings the url crate rejects (host lists, odd schemes).
fn mask_authority(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[start..];
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..auth_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_string();
    };
    let userinfo = &authority[..at];
    let masked_userinfo = match userinfo.find(':') {
        Some(colon) => format!("{}:{}", &userinfo[..colon], MASK),
        // `redis://secret@host` puts the password where the user would be for redis-rs
        None if url.starts_with("redis") || url.starts_with("rediss") => MASK.to_string(),
        None => userinfo.to_string(),
    };
    format!("{}{}{}", &url[..start], masked_userinfo, &rest[at..])
}

/// The password of `url`, percent-decoded, if it has one (used to scrub
/// driver error messages).
#[cfg_attr(not(any(feature = "postgres", feature = "mysql", feature = "redis")), allow(dead_code))]
pub(crate) fn url_password(url: &str) -> Option<String> {
    let (_, pairs, _) = split_query(url);
    if let Some((_, v)) = pairs.iter().find(|(k, _)| k.eq_ignore_ascii_case("password")) {
        if !v.is_empty() {
            return Some(v.clone());
        }
    }
    if let Ok(u) = url::Url::parse(url) {
        return u.password().map(percent_encoding_decode);
    }
    // Host lists (`h1:p1,h2:p2`) are not URLs to the url crate: take the
    // userinfo of the authority by hand.
    let start = url.find("://")? + 3;
    let rest = &url[start..];
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..auth_end];
    let at = authority.rfind('@')?;
    let userinfo = &authority[..at];
    let pw = &userinfo[userinfo.find(':')? + 1..];
    if pw.is_empty() {
        None
    } else {
        Some(percent_encoding_decode(pw))
    }
}

#[cfg_attr(not(any(feature = "postgres", feature = "mysql", feature = "redis")), allow(dead_code))]
fn percent_encoding_decode(s: &str) -> String {
    // Minimal %XX decoder (the url crate keeps userinfo percent-encoded).
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A driver error whose text contained the password: the same text with the
/// password replaced, and no further source (the original could print it).
#[derive(Debug, Clone)]
pub struct ScrubbedError {
    message: String,
    transient: bool,
}

impl ScrubbedError {
    /// Whether the original error was judged transient (worth retrying).
    pub fn is_transient(&self) -> bool {
        self.transient
    }
}

impl fmt::Display for ScrubbedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ScrubbedError {}

/// Wraps a driver error as a unipool error of `kind`, with the driver error as
/// source. If the driver's message (or any message in its source chain)
/// contains the password, the source is replaced by a [`ScrubbedError`].
pub(crate) fn driver_error<E>(
    kind: ErrorKind,
    context: impl fmt::Display,
    err: E,
    password: Option<&str>,
) -> Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    let chain = error_chain_text(&err);
    match password {
        Some(pw) if !pw.is_empty() && chain.contains(pw) => {
            let scrubbed = crate::redact(&chain.replace(pw, MASK));
            let transient = is_transient_source(&err);
            Error::new(kind, format!("{context}: {scrubbed}")).with_source(ScrubbedError {
                message: scrubbed,
                transient,
            })
        }
        _ => Error::new(kind, format!("{context}: {}", crate::redact(&chain))).with_source(err),
    }
}

/// Whether a connect error may go away by retrying. Permanent: bad
/// credentials, unknown database, bad configuration, TLS refused.
pub(crate) fn is_transient(err: &Error) -> bool {
    match err.kind() {
        ErrorKind::ConnectTimeout => true,
        ErrorKind::InvalidConfig | ErrorKind::InvalidUsage => false,
        _ => match std::error::Error::source(err) {
            Some(src) => is_transient_source(src),
            None => true,
        },
    }
}

fn is_transient_source(src: &(dyn std::error::Error + 'static)) -> bool {
    if let Some(s) = src.downcast_ref::<ScrubbedError>() {
        return s.transient;
    }
    #[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
    if let Some(e) = src.downcast_ref::<sqlx::Error>() {
        return match e {
            sqlx::Error::Database(db) => {
                let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
                // PostgreSQL: 28xxx invalid authorization, 3D000 unknown database.
                // MySQL: 1044/1045 access denied, 1049 unknown database.
                !(code.starts_with("28")
                    || code == "3D000"
                    || code == "1044"
                    || code == "1045"
                    || code == "1049"
                    || code == "42000" && db.message().contains("Unknown database"))
            }
            sqlx::Error::Configuration(_) | sqlx::Error::Tls(_) => false,
            _ => true,
        };
    }
    #[cfg(feature = "redis")]
    if let Some(e) = src.downcast_ref::<::redis::RedisError>() {
        return !matches!(
            e.kind(),
            ::redis::ErrorKind::AuthenticationFailed | ::redis::ErrorKind::InvalidClientConfig
        );
    }
    true
}

/// `err: cause: cause…` (deduplicated: drivers often repeat the source text).
fn error_chain_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let t = s.to_string();
        if !text.contains(&t) {
            text.push_str(": ");
            text.push_str(&t);
        }
        source = s.source();
    }
    text
}

/// Applies an optional connect timeout to a connect future, mapping the
/// outcome to `ConnectFailed` / `ConnectTimeout` with a masked URL.
pub(crate) async fn connect_with_timeout<T, E, F>(
    what: &str,
    masked_url: &str,
    password: Option<&str>,
    timeout: Option<Duration>,
    fut: F,
) -> Result<T, Error>
where
    F: std::future::Future<Output = Result<T, E>>,
    E: std::error::Error + Send + Sync + 'static,
{
    let result = match timeout {
        Some(limit) => match tokio::time::timeout(limit, fut).await {
            Ok(r) => r,
            Err(_) => {
                return Err(Error::new(
                    ErrorKind::ConnectTimeout,
                    format!(
                        "connecting to {what} at {masked_url} timed out after {:.3}s (connect_timeout)",
                        limit.as_secs_f64()
                    ),
                ))
            }
        },
        None => fut.await,
    };
    result.map_err(|e| {
        driver_error(
            ErrorKind::ConnectFailed,
            format_args!("could not connect to {what} at {masked_url}"),
            e,
            password,
        )
    })
}

/// Ends every transaction level sqlx tracks on `conn` (innermost first), via
/// sqlx's TransactionManager so that its depth counter matches the server.
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
pub(crate) async fn end_sqlx_transactions<DB: sqlx::Database>(
    conn: &mut DB::Connection,
    commit: bool,
) -> Result<(), sqlx::Error> {
    use sqlx::{Connection, TransactionManager};
    while conn.is_in_transaction() {
        if commit {
            DB::TransactionManager::commit(conn).await?;
        } else {
            DB::TransactionManager::rollback(conn).await?;
        }
    }
    Ok(())
}

/// Whether a returned sqlx connection has anything to undo: a transaction
/// sqlx tracks, or messages still to flush (a dropped `Transaction` queued its
/// ROLLBACK, or a cancelled query left a response unread).
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
pub(crate) fn sqlx_dirty<C: sqlx::Connection>(conn: &mut C) -> bool {
    conn.is_in_transaction() || conn.should_flush()
}

/// The sqlx managers' common return path: end every tracked transaction
/// (commit or roll back), else flush pending messages and wait for the server,
/// so the next user gets a clean connection (or we learn it is dead). On
/// failure, says which step failed ("COMMIT", "ROLLBACK", "flush on return").
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
pub(crate) async fn sqlx_end_or_flush<DB: sqlx::Database>(
    conn: &mut DB::Connection,
    commit: bool,
) -> Result<(), (&'static str, sqlx::Error)> {
    use sqlx::Connection;
    if conn.is_in_transaction() {
        end_sqlx_transactions::<DB>(conn, commit)
            .await
            .map_err(|e| (if commit { "COMMIT" } else { "ROLLBACK" }, e))
    } else if conn.should_flush() {
        conn.ping().await.map_err(|e| ("flush on return", e))
    } else {
        Ok(())
    }
}

/// Pre-ping for the sqlx managers: `SELECT 1` over the simple-query protocol
/// (no prepared statement, so it also works through PgBouncer).
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
pub(crate) async fn sqlx_ping<DB: sqlx::Database>(conn: &mut DB::Connection) -> Result<(), sqlx::Error>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    sqlx::Executor::execute(&mut *conn, "SELECT 1").await.map(|_| ())
}

/// Graceful close, bounded so a dead peer cannot hold the closer.
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
pub(crate) async fn sqlx_close<C: sqlx::Connection>(conn: C) {
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), conn.close()).await;
}

/// Splits `url` into the part before `?`, the decoded query pairs, and the
/// fragment (kept verbatim, after `#`).
pub(crate) fn split_query(url: &str) -> (String, Vec<(String, String)>, Option<String>) {
    let (url, fragment) = match url.split_once('#') {
        Some((u, f)) => (u, Some(f.to_string())),
        None => (url, None),
    };
    match url.split_once('?') {
        Some((base, query)) => {
            let pairs = url::form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            (base.to_string(), pairs, fragment)
        }
        None => (url.to_string(), Vec::new(), fragment),
    }
}

/// Joins what [`split_query`] split (re-encoding the pairs).
pub(crate) fn join_query(base: &str, pairs: &[(String, String)], fragment: Option<&str>) -> String {
    let mut out = base.to_string();
    if !pairs.is_empty() {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            ser.append_pair(k, v);
        }
        out.push('?');
        out.push_str(&ser.finish());
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// Removes the pool parameters from `url` (they are the pool's business, see
/// `PoolConfig::from_url`) and returns the rest.
pub(crate) fn strip_pool_params(url: &str) -> crate::Result<String> {
    let (_config, rest) = crate::PoolConfig::from_url(url)?;
    Ok(rest)
}

/// Parses a boolean connector option from the URL.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) fn parse_bool_option(key: &str, value: &str) -> crate::Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(invalid_option(key, value, "true or false (also 1/0, yes/no, on/off)")),
    }
}

/// `InvalidConfig` naming the URL option, its value and what is allowed.
pub(crate) fn invalid_option(key: &str, value: &str, allowed: &str) -> Error {
    Error::new(
        ErrorKind::InvalidConfig,
        format!("invalid value '{value}' for URL option '{key}': expected {allowed}"),
    )
}

/// libpq-style `connect_timeout` from the URL: seconds, `0` = no limit.
pub(crate) fn parse_connect_timeout(value: &str) -> crate::Result<Option<Duration>> {
    let d = parse_duration_option("connect_timeout", value).map_err(|_| {
        invalid_option("connect_timeout", value, "a number of seconds >= 0 (0 = no limit), e.g. 5")
    })?;
    Ok(if d.is_zero() { None } else { Some(d) })
}

/// Parses a duration option given in (float) seconds, or with a `ms`/`s` suffix.
pub(crate) fn parse_duration_option(key: &str, value: &str) -> crate::Result<Duration> {
    let v = value.trim();
    let (num, scale) = if let Some(n) = v.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1.0)
    } else {
        (v, 1.0)
    };
    match num.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(Duration::from_secs_f64(x * scale)),
        _ => Err(invalid_option(
            key,
            value,
            "a non-negative number of seconds (e.g. 5, 2.5, 500ms)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_password_in_plain_url() {
        let m = mask_url("postgres://alice:s3cret@db.example:5432/app?sslmode=require");
        assert!(!m.contains("s3cret"), "{m}");
        assert!(m.contains("alice:***@db.example:5432/app"), "{m}");
    }

    #[test]
    fn masks_password_in_host_list() {
        let m = mask_url("redis://:s3cret@127.0.0.1:7000,127.0.0.1:7001/0");
        assert!(!m.contains("s3cret"), "{m}");
        assert_eq!(m, "redis://:***@127.0.0.1:7000,127.0.0.1:7001/0");
    }

    #[test]
    fn masks_password_query_parameter() {
        let u = "postgres://h/db?user=u&password=s3cret&sslmode=require";
        let m = mask_url(u);
        assert!(!m.contains("s3cret"), "{m}");
        assert!(m.contains("sslmode=require"), "{m}");
        assert_eq!(url_password(u).as_deref(), Some("s3cret"));
    }

    #[test]
    fn keeps_url_without_password() {
        assert_eq!(mask_url("sqlite::memory:"), "sqlite::memory:");
        assert_eq!(mask_url("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }

    #[test]
    fn finds_percent_encoded_password() {
        assert_eq!(url_password("postgres://u:p%40ss@h/d").as_deref(), Some("p@ss"));
        assert_eq!(url_password("redis://:pw@h1:1,h2:2").as_deref(), Some("pw"));
        assert_eq!(url_password("postgres://u@h/d"), None);
    }

    #[test]
    fn scrubs_driver_error_containing_password() {
        // not URL-shaped, so only the password scrubbing can catch it
        let io = std::io::Error::other("server said: password 'hunter2' rejected");
        let e = driver_error(ErrorKind::ConnectFailed, "could not connect", io, Some("hunter2"));
        assert!(!e.to_string().contains("hunter2"));
        let src = std::error::Error::source(&e).expect("source kept");
        assert!(!src.to_string().contains("hunter2"));
    }
}
