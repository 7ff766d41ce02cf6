"""Booking through POST /reservations: the space chosen, the fee, and every refusal."""

from __future__ import annotations

import datetime as dt

import asyncpg
from litestar.testing import AsyncTestClient

from parking.settings import Settings
from tests.factories import (
    Building,
    Resident,
    at,
    booking_body,
    booking_headers,
    insert_reservation,
    local_today,
    make_building,
    make_resident,
    make_user,
    post_booking,
    token_headers,
)
from tests.helpers import assert_problem

_EIGHT_HOURS = dt.timedelta(hours=8)


async def _counts(conn: asyncpg.Connection) -> tuple[int, int]:
    return (
        await conn.fetchval("SELECT count(*) FROM reservations"),
        await conn.fetchval("SELECT count(*) FROM outbox"),
    )


async def _refused(client, conn, body, headers, status: int, type_: str) -> dict:
    """The booking is refused with this problem and leaves no reservation and no message."""
    before = await _counts(conn)
    problem = assert_problem(
        await client.post("/reservations", json=body, headers=headers), status, type_
    )
    assert await _counts(conn) == before
    return problem


async def test_booking_takes_a_space_charges_the_fee_and_queues_messages(
    client: AsyncTestClient,
    conn: asyncpg.Connection,
    place: Building,
    resident: Resident,
    night: dt.date,
    settings: Settings,
) -> None:
    arrive, depart = at(night, 20), at(night, 6, 30)
    response = await post_booking(client, place, resident, night, arrive=arrive, depart=depart)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["space_id"] in place.space_ids
    assert body["space_label"] == place.labels[body["space_id"]]
    assert body["building_id"] == place.id and body["building_name"] == place.name
    assert body["fee_fen"] == 1000
    assert body["status"] == "confirmed" and body["hold_expires_at"] is None
    assert body["night"] == night.isoformat()
    assert body["plate"] == resident.plates[0]
    # Local time with its offset, the same instants as asked.
    start, end = dt.datetime.fromisoformat(body["start"]), dt.datetime.fromisoformat(body["end"])
    assert (start, end) == (arrive, depart)
    assert start.utcoffset() == end.utcoffset() == _EIGHT_HOURS

    row = await conn.fetchrow(
        """SELECT user_id, vehicle_id, plate, space_id, lower(stay) AS start,
                  upper(stay) AS "end", status, fee_fen, kind, source
           FROM reservations WHERE id = $1""",
        body["id"],
    )
    assert dict(row) == {
        "user_id": resident.id,
        "vehicle_id": resident.vehicle_id,
        "plate": resident.plates[0],
        "space_id": body["space_id"],
        "start": arrive,
        "end": depart,
        "status": "confirmed",
        "fee_fen": 1000,
        "kind": "booking",
        "source": "app",
    }
    kinds = [
        r["entity_kind"] for r in await conn.fetch("SELECT entity_kind FROM outbox ORDER BY id")
    ]
    assert kinds == ["reservation", "availability"]


async def test_without_times_the_booking_takes_the_whole_window(
    client, conn, place, resident, night, settings
) -> None:
    response = await post_booking(client, place, resident, night)
    assert response.status_code == 201, response.text
    body = response.json()
    assert dt.datetime.fromisoformat(body["start"]) == at(night, 19)
    assert dt.datetime.fromisoformat(body["end"]) == at(night, 7)
    stay = await conn.fetchval("SELECT stay FROM reservations WHERE id = $1", body["id"])
    assert (stay.lower, stay.upper) == (at(night, 19), at(night, 7))


async def test_a_blackout_over_the_evening_leaves_the_morning_after_to_book(
    client, conn, place, resident, night
) -> None:
    # What is left of the night's window starts after midnight; it is still that night's.
    await conn.execute(
        "INSERT INTO blackouts (building_id, period) VALUES ($1, tstzrange($2, $3))",
        place.id,
        at(night, 18),
        at(night, 1, 30),
    )
    response = await post_booking(client, place, resident, night)
    assert response.status_code == 201, response.text
    body = response.json()
    assert dt.datetime.fromisoformat(body["start"]) == at(night, 1, 30)
    assert dt.datetime.fromisoformat(body["end"]) == at(night, 7)
    assert (body["night"], body["fee_fen"]) == (night.isoformat(), 1000)


