//! What acquire hands out: a [`Checkout`] (a connection) or a
//! [`CreatePermit`] (a reserved slot the caller fills with a new connection).

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

use super::{CloseReason, Meta, Outbox, Shared};
use crate::clock::Nanos;
use crate::error::Error;
use crate::events::Event;
use crate::sync::Arc;

/// The outcome of an acquire.
#[must_use = "a grant holds a slot until it is released, fulfilled or dropped"]
pub enum Grant<T: Send + 'static> {
    /// An idle connection, now checked out.
    Idle(Checkout<T>),
    /// A reserved slot: create a connection and [`fulfill`](CreatePermit::fulfill) it.
    Create(CreatePermit<T>),
}

impl<T: Send + 'static> fmt::Debug for Grant<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Grant::Idle(c) => f.debug_tuple("Idle").field(c).finish(),
            Grant::Create(p) => f.debug_tuple("Create").field(p).finish(),
        }
    }
}

/// A reserved slot for a connection the caller creates itself.
///
/// Like bb8's approval token: it must be consumed by
/// [`fulfill`](Self::fulfill), [`fulfill_idle`](Self::fulfill_idle) or
/// [`fail`](Self::fail). Dropping it returns the slot (and hands it to the
/// next waiter), so a cancelled or panicking creator leaks nothing.
#[must_use = "dropping a permit gives its slot back without creating a connection"]
pub struct CreatePermit<T: Send + 'static> {
    shared: Option<Arc<Shared<T>>>,
    issued_at: Nanos,
    waited: Duration,
}

impl<T: Send + 'static> fmt::Debug for CreatePermit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatePermit").field("waited", &self.waited).finish()
    }
}

impl<T: Send + 'static> CreatePermit<T> {
    pub(crate) fn new(shared: Arc<Shared<T>>, issued_at: Nanos, waited: Duration) -> Self {
        CreatePermit { shared: Some(shared), issued_at, waited }
    }

    fn record_created(shared: &Arc<Shared<T>>, st: &mut super::State<T>, now: Nanos, issued_at: Nanos, out: &mut Outbox<T>) -> Meta {
        st.pending -= 1;
        st.failures_in_row = 0;
        let meta = shared.new_meta(st, now);
        let took = now.since(issued_at);
        shared.metrics.created.add_locked(1);
        shared.metrics.create_time.observe_locked(took);
        out.events.push(Event::Connect { id: meta.id, took });
        meta
    }

    /// The caller created `conn`; it is now checked out by the caller.
    /// (If the pool was closed meanwhile, releasing it hands it back for closing.)
    pub fn fulfill(mut self, conn: T) -> Checkout<T> {
        let shared = self.shared.take().expect("permit used once");
        let now = shared.clock.now();
        let mut out = Outbox::default();
        let mut st = shared.state.lock();
        let meta = Self::record_created(&shared, &mut st, now, self.issued_at, &mut out);
        let c = shared.checkout_locked(&mut st, conn, meta, now, true, self.waited, &mut out);
        drop(st);
        out.flush(&shared);
        c
    }

    /// The caller created `conn` for the pool (maintenance refilling
    /// `min_idle`): it goes to the oldest waiter or into the idle set.
    /// Returns it when the pool cannot take it (closed): the caller closes it.
    pub fn fulfill_idle(mut self, conn: T) -> Option<T> {
        let shared = self.shared.take().expect("permit used once");
        let now = shared.clock.now();
        let mut out = Outbox::default();
        let mut st = shared.state.lock();
        let meta = Self::record_created(&shared, &mut st, now, self.issued_at, &mut out);
        let result = if st.closed {
            shared.note_close(meta.id, CloseReason::PoolClosed, &mut out);
            Some(conn)
        } else {
            st.idle.push_back(super::Idle { obj: conn, meta, idle_since: now });
            shared.dispatch(&mut st, now, &mut out);
            None
        };
        drop(st);
        out.flush(&shared);
        result
    }

    /// Creating failed: the slot is freed (for the next waiter) and `err`
    /// becomes the pool's last connect error, the cause of later timeouts.
    pub fn fail(mut self, err: Error) {
        let shared = self.shared.take().expect("permit used once");
        let now = shared.clock.now();
        let mut out = Outbox::default();
        let mut st = shared.state.lock();
        st.pending -= 1;
        st.failures_in_row = st.failures_in_row.saturating_add(1);
        st.next_create_at = now.add(shared.backoff(st.failures_in_row));
        st.last_connect_error = Some(err.clone());
        shared.metrics.create_failures.add_locked(1);
        shared.dispatch(&mut st, now, &mut out);
        drop(st);
        out.events.push(Event::ConnectFailed { error: err });
        out.flush(&shared);
    }

    /// How long the caller waited in the queue before getting this permit.
    pub fn waited(&self) -> Duration {
        self.waited
    }
}

impl<T: Send + 'static> Drop for CreatePermit<T> {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            let now = shared.clock.now();
            let mut out = Outbox::default();
            let mut st = shared.state.lock();
            st.pending -= 1;
            shared.dispatch(&mut st, now, &mut out);
            drop(st);
            out.flush(&shared);
        }
    }
}

