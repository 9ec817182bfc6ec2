//! Core benchmark (issue 2.6): unipool's pool against deadpool, bb8, r2d2 and
//! mobc in the SAME run, on a no-op connection (a `u64`; connect, check and
//! recycle do nothing), so only the pools' own bookkeeping is measured.
//!
//! Run through `scripts/bench-core.sh` (add `--smoke` for a < 1 min version):
//!   cargo bench -p unipool --bench acquire            # release-grade (bench profile)
//!   cargo bench -p unipool --bench acquire -- --smoke
//!
//! Method (see docs/benchmarks-method.md): every contender is measured in every
//! round, in a rotating order, and the table gives the MEDIAN of the rounds.
//! Async scenarios run on a tokio multi-thread runtime with 2 worker threads.
//! "hold" means the connection is held across one `yield_now()` (a task switch,
//! as real code holds it across I/O), which is what makes tasks queue when
//! there are more tasks than connections.
//!
//! Env: BENCH_ROUNDS (rounds per scenario), BENCH_MS (ms per timed sample),
//! BENCH_ONLY (comma list of sections: uncontended,async,threads,size,waiters).

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use unipool::{Checkout, Grant, PoolConfig, RawPool};

const BIG_TIMEOUT: Duration = Duration::from_secs(300);

// ---------------------------------------------------------------- options

struct Opts {
    smoke: bool,
    rounds: usize,
    sample: Duration,
    only: Option<Vec<String>>,
}

impl Opts {
    fn from_env() -> Opts {
        let smoke = std::env::args().any(|a| a == "--smoke") || std::env::var("BENCH_SMOKE").is_ok_and(|v| v == "1");
        let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
        let rounds = env("BENCH_ROUNDS").unwrap_or(if smoke { 1 } else { 5 }) as usize;
        let sample = Duration::from_millis(env("BENCH_MS").unwrap_or(if smoke { 15 } else { 200 }));
        let only = std::env::var("BENCH_ONLY").ok().map(|s| s.split(',').map(|x| x.trim().to_string()).collect());
        Opts { smoke, rounds: rounds.max(1), sample, only }
    }
    fn wants(&self, section: &str) -> bool {
        self.only.as_ref().is_none_or(|o| o.iter().any(|x| x == section))
    }
}

// ---------------------------------------------------------------- no-op managers

#[derive(Default, Clone)]
struct Created(Arc<AtomicU64>);
impl Created {
    fn bump(&self) -> u64 {
        self.0.fetch_add(1, Ordering::Relaxed)
    }
    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

struct UniM(Created);
impl unipool::Manager for UniM {
    type Connection = u64;
    type Error = Infallible;
    async fn connect(&self) -> Result<u64, Infallible> {
        Ok(self.0.bump())
    }
    async fn ping(&self, _: &mut u64) -> Result<(), Infallible> {
        Ok(())
    }
}

struct DeadM(Created);
impl deadpool::managed::Manager for DeadM {
    type Type = u64;
    type Error = Infallible;
    async fn create(&self) -> Result<u64, Infallible> {
        Ok(self.0.bump())
    }
    async fn recycle(&self, _: &mut u64, _: &deadpool::managed::Metrics) -> deadpool::managed::RecycleResult<Infallible> {
        Ok(())
    }
}

struct Bb8M(Created);
impl bb8::ManageConnection for Bb8M {
    type Connection = u64;
    type Error = Infallible;
    async fn connect(&self) -> Result<u64, Infallible> {
        Ok(self.0.bump())
    }
    async fn is_valid(&self, _: &mut u64) -> Result<(), Infallible> {
        Ok(())
    }
    fn has_broken(&self, _: &mut u64) -> bool {
        false
    }
}

struct MobcM(Created);
#[mobc::async_trait]
impl mobc::Manager for MobcM {
    type Connection = u64;
    type Error = Infallible;
    async fn connect(&self) -> Result<u64, Infallible> {
        Ok(self.0.bump())
    }
    async fn check(&self, c: u64) -> Result<u64, Infallible> {
        Ok(c)
    }
}

#[derive(Debug)]
struct NoErr;
impl std::fmt::Display for NoErr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("never")
    }
}
impl std::error::Error for NoErr {}

struct R2M(Created);
impl r2d2::ManageConnection for R2M {
    type Connection = u64;
    type Error = NoErr;
    fn connect(&self) -> Result<u64, NoErr> {
        Ok(self.0.bump())
    }
    fn is_valid(&self, _: &mut u64) -> Result<(), NoErr> {
        Ok(())
    }
    fn has_broken(&self, _: &mut u64) -> bool {
        false
    }
}

struct UniSyncM(Created);
impl unipool::SyncManager for UniSyncM {
    type Connection = u64;
    type Error = NoErr;
    fn connect(&self) -> Result<u64, NoErr> {
        Ok(self.0.bump())
    }
    fn ping(&self, _: &mut u64) -> Result<(), NoErr> {
        Ok(())
    }
}

// ---------------------------------------------------------------- contenders

type Guard = Box<dyn Send>;

