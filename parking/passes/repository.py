"""SQL for passes and their nights. Functions take the connection first; the caller owns
the transaction."""

from __future__ import annotations

import datetime as dt

import asyncpg
from pydantic import BaseModel

from parking.passes.schemas import BuildingPass, PassNight, PassSummary, month_text

__all__ = [
    "BuildingInfo",
    "NightClaim",
    "get_building",
    "get_own_pass",
    "insert_night",
    "insert_pass",
    "list_building_passes",
    "list_own_passes",
    "lock_night",
    "lock_purchases",
    "nights_of",
]

# KEY SHARE, as a booking takes it: a plan change (which locks the row FOR UPDATE) and
# this purchase are ordered, so the pass is priced by the versions as they stand after it
# (never by a version being withdrawn, whose check for passes sold would miss this one).
_GET_BUILDING = "SELECT id, name, status FROM buildings WHERE id = $1 FOR KEY SHARE"

# Pass purchases at one building take their many spaces one purchase after another:
# two running side by side could each wait on a night the other claimed (a deadlock).
_LOCK_PURCHASES = "SELECT pg_advisory_xact_lock(hashtextextended('pass:' || $1, 0))"

_INSERT_PASS = """
INSERT INTO passes (user_id, vehicle_id, plate, building_id, month, price_fen, plan_id)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id
"""

# Every night of a pass is an ordinary reservations row, so the same exclusion
# constraints keep it apart from bookings and other passes. No row comes back when the
# space or the car is taken for that time: DO NOTHING makes it a speculative insertion,
# which waits for a racing booking instead of deadlocking with it as two plain INSERTs
# under an exclusion constraint can.
_INSERT_NIGHT = """
INSERT INTO reservations (kind, pass_id, user_id, vehicle_id, plate, building_id, space_id,
                          night, stay, status, source, fee_fen)
VALUES ('pass_night', $1, $2, $3, $4, $5, $6, $7, tstzrange($8, $9), 'confirmed', 'pass', 0)
ON CONFLICT DO NOTHING
RETURNING id
"""

_SUMMARY = """
SELECT p.id, p.building_id, b.name AS building_name, p.vehicle_id, p.plate, p.month,
       p.price_fen, p.status, p.created_at,
       count(DISTINCT r.night) AS night_count,
       count(DISTINCT r.night) FILTER (WHERE r.status = 'released') AS released_count
FROM passes p
JOIN buildings b ON b.id = p.building_id
LEFT JOIN reservations r ON r.pass_id = p.id
"""
_GROUP = " GROUP BY p.id, b.name"

_LIST_OWN = _SUMMARY + " WHERE p.user_id = $1" + _GROUP + " ORDER BY p.month DESC, p.id DESC"
_GET_OWN = _SUMMARY + " WHERE p.id = $1 AND p.user_id = $2" + _GROUP
_LIST_BUILDING = (
    _SUMMARY
    + " WHERE p.building_id = $1 AND ($2::date IS NULL OR p.month = $2)"
    + _GROUP
    + " ORDER BY p.month DESC, p.id DESC LIMIT $3 OFFSET $4"
)
# Releases of one pass queue behind each other on its row.
_LOCK_PASS = "SELECT id FROM passes WHERE id = $1 AND user_id = $2 FOR UPDATE"

_NIGHTS = """
SELECT r.id AS reservation_id, r.night, lower(r.stay) AS start, upper(r.stay) AS "end",
       r.space_id, s.label AS space_label, r.status
FROM reservations r JOIN spaces s ON s.id = r.space_id
WHERE r.pass_id = $1 AND ($2::date IS NULL OR r.night = $2)
ORDER BY lower(r.stay)
"""
_LOCK_NIGHT = """
SELECT id, status, lower(stay) AS start FROM reservations
WHERE pass_id = $1 AND night = $2
ORDER BY lower(stay)
FOR UPDATE
"""


class BuildingInfo(BaseModel):
    id: int
    name: str
    status: str


class NightClaim(BaseModel):
    id: int
    status: str
    start: dt.datetime


def _summary(row: asyncpg.Record) -> PassSummary:
    values = dict(row)
    values["month"] = month_text(values["month"])
    return PassSummary.model_validate(values)


async def get_building(conn: asyncpg.Connection, building_id: int) -> BuildingInfo | None:
    row = await conn.fetchrow(_GET_BUILDING, building_id)
    return BuildingInfo.model_validate(dict(row)) if row else None


async def lock_purchases(conn: asyncpg.Connection, building_id: int) -> None:
    await conn.execute(_LOCK_PURCHASES, str(building_id))


async def insert_pass(
    conn: asyncpg.Connection,
    *,
    user_id: int,
    vehicle_id: int,
    plate: str,
    building_id: int,
    month: dt.date,
    price_fen: int,
    plan_id: int | None = None,
) -> int:
    return await conn.fetchval(
        _INSERT_PASS, user_id, vehicle_id, plate, building_id, month, price_fen, plan_id
    )


async def insert_night(
    conn: asyncpg.Connection,
    *,
    pass_id: int,
    user_id: int,
    vehicle_id: int,
    plate: str,
    building_id: int,
    space_id: int,
    night: dt.date,
    start: dt.datetime,
    end: dt.datetime,
) -> int | None:
    """The new row's id, or None when the space or the car is taken for that time."""
    return await conn.fetchval(
        _INSERT_NIGHT,
        pass_id,
        user_id,
        vehicle_id,
        plate,
        building_id,
        space_id,
        night,
        start,
        end,
    )


async def get_own_pass(
    conn: asyncpg.Connection, pass_id: int, user_id: int, *, lock: bool = False
) -> PassSummary | None:
    if lock and await conn.fetchval(_LOCK_PASS, pass_id, user_id) is None:
        return None
    row = await conn.fetchrow(_GET_OWN, pass_id, user_id)
    return _summary(row) if row else None


async def list_own_passes(conn: asyncpg.Connection, user_id: int) -> list[PassSummary]:
    return [_summary(r) for r in await conn.fetch(_LIST_OWN, user_id)]


async def list_building_passes(
    conn: asyncpg.Connection, building_id: int, month: dt.date | None, *, limit: int, offset: int
) -> list[BuildingPass]:
    rows = await conn.fetch(_LIST_BUILDING, building_id, month, limit, offset)
    return [BuildingPass.model_validate(_summary(r).model_dump()) for r in rows]


async def nights_of(
    conn: asyncpg.Connection, pass_id: int, night: dt.date | None = None
) -> list[PassNight]:
    return [PassNight.model_validate(dict(r)) for r in await conn.fetch(_NIGHTS, pass_id, night)]


async def lock_night(conn: asyncpg.Connection, pass_id: int, night: dt.date) -> list[NightClaim]:
    """The pass's claims on ``night``, locked, earliest first."""
    rows = await conn.fetch(_LOCK_NIGHT, pass_id, night)
    return [NightClaim.model_validate(dict(r)) for r in rows]
