"""Benchmark of the district sync: lag from commit to platform, and catch-up after an outage.

Three processes, as in production: this driver (it commits changes), ``parking relay``
(the LISTEN/NOTIFY relay loop) and ``parking district-sim`` (the platform; it logs the
time it accepted each message). All on this machine, so their clocks are one clock.

Lag: ``--places`` places; ``--rate`` changes per second for ``--seconds`` seconds, each
a transaction renaming one place (round robin) and queueing its Place message. The lag
of a change is the platform's acceptance time minus the commit's return. Printed: p50,
p90, p99 and max. Baseline, in the same command: the latency of one signed PUT straight
to the simulator (no database, no relay), as p50/p99.

Catch-up: the relay is stopped, ``--backlog`` (default 10,000) messages of distinct
entities are queued, the relay is started, and the time until the platform has accepted
every one is measured. Baseline: the same number of signed PUTs sent straight to the
simulator by one process with the relay's concurrency (32 connections). Printed: both
times, messages per second, and relay/raw.

Outage: the platform is down (connections dropped) while ``--backlog`` messages are
queued and the relay keeps trying; then it comes back. Printed: the time from its return
until every message is accepted (the relay's capped backoff with full jitter decides it).

Inbound: ``--bookings`` platform bookings, one at a time, sent by the simulator to an
api process (signed, as the platform sends them), timed by this driver around the
simulator's call (simulator, api and database included). The protocol asks for an
answer within 2 s. Baseline: ``GET /health`` on the same api.

    .venv/bin/python bench/sync.py [--places 50] [--rate 20] [--seconds 20] [--backlog 10000]
                                   [--bookings 200]

The database server is ``PARKING_BENCH_POSTGRES`` (default
postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from contextlib import contextmanager

import httpx
from common import ROOT, SHANGHAI, bench_database, quantile, running_api

from integrations.district.signing import parse_secrets, signed_headers
from parking import sync
from parking.db import connect
from parking.migrate import prepare_database

OPERATOR = "op-bench"
SECRET = "whsec_" + base64.b64encode(b"bench-district-secret-0123456789").decode()

_SPACES = """
INSERT INTO spaces (building_id, label)
SELECT b.id, 'B1-' || n FROM buildings b CROSS JOIN generate_series(1, $1) AS n
"""
_WINDOWS = """
INSERT INTO off_peak_rules (building_id, start_time, end_time, valid_from)
SELECT id, '19:00', '07:00', '2020-01-01' FROM buildings
"""
_RENAME = "UPDATE buildings SET name = $2 WHERE id = $1"
_VERSION = "SELECT version FROM entity_versions WHERE entity_kind = 'place' AND entity_key = $1"
# Distinct reservations, so none supersedes another: the worst case for a backlog.
_BACKLOG = """
INSERT INTO outbox (entity_kind, entity_key, version, payload)
SELECT 'reservation', $1 || i, 1, jsonb_build_object(
    'reservation_id', $1 || i, 'platform_reservation_id', NULL, 'place_id', 'b-bench',
    'plate', '粤B' || lpad(i::text, 5, '0'), 'start', '2026-11-28T20:00:00+08:00',
    'end', '2026-11-29T07:00:00+08:00', 'status', 'confirmed', 'fee_fen', 1000, 'version', 1)
