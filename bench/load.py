"""Load benchmark: many residents searching, booking and cancelling across two api processes.

Builds its own database with the project's migrations (dropped at the end, also on
failure): ``--buildings`` buildings of ``--spaces`` spaces near one compound, sharing every
night 19:00-07:00 at a per-use fee, and ``--residents`` verified residents with two cars
each (tokens signed with the benchmark's key). Two api processes (uvicorn with
``parking.app:create_app``, one worker each, access log off, no Redis, rate limits off
so that the load reaches the handlers) serve the same database; requests alternate
between them.

The mix (``--operations``, default 3,000, ``--concurrency`` in flight): each operation
is a random resident's, and is a search (GET /places for one of the next seven nights,
half of them with a stay), a booking (POST /reservations, a random building, night and
three-hour stay, so bookings collide: 409 ``no-capacity`` and ``vehicle-busy`` are
answers, not errors) or the cancelling of one of that resident's own bookings, in the
proportions ``--mix`` (default 50/30/20; a resident with nothing to cancel books).
Every answer must be 2xx or a 409 problem; anything else stops the run.

Baseline, in the same command and on the same two processes: ``GET /health`` at the same
concurrency, before the mix and again after it. Printed: per operation n, p50, p90, p99,
max and throughput, the health baselines, and each operation's median over health's.

    .venv/bin/python bench/load.py [--operations 3000] [--concurrency 32] [--residents 300]

The database server is ``PARKING_BENCH_POSTGRES`` (a DSN on which databases may be
created), by default postgresql://postgres@127.0.0.1:5432/postgres.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from collections import Counter, defaultdict
from contextlib import AsyncExitStack
from datetime import date, datetime, timedelta

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

CARS_PER_RESIDENT = 2
NIGHTS = 7
_API_ENV = {"PARKING_RATE_LIMIT_BOOKING": "0", "PARKING_RATE_LIMIT_AUTH": "0"}

# The per-use fee as the building's first price plan (written on insert; see 0007).
_BUILDINGS = """
INSERT INTO buildings (district_place_id, name, lat, lon, flat_fee_fen)
SELECT 'load-' || n, 'Load building ' || n,
       22.5655 + (n % 5) * 0.001, 114.1287 + (n / 5) * 0.001, 1000
