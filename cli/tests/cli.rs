//! End-to-end tests: run the `unipool` binary against the embedded SQLite
//! database and the real servers of this machine (PostgreSQL, MariaDB,
//! Redis). A missing server is a failure when CI=true; elsewhere the test
//! says what is missing and returns.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_unipool"));
    // Tests control the environment: no stray pool settings or URL.
    for (k, _) in std::env::vars() {
        if k.starts_with("DB_") || k == "DATABASE_URL" {
            c.env_remove(k);
        }
    }
    c
}

fn run(c: &mut Command) -> Output {
    c.output().expect("run unipool")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn ok(c: &mut Command) -> (String, String) {
    let o = run(c);
    let (out, err) = text(&o);
    assert!(
        o.status.success(),
        "unipool failed ({:?})\nstdout:\n{out}\nstderr:\n{err}",
        o.status
    );
    (out, err)
}

fn json_of(c: &mut Command) -> Value {
    let (out, err) = ok(c);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}\nstderr:\n{err}"))
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("unipool-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// URL of a server from `var` (default `default`), if it accepts TCP connections.
fn server(var: &str, default: &str, what: &str) -> Option<String> {
    let url = std::env::var(var)
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| default.to_string());
    let parsed = url::Url::parse(&url).unwrap_or_else(|e| panic!("{var}={url} is not a URL: {e}"));
    let host = parsed.host_str().unwrap_or("127.0.0.1").to_string();
    let port = parsed
        .port_or_known_default()
        .unwrap_or(match parsed.scheme() {
            "postgres" | "postgresql" => 5432,
            "mysql" | "mariadb" => 3306,
            _ => 6379,
        });
    let reachable = (host.as_str(), port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .map(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok())
        .unwrap_or(false);
    if reachable {
        return Some(url);
    }
    let msg = format!("{what} is not reachable at {host}:{port} (set {var} or start the server)");
    if std::env::var("CI")
        .map(|v| v == "true" || v == "1")
        .unwrap_or(false)
    {
        panic!("{msg}; CI=true requires it");
    }
    eprintln!("NOT RUN: {msg}");
    None
}

fn pg() -> Option<String> {
    server(
        "DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/test",
        "PostgreSQL",
    )
}
fn mysql() -> Option<String> {
    server(
        "MYSQL_URL",
        "mysql://root@127.0.0.1:3306/test",
        "MariaDB/MySQL",
    )
}
fn redis() -> Option<String> {
    // redis-rs's default response timeout (0.5 s) is shorter than the stalls a
    // 2-core CI machine busy compiling can produce; these tests check the tool,
    // not the machine's latency.
    server("REDIS_URL", "redis://127.0.0.1:6379", "Redis").map(|u| {
        let sep = if u.contains('?') { '&' } else { '?' };
        format!("{u}{sep}response_timeout=10")
    })
}

fn quick_bench() -> Command {
    let mut c = bin();
    c.args([
        "bench",
        "--duration",
        "700ms",
        "--warmup",
        "100ms",
        "--workers",
        "4",
        "--json",
        "--quiet",
    ]);
    c
}

fn check_bench_report(v: &Value, backend: &str) {
    assert_eq!(v["backend"], backend, "{v:#}");
    let m = &v["measured"];
    let ops = m["ops"].as_u64().unwrap();
    assert!(ops > 0, "no ops: {v:#}");
    assert_eq!(m["errors"], 0, "errors: {:#}\n{v:#}", m["error_messages"]);
    assert_eq!(
        m["timeouts"], 0,
        "timeouts: {:#}\n{v:#}",
        m["error_messages"]
    );
    let thr = m["throughput"].as_f64().unwrap();
    let elapsed = m["elapsed_s"].as_f64().unwrap();
    assert!(
        (thr * elapsed - ops as f64).abs() < 1.0,
        "throughput x elapsed != ops: {v:#}"
    );
    let lat = &m["latency"];
    assert_eq!(lat["count"].as_u64().unwrap(), ops);
    let (p50, p95, p99, max) = (
        lat["p50_ms"].as_f64().unwrap(),
        lat["p95_ms"].as_f64().unwrap(),
        lat["p99_ms"].as_f64().unwrap(),
        lat["max_ms"].as_f64().unwrap(),
    );
    assert!(
        0.0 < p50 && p50 <= p95 && p95 <= p99 && p99 <= max,
        "{lat:#}"
    );
    // acquire wait is part of latency
    assert!(
        m["acquire_wait"]["p50_ms"].as_f64().unwrap() <= p99,
        "{m:#}"
    );
    // the pool saw at least every measured checkout, and never exceeded its max
    let pool = &v["pool"];
    assert!(pool["acquired"].as_u64().unwrap() >= ops, "{pool:#}");
    let max_open: u64 = v["config"]["max_size"].as_str().unwrap().parse().unwrap();
    assert!(pool["created"].as_u64().unwrap() >= 1);
    assert!(pool["open"].as_u64().unwrap() <= max_open, "{pool:#}");
    assert!(
        v["metrics_text"].as_str().unwrap().contains("# TYPE"),
        "metrics text missing"
    );
}

// ------------------------------------------------------------------ SQLite

#[test]
fn bench_embedded_sqlite_json() {
    let v = json_of(quick_bench().arg("--embedded"));
    check_bench_report(&v, "sqlite");
    assert_eq!(v["query"], "SELECT 1");
    assert!(v["url_source"].as_str().unwrap().contains("embedded"));
    assert_eq!(v["workers"], 4);
}

#[test]
fn bench_without_url_uses_embedded_sqlite_and_removes_it() {
    // The README's main job: no --url, no DATABASE_URL (bin() removes it), no server.
    let v = json_of(&mut quick_bench());
    check_bench_report(&v, "sqlite");
    let url = v["url"].as_str().unwrap();
    let path = url
        .split("sqlite://")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap();
    assert!(path.ends_with(".db"), "{url}");
    assert!(
        !std::path::Path::new(path).exists(),
        "temporary database {path} was not removed"
    );
}

#[test]
fn bench_embedded_seeded_table_and_text_output() {
    let (out, err) = ok(bin().args([
        "bench",
        "--embedded",
        "--duration",
        "500ms",
        "--warmup",
        "0",
        "--workers",
        "3",
        "--pool-size",
        "2",
        "--max-overflow",
        "0",
        "--metrics",
        "--progress-interval",
        "100ms",
        "--query",
        "SELECT name, price FROM items WHERE id = 7",
    ]));
    for needle in [
        "throughput",
        "latency",
        "p50",
        "p95",
        "p99",
        "acquire wait",
        "timeouts",
        "errors",
        "pool status:",
        "pool_size=2 max_overflow=0",
    ] {
        assert!(out.contains(needle), "missing '{needle}' in:\n{out}");
    }
    assert!(
        out.contains("# TYPE"),
        "--metrics should print Prometheus text:\n{out}"
    );
    // stderr is not a terminal here: plain progress lines
    assert!(
        err.contains("progress ["),
        "expected progress lines on stderr:\n{err}"
    );
}

#[test]
fn bench_counts_pool_timeouts() {
    // One connection, a query of ~100+ ms, a 20 ms pool_timeout and 4 workers: most acquires time out.
    let slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000) SELECT count(*) FROM c";
    let o = run(bin().args([
        "bench",
        "--embedded",
        "--duration",
        "1s",
        "--warmup",
        "0",
        "--workers",
        "4",
        "--pool-size",
        "1",
        "--max-overflow",
        "0",
        "--set",
        "pool_timeout=20ms",
        "--json",
        "--quiet",
        "--query",
        slow,
    ]));
    let (out, err) = text(&o);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}\n{out}\n{err}"));
    let m = &v["measured"];
    assert!(m["timeouts"].as_u64().unwrap() > 0, "{m:#}");
    assert_eq!(m["errors"], 0, "{m:#}");
    assert!(v["pool"]["timeouts"].as_u64().unwrap() >= m["timeouts"].as_u64().unwrap());
    assert!(v["pool"]["open"].as_u64().unwrap() <= 1);
    assert!(
        m["error_messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "timeout"),
        "{m:#}"
    );
}

#[test]
fn bench_bad_query_fails_with_the_driver_message() {
    let o = run(bin().args([
        "bench",
        "--embedded",
        "--duration",
        "1s",
        "--quiet",
        "--query",
        "SELEC nonsense",
    ]));
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("first query failed") && err.contains("syntax"),
        "{err}"
    );
}

