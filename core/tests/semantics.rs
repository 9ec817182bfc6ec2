//! One test per rule of docs/semantics.md that the conformance scenarios do
//! not already cover: concurrency (real threads and tasks), cancellation,
//! the timeout diagnosis, events, jitter, backoff, and the Rust `Pool<M>`.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use unipool::{
    Clock, CloseReason, Error, ErrorKind, Event, Grant, Manager, Pool, PoolConfig, RawPool,
};

fn cfg(pool_size: usize, max_overflow: i64) -> PoolConfig {
    PoolConfig::builder().pool_size(pool_size).max_overflow(max_overflow).build().unwrap()
}

fn fill<T: Send + 'static>(g: Grant<T>, make: impl FnOnce() -> T) -> unipool::Checkout<T> {
    match g {
        Grant::Idle(c) => c,
        Grant::Create(p) => p.fulfill(make()),
    }
}

#[test]
fn blocking_waiters_are_served_in_arrival_order() {
    let pool: RawPool<u32> = RawPool::new(cfg(1, 0)).unwrap();
    let held = fill(pool.try_acquire().unwrap().unwrap(), || 1);
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut threads = Vec::new();
    for i in 0..8 {
        let (p, order) = (pool.clone(), order.clone());
        threads.push(std::thread::spawn(move || {
            let c = fill(p.acquire_blocking(Some(Duration::from_secs(10))).unwrap(), || 99);
            order.lock().unwrap().push(i);
            std::thread::sleep(Duration::from_millis(2));
            drop(c);
        }));
        // Let thread i enqueue before thread i+1.
        while pool.status().waiting < i + 1 {
            std::thread::yield_now();
        }
    }
    drop(held);
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(*order.lock().unwrap(), (0..8).collect::<Vec<_>>());
    assert_eq!(pool.status().created, 1, "one connection handed from waiter to waiter");
}

#[test]
fn a_returned_connection_goes_to_the_waiter_not_a_barger() {
    let pool: RawPool<u32> = RawPool::new(cfg(1, 0)).unwrap();
    let held = fill(pool.try_acquire().unwrap().unwrap(), || 1);
    let got = Arc::new(Mutex::new(None));
    let g2 = got.clone();
    let _h = pool.acquire_callback(None, move |r| *g2.lock().unwrap() = Some(r.map(|g| fill(g, || 2))));
    drop(held);
    // The waiter already owns it: a caller arriving now finds nothing.
    assert!(pool.try_acquire().unwrap().is_none());
    let c = got.lock().unwrap().take().unwrap().unwrap();
    assert_eq!(*c, 1);
}

