//! PostgreSQL: unipool + sqlx against sqlx's own PgPool and deadpool-postgres.
//! 64 concurrent workers, pool of 10 connections, `SELECT 1` (prepared, cached).
//! Run through tests/scripts/bench-connectors.sh (which adds pgbench as the ceiling):
//!   cargo bench --profile ci -p unipool --features postgres --bench peers_pg
//! Env: DATABASE_URL, BENCH_SECS (per round, default 5), BENCH_ROUNDS (default 3),
//! BENCH_WORKERS (64), BENCH_POOL (10). Prints one `RESULT <name> <median ops/s> ...` line each.

#![allow(clippy::type_complexity)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env_or<T: std::str::FromStr>(k: &str, d: T) -> T {
    std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d)
}

/// Runs `workers` tasks calling `op` in a loop for `secs`; returns (ops/s, p50 µs, p99 µs).
async fn drive<F, Fut>(workers: usize, secs: f64, op: F) -> (f64, f64, f64)
where
    F: Fn() -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    // warm-up: fill the pool
    let mut warm = Vec::new();
    for _ in 0..workers {
        let op = op.clone();
        warm.push(tokio::spawn(async move {
            for _ in 0..20 {
                op().await;
            }
        }));
    }
    for w in warm {
        w.await.unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (op, stop, count) = (op.clone(), stop.clone(), count.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(1 << 14);
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                op().await;
                lat.push(t.elapsed().as_micros() as u32);
                count.fetch_add(1, Ordering::Relaxed);
            }
            lat
        }));
    }
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let n = count.load(Ordering::Relaxed);
    let elapsed = start.elapsed().as_secs_f64();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    let pct = |p: f64| all.get(((all.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(0) as f64;
    (n as f64 / elapsed, pct(0.50), pct(0.99))
}

/// No pool: `conns` tasks, each owning one connection, looping for `secs`
/// (the driver's own ceiling inside this process; pool overhead = the difference).
async fn drive_direct<C, Mk, MkF, Op, OpF>(conns: usize, secs: f64, make: Mk, op: Op) -> (f64, f64, f64)
where
    C: Send + 'static,
    Mk: Fn() -> MkF,
    MkF: std::future::Future<Output = C>,
    Op: Fn(C) -> OpF + Send + Sync + Clone + 'static,
    OpF: std::future::Future<Output = C> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    let mut ready = Vec::new();
    for _ in 0..conns {
        ready.push(make().await);
    }
    let start = Instant::now();
    for mut c in ready {
        let (op, stop, count) = (op.clone(), stop.clone(), count.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(1 << 14);
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                c = op(c).await;
                lat.push(t.elapsed().as_micros() as u32);
                count.fetch_add(1, Ordering::Relaxed);
            }
            lat
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let n = count.load(Ordering::Relaxed);
    let elapsed = start.elapsed().as_secs_f64();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    let pct = |p: f64| all.get(((all.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(0) as f64;
    (n as f64 / elapsed, pct(0.50), pct(0.99))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

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
