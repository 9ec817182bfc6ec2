//! `unipool`: benchmark a pool against a real database, sweep pool sizes,
//! size a pool, and show the effective pool configuration.
//! See docs/cli.md.

mod bench;
mod config;
mod knee;
mod plot;
mod size;
mod stats;
mod sweep;
mod workload;

use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde_json::json;

use crate::bench::{ProgressMode, RunSpec};
use crate::config::{ConfigError, Inputs, PoolArgs, Resolved, UrlSource};
use crate::workload::{Backend, Driver, EmbeddedDb, PoolWorkload, Workload};

#[derive(Parser, Debug)]
#[command(name = "unipool", version, about = "Benchmark, sweep, size and inspect unipool connection pools", long_about = None)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Drive N concurrent workers through the pool for a while and report throughput, latency and pool metrics.
    Bench(BenchArgs),
    /// Run bench over a range of pool sizes, print a table and write an SVG plot with the knee marked.
    Sweep(SweepArgs),
    /// Sizing calculator: Little's law, Erlang C, cores x 2 + spindles, and the max_connections budget.
    Size(SizeArgs),
    /// Print the effective pool configuration with the source of every value (passwords masked).
    Config(ConfigArgs),
}

#[derive(Args, Debug, Clone)]
struct ConnArgs {
    /// Database URL (postgres://, mysql://, sqlite:, redis://). Default: $DATABASE_URL, then
    /// [database] url of --toml, then an embedded SQLite database in a temporary file.
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// Use the embedded SQLite database even when DATABASE_URL is set.
    #[arg(long, conflicts_with = "url")]
    embedded: bool,
}

#[derive(Args, Debug, Clone)]
struct LoadArgs {
    /// Concurrent workers (tasks), each looping acquire -> query -> return.
    #[arg(long, short = 'w', value_name = "N")]
    workers: Option<usize>,
    /// Measured duration (e.g. 10s, 500ms, 1m; plain numbers are seconds).
    #[arg(long, short = 'd', value_name = "DURATION", value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Unmeasured warm-up before the measured duration.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    warmup: Option<Duration>,
    /// The query each operation runs (default SELECT 1; PING for Redis; a Redis command is split on spaces).
    #[arg(long, short = 'q', value_name = "SQL")]
    query: Option<String>,
    /// No progress output on stderr.
    #[arg(long)]
    quiet: bool,
    /// Seconds between progress lines when stderr is not a terminal.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "1s")]
    progress_interval: Duration,
}

#[derive(Args, Debug)]
struct BenchArgs {
    #[command(flatten)]
    conn: ConnArgs,
    #[command(flatten)]
    pool: PoolArgs,
    #[command(flatten)]
    load: LoadArgs,
    /// Print the report as JSON on stdout (input for `unipool size --from`).
    #[arg(long)]
    json: bool,
    /// Also print the pool's Prometheus metrics text.
    #[arg(long)]
    metrics: bool,
}

