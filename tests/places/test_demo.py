"""The demo's buildings share every night 19:00-08:00 at 10 CNY now, and search finds them."""

from __future__ import annotations

import datetime as dt

import asyncpg
from litestar.testing import AsyncTestClient

from parking.demo import seed_demo
from tests.factories import tomorrow
from tests.places.support import login


async def test_demo_buildings_have_one_nightly_window_and_the_shuibei_fee(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    await seed_demo(conn)
    await seed_demo(conn)
    rules = await conn.fetch(
        "SELECT b.district_place_id, p.per_use_fee_fen AS flat_fee_fen, r.day_class,"
        " r.start_time, r.end_time, r.valid_from, r.valid_until"
        " FROM buildings b JOIN off_peak_rules r ON r.building_id = b.id"
        " JOIN LATERAL (SELECT per_use_fee_fen FROM price_plans WHERE building_id = b.id"
        "               ORDER BY version DESC LIMIT 1) p ON true"
        " ORDER BY b.id"
    )
    assert [r["district_place_id"] for r in rules] == [
        "b-wanshan-p2",
        "b-jewelry-hq",
        "b-tianbei-ctr",
    ]
    for r in rules:
        assert (r["flat_fee_fen"], r["day_class"], r["start_time"], r["end_time"]) == (
            1000,
            "every_day",
            dt.time(19),
            dt.time(8),
        )
        assert (r["valid_from"], r["valid_until"]) == (dt.date(2026, 1, 1), None)

    _, headers = await login(client, conn, "resident")
    response = await client.get(
        "/places",
        params={"night": tomorrow().isoformat(), "lat": 22.5655, "lon": 114.1287, "ev": "true"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert {i["district_place_id"]: i["free"] for i in items} == {
        "b-wanshan-p2": 12,
        "b-jewelry-hq": 4,
    }
    assert {i["price_fen"] for i in items} == {1000}
