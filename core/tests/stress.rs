//! Thousands of tasks and threads acquiring, holding, failing, invalidating
//! and abandoning waits, with the pool's invariants checked after every step:
//! slots never exceed pool_size + max_overflow, no slot leaks, every waiter is
//! answered, and at rest `created - closed == open`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use unipool::{Error, ErrorKind, Grant, PoolConfig, RawPool};

fn check(pool: &RawPool<u64>, max: usize) {
    pool.check_invariants().unwrap();
    let s = pool.status();
    assert!(s.open + s.pending <= max, "slots {} + {} over max {max}", s.open, s.pending);
}

fn at_rest(pool: &RawPool<u64>) {
    let s = pool.status();
    assert_eq!((s.in_use, s.pending, s.waiting), (0, 0, 0), "{s:?}");
    assert_eq!(s.created - s.closed, s.open as u64, "created - closed != open: {s:?}");
    assert!(s.idle <= s.pool_size);
    pool.check_invariants().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_tasks_keep_the_invariants() {
    const TASKS: u64 = 4000;
    let config = PoolConfig::builder().pool_size(8).max_overflow(4).build().unwrap();
    let pool: RawPool<u64> = RawPool::new(config).unwrap();
    let next_conn = Arc::new(AtomicU64::new(0));
    let answered = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for t in 0..TASKS {
        let (pool, next_conn, answered) = (pool.clone(), next_conn.clone(), answered.clone());
        handles.push(tokio::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(t);
            for _ in 0..5 {
                let timeout = Duration::from_millis(rng.u64(0..20));
                let fut = pool.acquire(Some(timeout));
                // One in ten waits is abandoned early (a cancelled request).
                let r = if rng.u8(0..10) == 0 {
                    match tokio::time::timeout(Duration::from_micros(rng.u64(1..500)), fut).await {
                        Ok(r) => r,
                        Err(_) => {
                            check(&pool, 12);
                            continue;
                        }
                    }
                } else {
                    fut.await
                };
                answered.fetch_add(1, Ordering::Relaxed);
                check(&pool, 12);
                let c = match r {
                    Err(e) => {
                        assert_eq!(e.kind(), ErrorKind::PoolTimeout, "{e}");
                        continue;
                    }
                    Ok(Grant::Create(p)) if rng.u8(0..20) == 0 => {
                        p.fail(Error::new(ErrorKind::ConnectFailed, "injected"));
                        check(&pool, 12);
                        continue;
                    }
                    Ok(Grant::Create(p)) => p.fulfill(next_conn.fetch_add(1, Ordering::Relaxed)),
                    Ok(Grant::Idle(c)) => c,
                };
                check(&pool, 12);
                if rng.bool() {
                    tokio::task::yield_now().await;
                }
                match rng.u8(0..20) {
                    0 => drop(c.invalidate()),
                    1 => drop(c), // dropped, not released: goes back all the same
                    _ => drop(c.release()),
                }
                check(&pool, 12);
            }
        }));
    }
    let all = async {
        for h in handles {
            h.await.unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(120), all).await.expect("every task finishes: no waiter hangs");
    drop(pool.take_retired());
    at_rest(&pool);
    assert!(answered.load(Ordering::Relaxed) > TASKS * 3);
    assert!(pool.status().timeouts > 0, "the scenario should include timeouts");
}

#[test]
fn blocking_threads_and_callbacks_together() {
    let config = PoolConfig::builder().pool_size(4).max_overflow(0).build().unwrap();
    let pool: RawPool<u64> = RawPool::new(config).unwrap();
    let next = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..32)
        .map(|t| {
            let (pool, next) = (pool.clone(), next.clone());
            std::thread::spawn(move || {
                let mut rng = fastrand::Rng::with_seed(1000 + t);
                for _ in 0..300 {
                    if rng.bool() {
                        match pool.acquire_blocking(Some(Duration::from_millis(rng.u64(0..5)))) {
                            Ok(g) => {
                                let c = match g {
                                    Grant::Idle(c) => c,
                                    Grant::Create(p) => p.fulfill(next.fetch_add(1, Ordering::Relaxed)),
                                };
                                check(&pool, 4);
                                let _ = c.release();
                            }
                            Err(e) => assert_eq!(e.kind(), ErrorKind::PoolTimeout),
                        }
                    } else {
                        let n2 = next.clone();
                        let h = pool.acquire_callback(Some(Duration::from_millis(rng.u64(1..5))), move |r| {
                            if let Ok(g) = r {
                                let c = match g {
                                    Grant::Idle(c) => c,
                                    Grant::Create(p) => p.fulfill(n2.fetch_add(1, Ordering::Relaxed)),
                                };
                                let _ = c.release();
                            }
                        });
                        if rng.u8(0..4) == 0 {
                            h.cancel();
                        }
                    }
                    check(&pool, 4);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // Callbacks still pending time out within 5 ms.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while pool.status().waiting > 0 || pool.status().in_use > 0 {
        assert!(std::time::Instant::now() < deadline, "waiters never answered: {:?}", pool.status());
        std::thread::sleep(Duration::from_millis(5));
    }
    at_rest(&pool);
}

#[test]
fn a_hundred_thousand_waiters_are_all_answered_in_order() {
    let pool: RawPool<u64> = RawPool::new(PoolConfig::builder().pool_size(1).max_overflow(0).build().unwrap()).unwrap();
    let first = match pool.try_acquire().unwrap().unwrap() {
        Grant::Create(p) => p.fulfill(0),
        Grant::Idle(_) => unreachable!(),
    };
    let order = Arc::new(parking_lot::Mutex::new(Vec::with_capacity(100_000)));
    let mut handles = Vec::with_capacity(100_000);
    for i in 0..100_000u64 {
        let order = order.clone();
        handles.push(pool.acquire_callback(Some(Duration::from_secs(60)), move |r| {
            order.lock().push(i);
            // Served: hand it straight on (the release wakes the next waiter).
            if let Ok(Grant::Idle(c)) = r {
                let _ = c.release();
            }
        }));
    }
    assert_eq!(pool.status().waiting, 100_000);
    let _ = first.release();
    let order = order.lock();
    assert_eq!(order.len(), 100_000);
    assert!(order.windows(2).all(|w| w[0] < w[1]), "served out of order");
    drop(order);
    at_rest(&pool);
}