/// An async pool under test. `op` = one acquire + release (+ hold across a yield).
trait AsyncPeer: Send + Sync + 'static {
    fn op(&self, hold: bool) -> impl Future<Output = ()> + Send;
    /// Checks out `n` connections at once (creating them) and returns the guards.
    fn hold(&self, n: usize) -> impl Future<Output = Vec<Guard>> + Send;
    fn created(&self) -> u64;
}

/// A blocking pool under test.
trait SyncPeer: Send + Sync + 'static {
    fn op(&self, hold: bool);
    fn hold(&self, n: usize) -> Vec<Guard>;
    fn created(&self) -> u64;
}

fn uni_config(size: usize) -> PoolConfig {
    PoolConfig::builder()
        .name("bench")
        .pool_size(size)
        .max_overflow(0)
        .pool_timeout(BIG_TIMEOUT)
        .build()
        .expect("valid bench config")
}

fn checkout(g: Grant<u64>, created: &Created) -> Checkout<u64> {
    match g {
        Grant::Idle(c) => c,
        Grant::Create(p) => p.fulfill(created.bump()),
    }
}

/// `unipool::Pool<M>` — what Rust users call.
struct UniPool(unipool::Pool<UniM>, Created);
impl UniPool {
    fn new(size: usize) -> Self {
        let c = Created::default();
        UniPool(unipool::Pool::new(UniM(c.clone()), uni_config(size)).expect("pool"), c)
    }
}
impl AsyncPeer for UniPool {
    async fn op(&self, hold: bool) {
        let c = self.0.get().await.expect("unipool get");
        if hold {
            tokio::task::yield_now().await;
        }
        drop(c);
    }
    async fn hold(&self, n: usize) -> Vec<Guard> {
        let mut v: Vec<Guard> = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(Box::new(self.0.get().await.expect("unipool get")));
        }
        v
    }
    fn created(&self) -> u64 {
        self.1.get()
    }
}

/// `unipool::RawPool<T>` — what the bindings drive (async acquire, blocking
/// acquire, try_acquire).
struct UniRaw(RawPool<u64>, Created);
impl UniRaw {
    fn new(size: usize) -> Self {
        UniRaw(RawPool::new(uni_config(size)).expect("pool"), Created::default())
    }
}
impl AsyncPeer for UniRaw {
    async fn op(&self, hold: bool) {
        let c = checkout(self.0.acquire(None).await.expect("unipool acquire"), &self.1);
        if hold {
            tokio::task::yield_now().await;
        }
        let _ = c.release();
    }
    async fn hold(&self, n: usize) -> Vec<Guard> {
        let mut v: Vec<Guard> = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(Box::new(checkout(self.0.acquire(None).await.expect("acquire"), &self.1)));
        }
        v
    }
    fn created(&self) -> u64 {
        self.1.get()
    }
}
impl SyncPeer for UniRaw {
    fn op(&self, hold: bool) {
        let c = checkout(self.0.acquire_blocking(None).expect("unipool acquire_blocking"), &self.1);
        if hold {
            std::thread::yield_now();
        }
        let _ = c.release();
    }
    fn hold(&self, n: usize) -> Vec<Guard> {
        (0..n).map(|_| Box::new(checkout(self.0.acquire_blocking(None).expect("acquire"), &self.1)) as Guard).collect()
    }
    fn created(&self) -> u64 {
        self.1.get()
    }
}

/// `unipool::BlockingPool<M: SyncManager>` — the Rust front end for threads.
struct UniBlk(unipool::BlockingPool<UniSyncM>, Created);
impl UniBlk {
    fn new(size: usize) -> Self {
        let c = Created::default();
        UniBlk(unipool::BlockingPool::new(UniSyncM(c.clone()), uni_config(size)).expect("pool"), c)
    }
}
impl SyncPeer for UniBlk {
    fn op(&self, hold: bool) {
        let c = self.0.get().expect("unipool BlockingPool get");
        if hold {
            std::thread::yield_now();
        }
        drop(c);
    }
    fn hold(&self, n: usize) -> Vec<Guard> {
        (0..n).map(|_| Box::new(self.0.get().expect("BlockingPool get")) as Guard).collect()
    }
    fn created(&self) -> u64 {
        self.1.get()
    }
}

/// `RawPool::try_acquire` (never waits): the bindings' fast path.
struct UniTry(UniRaw);
impl SyncPeer for UniTry {
    fn op(&self, hold: bool) {
        let c = checkout(self.0 .0.try_acquire().expect("try_acquire").expect("uncontended: available"), &self.0 .1);
        if hold {
            std::thread::yield_now();
        }
        let _ = c.release();
    }
    fn hold(&self, n: usize) -> Vec<Guard> {
        SyncPeer::hold(&self.0, n)
    }
    fn created(&self) -> u64 {
        self.0 .1.get()
    }
}

struct Dead(deadpool::managed::Pool<DeadM>, Created);
impl Dead {
    fn new(size: usize) -> Self {
        let c = Created::default();
        let p = deadpool::managed::Pool::builder(DeadM(c.clone()))
            .max_size(size)
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .expect("deadpool");
        Dead(p, c)
    }
}
impl AsyncPeer for Dead {
    async fn op(&self, hold: bool) {
        let c = self.0.get().await.expect("deadpool get");
        if hold {
            tokio::task::yield_now().await;
        }
        drop(c);
    }
    async fn hold(&self, n: usize) -> Vec<Guard> {
        let mut v: Vec<Guard> = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(Box::new(self.0.get().await.expect("deadpool get")));
        }
        v
    }
    fn created(&self) -> u64 {
        self.1.get()
    }
}

