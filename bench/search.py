"""Benchmark of GET /places (search) against GET /health, through a real api process.

Builds its own database with the project's migrations (dropped at the end, also on
failure): 1,000 buildings spread at random over a district-sized square (8 km by 8 km
around Shuibei, Luohu), 100 spaces each (10 % EV, 3 % large, 5 % not shared), an
every-night window for every building (19:00-08:00, 18:00-07:30 or 20:00-08:30), and
30 % of the spaces taken on the benchmark night by confirmed reservations (whole night,
evening to 23:00, or from 23:00). Then it starts the api (uvicorn with
``parking.app:create_app``, access log off) and fires, with 64 concurrent connections
(httpx.AsyncClient limited to 64), first the baseline (the same number of ``GET /health``,
the framework's floor) and then searches from random points in the square (radius
800 m, a fifth of them with ``ev=true``, a fifth with an arrival and departure), as a
signed-in resident. Latency is per request, client side; every answer must be 200.

    .venv/bin/python bench/search.py [--requests 5000] [--concurrency 64] [--workers 1]
                                     [--client pooled|per-connection]

``pooled`` (the default) is one httpx.AsyncClient limited to 64 connections; at 64
connections its shared pool costs the client more than the server's /health answer, so
``per-connection`` (64 clients of one connection each) measures the server more closely.

The database server is ``PARKING_BENCH_POSTGRES`` (a DSN on which databases may be
created), by default postgresql://postgres@127.0.0.1:5432/postgres.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import statistics
import time
from datetime import date, datetime, timedelta

import httpx
from common import SHANGHAI, bench_database, quantile, report_latencies, running_api

from parking.accounts.schemas import NewAccount
from parking.accounts.service import create_account
from parking.db import connect
from parking.migrate import prepare_database
from parking.places.repository import _CANDIDATES_IN_BOX
from parking.places.search import bounding_box

__all__ = ["main"]

CENTRE = (22.5655, 114.1287)
SIDE_M = 8000.0
METRES_PER_DEGREE_LAT = 111_195.0
PASSWORD = "bench-password-123"
RADIUS_M = 800

_BUILDINGS = """
WITH t AS (
    SELECT * FROM unnest($2::float8[], $3::float8[], $4::bigint[])
                  WITH ORDINALITY AS t (lat, lon, fee, n)
), b AS (
    INSERT INTO buildings (district_place_id, manager_id, name, address, lat, lon,
                           flat_fee_fen)
    SELECT 'bench-' || n, $1, 'Bench building ' || n, 'Bench road ' || n, lat, lon, NULL
    FROM t
    RETURNING id, district_place_id
)
INSERT INTO price_plans (building_id, version, mode, per_use_fee_fen, effective_from)
SELECT b.id, 1, 'per_use', t.fee, '2000-01-01'
FROM b JOIN t ON b.district_place_id = 'bench-' || t.n
"""
# Per building: 10 % EV, 3 % large (about), 5 % kept private (not shared).
_SPACES = """
INSERT INTO spaces (building_id, label, level, features, shared)
SELECT b.id, 'B1-' || lpad(n::text, 3, '0'), 'B1',
       CASE WHEN n % 10 = 0 THEN ARRAY['ev'] WHEN n % 33 = 0 THEN ARRAY['large']
            ELSE ARRAY[]::text[] END,
       n % 20 <> 7
FROM buildings b CROSS JOIN generate_series(1, $1) AS n
ORDER BY b.id, n  -- as managers add them: a building's spaces in one batch
"""
_RULES = """
INSERT INTO off_peak_rules (building_id, start_time, end_time, valid_from)
SELECT id, (ARRAY['19:00', '18:00', '20:00']::time[])[1 + id % 3],
       (ARRAY['08:00', '07:30', '08:30']::time[])[1 + id % 3], '2026-01-01'
