"""unipool.sqlalchemy.QueuePool through create_engine against real databases."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy import event, exc, pool as sa_pool

import unipool
from unipool.sqlalchemy import QueuePool

from conftest import backend_pid_sync, terminate


def engine(url, **kw):
    kw.setdefault("poolclass", QueuePool)
    return sa.create_engine(url, **kw)


def test_is_a_sqlalchemy_pool_with_its_defaults(sa_pg_url):
    e = engine(sa_pg_url)
    try:
        p = e.pool
        assert isinstance(p, QueuePool) and isinstance(p, sa_pool.Pool)
        assert p.size() == 5
        assert p.timeout() == 30.0
        assert p._max_overflow == 10
        assert p._recycle == -1
        assert p._pre_ping is False
        assert p._use_lifo is False
        assert p._reset_on_return is sa_pool.base.reset_rollback
        with e.connect() as c:
            assert c.execute(sa.text("SELECT 1")).scalar() == 1
        assert p.checkedin() == 1 and p.checkedout() == 0
    finally:
        e.dispose()


def test_create_engine_arguments_reach_the_pool(sa_pg_url):
    e = engine(
        sa_pg_url,
        pool_size=3,
        max_overflow=2,
        pool_timeout=1.5,
        pool_use_lifo=True,
        pool_recycle=3600,
        pool_pre_ping=True,
        pool_logging_name="orders",
        pool_reset_on_return="commit",
        min_idle=1,
        idle_timeout=600,
        max_uses=1000,
    )
    try:
        p = e.pool
        assert (p.size(), p._max_overflow, p.timeout()) == (3, 2, 1.5)
        assert p._use_lifo is True and p._recycle == 3600 and p._pre_ping is True
        assert p._reset_on_return is sa_pool.base.reset_commit
        cfg = p.unipool_config
        assert cfg.name == "orders"
        assert (cfg.pool_size, cfg.max_overflow, cfg.pool_timeout) == (3, 2, 1.5)
        assert cfg.use_lifo is True and cfg.min_idle == 1
        assert cfg.idle_timeout == 600 and cfg.max_uses == 1000
        # SQLAlchemy keeps doing recycle / pre-ping / reset itself
        assert cfg.pool_recycle is None and cfg.pool_pre_ping is False
        assert cfg.reset_on_return == "none"
        # min_idle is filled in the background without any checkout
        deadline = time.monotonic() + 10
        while p.checkedin() < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert p.checkedin() == 1
    finally:
        e.dispose()


def test_unknown_create_engine_argument_still_rejected(sa_pg_url):
    with pytest.raises(TypeError, match="pool_sise"):
        engine(sa_pg_url, pool_sise=3)


def test_overflow_accounting(sa_pg_url):
    e = engine(sa_pg_url, pool_size=2, max_overflow=2)
    closes = []
    event.listen(e.pool, "close", lambda dbapi_conn, rec: closes.append(rec))
    p = e.pool
    try:
        assert (p.checkedin(), p.checkedout(), p.overflow()) == (0, 0, -2)
        conns = []
        expected = [(0, 1, -1), (0, 2, 0), (0, 3, 1), (0, 4, 2)]
        for exp in expected:
            conns.append(e.raw_connection())
            assert (p.checkedin(), p.checkedout(), p.overflow()) == exp
        assert p.status() == (
            "Pool size: 2  Connections in pool: 0 Current Overflow: 2 Current Checked out connections: 4"
        )
        # SQLAlchemy's rule: a returned connection is kept while fewer than
        # pool_size are idle, and closed (overflow) once pool_size are idle
        expected = [(1, 3, 2), (2, 2, 2), (2, 1, 1), (2, 0, 0)]
        for c, exp in zip(conns, expected):
            c.close()
            assert (p.checkedin(), p.checkedout(), p.overflow()) == exp
        assert len(closes) == 2
        st = p.stats()
        assert st.open == 2 and st.idle == 2 and st.in_use == 0
    finally:
        e.dispose()


def test_timeout_message_shape(sa_pg_url):
    e = engine(sa_pg_url, pool_size=1, max_overflow=0, pool_timeout=0.3)
    try:
        held = e.connect()
        t0 = time.monotonic()
        with pytest.raises(exc.TimeoutError) as ei:
            e.connect()
        waited = time.monotonic() - t0
        assert waited >= 0.29
        msg = str(ei.value)
        assert msg.startswith(
            "QueuePool limit of size 1 overflow 0 reached, connection timed out, timeout 0.30"
        ), msg
        assert ei.value.code == "3o7r"
        assert e.pool.stats().timeouts == 1
        held.close()
        with e.connect() as c:
            assert c.execute(sa.text("SELECT 1")).scalar() == 1
    finally:
        e.dispose()


def test_waiting_releases_the_gil_and_gets_the_returned_connection(sa_pg_url):
    e = engine(sa_pg_url, pool_size=1, max_overflow=0, pool_timeout=10)
    try:
        held = e.raw_connection()
        got = []

        def waiter():
            c = e.raw_connection()
            got.append(backend_pid_sync(c.dbapi_connection))
            c.close()

        t = threading.Thread(target=waiter)
        t.start()
        deadline = time.monotonic() + 10
        while e.pool.stats().waiting != 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        # while the waiter is parked in the core, this thread keeps running Python
        counter = 0
        t_end = time.monotonic() + 0.3
        while time.monotonic() < t_end:
            counter += 1
        assert counter > 1000
        assert t.is_alive() and e.pool.stats().waiting == 1
        pid = backend_pid_sync(held.dbapi_connection)
        held.close()
        t.join(10)
        assert not t.is_alive()
        assert got == [pid]  # direct hand-off of the same connection
    finally:
        e.dispose()


def test_pre_ping_after_pg_terminate_backend(sa_pg_url, admin_conn):
    e = engine(sa_pg_url, pool_size=2, pool_pre_ping=True)
    invalidated = []
    event.listen(e.pool, "invalidate", lambda c, r, x: invalidated.append(x))
    try:
        with e.connect() as c:
            pid = c.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        terminate(admin_conn, pid)
        with e.connect() as c:
            pid2 = c.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        assert pid2 != pid
        assert invalidated, "pre-ping should have invalidated the dead connection"
        assert e.pool.checkedout() == 0 and e.pool.checkedin() == 1
    finally:
        e.dispose()


def test_without_pre_ping_dead_connection_is_invalidated_then_replaced(sa_pg_url, admin_conn):
    e = engine(sa_pg_url, pool_size=1, max_overflow=0)
    try:
        with e.connect() as c:
            pid = c.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        terminate(admin_conn, pid)
        with pytest.raises(exc.OperationalError):
            with e.connect() as c:
                c.execute(sa.text("SELECT 1"))
        with e.connect() as c:
            assert c.execute(sa.text("SELECT pg_backend_pid()")).scalar() != pid
        assert e.pool.checkedout() == 0
        assert e.pool.stats().open == 1
    finally:
        e.dispose()


def test_recycle(sa_pg_url):
    e = engine(sa_pg_url, pool_size=1, pool_recycle=1)
    connects = []
    event.listen(e.pool, "connect", lambda c, r: connects.append(r))
    try:
        with e.connect() as c:
            pid = c.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        with e.connect() as c:
            assert c.execute(sa.text("SELECT pg_backend_pid()")).scalar() == pid
        time.sleep(1.2)
        with e.connect() as c:
            assert c.execute(sa.text("SELECT pg_backend_pid()")).scalar() != pid
        assert len(connects) == 2
        assert e.pool.checkedin() == 1 and e.pool.stats().open == 1
    finally:
        e.dispose()


def test_dispose_while_connections_are_out(sa_pg_url):
    e = engine(sa_pg_url, pool_size=2, max_overflow=0)
    closed = []
    event.listen(e.pool, "close", lambda c, r: closed.append(r))
    p = e.pool
    try:
        c1 = e.raw_connection()
        c2 = e.raw_connection()
        c2.close()
        assert p.checkedin() == 1 and p.checkedout() == 1
        p.dispose()
        assert len(closed) == 1  # the idle one
        assert p.checkedin() == 0 and p.checkedout() == 1
        # the one that was out still works, and is closed when it comes back
        cur = c1.cursor()
        cur.execute("SELECT 1")
        assert cur.fetchone()[0] == 1
        cur.close()
        c1.close()
        assert len(closed) == 2
        assert p.checkedin() == 0 and p.checkedout() == 0
        assert p.stats().generation == 1
        with e.connect() as c:
            assert c.execute(sa.text("SELECT 1")).scalar() == 1
    finally:
        e.dispose()


def test_engine_dispose_recreates_same_configuration(sa_pg_url):
    e = engine(sa_pg_url, pool_size=3, max_overflow=1, pool_timeout=2, min_idle=0, max_uses=7)
    old = e.pool
    with e.connect() as c:
        c.execute(sa.text("SELECT 1"))
    e.dispose()
    new = e.pool
    assert new is not old and type(new) is QueuePool
    assert (new.size(), new._max_overflow, new.timeout()) == (3, 1, 2)
    assert new.unipool_config.max_uses == 7
    assert old.checkedin() == 0
    with e.connect() as c:
        assert c.execute(sa.text("SELECT 1")).scalar() == 1
    e.dispose()


def test_pool_events_fire(sa_pg_url):
    e = engine(sa_pg_url, pool_size=1, max_overflow=0)
    seen = []
    for name in ("connect", "first_connect", "checkout", "checkin", "reset", "close", "invalidate"):
        event.listen(e.pool, name, (lambda n: lambda *a: seen.append(n))(name))
    try:
        with e.connect() as c:
            c.execute(sa.text("SELECT 1"))
        c = e.connect()
        c.invalidate()
        c.close()
        e.pool.dispose()
    finally:
        e.dispose()
    for name in ("connect", "checkout", "checkin", "reset", "invalidate", "close"):
        assert name in seen, (name, seen)


def test_reset_on_return_rolls_back(sa_pg_url):
    e = engine(sa_pg_url, pool_size=1, max_overflow=0)
    try:
        raw = e.raw_connection()
        cur = raw.cursor()
        cur.execute("SELECT 1")
        assert raw.dbapi_connection.info.transaction_status != 0  # in a transaction
        raw.close()
        raw = e.raw_connection()
        assert raw.dbapi_connection.info.transaction_status == 0  # IDLE: rolled back
        raw.close()
    finally:
        e.dispose()


def test_connect_error_is_the_dbapi_error_and_pool_stays_consistent(sa_pg_url):
    bad = sa_pg_url.rsplit("/", 1)[0] + "/no_such_database_unipool"
    e = engine(bad, pool_size=1, max_overflow=0, pool_timeout=1)
    try:
        for _ in range(3):
            with pytest.raises(exc.OperationalError) as ei:
                e.connect()
            assert "no_such_database_unipool" in str(ei.value)
        p = e.pool
        assert p.checkedout() == 0 and p.checkedin() == 0
        st = p.stats()
        assert st.create_failures == 3 and st.open == 0 and st.pending == 0
    finally:
        e.dispose()


def test_invalidate_and_detach_free_or_keep_slots(sa_pg_url):
    e = engine(sa_pg_url, pool_size=1, max_overflow=0, pool_timeout=1)
    try:
        c = e.raw_connection()
        c.invalidate()
        c.close()
        # the record stays (SQLAlchemy semantics) and reconnects on next checkout
        with e.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1
        c = e.raw_connection()
        dbapi = c.dbapi_connection
        c.detach()
        c.close()
        # detached: the slot is free again
        with e.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1
        dbapi.close()
        assert e.pool.checkedout() == 0
    finally:
        e.dispose()


def test_pool_size_zero_means_unlimited(sa_pg_url):
    e = engine(sa_pg_url, pool_size=0, max_overflow=0)
    try:
        conns = [e.raw_connection() for _ in range(7)]
        assert e.pool.checkedout() == 7 and e.pool.overflow() == 0
        for c in conns:
            c.close()
        assert e.pool.checkedout() == 0
    finally:
        e.dispose()


def test_many_threads_zero_errors_and_the_limit_holds(sa_pg_url):
    e = engine(sa_pg_url, pool_size=3, max_overflow=2, pool_timeout=30)
    errors = []
    peak = [0]
    lock = threading.Lock()

    def work():
        for _ in range(25):
            try:
                with e.connect() as c:
                    c.execute(sa.text("SELECT 1"))
                    s = e.pool.stats()
                    with lock:
                        peak[0] = max(peak[0], s.open + s.pending)
            except Exception as ex:  # pragma: no cover - reported below
                errors.append(ex)

    threads = [threading.Thread(target=work) for _ in range(16)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        assert 1 <= peak[0] <= 5
        assert e.pool.checkedout() == 0 and e.pool.checkedin() <= 3
        assert e.pool.stats().acquired >= 400
    finally:
        e.dispose()


def test_psycopg2_driver(sa_pg_url_psycopg2):
    e = engine(sa_pg_url_psycopg2, pool_size=2)
    try:
        with e.connect() as c:
            assert c.execute(sa.text("SELECT 1")).scalar() == 1
        assert e.pool.checkedin() == 1
    finally:
        e.dispose()


def test_sqlite_file_database(sqlite_url):
    e = engine(sqlite_url, pool_size=2, max_overflow=1)
    try:
        with e.begin() as c:
            c.execute(sa.text("CREATE TABLE t (x INTEGER)"))
            c.execute(sa.text("INSERT INTO t VALUES (1), (2)"))
        results = []

        def read():
            with e.connect() as c:
                results.append(c.execute(sa.text("SELECT count(*) FROM t")).scalar())

        ts = [threading.Thread(target=read) for _ in range(6)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(30)
        assert results == [2] * 6
        assert e.pool.checkedout() == 0 and 1 <= e.pool.checkedin() <= 2
    finally:
        e.dispose()


def test_core_metrics_and_stats_from_the_sqlalchemy_pool(sa_pg_url):
    e = engine(sa_pg_url, pool_size=2, pool_logging_name="metricspool")
    try:
        with e.connect() as c:
            c.execute(sa.text("SELECT 1"))
        text = e.pool.metrics_text()
        assert 'db_client_connection_pool_name="metricspool"' in text
        assert e.pool.stats().acquired == 1 and e.pool.stats().created == 1
    finally:
        e.dispose()


def test_core_events_and_prometheus_collector_on_the_sqlalchemy_pool(sa_pg_url):
    import prometheus_client

    from unipool.prometheus import UnipoolCollector

    e = engine(sa_pg_url, pool_size=1, max_overflow=0, pool_timeout=0.1, pool_logging_name="saevents")
    events = []
    e.pool.add_listener(events.append)
    try:
        with e.connect() as c:
            c.execute(sa.text("SELECT 1"))
            with pytest.raises(exc.TimeoutError):
                e.connect()
        kinds = [ev["event"] for ev in events]
        for k in ("connect", "checkout", "timeout", "checkin"):
            assert k in kinds, kinds
        reg = prometheus_client.CollectorRegistry()
        reg.register(UnipoolCollector(e.pool))
        out = prometheus_client.generate_latest(reg).decode()
        assert 'db_client_connection_pool_name="saevents"' in out
    finally:
        e.dispose()
