"""SQL of the night job: the night's lock, its pending requests, supply, fairness history,
and the writes of one run. Functions take the connection first; the job owns the
transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal

import asyncpg
from pydantic import BaseModel

from parking.reservations.model import COLUMNS as RESERVATION_COLUMNS
from parking.reservations.model import Reservation, reservation_from_row

__all__ = [
    "Decision",
    "NewAllocation",
    "PendingRequest",
    "RunRecord",
    "SupplySpace",
    "busy_request_ids",
    "decide_requests",
    "insert_allocations",
    "insert_run",
    "lock_active_buildings",
    "nights_with_pending_requests",
    "outcomes_before",
    "pending_requests",
    "shared_spaces",
    "suspension_periods",
    "try_lock_night",
]

# Held to the end of the job's transaction: a second worker (or a hand run) on the same
# night is told so at once instead of waiting, and never writes alongside the first.
# Transaction-scoped, so a crashed worker never leaves a night locked.
_TRY_LOCK = "SELECT pg_try_advisory_xact_lock(hashtextextended('allocation-night:' || $1::text, 0))"

# FOR UPDATE OF q: a withdrawal racing the job waits for its decision and then sees it.
# Home is the compound of the resident's residency now; NULL when no longer verified.
_PENDING = """
SELECT q.id, q.user_id, q.vehicle_id, q.plate, lower(q.stay) AS arrive, upper(q.stay) AS depart,
       q.max_walk_m, q.max_price_fen, q.needs, c.lat AS home_lat, c.lon AS home_lon
FROM allocation_requests q
LEFT JOIN residencies r ON r.user_id = q.user_id
LEFT JOIN residence_whitelist w ON w.id = r.whitelist_id
LEFT JOIN compounds c ON c.id = w.compound_id
WHERE q.night = $1 AND q.status = 'pending'
ORDER BY q.id
FOR UPDATE OF q
"""

# status <> 'withdrawn' is allocation_requests_one_per_night's predicate, so that index
# answers; a night with only a withdrawn request is, for fairness, a night not refused.
# A not_allocated request answers with its reason: only 'refused' is a refusal.
_OUTCOMES = """
SELECT user_id, night, coalesce(not_allocated_reason, status) AS outcome
FROM allocation_requests
WHERE user_id = ANY($1::bigint[]) AND night >= $2 AND night < $3 AND status <> 'withdrawn'
"""

_SHARED_SPACES = """
SELECT s.id, s.building_id, s.features, b.lat, b.lon, b.district_place_id
FROM spaces s JOIN buildings b ON b.id = s.building_id
WHERE s.shared AND b.status = 'active'
ORDER BY s.id
"""

# The district's suspensions of these buildings over the span, in any state, as bookings
# ask (a scheduled one closes the building when it begins and cancels what it holds).
_SUSPENSIONS = """
SELECT building_id, lower(period) AS start, upper(period) AS end
FROM place_suspensions
WHERE building_id = ANY($1::bigint[]) AND period && tstzrange($2, $3)
ORDER BY building_id, lower(period)
"""

# KEY SHARE, the lock a booking takes: a schedule change or a suspension (each locks the
# building FOR UPDATE) committed while the solver ran is seen by the reads after this, and
# one made later waits for the run's commit and then finds its reservations. Id order.
_LOCK_BUILDINGS = """
SELECT id, status FROM buildings WHERE id = ANY($1::bigint[]) ORDER BY id FOR KEY SHARE
"""

# The same predicate as reservations_plate_no_overlap: a car already held elsewhere for
# the stay cannot be given a space too.
_BUSY = """
SELECT DISTINCT q.id
FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::timestamptz[])
     AS q (id, plate, arrive, depart)
JOIN reservations r ON r.plate = q.plate AND r.stay && tstzrange(q.arrive, q.depart)
WHERE r.status IN ('held', 'confirmed', 'checked_in')
"""

# One speculative insertion for all the night's allocations: a row that would overlap a
# claim committed meanwhile (a booking made during the solve) is skipped, never written
# over, and the job learns which by the rows that come back.
_INSERT_ALLOCATIONS = f"""
INSERT INTO reservations (kind, user_id, vehicle_id, plate, building_id, space_id, night,
                          stay, status, source, fee_fen, plan_id)
