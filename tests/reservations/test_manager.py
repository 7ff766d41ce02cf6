"""A building's reservations for its manager: masked plates, own buildings only."""

from __future__ import annotations

import datetime as dt

from tests.factories import (
    booking_headers,
    make_building,
    make_resident,
    make_user,
    token_headers,
)
from tests.helpers import assert_problem


async def test_a_manager_sees_a_nights_reservations_with_masked_plates(
    client, conn, resident, night, settings
) -> None:
    manager_id = (await make_user(conn, "manager")).id
    place = await make_building(conn, spaces=3, manager_id=manager_id)
    other = await make_resident(conn, settings)
    ids = []
    for who in (resident, other):
        response = await client.post(
            "/reservations",
            json={
                "building_id": place.id,
                "night": night.isoformat(),
                "vehicle_id": who.vehicle_id,
            },
            headers=booking_headers(who),
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    elsewhere = await make_building(conn, spaces=3)
    await client.post(
        "/reservations",
        json={
            "building_id": elsewhere.id,
            "night": (night + dt.timedelta(days=1)).isoformat(),
            "vehicle_id": resident.vehicle_id,
        },
        headers=booking_headers(resident),
    )

    headers = token_headers(settings, manager_id, "manager")
    response = await client.get(
        f"/buildings/{place.id}/reservations?night={night.isoformat()}", headers=headers
    )
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] == 2
    assert sorted(r["id"] for r in page["items"]) == sorted(ids)
    plates = {resident.plates[0], other.plates[0]}
    for item in page["items"]:
        assert item["plate"] not in plates
        assert item["plate"][:2] == "粤B" and "*" in item["plate"]
        assert item["building_name"] == place.name
        assert item["space_label"] == place.labels[item["space_id"]]
        assert dt.datetime.fromisoformat(item["start"]).utcoffset() == dt.timedelta(hours=8)
    text = response.text
    assert "@example.com" not in text and "user_id" not in text and "139" not in text
    for plate in plates:
        assert plate not in text

    other_night = await client.get(
        f"/buildings/{place.id}/reservations?night={(night + dt.timedelta(days=2)).isoformat()}",
        headers=headers,
    )
    assert other_night.json()["total"] == 0

    admin = token_headers(settings, (await make_user(conn, "admin")).id, "admin")
    as_admin = await client.get(
        f"/buildings/{place.id}/reservations?night={night.isoformat()}", headers=admin
    )
    assert as_admin.status_code == 200 and as_admin.json()["total"] == 2


async def test_another_managers_building_is_not_found(client, conn, night, settings) -> None:
    place = await make_building(conn, spaces=3)
    stranger = token_headers(settings, (await make_user(conn, "manager")).id, "manager")
    response = await client.get(
        f"/buildings/{place.id}/reservations?night={night.isoformat()}", headers=stranger
    )
    assert_problem(response, 404, "not-found")
    resident = token_headers(settings, (await make_user(conn, "resident")).id, "resident")
    response = await client.get(
        f"/buildings/{place.id}/reservations?night={night.isoformat()}", headers=resident
    )
    assert_problem(response, 403, "forbidden")
