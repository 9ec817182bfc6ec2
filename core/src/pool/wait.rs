//! Waiters: the FIFO queue entries for callers who found no connection, and
//! the three ways of waiting on one (a parked thread, a future's waker, a
//! callback), plus the per-pool deadline thread for the latter two.

use std::collections::BinaryHeap;
use std::cmp::Ordering as CmpOrdering;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::{Grant, Outbox, Shared};
use crate::error::{Error, ErrorKind, Result};
use crate::sync::{Arc, AtomicBool, Mutex, Ordering};

pub(crate) type Callback<T> = Box<dyn FnOnce(Result<Grant<T>>) + Send>;

pub(crate) enum Notify<T: Send + 'static> {
    /// Nothing to wake (the waiter polls; used by model-checking tests).
    #[allow(dead_code)]
    None,
    #[cfg_attr(feature = "loom-model", allow(dead_code))]
    Thread(std::thread::Thread),
    Waker(Option<Waker>),
    Callback(Option<Callback<T>>),
}

pub(crate) enum WState<T: Send + 'static> {
    Waiting,
    Done(Result<Grant<T>>),
    Taken,
    Cancelled,
}

pub(crate) struct Slot<T: Send + 'static> {
    pub(crate) state: WState<T>,
    pub(crate) notify: Notify<T>,
}

/// One caller waiting for a connection. Lock order: pool state, then slot.
pub(crate) struct Waiter<T: Send + 'static> {
    pub(crate) slot: Mutex<Slot<T>>,
    pub(crate) since: Instant,
    /// Set for waiters whose timeout is the pool's `pool_timeout`: enqueued
    /// under the lock in arrival order, their deadlines are in queue order,
    /// so the deadline thread reads them from the queue instead of a heap.
    pub(crate) queue_deadline: Option<Instant>,
    /// Mirrors `state == Waiting`. Every transition out of Waiting happens
    /// under the pool lock, so code holding that lock can read this without
    /// taking the slot's lock.
    waiting: AtomicBool,
}

impl<T: Send + 'static> Waiter<T> {
    pub(crate) fn with_deadline(notify: Notify<T>, timeout: Option<Duration>) -> Arc<Waiter<T>> {
        let since = Instant::now();
        Arc::new(Waiter {
            slot: Mutex::new(Slot { state: WState::Waiting, notify }),
            since,
            queue_deadline: timeout.map(|t| since + t),
            waiting: AtomicBool::new(true),
        })
    }

    #[inline]
    pub(crate) fn is_waiting(&self) -> bool {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Records the answer. The caller holds the pool lock and has removed the
    /// waiter from the live count; waking happens later, outside the lock.
    pub(crate) fn complete(&self, r: Result<Grant<T>>) {
        let mut s = self.slot.lock();
        debug_assert!(matches!(s.state, WState::Waiting));
        s.state = WState::Done(r);
        self.waiting.store(false, Ordering::Relaxed);
    }

    /// Takes a finished answer, if there is one.
    pub(crate) fn try_take(&self) -> Option<Result<Grant<T>>> {
        let mut s = self.slot.lock();
        if matches!(s.state, WState::Done(_)) {
            match std::mem::replace(&mut s.state, WState::Taken) {
                WState::Done(r) => Some(r),
                _ => unreachable!(),
            }
        } else {
            None
        }
    }

    /// Wakes whoever waits. Never called with the pool lock held.
    pub(crate) fn wake(&self) {
        let mut s = self.slot.lock();
        match &mut s.notify {
            Notify::None => {}
            Notify::Thread(t) => {
                #[cfg(not(feature = "loom-model"))]
                t.unpark();
                #[cfg(feature = "loom-model")]
                let _ = t;
            }
            Notify::Waker(w) => {
                if let Some(w) = w.take() {
                    drop(s);
                    w.wake();
                }
            }
            Notify::Callback(cb) => {
                if let Some(cb) = cb.take() {
                    let r = match std::mem::replace(&mut s.state, WState::Taken) {
                        WState::Done(r) => r,
                        other => {
                            s.state = other;
                            return;
                        }
                    };
                    drop(s);
                    run_callback(Box::new(move || cb(r)));
                }
            }
        }
    }
}

#[cfg(feature = "loom-model")]
use loom::thread_local;

thread_local! {
    /// Callbacks waiting to run on this thread while another one runs.
    static DISPATCH: std::cell::RefCell<Option<std::collections::VecDeque<Box<dyn FnOnce()>>>> =
        std::cell::RefCell::new(None);
}

