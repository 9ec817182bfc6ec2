"""The shared conformance scenarios (tests/conformance/*.toml, see FORMAT.md)
played through the Python API: unipool.AsyncPool on one event loop.

The runner is the host: its creator makes connections named c1, c2, ... and
it observes the pool only through what the public API shows it: which object
it got, whether its creator / ping / close callables ran, the pool's events,
stats() and metrics_text(). The pool runs on a manual clock (a private test
hook) so lifetimes and idle timeouts are exact.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import sys

import pytest

import unipool
from unipool import ConfigError, UnipoolError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCENARIO_DIR = ROOT / "tests" / "conformance"
SCENARIOS = sorted(SCENARIO_DIR.glob("*.toml"))


class Conn:
    __slots__ = ("name", "closed")

    def __init__(self, name: str) -> None:
        self.name = name
        self.closed = False

    def __repr__(self) -> str:
        return f"<Conn {self.name}>"


class ScenarioFailure(AssertionError):
    pass


class Runner:
    def __init__(self, file: str, config: dict) -> None:
        self.file = file
        self.step_no = 0
        self.created = 0
        self.connect_fails = False
        self.creates_this_step = 0
        self.pings_this_step = 0
        self.closes_this_step: list = []
        self.events: list = []
        self.held: dict = {}
        self.waits: dict = {}
        # Connections the core retired during an acquire (found past their
        # lifetime) are closed by the Python pool right away through its
        # retire hook; the Rust runner sees them in the next maintain().
        # They are carried to the next maintain step for comparison.
        self.retired_reasons: list = []
        self.pool = unipool.AsyncPool(
            self._create,
            ping=self._ping,
            close=self._close,
            config=config,
            _manual_clock=True,
        )
        self.pool.add_listener(self.events.append)

    # the host's callables --------------------------------------------------
    async def _create(self):
        self.creates_this_step += 1
        if self.connect_fails:
            raise RuntimeError("scenario connect failure")
        self.created += 1
        return Conn(f"c{self.created}")

    def _ping(self, conn):
        self.pings_this_step += 1

    def _close(self, conn):
        conn.closed = True
        self.closes_this_step.append(conn)

    def fail(self, msg: str):
        raise ScenarioFailure(f"{self.file} step {self.step_no + 1}: {msg}")

    # helpers -------------------------------------------------------------------
    def check_conn(self, step: dict, conn: Conn, was_new: bool, pinged: bool) -> None:
        if "expect_conn" in step and conn.name != step["expect_conn"]:
            self.fail(f"expected connection {step['expect_conn']}, got {conn.name}")
        if "expect_new" in step and was_new != step["expect_new"]:
            self.fail(f"expected is_new = {step['expect_new']}, got {was_new}")
        if "expect_needs_ping" in step and pinged != step["expect_needs_ping"]:
            self.fail(f"expected needs_ping = {step['expect_needs_ping']}, got {pinged}")

    async def settle(self, rounds: int = 50) -> None:
        for _ in range(rounds):
            await asyncio.sleep(0)

    async def wait_state(self, name: str) -> str:
        if name not in self.waits:
            self.fail(f"no wait named {name}")
        task, _ = self.waits[name]
        await self.settle()
        if not task.done():
            return "waiting"
        if task.cancelled():
            return "cancelled"
        exc = task.exception()
        if exc is not None:
            return f"error:{getattr(exc, 'kind', type(exc).__name__)}"
        if name not in self.held:
            self.held[name] = task.result()
        return "served"

    def close_reason_for(self, conn: Conn) -> str:
        if conn not in self.closes_this_step:
            return "none"
        reasons = [e.get("reason") for e in self.events if e["event"] == "close"]
        return reasons[-1] if reasons else "?"

    # steps -------------------------------------------------------------------------
    async def run_step(self, step: dict) -> None:
        self.creates_this_step = 0
        self.pings_this_step = 0
        self.closes_this_step = []
        self.events.clear()
        pool = self.pool
        want_state = step.get("expect_state")
        if "acquire" in step:
            h = step["acquire"]
            self.connect_fails = bool(step.get("connect_fails", False))
            try:
                conn = await pool.getconn(timeout=float(step.get("timeout", 0)))
            except UnipoolError as e:
                if step.get("expect_error") != e.kind:
                    self.fail(f"unexpected error {e.kind}: {e}")
            else:
                if "expect_error" in step:
                    self.fail(f"expected error {step['expect_error']}, got connection {conn.name}")
                self.check_conn(step, conn, self.creates_this_step > 0, self.pings_this_step > 0)
                self.held[h] = conn
            finally:
                self.connect_fails = False
        elif "release" in step:
            conn = self.held.pop(step["release"], None)
            if conn is None:
                self.fail(f"nothing held as {step['release']}")
            await pool.putconn(conn)
            closed = self.close_reason_for(conn)
            if "expect_closed" in step and closed != step["expect_closed"]:
                self.fail(f"expected closed = {step['expect_closed']}, got {closed}")
        elif "invalidate" in step:
            conn = self.held.pop(step["invalidate"], None)
            if conn is None:
                self.fail(f"nothing held as {step['invalidate']}")
            await pool.putconn(conn, broken=True)
        elif "wait" in step:
            w = step["wait"]
            task = asyncio.get_running_loop().create_task(pool.getconn(timeout=float(step.get("timeout", 10))))
            self.waits[w] = (task, None)
            await asyncio.sleep(0)  # the task registers its wait with the core
            if want_state is not None:
                got = await self.wait_state(w)
                if got != want_state:
                    self.fail(f"expected {w} {want_state}, got {got}")
        elif "check" in step:
            w = step["check"]
            got = await self.wait_state(w)
            if want_state is not None and got != want_state:
                self.fail(f"expected {w} {want_state}, got {got}")
            if w in self.held:
                self.check_conn(step, self.held[w], False, False) if "expect_conn" in step else None
        elif "cancel" in step:
            w = step["cancel"]
            task, _ = self.waits[w]
            still_waiting = not task.done()
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:
                pass
            got = "cancelled" if still_waiting and task.cancelled() else "answered"
            if want_state is not None and got != want_state:
                self.fail(f"expected {w} {want_state}, got {got}")
        elif "sleep" in step:
            await asyncio.sleep(float(step["sleep"]))
        elif "advance" in step:
            pool._raw._advance(float(step["advance"]))
        elif "maintain" in step:
            await pool._maintain_once()
            reasons = sorted(
                self.retired_reasons + [e["reason"] for e in self.events if e["event"] == "close"]
            )
            self.retired_reasons = []
            leaks = sum(1 for e in self.events if e["event"] == "leak")
            if "expect_closed_reasons" in step and sorted(step["expect_closed_reasons"]) != reasons:
                self.fail(f"expected closed {sorted(step['expect_closed_reasons'])}, got {reasons}")
            if "expect_creates" in step and step["expect_creates"] != self.creates_this_step:
                self.fail(f"expected {step['expect_creates']} creates, got {self.creates_this_step}")
            if "expect_leaks" in step and step["expect_leaks"] != leaks:
                self.fail(f"expected {step['expect_leaks']} leaks, got {leaks}")
        elif "dispose" in step or "resize" in step or "close" in step:
            if "dispose" in step:
                await pool.dispose()
            elif "resize" in step:
                r = step["resize"]
                await pool.resize(int(r["pool_size"]), int(r["max_overflow"]))
            else:
                await pool.close()
            n = len(self.closes_this_step)
            if "expect_closed_count" in step and step["expect_closed_count"] != n:
                self.fail(f"expected {step['expect_closed_count']} closed, got {n}")
        elif "pause" in step:
            pool.pause()
        elif "resume" in step:
            pool.resume()
        elif "status" in step:
            s = pool.stats()
            for k, v in step.get("expect_status", {}).items():
                if k not in s:
                    self.fail(f"unknown status field {k}")
                got = s[k]
                if k == "max" and got is None:
                    got = -1
                if got != v:
                    self.fail(f"status.{k}: expected {v}, got {got} ({s!r})")
        elif "metrics" in step:
            text = pool.metrics_text().splitlines()
            for line in step.get("expect_lines", []):
                line = line.replace("{pool}", pool.name)
                if line not in text:
                    self.fail(f"metrics lack line {line!r}")
        else:
            self.fail(f"unknown step {step!r}")
        if any(k in step for k in ("acquire", "wait", "check", "cancel", "sleep")):
            self.retired_reasons += [e["reason"] for e in self.events if e["event"] == "close"]
        pool._raw._check_invariants()


async def run_file(path: pathlib.Path) -> None:
    doc = tomllib.loads(path.read_text())
    config = {"name": "conformance"}
    config.update(doc.get("config", {}))
    if "expect_config_error" in doc:
        with pytest.raises(ConfigError) as ei:
            Runner(path.name, config)
        assert ei.value.config_key == doc["expect_config_error"].get("key"), (path.name, str(ei.value))
        assert ei.value.kind == "invalid_config"
        return
    r = Runner(path.name, config)
    steps = doc.get("step", [])
    assert steps, f"{path.name}: no steps"
    try:
        for i, step in enumerate(steps):
            r.step_no = i
            await r.run_step(step)
    finally:
        for task, _ in r.waits.values():
            if not task.done():
                task.cancel()
        await asyncio.gather(*(t for t, _ in r.waits.values()), return_exceptions=True)


def test_scenarios_exist():
    assert len(SCENARIOS) >= 20, f"expected the conformance scenarios in {SCENARIO_DIR}"


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
async def test_conformance(path):
    await run_file(path)


async def test_the_runner_catches_a_wrong_expectation(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("name='bad'\n[config]\npool_size=1\nmax_overflow=0\n[[step]]\nacquire='a'\nexpect_conn='c2'\n")
    with pytest.raises(ScenarioFailure, match="expected connection c2, got c1"):
        await run_file(bad)
