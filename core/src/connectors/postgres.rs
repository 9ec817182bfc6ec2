//! PostgreSQL through sqlx (`feature = "postgres"`).
//!
//! ```no_run
//! # async fn demo() -> unipool::Result<()> {
//! use unipool::connectors::postgres::PgManager;
//! use unipool::{Pool, PoolConfig};
//!
//! let url = "postgres://postgres@127.0.0.1:5432/test?sslmode=prefer&pool_size=5";
//! let (config, _) = PoolConfig::from_url(url)?;
//! let pool = Pool::new(PgManager::from_url(url)?, config)?;
//! let mut conn = pool.get().await?;
//! let (one,): (i32,) = sqlx::query_as("SELECT 1").fetch_one(&mut *conn).await.unwrap();
//! # let _ = one; Ok(()) }
//! ```
//!
//! URL options read by the manager (removed before the URL reaches sqlx):
//!
//! * `pgbouncer=true` — for PgBouncer in transaction mode: turns sqlx's
//!   statement cache off (`statement_cache_capacity(0)`), so no named
//!   prepared statement is ever reused on another server connection. See
//!   docs/connectors.md for what sqlx 0.8 still needs from the caller there.
//! * `reset=rollback|reset-all|discard-all|none` — what happens when a
//!   connection comes back to the pool (default `rollback`, see [`PgReset`]).
//!
//! Every other parameter (`sslmode`, `sslrootcert`, `application_name`,
//! `options`, `statement-cache-capacity`, …) is passed to sqlx; pool
//! parameters (`pool_size`, `max_overflow`, …) are ignored here.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, Executor};

use super::{
    parse_connect_timeout,
    connect_with_timeout, driver_error, invalid_option, join_query, mask_url, parse_bool_option,
    split_query, strip_pool_params, url_password,
};
use crate::{Error, ErrorKind, Manager, ResetOnReturn};

/// What [`PgManager::reset`] does when a connection is returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PgReset {
    /// Roll back any transaction sqlx knows is open (a `Transaction` that was
    /// neither committed nor rolled back, including the rollback sqlx queues
    /// when a `Transaction` is dropped) and drain whatever a cancelled query
    /// left on the wire. Costs no round trip when there is nothing to undo.
    /// A transaction opened by executing a raw `BEGIN` is invisible to sqlx:
    /// use `conn.begin()`, or `DiscardAll`.
    #[default]
    Rollback,
    /// `Rollback`, then `RESET ALL` (session settings back to defaults).
    /// One round trip per return.
    ResetAll,
    /// `Rollback`, then `DISCARD ALL` (settings, temp tables, prepared
    /// statements, advisory locks, LISTEN). Also ends a raw `BEGIN` block.
    /// sqlx's statement cache is cleared with it. One or two round trips.
    DiscardAll,
    /// Nothing at all.
    None,
}

impl PgReset {
    /// The spelling used in URLs and docs.
    pub fn as_str(&self) -> &'static str {
        match self {
            PgReset::Rollback => "rollback",
            PgReset::ResetAll => "reset-all",
            PgReset::DiscardAll => "discard-all",
            PgReset::None => "none",
        }
    }
}

impl FromStr for PgReset {
    type Err = Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "rollback" => Ok(PgReset::Rollback),
            "reset-all" | "reset" => Ok(PgReset::ResetAll),
            "discard-all" | "discard" => Ok(PgReset::DiscardAll),
            "none" | "off" | "false" => Ok(PgReset::None),
            _ => Err(invalid_option(
                "reset",
                s,
                "one of rollback, reset-all, discard-all, none",
            )),
        }
    }
}

/// A [`Manager`] of `sqlx::PgConnection`s.
#[derive(Clone)]
pub struct PgManager {
    options: PgConnectOptions,
    masked_url: String,
    password: Option<String>,
    connect_timeout: Option<Duration>,
    reset: PgReset,
    pgbouncer: bool,
}

