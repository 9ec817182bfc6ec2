//! Redis through redis-rs (`feature = "redis"`), and Redis Cluster
//! (`feature = "redis-cluster"`).
//!
//! ```no_run
//! # async fn demo() -> unipool::Result<()> {
//! use unipool::connectors::redis::RedisManager;
//! use unipool::{Pool, PoolConfig};
//!
//! let pool = Pool::new(RedisManager::from_url("redis://127.0.0.1:6379/0")?, PoolConfig::default())?;
//! let mut conn = pool.get().await?;
//! let pong: String = redis::cmd("PING").query_async(&mut *conn).await.unwrap();
//! # let _ = pong; Ok(()) }
//! ```
//!
//! The pooled connection is redis-rs's `MultiplexedConnection` (one TCP
//! connection per pool slot; `SELECT`, `WATCH`/`MULTI`, `CLIENT SETNAME` and
//! other connection state stay with the slot, which is what a pool of
//! connections is for).
//!
//! `rediss://` connects with TLS (rustls, system roots; add redis-rs's
//! `#insecure` fragment to skip certificate checks for a self-signed test
//! server).
//!
//! URL option read by the manager: `response_timeout=SECONDS|none` (default:
//! redis-rs's own, 0.5 s; use `none` for blocking commands such as `BLPOP`).
//! Pool parameters are ignored; everything else goes to redis-rs.

use std::fmt;
use std::time::Duration;

use ::redis::aio::MultiplexedConnection;
use ::redis::{AsyncConnectionConfig, Client};

use super::{
    parse_connect_timeout,
    connect_with_timeout, driver_error, invalid_option, join_query, mask_url, parse_duration_option,
    split_query, strip_pool_params, url_password,
};
use crate::{Error, ErrorKind, Manager};

/// `None` = the library's default; `Some(None)` = no timeout; `Some(Some(d))`.
type TimeoutSetting = Option<Option<Duration>>;

fn parse_response_timeout(value: &str) -> crate::Result<Option<Duration>> {
    match value.to_ascii_lowercase().as_str() {
        "none" | "off" | "0" => Ok(None),
        _ => parse_duration_option("response_timeout", value)
            .map(Some)
            .map_err(|_| {
                invalid_option(
                    "response_timeout",
                    value,
                    "a number of seconds (e.g. 0.5, 2, 500ms) or none",
                )
            }),
    }
}

fn check_scheme(url: &str, masked: &str, allowed: &[&str]) -> crate::Result<()> {
    if allowed.iter().any(|s| url.starts_with(s)) {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::InvalidConfig,
            format!(
                "invalid Redis URL '{masked}': the scheme must be one of {}",
                allowed.join(", ")
            ),
        ))
    }
}

/// Splits connector options out of a URL's query; returns (url for the driver, response_timeout).
fn take_options(url: &str) -> crate::Result<(String, TimeoutSetting, Option<Duration>)> {
    let rest = strip_pool_params(url)?;
    let (base, pairs, fragment) = split_query(&rest);
    let mut response_timeout = None;
    let mut connect_timeout = None;
    let mut driver_pairs = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        match k.as_str() {
            "response_timeout" => response_timeout = Some(parse_response_timeout(&v)?),
            "connect_timeout" => connect_timeout = parse_connect_timeout(&v)?,
            _ => driver_pairs.push((k, v)),
        }
    }
    Ok((
        join_query(&base, &driver_pairs, fragment.as_deref()),
        response_timeout,
        connect_timeout,
    ))
}

fn ping_error(masked_url: &str, password: Option<&str>, e: ::redis::RedisError) -> Error {
    driver_error(
        ErrorKind::ConnectionBroken,
        format_args!("ping (PING) failed on {masked_url}"),
        e,
        password,
    )
}

/// A [`Manager`] of redis-rs `MultiplexedConnection`s to one Redis server.
#[derive(Clone)]
pub struct RedisManager {
    client: Client,
    masked_url: String,
    password: Option<String>,
    connect_timeout: Option<Duration>,
    response_timeout: TimeoutSetting,
}

impl fmt::Debug for RedisManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisManager")
            .field("url", &self.masked_url)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .finish()
    }
}

