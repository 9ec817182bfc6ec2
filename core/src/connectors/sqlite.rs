//! SQLite through sqlx (`feature = "sqlite"`), with the bundled libsqlite3.
//!
//! ```no_run
//! # async fn demo() -> unipool::Result<()> {
//! use unipool::connectors::sqlite::SqliteManager;
//! use unipool::{Pool, PoolConfig};
//!
//! let pool = Pool::new(SqliteManager::from_url("sqlite://app.db?mode=rwc")?, PoolConfig::default())?;
//! let mut conn = pool.get().await?;
//! sqlx::query("CREATE TABLE IF NOT EXISTS t (x INTEGER)").execute(&mut *conn).await.unwrap();
//! # Ok(()) }
//! ```
//!
//! Accepts `sqlite:path`, `sqlite://path` and `sqlite::memory:`. Note that
//! every connection to `sqlite::memory:` has its own private database; to
//! share one in-memory database between the pool's connections use
//! `sqlite:file:NAME?mode=memory&cache=shared`. URL option read by the
//! manager: `reset=rollback|none`. Other parameters (`mode`, `cache`,
//! `immutable`, `vfs`) go to sqlx; pool parameters are ignored.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::ConnectOptions;

use super::{
    parse_connect_timeout,
    connect_with_timeout, driver_error, invalid_option, join_query, split_query, strip_pool_params,
};
use crate::{Error, ErrorKind, Manager, ResetOnReturn};

/// What [`SqliteManager`] does when a connection is returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SqliteReset {
    /// Roll back a transaction sqlx tracks as open; flush a queued rollback.
    #[default]
    Rollback,
    /// Nothing.
    None,
}

impl FromStr for SqliteReset {
    type Err = Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "rollback" => Ok(SqliteReset::Rollback),
            "none" | "off" | "false" => Ok(SqliteReset::None),
            _ => Err(invalid_option("reset", s, "one of rollback, none")),
        }
    }
}

/// A [`Manager`] of `sqlx::SqliteConnection`s.
#[derive(Clone)]
pub struct SqliteManager {
    options: SqliteConnectOptions,
    url: String,
    connect_timeout: Option<Duration>,
    reset: SqliteReset,
}

impl fmt::Debug for SqliteManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteManager")
            .field("url", &self.url)
            .field("connect_timeout", &self.connect_timeout)
            .field("reset", &self.reset)
            .finish()
    }
}

impl SqliteManager {
    /// Builds a manager from a `sqlite:` URL.
    pub fn from_url(url: &str) -> crate::Result<Self> {
        if !url.starts_with("sqlite:") {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                format!(
                    "invalid SQLite URL '{url}': it must start with sqlite: (e.g. sqlite://app.db?mode=rwc or sqlite::memory:)"
                ),
            ));
        }
        let rest = strip_pool_params(url)?;
        let (base, pairs, fragment) = split_query(&rest);
        let mut reset = SqliteReset::default();
        let mut connect_timeout = None;
        let mut driver_pairs = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            match k.as_str() {
                "connect_timeout" => connect_timeout = parse_connect_timeout(&v)?,
                "reset" => reset = v.parse()?,
                _ => driver_pairs.push((k, v)),
            }
        }
        let driver_url = join_query(&base, &driver_pairs, fragment.as_deref());
        let options = SqliteConnectOptions::from_str(&driver_url).map_err(|e| {
            driver_error(
                ErrorKind::InvalidConfig,
                format_args!("invalid SQLite URL '{driver_url}'"),
                e,
                None,
            )
        })?;
        Ok(SqliteManager {
            options,
            url: rest,
            connect_timeout,
            reset,
        })
    }

    /// Builds a manager from sqlx options you configured yourself.
    pub fn from_options(options: SqliteConnectOptions) -> Self {
        let url = format!("sqlite://{}", options.get_filename().display());
        SqliteManager {
            options,
            url,
            connect_timeout: None,
            reset: SqliteReset::default(),
        }
    }

    /// A limit on one connection attempt (the pool applies its own too).
    pub fn connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.connect_timeout = timeout.into();
        self
    }

    /// What to do when a connection is returned.
    pub fn reset_mode(mut self, reset: SqliteReset) -> Self {
        self.reset = reset;
        self
    }

    /// The URL (SQLite URLs carry no password).
    pub fn masked_url(&self) -> &str {
        &self.url
    }

    /// The sqlx options used for every connection.
    pub fn options(&self) -> &SqliteConnectOptions {
        &self.options
    }

    fn query_error(&self, what: &str, e: sqlx::Error) -> Error {
        driver_error(
            ErrorKind::ConnectionBroken,
            format_args!("{what} failed on {}", self.url),
            e,
            None,
        )
    }
}

impl Manager for SqliteManager {
    type Connection = SqliteConnection;
    type Error = Error;

    async fn connect(&self) -> Result<SqliteConnection, Error> {
        connect_with_timeout(
            "SQLite",
            &self.url,
            None,
            self.connect_timeout,
            self.options.connect(),
        )
        .await
    }

    async fn ping(&self, conn: &mut SqliteConnection) -> Result<(), Error> {
        super::sqlx_ping::<sqlx::Sqlite>(conn).await.map_err(|e| self.query_error("ping (SELECT 1)", e))
    }

    fn needs_reset(&self, conn: &mut SqliteConnection, _how: ResetOnReturn) -> bool {
        self.reset != SqliteReset::None && super::sqlx_dirty(conn)
    }

    async fn reset(&self, conn: &mut SqliteConnection, how: ResetOnReturn) -> Result<(), Error> {
        if self.reset == SqliteReset::None || how == ResetOnReturn::None {
            return Ok(());
        }
        super::sqlx_end_or_flush::<sqlx::Sqlite>(conn, how == ResetOnReturn::Commit)
            .await
            .map_err(|(step, e)| self.query_error(step, e))
    }

    fn is_transient(&self, err: &Error) -> bool {
        super::is_transient(err)
    }

    async fn close(&self, conn: SqliteConnection) {
        super::sqlx_close(conn).await
    }
}
