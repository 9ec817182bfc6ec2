"""The plain (non-SQLAlchemy) pools: ``unipool.Pool`` and ``unipool.AsyncPool``.

The Rust core decides who gets which connection and when; these classes only
create, ping, reset and close the objects, with the callables you give them.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import threading
import time
import weakref
from typing import (
    Any,
    AsyncIterator,
    Awaitable,
    Callable,
    Dict,
    Generic,
    List,
    Mapping,
    Optional,
    TypeVar,
    Union,
)

from . import _unipool
from ._common import (
    PoolStats,
    build_config,
    close_quietly,
    describe_exception,
    forget_raw,
    register_fork_handler,
)
from ._unipool import Permit, PoolConfig
from .exceptions import (
    ConnectError,
    ConnectionBrokenError,
    ConnectTimeoutError,
    PoolTimeoutError,
)

__all__ = ["Pool", "AsyncPool"]

log = logging.getLogger("unipool")

C = TypeVar("C")

_MAINTENANCE_KEYS = ("min_idle", "idle_timeout", "pool_recycle", "leak_detection_threshold")


def _needs_maintenance(cfg: PoolConfig) -> bool:
    return bool(
        cfg.min_idle
        or cfg.idle_timeout is not None
        or cfg.pool_recycle is not None
        or cfg.leak_detection_threshold is not None
    )


def _default_close(conn: Any) -> Any:
    close = getattr(conn, "close", None)
    if close is not None:
        return close()
    return None


def _default_ping(conn: Any) -> Any:
    """SELECT 1 through whatever the connection offers."""
    execute = getattr(conn, "execute", None)
    if execute is not None and not hasattr(conn, "cursor"):
        return execute("SELECT 1")  # asyncpg-style (may return an awaitable)
    cursor = conn.cursor()
    try:
        cursor.execute("SELECT 1")
        cursor.fetchall()
    finally:
        cursor.close()
    return None


def _reset_for(mode: str) -> Optional[Callable[[Any], Any]]:
    if mode == "rollback":

        def reset(conn: Any) -> Any:
            fn = getattr(conn, "rollback", None)
            return fn() if fn is not None else None

        return reset
    if mode == "commit":

        def reset(conn: Any) -> Any:
            fn = getattr(conn, "commit", None)
            return fn() if fn is not None else None

        return reset
    return None


class _Base:
    _raw: "_unipool.RawPool"
    _config: PoolConfig

    def _init_common(self, config: Any, settings: Dict[str, Any]) -> None:
        # private test hook: lifecycle time only moves with _advance()
        self._manual_clock = bool(settings.pop("_manual_clock", False))
        self._config = build_config(config, **settings)
        self._raw = self._new_raw()
        self._listeners: Dict[int, Callable[[Dict[str, Any]], Any]] = {}
        self._listener_ids: Dict[int, int] = {}
        self._next_listener = 1
        register_fork_handler(self)

    # -- configuration constructors ------------------------------------------
    @classmethod
    def from_env(cls, creator: Any, prefix: str = "DB_POOL_", **kw: Any):
        """Configuration from environment variables (``DB_POOL_POOL_SIZE=10`` ...)."""
        return cls(creator, config=PoolConfig.from_env(prefix), **kw)

    @classmethod
    def from_toml(cls, creator: Any, source: Union[str, "os.PathLike[str]"], **kw: Any):
        """Configuration from the ``[database.pool]`` table of a TOML file or string."""
        import os

        text = str(source)
        if isinstance(source, os.PathLike) or ("\n" not in text and os.path.exists(text)):
            with open(source, "r", encoding="utf-8") as f:
                text = f.read()
        return cls(creator, config=PoolConfig.from_toml(text), **kw)

    @classmethod
    def from_profile(cls, creator: Any, profile: str, **kw: Any):
        """A named profile (development, testing, staging, production, small, medium, large)."""
        return cls(creator, config=PoolConfig.profile(profile), **kw)

    # -- introspection ---------------------------------------------------------
    @property
    def config(self) -> PoolConfig:
        return self._raw.config

    @property
    def name(self) -> str:
        return self._config.name

    def stats(self) -> PoolStats:
        """Snapshot with the same fields as the Rust core's PoolStatus."""
        return PoolStats(self._raw.status())

    def metrics_text(self) -> str:
        """The core's Prometheus text exposition for this pool."""
        return self._raw.metrics_text()

    @property
    def closed(self) -> bool:
        return self._raw.closed

    # -- events ----------------------------------------------------------------
    def add_listener(self, listener: Callable[[Dict[str, Any]], Any]) -> int:
        """Calls ``listener(event)`` for every pool event (connect, checkout,
        checkin, close, invalidate, timeout, leak, connect_failed, ...).

        ``event`` is a dict with at least ``"event"`` (the kind) and ``"pool"``.
        Listeners run on whichever thread produced the event; keep them short.
        Returns an id for :meth:`remove_listener`.
        """
        token = self._next_listener
        self._next_listener += 1
        self._listeners[token] = listener
        self._listener_ids[token] = self._raw.subscribe(listener)
        return token

    def remove_listener(self, token: int) -> None:
        self._listeners.pop(token, None)
        cid = self._listener_ids.pop(token, None)
        if cid is not None:
            self._raw.unsubscribe(cid)

    # -- control ------------------------------------------------------------------
    def pause(self) -> None:
        """Checkouts wait (until resume() or their deadline)."""
        self._raw.pause()

    def resume(self) -> None:
        self._raw.resume()

    def _unipool_after_fork(self) -> None:
        """In a forked child: forget the parent's connections, start empty."""
        old = self._raw
        forget_raw(old)
        self._raw = self._new_raw()
        for token, fn in self._listeners.items():
            self._listener_ids[token] = self._raw.subscribe(fn)
        self._after_fork_extra()

    def _after_fork_extra(self) -> None:
        pass

    def _broken(self, e: BaseException) -> ConnectionBrokenError:
        err = ConnectionBrokenError(
            f"pool {self._config.name!r}: a connection failed its pre-ping and was discarded: "
            f"{describe_exception(e)}",
            kind="connection_broken",
            retryable=True,
        )
        err.__cause__ = e
        return err

    def _new_raw(self) -> "_unipool.RawPool":
        ref = weakref.ref(self)

        def retire(obj: Any, reason: str) -> None:
            pool = ref()
            if pool is not None:
                pool._retire(obj, reason)

        return _unipool.RawPool(self._config, retire, self._manual_clock)

    def _retire(self, obj: Any, reason: str) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        s = self._raw.status()
        return (
            f"<{type(self).__name__} {s['name']!r} open={s['open']} idle={s['idle']} "
            f"in_use={s['in_use']} waiting={s['waiting']} max={s['max']}>"
        )