async def test_one_given_end_takes_the_other_from_its_window(
    client, place, resident, night, settings
) -> None:
    response = await post_booking(client, place, resident, night, arrive=at(night, 22))
    assert response.status_code == 201, response.text
    body = response.json()
    assert dt.datetime.fromisoformat(body["start"]) == at(night, 22)
    assert dt.datetime.fromisoformat(body["end"]) == at(night, 7)


async def test_a_stay_outside_the_window_is_refused(
    client, conn, place, resident, night, settings
) -> None:
    headers = booking_headers(resident)
    too_early = booking_body(place, resident, night, arrive=at(night, 18), depart=at(night, 23))
    problem = await _refused(client, conn, too_early, headers, 422, "outside-window")
    assert problem["windows"] == [
        {
            "start": at(night, 19).isoformat(),
            "end": at(night, 7).isoformat(),
        }
    ]
    backwards = booking_body(place, resident, night, arrive=at(night, 23), depart=at(night, 21))
    await _refused(client, conn, backwards, booking_headers(resident), 422, "outside-window")
    too_late = booking_body(place, resident, night, depart=at(night, 8))
    await _refused(client, conn, too_late, booking_headers(resident), 422, "outside-window")


async def test_a_night_without_sharing_is_outside_the_window(
    client, conn, resident, night, settings
) -> None:
    later = await make_building(conn, spaces=3, valid_from=night + dt.timedelta(days=1))
    await _refused(
        client,
        conn,
        booking_body(later, resident, night),
        booking_headers(resident),
        422,
        "outside-window",
    )


async def test_a_stay_that_has_ended_is_refused(client, conn, place, resident, settings) -> None:
    last_week = local_today() - dt.timedelta(days=3)
    await _refused(
        client,
        conn,
        booking_body(place, resident, last_week),
        booking_headers(resident),
        422,
        "in-the-past",
    )


async def test_times_without_an_offset_are_invalid(client, conn, place, resident, night) -> None:
    body = booking_body(place, resident, night, arrive=f"{night.isoformat()}T20:00:00")
    await _refused(client, conn, body, booking_headers(resident), 422, "validation-error")


async def test_an_unverified_resident_may_not_book(client, conn, place, night, settings) -> None:
    stranger = await make_resident(conn, settings, verified=False)
    await _refused(
        client,
        conn,
        booking_body(place, stranger, night),
        booking_headers(stranger),
        403,
        "not-verified",
    )


async def test_someone_elses_vehicle_is_not_found(
    client, conn, place, resident, night, settings
) -> None:
    other = await make_resident(conn, settings)
    body = {**booking_body(place, resident, night), "vehicle_id": other.vehicle_id}
    await _refused(client, conn, body, booking_headers(resident), 404, "not-found")


async def test_an_unknown_building_is_not_found(client, conn, place, resident, night) -> None:
    body = {**booking_body(place, resident, night), "building_id": place.id + 1000}
    await _refused(client, conn, body, booking_headers(resident), 404, "not-found")


async def test_a_suspended_building_takes_no_bookings(client, conn, resident, night) -> None:
    suspended = await make_building(conn, spaces=3, status="suspended")
    await _refused(
        client,
        conn,
        booking_body(suspended, resident, night),
        booking_headers(resident),
        409,
        "place-suspended",
    )


async def test_a_monthly_building_without_a_per_use_fee_is_not_bookable(
    client, conn, resident, night
) -> None:
    # A monthly building whose plan sets no per-use fee sells no single nights.
    monthly = await make_building(conn, spaces=3, monthly_pass_fen=30000, fee_fen=None)
    await _refused(
        client,
        conn,
        booking_body(monthly, resident, night),
        booking_headers(resident),
        409,
        "not-bookable",
    )


async def test_a_monthly_building_sells_single_nights_at_its_per_use_fee(
    client, conn, resident, night
) -> None:
    monthly = await make_building(conn, spaces=3, monthly_pass_fen=30000, fee_fen=1500)
    response = await post_booking(client, monthly, resident, night)
    assert response.status_code == 201, response.text
    assert response.json()["fee_fen"] == 1500


async def test_a_full_building_answers_no_capacity_and_writes_nothing(
    client, conn, resident, night, settings, full_building
) -> None:
    small, _ = full_building
    await _refused(
        client,
        conn,
        booking_body(small, resident, night),
        booking_headers(resident),
        409,
        "no-capacity",
    )
    # A stay that does not overlap the one there still finds the space.
    evening = await make_building(conn, spaces=1)
    early = await make_resident(conn, settings)
    await insert_reservation(
        conn,
        space_id=evening.space_ids[0],
        resident=early,
        start=at(night, 19),
        end=at(night, 22),
    )
    late = booking_body(evening, resident, night, arrive=at(night, 22))
    response = await client.post("/reservations", json=late, headers=booking_headers(resident))
    assert response.status_code == 201, response.text
    assert response.json()["space_id"] == evening.space_ids[0]


