"""The pages count against the same rate limits as the API: sign-ins per client address,
bookings per user."""

from __future__ import annotations

import datetime as dt

import asyncpg
from litestar.testing import AsyncTestClient

from parking.app import create_app
from parking.settings import Settings
from tests.conftest import make_settings
from tests.factories import make_building, make_resident, post_booking, tomorrow
from tests.helpers import PASSWORD, make_account
from tests.web.conftest import WebForm


async def test_sign_ins_through_the_page_and_the_api_share_one_limit(
    conn: asyncpg.Connection, settings: Settings
) -> None:
    email = await make_account(conn, "resident")
    limited = make_settings(settings.database_url, rate_limit_auth=3, rate_limit_window_s=600)
    async with AsyncTestClient(app=create_app(limited)) as client:
        web = WebForm(client)
        api = await client.post("/auth/token", json={"email": email, "password": PASSWORD})
        assert api.status_code == 200
        for _ in range(2):
            page = await web.post(
                "/app/login", "/app/login", {"email": email, "password": "wrong-pw"}
            )
            assert page.status_code == 401
        refused = await web.post("/app/login", "/app/login", {"email": email, "password": PASSWORD})
        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith("text/html")
        assert "操作过于频繁" in refused.text and int(refused.headers["retry-after"]) > 0
        assert "parking_session=" not in refused.headers.get("set-cookie", "")


async def test_bookings_through_the_page_and_the_api_share_one_limit(
    conn: asyncpg.Connection, settings: Settings
) -> None:
    building = await make_building(conn, spaces=5)
    resident = await make_resident(conn, settings, vehicles=3)
    night = tomorrow()
    limited = make_settings(settings.database_url, rate_limit_booking=2, rate_limit_window_s=600)

    def form(vehicle: int) -> dict[str, str]:
        return {
            "building_id": str(building.id),
            "night": night.isoformat(),
            "vehicle_id": str(resident.vehicle_ids[vehicle]),
            "arrive": f"{night.isoformat()}T21:00",
            "depart": f"{(night + dt.timedelta(days=1)).isoformat()}T06:00",
        }

    async with AsyncTestClient(app=create_app(limited)) as client:
        web = WebForm(client)
        signed_in = await web.post(
            "/app/login", "/app/login", {"email": resident.email, "password": PASSWORD}
        )
        assert signed_in.status_code == 303
        api = await post_booking(client, building, resident, night)
        assert api.status_code == 201, api.text
        page = await web.post(f"/app/search?night={night}", "/app/reservations", form(1))
        assert page.status_code == 303, page.text
        refused = await web.post(f"/app/search?night={night}", "/app/reservations", form(2))
        assert refused.status_code == 429
        assert "操作过于频繁" in refused.text and int(refused.headers["retry-after"]) > 0
    assert (
        await conn.fetchval("SELECT count(*) FROM reservations WHERE user_id = $1", resident.id)
        == 2
    )