impl fmt::Debug for PgManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // PgConnectOptions' own Debug prints the password: never use it here.
        f.debug_struct("PgManager")
            .field("url", &self.masked_url)
            .field("connect_timeout", &self.connect_timeout)
            .field("reset", &self.reset)
            .field("pgbouncer", &self.pgbouncer)
            .finish()
    }
}

impl PgManager {
    /// Builds a manager from a `postgres://` / `postgresql://` URL.
    pub fn from_url(url: &str) -> crate::Result<Self> {
        let masked_url = mask_url(url);
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                format!(
                    "invalid PostgreSQL URL '{masked_url}': the scheme must be postgres:// or postgresql://"
                ),
            ));
        }
        let password = url_password(url);
        let rest = strip_pool_params(url)?;
        let (base, pairs, fragment) = split_query(&rest);
        let mut reset = PgReset::default();
        let mut pgbouncer = false;
        let mut connect_timeout = None;
        let mut driver_pairs = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            match k.as_str() {
                "connect_timeout" => connect_timeout = parse_connect_timeout(&v)?,
                "pgbouncer" => pgbouncer = parse_bool_option("pgbouncer", &v)?,
                "reset" => reset = v.parse()?,
                _ => driver_pairs.push((k, v)),
            }
        }
        let driver_url = join_query(&base, &driver_pairs, fragment.as_deref());
        let options = PgConnectOptions::from_str(&driver_url).map_err(|e| {
            driver_error(
                ErrorKind::InvalidConfig,
                format_args!("invalid PostgreSQL URL '{}'", mask_url(&driver_url)),
                e,
                password.as_deref(),
            )
        })?;
        Ok(PgManager {
            options,
            masked_url: mask_url(&rest),
            password,
            connect_timeout,
            reset,
            pgbouncer: false,
        }
        .pgbouncer(pgbouncer))
    }

    /// Builds a manager from sqlx options you configured yourself.
    pub fn from_options(options: PgConnectOptions) -> Self {
        let password = None;
        let masked_url = format!(
            "postgres://{}@{}:{}/{}",
            options.get_username(),
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or("")
        );
        PgManager {
            options,
            masked_url,
            password,
            connect_timeout: None,
            reset: PgReset::default(),
            pgbouncer: false,
        }
    }

    /// A limit on one connection attempt (the pool also applies its own
    /// `connect_timeout` around `connect`). `None` (the default) leaves it to the pool.
    pub fn connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.connect_timeout = timeout.into();
        self
    }

    /// What to do when a connection is returned, see [`PgReset`].
    pub fn reset_mode(mut self, reset: PgReset) -> Self {
        self.reset = reset;
        self
    }

    /// PgBouncer (transaction mode) compatibility: sqlx's statement cache off.
    pub fn pgbouncer(mut self, on: bool) -> Self {
        self.pgbouncer = on;
        if on {
            self.options = self.options.statement_cache_capacity(0);
        }
        self
    }

    /// Whether [`pgbouncer`](Self::pgbouncer) mode is on.
    pub fn is_pgbouncer(&self) -> bool {
        self.pgbouncer
    }

    /// The configured reset mode.
    pub fn get_reset_mode(&self) -> PgReset {
        self.reset
    }

    /// The URL with the password masked (for logs and errors).
    pub fn masked_url(&self) -> &str {
        &self.masked_url
    }

    /// The sqlx options used for every connection.
    pub fn options(&self) -> &PgConnectOptions {
        &self.options
    }

    fn query_error(&self, what: &str, e: sqlx::Error) -> Error {
        driver_error(
            ErrorKind::ConnectionBroken,
            format_args!("{what} failed on {}", self.masked_url),
            e,
            self.password.as_deref(),
        )
    }

    /// Ends what sqlx knows is open (ROLLBACK, or COMMIT when the pool's
    /// reset_on_return is `commit`) and drains a connection left mid-protocol.
    async fn end_tracked(&self, conn: &mut PgConnection, end: &str) -> crate::Result<()> {
        super::sqlx_end_or_flush::<sqlx::Postgres>(conn, end == "COMMIT")
            .await
            .map_err(|(step, e)| self.query_error(step, e))
    }

    async fn run_reset_statement(&self, conn: &mut PgConnection, sql: &str, end: &str) -> crate::Result<()> {
        match Executor::execute(&mut *conn, sql).await {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(db))
                if matches!(db.code().as_deref(), Some("25001") | Some("25P02")) =>
            {
                // 25001 active_sql_transaction / 25P02 in_failed_sql_transaction:
                // a raw BEGIN is still open. End it and try again.
                Executor::execute(&mut *conn, end)
                    .await
                    .map_err(|e| self.query_error(end, e))?;
                Executor::execute(&mut *conn, sql)
                    .await
                    .map(|_| ())
                    .map_err(|e| self.query_error(sql, e))
            }
            Err(e) => Err(self.query_error(sql, e)),
        }
    }
}

