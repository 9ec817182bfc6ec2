//! The only database-specific part of the tool: one small `Driver` per URL
//! scheme saying how to build the core's connector and how to run the
//! benchmark query on a checked-out connection. Everything else (bench loop,
//! stats, sweep, sizing) is generic over [`Workload`].

#![allow(clippy::manual_async_fn)] // impls spell out the trait's `impl Future + Send` signatures

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use unipool::{Manager, Pool, PoolConfig, PoolStatus};

/// The outcome of one operation (acquire, query, return).
pub struct OpOutcome {
    /// Time spent in `pool.get()`.
    pub wait: Duration,
    pub result: Result<(), OpError>,
}

pub enum OpError {
    /// The pool gave up waiting (pool_timeout).
    Timeout(String),
    /// Acquire failed otherwise (connect failed, pool closed, ...).
    Acquire(String),
    /// The query failed on a connection we had.
    Query(String),
}

impl OpError {
    pub fn message(&self) -> &str {
        match self {
            OpError::Timeout(m) | OpError::Acquire(m) | OpError::Query(m) => m,
        }
    }
}

/// What the bench loop drives.
pub trait Workload: Send + Sync + 'static {
    fn op(&self) -> impl Future<Output = OpOutcome> + Send;
    /// Runs the query once and returns how many rows/values it produced (a sanity check before the run).
    fn probe(&self) -> impl Future<Output = Result<u64, String>> + Send;
    fn status(&self) -> PoolStatus;
    fn metrics_text(&self) -> String;
    fn close(&self) -> impl Future<Output = ()> + Send;
}

/// One database kind.
pub trait Driver: Send + Sync + 'static {
    type M: Manager;
    const NAME: &'static str;
    const DEFAULT_QUERY: &'static str;
    fn manager(url: &str) -> unipool::Result<Self::M>;
    /// Runs `query` on the connection; returns the number of rows (or 1 for a Redis reply).
    fn run<'a>(
        conn: &'a mut <Self::M as Manager>::Connection,
        query: &'a str,
    ) -> impl Future<Output = Result<u64, String>> + Send + 'a;
    /// (max_connections, reserved for admins), read from the server.
    fn max_connections<'a>(
        conn: &'a mut <Self::M as Manager>::Connection,
    ) -> impl Future<Output = Result<Option<(u64, u64)>, String>> + Send + 'a;
}

pub struct PoolWorkload<D: Driver> {
    pub pool: Pool<D::M>,
    pub query: Arc<str>,
}

impl<D: Driver> PoolWorkload<D> {
    pub fn new(url: &str, config: PoolConfig, query: &str) -> unipool::Result<Self> {
        let pool = Pool::new(D::manager(url)?, config)?;
        Ok(PoolWorkload {
            pool,
            query: Arc::from(query),
        })
    }
}

fn acquire_error(e: unipool::Error) -> OpError {
    if e.kind() == unipool::ErrorKind::PoolTimeout {
        OpError::Timeout(e.to_string())
    } else {
        OpError::Acquire(e.to_string())
    }
}

impl<D: Driver> Workload for PoolWorkload<D>
where
    <D::M as Manager>::Connection: Send,
{
    async fn op(&self) -> OpOutcome {
        {
            let t0 = Instant::now();
            let got = self.pool.get().await;
            let wait = t0.elapsed();
            let mut conn = match got {
                Ok(c) => c,
                Err(e) => {
                    return OpOutcome {
                        wait,
                        result: Err(acquire_error(e)),
                    }
                }
            };
            let r = D::run(&mut conn, &self.query).await;
            drop(conn);
            OpOutcome {
                wait,
                result: r.map(|_| ()).map_err(OpError::Query),
            }
        }
    }

    async fn probe(&self) -> Result<u64, String> {
        {
            // Not measured: allow the first connect its full connect_timeout even
            // when pool_timeout is set very short for the run itself.
            let cfg = self.pool.raw().config();
            let limit = cfg.pool_timeout.max(cfg.connect_timeout);
            let mut conn = self
                .pool
                .get_timeout(Some(limit))
                .await
                .map_err(|e| e.to_string())?;
            D::run(&mut conn, &self.query).await
        }
    }

    fn status(&self) -> PoolStatus {
        self.pool.status()
    }

    fn metrics_text(&self) -> String {
        self.pool.metrics_text()
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

/// Reads max_connections through a short-lived pool of one connection.
pub async fn server_max_connections<D: Driver>(url: &str) -> Result<Option<(u64, u64)>, String> {
    let cfg = PoolConfig::builder()
        .pool_size(1)
        .max_overflow(0)
        .set("pool_timeout", "10s")
        .set("connect_timeout", "10s")
        .build()
        .map_err(|e| e.to_string())?;
    let pool =
        Pool::new(D::manager(url).map_err(|e| e.to_string())?, cfg).map_err(|e| e.to_string())?;
    let r = async {
        let mut conn = pool.get().await.map_err(|e| e.to_string())?;
        D::max_connections(&mut conn).await
    }
    .await;
    pool.close().await;
    r
}

fn err_text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

pub struct Postgres;
impl Driver for Postgres {
    type M = unipool::connectors::postgres::PgManager;
    const NAME: &'static str = "postgres";
    const DEFAULT_QUERY: &'static str = "SELECT 1";
    fn manager(url: &str) -> unipool::Result<Self::M> {
        Self::M::from_url(url)
    }
    fn run<'a>(
        conn: &'a mut sqlx::PgConnection,
        query: &'a str,
    ) -> impl Future<Output = Result<u64, String>> + Send + 'a {
        async move {
            sqlx::query(query)
                .fetch_all(&mut *conn)
                .await
                .map(|rows| rows.len() as u64)
                .map_err(err_text)
        }
    }
    fn max_connections<'a>(
        conn: &'a mut sqlx::PgConnection,
    ) -> impl Future<Output = Result<Option<(u64, u64)>, String>> + Send + 'a {
        async move {
            let max: String = sqlx::query_scalar("SHOW max_connections")
                .fetch_one(&mut *conn)
                .await
                .map_err(err_text)?;
            let reserved: String = sqlx::query_scalar("SHOW superuser_reserved_connections")
                .fetch_one(&mut *conn)
                .await
                .map_err(err_text)?;
            Ok(Some((
                max.trim().parse().map_err(err_text)?,
                reserved.trim().parse().unwrap_or(0),
            )))
        }
    }
}

