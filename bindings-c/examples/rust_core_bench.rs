//! The Rust core's own figure for the C benchmark: acquire + release on
//! `unipool::RawPool` directly (pool_size=4, max_overflow=0, reset none), 1 and 8
//! threads, same loop shape and output format as bench/bench_c_abi.c:
//!   rust_core threads=T ops=N median_ns=X min_ns=Y
//! Usage: rust_core_bench [--iters N] [--threads 1,8] [--rounds R]
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use unipool::{Grant, PoolConfig, RawPool};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut iters: u64 = 1_000_000;
    let mut threads = "1,8".to_string();
    let mut rounds = 7usize;
    let mut i = 1;
    while i + 1 < args.len() {
        match args[i].as_str() {
            "--iters" => iters = args[i + 1].parse().expect("--iters N"),
            "--threads" => threads = args[i + 1].clone(),
            "--rounds" => rounds = args[i + 1].parse().expect("--rounds R"),
            _ => {}
        }
        i += 2;
    }
    let mut cfg = PoolConfig::default();
    cfg.apply([("name", "bench"), ("pool_size", "4"), ("max_overflow", "0"), ("reset_on_return", "none")])
        .expect("bench config");
    let pool: RawPool<Box<u64>> = RawPool::new(cfg).expect("pool");
    for nt in threads.split(',').filter_map(|t| t.trim().parse::<usize>().ok()) {
        let mut per_op = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let start = Arc::new(Barrier::new(nt + 1));
            let handles: Vec<_> = (0..nt)
                .map(|_| {
                    let pool = pool.clone();
                    let start = Arc::clone(&start);
                    std::thread::spawn(move || {
                        start.wait();
                        for _ in 0..iters {
                            let co = match pool.acquire_blocking(Some(Duration::from_secs(10))).expect("acquire") {
                                Grant::Idle(co) => co,
                                Grant::Create(permit) => permit.fulfill(Box::new(0)),
                            };
                            if let Some((conn, _)) = co.release() {
                                drop(conn);
                            }
                        }
                    })
                })
                .collect();
            start.wait();
            let t0 = Instant::now();
            for h in handles {
                h.join().expect("bench thread");
            }
            per_op.push(t0.elapsed().as_nanos() as f64 / (iters as f64 * nt as f64));
        }
        per_op.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "rust_core threads={nt} ops={} median_ns={:.1} min_ns={:.1}",
            iters * nt as u64,
            per_op[rounds / 2],
            per_op[0]
        );
    }
}