FROM buildings
"""
# A share of the shared spaces taken on the night: whole night, evening, or late.
_RESERVATIONS = """
INSERT INTO reservations (plate, building_id, space_id, night, stay, status, source)
SELECT 'BENCH' || s.id, s.building_id, s.id, $1,
       CASE s.id % 3
           WHEN 0 THEN tstzrange($2, $3)
           WHEN 1 THEN tstzrange($2, $2 + interval '4 hours')
           ELSE tstzrange($2 + interval '4 hours', $3)
       END,
       'confirmed', 'app'
FROM spaces s
WHERE s.shared AND random() < $4
"""


def _random_point(rng: random.Random) -> tuple[float, float]:
    north = rng.uniform(-SIDE_M / 2, SIDE_M / 2)
    east = rng.uniform(-SIDE_M / 2, SIDE_M / 2)
    lat = CENTRE[0] + north / METRES_PER_DEGREE_LAT
    lon = CENTRE[1] + east / (METRES_PER_DEGREE_LAT * math.cos(math.radians(CENTRE[0])))
    return round(lat, 6), round(lon, 6)


async def build_database(
    dsn: str, n_buildings: int, spaces_each: int, taken: float, night: date, seed: int
) -> str:
    """Migrate and fill the database; returns the resident's email."""
    rng = random.Random(seed)
    conn = await connect(dsn)
    try:
        await prepare_database(conn)
        await conn.execute("SELECT setseed($1)", (seed % 1000) / 1000)
        manager = await create_account(
            conn, NewAccount(email="manager@bench.example.com", password=PASSWORD, role="manager")
        )
        resident = await create_account(
            conn, NewAccount(email="resident@bench.example.com", password=PASSWORD, role="resident")
        )
        points = [_random_point(rng) for _ in range(n_buildings)]
        fees = [rng.choice((800, 1000, 1000, 1200, 1500)) for _ in range(n_buildings)]
        await conn.execute(
            _BUILDINGS, manager.id, [p[0] for p in points], [p[1] for p in points], fees
        )
        await conn.execute(_SPACES, spaces_each)
        await conn.execute(_RULES)
        start = datetime.combine(night, datetime.min.time(), SHANGHAI) + timedelta(hours=19)
        end = start + timedelta(hours=13)
        await conn.execute(_RESERVATIONS, night, start, end, taken)
        await conn.execute("VACUUM ANALYZE")
        counts = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM buildings) AS buildings,"
            " (SELECT count(*) FROM spaces) AS spaces,"
            " (SELECT count(*) FROM spaces WHERE 'ev' = ANY (features)) AS ev,"
            " (SELECT count(*) FROM reservations) AS reservations"
        )
        print(
            f"database: {counts['buildings']} buildings, {counts['spaces']} spaces "
            f"({counts['ev']} EV), {counts['reservations']} reservations on night {night}"
        )
        south, west, north, east = bounding_box(CENTRE[0], CENTRE[1], RADIUS_M)
        plan = await conn.fetch("EXPLAIN " + _CANDIDATES_IN_BOX, west, south, east, north)
        print("candidate query plan: " + " / ".join(r[0].strip() for r in plan))
        return resident.email
    finally:
        await conn.close()


async def _fire(
    clients: list[httpx.AsyncClient], requests: list[tuple[str, dict]]
) -> tuple[list[float], float, list[int]]:
    """(latencies in ms, wall seconds, item counts): one sender per client entry, each
    sending its next request as soon as its last one is answered."""
    latencies: list[float] = []
    items: list[int] = []
    queue = iter(requests)

    async def sender(client: httpx.AsyncClient) -> None:
        for path, params in queue:
            t0 = time.perf_counter()
            response = await client.get(path, params=params)
            latencies.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code}: {response.text}")
            body = response.json()
            if "items" in body:
                items.append(len(body["items"]))

    start = time.perf_counter()
    await asyncio.gather(*(sender(c) for c in clients))
    return latencies, time.perf_counter() - start, items


