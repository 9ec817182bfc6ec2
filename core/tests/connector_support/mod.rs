//! Shared helpers for the connector tests (core/tests/connector_*.rs).
//! Servers: see tests/scripts/servers.sh. Every helper fails loudly with what is missing.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

pub fn database_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}
pub fn mysql_url() -> String {
    std::env::var("MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// tests/scripts/ in the repository.
pub fn scripts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/scripts")
}

/// Runs `bash tests/scripts/<script> args...`, panicking with its output on failure.
pub fn run_script(script: &str, args: &[&str]) {
    let path = scripts_dir().join(script);
    let out = Command::new("bash")
        .arg(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("could not run {}: {e}", path.display()));
    if !out.status.success() {
        panic!(
            "{} {:?} failed ({}):\nstdout: {}\nstderr: {}",
            path.display(),
            args,
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A unique scratch directory under /tmp (removed by the server guards).
pub fn scratch_dir(tag: &str) -> String {
    format!("/tmp/unipool-{tag}-{}-{}", std::process::id(), fastrand_u32())
}

fn fastrand_u32() -> u32 {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    t.subsec_nanos() ^ (t.as_secs() as u32).rotate_left(7)
}

/// Polls `f` until it returns true or `limit` passes; returns whether it did.
pub async fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if f() {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `err: source: source...` for assertions on the whole chain.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut s = err.to_string();
    let mut src = err.source();
    while let Some(e) = src {
        s.push_str(" | ");
        s.push_str(&e.to_string());
        src = e.source();
    }
    s
}

/// A throwaway PostgreSQL instance (tests/scripts/pg.sh) on its own port; destroyed on drop.
pub struct ThrowawayPg {
    pub dir: String,
    pub port: u16,
}

impl ThrowawayPg {
    pub fn start(port: u16) -> Self {
        let dir = scratch_dir("pg");
        run_script("pg.sh", &["init", &dir, &port.to_string()]);
        ThrowawayPg { dir, port }
    }
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/test", self.port)
    }
    pub fn stop(&self) {
        run_script("pg.sh", &["stop", &self.dir]);
    }
    pub fn resume(&self) {
        run_script("pg.sh", &["start", &self.dir]);
    }
}

impl Drop for ThrowawayPg {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(scripts_dir().join("pg.sh"))
            .args(["destroy", &self.dir])
            .output();
    }
}

/// A real PgBouncer in transaction mode (tests/scripts/pgbouncer.sh); stopped on drop.
pub struct PgBouncer {
    pub dir: String,
    pub port: u16,
}

impl PgBouncer {
    pub fn start(port: u16, server_pool_size: u32) -> Self {
        let dir = scratch_dir("pgbouncer");
        run_script(
            "pgbouncer.sh",
            &["start", &dir, &port.to_string(), &server_pool_size.to_string()],
        );
        PgBouncer { dir, port }
    }
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/test", self.port)
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(scripts_dir().join("pgbouncer.sh"))
            .args(["stop", &self.dir])
            .output();
    }
}

/// A 3-master Redis Cluster (tests/scripts/redis-cluster.sh); shut down on drop.
pub struct RedisCluster {
    pub dir: String,
    pub first_port: u16,
}

impl RedisCluster {
    pub fn start(first_port: u16) -> Self {
        let dir = scratch_dir("redis-cluster");
        run_script("redis-cluster.sh", &["start", &dir, &first_port.to_string()]);
        RedisCluster { dir, first_port }
    }
    pub fn ports(&self) -> [u16; 3] {
        [self.first_port, self.first_port + 1, self.first_port + 2]
    }
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self.ports().iter().map(|p| format!("127.0.0.1:{p}")).collect();
        format!("redis://{}", hosts.join(","))
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(scripts_dir().join("redis-cluster.sh"))
            .args(["stop", &self.dir, &self.first_port.to_string()])
            .output();
    }
}

/// Port from an env var or a default (lets CI move the throwaway servers).
pub fn port_from_env(var: &str, default: u16) -> u16 {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A Redis server speaking only TLS (tests/scripts/redis-tls.sh, self-signed); stopped on drop.
pub struct RedisTls {
    pub dir: String,
    pub port: u16,
}

impl RedisTls {
    pub fn start(port: u16) -> Self {
        let dir = scratch_dir("redis-tls");
        run_script("redis-tls.sh", &["start", &dir, &port.to_string()]);
        RedisTls { dir, port }
    }
}

impl Drop for RedisTls {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(scripts_dir().join("redis-tls.sh"))
            .args(["stop", &self.dir, &self.port.to_string()])
            .output();
    }
}
