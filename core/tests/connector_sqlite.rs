//! SQLite connector (bundled libsqlite3): file database and shared in-memory database.

mod connector_support;

use std::time::Duration;

use connector_support::*;
use sqlx::{Connection, Executor};
use unipool::connectors::sqlite::SqliteManager;
use unipool::{Pool, PoolConfig};

fn config(pool_size: usize, max_overflow: i64) -> PoolConfig {
    let mut c = PoolConfig::default();
    c.pool_size = pool_size;
    c.max_overflow = max_overflow;
    c.pool_timeout = Duration::from_secs(10);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_database_checkout_query_return() {
    let dir = scratch_dir("sqlite");
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{dir}/app.db?mode=rwc&pool_size=2");
    let (cfg, _) = PoolConfig::from_url(&url).unwrap();
    assert_eq!(cfg.pool_size, 2);
    let pool = Pool::new(SqliteManager::from_url(&url).unwrap(), cfg).unwrap();
    {
        let mut conn = pool.get().await.unwrap();
        conn.execute("CREATE TABLE t (x INTEGER)").await.unwrap();
        sqlx::query("INSERT INTO t VALUES (?)").bind(7).execute(&mut *conn).await.unwrap();
    }
    // another connection of the pool sees the committed row
    let mut a = pool.get().await.unwrap();
    let mut b = pool.get().await.unwrap();
    for c in [&mut a, &mut b] {
        let v: i64 = sqlx::query_scalar("SELECT x FROM t").fetch_one(&mut **c).await.unwrap();
        assert_eq!(v, 7);
    }
    assert_eq!(pool.status().open, 2);
    drop((a, b));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_on_return_and_shared_memory() {
    let name = format!("unipool_mem_{}", std::process::id());
    let url = format!("sqlite:file:{name}?mode=memory&cache=shared");
    let pool = Pool::new(SqliteManager::from_url(&url).unwrap(), config(1, 1)).unwrap();
    let mut keeper = pool.get().await.unwrap(); // keeps the shared in-memory database alive
    keeper.execute("CREATE TABLE t (x INTEGER)").await.unwrap();
    {
        let mut conn = pool.get().await.unwrap(); // overflow connection, same database
        let mut tx = conn.begin().await.unwrap();
        tx.execute("INSERT INTO t VALUES (1)").await.unwrap();
        std::mem::forget(tx);
    }
    assert!(eventually(Duration::from_secs(5), || pool.status().in_use == 1).await);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM t").fetch_one(&mut *keeper).await.unwrap();
    assert_eq!(n, 0, "the unfinished transaction was not rolled back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_url_is_an_invalid_config_error() {
    let err = SqliteManager::from_url("postgres://h/db").unwrap_err();
    assert_eq!(err.kind(), unipool::ErrorKind::InvalidConfig);
    let err = SqliteManager::from_url("sqlite::memory:?reset=sometimes").unwrap_err();
    assert!(err.to_string().contains("reset") && err.to_string().contains("sometimes"), "{err}");
}
