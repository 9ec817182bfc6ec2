//! The bench loop: N concurrent workers doing acquire → query → return for a
//! duration, with a live progress display and merged latency histograms.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::stats::{fmt_ms, Histogram, Summary};
use crate::workload::{OpError, Workload};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressMode {
    /// Redraw one line in place (stderr is a terminal).
    Live,
    /// One plain line per interval (stderr is a file or pipe).
    Lines,
    Off,
}

impl ProgressMode {
    pub fn detect(quiet: bool) -> ProgressMode {
        if quiet {
            ProgressMode::Off
        } else if std::io::stderr().is_terminal() {
            ProgressMode::Live
        } else {
            ProgressMode::Lines
        }
    }
}

#[derive(Clone, Debug)]
pub struct RunSpec {
    pub workers: usize,
    pub duration: Duration,
    pub warmup: Duration,
    pub progress: ProgressMode,
    pub progress_interval: Duration,
    /// Prefix of progress lines (sweep: "pool_size=8").
    pub label: String,
    /// Give up on workers still busy this long after the end (pool_timeout + slack).
    pub grace: Duration,
}

#[derive(Default)]
struct Live {
    ok: AtomicU64,
    errors: AtomicU64,
    timeouts: AtomicU64,
}

#[derive(Default)]
struct WorkerStats {
    latency: Histogram,
    wait: Histogram,
    query: Histogram,
    ok: u64,
    errors: u64,
    timeouts: u64,
    messages: HashMap<String, u64>,
}

/// One error message and how often it happened.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ErrorCount {
    pub kind: String,
    pub message: String,
    pub count: u64,
}

/// Measured numbers of one run (no configuration; see `BenchReport`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Measured {
    pub elapsed_s: f64,
    pub ops: u64,
    pub throughput: f64,
    /// acquire + query + return, as the caller sees it
    pub latency: Summary,
    /// time in pool.get()
    pub acquire_wait: Summary,
    /// latency minus acquire wait: how long a connection is held per op
    pub query_time: Summary,
    pub timeouts: u64,
    pub errors: u64,
    pub error_messages: Vec<ErrorCount>,
    pub interrupted: bool,
    /// workers that were still busy after the grace period and were abandoned
    pub abandoned_workers: usize,
}

