"""Spaces: single and batch creation, limits, changes, and the conflicts with reservations."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from tests.factories import at, insert_reservation, outbox_rows, tomorrow
from tests.helpers import assert_problem
from tests.places.support import add_spaces, create_building, login

PAST = dt.date(2026, 1, 5)


@pytest.fixture
async def setup(client: AsyncTestClient, conn: asyncpg.Connection):
    """(headers of the manager, building id)."""
    _, headers = await login(client, conn, "manager")
    building = await create_building(client, headers)
    return headers, building["id"]


async def _space_count(conn: asyncpg.Connection, building_id: int) -> int:
    return await conn.fetchval("SELECT count(*) FROM spaces WHERE building_id = $1", building_id)


async def test_one_space_a_list_and_a_numbered_run(client, conn, setup) -> None:
    headers, bid = setup
    [one] = await add_spaces(
        client, headers, bid, label="VIP-1", level="B2", features=["large", "ev", "ev"]
    )
    assert (one["label"], one["level"], one["features"], one["shared"]) == (
        "VIP-1",
        "B2",
        ["ev", "large"],
        True,
    )
    listed = await add_spaces(client, headers, bid, labels=["X1", "X2"], shared=False)
    assert [s["label"] for s in listed] == ["X1", "X2"] and not listed[0]["shared"]
    run = await add_spaces(
        client, headers, bid, count=12, prefix="B1-", start=9, digits=3, features=["accessible"]
    )
    assert [s["label"] for s in run][:3] == ["B1-009", "B1-010", "B1-011"]
    assert run[-1]["label"] == "B1-020"
    assert await _space_count(conn, bid) == 15
    building = (await client.get(f"/buildings/{bid}", headers=headers)).json()
    assert (building["spaces"], building["shared_spaces"]) == (15, 13)
    assert building["shared_features"] == {"ev": 1, "large": 1, "accessible": 12}
    spaces = (await client.get(f"/buildings/{bid}/spaces", headers=headers)).json()
    assert len(spaces) == 15 and spaces[0]["label"] == "B1-009"


async def test_a_thousand_in_one_request_and_no_more(client, conn, setup) -> None:
    headers, bid = setup
    created = await add_spaces(client, headers, bid, count=1000, prefix="P")
    assert len(created) == 1000
    for body in (
        {"count": 1001},
        {"labels": [f"L{n}" for n in range(1001)]},
    ):
        response = await client.post(f"/buildings/{bid}/spaces", json=body, headers=headers)
        assert_problem(response, 422, "validation-error")
    assert await _space_count(conn, bid) == 1000


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"label": "A", "labels": ["B"]},
        {"label": "A", "count": 2},
        {"labels": []},
        {"labels": ["A", "A"]},
        {"count": 0},
        {"label": ""},
        {"label": "A", "features": ["sauna"]},
        {"label": "A", "prefix": "B1-"},
        {"label": "x" * 33},
        {"count": 2, "prefix": "B", "colour": "red"},
    ],
)
async def test_invalid_space_requests_change_nothing(client, conn, setup, body) -> None:
    headers, bid = setup
    response = await client.post(f"/buildings/{bid}/spaces", json=body, headers=headers)
    assert_problem(response, 422, "validation-error")
    assert await _space_count(conn, bid) == 0


async def test_a_taken_label_refuses_the_whole_batch(client, conn, setup) -> None:
    headers, bid = setup
    await add_spaces(client, headers, bid, label="B1-003")
    response = await client.post(
        f"/buildings/{bid}/spaces",
        json={"count": 5, "prefix": "B1-", "digits": 3},
        headers=headers,
    )
    assert_problem(response, 409, "space-label-taken")
    assert await _space_count(conn, bid) == 1


async def test_another_managers_building_and_space(client, conn, setup) -> None:
    headers, bid = setup
    [space] = await add_spaces(client, headers, bid, label="A1")
    _, other = await login(client, conn, "manager")
    other_building = await create_building(client, other)
    assert_problem(
        await client.post(f"/buildings/{bid}/spaces", json={"label": "Z"}, headers=other),
        404,
        "not-found",
    )
    url = f"/buildings/{bid}/spaces/{space['id']}"
    assert_problem(await client.patch(url, json={"shared": False}, headers=other), 404, "not-found")
    assert_problem(await client.delete(url, headers=other), 404, "not-found")
    # The space exists, but not in the building the URL names.
    wrong = f"/buildings/{other_building['id']}/spaces/{space['id']}"
    assert_problem(await client.delete(wrong, headers=other), 404, "not-found")
    _, resident = await login(client, conn, "resident")
    assert_problem(await client.get(f"/buildings/{bid}/spaces", headers=resident), 403, "forbidden")
    assert await conn.fetchval("SELECT shared FROM spaces WHERE id = $1", space["id"]) is True


async def test_patch_a_space(client, conn, setup) -> None:
    headers, bid = setup
    [space] = await add_spaces(client, headers, bid, label="A1")
    url = f"/buildings/{bid}/spaces/{space['id']}"
    response = await client.patch(
        url, json={"label": "A-01", "level": "B1", "features": ["ev"]}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json() == {**space, "label": "A-01", "level": "B1", "features": ["ev"]}
    row = await conn.fetchrow("SELECT label, features FROM spaces WHERE id = $1", space["id"])
    assert (row["label"], row["features"]) == ("A-01", ["ev"])
    for bad in ({"label": None}, {"shared": None}, {"features": ["jet"]}):
        assert_problem(await client.patch(url, json=bad, headers=headers), 422, "validation-error")


async def test_unsharing_or_deleting_a_held_space_is_409_with_the_reservations(
    client, conn, setup
) -> None:
    headers, bid = setup
    [space, spare] = await add_spaces(client, headers, bid, labels=["A1", "A2"], features=["ev"])
    night = tomorrow()
    held = await insert_reservation(
        conn, space_id=space["id"], start=at(night, 20), end=at(night, 23), status="held"
    )
    confirmed = await insert_reservation(
        conn, space_id=space["id"], start=at(night, 23), end=at(night, 7)
    )
    # Over or cancelled: they no longer hold it.
    await insert_reservation(conn, space_id=space["id"], start=at(PAST, 19), end=at(PAST, 20))
    await insert_reservation(
        conn, space_id=space["id"], start=at(night, 19), end=at(night, 20), status="cancelled"
    )
    url = f"/buildings/{bid}/spaces/{space['id']}"

    body = assert_problem(
        await client.patch(url, json={"shared": False}, headers=headers), 409, "space-in-use"
    )
    assert body["reservation_ids"] == [held, confirmed]
    body = assert_problem(await client.delete(url, headers=headers), 409, "space-in-use")
    assert body["reservation_ids"] == [held, confirmed]
    assert await conn.fetchval("SELECT shared FROM spaces WHERE id = $1", space["id"]) is True

    # Taking away the feature it was booked for is allowed; so is renaming it.
    response = await client.patch(url, json={"features": [], "label": "A1-new"}, headers=headers)
    assert response.status_code == 200 and response.json()["features"] == []
    # A space with no reservations is unshared freely.
    spare_url = f"/buildings/{bid}/spaces/{spare['id']}"
    assert (
        await client.patch(spare_url, json={"shared": False}, headers=headers)
    ).status_code == 200


async def test_a_space_with_history_is_never_deleted(client, conn, setup) -> None:
    headers, bid = setup
    [used, unused] = await add_spaces(client, headers, bid, labels=["A1", "A2"])
    await insert_reservation(
        conn, space_id=used["id"], start=at(PAST, 19), end=at(PAST, 22), status="completed"
    )
    used_url = f"/buildings/{bid}/spaces/{used['id']}"
    assert_problem(await client.delete(used_url, headers=headers), 409, "space-has-history")
    assert await _space_count(conn, bid) == 2
    # Unsharing is the way out; the space stays with its history.
    assert (
        await client.patch(used_url, json={"shared": False}, headers=headers)
    ).status_code == 200
    response = await client.delete(f"/buildings/{bid}/spaces/{unused['id']}", headers=headers)
    assert response.status_code == 204
    assert await conn.fetchval(
        "SELECT array_agg(label) FROM spaces WHERE building_id = $1", bid
    ) == ["A1"]
    assert_problem(
        await client.delete(f"/buildings/{bid}/spaces/{unused['id']}", headers=headers),
        404,
        "not-found",
    )


async def test_space_changes_write_place_and_availability_messages(
    client, conn, setup, settings
) -> None:
    headers, bid = setup
    place_id = await conn.fetchval("SELECT district_place_id FROM buildings WHERE id = $1", bid)
    [created] = await outbox_rows(conn, "place")
    assert created["entity_key"] == place_id and created["payload"]["shared_spaces"] == 0
    await add_spaces(client, headers, bid, count=3, prefix="A", features=["ev"])
    place = (await outbox_rows(conn, "place"))[-1]
    assert (place["payload"]["shared_spaces"], place["payload"]["features"]) == (3, {"ev": 3})
    assert place["version"] == created["version"] + 1
    # Availability for tonight and every published night after it, in the same transaction.
    nights = settings.availability_horizon_nights + 1
    availability = await outbox_rows(conn, "availability")
    assert len(availability) == nights
    assert len({a["entity_key"] for a in availability}) == nights
    assert all(a["payload"]["place_id"] == place_id for a in availability)
    count = len(await outbox_rows(conn))

    # Label and level do not change what the platform knows: nothing is sent.
    [space, *_] = (await client.get(f"/buildings/{bid}/spaces", headers=headers)).json()
    url = f"/buildings/{bid}/spaces/{space['id']}"
    await client.patch(url, json={"label": "A1b", "level": "B2"}, headers=headers)
    assert len(await outbox_rows(conn)) == count
    # Unshared spaces are not the platform's business either.
    await add_spaces(client, headers, bid, label="Private", shared=False)
    assert len(await outbox_rows(conn)) == count

    await client.patch(url, json={"features": ["large"]}, headers=headers)
    place = (await outbox_rows(conn, "place"))[-1]
    assert place["payload"]["features"] == {"ev": 2, "large": 1}
    await client.patch(url, json={"shared": False}, headers=headers)
    place = (await outbox_rows(conn, "place"))[-1]
    assert (place["payload"]["shared_spaces"], place["payload"]["features"]) == (2, {"ev": 2})
    assert len(await outbox_rows(conn, "availability")) == 3 * nights
    spaces = (await client.get(f"/buildings/{bid}/spaces", headers=headers)).json()
    [spare] = [s for s in spaces if s["label"] == "A2"]
    response = await client.delete(f"/buildings/{bid}/spaces/{spare['id']}", headers=headers)
    assert response.status_code == 204
    assert (await outbox_rows(conn, "place"))[-1]["payload"]["shared_spaces"] == 1
    assert len(await outbox_rows(conn, "availability")) == 4 * nights

    # A refused change writes nothing.
    count = len(await outbox_rows(conn))
    await client.post(f"/buildings/{bid}/spaces", json={"label": "A1b"}, headers=headers)
    assert len(await outbox_rows(conn)) == count