#[derive(Args, Debug)]
struct SweepArgs {
    #[command(flatten)]
    conn: ConnArgs,
    #[command(flatten)]
    pool: PoolArgs,
    #[command(flatten)]
    load: LoadArgs,
    /// Pool sizes: a list and/or ranges, e.g. 1,2,4,8,16,32 or 1..32:x2 or 1..8 or 2..20:2.
    #[arg(long, value_name = "LIST", default_value = "1,2,4,8,16,32")]
    sizes: String,
    /// Where to write the SVG plot.
    #[arg(
        long,
        short = 'o',
        value_name = "PATH",
        default_value = "unipool-sweep.svg"
    )]
    out: std::path::PathBuf,
    /// The knee is the smallest pool size reaching this fraction of the maximum throughput.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.95)]
    knee_threshold: f64,
    /// Print the results as JSON on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct SizeArgs {
    /// Read max_connections from this server (default: $DATABASE_URL if set).
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// Don't contact any server (ignore DATABASE_URL).
    #[arg(long, conflicts_with = "url")]
    offline: bool,
    /// Take measured numbers (workers, throughput, mean query time, pool size) from a `unipool bench --json` file.
    #[arg(long, value_name = "FILE")]
    from: Option<std::path::PathBuf>,
    /// Requests in flight at once (closed system), e.g. threads or tasks that use the database.
    #[arg(long, value_name = "N")]
    concurrency: Option<f64>,
    /// Queries per second arriving (open system).
    #[arg(long, value_name = "RATE")]
    rps: Option<f64>,
    /// Mean time a connection is held per request (e.g. 2ms).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    query_time: Option<Duration>,
    /// Acceptable mean wait for a connection (default: equal to the query time).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    wait: Option<Duration>,
    /// Database server CPU cores (default: this machine's when the server is local).
    #[arg(long, value_name = "N")]
    cores: Option<f64>,
    /// Effective spindle count of the server (0 for a fully cached data set; SSD ~ 1).
    #[arg(long, value_name = "N", default_value_t = 1.0)]
    spindles: f64,
    /// Application instances (hosts, containers) in the budget.
    #[arg(long, value_name = "N", default_value_t = 1)]
    processes: u64,
    /// Worker processes per instance, each with its own pool.
    #[arg(long, value_name = "N", default_value_t = 1)]
    workers: u64,
    /// The server's max_connections (default: read from the server).
    #[arg(long, value_name = "N")]
    max_connections: Option<u64>,
    /// Connections reserved for administrators (default: PostgreSQL's superuser_reserved_connections from the server, else 0).
    #[arg(long, value_name = "N")]
    reserved: Option<u64>,
    #[command(flatten)]
    pool: PoolArgs,
    /// Exit with status 3 when the budget exceeds max_connections.
    #[arg(long)]
    check: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct ConfigArgs {
    #[command(flatten)]
    conn: ConnArgs,
    #[command(flatten)]
    pool: PoolArgs,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
    /// List every accepted key spelling (aliases of asyncpg, sqlx, pg-pool, HikariCP) and exit.
    #[arg(long)]
    keys: bool,
}

/// Parses `10s`, `250ms`, `1.5m`, `2h`, `100us` or a plain number of seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim().to_ascii_lowercase();
    let (num, mult) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = t.strip_suffix("us") {
        (n, 1e-6)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (t.as_str(), 1.0)
    };
    match num.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 && x * mult < 1e9 => {
            Ok(Duration::from_secs_f64(x * mult))
        }
        _ => Err(format!(
            "'{s}' is not a duration: expected e.g. 10s, 250ms, 1.5m or a number of seconds"
        )),
    }
}

/// A failure with its exit status: 2 = usage/configuration, 1 = runtime.
struct Fail {
    code: u8,
    text: String,
}

impl Fail {
    fn usage(text: impl Into<String>) -> Fail {
        Fail {
            code: 2,
            text: format!("error: {}\n", text.into()),
        }
    }
    fn runtime(text: impl Into<String>) -> Fail {
        Fail {
            code: 1,
            text: format!("error: {}\n", text.into()),
        }
    }
}

impl From<ConfigError> for Fail {
    fn from(e: ConfigError) -> Fail {
        Fail {
            code: 2,
            text: e.explain(),
        }
    }
}

/// The database a command talks to.
struct Target {
    url: String,
    source: UrlSource,
    backend: Backend,
    _embedded: Option<EmbeddedDb>,
}

impl Target {
    fn display(&self) -> String {
        match self.source {
            UrlSource::Embedded => format!("embedded SQLite {}", self.url),
            _ => config::mask(&self.url),
        }
    }
}

/// Finds the URL (flag > DATABASE_URL > TOML [database] url) without creating anything.
fn find_url(conn: &ConnArgs, pool: &PoolArgs) -> Result<(Option<String>, UrlSource), Fail> {
    if conn.embedded {
        return Ok((None, UrlSource::Embedded));
    }
    if let Some(u) = &conn.url {
        return Ok((Some(u.clone()), UrlSource::Flag));
    }
    if let Ok(u) = std::env::var("DATABASE_URL") {
        if !u.trim().is_empty() {
            return Ok((Some(u), UrlSource::Env("DATABASE_URL".into())));
        }
    }
    if let Some(p) = &pool.toml {
        if let Ok(text) = std::fs::read_to_string(p) {
            if let Some(u) = config::toml_url(&text) {
                return Ok((Some(u), UrlSource::Toml(p.display().to_string())));
            }
        }
    }
    Ok((None, UrlSource::Embedded))
}

