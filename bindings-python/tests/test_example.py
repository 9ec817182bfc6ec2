"""The FastAPI example runs (uvicorn, real HTTP) against PostgreSQL and
answers /health/database and /metrics."""

from __future__ import annotations

import concurrent.futures
import os
import pathlib
import socket
import subprocess
import sys
import time

import httpx

EXAMPLE_DIR = pathlib.Path(__file__).resolve().parents[2] / "examples" / "python"


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_fastapi_example_answers_both_endpoints(tmp_path):
    assert (EXAMPLE_DIR / "fastapi_app.py").exists()
    port = _free_port()
    env = dict(os.environ, DB_POOL_SIZE="3", DB_MAX_OVERFLOW="2")
    log = open(tmp_path / "uvicorn.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "fastapi_app:app", "--app-dir", str(EXAMPLE_DIR),
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(base + "/health/database", timeout=5)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    out = (tmp_path / "uvicorn.log").read_text(errors="replace")
                    raise AssertionError(f"uvicorn did not come up: {out}")
                time.sleep(0.1)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "ok"
        pool = body["pool"]
        assert pool["size"] == 3 and pool["checked_out"] == 0 and pool["checked_in"] == 1
        assert pool["overflow"] == -2
        assert pool["core"]["name"] == "app" and pool["core"]["acquired"] == 1
        assert pool["status"].startswith("Pool size: 3")

        # some concurrent load, then the counters show it
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            codes = list(ex.map(lambda i: httpx.get(base + f"/items/{i % 5 + 1}", timeout=30).status_code, range(40)))
        assert codes == [200] * 40

        m = httpx.get(base + "/metrics", timeout=5)
        assert m.status_code == 200
        assert m.headers["content-type"].startswith("text/plain")
        assert 'db_client_connection_pool_name="app"' in m.text
        assert "# TYPE" in m.text
        r2 = httpx.get(base + "/health/database", timeout=5).json()
        assert r2["pool"]["core"]["acquired"] >= 42 and r2["pool"]["checked_out"] == 0
        assert r2["pool"]["core"]["open"] <= 5
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            proc.wait(10)
        log.close()