struct Bb8(bb8::Pool<Bb8M>, Created);
impl Bb8 {
    async fn new(size: usize) -> Self {
        let c = Created::default();
        let p = bb8::Pool::builder()
            .max_size(size as u32)
            .test_on_check_out(false)
            .connection_timeout(BIG_TIMEOUT)
            .build(Bb8M(c.clone()))
            .await
            .expect("bb8");
        Bb8(p, c)
    }
}
impl AsyncPeer for Bb8 {
    async fn op(&self, hold: bool) {
        let c = self.0.get().await.expect("bb8 get");
        if hold {
            tokio::task::yield_now().await;
        }
        drop(c);
    }
    async fn hold(&self, n: usize) -> Vec<Guard> {
        let mut v: Vec<Guard> = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(Box::new(self.0.get_owned().await.expect("bb8 get")));
        }
        v
    }
    fn created(&self) -> u64 {
        self.1.get()
    }
}

struct Mobc(mobc::Pool<MobcM>, Created);
impl Mobc {
    fn new(size: usize) -> Self {
        let c = Created::default();
        let p = mobc::Pool::builder()
            .max_open(size as u64)
            .max_idle(size as u64)
            .test_on_check_out(false)
            .get_timeout(Some(BIG_TIMEOUT))
            .build(MobcM(c.clone()));
        Mobc(p, c)
    }
}
impl AsyncPeer for Mobc {
    async fn op(&self, hold: bool) {
        let c = self.0.get().await.expect("mobc get");
        if hold {
            tokio::task::yield_now().await;
        }
        drop(c);
    }
    async fn hold(&self, n: usize) -> Vec<Guard> {
        let mut v: Vec<Guard> = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(Box::new(self.0.get().await.expect("mobc get")));
        }
        v
    }
    fn created(&self) -> u64 {
        self.1.get()
    }
}

struct R2(r2d2::Pool<R2M>, Created);
impl R2 {
    fn new(size: usize) -> Self {
        let c = Created::default();
        let p = r2d2::Pool::builder()
            .max_size(size as u32)
            .test_on_check_out(false)
            .connection_timeout(BIG_TIMEOUT)
            .build(R2M(c.clone()))
            .expect("r2d2");
        R2(p, c)
    }
}
impl SyncPeer for R2 {
    fn op(&self, hold: bool) {
        let c = self.0.get().expect("r2d2 get");
        if hold {
            std::thread::yield_now();
        }
        drop(c);
    }
    fn hold(&self, n: usize) -> Vec<Guard> {
        (0..n).map(|_| Box::new(self.0.get().expect("r2d2 get")) as Guard).collect()
    }
    fn created(&self) -> u64 {
        self.1.get()
    }
}

// ---------------------------------------------------------------- measuring

/// One uncontended task: ns per acquire+release, looping for `dur`.
/// Process CPU time in ns. The uncontended loops are measured in CPU time,
/// not wall time: on a shared 2-core machine wall time also counts the slices
/// other processes get, and the loop is the only busy thread of the process.
#[cfg(target_os = "linux")]
fn cpu_nanos() -> u64 {
    #[repr(C)]
    struct Timespec {
        sec: i64,
        nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: writes one timespec (64-bit Linux layout) through a valid pointer.
    let rc = unsafe { clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID) failed");
    ts.sec as u64 * 1_000_000_000 + ts.nsec as u64
}

#[cfg(not(target_os = "linux"))]
fn cpu_nanos() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// One uncontended task: CPU ns per acquire+release, looping for `dur`.
async fn async_ns_per_op<P: AsyncPeer>(p: Arc<P>, dur: Duration) -> f64 {
    tokio::spawn(async move {
        let start = Instant::now();
        let cpu = cpu_nanos();
        let mut n = 0u64;
        loop {
            for _ in 0..256 {
                p.op(false).await;
            }
            n += 256;
            if start.elapsed() >= dur {
                return (cpu_nanos() - cpu) as f64 / n as f64;
            }
        }
    })
    .await
    .expect("task")
}

fn sync_ns_per_op<P: SyncPeer>(p: &P, dur: Duration) -> f64 {
    let start = Instant::now();
    let cpu = cpu_nanos();
    let mut n = 0u64;
    loop {
        for _ in 0..256 {
            p.op(false);
        }
        n += 256;
        if start.elapsed() >= dur {
            return (cpu_nanos() - cpu) as f64 / n as f64;
        }
    }
}

/// A std thread that raises `stop` after `dur` (tokio timers may not fire
/// while both workers run tasks that never yield).
fn stopper(dur: Duration) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    std::thread::spawn(move || {
        std::thread::sleep(dur);
        s.store(true, Ordering::Relaxed);
    });
    stop
}

