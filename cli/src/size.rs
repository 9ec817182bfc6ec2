//! The sizing calculator behind `unipool size`. Pure arithmetic; the command
//! (main.rs) gathers the inputs (flags, a bench --json file, the server's
//! max_connections) and prints the report. Every rule is spelt out in
//! docs/cli.md.

use serde::Serialize;

#[derive(Clone, Debug, Default)]
pub struct SizeInputs {
    /// Requests in flight at once (closed system), e.g. bench workers.
    pub concurrency: Option<f64>,
    /// Arrival rate of queries per second (open system).
    pub rps: Option<f64>,
    /// Mean time a connection is held per request, seconds.
    pub query_time: Option<f64>,
    /// Acceptable mean wait for a connection, seconds.
    pub wait: f64,
    /// Database server CPU cores, for the cores x 2 + spindles rule.
    pub cores: Option<f64>,
    pub spindles: f64,
    /// Budget: app instances (hosts/containers) x worker processes per instance.
    pub processes: u64,
    pub workers: u64,
    pub pool_size: u64,
    /// -1 = unbounded
    pub max_overflow: i64,
    pub max_connections: Option<u64>,
    /// Connections the server keeps for admins (PostgreSQL superuser_reserved_connections).
    pub reserved: u64,
    /// Where max_connections came from ("server", "--max-connections").
    pub max_connections_source: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Rule {
    pub name: &'static str,
    pub formula: String,
    /// Suggested connections per pool (None when the rule has no input).
    pub pool_size: Option<u64>,
    pub detail: String,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Budget {
    pub processes: u64,
    pub workers: u64,
    pub pool_size: u64,
    pub max_overflow: i64,
    /// processes x workers x (pool_size + max_overflow); None when max_overflow = -1 (unbounded).
    pub total: Option<u64>,
    pub max_connections: Option<u64>,
    pub reserved: u64,
    pub usable: Option<u64>,
    pub headroom: Option<i64>,
    pub ok: Option<bool>,
    /// Largest pool_size + max_overflow per pool that fits: floor(usable / (processes x workers)).
    pub max_per_pool: Option<u64>,
    pub source: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SizeReport {
    pub rules: Vec<Rule>,
    pub budget: Budget,
    /// The recommendation: the load-based rule's size (Erlang C when a rate
    /// is known, else the closed-system Little's law size, else the cores
    /// rule per pool), capped by the budget.
    pub recommended_pool_size: Option<u64>,
    pub notes: Vec<String>,
}

/// Little's law: mean busy connections L = λ × W (arrival rate × hold time).
pub fn littles_busy(rps: f64, query_time: f64) -> f64 {
    rps * query_time
}

/// Closed system: `c` requests in flight, each holding a connection for
/// `t` seconds and accepting a mean wait of `w` seconds. Every request cycles
/// through (wait + query), so throughput is c / (t + w) and by Little's law
/// the busy connections are c × t / (t + w). Rounded up, at least 1, at most c.
pub fn closed_pool_size(concurrency: f64, query_time: f64, wait: f64) -> u64 {
    if concurrency <= 0.0 {
        return 1;
    }
    let need = concurrency * query_time / (query_time + wait.max(0.0));
    let need = if need.is_finite() { need } else { concurrency };
    (need - 1e-9).ceil().clamp(1.0, concurrency.ceil()) as u64
}

/// Erlang C (M/M/c): probability that an arriving request must wait, for
/// `c` connections and offered load `a` = λ × t Erlangs. 1.0 when c <= a.
pub fn erlang_c(c: u64, a: f64) -> f64 {
    if (c as f64) <= a {
        return 1.0;
    }
    // Erlang B by recursion, then C from B.
    let mut b = 1.0f64;
    for k in 1..=c {
        b = a * b / (k as f64 + a * b);
    }
    let c_f = c as f64;
    c_f * b / (c_f - a * (1.0 - b))
}

/// Open system: the smallest pool size c with mean wait for a connection
/// E[Wq] = ErlangC(c, a) × t / (c − a) <= `wait`, where a = λ × t.
/// Returns (c, P(wait > 0), E[Wq] seconds). Capped at 100 000.
pub fn erlang_pool_size(rps: f64, query_time: f64, wait: f64) -> (u64, f64, f64) {
    let a = littles_busy(rps, query_time);
    let mut c = (a.floor() as u64 + 1).max(1);
    loop {
        let pw = erlang_c(c, a);
        let wq = pw * query_time / (c as f64 - a);
        if wq <= wait || c >= 100_000 {
            return (c, pw, wq);
        }
        c += 1;
    }
}

/// PostgreSQL wiki / HikariCP rule for the whole server: cores × 2 + effective spindles.
pub fn cores_rule(cores: f64, spindles: f64) -> u64 {
    (cores * 2.0 + spindles).round().max(1.0) as u64
}

pub fn budget(i: &SizeInputs) -> Budget {
    let pools = i.processes.max(1) * i.workers.max(1);
    let total = if i.max_overflow < 0 {
        None
    } else {
        Some(pools * (i.pool_size + i.max_overflow as u64))
    };
    let usable = i.max_connections.map(|m| m.saturating_sub(i.reserved));
    let headroom = match (usable, total) {
        (Some(u), Some(t)) => Some(u as i64 - t as i64),
        _ => None,
    };
    let ok = match (usable, total) {
        (Some(u), Some(t)) => Some(t <= u),
        (Some(_), None) => Some(false), // unbounded overflow can always exceed it
        _ => None,
    };
    Budget {
        processes: i.processes.max(1),
        workers: i.workers.max(1),
        pool_size: i.pool_size,
        max_overflow: i.max_overflow,
        total,
        max_connections: i.max_connections,
        reserved: i.reserved,
        usable,
        headroom,
        ok,
        max_per_pool: usable.map(|u| u / pools),
        source: i.max_connections_source.clone(),
    }
}

pub fn report(i: &SizeInputs) -> SizeReport {
    let mut rules = Vec::new();
    let mut notes = Vec::new();
    let pools = i.processes.max(1) * i.workers.max(1);
    let mut load_based: Option<u64> = None;

    if let (Some(rps), Some(t)) = (i.rps, i.query_time) {
        let busy = littles_busy(rps, t);
        rules.push(Rule {
            name: "littles_law_busy",
            formula: "busy connections L = rate × query_time".into(),
            pool_size: Some(busy.ceil().max(1.0) as u64),
            detail: format!(
                "{rps:.1}/s × {:.3} ms = {busy:.2} connections busy on average; any smaller pool saturates",
                t * 1e3
            ),
        });
        let (c, pw, wq) = erlang_pool_size(rps, t, i.wait);
        rules.push(Rule {
            name: "erlang_c",
            formula: "smallest c with ErlangC(c, L) × query_time / (c − L) <= acceptable_wait".into(),
            pool_size: Some(c),
            detail: format!(
                "with {c} connections: {:.1}% of requests wait, mean wait {:.3} ms (acceptable {:.3} ms)",
                pw * 100.0,
                wq * 1e3,
                i.wait * 1e3
            ),
        });
        load_based = Some(c);
    }
    if let (Some(conc), Some(t)) = (i.concurrency, i.query_time) {
        let c = closed_pool_size(conc, t, i.wait);
        rules.push(Rule {
            name: "littles_law_closed",
            formula: "ceil(concurrent_requests × query_time / (query_time + acceptable_wait))"
                .into(),
            pool_size: Some(c),
            detail: format!(
                "{conc:.0} in flight × {:.3} ms / ({:.3} ms + {:.3} ms)",
                t * 1e3,
                t * 1e3,
                i.wait * 1e3
            ),
        });
        if load_based.is_none() {
            load_based = Some(c);
        }
    }
    let mut cores_per_pool = None;
    if let Some(cores) = i.cores {
        let total = cores_rule(cores, i.spindles);
        let per = (total / pools).max(1);
        cores_per_pool = Some(per);
        rules.push(Rule {
            name: "cores_x2_plus_spindles",
            formula: "server_cores × 2 + effective_spindles, shared by processes × workers pools".into(),
            pool_size: Some(per),
            detail: format!(
                "{cores} × 2 + {} = {total} connections for the server; / {pools} pool(s) = {per} each",
                i.spindles
            ),
        });
    }
    if i.query_time.is_none() {
        notes
            .push("give --query-time (or --from a bench --json file) to apply Little's law".into());
    }
    let b = budget(i);
    let mut rec = load_based.or(cores_per_pool);
    if let (Some(r), Some(maxp)) = (rec, b.max_per_pool) {
        if r > maxp {
            notes.push(format!(
                "the load needs {r} connections per pool but the server budget allows only {maxp} per pool (pool_size + max_overflow); \
                 add a server-side pooler, raise max_connections or run fewer processes"
            ));
            rec = Some(maxp.max(1));
        }
    }
    if let (Some(r), Some(c)) = (load_based, cores_per_pool) {
        if r > c {
            notes.push(format!(
                "the load-based size {r} exceeds the server's useful parallelism ({c} per pool by cores × 2 + spindles): \
                 requests will queue in the database instead of the pool; expect little extra throughput"
            ));
        }
    }
    if i.max_overflow < 0 {
        notes.push("max_overflow = -1 (unbounded): the pool can exceed any server limit".into());
    }
    SizeReport {
        rules,
        budget: b,
        recommended_pool_size: rec,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> SizeInputs {
        SizeInputs {
            processes: 1,
            workers: 1,
            pool_size: 5,
            max_overflow: 10,
            spindles: 1.0,
            ..Default::default()
        }
    }

    #[test]
    fn littles_law() {
        assert!((littles_busy(200.0, 0.05) - 10.0).abs() < 1e-12);
    }

    #[test]
    fn closed_system_size() {
        // 100 concurrent requests of 100 ms that accept 100 ms of wait: half as many connections.
        assert_eq!(closed_pool_size(100.0, 0.1, 0.1), 50);
        // no wait allowed: one connection per request in flight
        assert_eq!(closed_pool_size(64.0, 0.002, 0.0), 64);
        // never more than the concurrency, never less than 1
        assert_eq!(closed_pool_size(3.0, 1.0, 0.0), 3);
        assert_eq!(closed_pool_size(10.0, 0.001, 100.0), 1);
        // 64 workers, 1 ms query, 3 ms wait -> 16
        assert_eq!(closed_pool_size(64.0, 0.001, 0.003), 16);
    }

    #[test]
    fn erlang_c_known_values() {
        // Textbook: a = 2 Erlangs, c = 3 -> P(wait) = 4/9 ≈ 0.4444
        assert!(
            (erlang_c(3, 2.0) - 4.0 / 9.0).abs() < 1e-9,
            "{}",
            erlang_c(3, 2.0)
        );
        // c = 1 is M/M/1: P(wait) = rho
        assert!((erlang_c(1, 0.7) - 0.7).abs() < 1e-9);
        assert_eq!(erlang_c(2, 2.0), 1.0);
    }

    #[test]
    fn erlang_pool_size_meets_wait_and_is_minimal() {
        let (c, _pw, wq) = erlang_pool_size(1000.0, 0.005, 0.001); // a = 5 Erlangs
        assert!(wq <= 0.001);
        // one fewer connection misses the target
        let a: f64 = 5.0;
        let wq_less = erlang_c(c - 1, a) * 0.005 / ((c - 1) as f64 - a);
        assert!(c - 1 <= 5 || wq_less > 0.001, "c={c} not minimal");
        assert!(c > 5);
        // M/M/1 check: λ=50, t=10ms -> a=0.5, Wq = 0.5*0.01/(1-0.5) = 10 ms
        let (c1, pw1, wq1) = erlang_pool_size(50.0, 0.01, 0.011);
        assert_eq!(c1, 1);
        assert!((pw1 - 0.5).abs() < 1e-9 && (wq1 - 0.01).abs() < 1e-9);
    }

    #[test]
    fn cores_rule_values() {
        assert_eq!(cores_rule(4.0, 1.0), 9);
        assert_eq!(cores_rule(2.0, 0.0), 4);
    }

    #[test]
    fn budget_check() {
        let mut i = base();
        i.processes = 4;
        i.workers = 4;
        i.max_connections = Some(100);
        i.reserved = 3;
        let b = budget(&i);
        assert_eq!(b.total, Some(240));
        assert_eq!(b.usable, Some(97));
        assert_eq!(b.headroom, Some(97 - 240));
        assert_eq!(b.ok, Some(false));
        assert_eq!(b.max_per_pool, Some(6));
        i.pool_size = 4;
        i.max_overflow = 2;
        assert_eq!(budget(&i).ok, Some(true));
        i.max_overflow = -1;
        let b = budget(&i);
        assert_eq!(b.total, None);
        assert_eq!(b.ok, Some(false));
        i.max_connections = None;
        assert_eq!(budget(&i).ok, None);
    }

    #[test]
    fn report_recommends_load_size_capped_by_budget() {
        let mut i = base();
        i.concurrency = Some(64.0);
        i.query_time = Some(0.001);
        i.wait = 0.003;
        let r = report(&i);
        assert_eq!(r.recommended_pool_size, Some(16));
        assert!(r
            .rules
            .iter()
            .any(|x| x.name == "littles_law_closed" && x.pool_size == Some(16)));
        i.max_connections = Some(30);
        i.processes = 3;
        let r = report(&i);
        assert_eq!(r.recommended_pool_size, Some(10));
        assert!(
            r.notes.iter().any(|n| n.contains("budget allows only 10")),
            "{:?}",
            r.notes
        );
        // rate given: Erlang C wins over the closed rule
        i.rps = Some(1000.0);
        i.max_connections = None;
        let r = report(&i);
        let e = r.rules.iter().find(|x| x.name == "erlang_c").unwrap();
        assert_eq!(r.recommended_pool_size, e.pool_size);
    }

    #[test]
    fn report_without_load_uses_cores_rule() {
        let mut i = base();
        i.cores = Some(8.0);
        i.workers = 2;
        let r = report(&i);
        assert_eq!(r.recommended_pool_size, Some(8)); // 17 / 2
        assert!(r.notes.iter().any(|n| n.contains("--query-time")));
    }
}
