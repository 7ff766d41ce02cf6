"""Buildings: who may create, see and change them, and what each change tells the platform."""

from __future__ import annotations

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from tests.factories import at, insert_reservation, outbox_rows, tomorrow
from tests.helpers import assert_problem
from tests.places.support import ORIGIN, add_spaces, create_building, login, place_id


async def test_manager_creates_and_owns_a_building(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    manager_id, headers = await login(client, conn, "manager")
    pid = place_id()
    created = await create_building(
        client,
        headers,
        district_place_id=pid,
        name="水贝大厦 Shuibei Tower",
        address="水贝二路",
        flat_fee_fen=1200,
    )
    assert created["manager_id"] == manager_id
    assert created["district_place_id"] == pid
    assert created["status"] == "active"
    assert (created["flat_fee_fen"], created["monthly_pass_fen"]) == (1200, None)
    assert (created["spaces"], created["shared_spaces"]) == (0, 0)
    assert created["shared_features"] == {"ev": 0, "large": 0, "accessible": 0}
    row = await conn.fetchrow("SELECT manager_id, name FROM buildings WHERE id = $1", created["id"])
    assert (row["manager_id"], row["name"]) == (manager_id, "水贝大厦 Shuibei Tower")
    fetched = await client.get(f"/buildings/{created['id']}", headers=headers)
    assert fetched.status_code == 200
    assert fetched.json() == created


async def test_another_manager_sees_404_a_resident_403_and_an_admin_everything(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    _, owner = await login(client, conn, "manager")
    other_id, other = await login(client, conn, "manager")
    _, resident = await login(client, conn, "resident")
    _, admin = await login(client, conn, "admin")
    mine = await create_building(client, owner)
    theirs = await create_building(client, other)
    url = f"/buildings/{mine['id']}"

    assert_problem(await client.get(url, headers=other), 404, "not-found")
    assert_problem(
        await client.patch(url, json={"name": "Hijack"}, headers=other), 404, "not-found"
    )
    assert_problem(await client.get(f"{url}/spaces", headers=other), 404, "not-found")
    assert_problem(await client.get(url, headers=resident), 403, "forbidden")
    assert_problem(await client.get("/buildings", headers=resident), 403, "forbidden")
    assert_problem(
        await client.post(
            "/buildings",
            json={"district_place_id": place_id(), "name": "x", "lat": 1, "lon": 1},
            headers=resident,
        ),
        403,
        "forbidden",
    )
    assert (
        await conn.fetchval("SELECT name FROM buildings WHERE id = $1", mine["id"]) == "Test Tower"
    )

    own_list = (await client.get("/buildings", headers=owner)).json()
    assert [b["id"] for b in own_list] == [mine["id"]]
    # A manager asking for another manager's list learns nothing.
    assert (await client.get(f"/buildings?manager_id={other_id}", headers=owner)).json() == []
    everything = (await client.get("/buildings", headers=admin)).json()
    assert {b["id"] for b in everything} == {mine["id"], theirs["id"]}
    filtered = (await client.get(f"/buildings?manager_id={other_id}", headers=admin)).json()
    assert [b["id"] for b in filtered] == [theirs["id"]]
    patched = await client.patch(url, json={"name": "Renamed by office"}, headers=admin)
    assert patched.status_code == 200 and patched.json()["name"] == "Renamed by office"


async def test_admin_creates_a_building_for_a_manager_account_only(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    manager_id, _ = await login(client, conn, "manager")
    resident_id, _ = await login(client, conn, "resident")
    _, admin = await login(client, conn, "admin")
    body = {"district_place_id": place_id(), "name": "Office", "lat": ORIGIN[0], "lon": ORIGIN[1]}
    assert_problem(
        await client.post("/buildings", json=body, headers=admin), 422, "manager-required"
    )
    assert_problem(
        await client.post("/buildings", json={**body, "manager_id": resident_id}, headers=admin),
        422,
        "manager-invalid",
    )
    assert await conn.fetchval("SELECT count(*) FROM buildings") == 0
    created = await client.post(
        "/buildings", json={**body, "manager_id": manager_id}, headers=admin
    )
    assert created.status_code == 201 and created.json()["manager_id"] == manager_id


async def test_a_manager_cannot_create_for_someone_else(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    other_id, _ = await login(client, conn, "manager")
    _, headers = await login(client, conn, "manager")
    body = {
        "district_place_id": place_id(),
        "name": "x",
        "lat": 1,
        "lon": 1,
        "manager_id": other_id,
    }
    assert_problem(
        await client.post("/buildings", json=body, headers=headers), 403, "manager-not-allowed"
    )
    assert await conn.fetchval("SELECT count(*) FROM buildings") == 0


@pytest.mark.parametrize(
    "change",
    [
        {"district_place_id": "Bad Id"},
        {"district_place_id": "-leading-dash"},
        {"district_place_id": "a"},
        {"district_place_id": "x" * 64},
        {"lat": 91},
        {"lon": -181},
        {"name": "  "},
        {"flat_fee_fen": -1},
        {"status": "suspended"},  # set by PATCH, not at creation
        {"colour": "blue"},
    ],
)
async def test_invalid_buildings_are_refused_and_nothing_is_written(
    client: AsyncTestClient, conn: asyncpg.Connection, change: dict
) -> None:
    _, headers = await login(client, conn, "manager")
    body = {"district_place_id": place_id(), "name": "x", "lat": 22.5, "lon": 114.1, **change}
    assert_problem(
        await client.post("/buildings", json=body, headers=headers), 422, "validation-error"
    )
    assert await conn.fetchval("SELECT count(*) FROM buildings") == 0
    assert await conn.fetchval("SELECT count(*) FROM outbox") == 0


async def test_a_taken_district_place_id_is_409(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    _, headers = await login(client, conn, "manager")
    first = await create_building(client, headers)
    again = await client.post(
        "/buildings",
        json={"district_place_id": first["district_place_id"], "name": "Copy", "lat": 1, "lon": 1},
        headers=headers,
    )
    assert_problem(again, 409, "place-id-taken")
    assert await conn.fetchval("SELECT count(*) FROM buildings") == 1


async def test_patch_changes_only_what_it_names_and_keeps_the_place_id(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    _, headers = await login(client, conn, "manager")
    b = await create_building(client, headers, monthly_pass_fen=30000)
    url = f"/buildings/{b['id']}"
    response = await client.patch(url, json={"lat": 22.57, "status": "suspended"}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["flat_fee_fen"], body["lat"], body["status"]) == (1000, 22.57, "suspended")
    assert (body["name"], body["lon"], body["monthly_pass_fen"]) == ("Test Tower", b["lon"], 30000)
    row = await conn.fetchrow("SELECT status FROM buildings WHERE id = $1", b["id"])
    assert row["status"] == "suspended"
    # Fees change through plan versions (POST /buildings/{id}/plans), never in place; a
    # null name is refused.
    for bad in (
        {"name": None},
        {"district_place_id": "b-other"},
        {"status": "closed"},
        {"flat_fee_fen": 800},
        {"monthly_pass_fen": None},
    ):
        assert_problem(await client.patch(url, json=bad, headers=headers), 422, "validation-error")
    assert (
        await conn.fetchval("SELECT district_place_id FROM buildings WHERE id = $1", b["id"])
        == (b["district_place_id"])
    )
    assert_problem(
        await client.patch("/buildings/999999", json={"name": "x"}, headers=headers),
        404,
        "not-found",
    )


async def test_suspending_keeps_existing_reservations(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    _, headers = await login(client, conn, "manager")
    b = await create_building(client, headers)
    [space] = await add_spaces(client, headers, b["id"], label="A1")
    night = tomorrow()
    rid = await insert_reservation(
        conn, space_id=space["id"], start=at(night, 20), end=at(night, 7)
    )
    response = await client.patch(
        f"/buildings/{b['id']}", json={"status": "suspended"}, headers=headers
    )
    assert response.status_code == 200
    assert await conn.fetchval("SELECT status FROM reservations WHERE id = $1", rid) == "confirmed"


async def test_building_changes_write_place_messages(
    client: AsyncTestClient, conn: asyncpg.Connection, settings
) -> None:
    _, headers = await login(client, conn, "manager")
    b = await create_building(client, headers)
    places = await outbox_rows(conn, "place")
    assert len(places) == 1
    await client.patch(f"/buildings/{b['id']}", json={"name": "New name"}, headers=headers)
    places = await outbox_rows(conn, "place")
    assert len(places) == 2
    assert places[0]["entity_key"] == places[1]["entity_key"]
    assert places[1]["version"] > places[0]["version"]
    # A patch that changes nothing sends nothing.
    await client.patch(f"/buildings/{b['id']}", json={"name": "New name"}, headers=headers)
    assert len(await outbox_rows(conn, "place")) == 2
    assert places[1]["payload"]["name"] == "New name"
    assert await outbox_rows(conn, "availability") == []
    # Suspending tells the platform about the place and about every published night.
    await client.patch(f"/buildings/{b['id']}", json={"status": "suspended"}, headers=headers)
    assert (await outbox_rows(conn, "place"))[-1]["payload"]["status"] == "suspended"
    nights = settings.availability_horizon_nights + 1
    assert len(await outbox_rows(conn, "availability")) == nights
    # A refused change writes nothing either.
    count = len(await outbox_rows(conn))
    await client.patch(f"/buildings/{b['id']}", json={"lat": 100}, headers=headers)
    assert len(await outbox_rows(conn)) == count
