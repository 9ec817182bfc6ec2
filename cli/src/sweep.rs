//! `unipool sweep`: bench at several pool sizes, find the knee, plot it.

use serde::Serialize;

use crate::bench::Measured;
use crate::knee::knee_index;
use crate::plot::{render, PlotPoint, PlotSpec};
use crate::stats::fmt_ms;

#[derive(Serialize)]
pub struct Point {
    pub pool_size: usize,
    pub max_overflow: i64,
    pub measured: Measured,
    pub pool: serde_json::Value,
}

pub struct SweepResult {
    pub knee: Option<usize>,
    pub max_throughput: f64,
}

/// The configuration for one point: `pool_size = size`; `max_overflow = 0`
/// unless the user set it (so the pool size is the real cap); `min_idle`
/// clamped to the size.
pub fn config_for_size(
    base: &unipool::PoolConfig,
    size: usize,
    keep_overflow: bool,
) -> unipool::Result<unipool::PoolConfig> {
    let mut c = base.clone();
    c.set("pool_size", size)?;
    if !keep_overflow {
        c.set("max_overflow", 0i64)?;
    }
    if c.min_idle > size {
        c.set("min_idle", size)?;
    }
    c.normalize()?;
    Ok(c)
}

pub fn finish(points: &[Point], threshold: f64) -> SweepResult {
    let pts: Vec<(usize, f64)> = points
        .iter()
        .map(|p| (p.pool_size, p.measured.throughput))
        .collect();
    SweepResult {
        knee: knee_index(&pts, threshold),
        max_throughput: pts.iter().map(|p| p.1).fold(0.0, f64::max),
    }
}

pub fn svg(
    points: &[Point],
    knee: Option<usize>,
    threshold: f64,
    title: &str,
    subtitle: &str,
) -> String {
    let pp: Vec<PlotPoint> = points
        .iter()
        .map(|p| PlotPoint {
            size: p.pool_size,
            throughput: p.measured.throughput,
            p99_ms: p.measured.latency.p99_ms,
        })
        .collect();
    let rule = format!("≥ {:.0}% of max throughput", threshold * 100.0);
    render(&PlotSpec {
        title,
        subtitle,
        points: &pp,
        knee,
        knee_rule: &rule,
    })
}

pub fn table(points: &[Point], knee: Option<usize>) -> String {
    let mut s = format!(
        "{:>9} {:>12} {:>9} {:>9} {:>9} {:>10} {:>9} {:>7}\n",
        "pool_size", "ops/s", "p50", "p95", "p99", "wait p99", "timeouts", "errors"
    );
    for (i, p) in points.iter().enumerate() {
        let m = &p.measured;
        s.push_str(&format!(
            "{:>9} {:>12.0} {:>9} {:>9} {:>9} {:>10} {:>9} {:>7}{}\n",
            p.pool_size,
            m.throughput,
            fmt_ms(m.latency.p50_ms),
            fmt_ms(m.latency.p95_ms),
            fmt_ms(m.latency.p99_ms),
            fmt_ms(m.acquire_wait.p99_ms),
            m.timeouts,
            m.errors,
            if Some(i) == knee { "  <- knee" } else { "" }
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_config_caps_the_pool() {
        let base = unipool::PoolConfig::default();
        let c = config_for_size(&base, 8, false).unwrap();
        assert_eq!((c.pool_size, c.max_overflow, c.max_size()), (8, 0, Some(8)));
        let c = config_for_size(&base, 8, true).unwrap();
        assert_eq!(c.max_overflow, 10);
        let mut b = base.clone();
        b.set("min_idle", 4i64).unwrap();
        let c = config_for_size(&b, 2, false).unwrap();
        assert_eq!(c.min_idle, 2);
    }
}
