"""Benchmark of booking: POST /reservations through real api processes against raw inserts.

Builds its own database with the project's migrations (dropped at the end, also on
failure): ``--buildings`` buildings of ``--spaces`` spaces each, sharing every night
19:00-07:00, and verified residents with one car per booking attempt. The attempts
(``--bookings``, default 4,000) are spread at random over the buildings (no building
gets more attempts than it has spaces), each with a random stay of whole half-hours
inside the window of tomorrow night.

HTTP run: uvicorn with ``parking.app:create_app`` (``--workers`` processes, access log
off); ``--concurrency`` requests in flight, each a booking with its own
Idempotency-Key, as its resident (tokens signed with the benchmark's key). Every
answer must be 201 or 409 ``no-capacity``.

Raw run, the floor: the same attempts, the same spread and the same concurrency, as
one ``INSERT`` each of a reservations row into the same exclusion-constrained table,
on a space chosen beforehand (a building's attempts take its spaces in turn, so none
conflicts), through an asyncpg pool, each in its own transaction. Reservations,
outbox, versions and keys are emptied between the runs, so both start alike.

Printed: bookings per second for each, and HTTP/raw.

    .venv/bin/python bench/booking.py [--bookings 4000] [--concurrency 32] [--workers 2]

The database server is ``PARKING_BENCH_POSTGRES`` (a DSN on which databases may be
created), by default postgresql://postgres@127.0.0.1:5432/postgres.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
import uuid
from collections import Counter
from datetime import date, datetime, timedelta

import asyncpg
import httpx
from common import (
    SHANGHAI,
    add_verified_residents,
    bench_database,
    report_latencies,
    running_api,
)

from parking.db import connect
from parking.migrate import prepare_database

__all__ = ["main"]

VEHICLES_PER_RESIDENT = 20

_MANAGER = """
INSERT INTO users (email, password_hash, role) VALUES ('manager@bench.example.com', 'x', 'manager')
RETURNING id
"""
_BUILDINGS = """
WITH b AS (
    INSERT INTO buildings (district_place_id, manager_id, name, lat, lon, flat_fee_fen)
    SELECT 'bench-' || n, $1, 'Bench building ' || n,
           22.5655 + (n % 40) * 0.001, 114.1287 + (n / 40) * 0.001, NULL
    FROM generate_series(1, $2) AS n
    RETURNING id
)
INSERT INTO price_plans (building_id, version, mode, per_use_fee_fen, effective_from)
SELECT id, 1, 'per_use', 1000, '2000-01-01' FROM b
"""
_SPACES = """
INSERT INTO spaces (building_id, label, features)
SELECT b.id, 'B1-' || lpad(n::text, 3, '0'),
       CASE WHEN n % 10 = 0 THEN ARRAY['ev'] ELSE ARRAY[]::text[] END
FROM buildings b CROSS JOIN generate_series(1, $1) AS n
ORDER BY b.id, n
"""
_RULES = """
INSERT INTO off_peak_rules (building_id, start_time, end_time, valid_from)
SELECT id, '19:00', '07:00', '2026-01-01' FROM buildings
"""
_RAW_INSERT = """
INSERT INTO reservations (kind, user_id, vehicle_id, plate, building_id, space_id, night,
                          stay, status, source, fee_fen)
