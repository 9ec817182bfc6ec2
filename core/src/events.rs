//! Pool events and listeners.
//!
//! Listeners run on the thread that caused the event, after the pool's lock
//! has been released, so a listener may call back into the pool. A pool with
//! no listeners pays one atomic load per event site.

use std::fmt;
use std::time::Duration;

use crate::error::Error;
use crate::pool::CloseReason;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

// Listeners are outside the model-checked state machine: std primitives.
use parking_lot::Mutex;

/// Something that happened in a pool.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub enum Event {
    /// A connection was created (a permit was fulfilled).
    Connect {
        /// Connection id.
        id: u64,
        /// Time from permit to fulfilment.
        took: Duration,
    },
    /// Creating a connection failed.
    ConnectFailed {
        /// The error, password-free.
        error: Error,
    },
    /// A connection was handed out.
    Checkout {
        /// Connection id.
        id: u64,
        /// How long the caller waited.
        waited: Duration,
    },
    /// A connection came back to the pool.
    Checkin {
        /// Connection id.
        id: u64,
        /// How long it was checked out.
        used: Duration,
    },
    /// A connection left the pool and must be (or was) closed.
    Close {
        /// Connection id.
        id: u64,
        /// Why.
        reason: CloseReason,
    },
    /// A connection was invalidated by its user.
    Invalidate {
        /// Connection id.
        id: u64,
    },
    /// A caller gave up waiting.
    Timeout {
        /// How long it waited.
        waited: Duration,
    },
    /// A connection has been checked out longer than `leak_detection_threshold`.
    Leak {
        /// Connection id.
        id: u64,
        /// How long it has been held.
        held: Duration,
    },
}

impl Event {
    /// `connect`, `connect_failed`, `checkout`, `checkin`, `close`, `invalidate`, `timeout`, `leak`.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Connect { .. } => "connect",
            Event::ConnectFailed { .. } => "connect_failed",
            Event::Checkout { .. } => "checkout",
            Event::Checkin { .. } => "checkin",
            Event::Close { .. } => "close",
            Event::Invalidate { .. } => "invalidate",
            Event::Timeout { .. } => "timeout",
            Event::Leak { .. } => "leak",
        }
    }

    /// The connection the event is about, if any.
    pub fn connection_id(&self) -> Option<u64> {
        match self {
            Event::Connect { id, .. }
            | Event::Checkout { id, .. }
            | Event::Checkin { id, .. }
            | Event::Close { id, .. }
            | Event::Invalidate { id }
            | Event::Leak { id, .. } => Some(*id),
            Event::ConnectFailed { .. } | Event::Timeout { .. } => None,
        }
    }
}

/// Identifies a subscription, for [`unsubscribe`](crate::RawPool::unsubscribe).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ListenerId(pub u64);

type Listener = Arc<dyn Fn(&Event) + Send + Sync>;

#[derive(Default)]
pub(crate) struct Events {
    active: AtomicBool,
    // Copy-on-write: emitting clones an Arc, not the list.
    listeners: Mutex<(u64, Arc<Vec<(u64, Listener)>>)>,
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events").field("active", &self.active.load(Ordering::Relaxed)).finish()
    }
}

impl Events {
    #[inline]
    pub(crate) fn active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    pub(crate) fn subscribe(&self, f: Listener) -> ListenerId {
        let mut g = self.listeners.lock();
        g.0 += 1;
        let id = g.0;
        let mut list: Vec<(u64, Listener)> = g.1.iter().cloned().collect();
        list.push((id, f));
        g.1 = Arc::new(list);
        self.active.store(true, Ordering::Relaxed);
        ListenerId(id)
    }

    pub(crate) fn unsubscribe(&self, id: ListenerId) -> bool {
        let mut g = self.listeners.lock();
        let before = g.1.len();
        let list: Vec<(u64, Listener)> = g.1.iter().filter(|(i, _)| *i != id.0).cloned().collect();
        let removed = list.len() != before;
        self.active.store(!list.is_empty(), Ordering::Relaxed);
        g.1 = Arc::new(list);
        removed
    }

    /// Calls every listener; the caller must not hold the pool lock.
    pub(crate) fn emit(&self, e: &Event) {
        if !self.active() {
            return;
        }
        let list = self.listeners.lock().1.clone();
        for (_, l) in list.iter() {
            // A panicking listener must not poison the pool's bookkeeping.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| l(e)));
        }
    }
}
