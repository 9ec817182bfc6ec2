"""Shared fixtures: the real PostgreSQL (DATABASE_URL) and SQLite.

Every test talks to a real database where the database is the point; a
missing server is a failure that says what is missing, never a skip.
"""

from __future__ import annotations

import os
import socket
import sys
import urllib.parse

import pytest

import unipool

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_parts():
    u = urllib.parse.urlsplit(DATABASE_URL)
    return u.hostname or "127.0.0.1", u.port or 5432


def pytest_sessionstart(session):
    # the package under test must be the installed wheel, not the source tree
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if os.path.abspath(unipool.__file__).startswith(here):
        raise pytest.UsageError(
            f"unipool imported from the source tree ({unipool.__file__}), not the installed wheel"
        )
    host, port = _pg_parts()
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as e:
        raise pytest.UsageError(
            f"PostgreSQL is not reachable at {host}:{port} (DATABASE_URL={_redact(DATABASE_URL)}): {e}. "
            "These tests need a running PostgreSQL server."
        )


def _redact(url: str) -> str:
    u = urllib.parse.urlsplit(url)
    if u.password:
        netloc = f"{u.username}:***@{u.hostname}" + (f":{u.port}" if u.port else "")
        return urllib.parse.urlunsplit(u._replace(netloc=netloc))
    return url


def _with_driver(url: str, driver: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"postgresql+{driver}://{rest}"


@pytest.fixture(scope="session")
def pg_url() -> str:
    """libpq-style URL for psycopg / asyncpg."""
    return DATABASE_URL.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(scope="session")
def sa_pg_url() -> str:
    return _with_driver(DATABASE_URL, "psycopg")


@pytest.fixture(scope="session")
def sa_pg_url_psycopg2() -> str:
    return _with_driver(DATABASE_URL, "psycopg2")


@pytest.fixture(scope="session")
def sa_async_url() -> str:
    return _with_driver(DATABASE_URL, "asyncpg")


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def admin_conn(pg_url):
    """An autocommit psycopg connection outside every pool (to terminate backends)."""
    import psycopg

    c = psycopg.connect(pg_url, autocommit=True)
    yield c
    c.close()


def backend_pid_sync(dbapi_conn) -> int:
    cur = dbapi_conn.cursor()
    cur.execute("SELECT pg_backend_pid()")
    pid = cur.fetchone()[0]
    cur.close()
    return pid


def terminate(admin_conn, pid: int) -> None:
    admin_conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    # wait until the backend is gone
    import time

    for _ in range(200):
        row = admin_conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
        if row[0] == 0:
            return
        time.sleep(0.01)
    raise AssertionError(f"backend {pid} still alive after pg_terminate_backend")
