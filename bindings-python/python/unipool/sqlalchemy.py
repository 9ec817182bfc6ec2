"""Drop-in SQLAlchemy pools backed by the unipool core.

    from unipool.sqlalchemy import QueuePool, AsyncAdaptedQueuePool
    engine = create_engine(url, poolclass=QueuePool, pool_size=5, max_overflow=10)
    aengine = create_async_engine(url, poolclass=AsyncAdaptedQueuePool)

Both are Python subclasses of :class:`sqlalchemy.pool.Pool` with a pure-Python
``__init__`` (``create_engine`` reads its signature to decide which arguments
to pass), taking everything SQLAlchemy's own QueuePool takes with the same
defaults, plus unipool's extra knobs (``min_idle``, ``idle_timeout``,
``max_uses``, ``leak_detection_threshold``, ``pool_name``, ``unipool_config``)
which therefore also flow through ``create_engine(..., min_idle=2)``.

SQLAlchemy keeps doing what it does around a checkout: the connection record,
``recycle``, ``pre_ping``, ``reset_on_return``, invalidation and all pool
events. The core does the pooling: which record goes to whom, FIFO waiting
with direct hand-off, the size/overflow limit, timeouts, the idle order, the
generation on dispose, metrics and its own events.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import weakref
from typing import Any, Dict, Mapping, Optional, Union

from sqlalchemy import exc as sa_exc
from sqlalchemy.pool import Pool as _SAPool
from sqlalchemy.pool.base import _AsyncConnDialect

try:  # SQLAlchemy 2.1
    from sqlalchemy.util.concurrency import await_ as _await
except ImportError:  # SQLAlchemy 2.0
    from sqlalchemy.util import await_only as _await  # type: ignore[attr-defined,no-redef]

try:
    from sqlalchemy.util.concurrency import in_greenlet as _in_greenlet
except ImportError:  # pragma: no cover
    _in_greenlet = None  # type: ignore[assignment]

try:
    from sqlalchemy.util.concurrency import greenlet_spawn as _greenlet_spawn
except ImportError:  # pragma: no cover
    from sqlalchemy.util import greenlet_spawn as _greenlet_spawn  # type: ignore[no-redef]

from . import _unipool
from ._common import PoolStats, build_config, describe_exception, forget_raw, register_fork_handler
from ._unipool import Permit, PoolConfig
from .exceptions import PoolTimeoutError

__all__ = ["QueuePool", "AsyncAdaptedQueuePool"]

_log = logging.getLogger("unipool.sqlalchemy")


def _close_record(rec: Any) -> None:
    try:
        rec.close()
    except Exception as e:  # a dead connection may fail to close
        _log.debug("error closing connection record: %s", describe_exception(e))


_FOREVER = 10 * 365 * 24 * 3600.0  # "no timeout": ten years


class _CoreQueue:
    """Where SQLAlchemy's QueuePool keeps its ``_pool`` queue, this pool keeps
    the core. Read-only queue-like view (``maxsize``, ``use_lifo``,
    ``qsize()``, ``empty()``, ``full()``) for code that peeks at it."""

    __slots__ = ("raw", "maxsize", "use_lifo")

    def __init__(self, raw: "_unipool.RawPool", maxsize: int, use_lifo: bool) -> None:
        self.raw = raw
        self.maxsize = maxsize
        self.use_lifo = use_lifo

    def qsize(self) -> int:
        return self.raw.counts()[1]

    def empty(self) -> bool:
        return self.qsize() == 0

    def full(self) -> bool:
        return bool(self.maxsize) and self.qsize() >= self.maxsize

    def __repr__(self) -> str:
        return f"<unipool core queue maxsize={self.maxsize} idle={self.qsize()}>"


class QueuePool(_SAPool):
    """SQLAlchemy's ``QueuePool`` contract on the unipool core.

    :param creator: as for :class:`sqlalchemy.pool.Pool`.
    :param pool_size: connections kept (default 5); 0 means no limit.
    :param max_overflow: extra connections above pool_size (default 10); -1 no limit.
    :param timeout: seconds to wait for a connection (default 30.0).
    :param use_lifo: hand out the most recently returned connection first.
    :param min_idle: keep at least this many connections open (created in the
        background; default 0 like SQLAlchemy).
    :param idle_timeout: close idle connections above ``min_idle`` after this many seconds.
    :param max_uses: close a connection after this many checkouts.
    :param leak_detection_threshold: report (event + log) connections held longer than this.
    :param pool_name: the name in metrics and core events (default: ``logging_name`` or "sqlalchemy").
    :param unipool_config: a :class:`unipool.PoolConfig` or mapping with further core settings.
    :param \\**kw: ``recycle``, ``echo``, ``logging_name``, ``reset_on_return``,
        ``events``, ``dialect``, ``pre_ping`` - handled by SQLAlchemy's Pool.
    """

    _is_asyncio = False

    def __init__(
        self,
        creator: Any,
        pool_size: int = 5,
        max_overflow: int = 10,
        timeout: float = 30.0,
        use_lifo: bool = False,
        min_idle: Optional[int] = None,
        idle_timeout: Optional[float] = None,
        max_uses: Optional[int] = None,
        leak_detection_threshold: Optional[float] = None,
        pool_name: Optional[str] = None,
        unipool_config: Union[PoolConfig, Mapping[str, Any], None] = None,
        **kw: Any,
    ):
        _SAPool.__init__(self, creator, **kw)
        self._pool_size = pool_size
        self._max_overflow = -1 if pool_size == 0 else max_overflow
        self._timeout = timeout
        self._use_lifo = use_lifo
        self._extra: Dict[str, Any] = dict(
            min_idle=min_idle,
            idle_timeout=idle_timeout,
            max_uses=max_uses,
            leak_detection_threshold=leak_detection_threshold,
            pool_name=pool_name,
            unipool_config=unipool_config,
        )
        settings: Dict[str, Any] = {
            "name": pool_name or self._orig_logging_name or "sqlalchemy",
            "pool_size": pool_size,
            "max_overflow": self._max_overflow,
            # SQLAlchemy's timeout=None waits without limit
            "pool_timeout": _FOREVER if timeout is None else timeout,
            "use_lifo": use_lifo,
            # SQLAlchemy's ConnectionRecord does recycle, pre-ping and reset
            # itself (with its events); the core must not do them twice.
            "pool_recycle": None,
            "pool_pre_ping": False,
            "reset_on_return": "none",
        }
        if min_idle is not None:
            settings["min_idle"] = min_idle
        if idle_timeout is not None:
            settings["idle_timeout"] = idle_timeout
        if max_uses is not None:
            settings["max_uses"] = max_uses
        if leak_detection_threshold is not None:
            settings["leak_detection_threshold"] = leak_detection_threshold
        self._config = build_config(unipool_config, **settings)
        self._pool = _CoreQueue(self._new_raw(), self._pool_size, use_lifo)
        self._needs_maint = bool(
            self._config.min_idle
            or self._config.idle_timeout is not None
            or self._config.leak_detection_threshold is not None
            or self._config.max_uses is not None
        )
        self._overflow_lock = threading.Lock()  # guards starting maintenance
        self._maint: Any = None
        register_fork_handler(self)
        if self._needs_maint:
            self._start_maintenance()

    # -- the two methods SQLAlchemy's Pool asks a subclass for ------------------
    def _do_get(self) -> Any:
        raw = self._pool.raw
        try:
            got = raw.acquire(self._timeout)
        except PoolTimeoutError:
            raise self._timeout_error() from None
        if type(got) is Permit:
            return self._create(got)
        return got

    def _create(self, permit: Permit) -> Any:
        try:
            rec = self._create_connection()
        except Exception as e:
            # like QueuePool: the DBAPI exception propagates unchanged; the
            # core records it as the last connect error and frees the slot
            permit.fail(describe_exception(e))
            raise
        except BaseException:
            permit.abandon()
            raise
        rec._unipool_raw = self._pool.raw
        rec._unipool_async = self._is_asyncio
        permit.fulfill(rec)
        return rec

    def _new_raw(self) -> "_unipool.RawPool":
        return _unipool.RawPool(self._config, _retire_record)

    def _do_return_conn(self, record: Any) -> None:
        raw = self._pool.raw
        if getattr(record, "_unipool_raw", raw) is not raw:
            # a record of the parent process returned in a forked child (or of
            # a pool since replaced): never touch the parent's socket
            return
        if raw.release(record) is not None:
            # overflow above pool_size, disposed generation, max_uses, closed
            record.close()

    @property
    def _raw(self) -> "_unipool.RawPool":
        """The core pool (unipool.prometheus and tests use it)."""
        return self._pool.raw

    def _timeout_error(self) -> sa_exc.TimeoutError:
        return sa_exc.TimeoutError(
            "QueuePool limit of size %d overflow %d reached, "
            "connection timed out, timeout %0.2f" % (self.size(), self.overflow(), self._timeout),
            code="3o7r",
        )

    # -- QueuePool's public surface -------------------------------------------------
    def recreate(self) -> "QueuePool":
        self.logger.info("Pool recreating")
        return self.__class__(
            self._creator,
            pool_size=self._pool_size,
            max_overflow=self._max_overflow,
            pre_ping=self._pre_ping,
            use_lifo=self._use_lifo,
            timeout=self._timeout,
            recycle=self._recycle,
            echo=self.echo,
            logging_name=self._orig_logging_name,
            reset_on_return=self._reset_on_return,
            _dispatch=self.dispatch,
            dialect=self._dialect,
            **self._extra,
        )

    def dispose(self) -> None:
        """Closes the idle connections; connections checked out now are closed
        when they come back (the core starts a new generation)."""
        for rec in self._pool.raw.dispose():
            _close_record(rec)
        self.logger.info("Pool disposed. %s", self.status())

    def status(self) -> str:
        return (
            "Pool size: %d  Connections in pool: %d "
            "Current Overflow: %d Current Checked out "
            "connections: %d" % (self.size(), self.checkedin(), self.overflow(), self.checkedout())
        )

    def size(self) -> int:
        return self._pool_size

    def timeout(self) -> float:
        return self._timeout

    def checkedin(self) -> int:
        return self._pool.raw.counts()[1]

    def overflow(self) -> int:
        if not self._pool_size:
            return 0
        open_, _idle, _in_use, pending = self._pool.raw.counts()
        return open_ + pending - self._pool_size

    def checkedout(self) -> int:
        _open, _idle, in_use, pending = self._pool.raw.counts()
        return in_use + pending

    # -- unipool extras ---------------------------------------------------------
    @property
    def _overflow(self) -> int:
        """QueuePool's private counter (open connections - pool_size), read-only."""
        open_, _idle, _in_use, pending = self._pool.raw.counts()
        return open_ + pending - self._pool_size

    @property
    def unipool_config(self) -> PoolConfig:
        return self._pool.raw.config

    def stats(self) -> PoolStats:
        """The core's snapshot (same fields as Rust's PoolStatus)."""
        return PoolStats(self._pool.raw.status())

    def metrics_text(self) -> str:
        """The core's Prometheus text exposition."""
        return self._pool.raw.metrics_text()

    def add_listener(self, listener: Any) -> int:
        """Subscribes to the core's events (dicts); see unipool.Pool.add_listener."""
        return self._pool.raw.subscribe(listener)

    def remove_listener(self, token: int) -> None:
        self._pool.raw.unsubscribe(token)

    def _unipool_after_fork(self) -> None:
        forget_raw(self._pool.raw)
        self._pool = _CoreQueue(self._new_raw(), self._pool_size, self._use_lifo)
        self._overflow_lock = threading.Lock()
        self._maint = None
        if self._needs_maint:
            self._start_maintenance()

    # -- maintenance (min_idle fill, idle reaping, leak detection) -----------------
    def _start_maintenance(self) -> None:
        with self._overflow_lock:
            if self._maint is not None and self._maint.is_alive():
                return
            t = threading.Thread(
                target=_sync_maintenance,
                args=(weakref.ref(self),),
                name="unipool-sqlalchemy-maint",
                daemon=True,
            )
            self._maint = t
            t.start()

    def _maintain_once(self) -> float:
        raw = self._pool.raw
        to_close, to_create, next_run = raw.maintain()
        for rec, _reason in to_close:
            _close_record(rec)
        for permit in to_create:
            try:
                rec = self._create_connection()
            except Exception as e:
                permit.fail(describe_exception(e))
                self.logger.warning("background connect failed: %s", describe_exception(e))
                continue
            rec._unipool_raw = raw
            rec._unipool_async = self._is_asyncio
            back = permit.fulfill_idle(rec)
            if back is not None:
                _close_record(back)
        return next_run