/// `tasks` tasks loop acquire+hold+release for `dur`: ops per second.
/// Returns (operations per wall second, operations per process CPU second).
async fn async_throughput<P: AsyncPeer>(p: &Arc<P>, tasks: usize, hold: bool, dur: Duration) -> (f64, f64) {
    let start = Instant::now();
    let cpu = cpu_nanos();
    let stop = stopper(dur);
    let mut hs = Vec::with_capacity(tasks);
    for _ in 0..tasks {
        let p = p.clone();
        let stop = stop.clone();
        hs.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for _ in 0..8 {
                    p.op(hold).await;
                }
                n += 8;
            }
            n
        }));
    }
    let mut total = 0;
    for h in hs {
        total += h.await.expect("task");
    }
    let cpu = (cpu_nanos() - cpu) as f64 / 1e9;
    (total as f64 / start.elapsed().as_secs_f64(), total as f64 / cpu)
}

/// Returns (operations per wall second, operations per process CPU second).
fn thread_throughput<P: SyncPeer>(p: &P, threads: usize, hold: bool, dur: Duration) -> (f64, f64) {
    let start = Instant::now();
    let cpu = cpu_nanos();
    let stop = stopper(dur);
    let total = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            let stop = &stop;
            let total = &total;
            s.spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..8 {
                        p.op(hold);
                    }
                    n += 8;
                }
                total.fetch_add(n, Ordering::Relaxed);
            });
        }
    });
    let cpu = (cpu_nanos() - cpu) as f64 / 1e9;
    let total = total.into_inner() as f64;
    (total / start.elapsed().as_secs_f64(), total / cpu)
}