def _search_requests(n: int, night: date, rng: random.Random) -> list[tuple[str, dict]]:
    requests = []
    for i in range(n):
        lat, lon = _random_point(rng)
        params: dict[str, str] = {
            "night": night.isoformat(),
            "lat": str(lat),
            "lon": str(lon),
            "radius_m": str(RADIUS_M),
        }
        if i % 5 == 1:
            params["ev"] = "true"
        elif i % 5 == 2:
            arrive = datetime.combine(night, datetime.min.time(), SHANGHAI) + timedelta(hours=21)
            params["arrive"] = arrive.isoformat()
            params["depart"] = (arrive + timedelta(hours=9)).isoformat()
        requests.append(("/places", params))
    return requests


async def run(args: argparse.Namespace) -> None:
    async with bench_database("search") as dsn:
        night = datetime.now(SHANGHAI).date() + timedelta(days=1)
        t0 = time.perf_counter()
        email = await build_database(
            dsn, args.buildings, args.spaces_per_building, args.taken, night, args.seed
        )
        print(f"built in {time.perf_counter() - t0:.1f} s")
        async with running_api(dsn, workers=args.workers, pool_size=args.pool_size) as base:
            health_ms, health_s, search_ms, search_s, items = await _measure(
                base, email, night, args
            )
    health_p50 = report_latencies("health", health_ms, health_s)
    search_p50 = report_latencies("search", search_ms, search_s)
    p99 = quantile(search_ms, 0.99)
    print(f"search results: mean {statistics.mean(items):.1f} places per answer (limit 20)")
    print(f"ratio of medians search/health: {search_p50 / health_p50:.2f}")
    verdict = "met" if p99 < 30 else "not met"
    print(f"target p99 < 30 ms: {verdict} (p99 {p99:.2f} ms)")


async def _measure(
    base: str, email: str, night: date, args: argparse.Namespace
) -> tuple[list[float], float, list[float], float, list[int]]:
    """The baseline's and the searches' latencies and wall times, and the result sizes."""
    async with httpx.AsyncClient(base_url=base) as login:
        answer = await login.post("/auth/token", json={"email": email, "password": PASSWORD})
    token = answer.json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    if args.client == "pooled":
        # One client whose pool holds the 64 connections.
        limits = httpx.Limits(
            max_connections=args.concurrency, max_keepalive_connections=args.concurrency
        )
        shared = httpx.AsyncClient(base_url=base, limits=limits, timeout=60, headers=headers)
        clients = [shared] * args.concurrency
    else:
        # A client per connection: the same 64 connections without a shared pool's locks.
        clients = [
            httpx.AsyncClient(
                base_url=base, limits=httpx.Limits(max_connections=1), timeout=60,
                headers=headers,
            )
            for _ in range(args.concurrency)
        ]  # fmt: skip
    try:
        rng = random.Random(args.seed)
        # Warm up both paths (connections, caches, the pool) before measuring.
        await _fire(clients, [("/health", {})] * 500)
        await _fire(clients, _search_requests(500, night, rng))
        print(
            f"{args.requests} requests each, {args.concurrency} concurrent connections "
            f"({args.client} httpx client), {args.workers} api worker(s), database pool "
            f"{args.pool_size} per worker, {os.cpu_count()} cores shared by api, client "
            "and PostgreSQL"
        )
        health_ms, health_s, _ = await _fire(clients, [("/health", {})] * args.requests)
        searches = _search_requests(args.requests, night, rng)
        search_ms, search_s, items = await _fire(clients, searches)
    finally:
        for client in set(clients):
            await client.aclose()
    return health_ms, health_s, search_ms, search_s, items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--buildings", type=int, default=1000)
    parser.add_argument("--spaces-per-building", type=int, default=100)
    parser.add_argument("--taken", type=float, default=0.3, help="share of spaces reserved")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--pool-size", type=int, default=10, help="database pool per worker")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--client",
        choices=("pooled", "per-connection"),
        default="pooled",
        help="one httpx.AsyncClient limited to --concurrency connections, or one client each",
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
