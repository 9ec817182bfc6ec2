"""unipool: one connection-pool core (Rust) for Python.

* ``unipool.sqlalchemy.QueuePool`` / ``AsyncAdaptedQueuePool``: drop-in
  ``poolclass=`` for ``create_engine`` / ``create_async_engine``.
* ``unipool.Pool`` / ``unipool.AsyncPool``: a plain pool of whatever your
  creator returns.
* ``unipool.PoolConfig``: the shared configuration vocabulary.
"""

from __future__ import annotations

from ._unipool import PoolConfig, __version__
from ._common import PoolStats
from .exceptions import (
    ConfigError,
    ConnectError,
    ConnectionBrokenError,
    ConnectTimeoutError,
    InternalError,
    PoolClosedError,
    PoolTimeoutError,
    UnipoolError,
    UsageError,
)
from .pool import AsyncPool, Pool

__all__ = [
    "__version__",
    "Pool",
    "AsyncPool",
    "PoolConfig",
    "PoolStats",
    "UnipoolError",
    "PoolTimeoutError",
    "PoolClosedError",
    "ConnectError",
    "ConnectTimeoutError",
    "ConnectionBrokenError",
    "ConfigError",
    "UsageError",
    "InternalError",
]
