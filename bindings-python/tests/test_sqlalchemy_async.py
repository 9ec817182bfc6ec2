"""unipool.sqlalchemy.AsyncAdaptedQueuePool through create_async_engine (asyncpg)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import create_async_engine

from unipool.sqlalchemy import AsyncAdaptedQueuePool, QueuePool

from conftest import terminate


def aengine(url, **kw):
    kw.setdefault("poolclass", AsyncAdaptedQueuePool)
    return create_async_engine(url, **kw)


async def test_select_and_defaults(sa_async_url):
    e = aengine(sa_async_url)
    try:
        async with e.connect() as c:
            assert (await c.execute(sa.text("SELECT 1"))).scalar() == 1
        p = e.sync_engine.pool
        assert isinstance(p, AsyncAdaptedQueuePool)
        assert (p.size(), p._max_overflow, p.timeout()) == (5, 10, 30.0)
        assert p.checkedin() == 1 and p.checkedout() == 0
    finally:
        await e.dispose()


def test_sync_pool_class_is_rejected_for_async_engine(sa_async_url):
    with pytest.raises(exc.ArgumentError, match="cannot be used with asyncio engine"):
        create_async_engine(sa_async_url, poolclass=QueuePool)


def test_async_pool_class_is_rejected_for_sync_engine(sa_pg_url):
    with pytest.raises(exc.ArgumentError, match="cannot be used with non-asyncio engine"):
        sa.create_engine(sa_pg_url, poolclass=AsyncAdaptedQueuePool)


async def test_100_concurrent_pg_sleep_zero_errors(sa_async_url):
    e = aengine(sa_async_url, pool_size=5, max_overflow=10, pool_timeout=30)
    p = e.sync_engine.pool
    peak = 0

    async def one():
        nonlocal peak
        async with e.connect() as c:
            s = p.stats()
            peak = max(peak, s.open + s.pending)
            return (await c.execute(sa.text("SELECT pg_sleep(0.1), 1"))).all()[0][1]

    try:
        results = await asyncio.gather(*(one() for _ in range(100)), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        assert errors == []
        assert results == [1] * 100
        assert 1 <= peak <= 15
        assert p.checkedout() == 0
        assert p.checkedin() == 5  # overflow connections were closed on return
        st = p.stats()
        assert st.acquired == 100 and st.waiting == 0 and st.timeouts == 0
    finally:
        await e.dispose()


async def test_timeout_message_shape(sa_async_url):
    e = aengine(sa_async_url, pool_size=1, max_overflow=0, pool_timeout=0.3)
    try:
        async with e.connect():
            t0 = time.monotonic()
            with pytest.raises(exc.TimeoutError) as ei:
                async with e.connect():
                    pass
            assert time.monotonic() - t0 >= 0.29
        assert str(ei.value).startswith(
            "QueuePool limit of size 1 overflow 0 reached, connection timed out, timeout 0.30"
        )
        async with e.connect() as c:
            assert (await c.execute(sa.text("SELECT 1"))).scalar() == 1
    finally:
        await e.dispose()


async def test_waiting_does_not_block_the_event_loop(sa_async_url):
    e = aengine(sa_async_url, pool_size=1, max_overflow=0, pool_timeout=10)
    ticks = 0
    stop = False

    async def ticker():
        nonlocal ticks
        while not stop:
            ticks += 1
            await asyncio.sleep(0.005)

    try:
        tk = asyncio.create_task(ticker())
        held = await e.connect()

        async def wait_for_conn():
            async with e.connect() as c:
                return (await c.execute(sa.text("SELECT 1"))).scalar()

        w = asyncio.create_task(wait_for_conn())
        await asyncio.sleep(0.3)
        before = ticks
        assert before >= 10, "the loop kept running while a checkout waited"
        assert not w.done() and e.sync_engine.pool.stats().waiting == 1
        await held.close()
        assert await asyncio.wait_for(w, 10) == 1
        stop = True
        await tk
    finally:
        await e.dispose()


async def test_cancelled_waiter_gives_back_nothing_it_did_not_get(sa_async_url):
    e = aengine(sa_async_url, pool_size=2, max_overflow=0, pool_timeout=10)
    p = e.sync_engine.pool

    async def get():
        return await e.connect()

    try:
        a = await e.connect()
        b = await e.connect()
        waiters = [asyncio.create_task(get()) for _ in range(3)]
        await asyncio.sleep(0.1)
        assert p.stats().waiting == 3
        for w in waiters:
            w.cancel()
        for w in waiters:
            with pytest.raises(asyncio.CancelledError):
                await w
        st = p.stats()
        assert st.waiting == 0 and st.in_use == 2 and st.open == 2
        await a.close()
        await b.close()
        assert p.checkedout() == 0 and p.checkedin() == 2
        # races: cancel at the moment a connection is handed over
        for i in range(30):
            held = await e.connect()
            w = asyncio.create_task(get())
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            close = asyncio.create_task(held.close())
            if i % 3 == 0:
                await asyncio.sleep(0)
            w.cancel()
            await close
            try:
                got = await w
            except asyncio.CancelledError:
                got = None
            if got is not None:
                await got.close()
            assert p.checkedout() == 0, (i, p.status())
        st = p.stats()
        assert st.waiting == 0 and st.in_use == 0 and st.open <= 2
        async with e.connect() as c:
            assert (await c.execute(sa.text("SELECT 1"))).scalar() == 1
    finally:
        await e.dispose()


async def test_creator_runs_in_the_callers_greenlet_on_the_loop(sa_async_url):
    import asyncpg

    loop_thread = threading.get_ident()
    where = []

    async def creator():
        where.append((threading.get_ident(), asyncio.get_running_loop() is not None))
        return await asyncpg.connect(sa_async_url.replace("postgresql+asyncpg", "postgresql"))

    e = aengine("postgresql+asyncpg://", async_creator=creator, pool_size=2)
    try:
        async with e.connect() as c:
            assert (await c.execute(sa.text("SELECT 1"))).scalar() == 1
        assert where == [(loop_thread, True)]
    finally:
        await e.dispose()


async def test_pre_ping_after_pg_terminate_backend(sa_async_url, admin_conn):
    e = aengine(sa_async_url, pool_size=2, pool_pre_ping=True)
    try:
        async with e.connect() as c:
            pid = (await c.execute(sa.text("SELECT pg_backend_pid()"))).scalar()
        terminate(admin_conn, pid)
        async with e.connect() as c:
            pid2 = (await c.execute(sa.text("SELECT pg_backend_pid()"))).scalar()
        assert pid2 != pid
        assert e.sync_engine.pool.checkedout() == 0
    finally:
        await e.dispose()


async def test_recycle(sa_async_url):
    e = aengine(sa_async_url, pool_size=1, pool_recycle=1)
    try:
        async with e.connect() as c:
            pid = (await c.execute(sa.text("SELECT pg_backend_pid()"))).scalar()
        await asyncio.sleep(1.2)
        async with e.connect() as c:
            assert (await c.execute(sa.text("SELECT pg_backend_pid()"))).scalar() != pid
        assert e.sync_engine.pool.stats().open == 1
    finally:
        await e.dispose()


async def test_dispose_while_connections_are_out(sa_async_url):
    e = aengine(sa_async_url, pool_size=2, max_overflow=0)
    p = e.sync_engine.pool
    closed = []
    event.listen(p, "close", lambda c, r: closed.append(r))
    try:
        c1 = await e.connect()
        c2 = await e.connect()
        await c2.close()
        old_pool = p
        await e.dispose()  # engine: dispose + recreate
        assert len(closed) == 1
        assert (await c1.execute(sa.text("SELECT 1"))).scalar() == 1
        await c1.close()
        assert len(closed) == 2  # closed on return: its generation was disposed
        assert old_pool.checkedout() == 0 and old_pool.checkedin() == 0
        async with e.connect() as c:
            assert (await c.execute(sa.text("SELECT 1"))).scalar() == 1
    finally:
        await e.dispose()


async def test_overflow_and_events(sa_async_url):
    e = aengine(sa_async_url, pool_size=1, max_overflow=1)
    p = e.sync_engine.pool
    seen = []
    for name in ("connect", "checkout", "checkin", "reset", "close"):
        event.listen(p, name, (lambda n: lambda *a: seen.append(n))(name))
    try:
        a = await e.connect()
        b = await e.connect()
        assert (p.checkedout(), p.overflow()) == (2, 1)
        await a.close()
        await b.close()
        assert (p.checkedin(), p.checkedout(), p.overflow()) == (1, 0, 0)
        for name in ("connect", "checkout", "checkin", "reset", "close"):
            assert name in seen, (name, seen)
    finally:
        await e.dispose()


async def test_min_idle_filled_by_the_async_maintenance(sa_async_url):
    e = aengine(sa_async_url, pool_size=3, min_idle=2)
    p = e.sync_engine.pool
    try:
        async with e.connect() as c:
            await c.execute(sa.text("SELECT 1"))
        deadline = time.monotonic() + 10
        while p.checkedin() < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert p.checkedin() >= 2
    finally:
        await e.dispose()


async def test_aiosqlite(tmp_path):
    e = aengine(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", pool_size=2)
    try:
        async with e.begin() as c:
            await c.execute(sa.text("CREATE TABLE t (x INTEGER)"))
            await c.execute(sa.text("INSERT INTO t VALUES (1)"))
        results = await asyncio.gather(*(_count(e) for _ in range(5)))
        assert results == [1] * 5
        assert e.sync_engine.pool.checkedout() == 0
    finally:
        await e.dispose()


async def _count(e):
    async with e.connect() as c:
        return (await c.execute(sa.text("SELECT count(*) FROM t"))).scalar()
