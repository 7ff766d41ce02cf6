"""Fault tests: real processes, a fault injected mid-load, then what must still hold.

- Redis (a redis-server this test starts) is killed during a booking load: every booking
  still succeeds; the rate limiter counts in-process from then on.
- The api is killed with SIGKILL during a booking load: no reservation is half-made (each
  has its outbox message and its Idempotency-Key answer, committed together) and every
  booking that was answered 201 is in the database.
- The api's PostgreSQL connections are terminated (pg_terminate_backend): the pool
  recovers and the requests after that succeed.
- The worker is killed with SIGKILL while it relays the outbox to the district platform
  (the simulator, slowed down): after a restart every message is delivered.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import signal
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from redis import Redis

from integrations.district.simulator import PlatformSimulator
from parking.settings import Settings
from parking.sync import emit_place
from tests.conftest import make_settings
from tests.factories import TZ, Building, Resident, at, make_building, make_resident, tomorrow
from tests.operations.support import (
    start_api,
    start_redis,
    start_worker,
    stop,
    wait_for,
    wait_healthy,
)

pytestmark = pytest.mark.timeout(240)

IN_FLIGHT = 16


async def _load(
    conn: asyncpg.Connection, settings: Settings, bookings: int, per_resident: int
) -> tuple[Building, list[tuple[Resident, int]]]:
    """A building with a space per booking, and (resident, vehicle) pairs, one per booking."""
    building = await make_building(conn, spaces=bookings)
    cars = []
    for _ in range(bookings // per_resident):
        resident = await make_resident(conn, settings, vehicles=per_resident)
        cars.extend((resident, vehicle) for vehicle in resident.vehicle_ids)
    return building, cars


def _body(building: Building, vehicle_id: int, night: dt.date) -> dict:
    return {
        "building_id": building.id,
        "night": night.isoformat(),
        "vehicle_id": vehicle_id,
        "arrive": at(night, 20).isoformat(),
        "depart": at(night, 23).isoformat(),
    }


async def _fire(
    url: str,
    building: Building,
    cars: list[tuple[Resident, int]],
    *,
    after: int,
    fault,
) -> list[httpx.Response | Exception]:
    """POST a booking per car, IN_FLIGHT at a time; ``fault()`` once ``after`` are answered.
    The answers (or transport errors) in the order they completed."""
    night = tomorrow()
    gate = asyncio.Semaphore(IN_FLIGHT)
    done: list[httpx.Response | Exception] = []
    faulted = asyncio.Event()

    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def book(resident: Resident, vehicle_id: int) -> None:
            async with gate:
                headers = {**resident.headers, "Idempotency-Key": uuid.uuid4().hex}
                try:
                    answer = await client.post(
                        "/reservations", json=_body(building, vehicle_id, night), headers=headers
                    )
                except httpx.TransportError as exc:
                    answer = exc
                done.append(answer)
                if len(done) == after and not faulted.is_set():
                    faulted.set()
                    fault()

        await asyncio.gather(*(book(r, v) for r, v in cars))
    return done


async def test_bookings_keep_succeeding_when_redis_dies_mid_load(
    conn: asyncpg.Connection, db_dsn: str, tmp_path: Path
) -> None:
    settings = make_settings(db_dsn)
    building, cars = await _load(conn, settings, bookings=160, per_resident=4)
    redis_proc, redis_url = start_redis(tmp_path)
    prefix = f"faults-{uuid.uuid4().hex[:8]}"
    api = start_api(db_dsn, tmp_path, redis_url=redis_url, redis_prefix=prefix)
    counters_before_kill: list[int] = []

    def kill_redis() -> None:
        client = Redis.from_url(redis_url)
        counters_before_kill.append(len(list(client.scan_iter(match=f"{prefix}:ratelimit:*"))))
        client.close()
        redis_proc.kill()

    try:
        await wait_healthy(api)
        answers = await _fire(api.url, building, cars, after=40, fault=kill_redis)
    finally:
        stop(api.proc)
        redis_proc.kill()
        redis_proc.wait(10)

    assert counters_before_kill and counters_before_kill[0] > 0, "Redis held the counters"
    assert redis_proc.returncode == -signal.SIGKILL
    statuses = [a.status_code if isinstance(a, httpx.Response) else repr(a) for a in answers]
    assert statuses == [201] * len(cars), [s for s in statuses if s != 201][:5]
    # The limiter still answered with its headers after Redis died.
    assert all("ratelimit-remaining" in a.headers for a in answers[40:])
    assert await conn.fetchval("SELECT count(*) FROM reservations") == len(cars)
    assert any("counting in this process" in r["message"] for r in api.lines())


async def test_an_api_killed_mid_load_leaves_no_half_made_booking(
    conn: asyncpg.Connection, db_dsn: str, tmp_path: Path
) -> None:
    settings = make_settings(db_dsn)
    building, cars = await _load(conn, settings, bookings=240, per_resident=4)
    api = start_api(db_dsn, tmp_path)
    try:
        await wait_healthy(api)
        answers = await _fire(api.url, building, cars, after=60, fault=api.proc.kill)
    finally:
        stop(api.proc)
    assert api.proc.returncode == -signal.SIGKILL

    booked = [a.json() for a in answers if isinstance(a, httpx.Response) and a.status_code == 201]
    failed = [a for a in answers if not isinstance(a, httpx.Response)]
    assert len(booked) >= 60 and failed, "the kill came in the middle of the load"
    assert all(a.status_code == 201 for a in answers if isinstance(a, httpx.Response))

    rows = {
        r["id"]: r
        for r in await conn.fetch(
            "SELECT id, space_id, status, lower(stay) AS start FROM reservations"
        )
    }
    # Every answered booking is in the database as it was answered.
    for body in booked:
        row = rows[body["id"]]
        assert (row["space_id"], row["status"]) == (body["space_id"], "confirmed")
        assert row["start"] == dt.datetime.fromisoformat(body["start"])
    # Nothing half-made: each reservation has its outbox message and its key's stored
    # answer, and each stored answer names a reservation that exists.
    messages = {
        r["entity_key"]
        for r in await conn.fetch("SELECT entity_key FROM outbox WHERE entity_kind = 'reservation'")
    }
    answered = {}
    for r in await conn.fetch("SELECT response_status, response_body FROM idempotency_keys"):
        body = r["response_body"]
        body = json.loads(body) if isinstance(body, str) else body
        assert r["response_status"] == 201
        answered[body["id"]] = body
    assert set(answered) == set(rows)
    assert {f"r-{i}" for i in rows} <= messages
    assert len(rows) >= len(booked)


async def test_the_pool_recovers_after_its_connections_are_terminated(
    conn: asyncpg.Connection, db_dsn: str, database: tuple[str, str], tmp_path: Path
) -> None:
    settings = make_settings(db_dsn)
    building, cars = await _load(conn, settings, bookings=24, per_resident=4)
    night = tomorrow()
    api = start_api(db_dsn, tmp_path, db_pool_min_size="4", db_pool_max_size="4")
    try:
        await wait_healthy(api)
        async with httpx.AsyncClient(base_url=api.url, timeout=30) as client:

            async def book(resident: Resident, vehicle_id: int) -> int:
                headers = {**resident.headers, "Idempotency-Key": uuid.uuid4().hex}
                answer = await client.post(
                    "/reservations", json=_body(building, vehicle_id, night), headers=headers
                )
                return answer.status_code

            # Every pooled connection in use once, so all of them are open.
            assert await asyncio.gather(*(book(r, v) for r, v in cars[:8])) == [201] * 8
            terminated = await conn.fetchval(
                """SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000))
                   FROM pg_stat_activity
                   WHERE datname = $1 AND pid <> pg_backend_pid()
                     AND application_name = 'parking'""",
                database[0],
            )
            assert terminated >= 4
            after = [await book(r, v) for r, v in cars[8:16]]
            after += await asyncio.gather(*(book(r, v) for r, v in cars[16:]))
            ready = await client.get("/ready")
    finally:
        stop(api.proc)
    assert after == [201] * 16
    assert ready.status_code == 200
    assert await conn.fetchval("SELECT count(*) FROM reservations") == 24


async def test_a_worker_killed_mid_relay_delivers_every_message_after_a_restart(
    conn: asyncpg.Connection, db_dsn: str, tmp_path: Path
) -> None:
    secret = "whsec_" + base64.b64encode(b"operations-fault-test-secret-0123").decode()
    sim = PlatformSimulator(secret=secret, operator_id="op-faults").start()
    # Every delivery is slow, so the kill finds a batch under way.
    sim.set_switches({"stall_s": 0.3, "stall_fraction": 1.0})
    places = []
    for _ in range(120):
        building = await make_building(conn, spaces=1)
        await emit_place(conn, building.id, TZ)
        places.append(building.id)
    messages = await conn.fetchval("SELECT count(*) FROM outbox")
    # Only the relay runs: the other jobs queue messages of their own (reconciliation, the
    # sweep's rates of plans coming into force), so the shared schedule puts them off.
    await conn.execute(
        "INSERT INTO worker_jobs (name, next_run_at)"
        " SELECT name, now() + interval '1 day' FROM unnest($1::text[]) AS name",
        ["reconcile", "sweeps", "night-allocation", "district-housekeeping"],
    )
    settings = {
        "district_url": sim.url,
        "district_operator_id": "op-faults",
        "district_secret": secret,
        "worker_relay_interval_s": "0.1",
    }

    async def pending() -> int:
        return await conn.fetchval("SELECT count(*) FROM outbox WHERE status = 'pending'")

    try:
        first = start_worker(db_dsn, tmp_path, "first", **settings)
        try:
            await wait_for(lambda: len(sim.state()["places"]) >= 10, "the first deliveries", 60)
        finally:
            first.proc.kill()
            first.proc.wait(10)
        # The platform had some messages, and the batch they were in was never marked.
        assert await pending() > 0, "the worker died in the middle of relaying"
        assert first.proc.returncode == -signal.SIGKILL

        sim.set_switches({"stall_s": 0.0})
        second = start_worker(db_dsn, tmp_path, "second", **settings)
        try:

            async def all_delivered() -> bool:
                return await pending() == 0 and len(sim.state()["places"]) == len(places)

            await wait_for(all_delivered, "every message to be delivered", 120)
        finally:
            assert stop(second.proc) == 0
        held = sim.state()["places"]
    finally:
        sim.stop()

    # Nothing left to send, and the platform holds every place at its latest version.
    statuses = dict(await conn.fetch("SELECT status, count(*) FROM outbox GROUP BY status"))
    assert statuses == {"delivered": messages}
    versions = dict(
        await conn.fetch(
            "SELECT entity_key, version FROM entity_versions WHERE entity_kind = 'place'"
        )
    )
    assert {key: place["version"] for key, place in held.items()} == versions
