//! Pool metrics: counters and histograms kept in atomics.
//!
//! Most updates happen while the pool's lock is already held; those use a
//! plain load + store ([`Counter::add_locked`]) which costs no more than an
//! ordinary add, and readers (snapshots, scrapes) never take the lock for them.
//! Updates made without the lock use `fetch_add`.

mod prometheus;

use std::time::Duration;

use crate::pool::CloseReason;
// Plain std atomics: metrics are not part of the model-checked state machine.
use std::sync::atomic::{AtomicU64, Ordering};

pub(crate) use prometheus::render;

/// A monotonically increasing counter.
#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`; the caller must hold the pool lock (single writer).
    #[inline]
    pub(crate) fn add_locked(&self, n: u64) {
        self.0.store(self.0.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
    }
    /// Adds `n` from any thread.
    #[inline]
    pub(crate) fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    #[inline]
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Histogram bucket upper bounds in seconds (Prometheus `le`).
pub const BUCKETS: [f64; 15] =
    [0.00001, 0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

const BUCKET_NANOS: [u64; 15] = [
    10_000, 100_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000, 25_000_000, 50_000_000,
    100_000_000, 250_000_000, 500_000_000, 1_000_000_000, 2_500_000_000, 10_000_000_000,
];

/// A fixed-bucket histogram of durations.
#[derive(Debug, Default)]
pub(crate) struct Histogram {
    buckets: [Counter; 16],
    count: Counter,
    sum_nanos: Counter,
}

#[inline]
fn bucket_of(nanos: u64) -> usize {
    BUCKET_NANOS.iter().position(|b| nanos <= *b).unwrap_or(15)
}

impl Histogram {
    #[inline]
    pub(crate) fn observe_locked(&self, d: Duration) {
        let n = d.as_nanos().min(u64::MAX as u128) as u64;
        self.buckets[bucket_of(n)].add_locked(1);
        self.count.add_locked(1);
        self.sum_nanos.add_locked(n);
    }
    pub(crate) fn snapshot(&self) -> HistogramSnapshot {
        self.snapshot_with_zeros(0)
    }

    /// The snapshot plus `zeros` observations of zero that were counted
    /// elsewhere instead of being recorded one by one.
    pub(crate) fn snapshot_with_zeros(&self, zeros: u64) -> HistogramSnapshot {
        let mut cumulative = Vec::with_capacity(16);
        let mut acc = zeros;
        for b in &self.buckets {
            acc += b.get();
            cumulative.push(acc);
        }
        HistogramSnapshot { cumulative, count: self.count.get() + zeros, sum: Duration::from_nanos(self.sum_nanos.get()) }
    }
}

/// A histogram at one moment: cumulative bucket counts (last one is +Inf).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HistogramSnapshot {
    /// Cumulative counts per bucket of [`BUCKETS`], then +Inf.
    pub cumulative: Vec<u64>,
    /// Observations.
    pub count: u64,
    /// Sum of observations.
    pub sum: Duration,
}

/// Every counter and histogram of one pool.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    pub acquired: Counter,
    pub created: Counter,
    pub create_failures: Counter,
    pub timeouts: Counter,
    pub pings: Counter,
    pub ping_failures: Counter,
    pub leaks: Counter,
    pub closed: [Counter; CloseReason::ALL.len()],
    pub wait_time: Histogram,
    pub use_time: Histogram,
    pub create_time: Histogram,
}

impl Metrics {
    /// Wait-time histogram: only waits that queued are recorded on the hot
    /// path; immediate acquisitions (`acquired` minus recorded waits) are
    /// added back here as zero-second observations.
    pub(crate) fn wait_time_snapshot(&self) -> HistogramSnapshot {
        let recorded = self.wait_time.count.get();
        let zeros = self.acquired.get().saturating_sub(recorded);
        self.wait_time.snapshot_with_zeros(zeros)
    }

    pub(crate) fn closed_total(&self) -> u64 {
        self.closed.iter().map(Counter::get).sum()
    }
}

/// Wait, use and create time histograms of one pool.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Histograms {
    /// `db.client.connection.wait_time`: time to obtain a connection.
    pub wait_time: HistogramSnapshot,
    /// `db.client.connection.use_time`: time between checkout and return.
    pub use_time: HistogramSnapshot,
    /// `db.client.connection.create_time`: time to create a connection.
    pub create_time: HistogramSnapshot,
}