def _retire_record(rec: Any, reason: str) -> None:
    if _in_greenlet is not None and getattr(rec, "_unipool_async", False) and not _in_greenlet():
        # an asyncio driver can only close inside a greenlet on the loop
        _DEFERRED.append(rec)
        return
    _close_record(rec)


_DEFERRED: list = []


def _close_deferred() -> None:
    while _DEFERRED:
        try:
            rec = _DEFERRED.pop()
        except IndexError:  # pragma: no cover
            return
        _close_record(rec)


def _sync_maintenance(ref: "weakref.ref[QueuePool]") -> None:
    import time

    while True:
        pool = ref()
        if pool is None or pool._pool.raw.closed:
            return
        try:
            delay = pool._maintain_once()
        except Exception:  # pragma: no cover
            _log.exception("unipool maintenance failed")
            delay = 1.0
        del pool
        time.sleep(min(max(delay, 0.01), 5.0))


def _wake(fut: "asyncio.Future[None]") -> None:
    if not fut.done():
        fut.set_result(None)


async def _wait_grant(raw: "_unipool.RawPool", timeout: float, to_close: list) -> Any:
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    waiter = raw.acquire_async(timeout, functools.partial(loop.call_soon_threadsafe, _wake, fut))
    try:
        await fut
    except BaseException:
        # cancelled (or the loop is going away): give back whatever the core
        # granted meanwhile; what it says to close, close
        to_close.extend(waiter.cancel())
        raise
    return waiter.take()