pub struct MySql;
impl Driver for MySql {
    type M = unipool::connectors::mysql::MySqlManager;
    const NAME: &'static str = "mysql";
    const DEFAULT_QUERY: &'static str = "SELECT 1";
    fn manager(url: &str) -> unipool::Result<Self::M> {
        Self::M::from_url(url)
    }
    fn run<'a>(
        conn: &'a mut sqlx::MySqlConnection,
        query: &'a str,
    ) -> impl Future<Output = Result<u64, String>> + Send + 'a {
        async move {
            sqlx::query(query)
                .fetch_all(&mut *conn)
                .await
                .map(|rows| rows.len() as u64)
                .map_err(err_text)
        }
    }
    fn max_connections<'a>(
        conn: &'a mut sqlx::MySqlConnection,
    ) -> impl Future<Output = Result<Option<(u64, u64)>, String>> + Send + 'a {
        async move {
            // @@max_connections is BIGINT UNSIGNED; CAST keeps the type simple for sqlx.
            let max: i64 = sqlx::query_scalar("SELECT CAST(@@max_connections AS SIGNED)")
                .fetch_one(&mut *conn)
                .await
                .map_err(err_text)?;
            // MySQL/MariaDB keep one extra connection for SUPER users beyond max_connections.
            Ok(Some((max.max(0) as u64, 0)))
        }
    }
}

pub struct Sqlite;
impl Driver for Sqlite {
    type M = unipool::connectors::sqlite::SqliteManager;
    const NAME: &'static str = "sqlite";
    const DEFAULT_QUERY: &'static str = "SELECT 1";
    fn manager(url: &str) -> unipool::Result<Self::M> {
        Self::M::from_url(url)
    }
    fn run<'a>(
        conn: &'a mut sqlx::SqliteConnection,
        query: &'a str,
    ) -> impl Future<Output = Result<u64, String>> + Send + 'a {
        async move {
            sqlx::query(query)
                .fetch_all(&mut *conn)
                .await
                .map(|rows| rows.len() as u64)
                .map_err(err_text)
        }
    }
    fn max_connections<'a>(
        _conn: &'a mut sqlx::SqliteConnection,
    ) -> impl Future<Output = Result<Option<(u64, u64)>, String>> + Send + 'a {
        async { Ok(None) } // an embedded database has no connection limit
    }
}

async fn redis_run<C: redis::aio::ConnectionLike + Send>(
    conn: &mut C,
    query: &str,
) -> Result<u64, String> {
    let mut parts = query.split_whitespace();
    let name = parts
        .next()
        .ok_or_else(|| "empty Redis command".to_string())?;
    let mut cmd = redis::cmd(name);
    for a in parts {
        cmd.arg(a);
    }
    cmd.query_async::<redis::Value>(conn)
        .await
        .map(|_| 1)
        .map_err(err_text)
}

async fn redis_maxclients<C: redis::aio::ConnectionLike + Send>(
    conn: &mut C,
) -> Result<Option<(u64, u64)>, String> {
    let v: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxclients")
        .query_async(conn)
        .await
        .map_err(err_text)?;
    Ok(v.get(1).and_then(|s| s.parse().ok()).map(|m| (m, 0)))
}

