//! Latency statistics: a mergeable log-linear histogram (HDR-style) with
//! bounded relative error, so millions of samples cost a few kilobytes and
//! per-worker histograms can be merged at the end of a run.
//!
//! Values are nanoseconds. Values below 2^SUB_BITS are stored exactly; above
//! that, every power of two is split into 2^SUB_BITS equal buckets, so the
//! bucket width is at most 1/128 of the value (relative error < 0.8%).

use serde::{Deserialize, Serialize};

const SUB_BITS: u32 = 7;
const SUB: u64 = 1 << SUB_BITS;

#[derive(Clone, Debug, Default)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    min: u64,
    max: u64,
    sum: u128,
}

fn index_of(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let msb = 63 - v.leading_zeros(); // >= SUB_BITS
    let m = msb - SUB_BITS;
    let top = v >> m; // in [SUB, 2*SUB)
    ((m as u64 + 1) * SUB + (top - SUB)) as usize
}

/// Inclusive value range `[lo, hi]` of bucket `i`.
fn bucket_range(i: usize) -> (u64, u64) {
    let i = i as u64;
    if i < SUB {
        return (i, i);
    }
    let m = i / SUB - 1;
    let top = SUB + i % SUB;
    let lo = top << m;
    let hi = lo + ((1u64 << m) - 1);
    (lo, hi)
}

impl Histogram {
    #[cfg(test)]
    pub fn new() -> Self {
        Self::default()
    }

    pub fn record(&mut self, nanos: u64) {
        let i = index_of(nanos);
        if i >= self.counts.len() {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += 1;
        if self.total == 0 || nanos < self.min {
            self.min = nanos;
        }
        if nanos > self.max {
            self.max = nanos;
        }
        self.total += 1;
        self.sum += nanos as u128;
    }

    pub fn record_duration(&mut self, d: std::time::Duration) {
        self.record(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    }

    pub fn merge(&mut self, other: &Histogram) {
        if other.total == 0 {
            return;
        }
        if other.counts.len() > self.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += *b;
        }
        if self.total == 0 || other.min < self.min {
            self.min = other.min;
        }
        self.max = self.max.max(other.max);
        self.total += other.total;
        self.sum += other.sum;
    }

    #[cfg(test)]
    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn mean(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.sum as f64 / self.total as f64
        }
    }

    /// Nearest-rank percentile (`p` in 0..=100): the smallest recorded value
    /// such that at least p% of samples are <= it, reported as the midpoint of
    /// its bucket (clamped to the observed min/max). 0 when empty.
    pub fn percentile(&self, p: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let p = p.clamp(0.0, 100.0);
        let rank = ((p / 100.0) * self.total as f64).ceil() as u64;
        let rank = rank.clamp(1, self.total);
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (lo, hi) = bucket_range(i);
                let mid = lo + (hi - lo) / 2;
                return mid.clamp(self.min, self.max);
            }
        }
        self.max
    }

    pub fn summary(&self) -> Summary {
        let ms = |n: u64| n as f64 / 1e6;
        Summary {
            count: self.total,
            mean_ms: self.mean() / 1e6,
            min_ms: ms(if self.total == 0 { 0 } else { self.min }),
            p50_ms: ms(self.percentile(50.0)),
            p95_ms: ms(self.percentile(95.0)),
            p99_ms: ms(self.percentile(99.0)),
            max_ms: ms(self.max),
        }
    }
}

/// Percentiles of one distribution, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub count: u64,
    pub mean_ms: f64,
    pub min_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Formats milliseconds with a sensible unit for humans.
pub fn fmt_ms(ms: f64) -> String {
    if ms <= 0.0 {
        "0".to_string()
    } else if ms < 0.0005 {
        "<1µs".to_string()
    } else if ms < 1.0 {
        format!("{:.0}µs", ms * 1000.0)
    } else if ms < 1000.0 {
        format!("{:.2}ms", ms)
    } else {
        format!("{:.2}s", ms / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact_percentile(sorted: &[u64], p: f64) -> u64 {
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }

    #[test]
    fn buckets_cover_every_value_once() {
        // index_of and bucket_range agree, and ranges are contiguous.
        let mut expect_lo = 0u64;
        for i in 0..(40 * SUB as usize) {
            let (lo, hi) = bucket_range(i);
            assert_eq!(
                lo, expect_lo,
                "bucket {i} starts at {lo}, expected {expect_lo}"
            );
            assert!(hi >= lo);
            assert_eq!(index_of(lo), i);
            assert_eq!(index_of(hi), i);
            expect_lo = hi + 1;
        }
        assert_eq!(bucket_range(index_of(u64::MAX)).1, u64::MAX);
    }

    #[test]
    fn small_values_are_exact() {
        let mut h = Histogram::new();
        for v in 1..=100u64 {
            h.record(v);
        }
        assert_eq!(h.count(), 100);
        assert_eq!(h.percentile(50.0), 50);
        assert_eq!(h.percentile(95.0), 95);
        assert_eq!(h.percentile(99.0), 99);
        assert_eq!(h.percentile(100.0), 100);
        assert_eq!(h.percentile(0.0), 1);
        assert!((h.mean() - 50.5).abs() < 1e-9);
    }

    #[test]
    fn percentiles_within_one_percent_of_exact() {
        let mut rng = fastrand::Rng::with_seed(7);
        let mut values: Vec<u64> = (0..50_000)
            .map(|_| {
                // log-uniform between 10µs and 2s
                let e = rng.f64() * (2e9f64 / 1e4).ln();
                (1e4 * e.exp()) as u64
            })
            .collect();
        let mut h = Histogram::new();
        for &v in &values {
            h.record(v);
        }
        values.sort_unstable();
        for p in [1.0, 10.0, 50.0, 90.0, 95.0, 99.0, 99.9, 100.0] {
            let exact = exact_percentile(&values, p) as f64;
            let got = h.percentile(p) as f64;
            let rel = (got - exact).abs() / exact;
            assert!(rel < 0.01, "p{p}: got {got}, exact {exact}, rel err {rel}");
        }
        assert_eq!(h.percentile(100.0), *values.last().unwrap());
    }

    #[test]
    fn merge_equals_recording_everything_in_one() {
        let mut a = Histogram::new();
        let mut b = Histogram::new();
        let mut all = Histogram::new();
        for v in 0..10_000u64 {
            let x = v * v % 7_919_993 + 3;
            if v % 3 == 0 {
                a.record(x)
            } else {
                b.record(x)
            }
            all.record(x);
        }
        let mut m = Histogram::new();
        m.merge(&a);
        m.merge(&b);
        assert_eq!(m.count(), all.count());
        for p in [50.0, 95.0, 99.0] {
            assert_eq!(m.percentile(p), all.percentile(p));
        }
        assert_eq!(m.summary(), all.summary());
    }

    #[test]
    fn empty_histogram_reports_zeroes() {
        let h = Histogram::new();
        assert_eq!(h.percentile(99.0), 0);
        assert_eq!(h.summary(), Summary::default());
    }

    #[test]
    fn fmt_ms_picks_units() {
        assert_eq!(fmt_ms(0.25), "250µs");
        assert_eq!(fmt_ms(0.0001), "<1µs");
        assert_eq!(fmt_ms(12.345), "12.35ms");
        assert_eq!(fmt_ms(2500.0), "2.50s");
    }
}