#[test]
fn timeout_is_a_diagnosis_with_counts_and_the_last_connect_error() {
    let pool: RawPool<u32> = RawPool::new(cfg(1, 0)).unwrap();
    // Connecting fails once: the slot frees and the error is remembered.
    match pool.try_acquire().unwrap().unwrap() {
        Grant::Create(p) => p.fail(Error::new(ErrorKind::ConnectFailed, "connection refused (postgres://app:hunter2@db/x)")),
        Grant::Idle(_) => unreachable!(),
    }
    let _c = fill(pool.try_acquire().unwrap().unwrap(), || 7);
    let start = Instant::now();
    let e = pool.acquire_blocking(Some(Duration::from_millis(50))).unwrap_err();
    assert!(start.elapsed() >= Duration::from_millis(50));
    assert_eq!(e.kind(), ErrorKind::PoolTimeout);
    // The success after the failure resets the failure streak: no stale cause.
    assert!(std::error::Error::source(&e).is_none(), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("open=1, in_use=1, idle=0, waiting=1"), "{msg}");
    assert!(e.waited().unwrap() >= Duration::from_millis(50));
    assert_eq!(e.status().unwrap().in_use, 1);

    // While connecting keeps failing, the timeout carries the last error as its cause:
    // one attempt failed, the next is in flight (holding the only slot) when a caller gives up.
    let pool: RawPool<u32> = RawPool::new(cfg(1, 0)).unwrap();
    match pool.try_acquire().unwrap().unwrap() {
        Grant::Create(p) => p.fail(Error::new(ErrorKind::ConnectFailed, "connection refused (postgres://app:hunter2@db/x)")),
        Grant::Idle(_) => unreachable!(),
    }
    let _in_flight = pool.try_acquire().unwrap().unwrap();
    let e = pool.acquire_blocking(Some(Duration::from_millis(20))).unwrap_err();
    assert!(e.to_string().contains("pending=1"), "{e}");
    let cause = std::error::Error::source(&e).expect("last connect error as cause");
    assert!(cause.to_string().contains("connection refused"));
    assert!(e.to_string().contains("last error: connection refused"), "{e}");
    assert!(!e.to_string().contains("hunter2"), "password leaked: {e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_an_acquire_future_leaks_nothing() {
    let pool: RawPool<u32> = RawPool::new(cfg(1, 0)).unwrap();
    let held = fill(pool.try_acquire().unwrap().unwrap(), || 1);
    for _ in 0..100 {
        let fut = pool.acquire(Some(Duration::from_secs(5)));
        // Poll once (enqueues), then drop.
        let r = tokio::time::timeout(Duration::from_micros(50), fut).await;
        assert!(r.is_err());
    }
    assert_eq!(pool.status().waiting, 0);
    // A future dropped after being served gives the connection back.
    let fut = pool.acquire(Some(Duration::from_secs(5)));
    let mut fut = Box::pin(fut);
    assert!(futures_poll_once(&mut fut).await.is_none());
    drop(held); // hands the connection to the (never polled again) future
    drop(fut);
    let s = pool.status();
    assert_eq!((s.idle, s.in_use, s.waiting), (1, 0, 0), "{s:?}");
    pool.check_invariants().unwrap();
}

async fn futures_poll_once<F: std::future::Future + Unpin>(f: &mut F) -> Option<F::Output> {
    std::future::poll_fn(|cx| match std::pin::Pin::new(&mut *f).poll(cx) {
        std::task::Poll::Ready(v) => std::task::Poll::Ready(Some(v)),
        std::task::Poll::Pending => std::task::Poll::Ready(None),
    })
    .await
}

#[tokio::test]
async fn async_waiters_time_out_on_any_executor_thread() {
    let pool: RawPool<u32> = RawPool::new(cfg(1, 0)).unwrap();
    let _held = fill(pool.try_acquire().unwrap().unwrap(), || 1);
    let start = Instant::now();
    let e = pool.acquire(Some(Duration::from_millis(30))).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PoolTimeout);
    assert!(start.elapsed() >= Duration::from_millis(30));
    assert_eq!(pool.status().timeouts, 1);
    assert_eq!(pool.status().waiting, 0);
}

#[test]
fn a_dropped_permit_gives_its_slot_to_the_next_waiter() {
    let pool: RawPool<u32> = RawPool::new(cfg(1, 0)).unwrap();
    let permit = pool.try_acquire().unwrap().unwrap();
    let got = Arc::new(Mutex::new(None));
    let g2 = got.clone();
    let _h = pool.acquire_callback(None, move |r| *g2.lock().unwrap() = Some(r));
    assert_eq!(pool.status().pending, 1);
    drop(permit); // creator gave up (panic, cancellation)
    let granted = got.lock().unwrap().take().expect("waiter answered").unwrap();
    assert!(matches!(granted, Grant::Create(_)), "waiter gets the freed slot as a permit");
    drop(granted);
    let s = pool.status();
    assert_eq!((s.pending, s.open, s.waiting), (0, 0, 0));
}

#[test]
fn close_wakes_blocked_threads_with_pool_closed() {
    let pool: RawPool<u32> = RawPool::new(cfg(1, 0)).unwrap();
    let held = fill(pool.try_acquire().unwrap().unwrap(), || 1);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let pool = pool.clone();
            std::thread::spawn(move || pool.acquire_blocking(Some(Duration::from_secs(30))).map(|_| ()).unwrap_err())
        })
        .collect();
    while pool.status().waiting < 4 {
        std::thread::yield_now();
    }
    let start = Instant::now();
    assert!(pool.close().is_empty());
    for t in threads {
        assert_eq!(t.join().unwrap().kind(), ErrorKind::PoolClosed);
    }
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(held.release().map(|(_, r)| r), Some(CloseReason::PoolClosed));
}