class _SyncLease:
    __slots__ = ("_pool", "_timeout", "_conn")

    def __init__(self, pool: "Pool[Any]", timeout: Optional[float]) -> None:
        self._pool = pool
        self._timeout = timeout
        self._conn = None

    def __enter__(self) -> Any:
        self._conn = self._pool.getconn(self._timeout)
        return self._conn

    def __exit__(self, et: Any, ev: Any, tb: Any) -> None:
        conn, self._conn = self._conn, None
        self._pool.putconn(conn)


class Pool(_Base, Generic[C]):
    """A thread-safe pool of any objects your ``creator`` returns.

    >>> pool = unipool.Pool(lambda: psycopg.connect(dsn), pool_size=5, max_overflow=10)
    >>> with pool.connection() as conn:
    ...     conn.execute("SELECT 1")

    Configuration: keyword arguments with the core's vocabulary (``pool_size``,
    ``max_overflow``, ``pool_timeout``, ``min_idle``, ``idle_timeout``,
    ``pool_recycle``, ``pool_pre_ping``, ``max_uses``, ``reset_on_return``, ...
    and their asyncpg/sqlx/pg-pool/HikariCP aliases), or ``config=`` a
    :class:`PoolConfig`/mapping, or :meth:`from_env`/:meth:`from_toml`/
    :meth:`from_profile`.

    ``ping(conn)`` is used when ``pool_pre_ping`` is on (default: ``SELECT 1``);
    ``reset(conn)`` runs on return (default: ``rollback()`` per
    ``reset_on_return``); ``close(conn)`` closes (default: ``conn.close()``).
    Waiting for a connection releases the GIL.
    """

    def __init__(
        self,
        creator: Callable[[], C],
        *,
        config: Union[PoolConfig, Mapping[str, Any], None] = None,
        ping: Optional[Callable[[C], Any]] = None,
        reset: Optional[Callable[[C], Any]] = None,
        close: Optional[Callable[[C], Any]] = None,
        **settings: Any,
    ) -> None:
        if not callable(creator):
            raise TypeError("creator must be a callable returning a new connection")
        self._creator = creator
        self._init_common(config, settings)
        self._ping = ping or _default_ping
        self._reset = reset if reset is not None else _reset_for(self._config.reset_on_return)
        self._close = close or _default_close
        self._maint_thread: Optional[threading.Thread] = None
        self._maint_stop = threading.Event()
        if _needs_maintenance(self._config):
            self._start_maintenance()
        ift = self._config.initialization_fail_timeout
        if ift is not None and self._config.min_idle:
            # HikariCP's initializationFailTimeout: fail at start, saying why
            try:
                self.wait_ready(ift)
            except BaseException:
                self.close()
                raise

    # -- checkout / checkin --------------------------------------------------------
    def getconn(self, timeout: Optional[float] = None) -> C:
        """Checks out a connection, waiting up to ``timeout`` seconds (default
        ``pool_timeout``). Raises PoolTimeoutError, PoolClosedError, ConnectError."""
        raw = self._raw
        deadline = None if timeout is None else time.monotonic() + timeout
        broken: Optional[ConnectionBrokenError] = None
        while True:
            try:
                got, needs_ping = raw.acquire_ex(timeout)
            except PoolTimeoutError as e:
                if broken is not None:  # say why the wait went on
                    raise e from broken
                raise
            if type(got) is Permit:
                return self._create(got)
            if needs_ping:
                try:
                    self._ping(got)
                except Exception as e:
                    raw.ping_failed(got, describe_exception(e))
                    close_quietly(self._close, got, log.debug)
                    broken = self._broken(e)
                    if deadline is not None:
                        timeout = max(0.0, deadline - time.monotonic())
                    continue
                raw.ping_ok(got)
            return got

    def _create(self, permit: Permit) -> C:
        try:
            conn = self._creator()
        except Exception as e:
            permit.fail(describe_exception(e))
            raise ConnectError(
                f"pool {self._config.name!r}: creating a connection failed: {describe_exception(e)}"
            ) from e
        except BaseException:
            permit.abandon()
            raise
        try:
            permit.fulfill(conn)
        except BaseException:
            close_quietly(self._close, conn)
            raise
        return conn

    def putconn(self, conn: C, *, broken: bool = False) -> None:
        """Returns a connection. ``broken=True``: discard it (it is closed)."""
        raw = self._raw
        if broken:
            raw.invalidate(conn)
            close_quietly(self._close, conn, log.debug)
            return
        if self._reset is not None:
            try:
                self._reset(conn)
            except Exception as e:
                log.debug("reset failed, discarding connection: %s", describe_exception(e))
                raw.invalidate(conn)
                close_quietly(self._close, conn, log.debug)
                return
        if raw.release(conn) is not None:
            close_quietly(self._close, conn, log.debug)

    def connection(self, timeout: Optional[float] = None) -> "_SyncLease":
        """``with pool.connection() as conn:`` - returned (and reset) on exit."""
        return _SyncLease(self, timeout)

    def _retire(self, obj: Any, reason: str) -> None:
        close_quietly(self._close, obj, log.debug)

    # -- lifecycle -------------------------------------------------------------------
    def wait_ready(self, timeout: float = 30.0) -> None:
        """Blocks until ``min_idle`` connections exist (fail-fast start)."""
        self._start_maintenance()
        self._raw.wait_for_min_idle(timeout)

    def dispose(self) -> None:
        """Closes idle connections now; checked-out ones are closed when returned."""
        for c in self._raw.dispose():
            close_quietly(self._close, c, log.debug)

    def resize(self, pool_size: int, max_overflow: Optional[int] = None) -> None:
        mo = self._config.max_overflow if max_overflow is None else max_overflow
        for c in self._raw.resize(pool_size, mo):
            close_quietly(self._close, c, log.debug)

    def close(self) -> None:
        """Wakes waiters with PoolClosedError, closes idle connections; the ones
        still out are closed when returned."""
        self._maint_stop.set()
        for c in self._raw.close():
            close_quietly(self._close, c, log.debug)

    def __enter__(self) -> "Pool[C]":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- maintenance -----------------------------------------------------------------
    def _start_maintenance(self) -> None:
        t = self._maint_thread
        if t is not None and t.is_alive():
            return
        ref = weakref.ref(self)
        stop = self._maint_stop
        t = threading.Thread(
            target=_sync_maintenance, args=(ref, stop), name=f"unipool-maint-{self.name}", daemon=True
        )
        self._maint_thread = t
        t.start()

    def _maintain_once(self) -> float:
        raw = self._raw
        to_close, to_create, next_run = raw.maintain()
        for conn, _reason in to_close:
            close_quietly(self._close, conn, log.debug)
        for permit in to_create:
            try:
                conn = self._creator()
            except Exception as e:
                permit.fail(describe_exception(e))
                log.warning("pool %r: background connect failed: %s", self.name, describe_exception(e))
                continue
            back = permit.fulfill_idle(conn)
            if back is not None:
                close_quietly(self._close, back, log.debug)
        return next_run

    def _after_fork_extra(self) -> None:
        self._maint_thread = None
        self._maint_stop = threading.Event()
        if _needs_maintenance(self._config):
            self._start_maintenance()


