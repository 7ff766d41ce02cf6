"""A verified resident's vehicles: normalised plates, the limit, duplicates, removal."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from parking.app import create_app
from parking.db import connect
from parking.errors import Problem
from parking.residents import service
from parking.settings import Settings
from tests.conftest import make_settings
from tests.factories import (
    add_building,
    insert_pass,
    insert_reservation,
    local_today,
    make_building,
    make_resident,
)
from tests.helpers import assert_problem, login_headers


async def _resident(
    client: AsyncTestClient, conn: asyncpg.Connection, plates: tuple[str, ...] = ()
) -> tuple[dict[str, str], int]:
    resident = await make_resident(conn, plates=plates)
    return await login_headers(client, resident.email), resident.id


async def test_add_normalises_and_derives_new_energy(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    headers, user_id = await _resident(client, conn)
    regular = await client.post("/vehicles", json={"plate": " 粤ｂ·12345 "}, headers=headers)
    assert regular.status_code == 201, regular.text
    assert (regular.json()["plate"], regular.json()["new_energy"]) == ("粤B12345", False)
    # The flag comes from the plate; a client's claim is not even accepted.
    electric = await client.post("/vehicles", json={"plate": "粤b-d12345"}, headers=headers)
    assert (electric.json()["plate"], electric.json()["new_energy"]) == ("粤BD12345", True)
    claimed = await client.post(
        "/vehicles", json={"plate": "粤B54321", "new_energy": True}, headers=headers
    )
    assert_problem(claimed, 422, "validation-error")

    stored = await conn.fetch(
        "SELECT plate, new_energy FROM vehicles WHERE user_id = $1 ORDER BY id", user_id
    )
    assert [tuple(r) for r in stored] == [("粤B12345", False), ("粤BD12345", True)]
    listed = await client.get("/vehicles", headers=headers)
    assert [v["plate"] for v in listed.json()] == ["粤B12345", "粤BD12345"]


async def test_an_invalid_plate_says_why(client: AsyncTestClient, conn: asyncpg.Connection) -> None:
    headers, _ = await _resident(client, conn)
    response = await client.post("/vehicles", json={"plate": "粤B1234O"}, headers=headers)
    problem = assert_problem(response, 422, "validation-error")
    assert "I and O" in problem["errors"][0]["message"]
    assert await conn.fetchval("SELECT count(*) FROM vehicles") == 0


async def test_a_plate_is_registered_once_anywhere(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    owner, _ = await _resident(client, conn, plates=("粤B12345",))
    other, other_id = await _resident(client, conn)
    response = await client.post("/vehicles", json={"plate": "粤B·12345"}, headers=other)
    assert_problem(response, 409, "plate-taken")
    again = await client.post("/vehicles", json={"plate": "粤b12345"}, headers=owner)
    assert_problem(again, 409, "plate-taken")
    assert await conn.fetchval("SELECT count(*) FROM vehicles") == 1
    assert await conn.fetchval("SELECT count(*) FROM vehicles WHERE user_id = $1", other_id) == 0


async def test_the_limit_per_resident(
    client: AsyncTestClient, conn: asyncpg.Connection, settings: Settings
) -> None:
    assert settings.max_vehicles_per_resident == 3
    headers, user_id = await _resident(client, conn, plates=("粤B11111", "粤B22222"))
    third = await client.post("/vehicles", json={"plate": "粤B33333"}, headers=headers)
    assert third.status_code == 201
    fourth = await client.post("/vehicles", json={"plate": "粤B44444"}, headers=headers)
    problem = assert_problem(fourth, 409, "vehicle-limit")
    assert problem["limit"] == 3
    assert await conn.fetchval("SELECT count(*) FROM vehicles WHERE user_id = $1", user_id) == 3


async def test_the_limit_is_a_setting(db_dsn: str, conn: asyncpg.Connection) -> None:
    app = create_app(make_settings(db_dsn, max_vehicles_per_resident=1))
    async with AsyncTestClient(app=app) as client:
        headers, user_id = await _resident(client, conn, plates=("粤B11111",))
        response = await client.post("/vehicles", json={"plate": "粤B22222"}, headers=headers)
        assert_problem(response, 409, "vehicle-limit")
    assert await conn.fetchval("SELECT count(*) FROM vehicles WHERE user_id = $1", user_id) == 1


async def test_concurrent_adds_cannot_pass_the_limit_together(
    db_dsn: str, conn: asyncpg.Connection
) -> None:
    user_id = (await make_resident(conn, plates=("粤B11111", "粤B22222"))).id
    plates = ["粤B3333A", "粤B3333B", "粤B3333C", "粤B3333D", "粤B3333E"]
    connections = [await connect(db_dsn) for _ in plates]

    async def add(c: asyncpg.Connection, plate: str) -> str:
        try:
            async with c.transaction():
                await service.add_vehicle(c, user_id, plate, max_vehicles=3)
            return "added"
        except Problem as problem:
            return problem.type_ or ""

    try:
        adds = (add(c, p) for c, p in zip(connections, plates, strict=True))
        outcomes = await asyncio.gather(*adds)
    finally:
        for c in connections:
            await c.close()
    assert sorted(outcomes) == ["added"] + ["vehicle-limit"] * 4
    assert await conn.fetchval("SELECT count(*) FROM vehicles WHERE user_id = $1", user_id) == 3


async def test_delete_own_vehicle(client: AsyncTestClient, conn: asyncpg.Connection) -> None:
    headers, user_id = await _resident(client, conn, plates=("粤B12345",))
    vehicle_id = await conn.fetchval("SELECT id FROM vehicles WHERE user_id = $1", user_id)
    response = await client.delete(f"/vehicles/{vehicle_id}", headers=headers)
    assert response.status_code == 204, response.text
    assert await conn.fetchval("SELECT count(*) FROM vehicles") == 0
    assert_problem(
        await client.delete(f"/vehicles/{vehicle_id}", headers=headers), 404, "not-found"
    )


async def test_another_residents_vehicle_is_not_found(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    _, owner_id = await _resident(client, conn, plates=("粤B12345",))
    intruder, intruder_id = await _resident(client, conn)
    vehicle_id = await conn.fetchval("SELECT id FROM vehicles WHERE user_id = $1", owner_id)
    response = await client.delete(f"/vehicles/{vehicle_id}", headers=intruder)
    problem = assert_problem(response, 404, "not-found")
    assert "粤B" not in problem["detail"]
    assert await conn.fetchval("SELECT count(*) FROM vehicles WHERE id = $1", vehicle_id) == 1
    # The same for other packages asking.
    assert (await service.vehicle_of(conn, owner_id, vehicle_id)).plate == "粤B12345"
    with pytest.raises(Exception, match="no vehicle") as caught:
        await service.vehicle_of(conn, intruder_id, vehicle_id)
    assert caught.value.status_code == 404


async def _reserve(
    conn: asyncpg.Connection, user_id: int, vehicle_id: int, start: datetime, status: str
) -> None:
    space_id = (await make_building(conn, spaces=1)).space_ids[0]
    plate = await conn.fetchval("SELECT plate FROM vehicles WHERE id = $1", vehicle_id)
    await insert_reservation(
        conn,
        space_id=space_id,
        user_id=user_id,
        vehicle_id=vehicle_id,
        plate=plate,
        night=start.date(),
        start=start,
        end=start + timedelta(hours=11),
        status=status,
    )


@pytest.mark.parametrize(
    ("starts_in", "status"),
    [
        (timedelta(days=2), "confirmed"),  # a future booking
        (timedelta(hours=-1), "confirmed"),  # tonight's, under way
        (timedelta(days=1), "held"),
        (timedelta(days=-3), "checked_in"),  # still inside, past its end
    ],
    ids=["future-confirmed", "current-confirmed", "held", "checked-in-overstaying"],
)
async def test_a_vehicle_in_use_cannot_be_removed(
    client: AsyncTestClient, conn: asyncpg.Connection, starts_in: timedelta, status: str
) -> None:
    headers, user_id = await _resident(client, conn, plates=("粤B12345",))
    vehicle_id = await conn.fetchval("SELECT id FROM vehicles WHERE user_id = $1", user_id)
    await _reserve(conn, user_id, vehicle_id, datetime.now(UTC) + starts_in, status)
    response = await client.delete(f"/vehicles/{vehicle_id}", headers=headers)
    assert_problem(response, 409, "vehicle-in-use")
    assert await conn.fetchval("SELECT count(*) FROM vehicles WHERE id = $1", vehicle_id) == 1


async def test_past_and_cancelled_reservations_do_not_hold_a_vehicle(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    headers, user_id = await _resident(client, conn, plates=("粤B12345",))
    vehicle_id = await conn.fetchval("SELECT id FROM vehicles WHERE user_id = $1", user_id)
    now = datetime.now(UTC)
    await _reserve(conn, user_id, vehicle_id, now - timedelta(days=3), "completed")
    await _reserve(conn, user_id, vehicle_id, now - timedelta(days=2), "confirmed")  # ended
    await _reserve(conn, user_id, vehicle_id, now + timedelta(days=2), "cancelled")
    response = await client.delete(f"/vehicles/{vehicle_id}", headers=headers)
    assert response.status_code == 204, response.text
    assert await conn.fetchval("SELECT count(*) FROM vehicles") == 0
    # The history keeps the plate; only the link to the vehicle goes.
    assert await conn.fetchval("SELECT count(*) FROM reservations WHERE plate = '粤B12345'") == 3


async def test_an_unverified_resident_may_still_remove_their_vehicle(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    headers, user_id = await _resident(client, conn, plates=("粤B12345",))
    await conn.execute("DELETE FROM residencies WHERE user_id = $1", user_id)
    vehicle_id = await conn.fetchval("SELECT id FROM vehicles WHERE user_id = $1", user_id)
    response = await client.delete(f"/vehicles/{vehicle_id}", headers=headers)
    assert response.status_code == 204, response.text
    assert await conn.fetchval("SELECT count(*) FROM vehicles") == 0


async def test_a_vehicle_with_a_pass_for_this_month_cannot_be_removed(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    headers, user_id = await _resident(client, conn, plates=("粤B12345", "粤B54321"))
    held, free = [
        r["id"]
        for r in await conn.fetch("SELECT id FROM vehicles WHERE user_id = $1 ORDER BY id", user_id)
    ]
    building_id = await add_building(conn)
    this_month = local_today().replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    for vehicle_id, plate, month in [
        (held, "粤B12345", this_month),
        (free, "粤B54321", last_month),
    ]:
        await insert_pass(
            conn,
            building_id=building_id,
            user_id=user_id,
            vehicle_id=vehicle_id,
            plate=plate,
            month=month,
        )
    assert_problem(await client.delete(f"/vehicles/{held}", headers=headers), 409, "vehicle-in-use")
    assert (await client.delete(f"/vehicles/{free}", headers=headers)).status_code == 204
    remaining = await conn.fetch("SELECT id FROM vehicles WHERE user_id = $1", user_id)
    assert [r["id"] for r in remaining] == [held]
