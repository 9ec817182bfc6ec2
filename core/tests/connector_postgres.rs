//! PostgreSQL connector against the machine's real server (DATABASE_URL),
//! a throwaway instance the test stops and starts, and a real PgBouncer.

mod connector_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use connector_support::*;
use sqlx::{Connection, Executor};
use unipool::connectors::postgres::{PgManager, PgReset};
use unipool::{ErrorKind, Pool, PoolConfig};

fn config(pool_size: usize, max_overflow: i64) -> PoolConfig {
    let mut c = PoolConfig::default();
    c.pool_size = pool_size;
    c.max_overflow = max_overflow;
    c.pool_timeout = Duration::from_secs(10);
    c.connect_timeout = Duration::from_secs(5);
    c
}

fn pool(url: &str, cfg: PoolConfig) -> Pool<PgManager> {
    Pool::new(PgManager::from_url(url).expect("manager"), cfg).expect("pool")
}

async fn backend_pid(conn: &mut sqlx::PgConnection) -> i32 {
    sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(conn).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_query_return_reuses_the_connection() {
    let pool = pool(&database_url(), config(2, 0));
    let pid1 = {
        let mut conn = pool.get().await.expect("checkout");
        let v: i32 = sqlx::query_scalar("SELECT $1::int4 + 1")
            .bind(41)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(v, 42);
        backend_pid(&mut conn).await
    };
    assert!(
        eventually(Duration::from_secs(5), || pool.status().idle == 1).await,
        "connection not back in the pool: {:?}",
        pool.status()
    );
    let mut conn = pool.get().await.expect("second checkout");
    assert_eq!(backend_pid(&mut conn).await, pid1, "idle connection was not reused");
    let st = pool.status();
    assert_eq!((st.open, st.in_use), (1, 1), "{st:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_from_the_url_is_honoured() {
    // The machine's PostgreSQL has ssl=on (snakeoil certificate): require => TLS, disable => plain.
    let base = database_url();
    let sep = if base.contains('?') { '&' } else { '?' };
    for (mode, want) in [("require", true), ("disable", false)] {
        let pool = pool(&format!("{base}{sep}sslmode={mode}"), config(1, 0));
        let mut conn = pool.get().await.unwrap_or_else(|e| panic!("sslmode={mode}: {e}"));
        let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(ssl, want, "sslmode={mode}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_transaction_is_rolled_back_on_return() {
    let table = format!("unipool_reset_{}", std::process::id());
    let pool = pool(&database_url(), config(1, 0));
    {
        let mut conn = pool.get().await.unwrap();
        conn.execute(format!("CREATE TABLE IF NOT EXISTS {table} (x int)").as_str()).await.unwrap();
        // A Transaction the caller forgot to finish (leaked: sqlx still counts it open).
        let mut tx = conn.begin().await.unwrap();
        tx.execute(format!("INSERT INTO {table} VALUES (1)").as_str()).await.unwrap();
        std::mem::forget(tx);
    }
    {
        // A Transaction that was dropped: sqlx queues a ROLLBACK, the reset flushes it.
        let mut conn = pool.get().await.unwrap();
        let mut tx = conn.begin().await.unwrap();
        tx.execute(format!("INSERT INTO {table} VALUES (2)").as_str()).await.unwrap();
        drop(tx);
    }
    let mut conn = pool.get().await.unwrap();
    // Same connection (pool of 1): an uncommitted insert would be visible to it.
    let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}")).fetch_one(&mut *conn).await.unwrap();
    assert_eq!(n, 0, "rows of an unfinished transaction survived the return");
    assert!(!conn.is_in_transaction());
    assert_not_in_transaction_block(&mut conn).await;
    // and sqlx's own bookkeeping agrees: a new transaction is a real BEGIN, not a SAVEPOINT
    let tx = conn.begin().await.expect("begin after the reset");
    tx.rollback().await.unwrap();
    conn.execute(format!("DROP TABLE {table}").as_str()).await.unwrap();
}

/// SAVEPOINT outside a transaction block fails with 25P01: proof that none is open.
async fn assert_not_in_transaction_block(conn: &mut sqlx::PgConnection) {
    match conn.execute("SAVEPOINT unipool_probe").await {
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("25P01") => {}
        Ok(_) => panic!("a transaction block is still open on the returned connection"),
        Err(e) => panic!("unexpected error from the probe: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discard_all_mode_cleans_session_state_and_raw_begin() {
    let base = database_url();
    let sep = if base.contains('?') { '&' } else { '?' };
    let manager = PgManager::from_url(&format!("{base}{sep}reset=discard-all")).unwrap();
    assert_eq!(manager.get_reset_mode(), PgReset::DiscardAll);
    let pool = Pool::new(manager, config(1, 0)).unwrap();
    let pid = {
        let mut conn = pool.get().await.unwrap();
        conn.execute("BEGIN").await.unwrap(); // raw BEGIN: invisible to sqlx
        conn.execute("SET application_name = 'dirty'").await.unwrap();
        conn.execute("CREATE TEMP TABLE unipool_tmp (x int)").await.unwrap();
        // a prepared (cached) statement, which DISCARD ALL deallocates
        let _: i32 = sqlx::query_scalar("SELECT $1::int4").bind(1).fetch_one(&mut *conn).await.unwrap();
        backend_pid(&mut conn).await
    };
    let mut conn = pool.get().await.unwrap();
    assert_eq!(backend_pid(&mut conn).await, pid, "expected the same connection back");
    let app: String = sqlx::query_scalar("SHOW application_name").fetch_one(&mut *conn).await.unwrap();
    assert_ne!(app, "dirty");
    let tmp: Option<String> = sqlx::query_scalar("SELECT to_regclass('pg_temp.unipool_tmp')::text")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(tmp, None, "temp table survived DISCARD ALL");
    // the statement cache was cleared with it: the same query prepares again fine
    let v: i32 = sqlx::query_scalar("SELECT $1::int4").bind(7).fetch_one(&mut *conn).await.unwrap();
    assert_eq!(v, 7);
    assert_not_in_transaction_block(&mut conn).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_ping_replaces_a_terminated_connection_silently() {
    let url = database_url();
    let mut cfg = config(2, 0);
    cfg.pool_pre_ping = true;
    cfg.pre_ping_bypass = Duration::ZERO;
    let pool = pool(&url, cfg.clone());
    let pid = {
        let mut conn = pool.get().await.unwrap();
        backend_pid(&mut conn).await
    };
    assert!(eventually(Duration::from_secs(5), || pool.status().idle == 1).await);
    terminate(&url, pid).await;

    // The caller never sees the dead connection: get() pings, drops it, connects anew.
    let mut conn = pool.get().await.expect("pre-ping should hide the terminated connection");
    let v: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut *conn).await.expect("query on the new connection");
    assert_eq!(v, 1);
    assert_ne!(backend_pid(&mut conn).await, pid);
    let st = pool.status();
    assert!(st.ping_failures >= 1, "the failed ping was not counted: {st:?}");
    drop(conn);

    // Control: without pre-ping the same situation reaches the caller (so the test can fail).
    let mut no_ping = cfg;
    no_ping.pool_pre_ping = false;
    let pool = Pool::new(PgManager::from_url(&url).unwrap(), no_ping).unwrap();
    let pid = {
        let mut conn = pool.get().await.unwrap();
        backend_pid(&mut conn).await
    };
    assert!(eventually(Duration::from_secs(5), || pool.status().idle == 1).await);
    terminate(&url, pid).await;
    let mut conn = pool.get().await.unwrap();
    let r: Result<i32, _> = sqlx::query_scalar("SELECT 1").fetch_one(&mut *conn).await;
    assert!(r.is_err(), "a terminated backend answered a query");
}

async fn terminate(url: &str, pid: i32) {
    let mut admin = sqlx::PgConnection::connect(url).await.unwrap();
    let ok: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)").bind(pid).fetch_one(&mut admin).await.unwrap();
    assert!(ok, "pg_terminate_backend({pid}) returned false");
    // wait until the backend is really gone
    for _ in 0..200 {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = $1")
            .bind(pid)
            .fetch_one(&mut admin)
            .await
            .unwrap();
        if n == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("backend {pid} still alive after pg_terminate_backend");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_load_test_100_sleepers_on_5_plus_10() {
    let mut cfg = config(5, 10);
    cfg.pool_timeout = Duration::from_secs(30);
    let pool = pool(&database_url(), cfg);
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = pool.get().await?;
            let (_, one): ((), i32) = sqlx::query_as("SELECT pg_sleep(0.1), 1")
                .fetch_one(&mut *conn)
                .await
                .map_err(|e| unipool::Error::new(ErrorKind::Internal, e.to_string()))?;
            Ok::<i32, unipool::Error>(one)
        }));
    }
    let mut errors = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(1) => {}
            Ok(v) => errors.push(format!("wrong value {v}")),
            Err(e) => errors.push(e.to_string()),
        }
    }
    assert!(errors.is_empty(), "{} errors, first: {:?}", errors.len(), errors.first());
    let st = pool.status();
    eprintln!("classic load test: {st:?}");
    assert!(st.open <= 15, "pool exceeded pool_size + max_overflow: {st:?}");
    assert!(st.created >= 6, "overflow connections were never opened: {st:?}");
    assert!(
        eventually(Duration::from_secs(5), || pool.status().in_use == 0).await,
        "connections still checked out: {:?}",
        pool.status()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_errors_are_typed_and_never_show_the_password() {
    // Nothing listens on port 1 of loopback: connection refused.
    let mut cfg = config(1, 0);
    cfg.pool_timeout = Duration::from_secs(1);
    let pool = pool("postgres://postgres:Pa55w0rd-xyz@127.0.0.1:1/test", cfg);
    let err = pool.get().await.expect_err("connect to a closed port succeeded");
    let text = format!("{err} {err:?} {}", chain(&err));
    assert!(!text.contains("Pa55w0rd-xyz"), "password leaked: {text}");
    assert!(
        matches!(err.kind(), ErrorKind::ConnectFailed | ErrorKind::PoolTimeout),
        "unexpected kind {:?}: {text}",
        err.kind()
    );
    assert!(text.to_lowercase().contains("refused"), "driver error missing: {text}");
    assert_eq!(pool.status().in_use, 0);

    // A server that accepts and never answers: the connect timeout fires.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let m = PgManager::from_url(&format!("postgres://postgres:Pa55w0rd-xyz@127.0.0.1:{port}/test"))
        .unwrap()
        .connect_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let err = unipool::Manager::connect(&m).await.expect_err("silent server accepted");
    assert_eq!(err.kind(), ErrorKind::ConnectTimeout, "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!err.to_string().contains("Pa55w0rd-xyz"));
    drop(listener);
}

/// The database is stopped and started again under load (a throwaway instance on its own port).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_restart_under_load() {
    let server = ThrowawayPg::start(port_from_env("UNIPOOL_TEST_PG_PORT", 55433));
    let mut cfg = config(4, 2);
    cfg.pool_timeout = Duration::from_millis(1500);
    cfg.connect_timeout = Duration::from_secs(1);
    cfg.pool_pre_ping = true;
    cfg.pre_ping_bypass = Duration::ZERO;
    let pool = pool(&server.url(), cfg);

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let outcomes = Arc::new(parking_lot_free::Log::default());
    let mut workers = Vec::new();
    for _ in 0..16 {
        let (pool, stop, ok, outcomes) = (pool.clone(), stop.clone(), ok.clone(), outcomes.clone());
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                // A hang would show up as this outer timeout (pool_timeout is 1.5 s).
                match tokio::time::timeout(Duration::from_secs(10), pool.get()).await {
                    Err(_) => outcomes.push(Instant::now(), "HANG: get() did not return within 10s".into(), None),
                    Ok(Err(e)) => outcomes.push(Instant::now(), chain(&e), Some(e.kind())),
                    Ok(Ok(mut conn)) => match sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&mut *conn).await {
                        Ok(_) => {
                            ok.fetch_add(1, Ordering::Relaxed);
                            outcomes.push(Instant::now(), String::new(), None);
                        }
                        // a connection that died under the query: tell the pool
                        Err(e) => {
                            outcomes.push(Instant::now(), format!("query: {e}"), Some(ErrorKind::ConnectionBroken));
                            conn.invalidate();
                        }
                    },
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }

    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = ok.load(Ordering::Relaxed);
    assert!(before > 0, "no query succeeded before the outage");
    let down_at = Instant::now();
    tokio::task::spawn_blocking({
        let dir = server.dir.clone();
        move || run_script("pg.sh", &["stop", &dir])
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    tokio::task::spawn_blocking({
        let dir = server.dir.clone();
        move || run_script("pg.sh", &["start", &dir])
    })
    .await
    .unwrap();
    let up_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        tokio::time::timeout(Duration::from_secs(15), w)
            .await
            .expect("a worker hung")
            .unwrap();
    }

    let log = outcomes.take();
    let hangs: Vec<_> = log.iter().filter(|(_, m, _)| m.starts_with("HANG")).collect();
    assert!(hangs.is_empty(), "{} waiters hung", hangs.len());
    // During the outage callers got timeout errors that carry the last connect error.
    let outage: Vec<_> = log
        .iter()
        .filter(|(t, m, _)| *t > down_at && *t < up_at && !m.is_empty())
        .collect();
    assert!(!outage.is_empty(), "no caller saw an error while the server was down");
    let timeouts: Vec<_> = outage.iter().filter(|(_, _, k)| *k == Some(ErrorKind::PoolTimeout)).collect();
    assert!(!timeouts.is_empty(), "no PoolTimeout during the outage; saw {:?}", outage.first());
    assert!(
        timeouts.iter().any(|(_, m, _)| m.to_lowercase().contains("refused") || m.contains("connect")),
        "timeout errors do not carry the last connect error: {:?}",
        timeouts.first()
    );
    // Serving again within a second of the server coming back.
    let first_ok_after = log
        .iter()
        .filter(|(t, m, _)| *t > up_at && m.is_empty())
        .map(|(t, _, _)| *t)
        .min()
        .expect("the pool never served again after the restart");
    let recovery = first_ok_after - up_at;
    eprintln!(
        "restart: {} ok before the outage, {} errors during it ({} PoolTimeout), serving again {:?} after the server was back; first timeout: {:?}",
        before,
        outage.len(),
        timeouts.len(),
        recovery,
        timeouts.first().map(|(_, m, _)| m)
    );
    assert!(recovery <= Duration::from_secs(1), "pool took {recovery:?} to serve again");
    // No slot leaks: everything is back, and the full pool size can be checked out.
    assert!(
        eventually(Duration::from_secs(5), || {
            let s = pool.status();
            s.in_use == 0 && s.waiting == 0 && s.pending == 0
        })
        .await,
        "slots leaked: {:?}",
        pool.status()
    );
    let mut held = Vec::new();
    for _ in 0..6 {
        held.push(
            tokio::time::timeout(Duration::from_secs(5), pool.get())
                .await
                .expect("pool_size + max_overflow not reachable after the restart")
                .expect("checkout after restart"),
        );
    }
    assert_eq!(pool.status().in_use, 6);
    drop(held);
    drop(pool);
    drop(server);
}

/// A real PgBouncer in transaction mode: 64 concurrent workers, no prepared-statement errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgbouncer_transaction_mode_64_workers() {
    let bouncer = PgBouncer::start(port_from_env("UNIPOOL_TEST_PGBOUNCER_PORT", 6439), 8);
    let run = |url: String| async move {
        // 64 client connections (kept and reused) over PgBouncer's 8 server connections
        let mut cfg = config(64, 0);
        cfg.pool_timeout = Duration::from_secs(30);
        cfg.pool_pre_ping = true; // the ping is a simple query: fine through PgBouncer
        let pool = pool(&url, cfg);
        let mut tasks = Vec::new();
        for w in 0..64i32 {
            let pool = pool.clone();
            tasks.push(tokio::spawn(async move {
                let mut errors = Vec::new();
                for i in 0..25i32 {
                    let mut conn = match pool.get().await {
                        Ok(c) => c,
                        Err(e) => {
                            errors.push(e.to_string());
                            continue;
                        }
                    };
                    let r: Result<(), sqlx::Error> = async {
                        // statements with parameters run inside a transaction (one server connection)
                        let mut tx = conn.begin().await?;
                        let a: i32 = sqlx::query_scalar("SELECT $1::int4").bind(w * 1000 + i).fetch_one(&mut *tx).await?;
                        let b: i64 = sqlx::query_scalar("SELECT $1::int8 * 2")
                            .bind(i as i64)
                            .persistent(false)
                            .fetch_one(&mut *tx)
                            .await?;
                        tx.commit().await?;
                        assert_eq!((a, b), (w * 1000 + i, 2 * i as i64));
                        // simple-protocol statements work outside a transaction
                        conn.execute("SELECT 1").await?;
                        Ok(())
                    }
                    .await;
                    if let Err(e) = r {
                        errors.push(e.to_string());
                    }
                }
                errors
            }));
        }
        let mut errors = Vec::new();
        for t in tasks {
            errors.extend(t.await.unwrap());
        }
        let st = pool.status();
        assert!(st.created < st.acquired / 4, "connections were not reused, the test proves nothing: {st:?}");
        errors
    };

    let errors = run(format!("{}?pgbouncer=true", bouncer.url())).await;
    assert!(errors.is_empty(), "{} errors through PgBouncer, first: {:?}", errors.len(), errors.first());

    // Control: with sqlx's statement cache on (no pgbouncer option) the same work fails,
    // so the option is what makes the difference.
    let errors = run(bouncer.url()).await;
    eprintln!("control run (statement cache on): {} errors, first: {:?}", errors.len(), errors.first());
    assert!(
        errors.iter().any(|e| e.contains("prepared statement")),
        "expected prepared-statement errors without pgbouncer=true, got {} errors: {:?}",
        errors.len(),
        errors.first()
    );
}

/// A tiny append-only log shared by the restart test's workers (std Mutex; no extra deps).
mod parking_lot_free {
    use std::sync::Mutex;
    use std::time::Instant;
    use unipool::ErrorKind;

    type Entry = (Instant, String, Option<ErrorKind>);

    #[derive(Default)]
    pub struct Log(Mutex<Vec<Entry>>);

    impl Log {
        pub fn push(&self, t: Instant, msg: String, kind: Option<ErrorKind>) {
            self.0.lock().unwrap().push((t, msg, kind));
        }
        pub fn take(&self) -> Vec<Entry> {
            std::mem::take(&mut *self.0.lock().unwrap())
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_connect_error_is_not_retried_until_the_deadline() {
    // An unknown database (SQLSTATE 3D000) will not fix itself: get() must fail at once
    // with ConnectFailed instead of retrying for the whole pool_timeout.
    let base = database_url();
    let (head, _) = base.rsplit_once('/').expect("DATABASE_URL has a database path");
    let url = format!("{head}/unipool_no_such_database_{}", std::process::id());
    let mut cfg = config(1, 0);
    cfg.pool_timeout = Duration::from_secs(20);
    let pool = pool(&url, cfg);
    let started = Instant::now();
    let err = pool.get().await.expect_err("connected to a database that does not exist");
    assert_eq!(err.kind(), ErrorKind::ConnectFailed, "{}", chain(&err));
    assert!(started.elapsed() < Duration::from_secs(5), "retried a permanent error for {:?}", started.elapsed());
    assert!(chain(&err).contains("does not exist"), "{}", chain(&err));
}
