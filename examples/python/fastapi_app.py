"""FastAPI + SQLAlchemy (asyncio) on the unipool core: one changed argument.

    pip install unipool-*.whl "sqlalchemy>=2" asyncpg fastapi uvicorn
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \
        uvicorn fastapi_app:app --app-dir examples/python --port 8000

    curl localhost:8000/health/database   # pool size, checked in/out, overflow + core stats
    curl localhost:8000/metrics           # Prometheus text from the core
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Dict

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

import unipool.sqlalchemy


def async_url(url: str) -> str:
    """postgresql://... -> postgresql+asyncpg://..."""
    scheme, sep, rest = url.partition("://")
    if "+" not in scheme and scheme in ("postgres", "postgresql"):
        scheme = "postgresql+asyncpg"
    return scheme + sep + rest


DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")

engine = create_async_engine(
    async_url(DATABASE_URL),
    poolclass=unipool.sqlalchemy.AsyncAdaptedQueuePool,  # <- the only change
    pool_size=int(os.environ.get("DB_POOL_SIZE", "5")),
    max_overflow=int(os.environ.get("DB_MAX_OVERFLOW", "10")),
    pool_timeout=float(os.environ.get("DB_POOL_TIMEOUT", "30")),
    pool_pre_ping=True,
    pool_recycle=1800,
    pool_logging_name="app",  # the pool's name in metrics
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    await engine.dispose()


app = FastAPI(title="unipool example", lifespan=lifespan)


def pool_report() -> Dict[str, Any]:
    pool = engine.pool
    return {
        "size": pool.size(),
        "checked_in": pool.checkedin(),
        "checked_out": pool.checkedout(),
        "overflow": pool.overflow(),
        "status": pool.status(),
        "core": dict(pool.stats()),  # unipool's snapshot: same fields as Rust's PoolStatus
    }


@app.get("/health/database")
async def health_database() -> Response:
    try:
        async with engine.connect() as conn:
            value = (await conn.execute(text("SELECT 1"))).scalar_one()
        ok = value == 1
        error = None
    except Exception as e:  # report, don't crash the health check
        ok = False
        error = f"{type(e).__name__}: {e}"
    body: Dict[str, Any] = {"status": "ok" if ok else "error", "pool": pool_report()}
    if error:
        body["error"] = error
    return JSONResponse(body, status_code=200 if ok else 503)


@app.get("/metrics")
async def metrics() -> Response:
    return Response(engine.pool.metrics_text(), media_type="text/plain; version=0.0.4; charset=utf-8")


@app.get("/items/{n}")
async def items(n: int) -> Dict[str, Any]:
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT generate_series(1, :n)"), {"n": n})).scalars().all()
    return {"items": rows}
