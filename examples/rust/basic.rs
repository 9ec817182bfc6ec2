//! A unipool pool over SQLite (no server needed), then over any URL you give:
//!
//!   cargo run -p unipool --features sqlite --example basic
//!   cargo run -p unipool --features sqlite --example basic -- "sqlite:///tmp/x.db?mode=rwc&pool_size=4"
//!
//! Pool keys in the URL query go to the pool, the rest to the driver.

use unipool::connectors::sqlite::SqliteManager;
use unipool::{Pool, PoolConfig};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let default_url = format!("sqlite://{}/unipool-example-{}.db?mode=rwc&pool_size=4&max_overflow=0", std::env::temp_dir().display(), std::process::id());
    let url = std::env::args().nth(1).unwrap_or(default_url);
    let (config, driver_url) = PoolConfig::from_url(&url)?;
    let pool = Pool::new(SqliteManager::from_url(&driver_url)?, config)?;

    {
        let mut conn = pool.get().await?; // derefs to sqlx::SqliteConnection
        sqlx::query("CREATE TABLE IF NOT EXISTS visits (n INTEGER)").execute(&mut *conn).await?;
    }
    // 32 tasks share the pool's 4 connections.
    let mut tasks = Vec::new();
    for n in 0..32i64 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = pool.get().await?;
            sqlx::query("INSERT INTO visits VALUES (?)").bind(n).execute(&mut *conn).await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        }));
    }
    for t in tasks {
        t.await?.map_err(|e| e.to_string())?;
    }
    let mut conn = pool.get().await?;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM visits").fetch_one(&mut *conn).await?;
    drop(conn);
    let s = pool.status();
    println!("rows: {count}; pool: {s}; created {} connections for {} checkouts", s.created, s.acquired);
    assert!(count >= 32 && s.created <= 4 && s.in_use == 0);
    println!("{}", pool.metrics_text().lines().filter(|l| l.starts_with("db_client_connection_count")).collect::<Vec<_>>().join("\n"));
    pool.close().await;
    if url.contains("unipool-example-") {
        let _ = std::fs::remove_file(url.trim_start_matches("sqlite://").split('?').next().unwrap_or_default());
    }
    Ok(())
}
