//! MySQL and MariaDB through sqlx (`feature = "mysql"`).
//!
//! ```no_run
//! # async fn demo() -> unipool::Result<()> {
//! use unipool::connectors::mysql::MySqlManager;
//! use unipool::{Pool, PoolConfig};
//!
//! let pool = Pool::new(MySqlManager::from_url("mysql://root@127.0.0.1:3306/test")?, PoolConfig::default())?;
//! let mut conn = pool.get().await?;
//! let (one,): (i32,) = sqlx::query_as("SELECT 1").fetch_one(&mut *conn).await.unwrap();
//! # let _ = one; Ok(()) }
//! ```
//!
//! `mysql://` and `mariadb://` URLs are accepted. URL option read by the
//! manager: `reset=rollback|none` (default `rollback`: roll back a
//! transaction sqlx knows is open, and drain what a cancelled query left).
//! Every other parameter (`ssl-mode`, `ssl-ca`, `charset`, `timezone`,
//! `statement-cache-capacity`, …) goes to sqlx; pool parameters are ignored.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sqlx::ConnectOptions;

use super::{
    parse_connect_timeout,
    connect_with_timeout, driver_error, invalid_option, join_query, mask_url, split_query,
    strip_pool_params, url_password,
};
use crate::{Error, ErrorKind, Manager, ResetOnReturn};

/// What [`MySqlManager`] does when a connection is returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MySqlReset {
    /// Roll back a transaction sqlx tracks as open; flush a queued rollback.
    #[default]
    Rollback,
    /// Nothing.
    None,
}

impl FromStr for MySqlReset {
    type Err = Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "rollback" => Ok(MySqlReset::Rollback),
            "none" | "off" | "false" => Ok(MySqlReset::None),
            _ => Err(invalid_option("reset", s, "one of rollback, none")),
        }
    }
}

/// A [`Manager`] of `sqlx::MySqlConnection`s.
#[derive(Clone)]
pub struct MySqlManager {
    options: MySqlConnectOptions,
    masked_url: String,
    password: Option<String>,
    connect_timeout: Option<Duration>,
    reset: MySqlReset,
}

impl fmt::Debug for MySqlManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MySqlManager")
            .field("url", &self.masked_url)
            .field("connect_timeout", &self.connect_timeout)
            .field("reset", &self.reset)
            .finish()
    }
}

impl MySqlManager {
    /// Builds a manager from a `mysql://` or `mariadb://` URL.
    pub fn from_url(url: &str) -> crate::Result<Self> {
        let masked = mask_url(url);
        let url = if let Some(rest) = url.strip_prefix("mariadb://") {
            format!("mysql://{rest}")
        } else if url.starts_with("mysql://") {
            url.to_string()
        } else {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                format!("invalid MySQL URL '{masked}': the scheme must be mysql:// or mariadb://"),
            ));
        };
        let password = url_password(&url);
        let rest = strip_pool_params(&url)?;
        let (base, pairs, fragment) = split_query(&rest);
        let mut reset = MySqlReset::default();
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
        let options = MySqlConnectOptions::from_str(&driver_url).map_err(|e| {
            driver_error(
                ErrorKind::InvalidConfig,
                format_args!("invalid MySQL URL '{}'", mask_url(&driver_url)),
                e,
                password.as_deref(),
            )
        })?;
        Ok(MySqlManager {
            options,
            masked_url: mask_url(&rest),
            password,
            connect_timeout,
            reset,
        })
    }

    /// Builds a manager from sqlx options you configured yourself.
    pub fn from_options(options: MySqlConnectOptions) -> Self {
        let masked_url = format!(
            "mysql://{}@{}:{}/{}",
            options.get_username(),
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or("")
        );
        MySqlManager {
            options,
            masked_url,
            password: None,
            connect_timeout: None,
            reset: MySqlReset::default(),
        }
    }

    /// A limit on one connection attempt (the pool applies its own too).
    pub fn connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.connect_timeout = timeout.into();
        self
    }

    /// What to do when a connection is returned.
    pub fn reset_mode(mut self, reset: MySqlReset) -> Self {
        self.reset = reset;
        self
    }

    /// The URL with the password masked.
    pub fn masked_url(&self) -> &str {
        &self.masked_url
    }

    /// The sqlx options used for every connection.
    pub fn options(&self) -> &MySqlConnectOptions {
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
}

impl Manager for MySqlManager {
    type Connection = MySqlConnection;
    type Error = Error;

    async fn connect(&self) -> Result<MySqlConnection, Error> {
        connect_with_timeout(
            "MySQL",
            &self.masked_url,
            self.password.as_deref(),
            self.connect_timeout,
            self.options.connect(),
        )
        .await
    }

    async fn ping(&self, conn: &mut MySqlConnection) -> Result<(), Error> {
        super::sqlx_ping::<sqlx::MySql>(conn).await.map_err(|e| self.query_error("ping (SELECT 1)", e))
    }

    fn needs_reset(&self, conn: &mut MySqlConnection, _how: ResetOnReturn) -> bool {
        self.reset != MySqlReset::None && super::sqlx_dirty(conn)
    }

    async fn reset(&self, conn: &mut MySqlConnection, how: ResetOnReturn) -> Result<(), Error> {
        if self.reset == MySqlReset::None || how == ResetOnReturn::None {
            return Ok(());
        }
        super::sqlx_end_or_flush::<sqlx::MySql>(conn, how == ResetOnReturn::Commit)
            .await
            .map_err(|(step, e)| self.query_error(step, e))
    }

    fn is_transient(&self, err: &Error) -> bool {
        super::is_transient(err)
    }

    async fn close(&self, conn: MySqlConnection) {
        super::sqlx_close(conn).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mariadb_scheme_and_masking() {
        let m = MySqlManager::from_url("mariadb://root:pw123@127.0.0.1:3306/test?reset=none").unwrap();
        assert_eq!(m.options().get_database(), Some("test"));
        let dbg = format!("{m:?}");
        assert!(!dbg.contains("pw123"), "{dbg}");
        assert!(MySqlManager::from_url("postgres://h/db").is_err());
        let err = MySqlManager::from_url("mysql://h/db?reset=maybe").unwrap_err();
        assert!(err.to_string().contains("maybe"), "{err}");
    }
}
