"""What the api benchmarks share: a database of their own, an api process, percentiles.

The database is created on ``PARKING_BENCH_POSTGRES`` (a DSN on which databases may be
created; default postgresql://postgres@127.0.0.1:5432/postgres) and dropped at the end,
also on failure. The api is uvicorn with ``parking.app:create_app`` (access log off,
no Redis, holds off), stopped at the end.
"""

from __future__ import annotations

import asyncio
import math
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

__all__ = [
    "ROOT",
    "SECRET",
    "SHANGHAI",
    "add_verified_residents",
    "bench_database",
    "quantile",
    "report_latencies",
    "running_api",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
SECRET = "bench-secret-key-not-for-production-0123456789"


def _with_database(dsn: str, database: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{database}"))


@asynccontextmanager
async def bench_database(prefix: str) -> AsyncIterator[str]:
    """A new empty database's DSN, dropped on leaving (also on failure)."""
    server_dsn = os.environ.get(
        "PARKING_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    name = f"parking_bench_{prefix}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield _with_database(server_dsn, name)
    finally:
        admin = await asyncpg.connect(server_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_api(
    dsn: str, port: int, workers: int, pool_size: int, env: Mapping[str, str]
) -> subprocess.Popen:
    environment = {
        **os.environ,
        "PARKING_DATABASE_URL": dsn,
        "PARKING_SECRET_KEY": SECRET,
        "PARKING_DB_POOL_MAX_SIZE": str(pool_size),
        "PARKING_DB_POOL_MIN_SIZE": str(pool_size),
        **env,
    }
    environment.pop("PARKING_REDIS_URL", None)
    environment.pop("PARKING_HOLD_MINUTES", None)  # bookings are confirmed at once
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "parking.app:create_app",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--no-access-log", "--log-level", "warning",
        # Longer than any wait in a run, so the server never closes a connection the
        # client is about to reuse (the default 5 s races with a busy client's pool).
        "--timeout-keep-alive", "120",
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=environment)


async def _wait_ready(base: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=base) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError("the api process exited")
            try:
                if (await client.get("/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the api did not become ready in 60 s")


@asynccontextmanager
async def running_api(
    dsn: str, *, workers: int, pool_size: int, env: Mapping[str, str] | None = None
) -> AsyncIterator[str]:
    """The base URL of an api serving ``dsn``, once it is ready; stopped on leaving."""
    port = _free_port()
    proc = _start_api(dsn, port, workers, pool_size, env or {})
    try:
        base = f"http://127.0.0.1:{port}"
        await _wait_ready(base, proc)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def quantile(values: list[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (no interpolation: a value that was measured)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def report_latencies(label: str, latencies_ms: list[float], wall_s: float) -> float:
    """Print p50, p90, p99, max and throughput on one line; the median."""
    p50 = statistics.median(latencies_ms)
    print(
        f"{label:8} n={len(latencies_ms)}  p50 {p50:7.2f} ms"
        f"  p90 {quantile(latencies_ms, 0.9):7.2f} ms  p99 {quantile(latencies_ms, 0.99):7.2f} ms"
        f"  max {max(latencies_ms):7.2f} ms  throughput {len(latencies_ms) / wall_s:7.0f} req/s"
    )
    return p50


_RESIDENTS = """
INSERT INTO users (email, password_hash, role)
SELECT $2 || '-' || n || '@bench.example.com', 'x', 'resident' FROM generate_series(1, $1) AS n
RETURNING id
"""
_VERIFY = """
WITH c AS (
    INSERT INTO compounds (name, lat, lon) VALUES ($2, 22.565, 114.128) RETURNING id
), w AS (
    INSERT INTO residence_whitelist (compound_id, unit, phone)
    SELECT c.id, 'unit-' || u, '137' || lpad(u::text, 8, '0') FROM c, unnest($1::bigint[]) AS u
    RETURNING id, unit
)
INSERT INTO residencies (user_id, whitelist_id) SELECT substr(unit, 6)::bigint, id FROM w
"""
_VEHICLES = """
INSERT INTO vehicles (user_id, plate, new_energy)
SELECT u, '粤B' || lpad((u * $2 + g)::text, 6, '0'), false
FROM unnest($1::bigint[]) AS u CROSS JOIN generate_series(1, $2) AS g
ORDER BY u, g
RETURNING id, user_id, plate
"""


async def add_verified_residents(
    conn: asyncpg.Connection, count: int, cars_each: int, label: str
) -> tuple[dict[int, dict[str, str]], list[asyncpg.Record]]:
    """``count`` residents verified in one compound (named after ``label``), each with
    ``cars_each`` cars: their bearer headers by user id (signed with SECRET), and the
    vehicle rows (id, user_id, plate) in user order."""
    from parking.security import build_jwt_auth
    from parking.settings import Settings

    user_ids = [r["id"] for r in await conn.fetch(_RESIDENTS, count, label)]
    await conn.execute(_VERIFY, user_ids, f"{label.title()} Gardens")
    vehicles = await conn.fetch(_VEHICLES, user_ids, cars_each)
    jwt = build_jwt_auth(Settings(_env_file=None, secret_key=SECRET))
    headers = {
        user_id: {
            "Authorization": "Bearer "
            + jwt.create_token(identifier=str(user_id), token_extras={"role": "resident"})
        }
        for user_id in user_ids
    }
    return headers, vehicles
