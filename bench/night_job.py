"""Benchmark of the night job end to end: requests in the database to reservations written.

Builds its own database with the project's migrations (dropped at the end, also on
failure), then one night to allocate:

- ``--buildings`` buildings of ``--spaces`` spaces each (one in ten EV), 400 m apart on a
  grid; two in three share 19:00-07:00, one in three 19:00-23:00 and 23:30-07:00 (a
  window split by a break);
- one space in five already held by a booking 19:00-22:00;
- ``--requests`` verified residents in 20 compounds spread over the same area, each
  asking once: half for the whole night, a quarter for a short evening (19:00-22:00), a
  quarter for a shift worker's night (23:30-07:00); walking limits 300 to 1,200 m,
  price limits 10 to 20 CNY, one in ten needing EV.

Then ``allocator.job.run_night`` as the worker runs it after the cutoff, and once more
(a rerun, which must find nothing). Printed: the run's status, served/requests, served
weight and its bound, walk, the build/solve/write milliseconds and the wall time of each
run; the check that no two active reservations overlap.

    .venv/bin/python bench/night_job.py [--requests 2000] [--buildings 60] [--spaces 25]
                                        [--time-limit 60] [--workers 2] [--seed 1]

The database server is ``PARKING_BENCH_POSTGRES`` (a DSN on which databases may be
created), by default postgresql://postgres@127.0.0.1:5432/postgres.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import time

from common import SHANGHAI, bench_database

from allocator.job import run_night
from parking.db import connect, create_pool
from parking.migrate import prepare_database
from parking.requests.service import cutoff_at
from parking.settings import Settings

_BUILDINGS = """
INSERT INTO buildings (district_place_id, name, lat, lon, flat_fee_fen)
SELECT 'bench-' || n, 'Bench building ' || n,
       22.5555 + (n % 8) * 0.004, 114.1187 + (n / 8) * 0.004, 1000
FROM generate_series(0, $1 - 1) AS n
"""
_SPACES = """
INSERT INTO spaces (building_id, label, features)
SELECT b.id, 'B1-' || lpad(n::text, 3, '0'),
       CASE WHEN n % 10 = 0 THEN ARRAY['ev'] ELSE ARRAY[]::text[] END
FROM buildings b CROSS JOIN generate_series(1, $1) AS n
ORDER BY b.id, n
"""
# Every third building shares in two windows with a break between.
_RULES = """
INSERT INTO off_peak_rules (building_id, start_time, end_time, valid_from)
SELECT id, time '19:00', time '07:00', date '2026-01-01' FROM buildings WHERE id % 3 <> 0
UNION ALL
SELECT id, time '19:00', time '23:00', date '2026-01-01' FROM buildings WHERE id % 3 = 0
UNION ALL
SELECT id, time '23:30', time '07:00', date '2026-01-01' FROM buildings WHERE id % 3 = 0
"""
_HELD = """
INSERT INTO reservations (kind, plate, building_id, space_id, night, stay, status, source)
SELECT 'booking', 'H' || lpad(s.id::text, 7, '0'), s.building_id, s.id, $1,
       tstzrange($2, $3), 'confirmed', 'platform'
FROM spaces s WHERE s.id % 5 = 0
"""
_COMPOUNDS = """
INSERT INTO compounds (name, lat, lon)
SELECT 'Bench compound ' || n, 22.5555 + (n % 5) * 0.008, 114.1187 + (n / 5) * 0.008
FROM generate_series(0, 19) AS n
"""
_RESIDENTS = """
WITH u AS (
    INSERT INTO users (email, password_hash, role)
    SELECT 'bench-' || n || '@bench.example.com', 'x', 'resident' FROM generate_series(1, $1) AS n
    RETURNING id
), w AS (
    INSERT INTO residence_whitelist (compound_id, unit, phone)
    SELECT (SELECT min(id) FROM compounds) + u.id % 20, 'unit-' || u.id,
           '137' || lpad(u.id::text, 8, '0')
    FROM u
    RETURNING id, unit
), r AS (
    INSERT INTO residencies (user_id, whitelist_id) SELECT substr(unit, 6)::bigint, id FROM w
    RETURNING user_id
)
INSERT INTO vehicles (user_id, plate, new_energy)
SELECT user_id, '粤B' || lpad(user_id::text, 5, '0'), false FROM r
RETURNING id, user_id, plate
"""
_REQUESTS = """
INSERT INTO allocation_requests (user_id, vehicle_id, plate, night, stay, max_walk_m,
                                 max_price_fen, needs)
