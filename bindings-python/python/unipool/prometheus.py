"""A ``prometheus_client`` collector for unipool pools.

    from prometheus_client import REGISTRY
    from unipool.prometheus import UnipoolCollector
    REGISTRY.register(UnipoolCollector(pool))          # unipool.Pool / AsyncPool
    REGISTRY.register(UnipoolCollector(engine.pool))   # unipool.sqlalchemy pools

It re-exposes the core's own metrics (``metrics_text()``), so names, help
texts and labels are exactly those of the Rust, Node and C front ends.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator, List

__all__ = ["UnipoolCollector"]


class UnipoolCollector:
    """Collects the core's metrics of one or more pools at scrape time."""

    def __init__(self, *pools: Any) -> None:
        self._pools: List[Any] = list(pools)

    def add(self, pool: Any) -> None:
        self._pools.append(pool)

    def collect(self) -> Iterator[Any]:
        from prometheus_client.parser import text_string_to_metric_families

        merged: dict = {}
        for pool in self._pools:
            for fam in text_string_to_metric_families(_raw_of(pool).metrics_text()):
                have = merged.get(fam.name)
                if have is None:
                    merged[fam.name] = fam
                else:
                    have.samples.extend(fam.samples)
        yield from merged.values()

    def describe(self) -> Iterable[Any]:
        # no describe: registering does not call collect() eagerly with side effects
        return []


def _raw_of(pool: Any) -> Any:
    raw = getattr(pool, "_raw", None)
    if raw is None:
        raise TypeError(f"not a unipool pool: {pool!r}")
    return raw
