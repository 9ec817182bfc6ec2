//! Runs every scenario in `tests/conformance/` through the Rust `RawPool`.
//! The format is described in `tests/conformance/FORMAT.md`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use unipool::{Checkout, Clock, Error, ErrorKind, Grant, PoolConfig, RawPool, WaitHandle};

type Outcome = Arc<Mutex<Option<Result<Grant<String>, Error>>>>;

struct Runner {
    pool: RawPool<String>,
    clock: Clock,
    created: usize,
    held: HashMap<String, Checkout<String>>,
    waits: HashMap<String, (Outcome, Option<WaitHandle<String>>)>,
    file: String,
    step: usize,
}

fn value(v: &toml::Value) -> unipool::ConfigValue {
    match v {
        toml::Value::String(s) => s.as_str().into(),
        toml::Value::Integer(i) => (*i).into(),
        toml::Value::Float(f) => (*f).into(),
        toml::Value::Boolean(b) => (*b).into(),
        other => panic!("unsupported config value {other}"),
    }
}

fn secs(v: Option<&toml::Value>, default: f64) -> Duration {
    let s = match v {
        None => default,
        Some(toml::Value::Integer(i)) => *i as f64,
        Some(toml::Value::Float(f)) => *f,
        Some(other) => panic!("expected seconds, got {other}"),
    };
    Duration::from_secs_f64(s)
}

impl Runner {
    fn fail(&self, msg: impl std::fmt::Display) -> ! {
        panic!("{} step {}: {msg}", self.file, self.step + 1)
    }

    fn new_conn(&mut self) -> String {
        self.created += 1;
        format!("c{}", self.created)
    }

    /// Turns a grant into a held connection, creating one for a permit.
    fn settle(&mut self, g: Grant<String>, connect_fails: bool) -> Result<Checkout<String>, Error> {
        match g {
            Grant::Idle(c) => Ok(c),
            Grant::Create(p) if connect_fails => {
                let e = Error::new(ErrorKind::ConnectFailed, "scenario connect failure");
                p.fail(e.clone());
                Err(e)
            }
            Grant::Create(p) => {
                let name = self.new_conn();
                Ok(p.fulfill(name))
            }
        }
    }

    fn check_conn(&self, step: &toml::Table, c: &Checkout<String>) {
        if let Some(want) = step.get("expect_conn").and_then(|v| v.as_str()) {
            if c.conn() != want {
                self.fail(format!("expected connection {want}, got {}", c.conn()));
            }
        }
        if let Some(want) = step.get("expect_new").and_then(|v| v.as_bool()) {
            if c.is_new() != want {
                self.fail(format!("expected is_new = {want}"));
            }
        }
        if let Some(want) = step.get("expect_needs_ping").and_then(|v| v.as_bool()) {
            if c.needs_ping() != want {
                self.fail(format!("expected needs_ping = {want}"));
            }
        }
    }

    fn wait_state(&mut self, name: &str) -> String {
        let outcome = self.waits.get(name).unwrap_or_else(|| self.fail(format!("no wait named {name}"))).0.clone();
        let taken = outcome.lock().unwrap().take();
        match taken {
            None if self.held.contains_key(name) => "served".into(),
            None => "waiting".into(),
            Some(Err(e)) => {
                // keep the error visible for later checks
                let s = format!("error:{}", e.kind().as_str());
                *outcome.lock().unwrap() = Some(Err(e));
                s
            }
            Some(Ok(g)) => match self.settle(g, false) {
                Ok(c) => {
                    self.held.insert(name.to_string(), c);
                    "served".into()
                }
                Err(e) => format!("error:{}", e.kind().as_str()),
            },
        }
    }

