//! The pool's observable state: [`PoolStatus`] and [`CloseReason`].

use std::fmt;

/// Why a connection left the pool.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// Returned while more than `pool_size` were open (SQLAlchemy overflow).
    Overflow,
    /// Its lifetime (`pool_recycle`, jittered) ran out.
    Recycled,
    /// Idle longer than `idle_timeout` while more than `min_idle` were open.
    IdleTimeout,
    /// Checked out `max_uses` times.
    MaxUses,
    /// Invalidated by its user.
    Invalidated,
    /// Failed its pre-ping.
    PingFailed,
    /// Belonged to a generation before a `dispose()`.
    Disposed,
    /// The pool was closed.
    PoolClosed,
    /// The pool was resized below the number open.
    Resized,
    /// Detached by its user: it leaves the pool but is not closed by it.
    Detached,
}

impl CloseReason {
    /// Every reason, in metrics order.
    pub const ALL: [CloseReason; 10] = [
        CloseReason::Overflow,
        CloseReason::Recycled,
        CloseReason::IdleTimeout,
        CloseReason::MaxUses,
        CloseReason::Invalidated,
        CloseReason::PingFailed,
        CloseReason::Disposed,
        CloseReason::PoolClosed,
        CloseReason::Resized,
        CloseReason::Detached,
    ];

    /// snake_case name, as used in metric labels, events and conformance files.
    pub fn as_str(&self) -> &'static str {
        match self {
            CloseReason::Overflow => "overflow",
            CloseReason::Recycled => "recycled",
            CloseReason::IdleTimeout => "idle_timeout",
            CloseReason::MaxUses => "max_uses",
            CloseReason::Invalidated => "invalidated",
            CloseReason::PingFailed => "ping_failed",
            CloseReason::Disposed => "disposed",
            CloseReason::PoolClosed => "pool_closed",
            CloseReason::Resized => "resized",
            CloseReason::Detached => "detached",
        }
    }

    /// Parses [`CloseReason::as_str`] back.
    pub fn parse(s: &str) -> Option<CloseReason> {
        CloseReason::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub(crate) fn index(self) -> usize {
        CloseReason::ALL.iter().position(|r| *r == self).expect("listed")
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A consistent snapshot of one pool: gauges read under the pool's lock,
/// counters read from their atomics. Every binding exposes these fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PoolStatus {
    /// The pool's name.
    pub name: String,
    /// Connections that exist: `idle + in_use`.
    pub open: usize,
    /// Connections waiting in the pool.
    pub idle: usize,
    /// Connections checked out.
    pub in_use: usize,
    /// Connections being created (permits handed out, not yet fulfilled).
    pub pending: usize,
    /// Callers waiting for a connection.
    pub waiting: usize,
    /// `pool_size + max_overflow`, or `None` when unbounded.
    pub max: Option<usize>,
    /// Current `pool_size`.
    pub pool_size: usize,
    /// Current `max_overflow`.
    pub max_overflow: i64,
    /// Configured `min_idle`.
    pub min_idle: usize,
    /// SQLAlchemy's `overflow()`: `open + pending - pool_size` (negative while below pool_size).
    pub overflow: i64,
    /// Incremented by every `dispose()`.
    pub generation: u64,
    /// `pause()` is in effect.
    pub is_paused: bool,
    /// `close()` was called.
    pub is_closed: bool,
    /// Connections handed out, ever.
    pub acquired: u64,
    /// Connections created, ever.
    pub created: u64,
    /// Failed creation attempts, ever.
    pub create_failures: u64,
    /// Connections that left the pool, ever (all reasons).
    pub closed: u64,
    /// Callers that gave up waiting, ever.
    pub timeouts: u64,
    /// Pings made, ever.
    pub pings: u64,
    /// Pings that failed, ever.
    pub ping_failures: u64,
    /// Checkouts reported as possible leaks, ever.
    pub leaks_detected: u64,
    /// Connections invalidated by their users, ever.
    pub invalidated: u64,
}

impl fmt::Display for PoolStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "open={}, in_use={}, idle={}, waiting={}, pending={}, max={}",
            self.open,
            self.in_use,
            self.idle,
            self.waiting,
            self.pending,
            self.max.map_or("unbounded".to_string(), |m| m.to_string())
        )
    }
}