VALUES ('booking', $1, $2, $3, $4, $5, $6, tstzrange($7, $8), 'confirmed', 'app', 1000)
"""
_RESET = (
    "TRUNCATE charges, allocation_requests, reservations, gate_sessions, outbox,"
    " entity_versions, idempotency_keys"
)


class Attempt:
    __slots__ = ("arrive", "building_id", "depart", "headers", "plate", "space_id", "user_id",
                 "vehicle_id")  # fmt: skip

    def __init__(self, **values: object) -> None:
        for name, value in values.items():
            setattr(self, name, value)


async def build_database(
    dsn: str, args: argparse.Namespace, night: date
) -> tuple[list[Attempt], list[int]]:
    """Migrate and fill the database; the attempts, and the building ids."""
    rng = random.Random(args.seed)
    conn = await connect(dsn)
    try:
        await prepare_database(conn)
        manager_id = await conn.fetchval(_MANAGER)
        await conn.execute(_BUILDINGS, manager_id, args.buildings)
        await conn.execute(_SPACES, args.spaces)
        await conn.execute(_RULES)
        tokens, vehicles = await add_verified_residents(
            conn, -(-args.bookings // VEHICLES_PER_RESIDENT), VEHICLES_PER_RESIDENT, "bench"
        )
        buildings = [r["id"] for r in await conn.fetch("SELECT id FROM buildings ORDER BY id")]
        spaces: dict[int, list[int]] = {b: [] for b in buildings}
        for r in await conn.fetch("SELECT id, building_id FROM spaces ORDER BY id"):
            spaces[r["building_id"]].append(r["id"])
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()

    window_start = datetime.combine(night, datetime.min.time(), SHANGHAI) + timedelta(hours=19)
    taken: Counter[int] = Counter()
    attempts = []
    for vehicle in vehicles[: args.bookings]:
        building_id = rng.choice(buildings)
        while taken[building_id] >= args.spaces:
            building_id = rng.choice(buildings)
        space_id = spaces[building_id][taken[building_id]]
        taken[building_id] += 1
        first = rng.randrange(0, 23)
        last = rng.randrange(first + 1, 25)
        attempts.append(
            Attempt(
                building_id=building_id,
                space_id=space_id,
                user_id=vehicle["user_id"],
                vehicle_id=vehicle["id"],
                plate=vehicle["plate"],
                headers=tokens[vehicle["user_id"]],
                arrive=window_start + timedelta(minutes=30 * first),
                depart=window_start + timedelta(minutes=30 * last),
            )
        )
    print(
        f"database: {len(buildings)} buildings of {args.spaces} spaces, "
        f"{len(tokens)} verified residents, {len(vehicles)} cars; "
        f"{len(attempts)} attempts, at most {max(taken.values())} in one building"
    )
    return attempts, buildings


def _stay(attempt: Attempt, night: date, first_night: date) -> tuple[datetime, datetime]:
    # The attempt's times were drawn for the first night; Shanghai keeps no summer time.
    shift = night - first_night
    return attempt.arrive + shift, attempt.depart + shift


def _booking(attempt: Attempt, night: date, first_night: date) -> dict:
    arrive, depart = _stay(attempt, night, first_night)
    return {
        "building_id": attempt.building_id,
        "night": night.isoformat(),
        "vehicle_id": attempt.vehicle_id,
        "arrive": arrive.isoformat(),
        "depart": depart.isoformat(),
    }


async def http_run(
    base: str, attempts: list[Attempt], night: date, first_night: date, concurrency: int
) -> tuple[int, float, Counter[str], list[float]]:
    """(bookings made, wall seconds, answers by kind, latencies in ms)."""
    queue = iter(attempts)
    answers: Counter[str] = Counter()
    latencies: list[float] = []
    clients = [
        httpx.AsyncClient(base_url=base, limits=httpx.Limits(max_connections=1), timeout=60)
        for _ in range(concurrency)
    ]

    async def sender(client: httpx.AsyncClient) -> None:
        for attempt in queue:
            t0 = time.perf_counter()
            response = await client.post(
                "/reservations",
                json=_booking(attempt, night, first_night),
                headers={**attempt.headers, "Idempotency-Key": str(uuid.uuid4())},
            )
            latencies.append((time.perf_counter() - t0) * 1000)
            if response.status_code == 201:
                answers["201"] += 1
            elif response.status_code == 409 and response.json()["type"] == "no-capacity":
                answers["409 no-capacity"] += 1
            else:
                raise RuntimeError(f"answered {response.status_code}: {response.text}")

    try:
        start = time.perf_counter()
        await asyncio.gather(*(sender(c) for c in clients))
        wall = time.perf_counter() - start
    finally:
        for client in clients:
            await client.aclose()
    return answers["201"], wall, answers, latencies


async def raw_run(
    dsn: str, attempts: list[Attempt], night: date, first_night: date, concurrency: int
) -> tuple[int, float]:
    """(rows inserted, wall seconds)."""
    queue = iter(attempts)
    inserted = 0
    pool = await asyncpg.create_pool(dsn, min_size=concurrency, max_size=concurrency)

    async def sender() -> None:
        nonlocal inserted
        for a in queue:
            arrive, depart = _stay(a, night, first_night)
            await pool.execute(
                _RAW_INSERT, a.user_id, a.vehicle_id, a.plate, a.building_id, a.space_id,
                night, arrive, depart,
            )  # fmt: skip
            inserted += 1

    try:
        start = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        wall = time.perf_counter() - start
    finally:
        await pool.close()
    return inserted, wall


async def _reset(dsn: str) -> None:
    conn = await connect(dsn)
    try:
        await conn.execute(_RESET)
        await conn.execute("VACUUM ANALYZE reservations")
    finally:
        await conn.close()


async def _check_no_overlap(dsn: str) -> None:
    conn = await connect(dsn)
    try:
        overlaps = await conn.fetchval(
            """SELECT count(*) FROM reservations a JOIN reservations b
                 ON a.space_id = b.space_id AND a.id < b.id AND a.stay && b.stay
               WHERE a.status = 'confirmed' AND b.status = 'confirmed'"""
        )
    finally:
        await conn.close()
    if overlaps:
        raise RuntimeError(f"{overlaps} overlapping reservations")


async def run(args: argparse.Namespace) -> None:
    async with bench_database("booking") as dsn:
        night = datetime.now(SHANGHAI).date() + timedelta(days=1)
        t0 = time.perf_counter()
        attempts, _ = await build_database(dsn, args, night)
        print(f"built in {time.perf_counter() - t0:.1f} s")
        # A separate night for warming up, so the measured runs start from empty tables.
        warm_night = night + timedelta(days=1)
        warmup = attempts[: args.warmup]

        # Each resident books with every car in one burst: the per-user booking limit
        # (a defence, measured in tests/operations) is off so the booking itself is timed.
        env = {
            "PARKING_MAX_VEHICLES_PER_RESIDENT": str(VEHICLES_PER_RESIDENT),
            "PARKING_RATE_LIMIT_BOOKING": "0",
        }
        async with running_api(
            dsn, workers=args.workers, pool_size=args.pool_size, env=env
        ) as base:
            print(
                f"{len(attempts)} bookings each, {args.concurrency} in flight, {args.workers} "
                f"api worker(s) with a database pool of {args.pool_size} each, "
                f"{os.cpu_count()} cores shared by the api, the client and PostgreSQL"
            )
            await http_run(base, warmup, warm_night, night, args.concurrency)
            await _reset(dsn)
            booked, http_s, answers, latencies = await http_run(
                base, attempts, night, night, args.concurrency
            )
            await _check_no_overlap(dsn)

        await _reset(dsn)
        await raw_run(dsn, warmup, warm_night, night, args.concurrency)
        await _reset(dsn)
        inserted, raw_s = await raw_run(dsn, attempts, night, night, args.concurrency)
        await _check_no_overlap(dsn)

    http_rate, raw_rate = booked / http_s, inserted / raw_s
    print(
        f"http  {booked:6d} booked in {http_s:6.2f} s  {http_rate:8.0f} bookings/s  "
        f"answers: {dict(answers)}"
    )
    report_latencies("booking", latencies, http_s)
    print(f"raw   {inserted:6d} inserted in {raw_s:6.2f} s  {raw_rate:8.0f} inserts/s")
    ratio = http_rate / raw_rate
    print(f"ratio http/raw: {ratio:.2f}")
    print(f"target ratio >= 0.6: {'met' if ratio >= 0.6 else 'not met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--buildings", type=int, default=200)
    parser.add_argument("--spaces", type=int, default=50, help="spaces per building")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--pool-size", type=int, default=16, help="database pool per worker")
    parser.add_argument("--warmup", type=int, default=300, help="attempts before measuring")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.bookings > args.buildings * args.spaces:
        parser.error("more bookings than spaces: raise --buildings or --spaces")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