async fn open_target(conn: &ConnArgs, pool: &PoolArgs) -> Result<Target, Fail> {
    let (url, source) = find_url(conn, pool)?;
    match url {
        Some(url) => {
            let backend = Backend::of_url(&url)
                .map_err(|e| Fail::usage(format!("{e} (URL from {source})")))?;
            Ok(Target {
                url,
                source,
                backend,
                _embedded: None,
            })
        }
        None => {
            let db = EmbeddedDb::create().map_err(|e| {
                Fail::runtime(format!("cannot create a temporary SQLite file: {e}"))
            })?;
            db.seed().await.map_err(|e| {
                Fail::runtime(format!("cannot prepare the embedded SQLite database: {e}"))
            })?;
            Ok(Target {
                url: db.url(),
                source,
                backend: Backend::Sqlite,
                _embedded: Some(db),
            })
        }
    }
}

fn resolve_config(pool: &PoolArgs, url: Option<&str>) -> Result<Resolved, Fail> {
    let inputs = Inputs::gather(pool, url)?;
    Ok(config::resolve(&inputs)?)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn stop_on_ctrl_c() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            s.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    });
    stop
}

fn run_spec(
    load: &LoadArgs,
    workers: usize,
    duration: Duration,
    warmup: Duration,
    cfg: &unipool::PoolConfig,
) -> RunSpec {
    RunSpec {
        workers,
        duration,
        warmup,
        progress: ProgressMode::detect(load.quiet),
        progress_interval: load.progress_interval.max(Duration::from_millis(100)),
        label: String::new(),
        grace: (cfg.pool_timeout + Duration::from_secs(5)).min(Duration::from_secs(60)),
    }
}

/// Calls `$body` with `D` bound to the driver of `$backend`.
macro_rules! with_driver {
    ($backend:expr, $f:ident ( $($arg:expr),* )) => {
        match $backend {
            Backend::Postgres => $f::<workload::Postgres>($($arg),*).await,
            Backend::MySql => $f::<workload::MySql>($($arg),*).await,
            Backend::Sqlite => $f::<workload::Sqlite>($($arg),*).await,
            Backend::Redis => $f::<workload::Redis>($($arg),*).await,
            Backend::RedisCluster => $f::<workload::RedisCluster>($($arg),*).await,
        }
    };
}

// ---------------------------------------------------------------- bench

async fn cmd_bench(a: BenchArgs) -> Result<(), Fail> {
    let (url, _) = find_url(&a.conn, &a.pool)?;
    let resolved = resolve_config(&a.pool, url.as_deref())?;
    let target = open_target(&a.conn, &a.pool).await?;
    with_driver!(target.backend, bench_with(&a, &target, &resolved))
}

async fn open_workload<D: Driver>(
    target: &Target,
    cfg: unipool::PoolConfig,
    query: &str,
) -> Result<PoolWorkload<D>, Fail> {
    let w = PoolWorkload::<D>::new(&target.url, cfg, query).map_err(|e| {
        Fail::runtime(format!(
            "cannot create the pool for {}: {e}",
            target.display()
        ))
    })?;
    // One query before the run: a wrong URL or query fails here, with the driver's message.
    if let Err(e) = w.probe().await {
        w.close().await;
        return Err(Fail::runtime(format!(
            "the first query failed on {}: {e}",
            target.display()
        )));
    }
    Ok(w)
}

