"""Processes for the operations tests: ``parking serve`` and ``parking worker`` as a user runs
them, redis-servers the test starts and kills, and their JSON log lines."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import TEST_SECRET, redis_server_binary

__all__ = [
    "Process",
    "free_port",
    "json_lines",
    "start_api",
    "start_redis",
    "start_worker",
    "stop",
    "wait_for",
    "wait_healthy",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Process:
    proc: subprocess.Popen
    log: Path
    url: str | None = None

    def lines(self) -> list[dict]:
        return json_lines(self.log)


def json_lines(log: Path) -> list[dict]:
    """The JSON log records of a process (other output, such as tracebacks of a kill, skipped)."""
    records = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("{"):
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
    return records


def _environment(db_dsn: str, extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARKING_")}
    env.update(
        PARKING_DATABASE_URL=db_dsn,
        PARKING_SECRET_KEY=TEST_SECRET,
        PARKING_LOG_FORMAT="json",
        **extra,
    )
    return env


def _parking(args: list[str], env: dict[str, str], workdir: Path, log: Path) -> subprocess.Popen:
    # The working directory is empty so that no developer .env reaches the process.
    return subprocess.Popen(
        [sys.executable, "-m", "parking", *args],
        cwd=workdir,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def start_api(db_dsn: str, workdir: Path, **settings: str) -> Process:
    """``parking serve`` on a free port; ``settings`` are PARKING_ variables without prefix."""
    port = free_port()
    log = workdir / f"api-{port}.log"
    extra = {f"PARKING_{k.upper()}": v for k, v in settings.items()}
    proc = _parking(
        ["serve", "--host", "127.0.0.1", "--port", str(port)],
        _environment(db_dsn, extra),
        workdir,
        log,
    )
    return Process(proc, log, f"http://127.0.0.1:{port}")


def start_worker(db_dsn: str, workdir: Path, name: str, *args: str, **settings: str) -> Process:
    """``parking worker ARGS``; ``settings`` are PARKING_ variables without prefix."""
    log = workdir / f"worker-{name}.log"
    extra = {f"PARKING_{k.upper()}": v for k, v in settings.items()}
    return Process(_parking(["worker", *args], _environment(db_dsn, extra), workdir, log), log)


def start_redis(workdir: Path) -> tuple[subprocess.Popen, str]:
    """A redis-server of the test's own on a free port, and its URL, once it answers."""
    port = free_port()
    proc = subprocess.Popen(
        [
            redis_server_binary(),
            *("--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(workdir)),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


async def wait_healthy(process: Process, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=process.url, timeout=2) as client:
        while time.monotonic() < deadline:
            if process.proc.poll() is not None:
                raise RuntimeError(
                    f"{process.url} exited with {process.proc.returncode}:\n"
                    + process.log.read_text(errors="replace")[-3000:]
                )
            try:
                if (await client.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{process.url} did not become healthy")


async def wait_for(condition, what: str, timeout_s: float = 60, every_s: float = 0.1) -> None:
    """Poll ``await condition()`` (or a plain call) until it is true; a bound, not a measure."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        await asyncio.sleep(every_s)
    raise TimeoutError(f"gave up waiting for {what}")


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout_s: float = 30) -> int:
    """Send ``sig`` and wait; kill if it does not end. The exit code."""
    if process.poll() is None:
        process.send_signal(sig)
    try:
        return process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
        raise