def _sync_maintenance(ref: "weakref.ref[Pool[Any]]", stop: threading.Event) -> None:
    while not stop.is_set():
        pool = ref()
        if pool is None or pool._raw.closed:
            return
        try:
            delay = pool._maintain_once()
        except Exception:  # pragma: no cover - keep maintaining
            log.exception("unipool maintenance failed")
            delay = 1.0
        del pool
        stop.wait(min(max(delay, 0.01), 5.0))


# ---------------------------------------------------------------------------
# asyncio
# ---------------------------------------------------------------------------


def _wake(fut: "asyncio.Future[None]") -> None:
    if not fut.done():
        fut.set_result(None)


async def _maybe_await(v: Any) -> Any:
    if inspect.isawaitable(v):
        return await v
    return v


class _AsyncLease:
    __slots__ = ("_pool", "_timeout", "_conn")

    def __init__(self, pool: "AsyncPool[Any]", timeout: Optional[float]) -> None:
        self._pool = pool
        self._timeout = timeout
        self._conn = None

    async def __aenter__(self) -> Any:
        self._conn = await self._pool.getconn(self._timeout)
        return self._conn

    async def __aexit__(self, et: Any, ev: Any, tb: Any) -> None:
        conn, self._conn = self._conn, None
        await self._pool.putconn(conn)