FROM generate_series(1, $1) AS n
"""
_SPACES = """
INSERT INTO spaces (building_id, label)
SELECT b.id, 'B1-' || lpad(n::text, 3, '0')
FROM buildings b CROSS JOIN generate_series(1, $1) AS n
"""
_RULES = """
INSERT INTO off_peak_rules (building_id, start_time, end_time, valid_from)
SELECT id, '19:00', '07:00', '2020-01-01' FROM buildings
"""


class Resident:
    __slots__ = ("bookings", "headers", "vehicles")

    def __init__(self, headers: dict[str, str], vehicles: list[int]) -> None:
        self.headers = headers
        self.vehicles = vehicles
        self.bookings: list[int] = []


async def build_database(dsn: str, args: argparse.Namespace) -> tuple[list[Resident], list[int]]:
    conn = await connect(dsn)
    try:
        await prepare_database(conn)
        await conn.execute(_BUILDINGS, args.buildings)
        await conn.execute(_SPACES, args.spaces)
        await conn.execute(_RULES)
        headers, vehicles = await add_verified_residents(
            conn, args.residents, CARS_PER_RESIDENT, "load"
        )
        cars: dict[int, list[int]] = defaultdict(list)
        for row in vehicles:
            cars[row["user_id"]].append(row["id"])
        buildings = [r["id"] for r in await conn.fetch("SELECT id FROM buildings ORDER BY id")]
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    residents = [Resident(headers[user_id], cars[user_id]) for user_id in headers]
    print(
        f"database: {len(buildings)} buildings of {args.spaces} spaces, "
        f"{len(residents)} verified residents with {CARS_PER_RESIDENT} cars each"
    )
    return residents, buildings


async def _health(clients: list[httpx.AsyncClient], count: int, concurrency: int):
    latencies: list[float] = []
    next_index = iter(range(count))

    async def loop() -> None:
        for i in next_index:
            t0 = time.perf_counter()
            answer = await clients[i % len(clients)].get("/health")
            latencies.append((time.perf_counter() - t0) * 1000)
            answer.raise_for_status()

    t0 = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    return latencies, time.perf_counter() - t0


async def _mix(
    clients: list[httpx.AsyncClient],
    residents: list[Resident],
    buildings: list[int],
    args: argparse.Namespace,
):
    rng = random.Random(args.seed)
    first_night = datetime.now(SHANGHAI).date() + timedelta(days=1)
    nights = [first_night + timedelta(days=k) for k in range(NIGHTS)]
    search_share, book_share, _ = args.mix
    latencies: dict[str, list[float]] = defaultdict(list)
    outcomes: Counter[str] = Counter()
    next_index = iter(range(args.operations))

    def booking(resident: Resident, night: date) -> dict:
        start_h = rng.randrange(19, 28)  # 19:00 to 04:00, three hours each
        arrive = datetime.combine(night, datetime.min.time(), SHANGHAI) + timedelta(hours=start_h)
        return {
            "building_id": rng.choice(buildings),
            "night": night.isoformat(),
            "vehicle_id": rng.choice(resident.vehicles),
            "arrive": arrive.isoformat(),
            "depart": (arrive + timedelta(hours=3)).isoformat(),
        }

    async def one(i: int) -> None:
        client = clients[i % len(clients)]
        resident = rng.choice(residents)
        draw = rng.random() * 100
        night = rng.choice(nights)
        if draw < search_share:
            op = "search"
            params = {"night": night.isoformat(), "radius_m": "2000"}
            if rng.random() < 0.5:
                arrive = datetime.combine(night, datetime.min.time(), SHANGHAI) + timedelta(
                    hours=21
                )
                params["arrive"] = arrive.isoformat()
                params["depart"] = (arrive + timedelta(hours=9)).isoformat()
            request = client.get("/places", params=params, headers=resident.headers)
        elif draw < search_share + book_share or not resident.bookings:
            op = "book"
            headers = {**resident.headers, "Idempotency-Key": uuid.uuid4().hex}
            request = client.post("/reservations", json=booking(resident, night), headers=headers)
        else:
            op = "cancel"
            reservation_id = resident.bookings.pop(rng.randrange(len(resident.bookings)))
            request = client.post(
                f"/reservations/{reservation_id}/cancel", headers=resident.headers
            )
        t0 = time.perf_counter()
        answer = await request
        latencies[op].append((time.perf_counter() - t0) * 1000)
        if answer.status_code == 409:
            outcomes[f"{op} 409 {answer.json()['type']}"] += 1
            return
        if not answer.is_success:
            raise RuntimeError(f"{op}: {answer.status_code} {answer.text[:300]}")
        outcomes[f"{op} {answer.status_code}"] += 1
        if op == "book":
            resident.bookings.append(answer.json()["id"])

    async def loop() -> None:
        for i in next_index:
            await one(i)

    t0 = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(args.concurrency)))
    return latencies, time.perf_counter() - t0, outcomes


async def run(args: argparse.Namespace) -> None:
    async with bench_database("load") as dsn:
        t0 = time.perf_counter()
        residents, buildings = await build_database(dsn, args)
        print(f"built in {time.perf_counter() - t0:.1f} s")
        async with AsyncExitStack() as stack:
            bases = [
                await stack.enter_async_context(
                    running_api(dsn, workers=1, pool_size=args.pool_size, env=_API_ENV)
                )
                for _ in range(2)
            ]
            limits = httpx.Limits(max_connections=args.concurrency)
            clients = [
                await stack.enter_async_context(
                    httpx.AsyncClient(base_url=base, timeout=60, limits=limits)
                )
                for base in bases
            ]
            await _health(clients, 200, args.concurrency)  # warm-up
            before = await _health(clients, args.operations, args.concurrency)
            latencies, wall_s, outcomes = await _mix(clients, residents, buildings, args)
            after = await _health(clients, args.operations, args.concurrency)

    print(f"two api processes, {args.concurrency} requests in flight, {args.operations} each run")
    health_p50 = statistics.median(
        [report_latencies("health", *before), report_latencies("health", *after)]
    )
    total = sum(len(v) for v in latencies.values())
    print(f"mix: {total} operations in {wall_s:.1f} s, {total / wall_s:.0f} operations/s")
    for op in ("search", "book", "cancel"):
        if latencies[op]:
            p50 = report_latencies(op, latencies[op], wall_s)
            print(f"         {op} median / health median: {p50 / health_p50:.1f}")
    print("answers: " + ", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--operations", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--residents", type=int, default=300)
    parser.add_argument("--buildings", type=int, default=20)
    parser.add_argument("--spaces", type=int, default=30)
    parser.add_argument("--pool-size", type=int, default=10)
    parser.add_argument(
        "--mix",
        type=lambda s: tuple(int(p) for p in s.split("/")),
        default=(50, 30, 20),
        help="search/book/cancel percentages (default 50/30/20)",
    )
    parser.add_argument("--seed", type=int, default=20261127)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