async fn bench_with<D: Driver>(
    a: &BenchArgs,
    target: &Target,
    resolved: &Resolved,
) -> Result<(), Fail> {
    let query = a
        .load
        .query
        .clone()
        .unwrap_or_else(|| D::DEFAULT_QUERY.to_string());
    let workers = a.load.workers.unwrap_or(16).max(1);
    let duration = a.load.duration.unwrap_or(Duration::from_secs(10));
    let warmup = a.load.warmup.unwrap_or(Duration::from_secs(1));
    let cfg = resolved.config.clone();
    let w = Arc::new(open_workload::<D>(target, cfg.clone(), &query).await?);
    let spec = run_spec(&a.load, workers, duration, warmup, &cfg);
    if !a.json && spec.progress != ProgressMode::Off {
        eprintln!(
            "unipool bench: {} workers for {:.1}s (+{:.1}s warm-up) on {} ({}), query: {query}",
            workers,
            duration.as_secs_f64(),
            warmup.as_secs_f64(),
            target.display(),
            D::NAME
        );
    }
    let stop = stop_on_ctrl_c();
    let m = bench::run(w.clone(), &spec, stop).await;
    let status = w.status();
    let metrics = w.metrics_text();
    w.close().await;

    let cfg_pairs: serde_json::Map<String, serde_json::Value> = cfg
        .to_pairs()
        .into_iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let sources: serde_json::Map<String, serde_json::Value> = resolved
        .rows()
        .into_iter()
        .map(|(k, _, s)| (k.to_string(), json!(s)))
        .collect();
    if a.json {
        let report = json!({
            "tool": "unipool bench",
            "version": env!("CARGO_PKG_VERSION"),
            "backend": D::NAME,
            "url": target.display(),
            "url_source": target.source.to_string(),
            "query": query,
            "workers": workers,
            "duration_s": duration.as_secs_f64(),
            "warmup_s": warmup.as_secs_f64(),
            "config": cfg_pairs,
            "config_sources": sources,
            "measured": m,
            "pool": bench::status_json(&status),
            "metrics_text": metrics,
        });
        println!("{}", serde_json::to_string_pretty(&report).expect("json"));
    } else {
        println!("unipool bench — {} ({})", target.display(), D::NAME);
        println!("  query         {query}");
        println!(
            "  workers       {workers} for {:.1}s after {:.1}s warm-up",
            duration.as_secs_f64(),
            warmup.as_secs_f64()
        );
        println!(
            "  pool          pool_size={} max_overflow={} pool_timeout={}s pre_ping={}",
            cfg.pool_size,
            cfg.max_overflow,
            cfg.pool_timeout.as_secs_f64(),
            cfg.pool_pre_ping
        );
        match cfg.max_size() {
            Some(max) if workers > max => println!(
                "                {workers} workers > {max} connections at most: workers wait for a connection (acquire wait)"
            ),
            Some(max) if workers > cfg.pool_size && cfg.pool_size > 0 => println!(
                "                {workers} workers > pool_size {}: up to {} overflow connections open (of {max} at most)",
                cfg.pool_size,
                workers - cfg.pool_size
            ),
            _ => {}
        }
        println!();
        print!("{}", bench::measured_text(&m));
        println!();
        println!("pool status: {}", bench::status_line(&status));
        if a.metrics {
            println!();
            print!("{metrics}");
        }
    }
    if m.ops == 0 {
        let why = m
            .error_messages
            .first()
            .map(|e| e.message.clone())
            .unwrap_or_else(|| "no operation completed".into());
        return Err(Fail::runtime(format!("no operation succeeded: {why}")));
    }
    Ok(())
}

// ---------------------------------------------------------------- sweep

async fn cmd_sweep(a: SweepArgs) -> Result<(), Fail> {
    let sizes = knee::parse_sizes(&a.sizes).map_err(Fail::usage)?;
    if !(a.knee_threshold > 0.0 && a.knee_threshold <= 1.0) {
        return Err(Fail::usage(format!(
            "--knee-threshold {}: expected a fraction greater than 0 and at most 1",
            a.knee_threshold
        )));
    }
    let (url, _) = find_url(&a.conn, &a.pool)?;
    let resolved = resolve_config(&a.pool, url.as_deref())?;
    let target = open_target(&a.conn, &a.pool).await?;
    with_driver!(target.backend, sweep_with(&a, &target, &resolved, &sizes))
}

