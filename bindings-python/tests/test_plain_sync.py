"""unipool.Pool (no SQLAlchemy) against PostgreSQL through psycopg."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

import unipool
from unipool import (
    ConfigError,
    ConnectError,
    PoolClosedError,
    PoolTimeoutError,
    UnipoolError,
    UsageError,
)
from unipool._common import STATS_FIELDS

from conftest import terminate


@pytest.fixture
def make(pg_url):
    pools = []

    def make(**kw):
        p = unipool.Pool(lambda: psycopg.connect(pg_url), **kw)
        pools.append(p)
        return p

    yield make
    for p in pools:
        p.close()


def test_connection_context_and_stats(make):
    pool = make(pool_size=2, max_overflow=1, name="plain")
    with pool.connection() as conn:
        assert conn.execute("SELECT 1").fetchone()[0] == 1
        s = pool.stats()
        assert (s.in_use, s.idle, s.open) == (1, 0, 1)
    s = pool.stats()
    assert (s.in_use, s.idle, s.open, s.created, s.acquired) == (0, 1, 1, 1, 1)
    assert s.name == "plain" and s.max == 3 and s.pool_size == 2 and s.max_overflow == 1
    assert tuple(s.keys()) == STATS_FIELDS
    assert dict(s)["idle"] == 1 and s["in_use"] == 0


def test_timeout_error_carries_status(make):
    pool = make(pool_size=1, max_overflow=1, pool_timeout=0.6)
    a = pool.getconn()
    b = pool.getconn()
    t0 = time.monotonic()
    with pytest.raises(PoolTimeoutError) as ei:
        pool.getconn()
    assert time.monotonic() - t0 >= 0.59
    e = ei.value
    assert isinstance(e, TimeoutError) and isinstance(e, UnipoolError)
    assert e.kind == "pool_timeout" and e.code == "UNIPOOL_POOL_TIMEOUT" and e.retryable
    assert e.status["in_use"] == 2 and e.status["open"] == 2
    assert e.waited >= 0.59
    # per-call timeout overrides the configured one
    t0 = time.monotonic()
    with pytest.raises(PoolTimeoutError) as ei:
        pool.getconn(timeout=0.05)
    assert ei.value.waited < 0.5 and time.monotonic() - t0 < 0.55
    pool.putconn(a)
    pool.putconn(b)
    assert pool.stats().timeouts == 2


def test_waiting_releases_the_gil(make):
    pool = make(pool_size=1, max_overflow=0, pool_timeout=10)
    held = pool.getconn()
    got = []
    t = threading.Thread(target=lambda: got.append(pool.getconn()))
    t.start()
    deadline = time.monotonic() + 10
    while pool.stats().waiting != 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    n = 0
    end = time.monotonic() + 0.3
    while time.monotonic() < end:
        n += 1
    assert n > 1000 and t.is_alive()
    pool.putconn(held)
    t.join(10)
    assert got == [held]
    pool.putconn(got[0])


def test_creator_exception_becomes_connect_error_with_cause(pg_url):
    calls = []

    def creator():
        calls.append(1)
        if len(calls) <= 2:
            raise psycopg.OperationalError("boom from the driver")
        return psycopg.connect(pg_url)

    pool = unipool.Pool(creator, pool_size=1, max_overflow=0, pool_timeout=1)
    try:
        for _ in range(2):
            with pytest.raises(ConnectError) as ei:
                pool.getconn()
            assert isinstance(ei.value.__cause__, psycopg.OperationalError)
            assert "boom from the driver" in str(ei.value)
        s = pool.stats()
        assert (s.open, s.in_use, s.pending, s.create_failures) == (0, 0, 0, 2)
        with pool.connection() as c:  # consistent: the slot is free again
            assert c.execute("SELECT 1").fetchone()[0] == 1
    finally:
        pool.close()


def test_pre_ping_replaces_a_dead_connection(make, admin_conn):
    pool = make(pool_size=1, max_overflow=0, pool_pre_ping=True, pre_ping_bypass=0)
    with pool.connection() as c:
        pid = c.execute("SELECT pg_backend_pid()").fetchone()[0]
    terminate(admin_conn, pid)
    with pool.connection() as c:
        assert c.execute("SELECT pg_backend_pid()").fetchone()[0] != pid
    s = pool.stats()
    assert s.ping_failures == 1 and s.pings >= 1 and s.open == 1 and s.created == 2


def test_ping_exception_is_counted_and_the_pool_stays_consistent(pg_url):
    closed = []

    def ping(conn):
        raise RuntimeError("ping says no")

    pool = unipool.Pool(
        lambda: psycopg.connect(pg_url),
        ping=ping,
        close=lambda c: (closed.append(c), c.close()),
        pool_size=1,
        pool_pre_ping=True,
        pre_ping_bypass=0,
    )
    try:
        c = pool.getconn()
        pool.putconn(c)
        c2 = pool.getconn()  # the idle one fails its ping: closed, a new one created
        assert c2 is not c and closed == [c]
        pool.putconn(c2)
        s = pool.stats()
        assert s.ping_failures >= 1 and s.open == 1 and s.in_use == 0
    finally:
        pool.close()


def test_reset_rolls_back_on_return(make):
    pool = make(pool_size=1, max_overflow=0)
    with pool.connection() as c:
        c.execute("SELECT 1")
        assert c.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
    with pool.connection() as c2:
        assert c2 is c
        assert c2.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_double_return_is_a_usage_error(make):
    pool = make(pool_size=1)
    c = pool.getconn()
    pool.putconn(c)
    with pytest.raises(UsageError) as ei:
        pool.putconn(c)
    assert isinstance(ei.value, RuntimeError)


def test_broken_connection_is_discarded(make):
    pool = make(pool_size=1, max_overflow=0)
    c = pool.getconn()
    pool.putconn(c, broken=True)
    assert c.closed
    s = pool.stats()
    assert s.open == 0 and s.invalidated == 1
    with pool.connection() as c2:
        assert c2 is not c


def test_close_wakes_waiters_and_rejects_new_checkouts(make):
    pool = make(pool_size=1, max_overflow=0, pool_timeout=10)
    held = pool.getconn()
    errs = []

    def wait():
        try:
            pool.getconn()
        except Exception as e:
            errs.append(e)

    t = threading.Thread(target=wait)
    t.start()
    time.sleep(0.1)
    pool.close()
    t.join(5)
    assert len(errs) == 1 and isinstance(errs[0], PoolClosedError)
    with pytest.raises(PoolClosedError):
        pool.getconn()
    pool.putconn(held)  # returned after close: closed, not kept
    assert held.closed
    assert pool.closed


def test_dispose_and_resize(make):
    pool = make(pool_size=3, max_overflow=0)
    conns = [pool.getconn() for _ in range(3)]
    pool.putconn(conns[0])
    pool.dispose()
    assert conns[0].closed
    pool.putconn(conns[1])
    assert conns[1].closed  # older generation: closed on return
    pool.resize(1, 0)
    pool.putconn(conns[2])
    assert pool.stats().open == 0 and pool.stats().pool_size == 1


def test_events(make):
    pool = make(pool_size=1, max_overflow=0, pool_timeout=0.05)
    events = []
    token = pool.add_listener(events.append)
    with pool.connection():
        with pytest.raises(PoolTimeoutError):
            pool.getconn()
    kinds = [e["event"] for e in events]
    for k in ("connect", "checkout", "timeout", "checkin"):
        assert k in kinds, kinds
    checkout = next(e for e in events if e["event"] == "checkout")
    assert isinstance(checkout["id"], int) and checkout["waited"] >= 0
    pool.remove_listener(token)
    n = len(events)
    with pool.connection():
        pass
    assert len(events) == n


def test_metrics_text_and_prometheus_collector(make):
    import prometheus_client
    from unipool.prometheus import UnipoolCollector

    pool = make(pool_size=2, name="promtest")
    with pool.connection():
        pass
    text = pool.metrics_text()
    assert 'db_client_connection_pool_name="promtest"' in text
    reg = prometheus_client.CollectorRegistry()
    reg.register(UnipoolCollector(pool))
    out = prometheus_client.generate_latest(reg).decode()
    assert 'db_client_connection_pool_name="promtest"' in out
    names = {fam.name for fam in reg.collect()}
    assert "db_client_connection_count" in names or any(n.startswith("db_client") for n in names), names


def test_min_idle_and_wait_ready(make):
    pool = make(pool_size=3, min_idle=2)
    pool.wait_ready(10)
    s = pool.stats()
    assert s.idle >= 2 and s.in_use == 0


def test_many_threads_zero_errors(make):
    pool = make(pool_size=4, max_overflow=4, pool_timeout=30)
    errors = []

    def work():
        for _ in range(30):
            try:
                with pool.connection() as c:
                    c.execute("SELECT 1")
            except Exception as e:  # pragma: no cover
                errors.append(e)

    ts = [threading.Thread(target=work) for _ in range(16)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert errors == []
    s = pool.stats()
    assert s.in_use == 0 and s.acquired == 480 and s.open <= 8


def test_every_core_error_kind_has_its_exception_class():
    from unipool import _unipool, exceptions

    expected = {
        "pool_timeout": ("PoolTimeoutError", (TimeoutError,)),
        "pool_closed": ("PoolClosedError", ()),
        "connect_failed": ("ConnectError", ()),
        "connect_timeout": ("ConnectTimeoutError", (exceptions.ConnectError, TimeoutError)),
        "connection_broken": ("ConnectionBrokenError", ()),
        "invalid_config": ("ConfigError", (ValueError,)),
        "invalid_usage": ("UsageError", (RuntimeError,)),
        "internal": ("InternalError", ()),
    }
    assert _unipool.ERROR_KINDS == {k: v[0] for k, v in expected.items()}
    for kind, (name, bases) in expected.items():
        cls = getattr(exceptions, name)
        assert issubclass(cls, UnipoolError) and cls.default_kind == kind
        for b in bases:
            assert issubclass(cls, b), (cls, b)


def test_passwords_never_reach_errors_or_metrics(pg_url):
    import urllib.parse

    u = urllib.parse.urlsplit(pg_url)
    bad = f"postgresql://{u.username}:TopSecret123@{u.hostname}:1/{u.path.lstrip('/')}"

    def creator():
        raise psycopg.OperationalError(f"could not connect to {bad} password=TopSecret123")

    pool = unipool.Pool(creator, pool_size=1, max_overflow=0, pool_timeout=0.2)
    try:
        with pytest.raises(ConnectError) as ei:
            pool.getconn()
        assert "TopSecret123" not in str(ei.value)
        # the core keeps it as the last connect error: not in the timeout either
        pool2_events = []
        pool.add_listener(pool2_events.append)
        with pytest.raises(ConnectError):
            pool.getconn()
        assert pool2_events and all("TopSecret123" not in repr(e) for e in pool2_events)
        assert "TopSecret123" not in pool.metrics_text()
        assert "TopSecret123" not in repr(pool) and "TopSecret123" not in repr(pool.stats())
    finally:
        pool.close()


def test_idle_timeout_reaps_and_leaks_are_reported(make):
    pool = make(pool_size=3, idle_timeout=0.2, leak_detection_threshold=0.2, maintenance_interval=0.05)
    events = []
    pool.add_listener(events.append)
    a = pool.getconn()
    b = pool.getconn()
    pool.putconn(b)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (
        any(e["event"] == "leak" for e in events)
        and any(e["event"] == "close" and e.get("reason") == "idle_timeout" for e in events)
    ):
        time.sleep(0.02)
    assert b.closed  # the idle one was reaped and closed
    s = pool.stats()
    assert s.leaks_detected == 1 and s.open == 1 and s.in_use == 1
    leak = next(e for e in events if e["event"] == "leak")
    assert leak["held"] >= 0.2
    pool.putconn(a)


def test_creator_returning_a_shared_object_is_a_usage_error(pg_url):
    shared = psycopg.connect(pg_url)
    pool = unipool.Pool(lambda: shared, pool_size=2, max_overflow=0, close=lambda c: None)
    try:
        a = pool.getconn()
        assert a is shared
        with pytest.raises(UsageError, match="distinct object"):
            pool.getconn()
        s = pool.stats()
        assert s.in_use == 1 and s.open == 1  # the first lease is intact
        pool.putconn(a)
        assert pool.stats().idle == 1
    finally:
        pool.close()
        shared.close()


def test_initialization_fail_timeout_fails_fast_with_the_reason(pg_url):
    bad = pg_url.rsplit("/", 1)[0] + "/no_such_database_unipool"
    t0 = time.monotonic()
    with pytest.raises(ConnectError) as ei:
        unipool.Pool(lambda: psycopg.connect(bad), min_idle=1, initialization_fail_timeout=0.5)
    assert time.monotonic() - t0 < 5
    assert "no_such_database_unipool" in str(ei.value)
    ok = unipool.Pool(lambda: psycopg.connect(pg_url), min_idle=2, initialization_fail_timeout=5)
    try:
        assert ok.stats().idle >= 2
    finally:
        ok.close()


def test_timeout_after_failed_pings_names_the_broken_connection_as_cause(pg_url):
    from unipool import ConnectionBrokenError

    holder = []
    threads = []

    def ping(conn):
        # while this caller pings, another caller queues for the only slot
        t = threading.Thread(target=lambda: holder.append(pool.getconn(timeout=5)))
        t.start()
        threads.append(t)
        deadline = time.monotonic() + 5
        while pool.stats().waiting != 1 and time.monotonic() < deadline:
            time.sleep(0.005)
        raise RuntimeError("server went away")

    pool = unipool.Pool(
        lambda: psycopg.connect(pg_url),
        ping=ping,
        pool_size=1,
        max_overflow=0,
        pool_pre_ping=True,
        pre_ping_bypass=0,
        pool_timeout=0.3,
    )
    try:
        c = pool.getconn()
        pool.putconn(c)
        with pytest.raises(PoolTimeoutError) as ei:
            pool.getconn()  # ping fails, the freed slot goes to the queued caller
        cause = ei.value.__cause__
        assert isinstance(cause, ConnectionBrokenError), repr(cause)
        assert isinstance(cause.__cause__, RuntimeError) and "server went away" in str(cause)
        for t in threads:
            t.join(5)
        assert len(holder) == 1 and holder[0] is not c and c.closed
        pool.putconn(holder[0])
        s = pool.stats()
        assert s.ping_failures == 1 and s.in_use == 0
    finally:
        pool.close()