impl RedisManager {
    /// Builds a manager from a `redis://`, `rediss://`, `redis+unix://` or `unix://` URL.
    pub fn from_url(url: &str) -> crate::Result<Self> {
        let masked = mask_url(url);
        check_scheme(url, &masked, &["redis://", "rediss://", "redis+unix://", "unix://"])?;
        let password = url_password(url);
        let (driver_url, response_timeout, connect_timeout) = take_options(url)?;
        let client = Client::open(driver_url.as_str()).map_err(|e| {
            driver_error(
                ErrorKind::InvalidConfig,
                format_args!("invalid Redis URL '{}'", mask_url(&driver_url)),
                e,
                password.as_deref(),
            )
        })?;
        Ok(RedisManager {
            client,
            masked_url: mask_url(&driver_url),
            password,
            connect_timeout,
            response_timeout,
        })
    }

    /// Builds a manager from a redis-rs client you configured yourself.
    pub fn from_client(client: Client) -> Self {
        let info = client.get_connection_info();
        let masked_url = format!("redis://{}", info.addr());
        RedisManager {
            client,
            masked_url,
            password: None,
            connect_timeout: None,
            response_timeout: None,
        }
    }

    /// A limit on one connection attempt (the pool applies its own too).
    pub fn connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.connect_timeout = timeout.into();
        self
    }

    /// Per-command response timeout (`None`: no timeout). Default: redis-rs's.
    pub fn response_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.response_timeout = Some(timeout);
        self
    }

    /// The URL with the password masked.
    pub fn masked_url(&self) -> &str {
        &self.masked_url
    }

    /// The redis-rs client used to open connections.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

impl Manager for RedisManager {
    type Connection = MultiplexedConnection;
    type Error = Error;

    async fn connect(&self) -> Result<MultiplexedConnection, Error> {
        // redis-rs's own 1 s connection timeout is replaced by ours (or by
        // none, leaving the pool's connect_timeout in charge).
        let mut config = AsyncConnectionConfig::new().set_connection_timeout(self.connect_timeout);
        if let Some(rt) = self.response_timeout {
            config = config.set_response_timeout(rt);
        }
        connect_with_timeout(
            "Redis",
            &self.masked_url,
            self.password.as_deref(),
            self.connect_timeout,
            self.client.get_multiplexed_async_connection_with_config(&config),
        )
        .await
    }

    async fn ping(&self, conn: &mut MultiplexedConnection) -> Result<(), Error> {
        let reply: String = ::redis::cmd("PING")
            .query_async(conn)
            .await
            .map_err(|e| ping_error(&self.masked_url, self.password.as_deref(), e))?;
        if reply == "PONG" {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::ConnectionBroken,
                format!("ping (PING) on {} answered {reply:?} instead of PONG", self.masked_url),
            ))
        }
    }

    fn is_transient(&self, err: &Error) -> bool {
        super::is_transient(err)
    }
}

#[cfg(feature = "redis-cluster")]
pub use cluster::RedisClusterManager;

#[cfg(feature = "redis-cluster")]
mod cluster {
    use super::*;
    use ::redis::cluster::{ClusterClient, ClusterClientBuilder};
    use ::redis::cluster_async::ClusterConnection;

    /// A [`Manager`] of redis-rs cluster connections (`ClusterConnection`),
    /// each of which talks to every master and routes by key slot.
    #[derive(Clone)]
    pub struct RedisClusterManager {
        client: ClusterClient,
        masked_url: String,
        password: Option<String>,
        connect_timeout: Option<Duration>,
    }

