"""The gate: keys, who may report entries and exits, check-in and completion by plate."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from tests.factories import (
    TZ,
    insert_reservation,
    make_building,
    make_manager,
    outbox_rows,
    random_plate,
)
from tests.helpers import assert_problem, auth_headers, login_headers


def _now() -> dt.datetime:
    return dt.datetime.now(TZ).replace(microsecond=0)


@pytest.fixture
async def site(client, conn):
    """A building with its manager's headers and a gate key issued by them."""
    user = await make_manager(conn)
    building = await make_building(conn, manager_id=user.id, spaces=3)
    manager = await login_headers(client, user.email)
    response = await client.post(f"/buildings/{building.id}/gate-key", headers=manager)
    assert response.status_code == 201, response.text
    return building, manager, {"X-Gate-Key": response.json()["gate_key"]}


async def _booked(conn, space_id: int, plate: str, start: dt.datetime) -> int:
    """A confirmed booking of ``plate`` from ``start`` until eight hours from now."""
    return await insert_reservation(
        conn, space_id=space_id, plate=plate, start=start, end=_now() + dt.timedelta(hours=8)
    )


async def _sessions(conn, building_id):
    return await conn.fetch(
        "SELECT * FROM gate_sessions WHERE building_id = $1 ORDER BY id", building_id
    )


async def test_a_key_is_shown_once_stored_hashed_and_a_new_one_revokes_it(client, conn, site):
    building, manager, gate = site
    key = gate["X-Gate-Key"]
    assert key.startswith("gk_") and len(key) > 40
    stored = await conn.fetchval("SELECT gate_key_hash FROM buildings WHERE id = $1", building.id)
    assert stored == hashlib.sha256(key.encode()).hexdigest()

    plate = random_plate()
    entry = await client.post(
        "/gate/entries", json={"building_id": building.id, "plate": plate}, headers=gate
    )
    assert entry.status_code == 201, entry.text

    renewed = await client.post(f"/buildings/{building.id}/gate-key", headers=manager)
    assert renewed.status_code == 201
    assert renewed.json()["gate_key"] != key
    old = await client.post(
        "/gate/exits", json={"building_id": building.id, "plate": plate}, headers=gate
    )
    assert_problem(old, 401, "unauthorized")
    new = await client.post(
        "/gate/exits",
        json={"building_id": building.id, "plate": plate},
        headers={"X-Gate-Key": renewed.json()["gate_key"]},
    )
    assert new.status_code == 200, new.text


async def test_only_the_buildings_manager_or_an_admin_issues_keys(client, conn, site):
    building, _, _ = site
    for role, status, type_ in (("manager", 404, "not-found"), ("resident", 403, "forbidden")):
        response = await client.post(
            f"/buildings/{building.id}/gate-key", headers=await auth_headers(client, conn, role)
        )
        assert_problem(response, status, type_)
    admin = await client.post(
        f"/buildings/{building.id}/gate-key", headers=await auth_headers(client, conn, "admin")
    )
    assert admin.status_code == 201


async def test_a_wrong_key_or_no_credential_is_401_and_records_nothing(client, conn, site):
    building, _, _ = site
    body = {"building_id": building.id, "plate": random_plate()}
    for headers in ({"X-Gate-Key": "gk_not-the-key"}, {}, {"Authorization": "Bearer junk"}):
        assert_problem(
            await client.post("/gate/entries", json=body, headers=headers), 401, "unauthorized"
        )
    assert await _sessions(conn, building.id) == []


async def test_another_buildings_key_is_refused(client, conn, site):
    _, _, gate = site
    other = await make_building(conn, manager_id=(await make_manager(conn)).id)
    body = {"building_id": other.id, "plate": random_plate()}
    assert_problem(await client.post("/gate/entries", json=body, headers=gate), 403, "forbidden")
    assert await _sessions(conn, other.id) == []


async def test_the_managers_token_works_and_others_tokens_do_not(client, conn, site):
    building, manager, _ = site
    body = {"building_id": building.id, "plate": random_plate()}
    resident = await auth_headers(client, conn, "resident")
    assert_problem(
        await client.post("/gate/entries", json=body, headers=resident), 403, "forbidden"
    )
    stranger = await auth_headers(client, conn, "manager")
    assert_problem(
        await client.post("/gate/entries", json=body, headers=stranger), 404, "not-found"
    )
    assert await _sessions(conn, building.id) == []

    response = await client.post("/gate/entries", json=body, headers=manager)
    assert response.status_code == 201, response.text
    assert len(await _sessions(conn, building.id)) == 1


