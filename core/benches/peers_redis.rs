//! Redis: unipool + redis-rs against deadpool-redis and bb8-redis.
//! 64 concurrent workers, pool of 10 connections, `PING`.
//! Run through tests/scripts/bench-connectors.sh (which adds redis-benchmark as the ceiling):
//!   cargo bench --profile ci -p unipool --features redis --bench peers_redis
//! Env: REDIS_URL, BENCH_SECS (5), BENCH_ROUNDS (3), BENCH_WORKERS (64), BENCH_POOL (10).

#![allow(clippy::type_complexity)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env_or<T: std::str::FromStr>(k: &str, d: T) -> T {
    std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d)
}

async fn drive<F, Fut>(workers: usize, secs: f64, op: F) -> (f64, f64, f64)
where
    F: Fn() -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
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
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let secs: f64 = env_or("BENCH_SECS", 5.0);
    let rounds: usize = env_or("BENCH_ROUNDS", 3);
    let workers: usize = env_or("BENCH_WORKERS", 64);
    let size: usize = env_or("BENCH_POOL", 10);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async move {
        let mut cfg = unipool::PoolConfig::default();
        cfg.pool_size = size;
        cfg.max_overflow = 0;
        let uni = unipool::Pool::new(unipool::connectors::redis::RedisManager::from_url(&url).unwrap(), cfg).unwrap();

        let mut dp_cfg = deadpool_redis::Config::from_url(url.clone());
        dp_cfg.pool = Some(deadpool_redis::PoolConfig::new(size));
        let dp = dp_cfg.create_pool(Some(deadpool_redis::Runtime::Tokio1)).unwrap();

        let bb = bb8_redis::bb8::Pool::builder()
            .max_size(size as u32)
            .build(bb8_redis::RedisConnectionManager::new(url.clone()).unwrap())
            .await
            .unwrap();

        let mut results: Vec<(&str, Vec<f64>, Vec<f64>, Vec<f64>)> = vec![
            ("unipool_redis", vec![], vec![], vec![]),
            ("deadpool_redis", vec![], vec![], vec![]),
            ("bb8_redis", vec![], vec![], vec![]),
            ("redis_direct_no_pool", vec![], vec![], vec![]),
        ];
        for round in 0..rounds {
            for (name, ops, p50, p99) in results.iter_mut() {
                let r = match *name {
                    "unipool_redis" => {
                        let p = uni.clone();
                        drive(workers, secs, move || {
                            let p = p.clone();
                            async move {
                                let mut c = p.get().await.unwrap();
                                let s: String = redis::cmd("PING").query_async(&mut *c).await.unwrap();
                                assert_eq!(s, "PONG");
                            }
                        })
                        .await
                    }
                    "deadpool_redis" => {
                        let p = dp.clone();
                        drive(workers, secs, move || {
                            let p = p.clone();
                            async move {
                                let mut c = p.get().await.unwrap();
                                let s: String = redis::cmd("PING").query_async(&mut c).await.unwrap();
                                assert_eq!(s, "PONG");
                            }
                        })
                        .await
                    }
                    "redis_direct_no_pool" => {
                        let client = redis::Client::open(url.as_str()).unwrap();
                        drive_direct(
                            size,
                            secs,
                            move || {
                                let client = client.clone();
                                async move { client.get_multiplexed_async_connection().await.unwrap() }
                            },
                            |mut c: redis::aio::MultiplexedConnection| async move {
                                let s: String = redis::cmd("PING").query_async(&mut c).await.unwrap();
                                assert_eq!(s, "PONG");
                                c
                            },
                        )
                        .await
                    }
                    _ => {
                        let p = bb.clone();
                        drive(workers, secs, move || {
                            let p = p.clone();
                            async move {
                                let mut c = p.get().await.unwrap();
                                let s: String = redis::cmd("PING").query_async(&mut *c).await.unwrap();
                                assert_eq!(s, "PONG");
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
                "RESULT redis {name} {:.0} ops/s p50_us={:.0} p99_us={:.0} rounds={rounds} secs={secs} workers={workers} pool={size}",
                median(ops),
                median(p50),
                median(p99)
            );
        }
    });
}