impl Manager for PgManager {
    type Connection = PgConnection;
    type Error = Error;

    async fn connect(&self) -> Result<PgConnection, Error> {
        connect_with_timeout(
            "PostgreSQL",
            &self.masked_url,
            self.password.as_deref(),
            self.connect_timeout,
            self.options.connect(),
        )
        .await
    }

    async fn ping(&self, conn: &mut PgConnection) -> Result<(), Error> {
        super::sqlx_ping::<sqlx::Postgres>(conn).await.map_err(|e| self.query_error("ping (SELECT 1)", e))
    }

    fn needs_reset(&self, conn: &mut PgConnection, _how: ResetOnReturn) -> bool {
        match self.reset {
            PgReset::None => false,
            PgReset::Rollback => super::sqlx_dirty(conn),
            PgReset::ResetAll | PgReset::DiscardAll => true,
        }
    }

    async fn reset(&self, conn: &mut PgConnection, how: ResetOnReturn) -> Result<(), Error> {
        if how == ResetOnReturn::None {
            return Ok(());
        }
        let end = if how == ResetOnReturn::Commit { "COMMIT" } else { "ROLLBACK" };
        match self.reset {
            PgReset::None => Ok(()),
            PgReset::Rollback => self.end_tracked(conn, end).await,
            PgReset::ResetAll => {
                self.end_tracked(conn, end).await?;
                self.run_reset_statement(conn, "RESET ALL", end).await
            }
            PgReset::DiscardAll => {
                self.end_tracked(conn, end).await?;
                self.run_reset_statement(conn, "DISCARD ALL", end).await?;
                if conn.cached_statements_size() > 0 {
                    // DISCARD ALL deallocated them on the server; Close of a
                    // missing statement is not an error, so this just empties
                    // sqlx's cache.
                    conn.clear_cached_statements()
                        .await
                        .map_err(|e| self.query_error("clearing the statement cache", e))?;
                }
                Ok(())
            }
        }
    }

    fn is_transient(&self, err: &Error) -> bool {
        super::is_transient(err)
    }

    async fn close(&self, conn: PgConnection) {
        super::sqlx_close(conn).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_errors_never_show_password() {
        let m = PgManager::from_url("postgres://u:topsecret@127.0.0.1:1/db?sslmode=require").unwrap();
        let dbg = format!("{m:?}");
        assert!(!dbg.contains("topsecret"), "{dbg}");
        assert!(dbg.contains("u:***@127.0.0.1:1/db"), "{dbg}");
        let err = PgManager::from_url("postgres://u:topsecret@h/db?sslmode=bogus").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        assert!(!err.to_string().contains("topsecret"), "{err}");
    }

    #[test]
    fn reads_connector_options() {
        let m = PgManager::from_url("postgres://u@h/db?pgbouncer=true&reset=discard-all").unwrap();
        assert!(m.is_pgbouncer());
        assert_eq!(m.get_reset_mode(), PgReset::DiscardAll);
        assert_eq!(m.options().get_database(), Some("db"));
        let err = PgManager::from_url("postgres://u@h/db?reset=sometimes").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        assert!(err.to_string().contains("'reset'") && err.to_string().contains("sometimes"), "{err}");
        let err = PgManager::from_url("mysql://u@h/db").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
    }
}
