"""SQL for bookings. Functions take the connection first; the caller owns the transaction.

Status changes are not here: they go through ``parking.reservations.states.transition``.
"""

from __future__ import annotations

import datetime as dt

import asyncpg
from pydantic import BaseModel

from parking.reservations.model import COLUMNS, ReservationStatus
from parking.reservations.schemas import ReservationView
from pricing.plans import PricePlan
from pricing.repository import PLANS_JSON

__all__ = [
    "BookingBuilding",
    "NewBooking",
    "SpaceRef",
    "building_for_booking",
    "count_for_building",
    "count_for_user",
    "get_view",
    "insert_booking",
    "list_for_building",
    "list_for_user",
    "plate_busy",
    "set_fee",
    "space_of_building",
    "suspended_during",
]

# KEY SHARE: a suspension (which locks the row FOR UPDATE) waits for this booking to
# commit and then cancels it, or this booking waits for the suspension and sees it.
# It is the lock the reservation's foreign key takes anyway, so it costs nothing more.
# The plan versions come along, so the plan costs no round trip of its own.
_BUILDING = f"""
SELECT b.id, b.name, b.status, b.district_place_id, {PLANS_JSON.format(building="b.id")} AS plans
FROM buildings b WHERE b.id = $1 FOR KEY SHARE OF b
"""

_SPACE = "SELECT id, shared, features FROM spaces WHERE id = $1 AND building_id = $2"

# The new row with its space's label, in one round trip; no row when the space or the
# car is taken for that time. DO NOTHING makes it a speculative insertion: two plain
# INSERTs of conflicting rows each put their row in the index and then wait for the
# other, which deadlocks under an exclusion constraint; a speculative insertion that
# meets an uncommitted conflicting row backs out instead, so racing bookings never do.
_INSERT = f"""
WITH r AS (
    INSERT INTO reservations (kind, user_id, vehicle_id, plate, building_id, space_id, night,
                              stay, status, hold_expires_at, source, fee_fen, plan_id)
    VALUES ('booking', $1, $2, $3, $4, $5, $6, tstzrange($7, $8), $9, $10, 'app', $11, $13)
    ON CONFLICT DO NOTHING
    RETURNING *
)
SELECT {COLUMNS}, $12::text AS building_name, s.label AS space_label
FROM r CROSS JOIN LATERAL (SELECT label FROM spaces WHERE spaces.id = r.space_id) AS s
"""

# Rows first, names joined after, so COLUMNS (unqualified) reads only reservations.
_VIEW = """
SELECT v.*, b.name AS building_name, s.label AS space_label
FROM ({inner}) AS v
JOIN buildings b ON b.id = v.building_id
JOIN spaces s ON s.id = v.space_id
ORDER BY {order}
"""
_GET = _VIEW.format(inner=f"SELECT {COLUMNS} FROM reservations WHERE id = $1", order="v.id")

_USER_FILTER = """
FROM reservations
WHERE user_id = $1
  AND ($2::date IS NULL OR night = $2)
  AND ($3::text IS NULL OR status = $3)
"""
_LIST_FOR_USER = _VIEW.format(
    inner=f"SELECT {COLUMNS} {_USER_FILTER} ORDER BY lower(stay) DESC, id DESC LIMIT $4 OFFSET $5",
    order="v.start DESC, v.id DESC",
)
_COUNT_FOR_USER = f"SELECT count(*) {_USER_FILTER}"

_BUILDING_FILTER = """
FROM reservations
WHERE building_id = $1 AND night = $2
  AND ($3::text IS NULL OR status = $3)
"""
_LIST_FOR_BUILDING = _VIEW.format(
    inner=f"SELECT {COLUMNS} {_BUILDING_FILTER} ORDER BY lower(stay), id LIMIT $4 OFFSET $5",
    order="v.start, v.id",
)
_COUNT_FOR_BUILDING = f"SELECT count(*) {_BUILDING_FILTER}"

# A period the district platform closed the place for (event place.suspended), whether
# or not it has begun: the building's status says suspended only while one lasts.
_SUSPENDED_DURING = """
SELECT EXISTS (SELECT 1 FROM place_suspensions
               WHERE building_id = $1 AND period && tstzrange($2, $3))
"""

