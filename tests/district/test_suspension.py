"""place.suspended: overlapping reservations cancelled without fee and reported, the place
suspended while the period lasts and active after it, availability re-sent."""

from __future__ import annotations

import datetime as dt

import asyncpg
from litestar.testing import AsyncTestClient

from integrations.district.simulator import PlatformSimulator
from integrations.district.suspensions import apply_suspensions
from parking import sync
from parking.settings import Settings
from tests.district.conftest import booking, drain, post_signed
from tests.factories import (
    TZ,
    at,
    insert_reservation,
    make_building,
    make_manager,
    night_in,
    random_plate,
    tomorrow,
)
from tests.helpers import assert_problem

BOOK = "/integrations/district/reservations"
EVENTS = "/integrations/district/events"


async def _place(conn: asyncpg.Connection, building_id: int) -> str:
    return await conn.fetchval("SELECT district_place_id FROM buildings WHERE id = $1", building_id)


async def test_a_suspension_cancels_and_reports_then_the_place_reopens(
    conn: asyncpg.Connection,
    pool: asyncpg.Pool,
    district_settings: Settings,
    sim: PlatformSimulator,
    served: str,
) -> None:
    building = await make_building(conn, spaces=4)
    place_id = await _place(conn, building.id)
    night = tomorrow()
    # Booked on the platform, by the simulator over HTTP, inside the period.
    made = sim.book(booking(place_id, random_plate(), at(night, 20), at(night, 23), "dp-s1"))
    assert made["status"] == 201, made
    taken = await conn.fetchval("SELECT space_id FROM reservations")
    free = [s for s in building.space_ids if s != taken]
    local = await insert_reservation(
        conn, space_id=free[0], start=at(night, 21), end=at(night, 6), fee_fen=1000
    )
    await sync.emit_reservation(conn, local, TZ)  # as the booking that made it did
    inside = await insert_reservation(
        conn,
        space_id=free[1],
        start=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10),
        end=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
        status="checked_in",
    )
    later = await insert_reservation(
        conn, space_id=free[2], start=at(night_in(3), 20), end=at(night_in(3), 23)
    )
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    end = at(night, 23, 30)
    event = {
        "type": "place.suspended",
        "occurred_at": start.isoformat(),
        "data": {"place_id": place_id, "from": start.isoformat(), "to": end.isoformat(),
                 "reason": "fire inspection"},
    }  # fmt: skip
    answer = sim.event(event)
    assert answer["status"] == 204, answer
    statuses = {
        r["id"]: (r["status"], r["fee_fen"])
        for r in await conn.fetch("SELECT id, status, fee_fen FROM reservations")
    }
    platform_row = made["body"]["reservation_id"].removeprefix("r-")
    assert statuses[int(platform_row)] == ("cancelled", 0)
    assert statuses[local] == ("cancelled", 0)
    assert statuses[inside][0] == "checked_in"
    assert statuses[later][0] == "confirmed"
    assert await conn.fetchval("SELECT status FROM buildings WHERE id = $1", building.id) == (
        "suspended"
    )
    # No new booking meanwhile, on either channel.
    refused = sim.book(booking(place_id, random_plate(), at(night, 20), at(night, 22)))
    assert refused["status"] == 409 and refused["body"]["type"] == "place-suspended"

    # Reported back: the platform learns of the cancellations, the status and availability.
    await drain(pool, district_settings)
    held = sim.state()
    assert held["reservations"][made["body"]["reservation_id"]]["status"] == "cancelled"
    assert held["reservations"][made["body"]["reservation_id"]]["fee_fen"] == 0
    assert held["reservations"][f"r-{local}"]["status"] == "cancelled"
    assert held["places"][place_id]["status"] == "suspended"
    assert held["availability"][f"{place_id}/{night}"]["free"] == 0

    # After the period the place is active again, and the platform is told.
    assert await apply_suspensions(pool, district_settings, now=end + dt.timedelta(minutes=1)) == 1
    assert await conn.fetchval("SELECT status FROM buildings WHERE id = $1", building.id) == (
        "active"
    )
    await drain(pool, district_settings)
    assert sim.state()["places"][place_id]["status"] == "active"
    assert await apply_suspensions(pool, district_settings, now=end + dt.timedelta(hours=1)) == 0


