//! Redis connector against the machine's Redis (REDIS_URL), and a 3-master Redis
//! Cluster started on loopback ports by tests/scripts/redis-cluster.sh.

mod connector_support;

use std::time::Duration;

use connector_support::*;
use unipool::connectors::redis::{RedisClusterManager, RedisManager};
use unipool::{ErrorKind, Pool, PoolConfig};

fn config(pool_size: usize, max_overflow: i64) -> PoolConfig {
    let mut c = PoolConfig::default();
    c.pool_size = pool_size;
    c.max_overflow = max_overflow;
    c.pool_timeout = Duration::from_secs(10);
    c.connect_timeout = Duration::from_secs(5);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_command_return() {
    let pool = Pool::new(RedisManager::from_url(&redis_url()).unwrap(), config(2, 0)).unwrap();
    let key = format!("unipool:test:{}", std::process::id());
    let id1: i64 = {
        let mut conn = pool.get().await.unwrap();
        let _: () = redis::cmd("SET").arg(&key).arg("v1").arg("EX").arg(60).query_async(&mut *conn).await.unwrap();
        let v: String = redis::cmd("GET").arg(&key).query_async(&mut *conn).await.unwrap();
        assert_eq!(v, "v1");
        redis::cmd("CLIENT").arg("ID").query_async(&mut *conn).await.unwrap()
    };
    assert!(eventually(Duration::from_secs(5), || pool.status().idle == 1).await, "{:?}", pool.status());
    let mut conn = pool.get().await.unwrap();
    let id2: i64 = redis::cmd("CLIENT").arg("ID").query_async(&mut *conn).await.unwrap();
    assert_eq!(id1, id2, "idle connection was not reused");
    let _: () = redis::cmd("DEL").arg(&key).query_async(&mut *conn).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_ping_replaces_a_killed_connection() {
    let mut cfg = config(1, 0);
    cfg.pool_pre_ping = true;
    cfg.pre_ping_bypass = Duration::ZERO;
    let pool = Pool::new(RedisManager::from_url(&redis_url()).unwrap(), cfg).unwrap();
    let id: i64 = {
        let mut conn = pool.get().await.unwrap();
        redis::cmd("CLIENT").arg("ID").query_async(&mut *conn).await.unwrap()
    };
    assert!(eventually(Duration::from_secs(5), || pool.status().idle == 1).await);
    let client = redis::Client::open(redis_url()).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    let killed: i64 = redis::cmd("CLIENT").arg("KILL").arg("ID").arg(id).query_async(&mut admin).await.unwrap();
    assert_eq!(killed, 1);
    let mut conn = pool.get().await.expect("pre-ping should hide the killed connection");
    let id2: i64 = redis::cmd("CLIENT").arg("ID").query_async(&mut *conn).await.unwrap();
    assert_ne!(id, id2);
    assert!(pool.status().ping_failures >= 1, "{:?}", pool.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_workers_share_a_small_pool() {
    let pool = Pool::new(RedisManager::from_url(&redis_url()).unwrap(), config(4, 4)).unwrap();
    let mut tasks = Vec::new();
    for w in 0..32 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..20 {
                let mut conn = pool.get().await.map_err(|e| e.to_string())?;
                let key = format!("unipool:test:w{w}:{}", std::process::id());
                let n: i64 = redis::cmd("INCR").arg(&key).query_async(&mut *conn).await.map_err(|e| e.to_string())?;
                if n != i + 1 {
                    return Err(format!("INCR gave {n}, expected {}", i + 1));
                }
                if i == 19 {
                    let _: () = redis::cmd("DEL").arg(&key).query_async(&mut *conn).await.map_err(|e| e.to_string())?;
                }
            }
            Ok::<_, String>(())
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert!(pool.status().open <= 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_error_masks_the_password() {
    let mut cfg = config(1, 0);
    cfg.pool_timeout = Duration::from_secs(1);
    let pool = Pool::new(RedisManager::from_url("redis://:R3dis-pw@127.0.0.1:1/0").unwrap(), cfg).unwrap();
    let err = pool.get().await.expect_err("connected to a closed port");
    let text = format!("{err} {err:?} {}", chain(&err));
    assert!(!text.contains("R3dis-pw"), "{text}");
    assert!(matches!(err.kind(), ErrorKind::ConnectFailed | ErrorKind::PoolTimeout), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_master_cluster() {
    let cluster = RedisCluster::start(port_from_env("UNIPOOL_TEST_REDIS_CLUSTER_PORT", 7301));
    let pool = Pool::new(RedisClusterManager::from_url(&cluster.url()).unwrap(), config(4, 4)).unwrap();
    let mut tasks = Vec::new();
    for w in 0..16 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                let mut conn = pool.get().await.map_err(|e| e.to_string())?;
                let key = format!("unipool:{w}:{i}");
                let _: () = redis::cmd("SET").arg(&key).arg(w * 100 + i).query_async(&mut *conn).await.map_err(|e| e.to_string())?;
                let v: i64 = redis::cmd("GET").arg(&key).query_async(&mut *conn).await.map_err(|e| e.to_string())?;
                if v != (w * 100 + i) as i64 {
                    return Err(format!("{key} = {v}"));
                }
            }
            Ok::<_, String>(())
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    // The 400 keys really are spread over the three masters.
    let mut total = 0;
    for port in cluster.ports() {
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
        let mut c = client.get_multiplexed_async_connection().await.unwrap();
        let n: i64 = redis::cmd("DBSIZE").query_async(&mut c).await.unwrap();
        assert!(n > 0, "master on port {port} holds no keys");
        total += n;
    }
    assert_eq!(total, 400);
    let mut conn = pool.get().await.unwrap();
    unipool::Manager::ping(&RedisClusterManager::from_url(&cluster.url()).unwrap(), &mut conn)
        .await
        .expect("PING through the cluster connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_url_speaks_tls() {
    let server = RedisTls::start(port_from_env("UNIPOOL_TEST_REDIS_TLS_PORT", 7391));
    // self-signed test certificate: redis-rs's `#insecure` skips verification
    let url = format!("rediss://127.0.0.1:{}/#insecure", server.port);
    let pool = Pool::new(RedisManager::from_url(&url).unwrap(), config(2, 0)).unwrap();
    let mut conn = pool.get().await.expect("TLS connection");
    let pong: String = redis::cmd("PING").query_async(&mut *conn).await.unwrap();
    assert_eq!(pong, "PONG");
    drop(conn);

    // Control: plain redis:// to the TLS-only port does not get an answer.
    let mut cfg = config(1, 0);
    cfg.pool_timeout = Duration::from_secs(2);
    cfg.connect_timeout = Duration::from_secs(1);
    let plain = Pool::new(
        RedisManager::from_url(&format!("redis://127.0.0.1:{}?response_timeout=0.5", server.port)).unwrap(),
        cfg,
    )
    .unwrap();
    let r = match plain.get().await {
        Ok(mut c) => redis::cmd("PING").query_async::<String>(&mut *c).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    assert!(r.is_err(), "plaintext PING to a TLS-only port succeeded");
}
