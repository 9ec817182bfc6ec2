"""unipool (Python) against the pools it replaces: one run, side by side.

    python bindings-python/benches/bench.py [--seconds 0.4] [--rounds 5] [--out results.md]

Each cell runs `rounds` intervals of `seconds` per pool, alternating the two
pools interval by interval, and reports the median throughput (operations
per second, all workers together) and the ratio unipool / baseline.

Scenarios
* SQLAlchemy sync, psycopg: checkout/return cycles (`pool.connect()` +
  `close()`, incl. SQLAlchemy's reset-on-return) and `SELECT 1` end to end
  through `engine.connect()`, with 1, 8 and 32 threads; pool_size=8,
  max_overflow=0 so 32 threads contend for 8 connections.
* SQLAlchemy asyncio, asyncpg: the same with 1, 8 and 32 tasks.
* Plain pools: unipool.Pool vs psycopg_pool.ConnectionPool (threads) and
  unipool.AsyncPool vs asyncpg.create_pool (tasks), 8 connections each.
  Both plain async pools run without a per-release reset query (asyncpg's
  default reset sends a query each release; unipool's AsyncPool has no
  default reset) and both hand out the most recently returned connection
  first (asyncpg's LIFO queue; unipool use_lifo=True), so both do the same
  work. The SQLAlchemy and psycopg comparisons use each pool's defaults
  (FIFO idle order in all of them).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Tuple

import asyncpg
import psycopg
import psycopg_pool
import sqlalchemy as sa
from sqlalchemy import pool as sa_pool
from sqlalchemy.ext.asyncio import create_async_engine

import unipool
import unipool.sqlalchemy as usa

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
SIZE = 8
THREADS = (1, 8, 32)
LATENCY: List[Tuple[str, str, float, float, float, float]] = []


def _driver_url(driver: str) -> str:
    scheme, rest = DATABASE_URL.split("://", 1)
    return f"postgresql+{driver}://{rest}"


# --- measuring ---------------------------------------------------------------


def run_threads(n: int, seconds: float, op: Callable[[], Any]) -> float:
    stop = threading.Event()
    counts = [0] * n
    start = threading.Barrier(n + 1)

    def worker(i: int) -> None:
        start.wait()
        c = 0
        while not stop.is_set():
            op()
            c += 1
        counts[i] = c

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in ts:
        t.join()
    return sum(counts) / (time.perf_counter() - t0)


async def run_tasks(n: int, seconds: float, op: Callable[[], Any]) -> float:
    # A checkout that finds a free connection completes without yielding to
    # the loop (in both pools), so workers stop on a deadline, not on a flag
    # set by another task.
    counts = [0] * n
    t0 = time.perf_counter()
    deadline = t0 + seconds

    async def worker(i: int) -> None:
        c = 0
        now = time.perf_counter
        while now() < deadline:
            await op()
            c += 1
        counts[i] = c

    await asyncio.gather(*(worker(i) for i in range(n)))
    return sum(counts) / (time.perf_counter() - t0)


def latency_threads(n: int, seconds: float, op: Callable[[], Any]) -> Tuple[float, float, float, float]:
    """(ops/s, p50, p99, max) of single-op latency in microseconds."""
    stop = threading.Event()
    lat: List[List[float]] = [[] for _ in range(n)]
    start = threading.Barrier(n + 1)

    def worker(i: int) -> None:
        pc = time.perf_counter
        mine = lat[i]
        start.wait()
        while not stop.is_set():
            t = pc()
            op()
            mine.append(pc() - t)

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in ts:
        t.join()
    el = time.perf_counter() - t0
    allv = sorted(x for l in lat for x in l)
    q = lambda f: allv[min(len(allv) - 1, int(f * len(allv)))] * 1e6
    return len(allv) / el, q(0.5), q(0.99), allv[-1] * 1e6


def compare(rounds: int, a: Callable[[], float], b: Callable[[], float]) -> Tuple[float, float]:
    ra: List[float] = []
    rb: List[float] = []
    for _ in range(rounds):
        ra.append(a())
        rb.append(b())
    return statistics.median(ra), statistics.median(rb)


async def acompare(rounds: int, a, b) -> Tuple[float, float]:
    ra: List[float] = []
    rb: List[float] = []
    for _ in range(rounds):
        ra.append(await a())
        rb.append(await b())
    return statistics.median(ra), statistics.median(rb)


# --- scenarios -----------------------------------------------------------------


def sqlalchemy_sync(rows, seconds, rounds) -> None:
    url = _driver_url("psycopg")
    kw = dict(pool_size=SIZE, max_overflow=0, pool_timeout=60)
    base = sa.create_engine(url, poolclass=sa_pool.QueuePool, **kw)
    uni = sa.create_engine(url, poolclass=usa.QueuePool, **kw)
    for e in (base, uni):  # open all connections up front
        cs = [e.pool.connect() for _ in range(SIZE)]
        for c in cs:
            c.close()

    def checkout(e):
        p = e.pool

        def op():
            p.connect().close()

        return op

    def select1(e):
        q = sa.text("SELECT 1")

        def op():
            with e.connect() as c:
                c.execute(q).scalar()

        return op

    for name, mk in (("checkout/return", checkout), ("SELECT 1 end to end", select1)):
        for n in THREADS:
            u, b = compare(
                rounds,
                lambda: run_threads(n, seconds, mk(uni)),
                lambda: run_threads(n, seconds, mk(base)),
            )
            rows.append(("SQLAlchemy sync (psycopg)", f"{name}, {n} thread(s)", "QueuePool", b, u))
    # fairness under contention: how long single checkouts take
    for label, e in (("QueuePool", base), ("unipool", uni)):
        LATENCY.append((f"SQLAlchemy checkout/return, 32 threads, {SIZE} connections", label)
                       + latency_threads(32, seconds * rounds, checkout(e)))
    base.dispose()
    uni.dispose()


async def sqlalchemy_async(rows, seconds, rounds) -> None:
    url = _driver_url("asyncpg")
    kw = dict(pool_size=SIZE, max_overflow=0, pool_timeout=60)
    base = create_async_engine(url, poolclass=sa_pool.AsyncAdaptedQueuePool, **kw)
    uni = create_async_engine(url, poolclass=usa.AsyncAdaptedQueuePool, **kw)
    for e in (base, uni):
        cs = [await e.connect() for _ in range(SIZE)]
        for c in cs:
            await c.close()

    def checkout(e):
        async def op():
            c = await e.connect()
            await c.close()

        return op

    def select1(e):
        q = sa.text("SELECT 1")

        async def op():
            async with e.connect() as c:
                (await c.execute(q)).scalar()

        return op

    for name, mk in (("checkout/return", checkout), ("SELECT 1 end to end", select1)):
        for n in THREADS:
            u, b = await acompare(
                rounds,
                lambda: run_tasks(n, seconds, mk(uni)),
                lambda: run_tasks(n, seconds, mk(base)),
            )
            rows.append(("SQLAlchemy asyncio (asyncpg)", f"{name}, {n} task(s)", "AsyncAdaptedQueuePool", b, u))
    await base.dispose()
    await uni.dispose()


def plain_sync(rows, seconds, rounds) -> None:
    base = psycopg_pool.ConnectionPool(DATABASE_URL, min_size=SIZE, max_size=SIZE, timeout=60, open=True)
    base.wait(30)
    uni = unipool.Pool(lambda: psycopg.connect(DATABASE_URL), pool_size=SIZE, max_overflow=0, min_idle=SIZE, pool_timeout=60)
    uni.wait_ready(30)

    def checkout_u():
        with uni.connection():
            pass

    def checkout_b():
        with base.connection():
            pass

    def select_u():
        with uni.connection() as c:
            c.execute("SELECT 1").fetchone()

    def select_b():
        with base.connection() as c:
            c.execute("SELECT 1").fetchone()

    for name, ou, ob in (("checkout/return", checkout_u, checkout_b), ("SELECT 1", select_u, select_b)):
        for n in THREADS:
            u, b = compare(rounds, lambda: run_threads(n, seconds, ou), lambda: run_threads(n, seconds, ob))
            rows.append(("plain sync (psycopg)", f"{name}, {n} thread(s)", "psycopg_pool", b, u))
    base.close()
    uni.close()


async def plain_async(rows, seconds, rounds) -> None:
    async def noop_reset(conn):
        return None

    base = await asyncpg.create_pool(DATABASE_URL, min_size=SIZE, max_size=SIZE, reset=noop_reset)
    # asyncpg's pool hands out the most recently returned connection (a LIFO
    # queue); with few tasks that keeps one PostgreSQL backend hot. Same
    # policy here (use_lifo) so both do the same work.
    uni = unipool.AsyncPool(
        lambda: asyncpg.connect(DATABASE_URL), pool_size=SIZE, max_overflow=0, pool_timeout=60, use_lifo=True
    )
    cs = [await uni.getconn() for _ in range(SIZE)]
    for c in cs:
        await uni.putconn(c)

    async def checkout_u():
        async with uni.connection():
            pass

    async def checkout_b():
        async with base.acquire():
            pass

    async def select_u():
        async with uni.connection() as c:
            await c.fetchval("SELECT 1")

    async def select_b():
        async with base.acquire() as c:
            await c.fetchval("SELECT 1")

    for name, ou, ob in (("acquire/release", checkout_u, checkout_b), ("SELECT 1", select_u, select_b)):
        for n in THREADS:
            u, b = await acompare(rounds, lambda: run_tasks(n, seconds, ou), lambda: run_tasks(n, seconds, ob))
            rows.append(("plain asyncio (asyncpg)", f"{name}, {n} task(s)", "asyncpg.Pool", b, u))
    await base.close()
    await uni.close()


def render(rows, seconds, rounds) -> str:
    import importlib.metadata as md

    def v(p):
        try:
            return md.version(p)
        except Exception:
            return "?"

    out = []
    out.append(
        f"Python {platform.python_version()}, SQLAlchemy {v('sqlalchemy')}, psycopg {v('psycopg')}, "
        f"psycopg_pool {v('psycopg_pool')}, asyncpg {v('asyncpg')}, unipool {unipool.__version__}; "
        f"PostgreSQL on 127.0.0.1; {os.cpu_count()} cores; pool of {SIZE} connections; "
        f"median of {rounds} x {seconds}s intervals per cell (pools alternated), one run.\n"
    )
    out.append("| area | scenario | baseline | baseline ops/s | unipool ops/s | ratio |")
    out.append("|---|---|---|---:|---:|---:|")
    for area, scen, bname, b, u in rows:
        out.append(f"| {area} | {scen} | {bname} | {b:,.0f} | {u:,.0f} | {u / b:.2f}x |")
    if LATENCY:
        out.append("")
        out.append("Latency of one checkout+return under contention (same run; microseconds):\n")
        out.append("| scenario | pool | ops/s | p50 | p99 | max |")
        out.append("|---|---|---:|---:|---:|---:|")
        for scen, pool_name, ops, p50, p99, mx in LATENCY:
            out.append(f"| {scen} | {pool_name} | {ops:,.0f} | {p50:,.0f} | {p99:,.0f} | {mx:,.0f} |")
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=0.4)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", default=None)
    ap.add_argument("--only", default="", help="comma list: sa_sync,sa_async,plain_sync,plain_async")
    a = ap.parse_args()
    only = set(filter(None, a.only.split(",")))
    rows: List[Tuple[str, str, str, float, float]] = []
    if not only or "sa_sync" in only:
        sqlalchemy_sync(rows, a.seconds, a.rounds)
    if not only or "sa_async" in only:
        asyncio.run(sqlalchemy_async(rows, a.seconds, a.rounds))
    if not only or "plain_sync" in only:
        plain_sync(rows, a.seconds, a.rounds)
    if not only or "plain_async" in only:
        asyncio.run(plain_async(rows, a.seconds, a.rounds))
    text = render(rows, a.seconds, a.rounds)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