/// A checked-out connection.
///
/// Give it back with [`release`](Self::release) (dropping it does the same,
/// parking any connection that must be closed in
/// [`RawPool::take_retired`](super::RawPool::take_retired)), or remove it with
/// [`invalidate`](Self::invalidate), [`ping_failed`](Self::ping_failed) or
/// [`detach`](Self::detach).
pub struct Checkout<T: Send + 'static> {
    shared: Arc<Shared<T>>,
    obj: Option<T>,
    meta: Meta,
    checked_out_at: Nanos,
    is_new: bool,
    needs_ping: bool,
}

impl<T: Send + 'static> fmt::Debug for Checkout<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Checkout")
            .field("id", &self.meta.id)
            .field("use_count", &self.meta.use_count)
            .field("is_new", &self.is_new)
            .field("needs_ping", &self.needs_ping)
            .finish()
    }
}

impl<T: Send + 'static> Checkout<T> {
    pub(crate) fn new(shared: Arc<Shared<T>>, obj: T, meta: Meta, now: Nanos, is_new: bool, needs_ping: bool) -> Self {
        Checkout { shared, obj: Some(obj), meta, checked_out_at: now, is_new, needs_ping }
    }

    /// The connection.
    pub fn conn(&self) -> &T {
        self.obj.as_ref().expect("present until consumed")
    }

    /// The connection, mutably.
    pub fn conn_mut(&mut self) -> &mut T {
        self.obj.as_mut().expect("present until consumed")
    }

    /// Whether the caller should ping before use: `pool_pre_ping` is on, the
    /// connection is not new and was last used longer ago than `pre_ping_bypass`.
    pub fn needs_ping(&self) -> bool {
        self.needs_ping
    }

    /// Whether this connection was just created through a permit.
    pub fn is_new(&self) -> bool {
        self.is_new
    }

    /// Unique id of the connection within its pool.
    pub fn id(&self) -> u64 {
        self.meta.id
    }

    /// How many times it has been checked out, this time included.
    pub fn use_count(&self) -> u64 {
        self.meta.use_count
    }

    /// Time since it was created (pool clock).
    pub fn age(&self) -> Duration {
        self.shared.clock.now().since(self.meta.created_at)
    }

    /// The pool generation it belongs to.
    pub fn generation(&self) -> u64 {
        self.meta.generation
    }

    /// Records a successful ping (counted in metrics).
    pub fn ping_ok(&mut self) {
        self.shared.metrics.pings.add(1);
        self.needs_ping = false;
    }

    /// Records a failed ping: the connection leaves the pool (returned for
    /// closing) and its slot goes to the next waiter.
    pub fn ping_failed(self) -> T {
        self.shared.metrics.pings.add(1);
        self.shared.metrics.ping_failures.add(1);
        self.remove(CloseReason::PingFailed)
    }

    /// Gives the connection back. `Some` means it must be closed by the caller
    /// (overflow, lifetime, max_uses, dispose, pool closed), with the reason.
    pub fn release(mut self) -> Option<(T, CloseReason)> {
        let obj = self.obj.take().expect("present until consumed");
        self.release_obj(obj)
    }

    fn release_obj(&mut self, obj: T) -> Option<(T, CloseReason)> {
        let now = self.shared.clock.now();
        let mut out = Outbox::default();
        let mut st = self.shared.state.lock();
        let r = self.shared.release_locked(&mut st, obj, self.meta, self.checked_out_at, now, &mut out);
        drop(st);
        out.flush(&self.shared);
        r
    }

    fn remove(mut self, reason: CloseReason) -> T {
        let obj = self.obj.take().expect("present until consumed");
        let now = self.shared.clock.now();
        let mut out = Outbox::default();
        let mut st = self.shared.state.lock();
        self.shared.remove_locked(&mut st, &self.meta, reason, now, &mut out);
        drop(st);
        out.flush(&self.shared);
        obj
    }

    /// The connection is broken: it leaves the pool (the caller closes it) and
    /// its slot goes to the next waiter.
    pub fn invalidate(self) -> T {
        self.remove(CloseReason::Invalidated)
    }

    /// Takes the connection out of the pool for good; the pool forgets it
    /// and frees its slot.
    pub fn detach(self) -> T {
        self.remove(CloseReason::Detached)
    }
}

impl<T: Send + 'static> Deref for Checkout<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.conn()
    }
}

impl<T: Send + 'static> DerefMut for Checkout<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.conn_mut()
    }
}

impl<T: Send + 'static> Drop for Checkout<T> {
    fn drop(&mut self) {
        if let Some(obj) = self.obj.take() {
            if let Some((obj, reason)) = self.release_obj(obj) {
                let mut st = self.shared.state.lock();
                st.retired.push((obj, reason));
                self.shared.retired_count.store(st.retired.len(), crate::sync::Ordering::Relaxed);
            }
        }
    }
}