/// Runs a waiter callback. A callback that releases a connection wakes the
/// next waiter, whose callback may release again, and so on: run inline, that
/// chain would nest one stack frame per waiter. Here nested callbacks are
/// queued and the outermost call runs them one after another.
pub(crate) fn run_callback(f: Box<dyn FnOnce()>) {
    let queued = DISPATCH.with(|d| match d.borrow_mut().as_mut() {
        Some(q) => {
            q.push_back(f);
            None
        }
        None => Some(f),
    });
    let Some(first) = queued else { return };
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            // On unwind, pending callbacks are dropped: what they own (a
            // grant) returns to the pool through its own Drop.
            let pending = DISPATCH.with(|d| d.borrow_mut().take());
            drop(pending);
        }
    }
    DISPATCH.with(|d| *d.borrow_mut() = Some(std::collections::VecDeque::new()));
    let _reset = Reset;
    first();
    while let Some(next) = DISPATCH.with(|d| d.borrow_mut().as_mut().and_then(|q| q.pop_front())) {
        next();
    }
}

/// An entry of the deadline heap (earliest first).
pub(crate) struct Deadline<T: Send + 'static> {
    pub(crate) at: Instant,
    pub(crate) seq: u64,
    pub(crate) waiter: Arc<Waiter<T>>,
}

impl<T: Send + 'static> PartialEq for Deadline<T> {
    fn eq(&self, o: &Self) -> bool {
        self.at == o.at && self.seq == o.seq
    }
}
impl<T: Send + 'static> Eq for Deadline<T> {}
impl<T: Send + 'static> PartialOrd for Deadline<T> {
    fn partial_cmp(&self, o: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(o))
    }
}
impl<T: Send + 'static> Ord for Deadline<T> {
    fn cmp(&self, o: &Self) -> CmpOrdering {
        // BinaryHeap is a max-heap: reverse for earliest-first.
        o.at.cmp(&self.at).then(o.seq.cmp(&self.seq))
    }
}

pub(crate) type DeadlineHeap<T> = BinaryHeap<Deadline<T>>;

/// Future returned by [`RawPool::acquire`](super::RawPool::acquire).
///
/// # Cancel safety
/// Dropping it before completion removes the waiter from the queue; a
/// connection or permit that was handed to it in the meantime goes straight
/// back to the pool (to the next waiter), so nothing leaks.
#[must_use = "futures do nothing unless polled"]
pub struct Acquire<T: Send + 'static> {
    pub(crate) shared: Arc<Shared<T>>,
    pub(crate) timeout: Duration,
    pub(crate) waiter: Option<Arc<Waiter<T>>>,
    pub(crate) finished: bool,
}

impl<T: Send + 'static> fmt::Debug for Acquire<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire").field("timeout", &self.timeout).field("waiting", &self.waiter.is_some()).finish()
    }
}

impl<T: Send + 'static> Unpin for Acquire<T> {}

impl<T: Send + 'static> Future for Acquire<T> {
    type Output = Result<Grant<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.finished {
            return Poll::Ready(Err(Error::new(ErrorKind::InvalidUsage, "Acquire future polled after completion")));
        }
        if let Some(w) = &self.waiter {
            let mut s = w.slot.lock();
            if matches!(s.state, WState::Done(_)) {
                let r = match std::mem::replace(&mut s.state, WState::Taken) {
                    WState::Done(r) => r,
                    _ => unreachable!(),
                };
                drop(s);
                self.waiter = None;
                self.finished = true;
                return Poll::Ready(r);
            }
            if let Notify::Waker(slot) = &mut s.notify {
                match slot {
                    Some(k) if k.will_wake(cx.waker()) => {}
                    _ => *slot = Some(cx.waker().clone()),
                }
            }
            return Poll::Pending;
        }
        let shared = self.shared.clone();
        match shared.begin_wait(self.timeout, || Notify::Waker(Some(cx.waker().clone())), true) {
            Begin::Ready(r) => {
                self.finished = true;
                Poll::Ready(r)
            }
            Begin::Queued(w) => {
                self.waiter = Some(w);
                Poll::Pending
            }
        }
    }
}

impl<T: Send + 'static> Drop for Acquire<T> {
    fn drop(&mut self) {
        if let Some(w) = self.waiter.take() {
            // Not answered yet: leave the queue. Answered meanwhile: give it back.
            if let Cancel::Answered(Ok(grant)) = self.shared.cancel_waiter(&w, false) {
                drop(grant);
            }
        }
    }
}