/// All `size` connections are held; `w` tasks queue for one; then the
/// connections are released and every waiter is served (acquire + release).
/// Returns (total ns per waiter, enqueue ns per waiter, serve ns per waiter).
async fn waiters_run<P: AsyncPeer>(p: &Arc<P>, size: usize, w: usize) -> (f64, f64, f64) {
    let held = p.hold(size).await;
    let started = Arc::new(AtomicUsize::new(0));
    let t0 = cpu_nanos();
    let mut hs = Vec::with_capacity(w);
    for _ in 0..w {
        let p = p.clone();
        let started = started.clone();
        hs.push(tokio::spawn(async move {
            started.fetch_add(1, Ordering::Relaxed);
            p.op(false).await;
        }));
    }
    while started.load(Ordering::Relaxed) < w {
        // Sleep rather than spin: the wait must not burn the CPU being measured.
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    let t1 = cpu_nanos();
    drop(held);
    for h in hs {
        h.await.expect("waiter task");
    }
    let t2 = cpu_nanos();
    let per = |d: u64| d as f64 / w as f64;
    (per(t2 - t0), per(t1 - t0), per(t2 - t1))
}

/// The same with `RawPool::acquire_callback` and no async runtime: the pure
/// core cost of queueing `w` waiters and serving them in order.
fn waiters_callback(p: &UniRaw, size: usize, w: usize) -> (f64, f64, f64) {
    let held = SyncPeer::hold(p, size);
    let (tx, rx) = mpsc::channel::<Checkout<u64>>();
    let t0 = cpu_nanos();
    let mut handles = Vec::with_capacity(w);
    for _ in 0..w {
        let tx = tx.clone();
        let created = p.1.clone();
        handles.push(p.0.acquire_callback(None, move |r| {
            let c = checkout(r.expect("callback grant"), &created);
            let _ = tx.send(c);
        }));
    }
    let t1 = cpu_nanos();
    drop(held);
    for _ in 0..w {
        let c = rx.recv_timeout(BIG_TIMEOUT).expect("every waiter is served");
        let _ = c.release();
    }
    let t2 = cpu_nanos();
    drop(handles);
    let per = |d: u64| d as f64 / w as f64;
    (per(t2 - t0), per(t1 - t0), per(t2 - t1))
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// Runs `f(contender index)` for every contender in every round, rotating the
/// order each round; returns the samples per contender.
/// One unrecorded warm-up round comes first (caches, allocator, CPU clock).
fn rounds<T, F: FnMut(usize) -> T>(n: usize, rounds: usize, mut f: F) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = (0..n).map(|_| Vec::with_capacity(rounds)).collect();
    for k in 0..n {
        drop(f(k));
    }
    for r in 0..rounds {
        for k in 0..n {
            let i = (k + r) % n;
            out[i].push(f(i));
        }
    }
    out
}

// ---------------------------------------------------------------- reporting

struct Table {
    key: &'static str,
    title: String,
    unit: &'static str,
    higher_better: bool,
    /// Columns: (name, is_unipool).
    cols: Vec<(&'static str, bool)>,
    rows: Vec<(String, Vec<Option<f64>>)>,
}

fn fmt_val(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2} M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.0} k", v / 1e3)
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

impl Table {
    fn new(key: &'static str, title: &str, unit: &'static str, higher_better: bool, cols: &[(&'static str, bool)]) -> Table {
        Table { key, title: title.into(), unit, higher_better, cols: cols.to_vec(), rows: Vec::new() }
    }

    fn uni_cols(&self) -> Vec<usize> {
        (0..self.cols.len()).filter(|i| self.cols[*i].1).collect()
    }

    fn add(&mut self, label: String, samples: &[Vec<f64>]) {
        self.rows.push((label, samples.iter().map(|s| if s.is_empty() { None } else { Some(median(s)) }).collect()));
    }

    /// Throughput ratio of unipool column `u` to the best peer in a row.
    fn ratio(&self, row: &[Option<f64>], u: usize) -> Option<(f64, &'static str)> {
        let uv = row[u]?;
        let best = self
            .cols
            .iter()
            .zip(row)
            .filter(|((_, uni), v)| !uni && v.is_some())
            .map(|((n, _), v)| (v.unwrap(), *n))
            .reduce(|a, b| if (self.higher_better && b.0 > a.0) || (!self.higher_better && b.0 < a.0) { b } else { a })?;
        Some((if self.higher_better { uv / best.0 } else { best.0 / uv }, best.1))
    }

    fn print(&self) {
        println!("\n### {} ({}; median of rounds)\n", self.title, self.unit);
        let unis: Vec<usize> = (0..self.cols.len()).filter(|i| self.cols[*i].1).collect();
        let peers = self.cols.iter().any(|c| !c.1);
        let mut head = String::from("| scenario |");
        let mut sep = String::from("|---|");
        for (n, _) in &self.cols {
            head += &format!(" {n} |");
            sep += "---:|";
        }
        if peers {
            head += " best peer |";
            sep += "---|";
            for u in &unis {
                head += &format!(" {} / best |", self.cols[*u].0);
                sep += "---:|";
            }
        }
        println!("{head}\n{sep}");
        for (label, row) in &self.rows {
            let mut line = format!("| {label} |");
            for v in row {
                line += &match v {
                    Some(v) => format!(" {} |", fmt_val(*v)),
                    None => " – |".into(),
                };
            }
            if peers {
                let best = unis.first().and_then(|u| self.ratio(row, *u)).map(|r| r.1).unwrap_or("–");
                line += &format!(" {best} |");
                for u in &unis {
                    line += &match self.ratio(row, *u) {
                        Some((r, _)) => format!(" **{r:.2}x** |"),
                        None => " – |".into(),
                    };
                }
            }
            println!("{line}");
        }
        // Machine-readable lines for scripts: RATIO <table> <row> <unipool column> <ratio>
        for (label, row) in &self.rows {
            for u in &unis {
                if let Some((r, best)) = self.ratio(row, *u) {
                    println!("RATIO\t{}\t{}\t{}\t{:.3}\t{}", self.title, label, self.cols[*u].0, r, best);
                }
            }
        }
    }
}

fn check_created(name: &str, created: u64, max: usize) {
    assert!(created > 0, "{name}: no connection was ever created: the benchmark did not run");
    assert!(created as usize <= max, "{name}: created {created} connections with a limit of {max}");
}

// ---------------------------------------------------------------- scenarios

const ASYNC_COLS: [(&str, bool); 5] =
    [("unipool Pool::get", true), ("unipool RawPool::acquire", true), ("deadpool", false), ("bb8", false), ("mobc", false)];

struct AsyncSet {
    uni: Arc<UniPool>,
    raw: Arc<UniRaw>,
    dead: Arc<Dead>,
    bb8: Arc<Bb8>,
    mobc: Arc<Mobc>,
    size: usize,
}

impl AsyncSet {
    async fn new(size: usize) -> AsyncSet {
        let s = AsyncSet {
            uni: Arc::new(UniPool::new(size)),
            raw: Arc::new(UniRaw::new(size)),
            dead: Arc::new(Dead::new(size)),
            bb8: Arc::new(Bb8::new(size).await),
            mobc: Arc::new(Mobc::new(size)),
            size,
        };
        // Open every connection up front, so no sample pays for creating them.
        drop(s.uni.hold(size).await);
        drop(AsyncPeer::hold(&*s.raw, size).await);
        drop(s.dead.hold(size).await);
        drop(s.bb8.hold(size).await);
        drop(s.mobc.hold(size).await);
        s
    }
    fn check(&self) {
        check_created("unipool Pool", self.uni.created(), self.size);
        check_created("unipool RawPool", AsyncPeer::created(&*self.raw), self.size);
        check_created("deadpool", self.dead.created(), self.size);
        check_created("bb8", self.bb8.created(), self.size);
        check_created("mobc", self.mobc.created(), self.size);
    }
}

macro_rules! each_async {
    ($set:expr, $i:expr, |$p:ident| $body:expr) => {
        match $i {
            0 => { let $p = &$set.uni; $body }
            1 => { let $p = &$set.raw; $body }
            2 => { let $p = &$set.dead; $body }
            3 => { let $p = &$set.bb8; $body }
            _ => { let $p = &$set.mobc; $body }
        }
    };
}

fn section_uncontended(rt: &tokio::runtime::Runtime, o: &Opts, out: &mut Vec<Table>) {
    let size = 8;
    let set = rt.block_on(AsyncSet::new(size));
    let mut t = Table::new("uncontended_async", "Uncontended acquire + release, 1 task (async)", "CPU ns per op, lower is better", false, &ASYNC_COLS);
    let s = rounds(5, o.rounds, |i| each_async!(set, i, |p| rt.block_on(async_ns_per_op(p.clone(), o.sample))));
    t.add(format!("1 task, pool {size}"), &s);
    set.check();
    t.print();
    out.push(t);

    let raw = UniRaw::new(size);
    drop(SyncPeer::hold(&raw, size));
    let tr = UniTry(raw);
    let blk = UniRaw::new(size);
    drop(SyncPeer::hold(&blk, size));
    let r2 = R2::new(size);
    drop(r2.hold(size));
    let cols = [("unipool BlockingPool::get", true), ("unipool try_acquire", true), ("unipool acquire_blocking", true), ("r2d2", false)];
    let mut t = Table::new("uncontended_sync", "Uncontended acquire + release, 1 thread (sync)", "CPU ns per op, lower is better", false, &cols);
    let bp = UniBlk::new(size);
    drop(bp.hold(size));
    let s = rounds(4, o.rounds, |i| match i {
        0 => sync_ns_per_op(&bp, o.sample),
        1 => sync_ns_per_op(&tr, o.sample),
        2 => sync_ns_per_op(&blk, o.sample),
        _ => sync_ns_per_op(&r2, o.sample),
    });
    t.add(format!("1 thread, pool {size}"), &s);
    check_created("unipool try_acquire", tr.created(), size);
    check_created("unipool acquire_blocking", SyncPeer::created(&blk), size);
    check_created("r2d2", r2.created(), size);
    check_created("unipool BlockingPool", bp.created(), size);
    t.print();
    out.push(t);
}

fn section_async(rt: &tokio::runtime::Runtime, o: &Opts, out: &mut Vec<Table>) {
    let mut t = Table::new(
        "async",
        "Contended async: tasks loop acquire, hold across one yield, release (tokio, 2 workers)",
        "acquire+release per second, higher is better",
        true,
        &ASYNC_COLS,
    );
    let mut c = Table::new(
        "async_cpu",
        "Contended async, per CPU: the same runs, operations per second of process CPU time",
        "acquire+release per CPU-second, higher is better; robust to other load on the machine",
        true,
        &ASYNC_COLS,
    );
    let sizes: &[usize] = &[8, 16];
    let tasks: &[usize] = &[8, 64, 256];
    for &size in sizes {
        let set = rt.block_on(AsyncSet::new(size));
        for &n in tasks {
            let s = rounds(5, o.rounds, |i| {
                each_async!(set, i, |p| rt.block_on(async_throughput(p, n, true, o.sample)))
            });
            t.add(format!("{n} tasks, pool {size}"), &split(&s, |x| x.0));
            c.add(format!("{n} tasks, pool {size}"), &split(&s, |x| x.1));
        }
        set.check();
    }
    t.print();
    c.print();
    out.push(t);
    out.push(c);
}

fn split<T>(s: &[Vec<T>], f: impl Fn(&T) -> f64) -> Vec<Vec<f64>> {
    s.iter().map(|v| v.iter().map(&f).collect()).collect()
}

fn section_threads(o: &Opts, out: &mut Vec<Table>) {
    let cols = [("unipool BlockingPool::get", true), ("unipool acquire_blocking", true), ("r2d2", false)];
    let mut t = Table::new(
        "threads",
        "Contended blocking threads: acquire, hold across one thread::yield_now, release",
        "acquire+release per second, higher is better",
        true,
        &cols,
    );
    let mut c = Table::new(
        "threads_cpu",
        "Contended blocking threads, per CPU: the same runs, operations per second of process CPU time",
        "acquire+release per CPU-second, higher is better; parked threads use no CPU, so this is efficiency, not throughput",
        true,
        &cols,
    );
    for &size in &[8usize, 16] {
        let uni = UniRaw::new(size);
        drop(SyncPeer::hold(&uni, size));
        let r2 = R2::new(size);
        drop(r2.hold(size));
        let bp = UniBlk::new(size);
        drop(bp.hold(size));
        for &n in &[1usize, 8, 64] {
            let s = rounds(3, o.rounds, |i| match i {
                0 => thread_throughput(&bp, n, true, o.sample),
                1 => thread_throughput(&uni, n, true, o.sample),
                _ => thread_throughput(&r2, n, true, o.sample),
            });
            t.add(format!("{n} threads, pool {size}"), &split(&s, |x| x.0));
            c.add(format!("{n} threads, pool {size}"), &split(&s, |x| x.1));
        }
        check_created("unipool acquire_blocking", SyncPeer::created(&uni), size);
        check_created("r2d2", r2.created(), size);
        check_created("unipool BlockingPool", bp.created(), size);
    }
    t.print();
    c.print();
    out.push(t);
    out.push(c);
}

fn section_size(rt: &tokio::runtime::Runtime, o: &Opts, out: &mut Vec<Table>) {
    let sizes: &[usize] = if o.smoke { &[10, 1000] } else { &[10, 100, 1000, 10_000] };
    let mut ta = Table::new(
        "size_async",
        "Cost vs pool size: uncontended acquire + release, 1 task, all N connections idle",
        "CPU ns per op, lower is better",
        false,
        &ASYNC_COLS,
    );
    let cols = [("unipool BlockingPool::get", true), ("unipool try_acquire", true), ("unipool acquire_blocking", true), ("r2d2", false)];
    let mut ts = Table::new(
        "size_sync",
        "Cost vs pool size: uncontended acquire + release, 1 thread, all N connections idle",
        "CPU ns per op, lower is better",
        false,
        &cols,
    );
    for &size in sizes {
        let set = rt.block_on(AsyncSet::new(size));
        let s = rounds(5, o.rounds, |i| each_async!(set, i, |p| rt.block_on(async_ns_per_op(p.clone(), o.sample))));
        ta.add(format!("N = {size}"), &s);
        set.check();
        drop(set);

        let raw = UniRaw::new(size);
        drop(SyncPeer::hold(&raw, size));
        let tr = UniTry(raw);
        let blk = UniRaw::new(size);
        drop(SyncPeer::hold(&blk, size));
        let r2 = R2::new(size);
        drop(r2.hold(size));
        let bp = UniBlk::new(size);
        drop(bp.hold(size));
        let s = rounds(4, o.rounds, |i| match i {
            0 => sync_ns_per_op(&bp, o.sample),
            1 => sync_ns_per_op(&tr, o.sample),
            2 => sync_ns_per_op(&blk, o.sample),
            _ => sync_ns_per_op(&r2, o.sample),
        });
        ts.add(format!("N = {size}"), &s);
        check_created("unipool try_acquire", tr.created(), size);
        check_created("r2d2", r2.created(), size);
        check_created("unipool BlockingPool", bp.created(), size);
    }
    ta.print();
    out.push(ta);
    ts.print();
    out.push(ts);
}

fn section_waiters(rt: &tokio::runtime::Runtime, o: &Opts, out: &mut Vec<Table>) {
    let counts: &[usize] = if o.smoke { &[1000, 10_000] } else { &[1000, 10_000, 100_000] };
    let size = 8;
    let rounds_n = if o.smoke { 1 } else { 3.min(o.rounds) };
    let mut cols = ASYNC_COLS.to_vec();
    cols.push(("unipool acquire_callback (no runtime)", true));
    let mut total = Table::new(
        "waiters_total",
        &format!("Waiters: W tasks queue on a pool of {size} held connections, then all are served"),
        "CPU ns per waiter (spawn + enqueue + serve), lower is better",
        false,
        &cols,
    );
    let mut serve = Table::new(
        "waiters_serve",
        &format!("Waiters: serve phase only (release the {size} held connections until every waiter is done)"),
        "CPU ns per waiter, lower is better",
        false,
        &cols,
    );
    for &w in counts {
        let set = rt.block_on(AsyncSet::new(size));
        let cb = UniRaw::new(size);
        drop(SyncPeer::hold(&cb, size));
        // Small W is repeated so that every sample serves at least 100k
        // waiters (one preemption must not decide a 1 ms sample).
        let reps = (if o.smoke { 10_000 } else { 100_000 } / w).max(1);
        let res = rounds(6, rounds_n, |i| {
            let mut acc = (0.0, 0.0, 0.0);
            for _ in 0..reps {
                let r = if i == 5 {
                    waiters_callback(&cb, size, w)
                } else {
                    each_async!(set, i, |p| rt.block_on(waiters_run(p, size, w)))
                };
                acc = (acc.0 + r.0 / reps as f64, acc.1 + r.1 / reps as f64, acc.2 + r.2 / reps as f64);
            }
            acc
        });
        let total_s: Vec<Vec<f64>> = res.iter().map(|v| v.iter().map(|x| x.0).collect()).collect();
        let serve_s: Vec<Vec<f64>> = res.iter().map(|v| v.iter().map(|x| x.2).collect()).collect();
        total.add(format!("W = {w}"), &total_s);
        serve.add(format!("W = {w}"), &serve_s);
        set.check();
        check_created("unipool acquire_callback", SyncPeer::created(&cb), size);
    }
    total.print();
    out.push(total);
    serve.print();
    out.push(serve);
}

/// Flat means the cost at the largest size is within this factor of the smallest.
const FLAT_LIMIT: f64 = 1.5;

fn goals(tables: &[Table]) {
    println!("\n### Goals\n");
    let find = |k: &str| tables.iter().find(|t| t.key == k);
    for k in ["uncontended_async", "uncontended_sync"] {
        let Some(t) = find(k) else { continue };
        for u in t.uni_cols() {
            if let Some(v) = t.rows[0].1[u] {
                let met = if v < 100.0 { "MET" } else { "NOT MET" };
                println!("- uncontended acquire+release < 100 ns, {}: {v:.0} ns -> {met}", t.cols[u].0);
                println!("GOAL\tuncontended<100ns\t{}\t{v:.1}\t{met}", t.cols[u].0);
            }
        }
    }
    for k in ["async", "threads", "async_cpu"] {
        let Some(t) = find(k) else { continue };
        for u in t.uni_cols() {
            let ratios: Vec<(f64, &str)> = t.rows.iter().filter_map(|(l, r)| t.ratio(r, u).map(|x| (x.0, l.as_str()))).collect();
            let Some(worst) = ratios.iter().cloned().reduce(|a, b| if b.0 < a.0 { b } else { a }) else { continue };
            let ok = ratios.iter().filter(|r| r.0 >= 1.5).count();
            let met = if ok == ratios.len() { "MET" } else { "NOT MET" };
            println!(
                "- contended ({k}) >= 1.5x best peer in every scenario, {}: {ok}/{} scenarios; worst {:.2}x ({}) -> {met}",
                t.cols[u].0,
                ratios.len(),
                worst.0,
                worst.1
            );
            println!("GOAL\tcontended>=1.5x\t{} ({k})\t{:.3}\t{met}", t.cols[u].0, worst.0);
        }
    }
    for k in ["size_async", "size_sync", "waiters_total", "waiters_serve"] {
        let Some(t) = find(k) else { continue };
        if t.rows.len() < 2 {
            continue;
        }
        let (first, last) = (&t.rows[0], &t.rows[t.rows.len() - 1]);
        for u in t.uni_cols() {
            if let (Some(a), Some(b)) = (first.1[u], last.1[u]) {
                let f = b / a;
                let met = if f <= FLAT_LIMIT { "MET" } else { "NOT MET" };
                println!(
                    "- flat cost ({k}), {}: {} -> {}: {a:.0} -> {b:.0} ns ({f:.2}x, limit {FLAT_LIMIT}x) -> {met}",
                    t.cols[u].0, first.0, last.0
                );
                println!("GOAL\tflat\t{} ({k})\t{f:.3}\t{met}", t.cols[u].0);
            }
        }
    }
}

/// `--profile-op NAME ITERS [TASKS]`: runs exactly ITERS acquire+release of
/// one contender (pool of 8, connections opened first), for callgrind/perf:
/// run it with ITERS = 0 and N and divide the difference by N for a per-op cost.
/// NAME: uni-pool, uni-raw, uni-try, uni-blocking, uni-blocking-pool, deadpool, bb8, mobc, r2d2.
/// With TASKS > 1 the async contenders run TASKS tasks holding across a yield.
fn profile_op(rt: &tokio::runtime::Runtime, name: &str, iters: u64, tasks: usize) {
    async fn run<P: AsyncPeer>(p: P, iters: u64, tasks: usize) {
        drop(p.hold(8).await);
        let p = Arc::new(p);
        let per = iters / tasks as u64;
        let hs: Vec<_> = (0..tasks)
            .map(|_| {
                let p = p.clone();
                tokio::spawn(async move {
                    for _ in 0..per {
                        p.op(tasks > 1).await;
                    }
                })
            })
            .collect();
        for h in hs {
            h.await.expect("task");
        }
    }
    fn run_sync<P: SyncPeer>(p: P, iters: u64) {
        drop(p.hold(8));
        for _ in 0..iters {
            p.op(false);
        }
    }
    let t = Instant::now();
    match name {
        "uni-pool" => rt.block_on(run(UniPool::new(8), iters, tasks)),
        "uni-raw" => rt.block_on(run(UniRaw::new(8), iters, tasks)),
        "deadpool" => rt.block_on(run(Dead::new(8), iters, tasks)),
        "bb8" => rt.block_on(async { run(Bb8::new(8).await, iters, tasks).await }),
        "mobc" => rt.block_on(run(Mobc::new(8), iters, tasks)),
        "uni-try" => run_sync(UniTry(UniRaw::new(8)), iters),
        "uni-blocking" => run_sync(UniRaw::new(8), iters),
        "r2d2" => run_sync(R2::new(8), iters),
        "uni-blocking-pool" => run_sync(UniBlk::new(8), iters),
        other => panic!("--profile-op: unknown contender '{other}' (allowed: uni-pool, uni-raw, uni-try, uni-blocking, uni-blocking-pool, deadpool, bb8, mobc, r2d2)"),
    }
    println!("profile-op {name}: {iters} ops in {:?}", t.elapsed());
}

fn main() {
    let o = Opts::from_env();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let _guard = rt.enter();
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--profile-op") {
        let name = args.get(i + 1).map(String::as_str).unwrap_or("uni-try");
        let iters = args.get(i + 2).and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
        let tasks = args.get(i + 3).and_then(|v| v.parse().ok()).unwrap_or(1usize).max(1);
        profile_op(&rt, name, iters, tasks);
        return;
    }
    let began = Instant::now();
    let mut tables = Vec::new();
    println!(
        "# unipool core benchmark ({}; {} round(s) per scenario, {} ms per timed sample; {} CPUs; profile {})",
        if o.smoke { "SMOKE: tiny, numbers not meaningful" } else { "full" },
        o.rounds,
        o.sample.as_millis(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        if cfg!(debug_assertions) { "with debug assertions" } else { "release (no debug assertions)" },
    );
    if o.wants("uncontended") {
        section_uncontended(&rt, &o, &mut tables);
    }
    if o.wants("async") {
        section_async(&rt, &o, &mut tables);
    }
    if o.wants("threads") {
        section_threads(&o, &mut tables);
    }
    if o.wants("size") {
        section_size(&rt, &o, &mut tables);
    }
    if o.wants("waiters") {
        section_waiters(&rt, &o, &mut tables);
    }
    goals(&tables);
    println!("\nbenchmark finished in {:.1} s", began.elapsed().as_secs_f64());
}