async fn sweep_with<D: Driver>(
    a: &SweepArgs,
    target: &Target,
    resolved: &Resolved,
    sizes: &[usize],
) -> Result<(), Fail> {
    let query = a
        .load
        .query
        .clone()
        .unwrap_or_else(|| D::DEFAULT_QUERY.to_string());
    let max_size = *sizes.iter().max().unwrap_or(&1);
    let workers = a.load.workers.unwrap_or((2 * max_size).max(16)).max(1);
    let duration = a.load.duration.unwrap_or(Duration::from_secs(3));
    let warmup = a.load.warmup.unwrap_or(Duration::from_millis(500));
    let keep_overflow = resolved.source_of("max_overflow").kind() != "default"
        && resolved.source_of("max_overflow").kind() != "profile";
    let stop = stop_on_ctrl_c();
    let progress = ProgressMode::detect(a.load.quiet);
    if !a.json && progress != ProgressMode::Off {
        eprintln!(
            "unipool sweep: pool sizes {:?}, {workers} workers, {:.1}s each (+{:.1}s warm-up) on {} ({}), query: {query}",
            sizes,
            duration.as_secs_f64(),
            warmup.as_secs_f64(),
            target.display(),
            D::NAME
        );
    }
    let mut points = Vec::new();
    for &size in sizes {
        let cfg = sweep::config_for_size(&resolved.config, size, keep_overflow).map_err(|e| {
            Fail::usage(format!(
                "pool size {size} does not combine with the other settings: {e}"
            ))
        })?;
        let w = Arc::new(open_workload::<D>(target, cfg.clone(), &query).await?);
        let mut spec = run_spec(&a.load, workers, duration, warmup, &cfg);
        spec.label = format!("pool_size={size:<3}");
        let m = bench::run(w.clone(), &spec, stop.clone()).await;
        let status = w.status();
        w.close().await;
        points.push(sweep::Point {
            pool_size: size,
            max_overflow: cfg.max_overflow,
            measured: m,
            pool: bench::status_json(&status),
        });
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
    }
    let result = sweep::finish(&points, a.knee_threshold);
    let shown = match target.source {
        UrlSource::Embedded => "embedded SQLite".to_string(),
        _ => target.display(),
    };
    let title = format!("unipool sweep: {shown} ({})", D::NAME);
    let subtitle = format!(
        "{workers} workers, {:.1}s per pool size, max_overflow {}, query: {}",
        duration.as_secs_f64(),
        if keep_overflow {
            resolved.config.max_overflow.to_string()
        } else {
            "0".into()
        },
        query
    );
    let svg = sweep::svg(&points, result.knee, a.knee_threshold, &title, &subtitle);
    std::fs::write(&a.out, svg)
        .map_err(|e| Fail::runtime(format!("cannot write the plot to {}: {e}", a.out.display())))?;
    if a.json {
        let report = json!({
            "tool": "unipool sweep",
            "version": env!("CARGO_PKG_VERSION"),
            "backend": D::NAME,
            "url": target.display(),
            "query": query,
            "workers": workers,
            "duration_s": duration.as_secs_f64(),
            "warmup_s": warmup.as_secs_f64(),
            "knee_rule": format!("smallest pool size with throughput >= {} x the maximum", a.knee_threshold),
            "knee_pool_size": result.knee.map(|k| points[k].pool_size),
            "max_throughput": result.max_throughput,
            "plot": a.out.display().to_string(),
            "points": points,
        });
        println!("{}", serde_json::to_string_pretty(&report).expect("json"));
    } else {
        println!(
            "unipool sweep — {} ({}), {workers} workers, query: {query}",
            target.display(),
            D::NAME
        );
        print!("{}", sweep::table(&points, result.knee));
        println!();
        match result.knee {
            Some(k) => println!(
                "knee: pool_size {} — the smallest size reaching {:.0}% of the maximum throughput ({:.0} ops/s)",
                points[k].pool_size,
                a.knee_threshold * 100.0,
                result.max_throughput
            ),
            None => println!("knee: none (no pool size completed any operation)"),
        }
        if result.knee.is_some() && result.knee == points.len().checked_sub(1) && points.len() > 1 {
            println!("note: the knee is the largest size tried; throughput may still rise with larger pools (extend --sizes)");
        }
        println!("plot: {}", a.out.display());
    }
    if points.iter().all(|p| p.measured.ops == 0) {
        return Err(Fail::runtime("no operation succeeded at any pool size"));
    }
    Ok(())
}

// ---------------------------------------------------------------- size

fn is_local(url: &str) -> bool {
    if url.starts_with("sqlite") {
        return true;
    }
    match url::Url::parse(url) {
        Ok(u) => matches!(
            u.host_str(),
            Some("localhost") | Some("127.0.0.1") | Some("[::1]") | Some("::1") | None
        ),
        Err(_) => false,
    }
}