/// Handle to a callback-style wait ([`RawPool::acquire_callback`](super::RawPool::acquire_callback)).
pub struct WaitHandle<T: Send + 'static> {
    pub(crate) shared: Arc<Shared<T>>,
    pub(crate) waiter: Option<Arc<Waiter<T>>>,
}

impl<T: Send + 'static> fmt::Debug for WaitHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitHandle").field("queued", &self.waiter.is_some()).finish()
    }
}

impl<T: Send + 'static> WaitHandle<T> {
    /// Withdraws the request. Returns `true` if it was still waiting: the
    /// callback will never run. Returns `false` if it was already answered:
    /// the callback has run or is running, and owns what it was given.
    pub fn cancel(mut self) -> bool {
        match self.waiter.take() {
            None => false,
            Some(w) => match self.shared.cancel_waiter(&w, false) {
                Cancel::Withdrawn => true,
                Cancel::Answered(r) => {
                    // Answered but the callback had not run yet (its wake is
                    // in flight and will find nothing): give the grant back.
                    drop(r);
                    true
                }
                Cancel::AlreadyTaken => false,
            },
        }
    }

    /// Whether the request is still queued.
    pub fn is_waiting(&self) -> bool {
        self.waiter.as_ref().is_some_and(|w| w.is_waiting())
    }
}

/// What withdrawing a waiter found.
pub(crate) enum Cancel<T: Send + 'static> {
    /// It was still waiting; it is now out of the queue.
    Withdrawn,
    /// It had been answered and nobody had taken the answer: the caller owns it.
    Answered(Result<Grant<T>>),
    /// Its answer was already taken (a callback ran).
    AlreadyTaken,
}

pub(crate) enum Begin<T: Send + 'static> {
    Ready(Result<Grant<T>>),
    Queued(Arc<Waiter<T>>),
}

