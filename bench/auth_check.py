"""What asking the account on every request costs: a token read with and without the check.

Every request with a token (API, pages, the gate's bearer path) now asks PostgreSQL
whether the account is still active and the token's credentials generation is current
(``parking.security.account_user``). This measures, in one process and on one pool of 10
connections, three ways of reading a token, ``--calls`` times each with ``--concurrency``
in flight, in alternating rounds:

- ``decode``: verify the JWT and read the user (what every request did before);
- ``checked``: the same, then the account query (what every request does now);
- ``select 1``: a bare round trip on the pool, the floor of any query.

Builds its own database with the project's migrations and ``--accounts`` users (dropped at
the end, also on failure).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from common import SECRET, bench_database

from parking.db import connect, create_pool
from parking.migrate import prepare_database
from parking.security import _auth_user, account_user, build_jwt_auth, decode_token, issue_token
from parking.settings import Settings


async def _timed(
    label: str, one: Callable[[int], Awaitable[object]], calls: int, concurrency: int
) -> tuple[float, float]:
    """Median microseconds per call of ``one`` with ``concurrency`` calls in flight, and
    calls per second."""
    latencies: list[float] = []
    next_call = iter(range(calls))

    async def worker() -> None:
        for i in next_call:
            start = time.perf_counter()
            result = await one(i)
            latencies.append((time.perf_counter() - start) * 1e6)
            assert result is not None, f"{label}: call {i} found no user"

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statistics.median(latencies), calls / (time.perf_counter() - began)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    async with bench_database("auth") as dsn:
        conn = await connect(dsn)
        try:
            await prepare_database(conn)
            ids = [
                r["id"]
                for r in await conn.fetch(
                    "INSERT INTO users (email, password_hash, role)"
                    " SELECT 'user-' || n || '@bench.example.com', 'x', 'resident'"
                    " FROM generate_series(1, $1) AS n RETURNING id",
                    args.accounts,
                )
            ]
        finally:
            await conn.close()
        jwt_auth = build_jwt_auth(Settings(database_url=dsn, secret_key=SECRET))
        tokens = [issue_token(jwt_auth, user_id, "resident", 0) for user_id in ids]
        pool = await create_pool(dsn, min_size=10, max_size=10)
        try:

            async def decode(i: int) -> object:
                token = decode_token(jwt_auth, tokens[i % len(tokens)])
                return None if token is None else _auth_user(token)

            async def checked(i: int) -> object:
                token = decode_token(jwt_auth, tokens[i % len(tokens)])
                return None if token is None else await account_user(token, pool)

            async def select_one(i: int) -> object:
                return await pool.fetchval("SELECT 1")

            ways = {"decode": decode, "checked": checked, "select 1": select_one}
            for label, one in ways.items():  # warm-up: connections, plans, caches
                await _timed(label, one, 2_000, args.concurrency)
            medians: dict[str, list[float]] = {label: [] for label in ways}
            rates: dict[str, list[float]] = {label: [] for label in ways}
            for _ in range(args.rounds):
                for label, one in ways.items():
                    median, rate = await _timed(label, one, args.calls, args.concurrency)
                    medians[label].append(median)
                    rates[label].append(rate)
        finally:
            await pool.close()

    print(
        f"{args.accounts} accounts, {args.calls} calls x {args.rounds} rounds,"
        f" {args.concurrency} in flight, pool of 10"
    )
    for label, values in medians.items():
        rounds = " ".join(f"{v:8.1f}" for v in values)
        print(
            f"{label:9} median per call {statistics.median(values):8.1f} us"
            f"  {statistics.median(rates[label]):8.0f} calls/s   rounds {rounds}"
        )
    decode_us = statistics.median(medians["decode"])
    checked_us = statistics.median(medians["checked"])
    floor_us = statistics.median(medians["select 1"])
    print(f"the check adds {checked_us - decode_us:.1f} us per request")
    print(
        f"ratio checked/decode {checked_us / decode_us:.1f}; check/select-1 "
        f"{(checked_us - decode_us) / floor_us:.2f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
