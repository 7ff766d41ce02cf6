"""What the advisor and the reports count as used: gate sessions of reservations, by night."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import asyncpg

from parking.prices import plans_of
from pricing.usage import usage_summary
from tests.factories import insert_reservation, local, make_building, make_resident

TZ = ZoneInfo("Asia/Shanghai")


async def test_only_nights_with_sessions_count_as_occupied(conn: asyncpg.Connection) -> None:
    # One shared space, 19:00-07:00 (720 minutes a night), three nights; a car stays from
    # 21:00 to 23:00 on the second night only.
    building = await make_building(conn, spaces=1)
    resident = await make_resident(conn)
    first = dt.date(2026, 3, 2)
    second = first + dt.timedelta(days=1)
    reservation = await insert_reservation(
        conn,
        space_id=building.space_ids[0],
        start=local(second, 20),
        end=local(second + dt.timedelta(days=1), 7),
        resident=resident,
        status="completed",
    )
    await conn.execute(
        "INSERT INTO gate_sessions (building_id, plate, entered_at, exited_at, reservation_id)"
        " VALUES ($1, $2, $3, $4, $5)",
        building.id,
        resident.plate,
        local(second, 21),
        local(second, 23),
        reservation,
    )
    summary = await usage_summary(
        conn,
        building.id,
        first,
        first + dt.timedelta(days=2),
        await plans_of(conn, building.id),
        TZ,
    )
    assert summary is not None
    by_night = {n.night: n for n in summary.nights}
    assert [by_night[first + dt.timedelta(days=i)].occupied_space_minutes for i in range(3)] == [
        0,
        120,
        0,
    ]
    assert {n.shared_space_minutes for n in summary.nights} == {720}