# The same predicate as reservations_plate_no_overlap, so its index answers it.
_PLATE_BUSY = """
SELECT EXISTS (
    SELECT 1 FROM reservations
    WHERE plate = $1 AND stay && tstzrange($2, $3)
      AND status IN ('held', 'confirmed', 'checked_in')
)
"""

_SET_FEE = "UPDATE reservations SET fee_fen = $2, updated_at = $3 WHERE id = $1"


class BookingBuilding(BaseModel):
    id: int
    name: str
    status: str
    district_place_id: str
    plans: list[PricePlan]
    """Every plan version of the building, oldest first."""


class SpaceRef(BaseModel):
    id: int
    shared: bool
    features: list[str]


class NewBooking(BaseModel):
    user_id: int
    vehicle_id: int
    plate: str
    building_id: int
    building_name: str
    space_id: int
    night: dt.date
    start: dt.datetime
    end: dt.datetime
    status: ReservationStatus
    hold_expires_at: dt.datetime | None
    fee_fen: int
    plan_id: int | None = None
    """The plan version that priced it."""


async def building_for_booking(
    conn: asyncpg.Connection, building_id: int
) -> BookingBuilding | None:
    row = await conn.fetchrow(_BUILDING, building_id)
    return BookingBuilding.model_validate(dict(row)) if row else None


async def space_of_building(
    conn: asyncpg.Connection, building_id: int, space_id: int
) -> SpaceRef | None:
    row = await conn.fetchrow(_SPACE, space_id, building_id)
    return SpaceRef.model_validate(dict(row)) if row else None


async def insert_booking(conn: asyncpg.Connection, new: NewBooking) -> ReservationView | None:
    """The booking inserted, or None when its space or its car is taken for the stay."""
    row = await conn.fetchrow(
        _INSERT,
        new.user_id,
        new.vehicle_id,
        new.plate,
        new.building_id,
        new.space_id,
        new.night,
        new.start,
        new.end,
        new.status,
        new.hold_expires_at,
        new.fee_fen,
        new.building_name,
        new.plan_id,
    )
    return ReservationView.model_validate(dict(row)) if row else None


async def suspended_during(
    conn: asyncpg.Connection, building_id: int, start: dt.datetime, end: dt.datetime
) -> bool:
    """Whether a district suspension of the building overlaps ``[start, end)``."""
    return await conn.fetchval(_SUSPENDED_DURING, building_id, start, end)


async def plate_busy(
    conn: asyncpg.Connection, plate: str, start: dt.datetime, end: dt.datetime
) -> bool:
    """Whether the car has an active reservation overlapping ``[start, end)``."""
    return await conn.fetchval(_PLATE_BUSY, plate, start, end)


async def get_view(conn: asyncpg.Connection, reservation_id: int) -> ReservationView | None:
    row = await conn.fetchrow(_GET, reservation_id)
    return ReservationView.model_validate(dict(row)) if row else None


async def list_for_user(
    conn: asyncpg.Connection,
    user_id: int,
    *,
    night: dt.date | None,
    status: str | None,
    limit: int,
    offset: int,
) -> list[ReservationView]:
    """The user's reservations, latest start first."""
    rows = await conn.fetch(_LIST_FOR_USER, user_id, night, status, limit, offset)
    return [ReservationView.model_validate(dict(r)) for r in rows]


async def count_for_user(
    conn: asyncpg.Connection, user_id: int, *, night: dt.date | None, status: str | None
) -> int:
    return await conn.fetchval(_COUNT_FOR_USER, user_id, night, status)


async def list_for_building(
    conn: asyncpg.Connection,
    building_id: int,
    *,
    night: dt.date,
    status: str | None,
    limit: int,
    offset: int,
) -> list[ReservationView]:
    """A building's reservations of one night, earliest start first."""
    rows = await conn.fetch(_LIST_FOR_BUILDING, building_id, night, status, limit, offset)
    return [ReservationView.model_validate(dict(r)) for r in rows]


async def count_for_building(
    conn: asyncpg.Connection, building_id: int, *, night: dt.date, status: str | None
) -> int:
    return await conn.fetchval(_COUNT_FOR_BUILDING, building_id, night, status)


async def set_fee(
    conn: asyncpg.Connection, reservation_id: int, fee_fen: int, at: dt.datetime
) -> None:
    """What the reservation costs its resident now (a cancellation changes it)."""
    await conn.execute(_SET_FEE, reservation_id, fee_fen, at)
