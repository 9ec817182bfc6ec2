//! Redis: unipool + redis-rs against deadpool-redis and bb8-redis.
//! 64 concurrent workers, pool of 10 connections, `PING`.
//! Run through tests/scripts/bench-connectors.sh (which adds redis-benchmark as the ceiling):
//!   cargo bench --profile ci -p unipool --features redis --bench peers_redis
//! Env: REDIS_URL, BENCH_SECS (5), BENCH_ROUNDS (3), BENCH_WORKERS (64), BENCH_POOL (10).

#![allow(clippy::type_complexity)]


mod common;
use common::{drive, drive_direct, env_or, median};


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