class AsyncPool(_Base, Generic[C]):
    """The asyncio pool: ``creator`` is an async callable (``asyncpg.connect``).

    >>> pool = unipool.AsyncPool(lambda: asyncpg.connect(dsn), pool_size=5)
    >>> async with pool.connection() as conn:
    ...     await conn.fetchval("SELECT 1")

    Waiting never blocks the event loop; cancelling a waiting ``getconn()``
    gives back anything granted meanwhile. Connections are created in the
    caller's task, with ``connect_timeout``. ``ping``/``reset``/``close`` may
    be sync or async callables.
    """

    def __init__(
        self,
        creator: Callable[[], Awaitable[C]],
        *,
        config: Union[PoolConfig, Mapping[str, Any], None] = None,
        ping: Optional[Callable[[C], Any]] = None,
        reset: Optional[Callable[[C], Any]] = None,
        close: Optional[Callable[[C], Any]] = None,
        **settings: Any,
    ) -> None:
        if not callable(creator):
            raise TypeError("creator must be an async callable returning a new connection")
        self._creator = creator
        self._init_common(config, settings)
        self._ping = ping or _default_ping
        self._reset = reset
        self._close = close or _default_close
        self._maint_task: Optional["asyncio.Task[None]"] = None
        self._bg: set = set()
        self._needs_maint = _needs_maintenance(self._config)

    async def getconn(self, timeout: Optional[float] = None) -> C:
        raw = self._raw
        if self._needs_maint:
            self._ensure_maintenance()
        budget = self._config.pool_timeout if timeout is None else timeout
        deadline = time.monotonic() + budget
        broken: Optional[ConnectionBrokenError] = None
        while True:
            got = raw.try_acquire(True)
            if got is None:
                try:
                    got = await self._wait(max(0.0, deadline - time.monotonic()))
                except PoolTimeoutError as e:
                    if broken is not None:  # say why the wait went on
                        raise e from broken
                    raise
            obj, needs_ping = got
            if type(obj) is Permit:
                return await self._create(obj)
            if needs_ping:
                try:
                    await _maybe_await(self._ping(obj))
                except Exception as e:
                    raw.ping_failed(obj, describe_exception(e))
                    await self._close_quietly(obj)
                    broken = self._broken(e)
                    continue
                except BaseException:
                    # cancelled during the ping: the connection's state is unknown
                    raw.invalidate(obj)
                    await self._close_quietly(obj)
                    raise
                raw.ping_ok(obj)
            return obj

    async def _wait(self, timeout: float) -> Any:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        waiter = self._raw.acquire_async(
            timeout, functools.partial(loop.call_soon_threadsafe, _wake, fut)
        )
        try:
            await fut
        except BaseException:
            for c in waiter.cancel():
                await self._close_quietly(c)
            raise
        return waiter.take_ex()

    async def _create(self, permit: Permit) -> C:
        ct = self._config.connect_timeout
        try:
            conn = await asyncio.wait_for(_maybe_await(self._creator()), ct)
        except asyncio.TimeoutError as e:
            if _is_cancelled():
                permit.abandon()
                raise
            permit.fail(f"connect timed out after {ct:.3f}s", "connect_timeout")
            raise ConnectTimeoutError(
                f"pool {self._config.name!r}: creating a connection took longer than "
                f"connect_timeout={ct:.3f}s"
            ) from e
        except Exception as e:
            permit.fail(describe_exception(e))
            raise ConnectError(
                f"pool {self._config.name!r}: creating a connection failed: {describe_exception(e)}"
            ) from e
        except BaseException:
            permit.abandon()
            raise
        try:
            permit.fulfill(conn)
        except BaseException:
            await self._close_quietly(conn)
            raise
        return conn

    async def putconn(self, conn: C, *, broken: bool = False) -> None:
        raw = self._raw
        if broken:
            raw.invalidate(conn)
            await self._close_quietly(conn)
            return
        if self._reset is not None:
            try:
                await _maybe_await(self._reset(conn))
            except BaseException as e:
                raw.invalidate(conn)
                await self._close_quietly(conn)
                if not isinstance(e, Exception):
                    raise
                return
        if raw.release(conn) is not None:
            await self._close_quietly(conn)

    def connection(self, timeout: Optional[float] = None) -> _AsyncLease:
        """``async with pool.connection() as conn:``"""
        return _AsyncLease(self, timeout)

    def _retire(self, obj: Any, reason: str) -> None:
        """Close an object the core retired, from synchronous code."""
        try:
            r = self._close(obj)
        except Exception as e:
            log.debug("error closing connection: %s", describe_exception(e))
            return
        if inspect.isawaitable(r):
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                if inspect.iscoroutine(r):
                    r.close()
                return
            t = loop.create_task(_swallow(r))
            self._bg.add(t)
            t.add_done_callback(self._bg.discard)

    async def _close_quietly(self, conn: Any) -> None:
        try:
            await _maybe_await(self._close(conn))
        except Exception as e:
            log.debug("error closing connection: %s", describe_exception(e))
            # a graceful close failed (dead socket): drop the transport
            terminate = getattr(conn, "terminate", None)
            if terminate is not None:
                try:
                    terminate()
                except Exception:
                    pass

    async def dispose(self) -> None:
        for c in self._raw.dispose():
            await self._close_quietly(c)

    async def resize(self, pool_size: int, max_overflow: Optional[int] = None) -> None:
        mo = self._config.max_overflow if max_overflow is None else max_overflow
        for c in self._raw.resize(pool_size, mo):
            await self._close_quietly(c)

    async def close(self) -> None:
        t, self._maint_task = self._maint_task, None
        if t is not None and not t.done():
            t.cancel()
        for c in self._raw.close():
            await self._close_quietly(c)
        if self._bg:  # closes started from synchronous code
            await asyncio.gather(*list(self._bg), return_exceptions=True)

    async def wait_ready(self, timeout: float = 30.0) -> None:
        """Waits until ``min_idle`` connections exist."""
        self._ensure_maintenance()
        deadline = time.monotonic() + timeout
        while True:
            s = self._raw.status()
            if s["idle"] + s["in_use"] >= s["min_idle"]:
                return
            if time.monotonic() >= deadline:
                # let the core produce its explanatory error (last connect error)
                self._raw.wait_for_min_idle(0.0)
                return
            await asyncio.sleep(0.01)

    async def __aenter__(self) -> "AsyncPool[C]":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def _ensure_maintenance(self) -> None:
        t = self._maint_task
        loop = asyncio.get_running_loop()
        if t is not None and not t.done() and t.get_loop() is loop:
            return
        self._maint_task = loop.create_task(_async_maintenance(weakref.ref(self)))

    async def _maintain_once(self) -> float:
        raw = self._raw
        to_close, to_create, next_run = raw.maintain()
        for conn, _reason in to_close:
            await self._close_quietly(conn)
        for permit in to_create:
            try:
                conn = await asyncio.wait_for(
                    _maybe_await(self._creator()), self._config.connect_timeout
                )
            except Exception as e:
                permit.fail(describe_exception(e))
                log.warning("pool %r: background connect failed: %s", self.name, describe_exception(e))
                continue
            except BaseException:
                permit.abandon()
                raise
            back = permit.fulfill_idle(conn)
            if back is not None:
                await self._close_quietly(back)
        return next_run

    def _after_fork_extra(self) -> None:
        self._maint_task = None


async def _swallow(aw: Any) -> None:
    try:
        await aw
    except Exception as e:
        log.debug("error closing connection: %s", describe_exception(e))


def _is_cancelled() -> bool:
    t = asyncio.current_task()
    return bool(t is not None and getattr(t, "cancelling", lambda: 0)())


async def _async_maintenance(ref: "weakref.ref[AsyncPool[Any]]") -> None:
    while True:
        pool = ref()
        if pool is None or pool._raw.closed:
            return
        try:
            delay = await pool._maintain_once()
        except asyncio.CancelledError:
            raise
        except Exception:  # pragma: no cover
            log.exception("unipool maintenance failed")
            delay = 1.0
        del pool
        await asyncio.sleep(min(max(delay, 0.01), 5.0))
