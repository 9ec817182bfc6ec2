"""After os.fork() the child never gets a connection the parent owns."""

from __future__ import annotations

import os

import psycopg
import pytest
import sqlalchemy as sa

import unipool
from unipool.sqlalchemy import QueuePool

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def _run_in_child(fn) -> int:
    """Runs fn() in a forked child; returns its exit code (0 = assertions held)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        code = 1
        try:
            fn()
            code = 0
        except BaseException as e:  # report to the parent
            os.write(w, repr(e).encode()[:2000])
        finally:
            os.close(w)
            os._exit(code)
    os.close(w)
    msg = b""
    while True:
        chunk = os.read(r, 4096)
        if not chunk:
            break
        msg += chunk
    os.close(r)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    assert code == 0, f"child failed: {msg.decode(errors='replace')}"
    return code


def test_plain_pool_child_starts_clean(pg_url):
    pool = unipool.Pool(lambda: psycopg.connect(pg_url, autocommit=True), pool_size=2)
    try:
        with pool.connection() as c:
            parent_pid = c.execute("SELECT pg_backend_pid()").fetchone()[0]
        assert pool.stats().idle == 1
        held = pool.getconn()  # checked out in the parent across the fork

        def child():
            s = pool.stats()
            assert s.open == 0 and s.idle == 0 and s.in_use == 0, s
            with pool.connection() as c:
                pid = c.execute("SELECT pg_backend_pid()").fetchone()[0]
            assert pid != parent_pid
            assert pool.stats().created == 1

        _run_in_child(child)
        # the parent's connections survived the child (it did not close them)
        assert held.execute("SELECT 1").fetchone()[0] == 1
        pool.putconn(held)
        with pool.connection() as c:
            assert c.execute("SELECT pg_backend_pid()").fetchone()[0] == parent_pid
        assert pool.stats().open == 1 and pool.stats().created == 1
    finally:
        pool.close()


def test_sqlalchemy_engine_child_starts_clean(sa_pg_url):
    e = sa.create_engine(sa_pg_url, poolclass=QueuePool, pool_size=2)
    try:
        with e.connect() as c:
            parent_pid = c.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        out = e.connect()  # held across the fork

        def child():
            p = e.pool
            assert p.checkedin() == 0 and p.checkedout() == 0, p.status()
            with e.connect() as c:
                pid = c.execute(sa.text("SELECT pg_backend_pid()")).scalar()
            assert pid != parent_pid
            # a connection the parent had out, closed in the child, is not
            # taken into the child's pool nor closed on the parent's socket
            out.close()
            assert p.checkedin() == 1 and p.checkedout() == 0

        _run_in_child(child)
        assert out.execute(sa.text("SELECT 1")).scalar() == 1
        out.close()
        with e.connect() as c:
            assert c.execute(sa.text("SELECT pg_backend_pid()")).scalar() == parent_pid
        assert e.pool.checkedin() == 1 and e.pool.stats().created == 1
    finally:
        e.dispose()


def test_fork_while_another_thread_waits_in_the_core(pg_url):
    import threading
    import warnings

    pool = unipool.Pool(lambda: psycopg.connect(pg_url, autocommit=True), pool_size=1, max_overflow=0, pool_timeout=20)
    try:
        held = pool.getconn()
        got = []
        t = threading.Thread(target=lambda: got.append(pool.getconn()))
        t.start()
        deadline = __import__("time").monotonic() + 5
        while pool.stats().waiting != 1 and __import__("time").monotonic() < deadline:
            __import__("time").sleep(0.01)
        assert pool.stats().waiting == 1

        def child():
            s = pool.stats()
            assert s.waiting == 0 and s.in_use == 0 and s.open == 0, s
            with pool.connection(timeout=5) as c:
                assert c.execute("SELECT 1").fetchone()[0] == 1

        with warnings.catch_warnings():
            # Python 3.12+ warns that forking a multi-threaded process may deadlock;
            # that is exactly the situation this test covers.
            warnings.simplefilter("ignore", DeprecationWarning)
            _run_in_child(child)
        pool.putconn(held)
        t.join(10)
        assert got == [held]
        pool.putconn(got[0])
    finally:
        pool.close()
