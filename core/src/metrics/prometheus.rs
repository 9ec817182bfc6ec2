//! Prometheus text exposition with the OpenTelemetry database client
//! connection-pool names (`db.client.connection.*`), converted the way the
//! OpenTelemetry Prometheus exporter does: dots become underscores, seconds
//! histograms get `_seconds`, counters get `_total`. The pool name is the
//! `db_client_connection_pool_name` label (OpenTelemetry attribute
//! `db.client.connection.pool.name`).

use std::fmt::Write;

use super::{HistogramSnapshot, Metrics, BUCKETS};
use crate::pool::{CloseReason, PoolStatus};

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn gauge(out: &mut String, name: &str, help: &str, pool: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
    let _ = writeln!(out, "{name}{{db_client_connection_pool_name=\"{pool}\"}} {value}");
}

fn counter(out: &mut String, name: &str, help: &str, pool: &str, value: u64) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} counter");
    let _ = writeln!(out, "{name}_total{{db_client_connection_pool_name=\"{pool}\"}} {value}");
}

fn histogram(out: &mut String, name: &str, help: &str, pool: &str, h: &HistogramSnapshot) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} histogram");
    for (i, le) in BUCKETS.iter().enumerate() {
        let _ = writeln!(out, "{name}_bucket{{db_client_connection_pool_name=\"{pool}\",le=\"{le}\"}} {}", h.cumulative[i]);
    }
    let _ = writeln!(out, "{name}_bucket{{db_client_connection_pool_name=\"{pool}\",le=\"+Inf\"}} {}", h.cumulative[15]);
    let _ = writeln!(out, "{name}_sum{{db_client_connection_pool_name=\"{pool}\"}} {}", h.sum.as_secs_f64());
    let _ = writeln!(out, "{name}_count{{db_client_connection_pool_name=\"{pool}\"}} {}", h.count);
}

/// Renders one pool's metrics. Every binding returns exactly this text.
pub(crate) fn render(s: &PoolStatus, m: &Metrics) -> String {
    let pool = escape(&s.name);
    let p = pool.as_str();
    let mut out = String::with_capacity(8 * 1024);
    let _ = writeln!(out, "# HELP db_client_connection_count The number of connections that are currently in the state described by the state attribute.");
    let _ = writeln!(out, "# TYPE db_client_connection_count gauge");
    for (state, v) in [("idle", s.idle), ("used", s.in_use)] {
        let _ = writeln!(out, "db_client_connection_count{{db_client_connection_pool_name=\"{p}\",db_client_connection_state=\"{state}\"}} {v}");
    }
    // Unbounded pools report -1, as OpenTelemetry has no "infinite" gauge value.
    let max = s.max.map_or(-1, |m| m as i64);
    gauge(&mut out, "db_client_connection_max", "The maximum number of open connections allowed.", p, max);
    gauge(&mut out, "db_client_connection_idle_max", "The maximum number of idle open connections allowed.", p, s.pool_size);
    gauge(&mut out, "db_client_connection_idle_min", "The minimum number of idle open connections allowed.", p, s.min_idle);
    gauge(&mut out, "db_client_connection_pending_requests", "The number of current pending requests for an open connection.", p, s.waiting);
    counter(&mut out, "db_client_connection_timeouts", "The number of connection timeouts that have occurred trying to obtain a connection from the pool.", p, s.timeouts);
    histogram(&mut out, "db_client_connection_create_time_seconds", "The time it took to create a new connection.", p, &m.create_time.snapshot());
    histogram(&mut out, "db_client_connection_wait_time_seconds", "The time it took to obtain an open connection from the pool.", p, &m.wait_time_snapshot());
    histogram(&mut out, "db_client_connection_use_time_seconds", "The time between borrowing a connection and returning it to the pool.", p, &m.use_time.snapshot());
    // unipool's own, beyond the OpenTelemetry set.
    gauge(&mut out, "unipool_connections_pending_creates", "Connections being created right now.", p, s.pending);
    counter(&mut out, "unipool_connections_created", "Connections created.", p, s.created);
    counter(&mut out, "unipool_connect_failures", "Failed attempts to create a connection.", p, s.create_failures);
    let _ = writeln!(out, "# HELP unipool_connections_closed Connections that left the pool, by reason.");
    let _ = writeln!(out, "# TYPE unipool_connections_closed counter");
    for r in CloseReason::ALL {
        let _ = writeln!(
            out,
            "unipool_connections_closed_total{{db_client_connection_pool_name=\"{p}\",reason=\"{}\"}} {}",
            r.as_str(),
            m.closed[r.index()].get()
        );
    }
    counter(&mut out, "unipool_connections_acquired", "Connections handed out.", p, s.acquired);
    counter(&mut out, "unipool_pings", "Pre-pings made.", p, s.pings);
    counter(&mut out, "unipool_ping_failures", "Pre-pings that failed.", p, s.ping_failures);
    counter(&mut out, "unipool_leaks_detected", "Checkouts held longer than leak_detection_threshold.", p, s.leaks_detected);
    out
}