impl<T: Send + 'static> Shared<T> {
    /// Fast path or enqueue. `timed` registers the deadline with the pool's
    /// deadline thread (futures and callbacks); blocking waiters time out themselves.
    pub(crate) fn begin_wait(
        self: &Arc<Self>,
        timeout: Duration,
        notify: impl FnOnce() -> Notify<T>,
        timed: bool,
    ) -> Begin<T> {
        let now = self.clock.now();
        let mut out = Outbox::default();
        let mut st = self.state.lock();
        match self.take_now(&mut st, now, &mut out) {
            Err(e) => return Begin::Ready(Err(e)),
            Ok(Some(g)) => {
                drop(st);
                out.flush(self);
                return Begin::Ready(Ok(g));
            }
            Ok(None) => {}
        }
        if timeout.is_zero() {
            let e = self.timeout_error(&st, Duration::ZERO);
            drop(st);
            self.note_timeout(Duration::ZERO);
            return Begin::Ready(Err(e));
        }
        let queue_ordered = timed && timeout == self.config.pool_timeout;
        let w = Waiter::with_deadline(notify(), queue_ordered.then_some(timeout));
        st.waiters.push_back(w.clone());
        st.live_waiters += 1;
        if queue_ordered {
            self.wake_deadline_thread(&mut st, w.since + timeout);
        } else if timed {
            self.push_deadline(&mut st, w.since + timeout, w.clone());
        }
        drop(st);
        Begin::Queued(w)
    }

    /// Withdraws a waiter. When it was still waiting and `timed_out`, the
    /// answer is the timeout error (`Answered(Err(..))`), counted as a timeout.
    pub(crate) fn cancel_waiter(self: &Arc<Self>, w: &Arc<Waiter<T>>, timed_out: bool) -> Cancel<T> {
        let mut st = self.state.lock();
        let mut s = w.slot.lock();
        match std::mem::replace(&mut s.state, WState::Taken) {
            WState::Waiting => {
                s.state = WState::Cancelled;
                w.waiting.store(false, Ordering::Relaxed);
                drop(s);
                // The diagnosis counts this waiter among those waiting.
                let waited = w.since.elapsed();
                let e = timed_out.then(|| self.timeout_error(&st, waited));
                st.live_waiters -= 1;
                self.compact_waiters(&mut st);
                if let Some(e) = e {
                    drop(st);
                    self.note_timeout(waited);
                    Cancel::Answered(Err(e))
                } else {
                    Cancel::Withdrawn
                }
            }
            WState::Done(r) => Cancel::Answered(r),
            other => {
                s.state = other;
                Cancel::AlreadyTaken
            }
        }
    }

    #[cfg(not(feature = "loom-model"))]
    fn push_deadline(self: &Arc<Self>, st: &mut super::State<T>, at: Instant, waiter: Arc<Waiter<T>>) {
        // Drop answered entries from the top so the heap tracks live waiters.
        while st.deadlines.peek().is_some_and(|d| !d.waiter.is_waiting()) {
            st.deadlines.pop();
        }
        st.deadline_seq += 1;
        st.deadlines.push(Deadline { at, seq: st.deadline_seq, waiter });
        if st.deadlines.len() > 64 && st.deadlines.len() > 2 * st.live_waiters + 64 {
            let kept: Vec<Deadline<T>> = st.deadlines.drain().filter(|d| d.waiter.is_waiting()).collect();
            st.deadlines.extend(kept);
        }
        self.wake_deadline_thread(st, at);
    }

    /// Makes sure the deadline thread runs and wakes by `at`.
    #[cfg(not(feature = "loom-model"))]
    fn wake_deadline_thread(self: &Arc<Self>, st: &mut super::State<T>, at: Instant) {
        if st.deadline_wake_at.is_some_and(|t| t <= at) {
            return; // already due to wake up earlier (the common case under load)
        }
        st.deadline_wake_at = Some(at);
        match &st.deadline_thread {
            Some(t) => t.unpark(),
            None => {
                let weak = Arc::downgrade(self);
                let name = format!("unipool-deadline-{}", self.config.name);
                match std::thread::Builder::new().name(name).spawn(move || deadline_thread(weak)) {
                    Ok(h) => st.deadline_thread = Some(h.thread().clone()),
                    Err(e) => tracing::error!(error = %e, "unipool: cannot start the deadline thread; waits will not time out"),
                }
            }
        }
    }

    #[cfg(feature = "loom-model")]
    fn wake_deadline_thread(self: &Arc<Self>, _st: &mut super::State<T>, _at: Instant) {}

    #[cfg(feature = "loom-model")]
    fn push_deadline(self: &Arc<Self>, st: &mut super::State<T>, at: Instant, waiter: Arc<Waiter<T>>) {
        st.deadline_seq += 1;
        st.deadlines.push(Deadline { at, seq: st.deadline_seq, waiter });
    }

    /// Answers every due deadline with a timeout; returns the next deadline.
    pub(crate) fn expire_due(self: &Arc<Self>, now: Instant) -> Option<Instant> {
        let mut out = Outbox::default();
        let mut timed_out = Vec::new();
        let mut st = self.state.lock();
        // Queue-ordered deadlines: answered entries at the front go; then
        // live waiters with a queue deadline expire in order until the first
        // that is not due (later ones are later still).
        while st.waiters.front().is_some_and(|w| !w.is_waiting()) {
            st.waiters.pop_front();
        }
        let mut next_queue: Option<Instant> = None;
        let mut i = 0;
        while i < st.waiters.len() {
            let w = st.waiters[i].clone();
            i += 1;
            let Some(at) = w.queue_deadline else { continue };
            if !w.is_waiting() {
                continue;
            }
            if at > now {
                next_queue = Some(at);
                break;
            }
            let waited = w.since.elapsed();
            let e = self.timeout_error(&st, waited);
            st.live_waiters -= 1;
            w.complete(Err(e));
            timed_out.push(waited);
            out.wake(w);
        }
        loop {
            let Some(top) = st.deadlines.peek() else { break };
            if !top.waiter.is_waiting() {
                st.deadlines.pop();
                continue;
            }
            if top.at > now {
                break;
            }
            let d = st.deadlines.pop().expect("peeked");
            let waited = d.waiter.since.elapsed();
            let e = self.timeout_error(&st, waited);
            st.live_waiters -= 1;
            d.waiter.complete(Err(e));
            timed_out.push(waited);
            out.wake(d.waiter);
        }
        self.compact_waiters(&mut st);
        let next = match (st.deadlines.peek().map(|d| d.at), next_queue) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        st.deadline_wake_at = next;
        drop(st);
        for waited in timed_out {
            self.note_timeout(waited);
        }
        out.flush(self);
        next
    }
}

#[cfg(not(feature = "loom-model"))]
fn deadline_thread<T: Send + 'static>(weak: crate::sync::Weak<Shared<T>>) {
    loop {
        let Some(shared) = weak.upgrade() else { return };
        let next = shared.expire_due(Instant::now());
        drop(shared);
        let wait = match next {
            Some(at) => at.saturating_duration_since(Instant::now()),
            None => Duration::from_secs(5),
        };
        if !wait.is_zero() {
            std::thread::park_timeout(wait);
        }
    }
}