SELECT 'booking', q.user_id, q.vehicle_id, q.plate, s.building_id, q.space_id, $1,
       tstzrange(q.arrive, q.depart), 'confirmed', 'allocation', q.fee_fen, q.plan_id
FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::bigint[], $6::timestamptz[],
            $7::timestamptz[], $8::bigint[], $9::bigint[])
     WITH ORDINALITY AS q (user_id, vehicle_id, plate, space_id, arrive, depart, fee_fen,
                           plan_id, n)
JOIN spaces s ON s.id = q.space_id
ORDER BY q.n
ON CONFLICT DO NOTHING
RETURNING {RESERVATION_COLUMNS}
"""

_INSERT_RUN = """
INSERT INTO allocation_runs (night, status, instance_sha256, requests, spaces, served,
                             not_allocated, served_weight, walk_m, bound_served_weight,
                             bound_walk_m, build_ms, solve_ms, write_ms, time_limit_s, workers,
                             seed, error, started_at, finished_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
RETURNING id
"""

# The status test: a request decided by someone else meanwhile is left as it is (the
# job's row locks make that impossible; the test keeps it so if the locks ever change).
_DECIDE = """
UPDATE allocation_requests q
SET status = d.status, not_allocated_reason = d.reason, weight = d.weight,
    reservation_id = d.reservation_id, run_id = $1, decided_at = $2
FROM unnest($3::bigint[], $4::text[], $5::text[], $6::int[], $7::bigint[])
     AS d (id, status, reason, weight, reservation_id)
WHERE q.id = d.id AND q.status = 'pending'
"""

# A night whose last run failed after $2 waits: a failure that repeats is recorded once
# per pause, not on every round of every worker.
_PENDING_NIGHTS = """
SELECT DISTINCT q.night FROM allocation_requests q
WHERE q.status = 'pending' AND q.night <= $1
  AND NOT EXISTS (
      SELECT 1 FROM allocation_runs r
      WHERE r.night = q.night AND r.status = 'failed' AND r.finished_at > $2
  )
ORDER BY q.night
"""


class PendingRequest(BaseModel):
    """A pending request with where its resident lives (None: no longer verified)."""

    id: int
    user_id: int
    vehicle_id: int | None
    plate: str
    arrive: dt.datetime
    depart: dt.datetime
    max_walk_m: int
    max_price_fen: int
    needs: list[str]
    home_lat: float | None
    home_lon: float | None


class SupplySpace(BaseModel):
    """A shared space of an active building, placed at its building."""

    id: int
    building_id: int
    features: list[str]
    lat: float
    lon: float
    district_place_id: str


class NewAllocation(BaseModel):
    """A reservation to write for a served request."""

    request_id: int
    user_id: int
    vehicle_id: int
    plate: str
    space_id: int
    arrive: dt.datetime
    depart: dt.datetime
    fee_fen: int
    plan_id: int | None
    """The plan version that priced it: its later no-show, late-cancel and overstay terms."""


class Decision(BaseModel):
    request_id: int
    status: Literal["allocated", "not_allocated"]
    reason: Literal["refused", "set_aside"] | None = None
    """Why not_allocated: ``refused`` by the allocation, or ``set_aside`` before solving."""
    weight: int | None
    reservation_id: int | None = None


class RunRecord(BaseModel):
    """An allocation_runs row to write."""

    night: dt.date
    status: str
    instance_sha256: str | None = None
    requests: int = 0
    spaces: int = 0
    served: int = 0
    not_allocated: int = 0
    served_weight: int | None = None
    walk_m: int | None = None
    bound_served_weight: int | None = None
    bound_walk_m: int | None = None
    build_ms: int | None = None
    solve_ms: int | None = None
    write_ms: int | None = None
    time_limit_s: float
    workers: int
    seed: int
    error: str | None = None
    started_at: dt.datetime
    finished_at: dt.datetime


async def try_lock_night(conn: asyncpg.Connection, night: dt.date) -> bool:
    """Take the night's lock for this transaction; False when another holds it."""
    return await conn.fetchval(_TRY_LOCK, night.isoformat())


async def pending_requests(conn: asyncpg.Connection, night: dt.date) -> list[PendingRequest]:
    """The night's pending requests, locked to the end of the transaction, by id."""
    return [PendingRequest.model_validate(dict(r)) for r in await conn.fetch(_PENDING, night)]


async def outcomes_before(
    conn: asyncpg.Connection, user_ids: Sequence[int], night: dt.date, nights: int
) -> dict[int, dict[dt.date, str]]:
    """Per resident, the outcome of their request on each of the ``nights`` nights before
    ``night`` on which they had one not withdrawn: ``allocated``, ``refused`` or
    ``set_aside`` (the two reasons for ``not_allocated``)."""
    rows = await conn.fetch(_OUTCOMES, list(user_ids), night - dt.timedelta(days=nights), night)
    found: dict[int, dict[dt.date, str]] = {}
    for row in rows:
        found.setdefault(row["user_id"], {})[row["night"]] = row["outcome"]
    return found


async def shared_spaces(conn: asyncpg.Connection) -> list[SupplySpace]:
    return [SupplySpace.model_validate(dict(r)) for r in await conn.fetch(_SHARED_SPACES)]


async def suspension_periods(
    conn: asyncpg.Connection, building_ids: Sequence[int], since: dt.datetime, until: dt.datetime
) -> dict[int, list[tuple[dt.datetime, dt.datetime]]]:
    """Per building, the district suspension periods that overlap ``[since, until)``."""
    found: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {}
    for row in await conn.fetch(_SUSPENSIONS, list(building_ids), since, until):
        found.setdefault(row["building_id"], []).append((row["start"], row["end"]))
    return found


async def lock_active_buildings(conn: asyncpg.Connection, building_ids: Sequence[int]) -> set[int]:
    """Lock the buildings (KEY SHARE, to the end of the transaction); those still active."""
    rows = await conn.fetch(_LOCK_BUILDINGS, sorted(set(building_ids)))
    return {row["id"] for row in rows if row["status"] == "active"}


async def busy_request_ids(
    conn: asyncpg.Connection, requests: Sequence[PendingRequest]
) -> set[int]:
    """The requests whose car already has an active claim overlapping the stay."""
    rows = await conn.fetch(
        _BUSY,
        [r.id for r in requests],
        [r.plate for r in requests],
        [r.arrive for r in requests],
        [r.depart for r in requests],
    )
    return {row["id"] for row in rows}


async def insert_allocations(
    conn: asyncpg.Connection, night: dt.date, allocations: Sequence[NewAllocation]
) -> list[Reservation]:
    """Confirmed reservations (source ``allocation``) for those that still fit."""
    if not allocations:
        return []
    rows = await conn.fetch(
        _INSERT_ALLOCATIONS,
        night,
        [a.user_id for a in allocations],
        [a.vehicle_id for a in allocations],
        [a.plate for a in allocations],
        [a.space_id for a in allocations],
        [a.arrive for a in allocations],
        [a.depart for a in allocations],
        [a.fee_fen for a in allocations],
        [a.plan_id for a in allocations],
    )
    return [reservation_from_row(r) for r in rows]


async def insert_run(conn: asyncpg.Connection, run: RunRecord) -> int:
    return await conn.fetchval(
        _INSERT_RUN,
        run.night,
        run.status,
        run.instance_sha256,
        run.requests,
        run.spaces,
        run.served,
        run.not_allocated,
        run.served_weight,
        run.walk_m,
        run.bound_served_weight,
        run.bound_walk_m,
        run.build_ms,
        run.solve_ms,
        run.write_ms,
        run.time_limit_s,
        run.workers,
        run.seed,
        run.error,
        run.started_at,
        run.finished_at,
    )


async def decide_requests(
    conn: asyncpg.Connection, run_id: int, at: dt.datetime, decisions: Sequence[Decision]
) -> None:
    await conn.execute(
        _DECIDE,
        run_id,
        at,
        [d.request_id for d in decisions],
        [d.status for d in decisions],
        [d.reason for d in decisions],
        [d.weight for d in decisions],
        [d.reservation_id for d in decisions],
    )


async def nights_with_pending_requests(
    conn: asyncpg.Connection, last: dt.date, failed_since: dt.datetime
) -> list[dt.date]:
    """Nights up to ``last`` that still have pending requests and no run that failed after
    ``failed_since``, earliest first."""
    return [row["night"] for row in await conn.fetch(_PENDING_NIGHTS, last, failed_since)]
