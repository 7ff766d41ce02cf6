"""Arrangements for the booking tests, written in SQL so they take milliseconds.

A building with spaces and a nightly window, verified residents with vehicles, and
bearer tokens signed with the test secret (no password hashing per user).
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg
import pytest

from parking.security import build_jwt_auth
from parking.settings import Settings

TZ_NAME = "Asia/Shanghai"
_numbers = itertools.count(1)


@dataclass(frozen=True)
class Place:
    id: int
    name: str
    manager_id: int
    space_ids: list[int]
    labels: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Resident:
    id: int
    vehicle_ids: list[int]
    plates: list[str]
    headers: dict[str, str]

    @property
    def vehicle_id(self) -> int:
        return self.vehicle_ids[0]


def token_headers(settings: Settings, user_id: int, role: str) -> dict[str, str]:
    token = build_jwt_auth(settings).create_token(
        identifier=str(user_id), token_extras={"role": role}
    )
    return {"Authorization": f"Bearer {token}"}


def local_today(settings: Settings) -> dt.date:
    return dt.datetime.now(settings.tz).date()


def tomorrow(settings: Settings) -> dt.date:
    """A night whose window lies wholly in the future."""
    return local_today(settings) + dt.timedelta(days=1)


def at(settings: Settings, night: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """Local ``hour:minute`` of the night that starts on ``night`` (hours < 12: next day)."""
    day = night if hour >= 12 else night + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=settings.tz)


async def insert_user(conn: asyncpg.Connection, role: str) -> int:
    return await conn.fetchval(
        "INSERT INTO users (email, password_hash, role) VALUES ($1, 'x', $2) RETURNING id",
        f"{role}-{uuid.uuid4().hex[:12]}@example.com",
        role,
    )


async def make_place(
    conn: asyncpg.Connection,
    *,
    spaces: int = 3,
    features: Sequence[Sequence[str]] = (),
    start: dt.time = dt.time(19),
    end: dt.time = dt.time(7),
    fee_fen: int = 1000,
    monthly_pass_fen: int | None = None,
    status: str = "active",
    manager_id: int | None = None,
    valid_from: dt.date | None = None,
) -> Place:
    """An active per-use building sharing ``spaces`` spaces every night from start to end."""
    n = next(_numbers)
    manager_id = manager_id or await insert_user(conn, "manager")
    name = f"Building {n}"
    building_id = await conn.fetchval(
        """INSERT INTO buildings (district_place_id, manager_id, name, lat, lon, status,
                                  flat_fee_fen, monthly_pass_fen)
           VALUES ($1, $2, $3, 22.56, 114.13, $4, $5, $6) RETURNING id""",
        f"b-{uuid.uuid4().hex[:10]}",
        manager_id,
        name,
        status,
        fee_fen,
        monthly_pass_fen,
    )
    labels = {}
    for i in range(spaces):
        space_features = list(features[i]) if i < len(features) else []
        label = f"B1-{i + 1:03d}"
        space_id = await conn.fetchval(
            "INSERT INTO spaces (building_id, label, features) VALUES ($1, $2, $3) RETURNING id",
            building_id,
            label,
            space_features,
        )
        labels[space_id] = label
    await conn.execute(
        """INSERT INTO off_peak_rules (building_id, start_time, end_time, valid_from)
           VALUES ($1, $2, $3, $4)""",
        building_id,
        start,
        end,
        valid_from or dt.date.today() - dt.timedelta(days=7),
    )
    return Place(building_id, name, manager_id, list(labels), labels)


async def make_resident(
    conn: asyncpg.Connection, settings: Settings, *, vehicles: int = 1, verified: bool = True
) -> Resident:
    """A resident (verified against a whitelist entry unless told) with ``vehicles`` cars."""
    user_id = await insert_user(conn, "resident")
    if verified:
        compound_id = await conn.fetchval(
            """INSERT INTO compounds (name, lat, lon) VALUES ('Test Gardens', 22.565, 114.128)
               ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id"""
        )
        whitelist_id = await conn.fetchval(
            """INSERT INTO residence_whitelist (compound_id, unit, phone)
               VALUES ($1, $2, $3) RETURNING id""",
            compound_id,
            f"{user_id}-101",
            f"139{user_id:08d}",
        )
        await conn.execute(
            "INSERT INTO residencies (user_id, whitelist_id) VALUES ($1, $2)",
            user_id,
            whitelist_id,
        )
    vehicle_ids, plates = [], []
    for _ in range(vehicles):
        plate = f"粤B{next(_numbers):05d}"
        vehicle_ids.append(
            await conn.fetchval(
                """INSERT INTO vehicles (user_id, plate, new_energy)
                   VALUES ($1, $2, false) RETURNING id""",
                user_id,
                plate,
            )
        )
        plates.append(plate)
    return Resident(user_id, vehicle_ids, plates, token_headers(settings, user_id, "resident"))


def booking_headers(resident: Resident, key: str | None = None) -> dict[str, str]:
    return {**resident.headers, "Idempotency-Key": key or uuid.uuid4().hex}


@pytest.fixture
async def place(conn: asyncpg.Connection) -> Place:
    return await make_place(conn)


@pytest.fixture
async def resident(conn: asyncpg.Connection, settings: Settings) -> Resident:
    return await make_resident(conn, settings)


@pytest.fixture
def night(settings: Settings) -> dt.date:
    return tomorrow(settings)