async def test_entry_checks_in_and_exit_completes_the_reservation(client, conn, site):
    building, _, gate = site
    plate = random_plate()
    now = _now()
    reservation_id = await _booked(
        conn, building.space_ids[0], plate, now - dt.timedelta(minutes=10)
    )
    before = len(await outbox_rows(conn, "reservation"))

    entered_at = now - dt.timedelta(minutes=1)
    entry = await client.post(
        "/gate/entries",
        # The gate may send the plate as printed, with a dot and in lower case.
        json={
            "building_id": building.id,
            "plate": plate[:2] + "·" + plate[2:].lower(),
            "at": entered_at.isoformat(),
        },
        headers=gate,
    )
    assert entry.status_code == 201, entry.text
    body = entry.json()
    assert body["reservation_id"] == reservation_id
    assert body["reservation_status"] == "checked_in"
    assert body["plate"] == plate
    assert dt.datetime.fromisoformat(body["entered_at"]) == entered_at
    row = await conn.fetchrow(
        "SELECT status, checked_in_at FROM reservations WHERE id = $1", reservation_id
    )
    assert row["status"] == "checked_in" and row["checked_in_at"] == entered_at
    assert len(await outbox_rows(conn, "reservation")) == before + 1

    exit_ = await client.post(
        "/gate/exits", json={"building_id": building.id, "plate": plate}, headers=gate
    )
    assert exit_.status_code == 200, exit_.text
    assert exit_.json()["exited_at"] is not None
    assert exit_.json()["reservation_status"] == "completed"
    row = await conn.fetchrow(
        "SELECT status, ended_at FROM reservations WHERE id = $1", reservation_id
    )
    assert row["status"] == "completed" and row["ended_at"] is not None
    assert len(await outbox_rows(conn, "reservation")) == before + 2
    (session,) = await _sessions(conn, building.id)
    assert session["exited_at"] is not None and session["reservation_id"] == reservation_id


async def test_an_entry_30_minutes_before_the_start_matches_but_not_earlier(client, conn, site):
    building, _, gate = site
    now = _now()
    early, too_early = random_plate(), random_plate()
    matched = await _booked(conn, building.space_ids[0], early, now + dt.timedelta(minutes=29))
    unmatched = await _booked(
        conn, building.space_ids[1], too_early, now + dt.timedelta(minutes=31)
    )
    first = await client.post(
        "/gate/entries",
        json={"building_id": building.id, "plate": early, "at": now.isoformat()},
        headers=gate,
    )
    assert first.status_code == 201 and first.json()["reservation_id"] == matched
    second = await client.post(
        "/gate/entries",
        json={"building_id": building.id, "plate": too_early, "at": now.isoformat()},
        headers=gate,
    )
    assert second.status_code == 201 and second.json()["reservation_id"] is None
    statuses = dict(await conn.fetch("SELECT id, status FROM reservations"))
    assert statuses == {matched: "checked_in", unmatched: "confirmed"}


async def test_an_unreserved_car_is_listed_for_the_manager_with_its_plate_masked(
    client, conn, site
):
    building, manager, gate = site
    now = _now()
    reserved, unreserved = random_plate(), random_plate()
    await _booked(conn, building.space_ids[0], reserved, now - dt.timedelta(hours=1))
    for plate in (reserved, unreserved):
        response = await client.post(
            "/gate/entries", json={"building_id": building.id, "plate": plate}, headers=gate
        )
        assert response.status_code == 201

    listed = await client.get(
        f"/buildings/{building.id}/sessions", params={"unreserved": "true"}, headers=manager
    )
    assert listed.status_code == 200, listed.text
    (session,) = listed.json()
    assert session["reservation_id"] is None
    assert session["plate"] == unreserved[:2] + "***" + unreserved[-2:]
    assert unreserved not in listed.text

    everything = await client.get(f"/buildings/{building.id}/sessions", headers=manager)
    assert len(everything.json()) == 2
    window = {"from": (now + dt.timedelta(hours=1)).isoformat()}
    later = await client.get(f"/buildings/{building.id}/sessions", params=window, headers=manager)
    assert later.json() == []

    stranger = await auth_headers(client, conn, "manager")
    assert_problem(
        await client.get(f"/buildings/{building.id}/sessions", headers=stranger), 404, "not-found"
    )


async def test_a_repeated_entry_read_is_not_a_second_entry(client, conn, site):
    building, _, gate = site
    plate = random_plate()
    now = _now()
    reservation_id = await _booked(
        conn, building.space_ids[0], plate, now - dt.timedelta(minutes=5)
    )
    body = {"building_id": building.id, "plate": plate}
    first = await client.post("/gate/entries", json=body, headers=gate)
    assert first.status_code == 201
    versions = len(await outbox_rows(conn, "reservation"))
    again = await client.post("/gate/entries", json=body, headers=gate)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert len(await _sessions(conn, building.id)) == 1
    assert len(await outbox_rows(conn, "reservation")) == versions
    assert await conn.fetchval("SELECT status FROM reservations WHERE id = $1", reservation_id) == (
        "checked_in"
    )


async def test_an_exit_without_an_entry_is_404(client, conn, site):
    building, _, gate = site
    response = await client.post(
        "/gate/exits", json={"building_id": building.id, "plate": random_plate()}, headers=gate
    )
    assert_problem(response, 404, "no-open-session")


async def test_bad_plates_and_clocks_are_refused_and_change_nothing(client, conn, site):
    building, _, gate = site
    bad_plate = await client.post(
        "/gate/entries", json={"building_id": building.id, "plate": "NOTAPLATE"}, headers=gate
    )
    assert_problem(bad_plate, 422, "invalid-plate")
    future = (_now() + dt.timedelta(minutes=10)).isoformat()
    ahead = await client.post(
        "/gate/entries",
        json={"building_id": building.id, "plate": random_plate(), "at": future},
        headers=gate,
    )
    assert_problem(ahead, 422, "time-in-future")
    naive = await client.post(
        "/gate/entries",
        json={"building_id": building.id, "plate": random_plate(), "at": "2026-11-27T20:00:00"},
        headers=gate,
    )
    assert_problem(naive, 422, "validation-error")
    assert await _sessions(conn, building.id) == []