#[test]
fn lifetimes_are_jittered_so_a_pool_never_recycles_at_once() {
    let clock = Clock::manual();
    let config = PoolConfig::builder()
        .pool_size(200)
        .max_overflow(0)
        .pool_recycle(Some(Duration::from_secs(1000)))
        .build()
        .unwrap();
    let pool: RawPool<u32> = RawPool::with_clock(config, clock.clone()).unwrap();
    let conns: Vec<_> = (0..200).map(|i| fill(pool.try_acquire().unwrap().unwrap(), || i)).collect();
    for c in conns {
        assert!(c.release().is_none());
    }
    // HikariCP-style: each lifetime shortened by up to 2.5 %, so by 975 s none
    // has expired yet, by 1000 s all have, and they are spread in between.
    clock.advance(Duration::from_millis(974_900)).unwrap();
    assert!(pool.maintain().to_close.is_empty());
    clock.advance(Duration::from_millis(12_600)).unwrap(); // 987.5 s: about half
    let half = pool.maintain().to_close.len();
    assert!((40..=160).contains(&half), "expected about half expired at the midpoint, got {half}");
    clock.advance(Duration::from_millis(12_600)).unwrap();
    assert_eq!(pool.maintain().to_close.len(), 200 - half);
}

#[test]
fn maintenance_backs_off_while_connecting_fails() {
    let clock = Clock::manual();
    let config = PoolConfig::builder().pool_size(2).max_overflow(0).min_idle(2).build().unwrap();
    let pool: RawPool<u32> = RawPool::with_clock(config, clock.clone()).unwrap();
    let m = pool.maintain();
    assert_eq!(m.to_create.len(), 2);
    for p in m.to_create {
        p.fail(Error::new(ErrorKind::ConnectFailed, "refused"));
    }
    // Right after failures: nothing to create until the backoff passes.
    let m = pool.maintain();
    assert!(m.to_create.is_empty());
    assert!(m.next_run <= Duration::from_secs(1));
    clock.advance(Duration::from_secs(2)).unwrap();
    // After the backoff: one probe at a time, not a storm.
    let m = pool.maintain();
    assert_eq!(m.to_create.len(), 1);
    for p in m.to_create {
        assert!(p.fulfill_idle(1).is_none());
    }
    // Success clears the streak: fill the rest at once.
    assert_eq!(pool.maintain().to_create.len(), 1);
}

#[test]
fn unbounded_overflow_and_pool_size_zero() {
    let pool: RawPool<u32> = RawPool::new(cfg(2, -1)).unwrap();
    let many: Vec<_> = (0..50).map(|i| fill(pool.try_acquire().unwrap().unwrap(), || i)).collect();
    assert_eq!(pool.status().max, None);
    let closed = many.into_iter().filter_map(|c| c.release()).count();
    assert_eq!(closed, 48, "all but pool_size are closed on return");
    // SQLAlchemy: pool_size = 0 keeps every returned connection, max_overflow still limits.
    let pool: RawPool<u32> = RawPool::new(cfg(0, 3)).unwrap();
    let three: Vec<_> = (0..3).map(|i| fill(pool.try_acquire().unwrap().unwrap(), || i)).collect();
    assert!(pool.try_acquire().unwrap().is_none());
    assert!(three.into_iter().all(|c| c.release().is_none()));
    assert_eq!(pool.status().idle, 3);
}

