"""With PARKING_HOLD_MINUTES set, a booking from the pages is held and confirmed there."""

from __future__ import annotations

import datetime as dt
import re

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from parking.settings import Settings
from tests.conftest import make_settings
from tests.factories import at, insert_reservation, make_building, make_resident, tomorrow
from tests.helpers import PASSWORD
from tests.web.conftest import WebForm


@pytest.fixture
def settings(db_dsn: str) -> Settings:
    return make_settings(db_dsn, hold_minutes=10)


async def test_a_held_booking_is_confirmed_from_the_reservations_page(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    resident = await make_resident(conn)
    other = await make_resident(conn)
    building = await make_building(conn)
    signed_in = await web.post(
        "/app/login", "/app/login", {"email": resident.email, "password": PASSWORD}
    )
    assert signed_in.status_code == 303
    booked = await web.post(
        "/app/search",
        "/app/reservations",
        {
            "building_id": str(building.id),
            "night": tomorrow().isoformat(),
            "vehicle_id": str(resident.vehicle_id),
        },
    )
    assert booked.status_code == 303, booked.text
    reservation_id = await conn.fetchval(
        "SELECT id FROM reservations WHERE user_id = $1 AND status = 'held'", resident.id
    )
    assert reservation_id is not None
    page = await client.get("/app/reservations")
    assert f'action="/app/reservations/{reservation_id}/confirm"' in page.text
    assert "请在此之前确认" in page.text

    confirmed = await web.post(
        "/app/reservations", f"/app/reservations/{reservation_id}/confirm", {}
    )
    assert confirmed.status_code == 303
    assert confirmed.headers["location"] == "/app/reservations?done=confirmed"
    status = await conn.fetchval("SELECT status FROM reservations WHERE id = $1", reservation_id)
    assert status == "confirmed"
    assert "预约已确认" in (await client.get(confirmed.headers["location"])).text

    # Another's held booking is not there to confirm.
    await web.post("/app/login", "/app/logout", {})
    await web.post("/app/login", "/app/login", {"email": other.email, "password": PASSWORD})
    refused = await web.post("/app/reservations", f"/app/reservations/{reservation_id}/confirm", {})
    assert refused.status_code == 404


async def test_a_hold_that_ran_out_is_said_so_and_offers_no_confirm(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    resident = await make_resident(conn)
    building = await make_building(conn)
    # Ran out a minute ago; the sweep that marks it expired has not run yet.
    lapsed = await insert_reservation(
        conn,
        space_id=building.space_ids[0],
        start=at(tomorrow(), 19),
        end=at(tomorrow(), 7),
        resident=resident,
        status="held",
        hold_expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1),
    )
    signed_in = await web.post(
        "/app/login", "/app/login", {"email": resident.email, "password": PASSWORD}
    )
    assert signed_in.status_code == 303
    page = await client.get("/app/reservations")
    item = re.search(
        rf'<li class="reservation" data-reservation="{lapsed}".*?</li>', page.text, re.S
    )
    assert item, page.text
    assert "保留时间已过" in item.group(0)
    assert f'action="/app/reservations/{lapsed}/confirm"' not in item.group(0)
    refused = await web.post("/app/reservations", f"/app/reservations/{lapsed}/confirm", {})
    assert refused.status_code == 409 and 'data-problem="hold-expired"' in refused.text
