"""Pieces shared by the plain pools and the SQLAlchemy pools."""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Union

from . import _unipool
from ._unipool import PoolConfig

__all__ = ["PoolStats", "build_config", "describe_exception", "register_fork_handler"]

# Field order of the core's PoolStatus (Rust), for repr and docs. The dict the
# native module returns is authoritative; a test checks the two agree.
STATS_FIELDS = (
    "name",
    "open",
    "idle",
    "in_use",
    "pending",
    "waiting",
    "max",
    "pool_size",
    "max_overflow",
    "min_idle",
    "overflow",
    "generation",
    "is_paused",
    "is_closed",
    "acquired",
    "created",
    "create_failures",
    "closed",
    "timeouts",
    "pings",
    "ping_failures",
    "leaks_detected",
    "invalidated",
)


class PoolStats(Mapping[str, Any]):
    """A snapshot of the pool: the same fields as the Rust core's ``PoolStatus``.

    Attribute access (``stats.in_use``) and mapping access (``stats["in_use"]``)
    both work; ``dict(stats)`` gives a plain dict (e.g. for a JSON endpoint).
    """

    __slots__ = ("_d",)

    def __init__(self, d: Dict[str, Any]) -> None:
        object.__setattr__(self, "_d", d)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._d[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("PoolStats is read-only")

    def __getitem__(self, key: str) -> Any:
        return self._d[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def as_dict(self) -> Dict[str, Any]:
        return dict(self._d)

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={self._d[k]!r}" for k in self._d)
        return f"PoolStats({body})"


def build_config(
    config: Union[PoolConfig, Mapping[str, Any], None] = None, **settings: Any
) -> PoolConfig:
    """A PoolConfig from an existing one (copied) or a mapping, then settings.

    Keys may be any name the core accepts (canonical, asyncpg/sqlx/pg-pool/
    HikariCP aliases, camelCase); values None/bool/int/float/str/timedelta.
    """
    if config is None:
        cfg = PoolConfig()
    elif isinstance(config, PoolConfig):
        cfg = config.copy()
    elif isinstance(config, Mapping):
        cfg = PoolConfig()
        for k, v in config.items():
            cfg.set(k, v)
    else:
        raise TypeError(
            f"config must be a unipool.PoolConfig, a mapping or None, not {type(config).__name__}"
        )
    for k, v in settings.items():
        cfg.set(k, v)
    cfg.validate()
    return cfg


def describe_exception(e: BaseException) -> str:
    """'TypeName: message' (passwords masked) for the pool's last connect error."""
    text = _unipool.redact(str(e))
    name = type(e).__qualname__
    mod = type(e).__module__
    if mod and mod not in ("builtins", "__main__"):
        name = f"{mod}.{name}"
    return f"{name}: {text}" if text else name


# --- fork safety -------------------------------------------------------------

_FORK_AWARE: "weakref.WeakSet[Any]" = weakref.WeakSet()
_fork_lock = threading.Lock()


def _after_fork_in_child() -> None:
    global _fork_lock
    _fork_lock = threading.Lock()
    for obj in list(_FORK_AWARE):
        try:
            obj._unipool_after_fork()
        except Exception:  # pragma: no cover - never let a pool break a child
            import traceback

            traceback.print_exc()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def register_fork_handler(obj: Any) -> None:
    """obj._unipool_after_fork() runs in the child after os.fork()."""
    _FORK_AWARE.add(obj)


def forget_raw(raw: "_unipool.RawPool") -> None:
    """Abandon a RawPool in a forked child: never touch its state again."""
    raw._forget_after_fork()


def close_quietly(close: Callable[[Any], Any], obj: Any, log: Optional[Callable[..., Any]] = None) -> None:
    try:
        close(obj)
    except Exception as e:  # closing a dead connection may fail; nothing to do
        if log is not None:
            log("error closing connection: %s", describe_exception(e))


def drain(objs: List[Any], close: Callable[[Any], Any]) -> None:
    for o in objs:
        close_quietly(close, o)
