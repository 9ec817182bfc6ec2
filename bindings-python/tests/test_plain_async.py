"""unipool.AsyncPool against PostgreSQL through asyncpg."""

from __future__ import annotations

import asyncio
import gc
import time

import asyncpg
import pytest

import unipool
from unipool import ConnectError, ConnectTimeoutError, PoolClosedError, PoolTimeoutError

from conftest import terminate


@pytest.fixture
def amake(pg_url):
    """AsyncPool factory; afterwards every connection the pool made is closed."""
    made = []

    async def creator():
        c = await asyncpg.connect(pg_url)
        made.append(c)
        return c

    def make(**kw):
        return unipool.AsyncPool(creator, **kw)

    yield make
    # each test closes its pool; nothing it created may be left open
    still_open = [c for c in made if not c.is_closed()]
    assert still_open == [], f"{len(still_open)} of {len(made)} connections left open"


async def test_async_with_and_stats(amake):
    pool = amake(pool_size=2, name="apool")
    try:
        async with pool.connection() as conn:
            assert await conn.fetchval("SELECT 1") == 1
            assert pool.stats().in_use == 1
        s = pool.stats()
        assert (s.idle, s.in_use, s.created, s.acquired) == (1, 0, 1, 1)
    finally:
        await pool.close()


async def test_100_concurrent_tasks_pool_5_overflow_10(amake):
    pool = amake(pool_size=5, max_overflow=10, pool_timeout=30)
    peak = 0

    async def one():
        nonlocal peak
        async with pool.connection() as c:
            s = pool.stats()
            peak = max(peak, s.open + s.pending)
            return await c.fetchval("SELECT 1 FROM pg_sleep(0.1)")

    try:
        res = await asyncio.gather(*(one() for _ in range(100)), return_exceptions=True)
        assert [r for r in res if isinstance(r, BaseException)] == []
        assert res == [1] * 100 and 1 <= peak <= 15
        s = pool.stats()
        assert s.in_use == 0 and s.idle == 5 and s.waiting == 0
    finally:
        await pool.close()


async def test_timeout_and_loop_keeps_running(amake):
    pool = amake(pool_size=1, max_overflow=0, pool_timeout=0.3)
    try:
        held = await pool.getconn()
        ticks = 0

        async def tick():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        t = asyncio.create_task(tick())
        t0 = time.monotonic()
        with pytest.raises(PoolTimeoutError) as ei:
            await pool.getconn()
        assert time.monotonic() - t0 >= 0.29
        assert ticks >= 10
        assert ei.value.status["in_use"] == 1
        t.cancel()
        await pool.putconn(held)
    finally:
        await pool.close()


async def test_cancel_a_waiting_getconn_gives_back_nothing(amake):
    pool = amake(pool_size=1, max_overflow=0, pool_timeout=10)
    try:
        held = await pool.getconn()
        for i in range(40):
            w = asyncio.create_task(pool.getconn())
            for _ in range(i % 4):
                await asyncio.sleep(0)
            if i % 2:
                await pool.putconn(held)
                w.cancel()
            else:
                w.cancel()
                await pool.putconn(held)
            try:
                got = await w
            except asyncio.CancelledError:
                got = None
            if got is not None:
                held = got
            else:
                held = await pool.getconn(timeout=5)
            s = pool.stats()
            assert s.in_use == 1 and s.waiting == 0 and s.open == 1, (i, s)
        await pool.putconn(held)
        assert pool.stats().in_use == 0
    finally:
        await pool.close()


async def test_creator_error_is_connect_error_with_cause(pg_url):
    bad = pg_url.rsplit("/", 1)[0] + "/no_such_database_unipool"
    pool = unipool.AsyncPool(lambda: asyncpg.connect(bad), pool_size=1, pool_timeout=1)
    try:
        with pytest.raises(ConnectError) as ei:
            await pool.getconn()
        assert isinstance(ei.value.__cause__, asyncpg.PostgresError)
        s = pool.stats()
        assert s.create_failures == 1 and s.open == 0 and s.pending == 0
    finally:
        await pool.close()
    # the traceback keeps asyncpg's failed connection attempt alive; let it be
    # collected while this test's event loop still runs
    del ei
    gc.collect()
    await asyncio.sleep(0.01)


async def test_connect_timeout(pg_url):
    async def slow():
        await asyncio.sleep(5)

    pool = unipool.AsyncPool(slow, pool_size=1, connect_timeout=0.2)
    try:
        t0 = time.monotonic()
        with pytest.raises(ConnectTimeoutError) as ei:
            await pool.getconn()
        assert time.monotonic() - t0 < 2
        assert isinstance(ei.value, TimeoutError) and isinstance(ei.value, ConnectError)
        assert pool.stats().pending == 0
    finally:
        await pool.close()


async def test_pre_ping_after_terminate(amake, admin_conn):
    pool = amake(pool_size=1, max_overflow=0, pool_pre_ping=True, pre_ping_bypass=0)
    try:
        async with pool.connection() as c:
            pid = await c.fetchval("SELECT pg_backend_pid()")
        terminate(admin_conn, pid)
        async with pool.connection() as c:
            assert await c.fetchval("SELECT pg_backend_pid()") != pid
        assert pool.stats().ping_failures == 1
    finally:
        await pool.close()


async def test_reset_callable_and_close(amake):
    resets = []

    async def reset(conn):
        resets.append(conn)
        await conn.reset()

    pool = amake(pool_size=1, max_overflow=0, reset=reset)
    async with pool.connection() as c:
        await c.execute("SELECT 1")
    assert resets == [c]
    held = await pool.getconn()
    waiter = asyncio.create_task(pool.getconn(timeout=5))
    await asyncio.sleep(0.05)
    await pool.close()
    with pytest.raises(PoolClosedError):
        await waiter
    await pool.putconn(held)
    assert held.is_closed()


async def test_min_idle_maintenance(amake):
    pool = amake(pool_size=3, min_idle=2)
    try:
        await pool.wait_ready(10)
        assert pool.stats().idle >= 2
    finally:
        await pool.close()
