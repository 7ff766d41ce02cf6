"""Fixtures for the booking tests: a building, a verified resident and tomorrow's night.

The data comes from ``tests.factories``, written in SQL so that it takes milliseconds.
"""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from parking.settings import Settings
from tests.factories import (
    Building,
    Resident,
    make_building,
    make_resident,
    post_booking,
    tomorrow,
)


@pytest.fixture
async def place(conn: asyncpg.Connection) -> Building:
    return await make_building(conn, spaces=3)


@pytest.fixture
async def resident(conn: asyncpg.Connection, settings: Settings) -> Resident:
    return await make_resident(conn, settings)


@pytest.fixture
def night() -> dt.date:
    return tomorrow()


@pytest.fixture
async def full_building(
    client: AsyncTestClient, conn: asyncpg.Connection, settings: Settings, night: dt.date
) -> tuple[Building, int]:
    """A one-space building whose space another resident booked for ``night`` through the
    API: (the building, that reservation's id)."""
    small = await make_building(conn, spaces=1)
    first = await make_resident(conn, settings)
    response = await post_booking(client, small, first, night)
    assert response.status_code == 201, response.text
    return small, response.json()["id"]
