"""No double booking under load: two api processes, one database, 2,000 racing bookings.

Each attempt is a different car and Idempotency-Key with a random stay inside the
window of one building with 50 spaces; about 100 are in flight at once, half to each
process. Afterwards PostgreSQL is asked whether any two active reservations of a
space overlap, and every answer is checked against the rows.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from parking.settings import Settings
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import at, make_building, make_resident, tomorrow

ATTEMPTS = 2_000
SPACES = 50
IN_FLIGHT = 100
VEHICLES_PER_RESIDENT = 20
ACTIVE = ("held", "confirmed", "checked_in")

pytestmark = pytest.mark.timeout(180)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(db_dsn: str, port: int, workdir: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARKING_")}
    env.update(
        PARKING_DATABASE_URL=db_dsn,
        PARKING_SECRET_KEY=TEST_SECRET,
        PARKING_MAX_VEHICLES_PER_RESIDENT=str(VEHICLES_PER_RESIDENT),
        PARKING_DB_POOL_MAX_SIZE="20",
    )
    log = (workdir / f"server-{port}.log").open("wb")
    # The working directory is empty so that no developer .env reaches the servers.
    return subprocess.Popen(
        [sys.executable, "-m", "parking", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


async def _wait_healthy(base_url: str, proc: subprocess.Popen, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=base_url, timeout=2) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"the server on {base_url} exited with {proc.returncode}")
            try:
                if (await client.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{base_url} did not become healthy")


async def _residents(
    conn: asyncpg.Connection, settings: Settings, count: int
) -> list[tuple[dict[str, str], list[int]]]:
    """Verified residents, each with VEHICLES_PER_RESIDENT cars: (auth headers, vehicle ids)."""
    residents = []
    for _ in range(count):
        resident = await make_resident(conn, settings, vehicles=VEHICLES_PER_RESIDENT)
        residents.append((resident.headers, resident.vehicle_ids))
    return residents


async def test_two_processes_never_double_book(
    conn: asyncpg.Connection, db_dsn: str, tmp_path: Path
) -> None:
    settings = make_settings(db_dsn)
    night = tomorrow()
    place = await make_building(conn, spaces=SPACES)
    residents = await _residents(conn, settings, ATTEMPTS // VEHICLES_PER_RESIDENT)

    rng = random.Random(20261127)
    attempts = []
    for i in range(ATTEMPTS):
        headers, vehicle_ids = residents[i // VEHICLES_PER_RESIDENT]
        # Whole half-hours inside the 19:00-07:00 window, so stays overlap often.
        first = rng.randrange(0, 23)
        last = rng.randrange(first + 1, 25)
        window_start = at(night, 19)
        body = {
            "building_id": place.id,
            "night": night.isoformat(),
            "vehicle_id": vehicle_ids[i % VEHICLES_PER_RESIDENT],
            "arrive": (window_start + dt.timedelta(minutes=30 * first)).isoformat(),
            "depart": (window_start + dt.timedelta(minutes=30 * last)).isoformat(),
        }
        attempts.append((i % 2, {**headers, "Idempotency-Key": str(uuid.uuid4())}, body))

    ports = [_free_port(), _free_port()]
    servers = [_start_server(db_dsn, port, tmp_path) for port in ports]
    try:
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        await asyncio.gather(*(_wait_healthy(u, p) for u, p in zip(urls, servers, strict=True)))
        # Idle connections are dropped well before the server's 5 s keep-alive ends, so
        # none is reused just as the server closes it.
        limits = httpx.Limits(
            max_connections=IN_FLIGHT // 2,
            max_keepalive_connections=IN_FLIGHT // 2,
            keepalive_expiry=1,
        )
        clients = [httpx.AsyncClient(base_url=u, timeout=60, limits=limits) for u in urls]
        gates = [asyncio.Semaphore(IN_FLIGHT // 2) for _ in urls]

        async def attempt(server: int, headers: dict, body: dict) -> tuple[int, httpx.Response]:
            async with gates[server]:
                return server, await clients[server].post(
                    "/reservations", json=body, headers=headers
                )

        try:
            answers = await asyncio.gather(*(attempt(*a) for a in attempts))
        finally:
            for client in clients:
                await client.aclose()
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(5)

    # PostgreSQL's own view: no two active claims on one space overlap.
    overlaps = await conn.fetchval(
        """SELECT count(*) FROM reservations a JOIN reservations b
             ON a.space_id = b.space_id AND a.id < b.id AND a.stay && b.stay
           WHERE a.status = ANY($1::text[]) AND b.status = ANY($1::text[])""",
        list(ACTIVE),
    )
    assert overlaps == 0

    won = [(server, r.json()) for server, r in answers if r.status_code == 201]
    lost = [(server, r) for server, r in answers if r.status_code != 201]
    for _, response in lost:
        assert response.status_code == 409, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["type"] == "no-capacity", response.text

    rows = {
        r["id"]: r
        for r in await conn.fetch(
            """SELECT id, space_id, lower(stay) AS start, upper(stay) AS "end", status
               FROM reservations"""
        )
    }
    for _, body in won:
        row = rows[body["id"]]
        assert body["space_id"] == row["space_id"]
        assert dt.datetime.fromisoformat(body["start"]) == row["start"]
        assert dt.datetime.fromisoformat(body["end"]) == row["end"]
        assert body["status"] == row["status"] == "confirmed"
    active = await conn.fetchval(
        "SELECT count(*) FROM reservations WHERE status = ANY($1::text[])", list(ACTIVE)
    )
    assert len(won) == active == len(rows)
    # Every attempt got a final answer, and each was stored under its key.
    assert await conn.fetchval("SELECT count(*) FROM idempotency_keys") == ATTEMPTS
    for server in (0, 1):
        assert any(s == server for s, _ in won), f"server {server} booked nothing"
        assert any(s == server for s, _ in lost), f"server {server} refused nothing"
