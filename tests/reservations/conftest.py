"""Fixtures for the booking tests: a building, a verified resident and tomorrow's night.

The data comes from ``tests.factories``, written in SQL so that it takes milliseconds.
"""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest

from parking.settings import Settings
from tests.factories import Building, Resident, make_building, make_resident, tomorrow


@pytest.fixture
async def place(conn: asyncpg.Connection) -> Building:
    return await make_building(conn, spaces=3)


@pytest.fixture
async def resident(conn: asyncpg.Connection, settings: Settings) -> Resident:
    return await make_resident(conn, settings)


@pytest.fixture
def night() -> dt.date:
    return tomorrow()
