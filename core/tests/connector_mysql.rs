//! MySQL/MariaDB connector against the machine's real server (MYSQL_URL).

mod connector_support;

use std::time::Duration;

use connector_support::*;
use sqlx::{Connection, Executor};
use unipool::connectors::mysql::MySqlManager;
use unipool::{ErrorKind, Pool, PoolConfig};

fn config(pool_size: usize, max_overflow: i64) -> PoolConfig {
    let mut c = PoolConfig::default();
    c.pool_size = pool_size;
    c.max_overflow = max_overflow;
    c.pool_timeout = Duration::from_secs(10);
    c.connect_timeout = Duration::from_secs(5);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_query_return_reuses_the_connection() {
    let pool = Pool::new(MySqlManager::from_url(&mysql_url()).unwrap(), config(2, 0)).unwrap();
    let id1: u64 = {
        let mut conn = pool.get().await.expect("checkout");
        let v: i64 = sqlx::query_scalar("SELECT CAST(? AS SIGNED) + 1").bind(41).fetch_one(&mut *conn).await.unwrap();
        assert_eq!(v, 42);
        sqlx::query_scalar("SELECT CONNECTION_ID()").fetch_one(&mut *conn).await.unwrap()
    };
    assert!(eventually(Duration::from_secs(5), || pool.status().idle == 1).await, "{:?}", pool.status());
    let mut conn = pool.get().await.unwrap();
    let id2: u64 = sqlx::query_scalar("SELECT CONNECTION_ID()").fetch_one(&mut *conn).await.unwrap();
    assert_eq!(id1, id2, "idle connection was not reused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_scheme_and_rollback_on_return() {
    let url = mysql_url().replacen("mysql://", "mariadb://", 1);
    let pool = Pool::new(MySqlManager::from_url(&url).unwrap(), config(1, 0)).unwrap();
    let table = format!("unipool_reset_{}", std::process::id());
    {
        let mut conn = pool.get().await.unwrap();
        conn.execute(format!("CREATE TABLE IF NOT EXISTS {table} (x INT) ENGINE=InnoDB").as_str()).await.unwrap();
        let mut tx = conn.begin().await.unwrap();
        tx.execute(format!("INSERT INTO {table} VALUES (1)").as_str()).await.unwrap();
        std::mem::forget(tx); // left open by the caller
    }
    let mut conn = pool.get().await.unwrap();
    let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(&mut *conn).await.unwrap();
    assert_eq!(n, 0, "an unfinished transaction survived the return");
    conn.execute(format!("DROP TABLE {table}").as_str()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_load_on_a_small_pool() {
    let pool = Pool::new(MySqlManager::from_url(&mysql_url()).unwrap(), config(3, 2)).unwrap();
    let mut tasks = Vec::new();
    for i in 0..40i64 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = pool.get().await.map_err(|e| e.to_string())?;
            let v: i64 = sqlx::query_scalar("SELECT CAST(? AS SIGNED) FROM (SELECT SLEEP(0.02)) s")
                .bind(i)
                .fetch_one(&mut *conn)
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(v == i)
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), Ok(true));
    }
    assert!(pool.status().open <= 5, "{:?}", pool.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_error_is_typed_and_masks_the_password() {
    let mut cfg = config(1, 0);
    cfg.pool_timeout = Duration::from_secs(1);
    let pool = Pool::new(MySqlManager::from_url("mysql://root:My-S3cret@127.0.0.1:1/test").unwrap(), cfg).unwrap();
    let err = pool.get().await.expect_err("connected to a closed port");
    let text = format!("{err} {err:?} {}", chain(&err));
    assert!(!text.contains("My-S3cret"), "{text}");
    assert!(matches!(err.kind(), ErrorKind::ConnectFailed | ErrorKind::PoolTimeout), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_ping_replaces_a_killed_connection() {
    let mut cfg = config(1, 0);
    cfg.pool_pre_ping = true;
    cfg.pre_ping_bypass = Duration::ZERO;
    let pool = Pool::new(MySqlManager::from_url(&mysql_url()).unwrap(), cfg).unwrap();
    let id: u64 = {
        let mut conn = pool.get().await.unwrap();
        sqlx::query_scalar("SELECT CONNECTION_ID()").fetch_one(&mut *conn).await.unwrap()
    };
    assert!(eventually(Duration::from_secs(5), || pool.status().idle == 1).await);
    let mut admin = sqlx::MySqlConnection::connect(&mysql_url()).await.unwrap();
    admin.execute(format!("KILL {id}").as_str()).await.unwrap();
    let mut gone = false;
    for _ in 0..200 {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ?")
            .bind(id)
            .fetch_one(&mut admin)
            .await
            .unwrap();
        if n == 0 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(gone, "connection {id} still listed after KILL");
    let mut conn = pool.get().await.expect("pre-ping should hide the killed connection");
    let id2: u64 = sqlx::query_scalar("SELECT CONNECTION_ID()").fetch_one(&mut *conn).await.unwrap();
    assert_ne!(id, id2);
    assert!(pool.status().ping_failures >= 1, "{:?}", pool.status());
}