#[test]
fn bench_unreachable_server_fails_without_leaking_the_password() {
    let o = run(bin().args([
        "bench",
        "--url",
        "postgres://app:sekrit@127.0.0.1:1/db",
        "--duration",
        "1s",
        "--quiet",
        "--set",
        "connect_timeout=2s",
        "--set",
        "pool_timeout=2s",
    ]));
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(err.contains("127.0.0.1:1"), "{err}");
    assert!(
        !out.contains("sekrit") && !err.contains("sekrit"),
        "{out}{err}"
    );
}

#[test]
fn bench_rejects_unknown_scheme_and_bad_settings() {
    let o = run(bin().args(["bench", "--url", "oracle://x/y", "--quiet"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("unsupported URL scheme 'oracle'"));
    let o = run(bin().args([
        "bench",
        "--embedded",
        "--set",
        "pool_timeout=soon",
        "--quiet",
    ]));
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o).1;
    assert!(
        err.contains("pool_timeout")
            && err.contains("soon")
            && err.contains("--set pool_timeout=soon"),
        "{err}"
    );
}

#[test]
fn sweep_embedded_writes_svg_with_knee() {
    let svg = tmp("sweep.svg");
    let v = json_of(
        bin()
            .args([
                "sweep",
                "--embedded",
                "--sizes",
                "1,2,4",
                "--workers",
                "8",
                "--duration",
                "400ms",
                "--warmup",
                "100ms",
                "--json",
                "--quiet",
                "--out",
            ])
            .arg(&svg),
    );
    let points = v["points"].as_array().unwrap();
    assert_eq!(points.len(), 3);
    let sizes: Vec<u64> = points
        .iter()
        .map(|p| p["pool_size"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, vec![1, 2, 4]);
    for p in points {
        assert!(p["measured"]["ops"].as_u64().unwrap() > 0, "{p:#}");
        assert_eq!(p["max_overflow"], 0);
        // the pool never opened more than its size
        assert!(
            p["pool"]["open"].as_u64().unwrap() <= p["pool_size"].as_u64().unwrap(),
            "{p:#}"
        );
    }
    // knee = smallest size with >= 95% of max throughput, recomputed here
    let thr: Vec<f64> = points
        .iter()
        .map(|p| p["measured"]["throughput"].as_f64().unwrap())
        .collect();
    let max = thr.iter().cloned().fold(0.0, f64::max);
    let expect = sizes
        .iter()
        .zip(&thr)
        .find(|(_, t)| **t >= 0.95 * max)
        .map(|(s, _)| *s)
        .unwrap();
    assert_eq!(v["knee_pool_size"].as_u64(), Some(expect));
    let body = std::fs::read_to_string(&svg).unwrap();
    assert!(body.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(body.trim_end().ends_with("</svg>"));
    assert!(
        body.contains(&format!("knee: pool size {expect} ")),
        "knee label missing"
    );
    assert!(body.contains("class=\"throughput\"") && body.contains("class=\"p99\""));
}

#[test]
fn sweep_text_table_and_bad_sizes() {
    let svg = tmp("sweep2.svg");
    let (out, _) = ok(bin()
        .args([
            "sweep",
            "--embedded",
            "--sizes",
            "1..2",
            "--workers",
            "2",
            "--duration",
            "200ms",
            "--warmup",
            "0",
            "--quiet",
            "--out",
        ])
        .arg(&svg));
    assert!(
        out.contains("pool_size") && out.contains("<- knee") && out.contains("plot:"),
        "{out}"
    );
    let o = run(bin().args(["sweep", "--embedded", "--sizes", "4..1"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("'4..1'"));
}

// ------------------------------------------------------------------ size

#[test]
fn size_littles_law_and_budget() {
    let v = json_of(bin().args([
        "size",
        "--offline",
        "--concurrency",
        "64",
        "--query-time",
        "1ms",
        "--wait",
        "3ms",
        "--json",
    ]));
    assert_eq!(v["report"]["recommended_pool_size"], 16, "{v:#}");
    let o = run(bin().args([
        "size",
        "--offline",
        "--processes",
        "4",
        "--workers",
        "4",
        "--pool-size",
        "5",
        "--max-overflow",
        "10",
        "--max-connections",
        "100",
        "--check",
    ]));
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(3), "{out}");
    assert!(
        out.contains("= 240") && out.contains("OVER BUDGET"),
        "{out}"
    );
    let (out, _) = ok(bin().args([
        "size",
        "--offline",
        "--processes",
        "2",
        "--workers",
        "2",
        "--pool-size",
        "5",
        "--max-overflow",
        "5",
        "--max-connections",
        "100",
        "--check",
    ]));
    assert!(out.contains("= 40") && out.contains("OK"), "{out}");
}

#[test]
fn size_from_bench_json() {
    let report = tmp("bench.json");
    let (out, _) = ok(quick_bench().arg("--embedded"));
    std::fs::write(&report, &out).unwrap();
    let bench: Value = serde_json::from_str(&out).unwrap();
    let v = json_of(
        bin()
            .args(["size", "--offline", "--json", "--from"])
            .arg(&report),
    );
    let inputs = &v["inputs"];
    assert_eq!(inputs["concurrency"], 4.0);
    let qt = bench["measured"]["query_time"]["mean_ms"].as_f64().unwrap() / 1e3;
    assert!((inputs["query_time_s"].as_f64().unwrap() - qt).abs() < 1e-12);
    assert!(
        v["report"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "erlang_c"),
        "{v:#}"
    );
    // a file that is not a bench report is refused with the reason
    std::fs::write(&report, "{}").unwrap();
    let o = run(bin().args(["size", "--offline", "--from"]).arg(&report));
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("missing workers"));
}

// ------------------------------------------------------------------ config

#[test]
fn config_shows_sources_and_masks_password() {
    let toml = tmp("pool.toml");
    std::fs::write(
        &toml,
        "[database.pool]\npool_size = 7\npool_recycle = 1800\n",
    )
    .unwrap();
    let (out, _) = ok(bin()
        .env("DB_POOL_TIMEOUT", "4s")
        .args([
            "config",
            "--profile",
            "production",
            "--url",
            "postgres://alice:s3cret@db.example/app?max_overflow=2&sslmode=require",
            "--set",
            "use_lifo=true",
            "--toml",
        ])
        .arg(&toml));
    assert!(!out.contains("s3cret"), "{out}");
    assert!(out.contains("alice:***@db.example"), "{out}");
    let row = |k: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("{k} ")))
            .unwrap_or_else(|| panic!("no {k} row:\n{out}"))
            .to_string()
    };
    assert!(
        row("pool_size").contains(" 7 ") && row("pool_size").contains("toml"),
        "{}",
        row("pool_size")
    );
    assert!(
        row("max_overflow").contains(" 2 ") && row("max_overflow").contains("url ?max_overflow")
    );
    assert!(
        row("pool_timeout").contains(" 4 ") && row("pool_timeout").contains("env DB_POOL_TIMEOUT")
    );
    assert!(row("use_lifo").contains("true") && row("use_lifo").contains("--set use_lifo=true"));
    assert!(
        row("min_idle").contains("profile production"),
        "{}",
        row("min_idle")
    );
    assert!(row("lifetime_jitter").contains("default"));
}

