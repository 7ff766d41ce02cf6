"""The worker process: the service's recurring jobs, safe to run in several processes.

A job is a name, an interval and a coroutine ``run(pool, settings) -> result``; the table
in ``default_jobs`` lists them, one line each. For every job a worker loops: take the
job's PostgreSQL advisory lock on a connection of its own (``pg_try_advisory_lock``,
never waiting), and if the shared schedule (table ``worker_jobs``) says the job is due,
run it, then move its next run on by the interval. So however many workers run, a job
never runs twice at once and runs once per interval; a worker that dies (even by
``kill -9``) loses its connection, PostgreSQL drops its locks, and another worker takes
the job at its next turn.

SIGTERM or SIGINT: no job is started any more; running ones get
``worker_shutdown_grace_s`` to finish (each commits its own small transactions), then
are cancelled, which rolls back their open transaction and releases their lock; the
process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from allocator.job import run_due_nights
from integrations.district.client import DistrictClient
from integrations.district.reconcile import reconcile
from integrations.district.relay import relay_once
from integrations.district.suspensions import housekeeping
from parking.clock import utc_now
from parking.db import create_pool
from parking.settings import Settings
from parking.sweeps import run_sweeps

__all__ = ["Job", "default_jobs", "run_job_if_due", "run_worker"]

log = logging.getLogger(__name__)

JobRun = Callable[[asyncpg.Pool, Settings], Awaitable[Any]]

# One 64-bit lock per job name; the prefix keeps them apart from the service's other
# advisory locks (migrations, Idempotency-Keys).
_TRY_LOCK = "SELECT pg_try_advisory_lock(hashtextextended('parking.worker:' || $1, 0))"
_UNLOCK = "SELECT pg_advisory_unlock(hashtextextended('parking.worker:' || $1, 0))"
_ENSURE = "INSERT INTO worker_jobs (name) VALUES ($1) ON CONFLICT (name) DO NOTHING"
_SECONDS_UNTIL_DUE = """
SELECT GREATEST(0, EXTRACT(EPOCH FROM next_run_at - now()))::float8
FROM worker_jobs WHERE name = $1
"""
_STARTED = "UPDATE worker_jobs SET last_started_at = now(), last_worker = $2 WHERE name = $1"
_FINISHED = """
UPDATE worker_jobs
SET next_run_at = now() + make_interval(secs => $2), last_finished_at = now(),
    last_result = $3, last_error = $4,
    runs = runs + 1, failures = failures + (CASE WHEN $4::text IS NULL THEN 0 ELSE 1 END)
WHERE name = $1
"""

_HEARTBEAT_S = 5.0
_LOCK_RETRY_S = 1.0  # a job another worker holds: look again this soon
_RELAY_MAX_BATCHES = 50  # one run drains at most this many batches, then yields its turn
_HOUSEKEEPING_INTERVAL_S = 30.0


@dataclass(frozen=True, slots=True)
class Job:
    """A recurring job: ``run(pool, settings)`` every ``interval_s`` across all workers."""

    name: str
    interval_s: float
    run: JobRun
    quiet: bool = False
    """Log its runs at debug level (a job run every second would bury the log); the job
    logs what it did itself."""


async def _sweeps(pool: asyncpg.Pool, settings: Settings) -> str:
    async with pool.acquire() as conn:
        counts = await run_sweeps(conn, utc_now(), settings)
    return (
        f"expired_holds={counts.expired_holds} no_shows={counts.no_shows} "
        f"purged_idempotency_keys={counts.purged_idempotency_keys}"
    )


async def _relay(pool: asyncpg.Pool, settings: Settings) -> str:
    handled = 0
    async with DistrictClient.from_settings(settings) as client:
        for _ in range(_RELAY_MAX_BATCHES):
            batch = await relay_once(pool, settings, client)
            handled += batch
            if batch == 0:
                break
    if handled:
        log.info("outbox relayed: %d messages sent or superseded", handled)
    return f"handled={handled}"


async def _allocate(pool: asyncpg.Pool, settings: Settings) -> str:
    runs = await run_due_nights(pool, settings, utc_now())
    return f"nights={len(runs)}"


async def _reconcile(pool: asyncpg.Pool, settings: Settings) -> str:
    return "; ".join((await reconcile(pool, settings)).lines())


async def _district_housekeeping(pool: asyncpg.Pool, settings: Settings) -> str:
    return await housekeeping(pool, settings)


def default_jobs(settings: Settings) -> list[Job]:
    """The service's recurring jobs. Sync jobs only when the platform is configured."""
    jobs = [
        Job("sweeps", settings.worker_sweep_interval_s, _sweeps),
        Job("night-allocation", settings.worker_allocation_interval_s, _allocate),
    ]
    if settings.district_url is not None:
        jobs += [
            Job("outbox-relay", settings.worker_relay_interval_s, _relay, quiet=True),
            Job("reconcile", settings.worker_reconcile_interval_s, _reconcile),
            # Suspensions begin and end on time only if something runs this.
            Job("district-housekeeping", _HOUSEKEEPING_INTERVAL_S, _district_housekeeping),
        ]
    return jobs