    fn run_step(&mut self, step: &toml::Table) {
        let expect_state = step.get("expect_state").and_then(|v| v.as_str());
        if let Some(h) = step.get("acquire").and_then(|v| v.as_str()) {
            let timeout = secs(step.get("timeout"), 0.0);
            let fails = step.get("connect_fails").and_then(|v| v.as_bool()).unwrap_or(false);
            let r = self.pool.acquire_blocking(Some(timeout)).and_then(|g| self.settle(g, fails));
            match (r, step.get("expect_error").and_then(|v| v.as_str())) {
                (Ok(c), None) => {
                    self.check_conn(step, &c);
                    self.held.insert(h.to_string(), c);
                }
                (Ok(c), Some(kind)) => self.fail(format!("expected error {kind}, got connection {}", c.conn())),
                (Err(e), Some(kind)) if e.kind().as_str() == kind => {}
                (Err(e), _) => self.fail(format!("unexpected error: {e}")),
            }
        } else if let Some(h) = step.get("release").and_then(|v| v.as_str()) {
            let c = self.held.remove(h).unwrap_or_else(|| self.fail(format!("nothing held as {h}")));
            let closed = c.release().map(|(_, r)| r.as_str().to_string()).unwrap_or_else(|| "none".into());
            if let Some(want) = step.get("expect_closed").and_then(|v| v.as_str()) {
                if closed != want {
                    self.fail(format!("expected closed = {want}, got {closed}"));
                }
            }
        } else if let Some(h) = step.get("invalidate").and_then(|v| v.as_str()) {
            let c = self.held.remove(h).unwrap_or_else(|| self.fail(format!("nothing held as {h}")));
            c.invalidate();
        } else if let Some(w) = step.get("wait").and_then(|v| v.as_str()) {
            let timeout = secs(step.get("timeout"), 10.0);
            let outcome: Outcome = Arc::new(Mutex::new(None));
            let o = outcome.clone();
            let handle = self.pool.acquire_callback(Some(timeout), move |r| *o.lock().unwrap() = Some(r));
            self.waits.insert(w.to_string(), (outcome, Some(handle)));
            if let Some(want) = expect_state {
                let got = self.wait_state(w);
                if got != want {
                    self.fail(format!("expected {w} {want}, got {got}"));
                }
            }
        } else if let Some(w) = step.get("check").and_then(|v| v.as_str()) {
            let got = self.wait_state(w);
            if let Some(want) = expect_state {
                if got != want {
                    self.fail(format!("expected {w} {want}, got {got}"));
                }
            }
            if let Some(c) = self.held.get(w) {
                self.check_conn(step, c);
            }
        } else if let Some(w) = step.get("cancel").and_then(|v| v.as_str()) {
            let (_, handle) = self.waits.get_mut(w).unwrap_or_else(|| panic!("no wait {w}"));
            let cancelled = handle.take().map(|h| h.cancel()).unwrap_or(false);
            let got = if cancelled { "cancelled" } else { "answered" };
            if let Some(want) = expect_state {
                if got != want {
                    self.fail(format!("expected {w} {want}, got {got}"));
                }
            }
        } else if step.contains_key("sleep") {
            std::thread::sleep(secs(step.get("sleep"), 0.0));
        } else if step.contains_key("advance") {
            self.clock.advance(secs(step.get("advance"), 0.0)).unwrap();
        } else if step.contains_key("maintain") {
            let m = self.pool.maintain();
            let mut reasons: Vec<String> = m.to_close.iter().map(|(_, r)| r.as_str().to_string()).collect();
            let creates = m.to_create.len();
            let leaks = m.leaks.len();
            for p in m.to_create {
                let name = self.new_conn();
                assert!(p.fulfill_idle(name).is_none());
            }
            if let Some(want) = step.get("expect_closed_reasons").and_then(|v| v.as_array()) {
                let mut want: Vec<String> = want.iter().map(|v| v.as_str().unwrap().to_string()).collect();
                want.sort();
                reasons.sort();
                if want != reasons {
                    self.fail(format!("expected closed {want:?}, got {reasons:?}"));
                }
            }
            if let Some(want) = step.get("expect_creates").and_then(|v| v.as_integer()) {
                if want as usize != creates {
                    self.fail(format!("expected {want} creates, got {creates}"));
                }
            }
            if let Some(want) = step.get("expect_leaks").and_then(|v| v.as_integer()) {
                if want as usize != leaks {
                    self.fail(format!("expected {want} leaks, got {leaks}"));
                }
            }
        } else if step.contains_key("dispose") || step.contains_key("resize") || step.contains_key("close") {
            let n = if step.contains_key("dispose") {
                self.pool.dispose().len()
            } else if let Some(r) = step.get("resize").and_then(|v| v.as_table()) {
                let ps = r.get("pool_size").and_then(|v| v.as_integer()).expect("pool_size") as usize;
                let mo = r.get("max_overflow").and_then(|v| v.as_integer()).expect("max_overflow");
                self.pool.resize(ps, mo).unwrap_or_else(|e| self.fail(e)).len()
            } else {
                self.pool.close().len()
            };
            if let Some(want) = step.get("expect_closed_count").and_then(|v| v.as_integer()) {
                if want as usize != n {
                    self.fail(format!("expected {want} closed, got {n}"));
                }
            }
        } else if step.contains_key("pause") {
            self.pool.pause();
        } else if step.contains_key("resume") {
            self.pool.resume();
        } else if step.contains_key("status") {
            let s = self.pool.status();
            let want = step.get("expect_status").and_then(|v| v.as_table()).cloned().unwrap_or_default();
            for (k, v) in want {
                let got: i64 = match k.as_str() {
                    "open" => s.open as i64,
                    "idle" => s.idle as i64,
                    "in_use" => s.in_use as i64,
                    "pending" => s.pending as i64,
                    "waiting" => s.waiting as i64,
                    "max" => s.max.map_or(-1, |m| m as i64),
                    "overflow" => s.overflow,
                    "generation" => s.generation as i64,
                    "acquired" => s.acquired as i64,
                    "created" => s.created as i64,
                    "create_failures" => s.create_failures as i64,
                    "closed" => s.closed as i64,
                    "timeouts" => s.timeouts as i64,
                    "invalidated" => s.invalidated as i64,
                    "leaks_detected" => s.leaks_detected as i64,
                    other => self.fail(format!("unknown status field {other}")),
                };
                if Some(got) != v.as_integer() {
                    self.fail(format!("status.{k}: expected {v}, got {got} ({s:?})"));
                }
            }
        } else if step.contains_key("metrics") {
            let text = self.pool.metrics_text();
            for line in step.get("expect_lines").and_then(|v| v.as_array()).into_iter().flatten() {
                let line = line.as_str().unwrap().replace("{pool}", self.pool.name());
                if !text.lines().any(|l| l == line) {
                    self.fail(format!("metrics lack line {line:?}\n{text}"));
                }
            }
        } else {
            self.fail(format!("unknown step {step:?}"));
        }
        if let Err(e) = self.pool.check_invariants() {
            self.fail(format!("invariant broken: {e}"));
        }
    }
}