    impl fmt::Debug for RedisClusterManager {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("RedisClusterManager")
                .field("url", &self.masked_url)
                .field("connect_timeout", &self.connect_timeout)
                .finish()
        }
    }

    /// `redis://[user:pass@]h1:p1,h2:p2/…?…` → one URL per seed node.
    fn split_nodes(url: &str) -> Vec<String> {
        let scheme_end = url.find("://").map(|i| i + 3).unwrap_or(0);
        let scheme = match &url[..scheme_end] {
            "redis+cluster://" => "redis://",
            "rediss+cluster://" => "rediss://",
            s => s,
        };
        let rest = &url[scheme_end..];
        let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(auth_end);
        let (userinfo, hosts) = match authority.rfind('@') {
            Some(at) => (&authority[..=at], &authority[at + 1..]),
            None => ("", authority),
        };
        hosts
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(|h| format!("{scheme}{userinfo}{h}{tail}"))
            .collect()
    }

    impl RedisClusterManager {
        /// Builds a manager from seed nodes in one URL:
        /// `redis://[:password@]host1:port1,host2:port2,...` (also
        /// `redis+cluster://` and `rediss://`).
        pub fn from_url(url: &str) -> crate::Result<Self> {
            let masked = mask_url(url);
            check_scheme(
                url,
                &masked,
                &["redis://", "rediss://", "redis+cluster://", "rediss+cluster://"],
            )?;
            let password = url_password(url);
            let (driver_url, response_timeout, connect_timeout) = take_options(url)?;
            let nodes = split_nodes(&driver_url);
            if nodes.is_empty() {
                return Err(Error::new(
                    ErrorKind::InvalidConfig,
                    format!("invalid Redis Cluster URL '{masked}': no host:port given"),
                ));
            }
            let mut builder = ClusterClientBuilder::new(nodes);
            if let Some(Some(rt)) = response_timeout {
                builder = builder.response_timeout(rt);
            }
            let client = builder.build().map_err(|e| {
                driver_error(
                    ErrorKind::InvalidConfig,
                    format_args!("invalid Redis Cluster URL '{masked}'"),
                    e,
                    password.as_deref(),
                )
            })?;
            Ok(RedisClusterManager {
                client,
                masked_url: mask_url(&driver_url),
                password,
                connect_timeout,
            })
        }

        /// Builds a manager from a redis-rs cluster client you configured yourself.
        pub fn from_client(client: ClusterClient) -> Self {
            RedisClusterManager {
                client,
                masked_url: "redis-cluster".to_string(),
                password: None,
                connect_timeout: None,
            }
        }

        /// A limit on one connection attempt (the pool applies its own too).
        pub fn connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
            self.connect_timeout = timeout.into();
            self
        }

        /// The URL with the password masked.
        pub fn masked_url(&self) -> &str {
            &self.masked_url
        }
    }

    impl Manager for RedisClusterManager {
        type Connection = ClusterConnection;
        type Error = Error;

        async fn connect(&self) -> Result<ClusterConnection, Error> {
            connect_with_timeout(
                "Redis Cluster",
                &self.masked_url,
                self.password.as_deref(),
                self.connect_timeout,
                self.client.get_async_connection(),
            )
            .await
        }

        async fn ping(&self, conn: &mut ClusterConnection) -> Result<(), Error> {
            let reply: String = ::redis::cmd("PING")
                .query_async(conn)
                .await
                .map_err(|e| ping_error(&self.masked_url, self.password.as_deref(), e))?;
            if reply == "PONG" {
                Ok(())
            } else {
                Err(Error::new(
                    ErrorKind::ConnectionBroken,
                    format!("ping (PING) on {} answered {reply:?} instead of PONG", self.masked_url),
                ))
            }
        }

        fn is_transient(&self, err: &Error) -> bool {
            super::super::is_transient(err)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn splits_seed_nodes_and_masks() {
            let nodes = split_nodes("redis://:pw@127.0.0.1:7000,127.0.0.1:7001/?protocol=resp2");
            assert_eq!(
                nodes,
                vec![
                    "redis://:pw@127.0.0.1:7000/?protocol=resp2",
                    "redis://:pw@127.0.0.1:7001/?protocol=resp2"
                ]
            );
            let m = RedisClusterManager::from_url("redis+cluster://:pw@127.0.0.1:7000,127.0.0.1:7001").unwrap();
            assert!(!format!("{m:?}").contains("pw@"), "{m:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_and_masking() {
        let m = RedisManager::from_url("redis://:sekrit@127.0.0.1:6379/0?response_timeout=none").unwrap();
        assert_eq!(m.response_timeout, Some(None));
        assert!(!format!("{m:?}").contains("sekrit"));
        let err = RedisManager::from_url("redis://h?response_timeout=soon").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        assert!(err.to_string().contains("soon"), "{err}");
        assert!(RedisManager::from_url("http://h").is_err());
    }
}