/// Redis Cluster (`redis+cluster://h1:p1,h2:p2` or a `redis://` URL listing several nodes).
pub struct RedisCluster;
impl Driver for RedisCluster {
    type M = unipool::connectors::redis::RedisClusterManager;
    const NAME: &'static str = "redis-cluster";
    const DEFAULT_QUERY: &'static str = "PING";
    fn manager(url: &str) -> unipool::Result<Self::M> {
        Self::M::from_url(url)
    }
    fn run<'a>(
        conn: &'a mut <Self::M as Manager>::Connection,
        query: &'a str,
    ) -> impl Future<Output = Result<u64, String>> + Send + 'a {
        redis_run(conn, query)
    }
    fn max_connections<'a>(
        conn: &'a mut <Self::M as Manager>::Connection,
    ) -> impl Future<Output = Result<Option<(u64, u64)>, String>> + Send + 'a {
        // maxclients of the node the command is routed to (each node has its own limit).
        redis_maxclients(conn)
    }
}

pub struct Redis;
impl Driver for Redis {
    type M = unipool::connectors::redis::RedisManager;
    const NAME: &'static str = "redis";
    const DEFAULT_QUERY: &'static str = "PING";
    fn manager(url: &str) -> unipool::Result<Self::M> {
        Self::M::from_url(url)
    }
    fn run<'a>(
        conn: &'a mut <Self::M as Manager>::Connection,
        query: &'a str,
    ) -> impl Future<Output = Result<u64, String>> + Send + 'a {
        redis_run(conn, query)
    }
    fn max_connections<'a>(
        conn: &'a mut <Self::M as Manager>::Connection,
    ) -> impl Future<Output = Result<Option<(u64, u64)>, String>> + Send + 'a {
        redis_maxclients(conn)
    }
}

/// The database kind of a URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    MySql,
    Sqlite,
    Redis,
    RedisCluster,
}

impl Backend {
    pub fn of_url(url: &str) -> Result<Backend, String> {
        let scheme = url.split(':').next().unwrap_or("").to_ascii_lowercase();
        match scheme.as_str() {
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            "mysql" | "mariadb" => Ok(Backend::MySql),
            "sqlite" => Ok(Backend::Sqlite),
            "redis+cluster" | "rediss+cluster" => Ok(Backend::RedisCluster),
            "redis" | "rediss" => {
                // Several seed nodes (`redis://h1:7000,h2:7001`) mean a cluster.
                let rest = url.split_once("://").map(|(_, r)| r).unwrap_or("");
                let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
                let hosts = authority.rsplit('@').next().unwrap_or("");
                Ok(if hosts.contains(',') { Backend::RedisCluster } else { Backend::Redis })
            }
            _ => Err(format!(
                "unsupported URL scheme '{scheme}': expected postgres://, postgresql://, mysql://, mariadb://, sqlite:, redis:// or redis+cluster://"
            )),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Postgres => Postgres::NAME,
            Backend::MySql => MySql::NAME,
            Backend::Sqlite => Sqlite::NAME,
            Backend::Redis => Redis::NAME,
            Backend::RedisCluster => RedisCluster::NAME,
        }
    }
}

/// A throwaway SQLite database file for runs without a URL; removed on drop.
pub struct EmbeddedDb {
    pub path: std::path::PathBuf,
}

impl EmbeddedDb {
    pub fn create() -> std::io::Result<EmbeddedDb> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path =
            std::env::temp_dir().join(format!("unipool-bench-{}-{nanos}.db", std::process::id()));
        std::fs::File::create(&path)?;
        Ok(EmbeddedDb { path })
    }

    pub fn url(&self) -> String {
        format!("sqlite://{}?mode=rwc", self.path.display())
    }

    /// Creates and fills a small table so --query has something to read.
    pub async fn seed(&self) -> Result<(), String> {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&self.url())
            .await
            .map_err(err_text)?;
        sqlx::raw_sql(
            "PRAGMA journal_mode=WAL;
             CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL NOT NULL);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
             INSERT OR IGNORE INTO items SELECT i, 'item ' || i, i * 0.5 FROM n;",
        )
        .execute(&mut c)
        .await
        .map_err(err_text)?;
        c.close().await.map_err(err_text)?;
        Ok(())
    }
}

impl Drop for EmbeddedDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_from_url_schemes() {
        assert_eq!(Backend::of_url("postgres://u@h/d"), Ok(Backend::Postgres));
        assert_eq!(Backend::of_url("postgresql://u@h/d"), Ok(Backend::Postgres));
        assert_eq!(Backend::of_url("mariadb://root@h/test"), Ok(Backend::MySql));
        assert_eq!(Backend::of_url("sqlite::memory:"), Ok(Backend::Sqlite));
        assert_eq!(
            Backend::of_url("redis://127.0.0.1:6379/0"),
            Ok(Backend::Redis)
        );
        assert_eq!(
            Backend::of_url("redis://:pw@127.0.0.1:7000,127.0.0.1:7001"),
            Ok(Backend::RedisCluster)
        );
        assert_eq!(
            Backend::of_url("redis+cluster://127.0.0.1:7000"),
            Ok(Backend::RedisCluster)
        );
        assert!(Backend::of_url("oracle://x")
            .unwrap_err()
            .contains("'oracle'"));
    }
}
