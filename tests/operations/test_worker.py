"""The worker: two real ``parking worker`` processes share the jobs without running one twice
at once, every stale hold expires exactly once, and SIGTERM ends a worker cleanly (a job
under way finishes first)."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import itertools
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
import yaml

from integrations.district.simulator import PlatformSimulator
from parking.clock import utc_now
from parking.db import create_pool
from parking.settings import Settings
from parking.worker import Job, default_jobs, run_job_if_due
from tests.conftest import REPO_ROOT, make_settings
from tests.factories import at, insert_reservation, make_building, night_in, random_plate
from tests.operations.support import start_worker, stop, wait_for

pytestmark = pytest.mark.timeout(180)


async def _stale_holds(conn: asyncpg.Connection, nights: int, spaces: int) -> list[int]:
    """``nights * spaces`` held bookings whose hold ran out a minute ago."""
    building = await make_building(conn, spaces=spaces)
    expired_at = utc_now() - dt.timedelta(minutes=1)
    ids = []
    for days, space_id in itertools.product(range(1, nights + 1), building.space_ids):
        night = night_in(days)
        ids.append(
            await insert_reservation(
                conn,
                space_id=space_id,
                plate=random_plate(),
                start=at(night, 20),
                end=at(night, 23),
                status="held",
                hold_expires_at=expired_at,
            )
        )
    return ids


def _runs(records: list[dict], job: str) -> list[dict]:
    return [r for r in records if r["message"] == "job finished" and r.get("job") == job]


async def test_two_workers_never_run_a_job_at_once_and_each_hold_expires_once(
    conn: asyncpg.Connection, db_dsn: str, tmp_path: Path
) -> None:
    holds = await _stale_holds(conn, nights=10, spaces=40)
    # Due again at once: both workers reach for the sweep all the time.
    settings = {"worker_sweep_interval_s": "0.05", "worker_allocation_interval_s": "3600"}
    workers = [start_worker(db_dsn, tmp_path, name, **settings) for name in ("a", "b")]
    try:

        async def swept_and_ran_often() -> bool:
            left = await conn.fetchval("SELECT count(*) FROM reservations WHERE status = 'held'")
            runs = sum(len(_runs(w.lines(), "sweeps")) for w in workers)
            return left == 0 and runs >= 20

        await wait_for(swept_and_ran_often, "the holds to expire and 20 sweeps", 90)
    finally:
        codes = [stop(w.proc) for w in workers]
    assert codes == [0, 0]

    runs = [
        (name, r) for name, w in zip("ab", workers, strict=True) for r in _runs(w.lines(), "sweeps")
    ]
    assert {name for name, _ in runs} == {"a", "b"}, "both workers took turns"
    spans = sorted((r["started_at"], r["finished_at"], name) for name, r in runs)
    for (_, end, first), (start, _, second) in itertools.pairwise(spans):
        assert end <= start, f"worker {first}'s sweep overlapped worker {second}'s"
    expired = sum(int(r["result"].split()[0].removeprefix("expired_holds=")) for _, r in runs)
    assert expired == len(holds)
    statuses = await conn.fetch("SELECT status, count(*) FROM reservations GROUP BY status")
    assert dict(statuses) == {"expired": len(holds)}
    job = await conn.fetchrow("SELECT runs, failures FROM worker_jobs WHERE name = 'sweeps'")
    assert job["runs"] == len(runs) and job["failures"] == 0


async def test_sigterm_lets_the_running_sweep_finish_and_exits_zero(
    conn: asyncpg.Connection, db_dsn: str, tmp_path: Path
) -> None:
    holds = await _stale_holds(conn, nights=20, spaces=60)
    worker = start_worker(db_dsn, tmp_path, "solo", worker_allocation_interval_s="3600")
    try:
        await wait_for(
            lambda: any(
                r["message"] == "job started" and r.get("job") == "sweeps" for r in worker.lines()
            ),
            "the first sweep to start",
            60,
            every_s=0.02,
        )
        worker.proc.send_signal(signal.SIGTERM)
        code = worker.proc.wait(60)
    finally:
        stop(worker.proc)
    assert code == 0
    # The sweep's lines and the worker's own (the night job also runs once at start).
    messages = [r["message"] for r in worker.lines() if r.get("job") in (None, "sweeps")]
    # SIGTERM came while the sweep ran; it still finished, and then the worker stopped.
    assert messages.index("worker stopping") < messages.index("job finished")
    assert messages[-1] == "worker stopped"
    left = await conn.fetchval("SELECT count(*) FROM reservations WHERE status = 'held'")
    assert left == 0 and len(holds) == 1200


async def test_a_job_another_worker_holds_is_not_started_and_a_done_one_waits_its_interval(
    db_dsn: str, settings: Settings
) -> None:
    pool = await create_pool(db_dsn, min_size=1, max_size=6)
    started, release = asyncio.Event(), asyncio.Event()
    calls = 0

    async def slow(_pool: asyncpg.Pool, _settings: Settings) -> str:
        nonlocal calls
        calls += 1
        started.set()
        await release.wait()
        return "done"

    job = Job("test-slow", 600.0, slow)
    try:
        first = asyncio.create_task(run_job_if_due(pool, settings, job, "w1"))
        await started.wait()
        # The other worker's turn while the first holds the lock: nothing runs.
        assert await run_job_if_due(pool, settings, job, "w2") <= 1.0  # try again soon
        release.set()
        assert await first == 600.0
        # Done now; the shared schedule makes it wait its interval, whoever asks.
        assert await run_job_if_due(pool, settings, job, "w2") > 590
        assert calls == 1
        async with pool.acquire() as c:
            row = await c.fetchrow("SELECT * FROM worker_jobs WHERE name = 'test-slow'")
        assert (row["runs"], row["last_worker"], row["last_result"]) == (1, "w1", "done")
    finally:
        await pool.close()


async def test_a_failing_job_is_recorded_and_tried_again_at_its_next_turn(
    db_dsn: str, settings: Settings
) -> None:
    pool = await create_pool(db_dsn, min_size=1, max_size=4)

    async def broken(_pool: asyncpg.Pool, _settings: Settings) -> None:
        raise RuntimeError("no luck")

    try:
        assert await run_job_if_due(pool, settings, Job("test-broken", 0.01, broken), "w") == 0.01
        async with pool.acquire() as c:
            row = await c.fetchrow("SELECT * FROM worker_jobs WHERE name = 'test-broken'")
        assert (row["runs"], row["failures"]) == (1, 1)
        assert row["last_error"] == "RuntimeError: no luck"
    finally:
        await pool.close()


def test_the_job_table_has_the_sync_jobs_only_when_the_platform_is_configured(
    settings: Settings,
) -> None:
    assert {job.name for job in default_jobs(settings)} == {"sweeps", "night-allocation"}
    with_platform = settings.model_copy(update={"district_url": "http://127.0.0.1:9"})
    assert {job.name for job in default_jobs(with_platform)} == {
        "sweeps",
        "night-allocation",
        "outbox-relay",
        "reconcile",
        "district-housekeeping",
    }


async def test_the_compose_healthcheck_passes_while_the_worker_beats(
    db_dsn: str, tmp_path: Path
) -> None:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    check = compose["services"]["worker"]["healthcheck"]["test"]
    heartbeat = tmp_path / "worker.heartbeat"
    code = check[-1].replace("/tmp/parking-worker.heartbeat", str(heartbeat))

    def healthy() -> bool:
        return subprocess.run([sys.executable, "-c", code], check=False).returncode == 0

    assert not healthy()  # no heartbeat yet
    worker = start_worker(db_dsn, tmp_path, "beating", "--heartbeat", str(heartbeat))
    try:
        await wait_for(heartbeat.exists, "the first heartbeat", 60)
        assert healthy()
    finally:
        assert stop(worker.proc) == 0


async def test_every_job_of_the_table_runs_against_the_database_and_the_platform(
    db_dsn: str, tmp_path: Path
) -> None:
    secret = "whsec_" + base64.b64encode(b"operations-worker-test-secret-01").decode()
    sim = PlatformSimulator(secret=secret, operator_id="op-worker").start()
    settings = make_settings(
        db_dsn, district_url=sim.url, district_operator_id="op-worker", district_secret=secret
    )
    pool = await create_pool(db_dsn, min_size=1, max_size=6)
    try:
        jobs = default_jobs(settings)
        for job in jobs:
            assert await run_job_if_due(pool, settings, job, "w") == job.interval_s
        async with pool.acquire() as c:
            rows = await c.fetch("SELECT name, runs, failures, last_error FROM worker_jobs")
    finally:
        await pool.close()
        sim.stop()
    assert {r["name"]: (r["runs"], r["failures"], r["last_error"]) for r in rows} == {
        job.name: (1, 0, None) for job in jobs
    }
