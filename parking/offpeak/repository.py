"""SQL for off-peak rules and blackouts. Functions take the connection first."""

from __future__ import annotations

import datetime as dt

import asyncpg
from pydantic import BaseModel

from parking.occupancy import ACTIVE_STATUSES
from parking.offpeak.schemas import Blackout, NewBlackout, NewOffPeakRule, OffPeakRule

__all__ = [
    "ReservationStay",
    "buildings_with_calendar_rules",
    "delete_blackout",
    "delete_rule",
    "get_rule",
    "insert_blackout",
    "insert_rule",
    "list_blackouts",
    "list_rules",
    "lock_buildings",
    "reservations_in_period",
    "reservations_needing_calendar",
    "reservations_on_nights",
]

_ACTIVE = list(ACTIVE_STATUSES)
_RULE_COLUMNS = (
    "id, building_id, day_class, weekdays, start_time, end_time, valid_from, valid_until,"
    " created_at"
)
_BLACKOUT_COLUMNS = (
    'id, building_id, lower(period) AS start, upper(period) AS "end", reason, created_at'
)

_INSERT_RULE = f"""
INSERT INTO off_peak_rules
    (building_id, day_class, weekdays, start_time, end_time, valid_from, valid_until)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING {_RULE_COLUMNS}
"""
_LIST_RULES = f"SELECT {_RULE_COLUMNS} FROM off_peak_rules WHERE building_id = $1 ORDER BY id"
_GET_RULE = f"SELECT {_RULE_COLUMNS} FROM off_peak_rules WHERE id = $1 AND building_id = $2"
_DELETE_RULE = "DELETE FROM off_peak_rules WHERE id = $1 AND building_id = $2"

_INSERT_BLACKOUT = f"""
INSERT INTO blackouts (building_id, period, reason)
VALUES ($1, tstzrange($2, $3), $4)
RETURNING {_BLACKOUT_COLUMNS}
"""
_LIST_BLACKOUTS = f"""
SELECT {_BLACKOUT_COLUMNS} FROM blackouts
WHERE building_id = $1 AND ($2::timestamptz IS NULL OR upper(period) > $2)
ORDER BY lower(period), id
"""
_DELETE_BLACKOUT = f"""
DELETE FROM blackouts WHERE id = $1 AND building_id = $2 RETURNING {_BLACKOUT_COLUMNS}
"""

_RESERVATION_COLUMNS = 'id, building_id, night, lower(stay) AS start, upper(stay) AS "end"'
# Only claims that still matter: active, and not over yet.
_RESERVATIONS_IN_PERIOD = f"""
SELECT {_RESERVATION_COLUMNS} FROM reservations
WHERE building_id = $1 AND status = ANY($2::text[]) AND upper(stay) > $3
  AND stay && tstzrange($4, $5)
ORDER BY id
"""
_RESERVATIONS_ON_NIGHTS = f"""
SELECT {_RESERVATION_COLUMNS} FROM reservations
WHERE building_id = $1 AND status = ANY($2::text[]) AND upper(stay) > $3
  AND night >= $4 AND ($5::date IS NULL OR night <= $5)
ORDER BY id
"""
# Only reservations on nights a working-day or rest-day rule of their building covers.
_RESERVATIONS_NEEDING_CALENDAR = f"""
SELECT {_RESERVATION_COLUMNS} FROM reservations r
WHERE status = ANY($1::text[]) AND upper(stay) > $2 AND night BETWEEN $3 AND $4
  AND EXISTS (
      SELECT 1 FROM off_peak_rules o
      WHERE o.building_id = r.building_id AND o.day_class <> 'every_day'
        AND o.valid_from <= r.night AND (o.valid_until IS NULL OR o.valid_until >= r.night)
  )
ORDER BY id
"""
# In id order, so that two changes locking several buildings cannot deadlock.
_LOCK_BUILDINGS = "SELECT id FROM buildings WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE"
_BUILDINGS_WITH_CALENDAR_RULES = """
SELECT DISTINCT building_id FROM off_peak_rules
WHERE day_class <> 'every_day'
  AND valid_from <= $2 AND (valid_until IS NULL OR valid_until >= $1)
ORDER BY building_id
"""