#[test]
fn events_arrive_outside_the_lock_and_name_reasons() {
    let clock = Clock::manual();
    let config = PoolConfig::builder()
        .pool_size(1)
        .max_overflow(1)
        .leak_detection_threshold(Some(Duration::from_secs(5)))
        .build()
        .unwrap();
    let pool: RawPool<u32> = RawPool::with_clock(config, clock.clone()).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (s2, p2) = (seen.clone(), pool.clone());
    pool.subscribe(move |e| {
        // Calling back into the pool from a listener must not deadlock.
        let _ = p2.status();
        let tag = match e {
            Event::Close { reason, .. } => format!("close:{reason}"),
            other => other.name().to_string(),
        };
        s2.lock().unwrap().push(tag);
    });
    let a = fill(pool.try_acquire().unwrap().unwrap(), || 1);
    let b = fill(pool.try_acquire().unwrap().unwrap(), || 2);
    assert!(pool.acquire_blocking(Some(Duration::ZERO)).is_err());
    clock.advance(Duration::from_secs(6)).unwrap();
    let _ = pool.maintain();
    assert!(b.release().is_none(), "kept: no idle connection yet");
    a.invalidate();
    let c = fill(pool.try_acquire().unwrap().unwrap(), || 3);
    let d = fill(pool.try_acquire().unwrap().unwrap(), || 4);
    assert!(c.release().is_none());
    assert_eq!(d.release().map(|(_, r)| r), Some(CloseReason::Overflow), "pool_size idle already kept");
    let seen = seen.lock().unwrap().clone();
    for want in ["connect", "checkout", "timeout", "leak", "checkin", "close:overflow", "invalidate", "close:invalidated"] {
        assert!(seen.iter().any(|s| s == want), "missing {want} in {seen:?}");
    }
    assert_eq!(seen.iter().filter(|s| *s == "leak").count(), 2);
}

#[test]
fn steady_load_between_pool_size_and_max_does_not_churn_connections() {
    // 8 users on SQLAlchemy's default 5 + 10: each returns a connection and
    // takes one again while the other 7 hold theirs. Nobody waits and fewer
    // than pool_size are idle, so the returned connection is kept and reused
    // (closing it because more than pool_size are open would create a new
    // connection for every checkout).
    let pool: RawPool<u64> = RawPool::new(PoolConfig::default()).unwrap();
    let mut made = 0u64;
    let mut held: Vec<_> = (0..8).map(|_| fill(pool.try_acquire().unwrap().unwrap(), || { made += 1; made })).collect();
    for i in 0..1000 {
        let c = held.remove(i % held.len());
        assert!(c.release().is_none(), "a connection was closed on return with {} idle", pool.status().idle);
        held.push(fill(pool.try_acquire().unwrap().unwrap(), || { made += 1; made }));
    }
    let s = pool.status();
    assert_eq!((s.created, s.open), (8, 8), "{s:?}");
    // And once the load drops, connections beyond pool_size go as overflow.
    let closed = held.into_iter().filter_map(|c| c.release()).count();
    assert_eq!(closed, 3);
    assert_eq!(pool.status().idle, 5);
}

#[test]
fn resize_validates_and_names_the_value() {
    let pool: RawPool<u32> = RawPool::new(PoolConfig::builder().pool_size(4).min_idle(2).build().unwrap()).unwrap();
    let e = pool.resize(1, 0).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig);
    assert!(e.to_string().contains("min_idle"), "{e}");
    let e = pool.resize(4, -2).unwrap_err();
    assert!(e.to_string().contains("max_overflow = -2"), "{e}");
    assert_eq!(pool.status().pool_size, 4, "a rejected resize changes nothing");
}

// ---------------------------------------------------------------- Pool<M>

#[derive(Clone, Default)]
struct F(Arc<Fake>);
impl std::ops::Deref for F {
    type Target = Fake;
    fn deref(&self) -> &Fake {
        &self.0
    }
}

#[derive(Default)]
struct Fake {
    next: AtomicU32,
    fail_connect: AtomicBool,
    permanent: AtomicBool,
    ping_fails_for: Mutex<Vec<u32>>,
    connect_delay_ms: AtomicU32,
    closed: AtomicUsize,
    pings: AtomicUsize,
}

#[derive(Debug)]
struct FakeError(&'static str);
impl std::fmt::Display for FakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}
impl std::error::Error for FakeError {}

impl Manager for F {
    type Connection = u32;
    type Error = FakeError;
    async fn connect(&self) -> Result<u32, FakeError> {
        let d = self.connect_delay_ms.load(Ordering::Relaxed);
        if d > 0 {
            tokio::time::sleep(Duration::from_millis(d as u64)).await;
        }
        if self.fail_connect.load(Ordering::Relaxed) {
            return Err(FakeError(if self.permanent.load(Ordering::Relaxed) { "password authentication failed" } else { "connection refused" }));
        }
        Ok(self.next.fetch_add(1, Ordering::Relaxed) + 1)
    }
    async fn ping(&self, conn: &mut u32) -> Result<(), FakeError> {
        self.pings.fetch_add(1, Ordering::Relaxed);
        if self.ping_fails_for.lock().unwrap().contains(conn) {
            Err(FakeError("server closed the connection"))
        } else {
            Ok(())
        }
    }
    async fn close(&self, _conn: u32) {
        self.closed.fetch_add(1, Ordering::Relaxed);
    }
    fn is_transient(&self, e: &FakeError) -> bool {
        !e.0.contains("password")
    }
}

