"""Places the district closes for a period (event ``place.suspended``).

At once: active, not checked-in reservations overlapping ``[from, to)`` are cancelled
without fee (their cancellations go to the platform), and the availability of every
published night the period touches is re-sent. While the period lasts the building is
suspended (no new bookings, nothing free, the Place says ``suspended``); after it, it is
active again. The start and end are applied by ``apply_suspensions``, which a scheduler
runs (the relay loop does, every minute), each step once even with several running.
Platform bookings also test the period itself, so none is taken for a suspended time
before the start is applied.
"""

from __future__ import annotations

import datetime as dt
import logging

import asyncpg

from parking import sync
from parking.clock import utc_now
from parking.reservations.model import Reservation
from parking.reservations.service import cancel_by_operator
from parking.settings import Settings

__all__ = ["apply_suspensions", "housekeeping", "suspend"]

log = logging.getLogger(__name__)

_LOCK_BUILDING = "SELECT status FROM buildings WHERE id = $1 FOR UPDATE"
_INSERT = """
INSERT INTO place_suspensions (building_id, period, reason) VALUES ($1, tstzrange($2, $3), $4)
RETURNING id
"""
_OVERLAPPING = """
SELECT id FROM reservations
WHERE building_id = $1 AND status IN ('held', 'confirmed') AND stay && tstzrange($2, $3)
ORDER BY id
"""
# Suspensions whose start or end has come and not been applied; SKIP LOCKED so that
# several schedulers apply each once.
_DUE = """
SELECT id, building_id, lower(period) AS start, upper(period) AS "end", reason, state,
       closed_building
FROM place_suspensions
WHERE state <> 'ended'
  AND ((state = 'scheduled' AND lower(period) <= $1) OR upper(period) <= $1)
ORDER BY lower(period), id
LIMIT 100
FOR UPDATE SKIP LOCKED
"""
_SET_STATE = "UPDATE place_suspensions SET state = $2, closed_building = $3 WHERE id = $1"
_SET_STATUS = "UPDATE buildings SET status = $2, updated_at = now() WHERE id = $1"
# Another suspension that closed the building and still lasts keeps it closed.
_STILL_CLOSED = """
SELECT EXISTS (SELECT 1 FROM place_suspensions
               WHERE building_id = $1 AND id <> $2 AND state = 'in_force' AND closed_building)
"""


def _touched_nights(
    start: dt.datetime, end: dt.datetime, settings: Settings, now: dt.datetime
) -> list[dt.date]:
    """The published nights (tonight and the horizon) whose window may overlap the period."""
    tz = settings.tz
    first = start.astimezone(tz).date() - dt.timedelta(days=1)
    last = end.astimezone(tz).date()
    return [n for n in sync.horizon(now.astimezone(tz).date(), settings) if first <= n <= last]


async def _cancel_overlapping(
    conn: asyncpg.Connection,
    building_id: int,
    start: dt.datetime,
    end: dt.datetime,
    reason: str,
    now: dt.datetime,
    settings: Settings,
) -> list[Reservation]:
    ids = [r["id"] for r in await conn.fetch(_OVERLAPPING, building_id, start, end)]
    return await cancel_by_operator(
        conn, ids, reason=f"district suspension: {reason}", at=now, tz=settings.tz
    )


async def suspend(
    conn: asyncpg.Connection,
    building_id: int,
    start: dt.datetime,
    end: dt.datetime,
    reason: str,
    *,
    now: dt.datetime,
    settings: Settings,
) -> list[Reservation]:
    """Record the suspension, cancel what it overlaps, re-send availability; the cancelled."""
    # FOR UPDATE waits for bookings in flight (they hold KEY SHARE) and keeps new ones
    # out until this commits: none slips past the cancellation.
    await conn.fetchval(_LOCK_BUILDING, building_id)
    await conn.fetchval(_INSERT, building_id, start, end, reason)
    cancelled = await _cancel_overlapping(conn, building_id, start, end, reason, now, settings)
    if start <= now:
        await _apply(conn, now, settings)
    await sync.emit_availability(
        conn, building_id, _touched_nights(start, end, settings, now), settings.tz
    )
    return cancelled


async def _apply(conn: asyncpg.Connection, now: dt.datetime, settings: Settings) -> int:
    """Apply the starts and ends that have come; how many steps were applied."""
    applied = 0
    for row in await conn.fetch(_DUE, now):
        building_id = row["building_id"]
        status = await conn.fetchval(_LOCK_BUILDING, building_id)
        closed = row["closed_building"]
        if row["end"] <= now:
            state = "ended"
            if closed and not await conn.fetchval(_STILL_CLOSED, building_id, row["id"]):
                await conn.execute(_SET_STATUS, building_id, "active")
        else:
            state = "in_force"
            if status == "active":
                await conn.execute(_SET_STATUS, building_id, "suspended")
                closed = True
            # Bookings taken on our own channels since the event, for the period.
            await _cancel_overlapping(
                conn, building_id, row["start"], row["end"], row["reason"], now, settings
            )
        await conn.execute(_SET_STATE, row["id"], state, closed)
        await sync.emit_place(conn, building_id, settings.tz)
        today = now.astimezone(settings.tz).date()
        await sync.emit_availability(conn, building_id, sync.horizon(today, settings), settings.tz)
        log.info("suspension %d of building %d: %s", row["id"], building_id, state)
        applied += 1
    return applied


async def apply_suspensions(
    pool: asyncpg.Pool, settings: Settings, now: dt.datetime | None = None
) -> int:
    """Suspend buildings whose suspension has begun and reopen those whose has ended."""
    async with pool.acquire() as conn, conn.transaction():
        return await _apply(conn, now or utc_now(), settings)


async def housekeeping(
    pool: asyncpg.Pool, settings: Settings, now: dt.datetime | None = None
) -> str:
    """The district sync's periodic chores: apply suspensions that began or ended, and
    forget inbound answers past their 24 hours. What was done, for the log."""
    from integrations.district.webhooks import purge_answers

    now = now or utc_now()
    applied = await apply_suspensions(pool, settings, now)
    async with pool.acquire() as conn:
        purged = await purge_answers(conn, now)
    return f"suspension_steps={applied} purged_answers={purged}"
