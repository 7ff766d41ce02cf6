"""Arranging buildings, rules, blackouts and reservations directly in the database."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg

__all__ = ["add_blackout", "add_building", "add_reservation", "add_rule", "add_space", "user_id_of"]


async def add_building(conn: asyncpg.Connection, manager_id: int | None = None) -> int:
    return await conn.fetchval(
        "INSERT INTO buildings (district_place_id, manager_id, name, lat, lon)"
        " VALUES ($1, $2, 'Shuibei Tower', 22.57, 114.12) RETURNING id",
        f"place-{uuid.uuid4().hex[:12]}",
        manager_id,
    )


async def add_space(conn: asyncpg.Connection, building_id: int, label: str = "B1-001") -> int:
    return await conn.fetchval(
        "INSERT INTO spaces (building_id, label) VALUES ($1, $2) RETURNING id", building_id, label
    )


async def add_rule(
    conn: asyncpg.Connection,
    building_id: int,
    start: dt.time,
    end: dt.time,
    valid_from: dt.date,
    valid_until: dt.date | None = None,
    *,
    day_class: str = "every_day",
    weekdays: list[int] | None = None,
) -> int:
    return await conn.fetchval(
        "INSERT INTO off_peak_rules"
        " (building_id, day_class, weekdays, start_time, end_time, valid_from, valid_until)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        building_id,
        day_class,
        weekdays or [1, 2, 3, 4, 5, 6, 7],
        start,
        end,
        valid_from,
        valid_until,
    )


async def add_blackout(
    conn: asyncpg.Connection, building_id: int, start: dt.datetime, end: dt.datetime
) -> int:
    return await conn.fetchval(
        "INSERT INTO blackouts (building_id, period) VALUES ($1, tstzrange($2, $3)) RETURNING id",
        building_id,
        start,
        end,
    )


async def add_reservation(
    conn: asyncpg.Connection,
    building_id: int,
    space_id: int,
    night: dt.date,
    start: dt.datetime,
    end: dt.datetime,
    *,
    status: str = "confirmed",
    plate: str = "粤B12345",
) -> int:
    """A booking row as the booking flow leaves it (no user: booked on the platform)."""
    return await conn.fetchval(
        "INSERT INTO reservations (plate, building_id, space_id, night, stay, status,"
        " hold_expires_at, source)"
        " VALUES ($1, $2, $3, $4, tstzrange($5, $6), $7,"
        "  CASE WHEN $7 = 'held' THEN $6 END, 'platform') RETURNING id",
        plate,
        building_id,
        space_id,
        night,
        start,
        end,
        status,
    )


async def user_id_of(conn: asyncpg.Connection, email: str) -> int:
    return await conn.fetchval("SELECT id FROM users WHERE email = $1", email)
