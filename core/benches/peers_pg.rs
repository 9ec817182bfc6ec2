//! PostgreSQL: unipool + sqlx against sqlx's own PgPool and deadpool-postgres.
//! 64 concurrent workers, pool of 10 connections, `SELECT 1` (prepared, cached).
//! Run through tests/scripts/bench-connectors.sh (which adds pgbench as the ceiling):
//!   cargo bench --profile ci -p unipool --features postgres --bench peers_pg
//! Env: DATABASE_URL, BENCH_SECS (per round, default 5), BENCH_ROUNDS (default 3),
//! BENCH_WORKERS (64), BENCH_POOL (10). Prints one `RESULT <name> <median ops/s> ...` line each.

#![allow(clippy::type_complexity)]


mod common;
use common::{drive, drive_direct, env_or, median};


fn main() {
    // `cargo bench` passes --bench; ignore arguments.
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let secs: f64 = env_or("BENCH_SECS", 5.0);
    let rounds: usize = env_or("BENCH_ROUNDS", 3);
    let workers: usize = env_or("BENCH_WORKERS", 64);
    let size: usize = env_or("BENCH_POOL", 10);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async move {
        // unipool + sqlx (defaults: no pre-ping, rollback-on-return check only)
        let mut cfg = unipool::PoolConfig::default();
        cfg.pool_size = size;
        cfg.max_overflow = 0;
        let uni = unipool::Pool::new(unipool::connectors::postgres::PgManager::from_url(&url).unwrap(), cfg).unwrap();

        // sqlx PgPool, its defaults (test_before_acquire = true)
        let sqlx_pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(size as u32)
            .min_connections(size as u32)
            .connect(&url)
            .await
            .unwrap();
        // sqlx PgPool without the per-acquire ping, for a like-for-like comparison
        let sqlx_nt = sqlx::postgres::PgPoolOptions::new()
            .max_connections(size as u32)
            .min_connections(size as u32)
            .test_before_acquire(false)
            .connect(&url)
            .await
            .unwrap();

        // deadpool-postgres (tokio-postgres, NoTls), default recycling (Fast)
        let mut dp_cfg = deadpool_postgres::Config::new();
        dp_cfg.url = Some(url.clone());
        dp_cfg.pool = Some(deadpool_postgres::PoolConfig::new(size));
        let dp = dp_cfg
            .create_pool(Some(deadpool_postgres::Runtime::Tokio1), deadpool_postgres::tokio_postgres::NoTls)
            .unwrap();

        let mut results: Vec<(&str, Vec<f64>, Vec<f64>, Vec<f64>)> = vec![
            ("unipool_sqlx", vec![], vec![], vec![]),
            ("sqlx_pgpool", vec![], vec![], vec![]),
            ("sqlx_pgpool_no_test", vec![], vec![], vec![]),
            ("deadpool_postgres", vec![], vec![], vec![]),
            ("sqlx_direct_no_pool", vec![], vec![], vec![]),
        ];
        for round in 0..rounds {
            for (name, ops, p50, p99) in results.iter_mut() {
                let r = match *name {
                    "unipool_sqlx" => {
                        let p = uni.clone();
                        drive(workers, secs, move || {
                            let p = p.clone();
                            async move {
                                let mut c = p.get().await.unwrap();
                                let v: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut *c).await.unwrap();
                                assert_eq!(v, 1);
                            }
                        })
                        .await
                    }
                    "sqlx_pgpool" | "sqlx_pgpool_no_test" => {
                        let p = if *name == "sqlx_pgpool" { sqlx_pool.clone() } else { sqlx_nt.clone() };
                        drive(workers, secs, move || {
                            let p = p.clone();
                            async move {
                                let mut c = p.acquire().await.unwrap();
                                let v: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut *c).await.unwrap();
                                assert_eq!(v, 1);
                            }
                        })
                        .await
                    }
                    "sqlx_direct_no_pool" => {
                        let url = url.clone();
                        drive_direct(
                            size,
                            secs,
                            move || {
                                let url = url.clone();
                                async move {
                                    use sqlx::Connection;
                                    sqlx::PgConnection::connect(&url).await.unwrap()
                                }
                            },
                            |mut c: sqlx::PgConnection| async move {
                                let v: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut c).await.unwrap();
                                assert_eq!(v, 1);
                                c
                            },
                        )
                        .await
                    }
                    _ => {
                        let p = dp.clone();
                        drive(workers, secs, move || {
                            let p = p.clone();
                            async move {
                                let c = p.get().await.unwrap();
                                let st = c.prepare_cached("SELECT 1").await.unwrap();
                                let row = c.query_one(&st, &[]).await.unwrap();
                                let v: i32 = row.get(0);
                                assert_eq!(v, 1);
                            }
                        })
                        .await
                    }
                };
                eprintln!("round {round} {name}: {:.0} ops/s p50 {:.0}us p99 {:.0}us", r.0, r.1, r.2);
                ops.push(r.0);
                p50.push(r.1);
                p99.push(r.2);
            }
        }
        for (name, ops, p50, p99) in results {
            println!(
                "RESULT pg {name} {:.0} ops/s p50_us={:.0} p99_us={:.0} rounds={rounds} secs={secs} workers={workers} pool={size}",
                median(ops),
                median(p50),
                median(p99)
            );
        }
    });
}