async def test_a_future_suspension_refuses_bookings_in_it_and_applies_at_its_start(
    conn: asyncpg.Connection,
    pool: asyncpg.Pool,
    district_settings: Settings,
    district_client: AsyncTestClient,
) -> None:
    building = await make_building(conn, spaces=2)
    place_id = await _place(conn, building.id)
    night = night_in(2)
    start, end = at(night, 19), at(night, 8)
    event = {
        "type": "place.suspended",
        "data": {"place_id": place_id, "from": start.isoformat(), "to": end.isoformat()},
    }
    assert (await post_signed(district_client, EVENTS, event)).status_code == 204
    assert await conn.fetchval("SELECT status FROM buildings WHERE id = $1", building.id) == (
        "active"
    )
    inside = booking(place_id, random_plate(), at(night, 20), at(night, 23))
    assert_problem(await post_signed(district_client, BOOK, inside), 409, "place-suspended")
    before = booking(place_id, random_plate(), at(tomorrow(), 20), at(tomorrow(), 23))
    assert (await post_signed(district_client, BOOK, before)).status_code == 201

    assert await apply_suspensions(pool, district_settings, now=start) == 1
    assert await conn.fetchval("SELECT status FROM buildings WHERE id = $1", building.id) == (
        "suspended"
    )
    assert await apply_suspensions(pool, district_settings, now=start) == 0  # once
    assert await apply_suspensions(pool, district_settings, now=end) == 1
    assert await conn.fetchval("SELECT status FROM buildings WHERE id = $1", building.id) == (
        "active"
    )


async def test_a_place_its_manager_suspended_stays_suspended_after_the_period(
    conn: asyncpg.Connection, pool: asyncpg.Pool, district_settings: Settings,
    district_client: AsyncTestClient,
) -> None:  # fmt: skip
    manager = await make_manager(conn)
    building = await make_building(conn, status="suspended", manager_id=manager.id)
    place_id = await _place(conn, building.id)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    end = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    event = {
        "type": "place.suspended",
        "data": {"place_id": place_id, "from": start.isoformat(), "to": end.isoformat()},
    }
    assert (await post_signed(district_client, EVENTS, event)).status_code == 204
    assert await apply_suspensions(pool, district_settings, now=end) == 1
    assert await conn.fetchval("SELECT status FROM buildings WHERE id = $1", building.id) == (
        "suspended"
    )


async def test_a_resident_cannot_book_a_period_the_district_has_suspended(
    conn: asyncpg.Connection, district_settings: Settings, district_client: AsyncTestClient
) -> None:
    """Refused as a platform booking is (409 place-suspended, nothing written), instead
    of confirmed now and cancelled when the period begins."""
    from tests.factories import make_resident, post_booking

    building = await make_building(conn, spaces=2)
    place_id = await _place(conn, building.id)
    resident = await make_resident(conn, district_settings)
    night = night_in(2)
    event = {
        "type": "place.suspended",
        "data": {"place_id": place_id, "from": at(night, 19).isoformat(),
                 "to": at(night, 8).isoformat()},
    }  # fmt: skip
    assert (await post_signed(district_client, EVENTS, event)).status_code == 204
    outbox_before = await conn.fetchval("SELECT count(*) FROM outbox")
    inside = await post_booking(
        district_client, building, resident, night, arrive=at(night, 20), depart=at(night, 23)
    )
    assert_problem(inside, 409, "place-suspended")
    assert await conn.fetchval("SELECT count(*) FROM reservations") == 0
    assert await conn.fetchval("SELECT count(*) FROM outbox") == outbox_before
    before = await post_booking(
        district_client, building, resident, tomorrow(), arrive=at(tomorrow(), 20),
        depart=at(tomorrow(), 23),
    )  # fmt: skip
    assert before.status_code == 201, before.text