#[test]
fn config_takes_the_url_from_toml() {
    let toml = tmp("url.toml");
    std::fs::write(
        &toml,
        "[database]\nurl = \"mysql://app:pa55word@db.internal:3306/shop?pool_size=4\"\n",
    )
    .unwrap();
    let (out, _) = ok(bin().arg("config").arg("--toml").arg(&toml));
    assert!(
        out.contains("mysql://app:***@db.internal:3306/shop"),
        "{out}"
    );
    assert!(!out.contains("pa55word"), "{out}");
    assert!(
        out.contains("[database] url") && out.contains("backend mysql"),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.starts_with("pool_size ")
            && l.contains(" 4 ")
            && l.contains("url ?pool_size")),
        "{out}"
    );
    // --url and DATABASE_URL win over the file
    let (out, _) = ok(bin()
        .env("DATABASE_URL", "redis://127.0.0.1:6379")
        .arg("config")
        .arg("--toml")
        .arg(&toml));
    assert!(
        out.contains("from env DATABASE_URL") && out.contains("backend redis"),
        "{out}"
    );
}

#[test]
fn config_json_and_keys() {
    let v = json_of(
        bin()
            .env("DB_POOL_SIZE", "9")
            .args(["config", "--embedded", "--json"]),
    );
    let rows = v["config"].as_array().unwrap();
    let ps = rows.iter().find(|r| r["key"] == "pool_size").unwrap();
    assert_eq!(ps["value"], "9");
    assert_eq!(ps["source"], "env DB_POOL_SIZE");
    let v = json_of(bin().env("DB_POOL_SIZE", "9").args([
        "config",
        "--embedded",
        "--json",
        "--no-env",
    ]));
    let ps = v["config"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "pool_size")
        .unwrap()
        .clone();
    assert_eq!(ps["value"], "5");
    let (out, _) = ok(bin().args(["config", "--keys"]));
    assert!(
        out.contains("idleTimeoutMillis") || out.contains("idle_timeout_millis"),
        "{out}"
    );
    assert!(out.contains("maximum_pool_size"));
}

