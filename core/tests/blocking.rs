//! The synchronous front end: BlockingPool<M: SyncManager>.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use unipool::{BlockingPool, ErrorKind, PoolConfig, ResetOnReturn, SyncManager};

#[derive(Default)]
struct Fake {
    next: AtomicU32,
    down: AtomicBool,
    dead: Mutex<Vec<u32>>,
    closed: AtomicUsize,
    resets: AtomicUsize,
}

#[derive(Debug)]
struct E(&'static str);
impl std::fmt::Display for E {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}
impl std::error::Error for E {}

#[derive(Clone, Default)]
struct M(Arc<Fake>);

impl SyncManager for M {
    type Connection = (u32, bool); // (id, in a transaction)
    type Error = E;
    fn connect(&self) -> Result<(u32, bool), E> {
        if self.0.down.load(Ordering::Relaxed) {
            return Err(E("connection refused"));
        }
        Ok((self.0.next.fetch_add(1, Ordering::Relaxed) + 1, false))
    }
    fn ping(&self, c: &mut (u32, bool)) -> Result<(), E> {
        if self.0.dead.lock().unwrap().contains(&c.0) { Err(E("gone")) } else { Ok(()) }
    }
    fn needs_reset(&self, c: &mut (u32, bool), _how: ResetOnReturn) -> bool {
        c.1
    }
    fn reset(&self, c: &mut (u32, bool), _how: ResetOnReturn) -> Result<(), E> {
        self.0.resets.fetch_add(1, Ordering::Relaxed);
        c.1 = false;
        Ok(())
    }
    fn close(&self, _c: (u32, bool)) {
        self.0.closed.fetch_add(1, Ordering::Relaxed);
    }
}

fn cfg() -> unipool::PoolConfigBuilder {
    PoolConfig::builder().pool_size(2).max_overflow(0)
}

#[test]
fn get_reuses_resets_and_pre_pings() {
    let m = M::default();
    let pool = BlockingPool::new(m.clone(), cfg().pool_pre_ping(true).pre_ping_bypass(Duration::ZERO).build().unwrap()).unwrap();
    {
        let mut c = pool.get().unwrap();
        assert_eq!(c.0, 1);
        c.1 = true; // left a transaction open
    }
    assert_eq!(m.0.resets.load(Ordering::Relaxed), 1, "reset on return");
    m.0.dead.lock().unwrap().push(1);
    let c = pool.get().unwrap();
    assert_eq!(c.0, 2, "the dead connection was replaced without the caller seeing it");
    assert_eq!(pool.status().ping_failures, 1);
    assert_eq!(m.0.closed.load(Ordering::Relaxed), 1);
}

#[test]
fn threads_wait_and_time_out_with_the_last_connect_error() {
    let m = M::default();
    let pool = BlockingPool::new(m.clone(), cfg().pool_timeout(Duration::from_millis(100)).build().unwrap()).unwrap();
    let a = pool.get().unwrap();
    let b = pool.get().unwrap();
    let start = Instant::now();
    let e = pool.get().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PoolTimeout);
    assert!(start.elapsed() >= Duration::from_millis(100));
    drop((a, b));
    pool.dispose();
    m.0.down.store(true, Ordering::Relaxed);
    let e = pool.get().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PoolTimeout, "{e}");
    assert!(e.to_string().contains("connection refused"), "{e}");
    m.0.down.store(false, Ordering::Relaxed);
    assert!(pool.get().is_ok(), "serving again once the database is back");
}

#[test]
fn maintenance_thread_keeps_min_idle_and_fail_fast_start_reports() {
    let m = M::default();
    let pool = BlockingPool::new(
        m.clone(),
        cfg().min_idle(2).maintenance_interval(Duration::from_millis(10)).build().unwrap(),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while pool.status().idle < 2 {
        assert!(Instant::now() < deadline, "{:?}", pool.status());
        std::thread::sleep(Duration::from_millis(5));
    }
    let down = M::default();
    down.0.down.store(true, Ordering::Relaxed);
    let e = BlockingPool::new(down, cfg().initialization_fail_timeout(Some(Duration::from_millis(80))).build().unwrap()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectFailed);
    assert!(e.to_string().contains("connection refused"), "{e}");
}

#[test]
fn many_threads_share_two_connections() {
    let pool = BlockingPool::new(M::default(), cfg().build().unwrap()).unwrap();
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let pool = pool.clone();
            std::thread::spawn(move || {
                for _ in 0..500 {
                    let c = pool.get().unwrap();
                    std::hint::black_box(&c);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let s = pool.status();
    assert!(s.created <= 2, "{s:?}");
    assert_eq!((s.acquired, s.in_use), (8000, 0));
    pool.raw().check_invariants().unwrap();
}
