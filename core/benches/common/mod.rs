//! The load loop shared by the connector benchmarks (peers_pg, peers_redis).

#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn env_or<T: std::str::FromStr>(k: &str, d: T) -> T {
    std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d)
}

/// Runs `workers` tasks calling `op` in a loop for `secs`; returns (ops/s, p50 µs, p99 µs).
pub async fn drive<F, Fut>(workers: usize, secs: f64, op: F) -> (f64, f64, f64)
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
pub async fn drive_direct<C, Mk, MkF, Op, OpF>(conns: usize, secs: f64, make: Mk, op: Op) -> (f64, f64, f64)
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

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}
