//! Model-checked races of the pool state machine (run with
//! `cargo test -p unipool --lib --no-default-features --features loom-model loom`).
//! loom runs every test body under every interleaving of the threads' lock
//! and atomic operations, so a lost wake-up, a double hand-off or a leaked
//! slot in any interleaving fails the test.

use loom::sync::Mutex as LoomMutex;
use loom::thread;
use std::time::{Duration, Instant};

use super::{Grant, RawPool};
use crate::config::PoolConfig;
use crate::error::{Error, ErrorKind, Result};


fn pool(size: usize) -> RawPool<u32> {
    let c = PoolConfig::builder().pool_size(size).max_overflow(0).build().unwrap();
    RawPool::new(c).unwrap()
}

fn create(pool: &RawPool<u32>, n: u32) -> super::Checkout<u32> {
    match pool.try_acquire().unwrap().unwrap() {
        Grant::Create(p) => p.fulfill(n),
        Grant::Idle(_) => panic!("expected a permit"),
    }
}

type Slot = std::sync::Arc<LoomMutex<Option<Result<Grant<u32>>>>>;

fn waiter(pool: &RawPool<u32>) -> (Slot, super::WaitHandle<u32>) {
    let slot: Slot = std::sync::Arc::new(LoomMutex::new(None));
    let s2 = slot.clone();
    let h = pool.acquire_callback(Some(Duration::from_secs(3600)), move |r| {
        let mut g = s2.lock().unwrap();
        assert!(g.is_none(), "callback ran twice");
        *g = Some(r);
    });
    (slot, h)
}

#[test]
fn loom_release_races_cancel() {
    loom::model(|| {
        let pool = pool(1);
        let c = create(&pool, 1);
        let (slot, handle) = waiter(&pool);
        let t = thread::spawn(move || {
            assert!(c.release().is_none());
        });
        let cancelled = handle.cancel();
        t.join().unwrap();
        let got = slot.lock().unwrap().take();
        let s = pool.status();
        assert_eq!(s.waiting, 0);
        if cancelled {
            assert!(got.is_none(), "a cancelled wait must not run its callback");
            assert_eq!((s.idle, s.in_use), (1, 0));
        } else {
            let g = got.expect("not cancelled: the callback owns the connection").unwrap();
            assert_eq!(pool.status().in_use, 1);
            drop(g);
            assert_eq!(pool.status().idle, 1);
        }
        pool.check_invariants().unwrap();
    });
}

#[test]
fn loom_two_releases_serve_two_waiters_once_each() {
    loom::model(|| {
        let pool = pool(2);
        let a = create(&pool, 1);
        let b = create(&pool, 2);
        let (s1, _h1) = waiter(&pool);
        let (s2, _h2) = waiter(&pool);
        let t1 = thread::spawn(move || assert!(a.release().is_none()));
        let t2 = thread::spawn(move || assert!(b.release().is_none()));
        t1.join().unwrap();
        t2.join().unwrap();
        let g1 = s1.lock().unwrap().take().expect("first waiter served").unwrap();
        let g2 = s2.lock().unwrap().take().expect("second waiter served").unwrap();
        let s = pool.status();
        assert_eq!((s.in_use, s.idle, s.waiting), (2, 0, 0));
        drop((g1, g2));
        pool.check_invariants().unwrap();
    });
}

#[test]
fn loom_dropped_permit_races_timeout() {
    loom::model(|| {
        let pool = pool(1);
        let permit = pool.try_acquire().unwrap().unwrap();
        let (slot, _h) = waiter(&pool);
        let shared = pool.shared.clone();
        let t = thread::spawn(move || drop(permit));
        // The deadline thread fires for every waiter.
        shared.expire_due(Instant::now() + Duration::from_secs(7200));
        t.join().unwrap();
        let got = slot.lock().unwrap().take().expect("the waiter is answered exactly once");
        match got {
            Ok(g) => assert!(matches!(g, Grant::Create(_))),
            Err(e) => assert_eq!(e.kind(), ErrorKind::PoolTimeout),
        }
        let s = pool.status();
        assert_eq!((s.pending, s.waiting), (0, 0), "no slot leaked: {s:?}");
    });
}

#[test]
fn loom_close_races_release_and_wait() {
    loom::model(|| {
        let pool = pool(1);
        let c = create(&pool, 1);
        let (slot, _h) = waiter(&pool);
        let p2 = pool.clone();
        let t = thread::spawn(move || c.release());
        let idle = p2.close();
        let returned = t.join().unwrap();
        let got = slot.lock().unwrap().take().expect("the waiter is answered");
        let mut accounted = idle.len() + usize::from(returned.is_some());
        match got {
            Ok(Grant::Idle(held)) => {
                let (_, reason) = held.release().expect("closed pool hands it back");
                assert_eq!(reason, super::CloseReason::PoolClosed);
                accounted += 1;
            }
            Ok(Grant::Create(_)) => panic!("no slot was freed"),
            Err(e) => assert_eq!(e.kind(), ErrorKind::PoolClosed),
        }
        assert_eq!(accounted, 1, "the one connection is closed exactly once");
        assert_eq!(pool.status().waiting, 0);
    });
}

#[test]
fn loom_blocking_acquire_gets_the_release() {
    loom::model(|| {
        let pool = pool(1);
        let c = create(&pool, 7);
        let p2 = pool.clone();
        let t = thread::spawn(move || match p2.acquire_blocking(Some(Duration::from_secs(3600))) {
            Ok(Grant::Idle(c)) => *c.conn(),
            other => panic!("unexpected {other:?}"),
        });
        assert!(c.release().is_none());
        assert_eq!(t.join().unwrap(), 7);
        let s = pool.status();
        assert_eq!((s.idle, s.in_use, s.waiting), (1, 0, 0));
    });
}

#[test]
fn loom_failed_connect_hands_slot_to_waiter() {
    loom::model(|| {
        let pool = pool(1);
        let permit = match pool.try_acquire().unwrap().unwrap() {
            Grant::Create(p) => p,
            Grant::Idle(_) => unreachable!(),
        };
        let (slot, handle) = waiter(&pool);
        let t = thread::spawn(move || permit.fail(Error::new(ErrorKind::ConnectFailed, "refused")));
        let cancelled = handle.cancel();
        t.join().unwrap();
        let got = slot.lock().unwrap().take();
        assert_eq!(cancelled, got.is_none());
        drop(got);
        let s = pool.status();
        assert_eq!((s.pending, s.open, s.waiting), (0, 0, 0), "{s:?}");
    });
}
