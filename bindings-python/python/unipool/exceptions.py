"""Exceptions raised by unipool.

Every error the Rust core reports is mapped to exactly one of these classes
(by its ``kind``) in the native module; the mapping is one exhaustive match
over the core's ``ErrorKind``.

Each instance carries:

``kind``       the core's snake_case kind (``"pool_timeout"``, ...)
``code``       a stable code (``"UNIPOOL_POOL_TIMEOUT"``, ...)
``retryable``  whether trying again later may succeed
``status``     for timeouts: the pool's counts when the wait ended (dict)
``waited``     for timeouts: seconds waited
``config_key`` for configuration errors: the offending key
"""

from __future__ import annotations

from typing import Any, Dict, Optional

__all__ = [
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


class UnipoolError(Exception):
    """Base class of every unipool error."""

    default_kind = "internal"

    def __init__(
        self,
        message: str = "",
        *,
        kind: Optional[str] = None,
        code: Optional[str] = None,
        retryable: bool = False,
        status: Optional[Dict[str, Any]] = None,
        waited: Optional[float] = None,
        config_key: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind or self.default_kind
        self.code = code or "UNIPOOL_" + self.kind.upper()
        self.retryable = retryable
        self.status = status
        self.waited = waited
        self.config_key = config_key

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # keep pickling (multiprocessing) working with kwargs
        return (
            _rebuild,
            (
                type(self),
                self.message,
                dict(
                    kind=self.kind,
                    code=self.code,
                    retryable=self.retryable,
                    status=self.status,
                    waited=self.waited,
                    config_key=self.config_key,
                ),
            ),
        )


def _rebuild(cls, message, kw):
    return cls(message, **kw)


class PoolTimeoutError(UnipoolError, TimeoutError):
    """No connection became available within the pool timeout."""

    default_kind = "pool_timeout"


class PoolClosedError(UnipoolError):
    """The pool was closed before or while waiting."""

    default_kind = "pool_closed"


class ConnectError(UnipoolError):
    """Creating a connection failed; the driver's exception is ``__cause__``."""

    default_kind = "connect_failed"


class ConnectTimeoutError(ConnectError, TimeoutError):
    """Creating a connection took longer than ``connect_timeout``."""

    default_kind = "connect_timeout"


class ConnectionBrokenError(UnipoolError):
    """A connection failed its ping or reset and was discarded."""

    default_kind = "connection_broken"


class ConfigError(UnipoolError, ValueError):
    """A configuration key or value was not acceptable (``config_key`` names it)."""

    default_kind = "invalid_config"


class UsageError(UnipoolError, RuntimeError):
    """The API was used in a way it does not allow (double release, ...)."""

    default_kind = "invalid_usage"


class InternalError(UnipoolError):
    """A bug in unipool."""

    default_kind = "internal"