class ReservationStay(BaseModel):
    """An active reservation's claim on the building, as window checks need it."""

    id: int
    building_id: int
    night: dt.date
    start: dt.datetime
    end: dt.datetime


async def _stays(conn: asyncpg.Connection, sql: str, *args: object) -> list[ReservationStay]:
    return [ReservationStay.model_validate(dict(r)) for r in await conn.fetch(sql, *args)]


def _rule(row: asyncpg.Record) -> OffPeakRule:
    return OffPeakRule.model_validate(dict(row))


def _blackout(row: asyncpg.Record) -> Blackout:
    return Blackout.model_validate(dict(row))


async def insert_rule(
    conn: asyncpg.Connection, building_id: int, new: NewOffPeakRule
) -> OffPeakRule:
    row = await conn.fetchrow(
        _INSERT_RULE,
        building_id,
        new.day_class,
        new.weekdays,
        new.start_time,
        new.end_time,
        new.valid_from,
        new.valid_until,
    )
    return _rule(row)


async def list_rules(conn: asyncpg.Connection, building_id: int) -> list[OffPeakRule]:
    return [_rule(r) for r in await conn.fetch(_LIST_RULES, building_id)]


async def get_rule(conn: asyncpg.Connection, building_id: int, rule_id: int) -> OffPeakRule | None:
    row = await conn.fetchrow(_GET_RULE, rule_id, building_id)
    return _rule(row) if row else None


async def delete_rule(conn: asyncpg.Connection, building_id: int, rule_id: int) -> None:
    await conn.execute(_DELETE_RULE, rule_id, building_id)


async def insert_blackout(conn: asyncpg.Connection, building_id: int, new: NewBlackout) -> Blackout:
    row = await conn.fetchrow(_INSERT_BLACKOUT, building_id, new.start, new.end, new.reason)
    return _blackout(row)


async def list_blackouts(
    conn: asyncpg.Connection, building_id: int, ending_after: dt.datetime | None = None
) -> list[Blackout]:
    return [_blackout(r) for r in await conn.fetch(_LIST_BLACKOUTS, building_id, ending_after)]


async def delete_blackout(
    conn: asyncpg.Connection, building_id: int, blackout_id: int
) -> Blackout | None:
    row = await conn.fetchrow(_DELETE_BLACKOUT, blackout_id, building_id)
    return _blackout(row) if row else None


async def reservations_in_period(
    conn: asyncpg.Connection,
    building_id: int,
    start: dt.datetime,
    end: dt.datetime,
    *,
    now: dt.datetime,
) -> list[ReservationStay]:
    """Active reservations of the building that overlap ``[start, end)`` and are not over."""
    return await _stays(conn, _RESERVATIONS_IN_PERIOD, building_id, _ACTIVE, now, start, end)


async def reservations_on_nights(
    conn: asyncpg.Connection,
    building_id: int,
    first: dt.date,
    last: dt.date | None,
    *,
    now: dt.datetime,
) -> list[ReservationStay]:
    """Active reservations of the building for nights ``first`` .. ``last`` not over yet."""
    return await _stays(conn, _RESERVATIONS_ON_NIGHTS, building_id, _ACTIVE, now, first, last)


async def reservations_needing_calendar(
    conn: asyncpg.Connection, first: dt.date, last: dt.date, *, now: dt.datetime
) -> list[ReservationStay]:
    """Active reservations, not over yet, on nights whose windows depend on the calendar."""
    return await _stays(conn, _RESERVATIONS_NEEDING_CALENDAR, _ACTIVE, now, first, last)


async def lock_buildings(conn: asyncpg.Connection, building_ids: list[int]) -> None:
    """Hold the rows of these buildings until the transaction ends (bookings wait)."""
    await conn.execute(_LOCK_BUILDINGS, building_ids)


async def buildings_with_calendar_rules(
    conn: asyncpg.Connection, first: dt.date, last: dt.date
) -> list[int]:
    """Buildings whose working-day or rest-day rules apply somewhere in ``first`` .. ``last``."""
    rows = await conn.fetch(_BUILDINGS_WITH_CALENDAR_RULES, first, last)
    return [r["building_id"] for r in rows]
