"""Periodic sweeps: expire stale holds, mark bookings nobody arrived for as no-shows
(charging the no-show fee, in ``transition``), send the Rates of plan versions that took
effect, purge old Idempotency-Keys. Safe to run from several workers at once: each row
is changed by exactly one of them, in small transactions of their own."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import asyncpg

from parking.idempotency import purge_expired_keys
from parking.reservations.model import ReservationStatus
from parking.reservations.states import transition
from parking.settings import Settings
from pricing.service import announce_rates

__all__ = ["BATCH_SIZE", "SweepCounts", "expire_holds", "mark_no_shows", "run_sweeps"]

BATCH_SIZE = 100

# FOR UPDATE SKIP LOCKED: several workers may sweep at once; each takes the rows no
# other worker holds, so no row is changed twice and nobody waits on anybody. The
# order by building and night makes every worker take the availability rows of the
# outbox in the same order, so two batches cannot deadlock on them.
_STALE_HOLDS = """
SELECT id FROM reservations
WHERE status = 'held' AND hold_expires_at <= $1
ORDER BY building_id, night, id
LIMIT $2
FOR UPDATE SKIP LOCKED
"""

# Pass nights are left alone: a pass holder may skip a night without it counting
# against them. The start bound uses the partial index on confirmed starts.
_MISSED_ARRIVALS = """
SELECT id FROM reservations
WHERE status = 'confirmed' AND kind = 'booking' AND lower(stay) <= $1
ORDER BY building_id, night, id
LIMIT $2
FOR UPDATE SKIP LOCKED
"""


@dataclass(frozen=True, slots=True)
class SweepCounts:
    """What one run of every sweep changed."""

    expired_holds: int
    no_shows: int
    purged_idempotency_keys: int
    rates_announced: int = 0
    """Buildings whose new plan version took effect and whose Rates were queued."""


async def _sweep(
    conn: asyncpg.Connection,
    select: str,
    bound: dt.datetime,
    to_status: ReservationStatus,
    *,
    at: dt.datetime,
    tz: ZoneInfo,
    batch_size: int,
) -> int:
    changed = 0
    while True:
        # One transaction per batch: locks are short, and work done stays done if a
        # later batch fails.
        async with conn.transaction():
            ids = [r["id"] for r in await conn.fetch(select, bound, batch_size)]
            for reservation_id in ids:
                await transition(conn, reservation_id, to_status, at=at, tz=tz)
        changed += len(ids)
        if len(ids) < batch_size:
            return changed


async def expire_holds(
    conn: asyncpg.Connection, now: dt.datetime, tz: ZoneInfo, *, batch_size: int = BATCH_SIZE
) -> int:
    """Held bookings past their ``hold_expires_at`` become ``expired``; how many did."""
    return await _sweep(conn, _STALE_HOLDS, now, "expired", at=now, tz=tz, batch_size=batch_size)


async def mark_no_shows(
    conn: asyncpg.Connection,
    now: dt.datetime,
    grace_minutes: int,
    tz: ZoneInfo,
    *,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Confirmed bookings not checked in ``grace_minutes`` after their start become
    ``no_show``; how many did."""
    latest_start = now - dt.timedelta(minutes=grace_minutes)
    return await _sweep(
        conn, _MISSED_ARRIVALS, latest_start, "no_show", at=now, tz=tz, batch_size=batch_size
    )


async def run_sweeps(conn: asyncpg.Connection, now: dt.datetime, settings: Settings) -> SweepCounts:
    """Every sweep once, as the worker runs them on its schedule."""
    expired = await expire_holds(conn, now, settings.tz)
    no_shows = await mark_no_shows(conn, now, settings.arrival_grace_minutes, settings.tz)
    rates = await announce_rates(conn, now, settings.tz)
    async with conn.transaction():
        purged = await purge_expired_keys(conn, now, settings.idempotency_ttl_hours)
    return SweepCounts(
        expired_holds=expired,
        no_shows=no_shows,
        purged_idempotency_keys=purged,
        rates_announced=rates,
    )