async def test_a_named_space_that_is_taken_is_refused_not_swapped(
    client, conn, place, resident, night, settings
) -> None:
    first = await make_resident(conn, settings)
    named = place.space_ids[1]
    response = await client.post(
        "/reservations",
        json={**booking_body(place, first, night), "space_id": named},
        headers=booking_headers(first),
    )
    assert response.status_code == 201, response.text
    assert response.json()["space_id"] == named
    body = {**booking_body(place, resident, night), "space_id": named}
    await _refused(client, conn, body, booking_headers(resident), 409, "space-taken")
    # Another building's space is no space of this building.
    other = await make_building(conn, spaces=3)
    body = {**booking_body(place, resident, night), "space_id": other.space_ids[0]}
    await _refused(client, conn, body, booking_headers(resident), 404, "not-found")


async def test_a_vehicle_with_an_overlapping_reservation_is_busy(
    client, conn, place, resident, night, settings
) -> None:
    first = await post_booking(client, place, resident, night, depart=at(night, 23))
    assert first.status_code == 201, first.text
    elsewhere = await make_building(conn, spaces=3)
    overlapping = booking_body(elsewhere, resident, night, arrive=at(night, 22))
    await _refused(client, conn, overlapping, booking_headers(resident), 409, "vehicle-busy")
    after = booking_body(elsewhere, resident, night, arrive=at(night, 23))
    response = await client.post("/reservations", json=after, headers=booking_headers(resident))
    assert response.status_code == 201, response.text


async def test_a_need_for_charging_gets_an_ev_space(
    client, conn, resident, night, settings
) -> None:
    mixed = await make_building(conn, spaces=4, features=[[], [], ["ev"], []])
    ev_space = mixed.space_ids[2]
    response = await client.post(
        "/reservations",
        json={**booking_body(mixed, resident, night), "needs": ["ev"]},
        headers=booking_headers(resident),
    )
    assert response.status_code == 201, response.text
    assert response.json()["space_id"] == ev_space
    # Plain bookings leave the EV space for those who need it while others are free.
    for _ in range(3):
        other = await make_resident(conn, settings)
        plain = await post_booking(client, mixed, other, night)
        assert plain.status_code == 201 and plain.json()["space_id"] != ev_space
    second = await make_resident(conn, settings)
    body = {**booking_body(mixed, second, night), "needs": ["ev"]}
    await _refused(client, conn, body, booking_headers(second), 409, "no-capacity")


async def test_residents_only(client, conn, place, night, settings) -> None:

    manager = token_headers(settings, (await make_user(conn, "manager")).id, "manager")
    body = {"building_id": place.id, "night": night.isoformat(), "vehicle_id": 1}
    response = await client.post(
        "/reservations", json=body, headers={**manager, "Idempotency-Key": "k"}
    )
    assert_problem(response, 403, "forbidden")
    assert_problem(await client.get("/reservations", headers=manager), 403, "forbidden")
    assert (await client.get("/reservations")).status_code == 401


async def test_a_stay_under_way_starts_now_in_the_window_not_yet_over(
    client, conn, resident, settings
) -> None:
    now = dt.datetime.now(settings.tz).replace(second=0, microsecond=0)
    opens, closes = now - dt.timedelta(hours=3), now + dt.timedelta(hours=3)
    place = await make_building(
        conn, start=opens.time(), end=closes.time(), valid_from=opens.date() - dt.timedelta(days=1)
    )
    # A blackout splits tonight's window; the first part is already over.
    await conn.execute(
        "INSERT INTO blackouts (building_id, period) VALUES ($1, tstzrange($2, $3))",
        place.id,
        now - dt.timedelta(hours=2),
        now - dt.timedelta(hours=1),
    )
    before = dt.datetime.now(dt.UTC)
    response = await client.post(
        "/reservations",
        json={
            "building_id": place.id,
            "night": opens.date().isoformat(),
            "vehicle_id": resident.vehicle_id,
        },
        headers=booking_headers(resident),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    start = dt.datetime.fromisoformat(body["start"])
    assert before <= start <= dt.datetime.now(dt.UTC)
    assert dt.datetime.fromisoformat(body["end"]) == closes