SELECT q.user_id, q.vehicle_id, q.plate, $1, tstzrange(q.arrive, q.depart), q.max_walk_m,
       q.max_price_fen, CASE WHEN q.ev THEN ARRAY['ev'] ELSE ARRAY[]::text[] END
FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::timestamptz[], $6::timestamptz[],
            $7::int[], $8::bigint[], $9::bool[])
     AS q (user_id, vehicle_id, plate, arrive, depart, max_walk_m, max_price_fen, ev)
"""
_OVERLAPS = """
SELECT count(*) FROM reservations a JOIN reservations b
ON a.space_id = b.space_id AND a.id < b.id AND a.stay && b.stay
WHERE a.status IN ('held', 'confirmed', 'checked_in')
  AND b.status IN ('held', 'confirmed', 'checked_in')
"""


def _at(night: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    day = night if hour >= 12 else night + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI)


async def build(dsn: str, args: argparse.Namespace, night: dt.date) -> None:
    rng = random.Random(args.seed)
    conn = await connect(dsn)
    try:
        await prepare_database(conn)
        await conn.execute(_BUILDINGS, args.buildings)
        await conn.execute(_SPACES, args.spaces)
        await conn.execute(_RULES)
        await conn.execute(_HELD, night, _at(night, 19), _at(night, 22))
        await conn.execute(_COMPOUNDS)
        vehicles = await conn.fetch(_RESIDENTS, args.requests)
        stays = []
        for _ in vehicles:
            kind = rng.random()
            if kind < 0.5:
                stays.append((_at(night, 19), _at(night, 7)))
            elif kind < 0.75:
                stays.append((_at(night, 19), _at(night, 22)))
            else:
                stays.append((_at(night, 23, 30), _at(night, 7)))
        await conn.execute(
            _REQUESTS,
            night,
            [v["user_id"] for v in vehicles],
            [v["id"] for v in vehicles],
            [v["plate"] for v in vehicles],
            [a for a, _ in stays],
            [d for _, d in stays],
            [rng.randrange(300, 1201, 50) for _ in vehicles],
            [rng.randrange(1000, 2001, 100) for _ in vehicles],
            [rng.random() < 0.1 for _ in vehicles],
        )
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    print(
        f"night {night}: {args.buildings} buildings x {args.spaces} spaces, "
        f"{args.requests} requests",
        flush=True,
    )


async def run(args: argparse.Namespace) -> None:
    night = dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=1)
    async with bench_database("night") as dsn:
        await build(dsn, args, night)
        settings = Settings(_env_file=None, database_url=dsn)
        now = cutoff_at(night, settings) + dt.timedelta(minutes=1)
        pool = await create_pool(dsn, min_size=1, max_size=2)
        try:
            for label in ("run", "rerun"):
                started = time.perf_counter()
                result = await run_night(
                    pool,
                    night,
                    settings,
                    now=now,
                    time_limit_s=args.time_limit,
                    workers=args.workers,
                    seed=args.seed,
                )
                wall_s = time.perf_counter() - started
                if result.outcome != "completed":
                    print(f"{label}: {result.outcome}, wall {wall_s:.2f} s", flush=True)
                    continue
                assert result.objective is not None and result.bound is not None
                print(
                    f"{label}: {result.status}, served {result.served}/{result.requests} "
                    f"({result.spaces} spaces offered), weight {result.objective.served_weight} "
                    f"(bound {result.bound.served_weight}), walk {result.objective.walk_m} m; "
                    f"build {result.build_ms} ms, solve {result.solve_ms} ms, "
                    f"write {result.write_ms} ms, wall {wall_s:.2f} s",
                    flush=True,
                )
            async with pool.acquire() as conn:
                print(f"overlapping active reservations: {await conn.fetchval(_OVERLAPS)}")
        finally:
            await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--buildings", type=int, default=60)
    parser.add_argument("--spaces", type=int, default=25)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
