"""Arranging places for the tests: buildings through the API, windows and reservations in SQL."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from zoneinfo import ZoneInfo

import asyncpg
from litestar.testing import AsyncTestClient

from tests.helpers import make_account, token_for

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Near the Shuibei compounds; distances in the tests are offsets from here.
ORIGIN = (22.5655, 114.1287)
METRES_PER_DEGREE_LAT = 111_195.0
_place_ids = itertools.count(1)
_plates = itertools.count(10000)


def tomorrow() -> dt.date:
    """A night wholly in the future, so no part of its window is already over."""
    return dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=1)


def local(night: dt.date, hour: int, minute: int = 0, *, next_day: bool = False) -> dt.datetime:
    day = night + dt.timedelta(days=1) if next_day else night
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI)


def offset(north_m: float, east_m: float, origin: tuple[float, float] = ORIGIN):
    lat, lon = origin
    return (
        lat + north_m / METRES_PER_DEGREE_LAT,
        lon + east_m / (METRES_PER_DEGREE_LAT * math.cos(math.radians(lat))),
    )


async def login(client: AsyncTestClient, conn: asyncpg.Connection, role: str):
    """(user id, headers) of a new account of ``role``."""
    email = await make_account(conn, role)
    user_id = await conn.fetchval("SELECT id FROM users WHERE email = $1", email)
    return user_id, {"Authorization": f"Bearer {await token_for(client, email)}"}


def place_id() -> str:
    return f"b-test-{next(_place_ids)}"


async def create_building(
    client: AsyncTestClient, headers: dict[str, str], **fields: object
) -> dict:
    body = {
        "district_place_id": place_id(),
        "name": "Test Tower",
        "lat": ORIGIN[0],
        "lon": ORIGIN[1],
    }
    body.update(fields)
    response = await client.post("/buildings", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def add_spaces(
    client: AsyncTestClient, headers: dict[str, str], building_id: int, **body: object
) -> list[dict]:
    response = await client.post(f"/buildings/{building_id}/spaces", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def add_window(
    conn: asyncpg.Connection,
    building_id: int,
    start: dt.time = dt.time(19),
    end: dt.time = dt.time(8),
    valid_from: dt.date = dt.date(2026, 1, 1),
) -> None:
    """An every-day off-peak rule (needs no holiday calendar)."""
    await conn.execute(
        "INSERT INTO off_peak_rules (building_id, start_time, end_time, valid_from)"
        " VALUES ($1, $2, $3, $4)",
        building_id,
        start,
        end,
        valid_from,
    )


async def reserve(
    conn: asyncpg.Connection,
    space_id: int,
    start: dt.datetime,
    end: dt.datetime,
    *,
    status: str = "confirmed",
) -> int:
    """A reservation row on ``space_id``, through the real exclusion-constrained table."""
    night = start.astimezone(SHANGHAI).date()
    if start.astimezone(SHANGHAI).hour < 12:
        night -= dt.timedelta(days=1)
    return await conn.fetchval(
        """
        INSERT INTO reservations (plate, building_id, space_id, night, stay, status,
                                  hold_expires_at)
        SELECT $1, building_id, id, $2, tstzrange($3, $4), $5,
               CASE WHEN $5 = 'held' THEN $4 END
        FROM spaces WHERE id = $6
        RETURNING id
        """,
        f"粤B{next(_plates)}",
        night,
        start,
        end,
        status,
        space_id,
    )


async def outbox(conn: asyncpg.Connection, kind: str | None = None) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT entity_kind, entity_key, version, payload FROM outbox"
        " WHERE $1::text IS NULL OR entity_kind = $1 ORDER BY id",
        kind,
    )