FROM generate_series(1, $2) AS i
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(dsn: str, sim_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARKING_")}
    env.update(
        PARKING_DATABASE_URL=dsn,
        PARKING_DISTRICT_URL=sim_url,
        PARKING_DISTRICT_OPERATOR_ID=OPERATOR,
        PARKING_DISTRICT_SECRET=SECRET,
    )
    return env


@contextmanager
def _process(args: list[str], env: dict[str, str]):
    proc = subprocess.Popen(
        [sys.executable, "-m", "parking", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def _wait_sim(http: httpx.AsyncClient) -> None:
    for _ in range(300):
        try:
            if (await http.get("/sim/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the simulator did not start")


async def _log(http: httpx.AsyncClient, since: int = 0) -> list[dict]:
    return (await http.get("/sim/log", params={"since": since})).json()["items"]


async def _accepted(http: httpx.AsyncClient) -> int:
    return (await http.get("/sim/log", params={"since": 10**9})).json()["total"]


async def _wait_accepted(http: httpx.AsyncClient, target: int, limit_s: float = 600) -> None:
    """Until the simulator (another process) has accepted ``target`` messages in all."""
    deadline = time.monotonic() + limit_s
    while await _accepted(http) < target:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the platform accepted {await _accepted(http)} of {target}")
        await asyncio.sleep(0.05)


async def _raw_puts(http: httpx.AsyncClient, count: int, concurrency: int) -> list[float]:
    """Signed PUTs straight to the simulator; each one's latency in seconds."""
    keys = parse_secrets(SECRET)
    latencies: list[float] = []
    queue = iter(range(count))
    run = uuid.uuid4().hex[:6]

    async def worker() -> None:
        for i in queue:
            key = f"r-raw{run}-{i}"
            body = (
                f'{{"reservation_id":"{key}","place_id":"b-bench","plate":"粤B00001",'
                f'"start":"2026-11-28T20:00:00+08:00","end":"2026-11-29T07:00:00+08:00",'
                f'"status":"confirmed","fee_fen":1000,"version":1}}'
            ).encode()
            headers = signed_headers(keys, str(uuid.uuid4()), int(time.time()), body).as_dict(
                OPERATOR
            )
            started = time.perf_counter()
            answer = await http.put(
                f"/v1/operators/{OPERATOR}/reservations/{key}", content=body, headers=headers
            )
            latencies.append(time.perf_counter() - started)
            assert answer.status_code == 200, answer.text

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


async def _lag(conn, http, places: list[tuple[int, str]], rate: float, seconds: float) -> None:
    committed: dict[tuple[str, int], float] = {}
    start_log = await _accepted(http)
    interval = 1 / rate
    total = int(rate * seconds)
    began = time.perf_counter()
    for n in range(total):
        building_id, place_id = places[n % len(places)]
        async with conn.transaction():
            await conn.execute(_RENAME, building_id, f"Place {place_id} rev {n}")
            await sync.emit_place(conn, building_id, SHANGHAI)
            version = await conn.fetchval(_VERSION, place_id)
        committed[place_id, version] = time.time()
        # Paced, not bursty: the next change at its slot.
        await asyncio.sleep(max(0.0, began + (n + 1) * interval - time.perf_counter()))
    await _wait_accepted(http, start_log + total, 60)
    lags = [
        (e["at"] - committed[e["key"], e["version"]]) * 1000
        for e in await _log(http, start_log)
        if (e["key"], e["version"]) in committed
    ]
    print(
        f"sync lag   n={len(lags)}/{total}  p50 {statistics.median(lags):7.1f} ms"
        f"  p90 {quantile(lags, 0.9):7.1f} ms  p99 {quantile(lags, 0.99):7.1f} ms"
        f"  max {max(lags):7.1f} ms"
    )
    raw = [s * 1000 for s in await _raw_puts(http, 400, 1)]
    print(
        f"raw PUT    n={len(raw)}  p50 {statistics.median(raw):7.1f} ms"
        f"  p99 {quantile(raw, 0.99):7.1f} ms  (baseline: one signed PUT, no database)"
    )


async def _catch_up(conn, http, env: dict[str, str], backlog: int) -> None:
    await conn.execute(_BACKLOG, f"r-c{uuid.uuid4().hex[:6]}-", backlog)
    before = await _accepted(http)
    started = time.perf_counter()
    with _process(["relay"], env):
        await _wait_accepted(http, before + backlog)
        relay_s = time.perf_counter() - started
    started = time.perf_counter()
    await _raw_puts(http, backlog, 32)
    raw_s = time.perf_counter() - started
    print(
        f"catch-up   {backlog} messages: relay {relay_s:6.2f} s ({backlog / relay_s:6.0f} msg/s)"
        f"  raw PUTs {raw_s:6.2f} s ({backlog / raw_s:6.0f} msg/s)  relay/raw {relay_s / raw_s:.2f}"
    )


async def _outage(conn, http, env: dict[str, str], backlog: int, down_s: float) -> None:
    before = await _accepted(http)
    await http.put("/sim/switches", json={"down_until": time.time() + 3600})
    with _process(["relay"], env):
        await conn.execute(_BACKLOG, f"r-o{uuid.uuid4().hex[:6]}-", backlog)
        await asyncio.sleep(down_s)
        attempts = await conn.fetchval("SELECT max(attempts) FROM outbox WHERE status = 'pending'")
        await http.put("/sim/switches", json={"down_until": 0})
        back = time.perf_counter()
        await _wait_accepted(http, before + backlog)
        recovered_s = time.perf_counter() - back
    print(
        f"outage     {backlog} messages queued while down {down_s:.0f} s (up to {attempts} failed"
        f" attempts each): all accepted {recovered_s:6.2f} s after the platform came back"
    )


async def _inbound(http: httpx.AsyncClient, api_url: str, places, count: int) -> None:
    night = dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=1)
    start = dt.datetime.combine(night, dt.time(20), tzinfo=SHANGHAI)
    end = dt.datetime.combine(night, dt.time(23), tzinfo=SHANGHAI)
    latencies, statuses = [], Counter()
    for n in range(count):
        _, place_id = places[n % len(places)]
        body = {
            "platform_reservation_id": f"dp-bench-{uuid.uuid4().hex[:12]}",
            "place_id": place_id,
            "plate": f"粤B{n:05d}",
            "start": start.isoformat(),
            "end": end.isoformat(),
        }
        started = time.perf_counter()
        answer = (await http.post("/sim/book", json=body)).json()
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[answer["status"]] += 1
    print(
        f"inbound    n={count}  p50 {statistics.median(latencies):7.1f} ms"
        f"  p99 {quantile(latencies, 0.99):7.1f} ms  max {max(latencies):7.1f} ms"
        f"  answers {dict(statuses)}"
    )
    health = []
    async with httpx.AsyncClient(base_url=api_url) as api:
        for _ in range(count):
            started = time.perf_counter()
            (await api.get("/health")).raise_for_status()
            health.append((time.perf_counter() - started) * 1000)
    print(
        f"health     n={count}  p50 {statistics.median(health):7.1f} ms"
        f"  p99 {quantile(health, 0.99):7.1f} ms  (baseline: GET /health on the same api)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--places", type=int, default=50)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--backlog", type=int, default=10_000)
    parser.add_argument("--down", type=float, default=15, help="outage length in seconds")
    parser.add_argument("--bookings", type=int, default=200)
    args = parser.parse_args()
    async with bench_database("sync") as dsn:
        conn = await connect(dsn)
        try:
            await prepare_database(conn)
            places = []
            for i in range(args.places):
                place_id = f"b-bench-{i:04d}"
                building_id = await conn.fetchval(
                    "INSERT INTO buildings (district_place_id, name, lat, lon)"
                    " VALUES ($1, $2, 22.56, 114.13) RETURNING id",
                    place_id,
                    f"Place {i}",
                )
                places.append((building_id, place_id))
            await conn.execute(_SPACES, 5)
            await conn.execute(_WINDOWS)
            port = _free_port()
            sim_url = f"http://127.0.0.1:{port}"
            env = _env(dsn, sim_url)
            api_env = {k: v for k, v in env.items() if k.startswith("PARKING_DISTRICT")}
            async with running_api(dsn, workers=1, pool_size=8, env=api_env) as api_url:
                sim_args = ["district-sim", "--port", str(port), "--secret", SECRET]
                sim_args += ["--operator", OPERATOR, "--operator-url", api_url]
                limits = httpx.Limits(max_connections=64)
                with _process(sim_args, env):
                    async with httpx.AsyncClient(
                        base_url=sim_url, limits=limits, timeout=30
                    ) as http:
                        await _wait_sim(http)
                        with _process(["relay"], env):
                            await asyncio.sleep(2)  # the relay is listening
                            await _lag(conn, http, places, args.rate, args.seconds)
                            await _inbound(http, api_url, places, args.bookings)
                        await _catch_up(conn, http, env, args.backlog)
                        await _outage(conn, http, env, args.backlog, args.down)
        finally:
            await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