async fn cmd_size(a: SizeArgs) -> Result<(), Fail> {
    let url = if a.offline {
        None
    } else {
        a.url.clone().or_else(|| {
            std::env::var("DATABASE_URL")
                .ok()
                .filter(|u| !u.trim().is_empty())
        })
    };
    let resolved = resolve_config(&a.pool, url.as_deref())?;
    let mut i = size::SizeInputs {
        concurrency: a.concurrency,
        rps: a.rps,
        query_time: a.query_time.map(|d| d.as_secs_f64()),
        wait: 0.0,
        cores: a.cores,
        spindles: a.spindles,
        processes: a.processes,
        workers: a.workers,
        pool_size: resolved.config.pool_size as u64,
        max_overflow: resolved.config.max_overflow,
        max_connections: a.max_connections,
        reserved: a.reserved.unwrap_or(0),
        max_connections_source: a.max_connections.map(|_| "--max-connections".to_string()),
    };
    let mut from_note = None;
    if let Some(path) = &a.from {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Fail::usage(format!("cannot read --from {}: {e}", path.display())))?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            Fail::usage(format!(
                "--from {}: not a `unipool bench --json` report: {e}",
                path.display()
            ))
        })?;
        let bad = |what: &str| {
            Fail::usage(format!(
                "--from {}: missing {what} (expected a `unipool bench --json` report)",
                path.display()
            ))
        };
        let workers = v["workers"].as_f64().ok_or_else(|| bad("workers"))?;
        let thr = v["measured"]["throughput"]
            .as_f64()
            .ok_or_else(|| bad("measured.throughput"))?;
        let qt = v["measured"]["query_time"]["mean_ms"]
            .as_f64()
            .ok_or_else(|| bad("measured.query_time.mean_ms"))?;
        i.concurrency = i.concurrency.or(Some(workers));
        i.rps = i.rps.or(Some(thr));
        i.query_time = i.query_time.or(Some(qt / 1e3));
        let flag = |k: &str| resolved.source_of(k).kind() == "flag";
        if !flag("pool_size") {
            if let Some(p) = v["config"]["pool_size"]
                .as_str()
                .and_then(|s| s.parse().ok())
            {
                i.pool_size = p;
            }
        }
        if !flag("max_overflow") {
            if let Some(p) = v["config"]["max_overflow"]
                .as_str()
                .and_then(|s| s.parse().ok())
            {
                i.max_overflow = p;
            }
        }
        from_note = Some(format!(
            "measured by {}: {workers} workers, {thr:.0} ops/s, mean query time {qt:.3} ms",
            path.display()
        ));
    }
    i.wait = a
        .wait
        .map(|d| d.as_secs_f64())
        .or(i.query_time)
        .unwrap_or(0.0);
    let mut cores_note = None;
    // cores x 2 + spindles is a rule for SQL servers; Redis runs commands on one thread.
    let is_redis = url.as_deref().is_some_and(|u| u.starts_with("redis"));
    if i.cores.is_none() && !is_redis {
        let local = url.as_deref().map(is_local).unwrap_or(true);
        if local {
            let n = std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1);
            i.cores = Some(n as f64);
            cores_note = Some(format!("cores = {n}: this machine's, assuming the database runs here (give --cores otherwise)"));
        }
    }
    if i.max_connections.is_none() {
        if let Some(u) = &url {
            let backend = Backend::of_url(u).map_err(Fail::usage)?;
            let got = with_driver!(backend, max_connections_of(u));
            match got {
                Ok(Some((max, reserved))) => {
                    i.max_connections = Some(max);
                    if a.reserved.is_none() {
                        i.reserved = reserved;
                    }
                    i.max_connections_source = Some(format!("server {}", config::mask(u)));
                }
                Ok(None) => {}
                Err(e) => {
                    return Err(Fail::runtime(format!(
                        "cannot read max_connections from {}: {e} (give --max-connections or --offline)",
                        config::mask(u)
                    )))
                }
            }
        }
    }
    let r = size::report(&i);
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "tool": "unipool size",
                "inputs": {
                    "concurrency": i.concurrency, "rps": i.rps, "query_time_s": i.query_time, "acceptable_wait_s": i.wait,
                    "cores": i.cores, "spindles": i.spindles,
                },
                "report": r,
            }))
            .expect("json")
        );
    } else {
        println!("unipool size");
        for n in from_note.iter().chain(cores_note.iter()) {
            println!("  {n}");
        }
        println!();
        for rule in &r.rules {
            println!("  {:<24} {}", rule.name, rule.formula);
            println!(
                "  {:<24} -> {} ({})",
                "",
                rule.pool_size.map_or("-".to_string(), |p| p.to_string()),
                rule.detail
            );
        }
        let b = &r.budget;
        println!();
        println!(
            "  budget                   processes x workers x (pool_size + max_overflow) = {} x {} x ({} + {}) = {}",
            b.processes,
            b.workers,
            b.pool_size,
            b.max_overflow,
            b.total.map_or("unbounded".to_string(), |t| t.to_string())
        );
        match (b.max_connections, b.usable) {
            (Some(m), Some(u)) => println!(
                "  max_connections          {m} ({}), {} reserved -> {u} usable; headroom {}: {}",
                b.source.as_deref().unwrap_or("?"),
                b.reserved,
                b.headroom.map_or("-".to_string(), |h| h.to_string()),
                if b.ok == Some(true) { "OK" } else { "OVER BUDGET" }
            ),
            _ => println!("  max_connections          unknown (give --url or --max-connections to check the budget)"),
        }
        println!();
        match r.recommended_pool_size {
            Some(p) => println!("recommended pool size per pool: {p}"),
            None => println!("recommended pool size per pool: - (give --query-time with --concurrency or --rps, or --cores)"),
        }
        for n in &r.notes {
            println!("note: {n}");
        }
    }
    if a.check && r.budget.ok == Some(false) {
        return Err(Fail {
            code: 3,
            text: "error: the pools can open more connections than the server allows\n".into(),
        });
    }
    Ok(())
}