async def run_job_if_due(pool: asyncpg.Pool, settings: Settings, job: Job, worker_id: str) -> float:
    """Run ``job`` if no other worker holds it and it is due; seconds until it is due next."""
    async with pool.acquire() as lock_conn:
        if not await lock_conn.fetchval(_TRY_LOCK, job.name):
            return min(_LOCK_RETRY_S, job.interval_s)
        try:
            await lock_conn.execute(_ENSURE, job.name)
            wait_s = await lock_conn.fetchval(_SECONDS_UNTIL_DUE, job.name)
            if wait_s > 0:
                return wait_s
            await lock_conn.execute(_STARTED, job.name, worker_id)
            started = time.time()
            level = logging.DEBUG if job.quiet else logging.INFO
            log.log(level, "job started", extra={"job": job.name, "worker": worker_id})
            result, error = None, None
            try:
                result = await job.run(pool, settings)
            except asyncio.CancelledError:
                log.warning("job cancelled", extra={"job": job.name, "worker": worker_id})
                raise
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
                log.exception("job failed", extra={"job": job.name, "worker": worker_id})
            await lock_conn.execute(
                _FINISHED,
                job.name,
                job.interval_s,
                None if result is None else str(result)[:500],
                error,
            )
            log.log(
                level,
                "job finished",
                extra={
                    "job": job.name,
                    "worker": worker_id,
                    "started_at": started,
                    "finished_at": time.time(),
                    "result": None if result is None else str(result),
                    "error": error,
                },
            )
            return job.interval_s
        finally:
            # A dead connection has already lost the lock with its session; the pool
            # resets (unlocking all) or discards the connection either way.
            with contextlib.suppress(Exception):
                await lock_conn.execute(_UNLOCK, job.name)


async def _job_loop(
    pool: asyncpg.Pool, settings: Settings, job: Job, worker_id: str, stop: asyncio.Event
) -> None:
    while not stop.is_set():
        try:
            wait_s = await run_job_if_due(pool, settings, job, worker_id)
        except Exception:
            # The database went away between runs, say: try again shortly, as the pool
            # reconnects. The job's own failures are recorded inside run_job_if_due.
            log.exception("job %s could not be scheduled", job.name, extra={"job": job.name})
            wait_s = _LOCK_RETRY_S
        # Jitter, so that workers polling the same job take turns rather than one always
        # arriving first.
        wait_s *= random.uniform(0.8, 1.2)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=max(0.01, wait_s))


async def _heartbeat(path: Path, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await asyncio.to_thread(path.touch)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=_HEARTBEAT_S)


async def run_worker(
    settings: Settings,
    jobs: list[Job] | None = None,
    *,
    stop: asyncio.Event | None = None,
    heartbeat: Path | None = None,
) -> None:
    """Run ``jobs`` (default: ``default_jobs``) until ``stop`` is set or SIGTERM/SIGINT."""
    jobs = default_jobs(settings) if jobs is None else jobs
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    worker_id = f"{socket.gethostname()}:{os.getpid()}"
    # A lock connection and a working connection per job, at least.
    pool = await create_pool(
        settings.database_url,
        min_size=1,
        max_size=max(settings.db_pool_max_size, 2 * len(jobs) + 1),
    )
    log.info(
        "worker started",
        extra={"worker": worker_id, "jobs": [f"{j.name}/{j.interval_s:g}s" for j in jobs]},
    )
    tasks = [
        asyncio.create_task(_job_loop(pool, settings, job, worker_id, stop), name=job.name)
        for job in jobs
    ]
    if heartbeat is not None:
        tasks.append(asyncio.create_task(_heartbeat(heartbeat, stop), name="heartbeat"))
    try:
        await stop.wait()
        log.info("worker stopping", extra={"worker": worker_id})
        _, still_running = await asyncio.wait(tasks, timeout=settings.worker_shutdown_grace_s)
        for task in still_running:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        await pool.close()
    log.info("worker stopped", extra={"worker": worker_id})