class AsyncAdaptedQueuePool(QueuePool):
    """SQLAlchemy's ``AsyncAdaptedQueuePool`` contract on the unipool core.

    Waiting for a connection never blocks the event loop (the core answers a
    callback that resolves an asyncio future); connections are created in the
    caller's greenlet on the event loop, as the async dialects require.
    Cancelling a waiting checkout gives back anything granted meanwhile.
    """

    _is_asyncio = True
    _dialect = _AsyncConnDialect()

    def _do_get(self) -> Any:
        raw = self._pool.raw
        if self._needs_maint:
            self._ensure_async_maintenance()
        got = raw.try_acquire()
        if got is None:
            to_close: list = []
            try:
                got = _await(_wait_grant(raw, self._timeout, to_close))
            except PoolTimeoutError:
                raise self._timeout_error() from None
            finally:
                # closed here, in the caller's greenlet, where async drivers can close
                for rec in to_close:
                    _close_record(rec)
                if _DEFERRED:
                    _close_deferred()
        if type(got) is Permit:
            return self._create(got)
        return got

    def _start_maintenance(self) -> None:
        # started lazily on the event loop by the first checkout
        pass

    def _ensure_async_maintenance(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        t = self._maint
        if t is not None and not t.done() and t.get_loop() is loop:
            return
        self._maint = loop.create_task(_async_maintenance(weakref.ref(self)))

    async def _maintain_once_async(self) -> float:
        return await _greenlet_spawn(self._maintain_once)


async def _async_maintenance(ref: "weakref.ref[AsyncAdaptedQueuePool]") -> None:
    while True:
        pool = ref()
        if pool is None or pool._pool.raw.closed:
            return
        try:
            delay = await pool._maintain_once_async()
        except asyncio.CancelledError:
            raise
        except Exception:  # pragma: no cover
            _log.exception("unipool maintenance failed")
            delay = 1.0
        del pool
        await asyncio.sleep(min(max(delay, 0.01), 5.0))
