"""Arranging places through the API for the tests: buildings, spaces, logins and positions.

Data written straight in SQL (windows, reservations, outbox rows) comes from tests.factories.
"""

from __future__ import annotations

import itertools
import math

import asyncpg
from litestar.testing import AsyncTestClient

from tests.factories import user_id_of
from tests.helpers import login_headers, make_account

# Near the Shuibei compounds; distances in the tests are offsets from here.
ORIGIN = (22.5655, 114.1287)
METRES_PER_DEGREE_LAT = 111_195.0
_place_ids = itertools.count(1)


def offset(north_m: float, east_m: float, origin: tuple[float, float] = ORIGIN):
    lat, lon = origin
    return (
        lat + north_m / METRES_PER_DEGREE_LAT,
        lon + east_m / (METRES_PER_DEGREE_LAT * math.cos(math.radians(lat))),
    )


async def login(client: AsyncTestClient, conn: asyncpg.Connection, role: str):
    """(user id, headers) of a new account of ``role``."""
    email = await make_account(conn, role)
    user_id = await user_id_of(conn, email)
    return user_id, await login_headers(client, email)


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