#[test]
fn config_errors_explain_key_value_range_and_fix() {
    let o = run(bin()
        .env("DB_POOL_SIZE", "-3")
        .args(["config", "--embedded"]));
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("DB_POOL_SIZE") && err.contains("-3") && err.contains("from 0 to"),
        "{err}"
    );
    assert!(
        err.contains("fix:") && err.contains("unset the environment variable DB_POOL_SIZE"),
        "{err}"
    );

    let o = run(bin().args([
        "config",
        "--url",
        "postgres://u:pw1234@h/db?pool_timeout=forever",
    ]));
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.contains("pool_timeout") && err.contains("forever") && !err.contains("pw1234"),
        "{err}"
    );

    let o = run(bin().args(["config", "--embedded", "--set", "min_idle=50"]));
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.contains("min_idle") && err.contains("50") && err.contains("--set min_idle=50"),
        "{err}"
    );

    let o = run(bin().args(["config", "--embedded", "--profile", "gigantic"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("production"));
}

// ------------------------------------------------------------------ real servers

#[test]
fn postgres_bench_json_and_password_masked() {
    let Some(url) = pg() else { return };
    // Trust auth ignores the password, so a fake one lets us check masking on a working run.
    let with_pw = url.replacen("postgres://postgres@", "postgres://postgres:hunter22@", 1);
    let o = run(quick_bench().args(["--metrics", "--url", &with_pw]));
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(!out.contains("hunter22") && !err.contains("hunter22"));
    let v: Value = serde_json::from_str(&out).unwrap();
    check_bench_report(&v, "postgres");
}

#[test]
fn postgres_bench_uses_database_url_and_slow_queries_queue() {
    let Some(url) = pg() else { return };
    let v = json_of(bin().env("DATABASE_URL", &url).args([
        "bench",
        "--duration",
        "1s",
        "--warmup",
        "0",
        "--workers",
        "8",
        "--pool-size",
        "2",
        "--max-overflow",
        "0",
        "--query",
        "SELECT pg_sleep(0.05), 1",
        "--json",
        "--quiet",
    ]));
    assert_eq!(v["backend"], "postgres");
    assert_eq!(v["url_source"], "env DATABASE_URL");
    let m = &v["measured"];
    assert_eq!(m["errors"], 0, "{m:#}");
    // 2 connections, 50 ms queries: at most ~40 ops/s; 8 workers must wait for a connection.
    assert!(m["throughput"].as_f64().unwrap() < 45.0, "{m:#}");
    assert!(
        m["acquire_wait"]["p50_ms"].as_f64().unwrap() > 20.0,
        "{m:#}"
    );
    assert!(m["query_time"]["p50_ms"].as_f64().unwrap() >= 50.0, "{m:#}");
    assert!(v["pool"]["open"].as_u64().unwrap() <= 2);
}

#[test]
fn postgres_size_reads_max_connections() {
    let Some(url) = pg() else { return };
    let v = json_of(bin().args([
        "size",
        "--url",
        &url,
        "--pool-size",
        "5",
        "--max-overflow",
        "10",
        "--json",
    ]));
    let b = &v["report"]["budget"];
    let max = b["max_connections"]
        .as_u64()
        .expect("max_connections read from the server");
    assert!(max > 0);
    assert!(
        b["source"].as_str().unwrap().starts_with("server "),
        "{b:#}"
    );
    if let Ok(o) = Command::new("psql")
        .args([url.as_str(), "-Atc", "SHOW max_connections"])
        .output()
    {
        if o.status.success() {
            let expect: u64 = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap();
            assert_eq!(max, expect);
        }
    }
    assert_eq!(b["total"], 15);
}

#[test]
fn postgres_url_pool_params_configure_the_pool() {
    let Some(url) = pg() else { return };
    let sep = if url.contains('?') { '&' } else { '?' };
    let v = json_of(quick_bench().args([
        "--url",
        &format!("{url}{sep}pool_size=2&max_overflow=0&application_name=unipool-cli-test"),
    ]));
    check_bench_report(&v, "postgres");
    assert_eq!(v["config"]["pool_size"], "2");
    assert_eq!(v["config_sources"]["pool_size"], "url ?pool_size");
    assert!(v["pool"]["open"].as_u64().unwrap() <= 2);
    assert_eq!(v["pool"]["created"], 2, "{:#}", v["pool"]);
}

#[test]
fn postgres_sweep() {
    let Some(url) = pg() else { return };
    let svg = tmp("pg-sweep.svg");
    let v = json_of(
        bin()
            .args([
                "sweep",
                "--url",
                &url,
                "--sizes",
                "1,4",
                "--workers",
                "8",
                "--duration",
                "400ms",
                "--warmup",
                "100ms",
                "--json",
                "--quiet",
                "--out",
            ])
            .arg(&svg),
    );
    assert_eq!(v["points"].as_array().unwrap().len(), 2);
    assert!(v["knee_pool_size"].as_u64().is_some());
    assert!(std::fs::read_to_string(&svg)
        .unwrap()
        .contains("knee: pool size"));
}

#[test]
fn mysql_bench_and_size() {
    let Some(url) = mysql() else { return };
    let v = json_of(quick_bench().args(["--url", &url]));
    check_bench_report(&v, "mysql");
    let v = json_of(bin().args(["size", "--url", &url, "--json"]));
    assert!(
        v["report"]["budget"]["max_connections"].as_u64().unwrap() > 0,
        "{v:#}"
    );
}

#[test]
fn redis_bench_and_size() {
    let Some(url) = redis() else { return };
    let v = json_of(quick_bench().args(["--url", &url]));
    check_bench_report(&v, "redis");
    assert_eq!(v["query"], "PING");
    let v = json_of(quick_bench().args(["--url", &url, "--query", "SET unipool:cli:test 1"]));
    assert_eq!(v["measured"]["errors"], 0);
    let v = json_of(bin().args(["size", "--url", &url, "--json"]));
    assert!(
        v["report"]["budget"]["max_connections"].as_u64().unwrap() > 0,
        "{v:#}"
    );
}