async fn max_connections_of<D: Driver>(url: &str) -> Result<Option<(u64, u64)>, String> {
    workload::server_max_connections::<D>(url).await
}

// ---------------------------------------------------------------- config

fn cmd_config(a: ConfigArgs) -> Result<(), Fail> {
    if a.keys {
        println!(
            "{:<34} {:<28} {:<13} ORIGIN",
            "SPELLING", "CANONICAL", "UNIT"
        );
        for (s, c, u, o) in unipool::PoolConfig::spellings() {
            println!(
                "{s:<34} {c:<28} {:<13} {o}",
                if u.is_empty() { "-" } else { u }
            );
        }
        return Ok(());
    }
    let (url, source) = find_url(&a.conn, &a.pool)?;
    let inputs = Inputs::gather(&a.pool, url.as_deref())?;
    let resolved = config::resolve(&inputs)?;
    let backend = match &url {
        Some(u) => Backend::of_url(u)
            .map_err(|e| Fail::usage(format!("{e} (URL from {source})")))?
            .name(),
        None => "sqlite",
    };
    let shown_url = url
        .as_deref()
        .map(config::mask)
        .unwrap_or_else(|| "(embedded SQLite in a temporary file)".into());
    if a.json {
        let rows: Vec<_> = resolved
            .rows()
            .into_iter()
            .map(|(k, v, s)| json!({"key": k, "value": v, "source": s}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "url": shown_url, "url_source": source.to_string(), "backend": backend,
                "precedence": ["default", "profile", "toml", "env", "url", "flags"],
                "url_pool_params": resolved.url_pool_params.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
                "config": rows,
            }))
            .expect("json")
        );
        return Ok(());
    }
    println!("url:     {shown_url}");
    println!("         from {source}; backend {backend}");
    if !resolved.url_pool_params.is_empty() {
        let p: Vec<String> = resolved
            .url_pool_params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        println!(
            "         pool parameters in the URL (taken by the pool, not sent to the driver): {}",
            p.join(" ")
        );
    }
    println!("precedence (lowest first): default < profile < toml < env < url < --pool-size/--max-overflow/--set");
    println!();
    println!("{:<28} {:<12} SOURCE", "KEY", "VALUE");
    for (k, v, s) in resolved.rows() {
        println!("{k:<28} {v:<12} {s}");
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Config(a) => cmd_config(a),
        Cmd::Bench(a) => runtime().block_on(cmd_bench(a)),
        Cmd::Sweep(a) => runtime().block_on(cmd_sweep(a)),
        Cmd::Size(a) => runtime().block_on(cmd_size(a)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprint!("{}", f.text);
            ExitCode::from(f.code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1.5m").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("-1s").unwrap_err().contains("'-1s'"));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn cli_parses() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
        let c = Cli::try_parse_from([
            "unipool",
            "bench",
            "--workers",
            "4",
            "--set",
            "pool_timeout=1s",
            "--max-overflow",
            "-1",
        ])
        .unwrap();
        match c.cmd {
            Cmd::Bench(b) => {
                assert_eq!(b.load.workers, Some(4));
                assert_eq!(b.pool.max_overflow, Some(-1));
                assert_eq!(b.pool.set, vec!["pool_timeout=1s"]);
            }
            _ => panic!("expected bench"),
        }
    }

    #[test]
    fn locality() {
        assert!(is_local("postgres://postgres@127.0.0.1:5432/test"));
        assert!(is_local("sqlite::memory:"));
        assert!(!is_local("postgres://db.example.com/x"));
    }
}