fn scenario_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

fn run_file(path: &PathBuf) {
    let text = std::fs::read_to_string(path).unwrap();
    let doc: toml::Table = text.parse().unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let file = path.file_name().unwrap().to_string_lossy().to_string();
    let mut config = PoolConfig::default();
    config.set("name", "conformance").unwrap();
    let mut config_err = None;
    for (k, v) in doc.get("config").and_then(|v| v.as_table()).cloned().unwrap_or_default() {
        if let Err(e) = config.set(&k, value(&v)) {
            config_err = Some(e);
            break;
        }
    }
    let clock = Clock::manual();
    let pool = match config_err {
        Some(e) => Err(e),
        None => RawPool::with_clock(config, clock.clone()),
    };
    if let Some(want) = doc.get("expect_config_error").and_then(|v| v.as_table()) {
        let e = pool.err().unwrap_or_else(|| panic!("{file}: expected a config error"));
        assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{file}");
        assert_eq!(e.config_key(), want.get("key").and_then(|v| v.as_str()), "{file}: {e}");
        return;
    }
    let pool = pool.unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut r = Runner { pool, clock, created: 0, held: HashMap::new(), waits: HashMap::new(), file, step: 0 };
    let steps = doc.get("step").and_then(|v| v.as_array()).cloned().unwrap_or_default();
    assert!(!steps.is_empty(), "{}: no steps", r.file);
    for (i, step) in steps.iter().enumerate() {
        r.step = i;
        r.run_step(step.as_table().expect("step is a table"));
    }
}

#[test]
fn every_conformance_scenario_passes() {
    let files = scenario_files();
    assert!(files.len() >= 20, "expected the conformance scenarios, found {}", files.len());
    for f in &files {
        run_file(f);
    }
}

#[test]
fn the_runner_catches_a_wrong_expectation() {
    // A scenario that is wrong on purpose must fail: the runner is not a no-op.
    let dir = std::env::temp_dir().join(format!("unipool-conf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(&path, "name='bad'\n[config]\npool_size=1\nmax_overflow=0\n[[step]]\nacquire='a'\nexpect_conn='c2'\n").unwrap();
    let r = std::panic::catch_unwind(|| run_file(&path));
    assert!(r.is_err(), "a wrong expectation passed");
}
