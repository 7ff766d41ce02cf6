"""Test data for nights at buildings, written with SQL so tests depend on no other endpoint:
buildings with spaces and a nightly window, managers, verified residents with a vehicle,
and reservations rows."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import uuid
from dataclasses import dataclass

import asyncpg

from tests.helpers import make_account

__all__ = [
    "Building",
    "Resident",
    "insert_reservation",
    "make_building",
    "make_manager",
    "make_resident",
    "outbox_rows",
    "random_plate",
]

_serials = itertools.count(random.randint(10_000, 50_000))


def random_plate() -> str:
    """A valid, distinct ordinary plate (粤B + five digits)."""
    return f"粤B{next(_serials) % 100_000:05d}"


@dataclass(frozen=True)
class Building:
    id: int
    space_ids: list[int]


@dataclass(frozen=True)
class Resident:
    email: str
    user_id: int
    vehicle_id: int
    plate: str


async def make_manager(conn: asyncpg.Connection) -> tuple[str, int]:
    email = await make_account(conn, "manager")
    return email, await conn.fetchval("SELECT id FROM users WHERE email = $1", email)


async def make_building(
    conn: asyncpg.Connection,
    *,
    manager_id: int | None = None,
    spaces: int = 2,
    start: dt.time = dt.time(19, 0),
    end: dt.time = dt.time(7, 0),
    monthly_pass_fen: int | None = None,
) -> Building:
    """An active building sharing ``spaces`` spaces every night from ``start`` to ``end``."""
    building_id = await conn.fetchval(
        "INSERT INTO buildings (district_place_id, manager_id, name, lat, lon, monthly_pass_fen)"
        " VALUES ($1, $2, $3, 22.56, 114.12, $4) RETURNING id",
        f"b-{uuid.uuid4().hex[:8]}",
        manager_id,
        f"Tower {uuid.uuid4().hex[:4]}",
        monthly_pass_fen,
    )
    space_ids = [
        await conn.fetchval(
            "INSERT INTO spaces (building_id, label) VALUES ($1, $2) RETURNING id",
            building_id,
            f"B1-{n:03d}",
        )
        for n in range(1, spaces + 1)
    ]
    await conn.execute(
        "INSERT INTO off_peak_rules (building_id, start_time, end_time, valid_from)"
        " VALUES ($1, $2, $3, '2020-01-01')",
        building_id,
        start,
        end,
    )
    return Building(building_id, space_ids)


async def make_resident(conn: asyncpg.Connection, plate: str | None = None) -> Resident:
    """A verified resident (whitelist entry and residency) with one vehicle."""
    email = await make_account(conn, "resident")
    user_id = await conn.fetchval("SELECT id FROM users WHERE email = $1", email)
    compound_id = await conn.fetchval(
        "INSERT INTO compounds (name, lat, lon) VALUES ($1, 22.57, 114.13) RETURNING id",
        f"Garden {uuid.uuid4().hex[:8]}",
    )
    whitelist_id = await conn.fetchval(
        "INSERT INTO residence_whitelist (compound_id, unit, phone) VALUES ($1, '1-101', $2)"
        " RETURNING id",
        compound_id,
        f"139{user_id:08d}",
    )
    await conn.execute(
        "INSERT INTO residencies (user_id, whitelist_id) VALUES ($1, $2)", user_id, whitelist_id
    )
    plate = plate or random_plate()
    vehicle_id = await conn.fetchval(
        "INSERT INTO vehicles (user_id, plate, new_energy) VALUES ($1, $2, false) RETURNING id",
        user_id,
        plate,
    )
    return Resident(email, user_id, vehicle_id, plate)


async def insert_reservation(
    conn: asyncpg.Connection,
    *,
    building_id: int,
    space_id: int,
    plate: str,
    start: dt.datetime,
    end: dt.datetime,
    night: dt.date | None = None,
    status: str = "confirmed",
    hold_expires_at: dt.datetime | None = None,
    user_id: int | None = None,
) -> int:
    """A booking row, as the booking use case would write it."""
    return await conn.fetchval(
        "INSERT INTO reservations (plate, building_id, space_id, night, stay, status,"
        " hold_expires_at, user_id, fee_fen) VALUES ($1, $2, $3, $4, tstzrange($5, $6), $7, $8,"
        " $9, 1000) RETURNING id",
        plate,
        building_id,
        space_id,
        night or start.date(),
        start,
        end,
        status,
        hold_expires_at,
        user_id,
    )


async def outbox_rows(conn: asyncpg.Connection, entity_kind: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT entity_key, version, payload FROM outbox WHERE entity_kind = $1 ORDER BY id",
        entity_kind,
    )