#[tokio::test]
async fn pre_ping_failure_is_invisible_to_the_caller() {
    let fake = F::default();
    let config = PoolConfig::builder().pool_size(2).max_overflow(0).pool_pre_ping(true).pre_ping_bypass(Duration::ZERO).build().unwrap();
    let pool = Pool::new(fake.clone(), config).unwrap();
    let c1 = pool.get().await.unwrap();
    assert_eq!(*c1, 1);
    drop(c1);
    fake.ping_fails_for.lock().unwrap().push(1); // the server killed connection 1
    tokio::time::sleep(Duration::from_millis(2)).await;
    let c = pool.get().await.unwrap();
    assert_eq!(*c, 2, "the dead connection was replaced silently");
    let s = pool.status();
    assert_eq!((s.ping_failures, s.pings), (1, 1));
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(fake.closed.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn get_retries_transient_connect_errors_until_the_deadline() {
    let fake = F::default();
    fake.fail_connect.store(true, Ordering::Relaxed);
    let config = PoolConfig::builder().pool_size(1).max_overflow(0).pool_timeout(Duration::from_millis(150)).build().unwrap();
    let pool = Pool::new(fake.clone(), config).unwrap();
    let start = Instant::now();
    let e = pool.get().await.unwrap_err();
    assert!(start.elapsed() >= Duration::from_millis(140), "{:?}", start.elapsed());
    assert_eq!(e.kind(), ErrorKind::PoolTimeout, "{e}");
    assert!(e.to_string().contains("connection refused"), "{e}");
    assert!(std::error::Error::source(&e).is_some());
    assert!(pool.status().create_failures >= 2, "it retried");
    // The database comes back: the next get succeeds at once.
    fake.fail_connect.store(false, Ordering::Relaxed);
    assert_eq!(*pool.get().await.unwrap(), 1);
}

#[tokio::test]
async fn permanent_connect_errors_are_returned_at_once() {
    let fake = F::default();
    fake.fail_connect.store(true, Ordering::Relaxed);
    fake.permanent.store(true, Ordering::Relaxed);
    let pool = Pool::new(fake, PoolConfig::builder().pool_timeout(Duration::from_secs(10)).build().unwrap()).unwrap();
    let start = Instant::now();
    let e = pool.get().await.unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(1));
    assert_eq!(e.kind(), ErrorKind::ConnectFailed);
    assert!(e.to_string().contains("password authentication failed"), "{e}");
}

#[tokio::test]
async fn initialization_fail_timeout_reports_why() {
    let fake = F::default();
    fake.fail_connect.store(true, Ordering::Relaxed);
    let config = PoolConfig::builder()
        .min_idle(2)
        .initialization_fail_timeout(Some(Duration::from_millis(100)))
        .build()
        .unwrap();
    let e = Pool::connect(fake.clone(), config.clone()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectFailed);
    assert!(e.to_string().contains("could not open 2 connection(s)"), "{e}");
    assert!(e.to_string().contains("connection refused"), "{e}");
    fake.fail_connect.store(false, Ordering::Relaxed);
    let pool = Pool::connect(fake, config).await.unwrap();
    assert!(pool.status().open >= 2);
}

#[tokio::test]
async fn maintenance_keeps_min_idle_and_reaps_idle() {
    let fake = F::default();
    let config = PoolConfig::builder()
        .pool_size(4)
        .min_idle(2)
        .idle_timeout(Some(Duration::from_millis(50)))
        .maintenance_interval(Duration::from_millis(10))
        .build()
        .unwrap();
    let pool = Pool::new(fake.clone(), config).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while pool.status().idle < 2 {
        assert!(Instant::now() < deadline, "min_idle never filled: {:?}", pool.status());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let held: Vec<_> = futures_join4(&pool).await;
    drop(held);
    assert_eq!(pool.status().idle, 4);
    let deadline = Instant::now() + Duration::from_secs(5);
    while pool.status().idle > 2 {
        assert!(Instant::now() < deadline, "idle never reaped: {:?}", pool.status());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(pool.status().idle, 2, "reaping stops at min_idle");
}

async fn futures_join4(pool: &Pool<F>) -> Vec<unipool::PooledConnection<F>> {
    let mut v = Vec::new();
    for _ in 0..4 {
        v.push(pool.get().await.unwrap());
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_get_during_connect_leaks_no_slot() {
    let fake = F::default();
    fake.connect_delay_ms.store(50, Ordering::Relaxed);
    let pool = Pool::new(fake.clone(), cfg(1, 0)).unwrap();
    for _ in 0..5 {
        assert!(tokio::time::timeout(Duration::from_millis(5), pool.get()).await.is_err());
    }
    let s = pool.status();
    assert_eq!((s.pending, s.in_use, s.waiting), (0, 0, 0), "{s:?}");
    fake.connect_delay_ms.store(0, Ordering::Relaxed);
    let c = tokio::time::timeout(Duration::from_secs(2), pool.get()).await.unwrap().unwrap();
    drop(c);
    pool.raw().check_invariants().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_timeouts_expire_in_queue_order_behind_a_long_custom_wait() {
    let config = PoolConfig::builder().pool_size(1).max_overflow(0).pool_timeout(Duration::from_millis(60)).build().unwrap();
    let pool: RawPool<u32> = RawPool::new(config).unwrap();
    let held = fill(pool.try_acquire().unwrap().unwrap(), || 1);
    // A blocking waiter with a long custom timeout stands first in the queue.
    let p2 = pool.clone();
    let long = std::thread::spawn(move || p2.acquire_blocking(Some(Duration::from_secs(5))).map(|g| fill(g, || 2)));
    while pool.status().waiting < 1 {
        std::thread::yield_now();
    }
    let start = Instant::now();
    let waits: Vec<_> = (0..20).map(|_| pool.acquire(None)).collect();
    let results = futures_all(waits).await;
    let took = start.elapsed();
    assert!(results.iter().all(|r| matches!(r, Err(e) if e.kind() == ErrorKind::PoolTimeout)));
    assert!(took >= Duration::from_millis(55) && took < Duration::from_secs(2), "{took:?}");
    assert_eq!(pool.status().waiting, 1, "only the long waiter is left");
    drop(held);
    let c = long.join().unwrap().unwrap();
    assert_eq!(*c, 1, "the long waiter still gets the connection");
}

async fn futures_all<T: Send + 'static>(
    futs: Vec<unipool::Acquire<T>>,
) -> Vec<Result<Grant<T>, Error>> {
    let handles: Vec<_> = futs.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[test]
fn a_reset_cut_short_by_runtime_shutdown_discards_the_connection() {
    // A manager whose reset never finishes; the runtime shuts down first.
    struct Dirty;
    impl Manager for Dirty {
        type Connection = u32;
        type Error = FakeError;
        async fn connect(&self) -> Result<u32, FakeError> {
            Ok(1)
        }
        async fn ping(&self, _: &mut u32) -> Result<(), FakeError> {
            Ok(())
        }
        fn needs_reset(&self, _: &mut u32, _: unipool::ResetOnReturn) -> bool {
            true
        }
        async fn reset(&self, _: &mut u32, _: unipool::ResetOnReturn) -> Result<(), FakeError> {
            std::future::pending::<()>().await;
            Ok(())
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let pool = rt.block_on(async {
        let pool = Pool::new(Dirty, cfg(1, 0)).unwrap();
        drop(pool.get().await.unwrap()); // spawns the reset task
        tokio::task::yield_now().await;
        pool
    });
    drop(rt); // the reset task is dropped unfinished
    let s = pool.status();
    assert_eq!((s.idle, s.in_use), (0, 0), "an un-reset connection must not return to the pool: {s:?}");
    assert_eq!(s.invalidated, 1);
}
