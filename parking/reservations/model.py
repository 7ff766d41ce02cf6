"""A reservations row as the rest of the service sees it, and how to read one.

Bookings and pass nights share the table (one exclusion constraint keeps every
claim on a space apart); ``kind`` tells them apart.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import asyncpg
from pydantic import BaseModel

__all__ = ["COLUMNS", "Reservation", "ReservationStatus", "get_reservation", "reservation_from_row"]

ReservationStatus = Literal[
    "held", "confirmed", "cancelled", "checked_in", "completed", "no_show", "expired", "released"
]

# Every column, with the stay split into its bounds; use in RETURNING clauses too.
COLUMNS = """id, kind, pass_id, user_id, vehicle_id, plate, building_id, space_id, night,
    lower(stay) AS start, upper(stay) AS "end", status, hold_expires_at, source,
    platform_reservation_id, fee_fen, created_at, updated_at, checked_in_at, ended_at, plan_id"""

_GET = f"SELECT {COLUMNS} FROM reservations WHERE id = $1"
# Changes of one reservation queue behind each other on its row.
_GET_FOR_UPDATE = _GET + " FOR UPDATE"


class Reservation(BaseModel):
    id: int
    kind: Literal["booking", "pass_night"]
    pass_id: int | None
    user_id: int | None
    vehicle_id: int | None
    plate: str
    building_id: int
    space_id: int
    night: dt.date
    start: dt.datetime
    end: dt.datetime
    status: ReservationStatus
    hold_expires_at: dt.datetime | None
    source: Literal["app", "platform", "allocation", "pass"]
    platform_reservation_id: str | None
    fee_fen: int
    created_at: dt.datetime
    updated_at: dt.datetime
    checked_in_at: dt.datetime | None
    ended_at: dt.datetime | None
    plan_id: int | None = None
    """The plan version that priced it; None: the plan in force on its night applies."""


def reservation_from_row(row: asyncpg.Record) -> Reservation:
    return Reservation.model_validate(dict(row))


async def get_reservation(
    conn: asyncpg.Connection, reservation_id: int, *, lock: bool = False
) -> Reservation | None:
    row = await conn.fetchrow(_GET_FOR_UPDATE if lock else _GET, reservation_id)
    return reservation_from_row(row) if row else None