pub async fn run<W: Workload>(w: Arc<W>, spec: &RunSpec, stop: Arc<AtomicBool>) -> Measured {
    let live = Arc::new(Live::default());
    let start = Instant::now();
    let measure_start = start + spec.warmup;
    let end = measure_start + spec.duration;

    let mut handles = Vec::with_capacity(spec.workers);
    for _ in 0..spec.workers {
        let w = w.clone();
        let live = live.clone();
        let stop = stop.clone();
        handles.push(tokio::spawn(async move {
            let mut st = WorkerStats::default();
            loop {
                let t0 = Instant::now();
                if t0 >= end || stop.load(Ordering::Relaxed) {
                    break;
                }
                let out = w.op().await;
                let total = t0.elapsed();
                let measured = t0 >= measure_start;
                match out.result {
                    Ok(()) => {
                        live.ok.fetch_add(1, Ordering::Relaxed);
                        if measured {
                            st.ok += 1;
                            st.latency.record_duration(total);
                            st.wait.record_duration(out.wait);
                            st.query.record_duration(total.saturating_sub(out.wait));
                        }
                    }
                    Err(e) => {
                        let is_timeout = matches!(e, OpError::Timeout(_));
                        if is_timeout {
                            live.timeouts.fetch_add(1, Ordering::Relaxed);
                        } else {
                            live.errors.fetch_add(1, Ordering::Relaxed);
                        }
                        if measured {
                            if is_timeout {
                                st.timeouts += 1;
                            } else {
                                st.errors += 1;
                            }
                            let kind = match e {
                                OpError::Timeout(_) => "timeout",
                                OpError::Acquire(_) => "acquire",
                                OpError::Query(_) => "query",
                            };
                            let key = format!("{kind}\u{0}{}", e.message());
                            if st.messages.len() < 20 || st.messages.contains_key(&key) {
                                *st.messages.entry(key).or_default() += 1;
                            }
                        }
                        if !is_timeout {
                            // Don't spin on a dead server: connect errors come back fast.
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
            }
            st
        }));
    }

    let progress = if spec.progress != ProgressMode::Off {
        let w = w.clone();
        let live = live.clone();
        let spec = spec.clone();
        let done = Arc::new(AtomicBool::new(false));
        let d2 = done.clone();
        let h = tokio::spawn(async move { progress_loop(&*w, &live, &spec, start, &d2).await });
        Some((h, done))
    } else {
        None
    };

    let mut merged = WorkerStats::default();
    let hard_deadline = end + spec.grace;
    let mut abandoned = 0;
    for h in handles {
        let left = hard_deadline.saturating_duration_since(Instant::now());
        let abort = h.abort_handle();
        match tokio::time::timeout(left, h).await {
            Ok(Ok(st)) => {
                merged.latency.merge(&st.latency);
                merged.wait.merge(&st.wait);
                merged.query.merge(&st.query);
                merged.ok += st.ok;
                merged.errors += st.errors;
                merged.timeouts += st.timeouts;
                for (k, v) in st.messages {
                    *merged.messages.entry(k).or_default() += v;
                }
            }
            Ok(Err(_)) | Err(_) => {
                abort.abort();
                abandoned += 1;
            }
        }
    }
    let finished = Instant::now();
    if let Some((h, done)) = progress {
        done.store(true, Ordering::Relaxed);
        let _ = h.await;
    }
    let elapsed = finished
        .saturating_duration_since(measure_start)
        .as_secs_f64()
        .max(1e-9);
    let mut error_messages: Vec<ErrorCount> = merged
        .messages
        .into_iter()
        .map(|(k, count)| {
            let (kind, message) = k.split_once('\u{0}').unwrap_or(("error", &k));
            ErrorCount {
                kind: kind.to_string(),
                message: message.to_string(),
                count,
            }
        })
        .collect();
    error_messages.sort_by(|a, b| b.count.cmp(&a.count).then(a.message.cmp(&b.message)));
    Measured {
        elapsed_s: elapsed,
        ops: merged.ok,
        throughput: merged.ok as f64 / elapsed,
        latency: merged.latency.summary(),
        acquire_wait: merged.wait.summary(),
        query_time: merged.query.summary(),
        timeouts: merged.timeouts,
        errors: merged.errors,
        error_messages,
        interrupted: stop.load(Ordering::Relaxed),
        abandoned_workers: abandoned,
    }
}

async fn progress_loop<W: Workload>(
    w: &W,
    live: &Live,
    spec: &RunSpec,
    start: Instant,
    done: &AtomicBool,
) {
    let total = spec.warmup + spec.duration;
    let tick = match spec.progress {
        ProgressMode::Live => Duration::from_millis(200),
        _ => spec.progress_interval,
    };
    // Rate over the last second (live) / last interval (lines).
    let mut last_ops = 0u64;
    let mut last_t = Instant::now();
    let mut rate = 0.0;
    loop {
        let sleep_until = Instant::now() + tick;
        while Instant::now() < sleep_until {
            if done.load(Ordering::Relaxed) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50).min(tick)).await;
        }
        let finished = done.load(Ordering::Relaxed);
        let now = Instant::now();
        let ops = live.ok.load(Ordering::Relaxed);
        let dt = now.duration_since(last_t).as_secs_f64();
        if dt >= 0.5 || spec.progress == ProgressMode::Lines {
            rate = (ops - last_ops) as f64 / dt.max(1e-9);
            last_ops = ops;
            last_t = now;
        }
        let t = now.duration_since(start);
        let phase = if t < spec.warmup { " warm-up" } else { "" };
        let s = w.status();
        let line = format!(
            "{}[{:>5.1}s/{:.0}s{phase}] {} ops  {:>8.0} ops/s  timeouts {}  errors {}  pool open {} in_use {} idle {} waiting {}",
            if spec.label.is_empty() { String::new() } else { format!("{} ", spec.label) },
            t.as_secs_f64().min(total.as_secs_f64()),
            total.as_secs_f64(),
            ops,
            rate,
            live.timeouts.load(Ordering::Relaxed),
            live.errors.load(Ordering::Relaxed),
            s.open,
            s.in_use,
            s.idle,
            s.waiting,
        );
        let mut err = std::io::stderr().lock();
        match spec.progress {
            ProgressMode::Live => {
                let _ = write!(err, "\r\x1b[2K{line}");
                if finished {
                    let _ = writeln!(err);
                }
            }
            _ => {
                if !finished {
                    let _ = writeln!(err, "progress {line}");
                }
            }
        }
        let _ = err.flush();
        if finished {
            break;
        }
    }
}

/// The pool's status as JSON (field by field, so the CLI does not depend on
/// the core deriving Serialize).
pub fn status_json(s: &unipool::PoolStatus) -> Value {
    json!({
        "name": s.name, "open": s.open, "idle": s.idle, "in_use": s.in_use, "pending": s.pending,
        "waiting": s.waiting, "max": s.max, "pool_size": s.pool_size, "max_overflow": s.max_overflow,
        "min_idle": s.min_idle, "overflow": s.overflow, "generation": s.generation,
        "acquired": s.acquired, "created": s.created, "create_failures": s.create_failures,
        "closed": s.closed, "timeouts": s.timeouts, "pings": s.pings, "ping_failures": s.ping_failures,
        "leaks_detected": s.leaks_detected, "invalidated": s.invalidated,
    })
}

pub fn status_line(s: &unipool::PoolStatus) -> String {
    format!(
        "open={} idle={} in_use={} waiting={} max={} | acquired={} created={} closed={} timeouts={} create_failures={} invalidated={} pings={} ping_failures={}",
        s.open,
        s.idle,
        s.in_use,
        s.waiting,
        s.max.map_or("unbounded".to_string(), |m| m.to_string()),
        s.acquired,
        s.created,
        s.closed,
        s.timeouts,
        s.create_failures,
        s.invalidated,
        s.pings,
        s.ping_failures
    )
}

/// Human-readable lines for a run's measurements.
pub fn measured_text(m: &Measured) -> String {
    let sm = |s: &Summary| {
        format!(
            "p50 {:>8}  p95 {:>8}  p99 {:>8}  max {:>8}",
            fmt_ms(s.p50_ms),
            fmt_ms(s.p95_ms),
            fmt_ms(s.p99_ms),
            fmt_ms(s.max_ms)
        )
    };
    let mut out = String::new();
    out.push_str(&format!(
        "  throughput    {:.0} ops/s ({} ops in {:.2}s)\n",
        m.throughput, m.ops, m.elapsed_s
    ));
    out.push_str(&format!(
        "  latency       {}   (acquire + query + return)\n",
        sm(&m.latency)
    ));
    out.push_str(&format!(
        "  acquire wait  {}   (mean {})\n",
        sm(&m.acquire_wait),
        fmt_ms(m.acquire_wait.mean_ms)
    ));
    out.push_str(&format!(
        "  query time    {}   (mean {})\n",
        sm(&m.query_time),
        fmt_ms(m.query_time.mean_ms)
    ));
    out.push_str(&format!("  timeouts      {}\n", m.timeouts));
    out.push_str(&format!("  errors        {}\n", m.errors));
    for e in m.error_messages.iter().take(5) {
        out.push_str(&format!(
            "    {} x {} error: {}\n",
            e.count, e.kind, e.message
        ));
    }
    if m.interrupted {
        out.push_str("  (interrupted: numbers cover the part that ran)\n");
    }
    if m.abandoned_workers > 0 {
        out.push_str(&format!(
            "  ({} workers were still busy after the grace period and were abandoned)\n",
            m.abandoned_workers
        ));
    }
    out
}
