"""Monthly passes: price, a concrete space every shared night under the exclusion
constraint, all-or-nothing capacity, releasing nights, and who sees which pass."""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import uuid
from fractions import Fraction

import pytest

from parking.errors import Problem
from parking.reservations.schemas import BookingRequest
from parking.reservations.service import book
from tests.factories import (
    TZ,
    insert_reservation,
    local,
    local_today,
    make_building,
    make_manager,
    make_resident,
    outbox_rows,
    random_plate,
)
from tests.helpers import assert_problem, auth_headers, login_headers

FEE = 30_000


def _next_month() -> dt.date:
    today = local_today()
    return (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def _nights(month: dt.date) -> list[dt.date]:
    days = calendar.monthrange(month.year, month.month)[1]
    return [month + dt.timedelta(days=i) for i in range(days)]


async def _headers(client, resident) -> dict[str, str]:
    return await login_headers(client, resident.email)


async def _buy(client, headers, building_id, resident, month: dt.date, key: str | None = None):
    return await client.post(
        "/passes",
        json={
            "building_id": building_id,
            "vehicle_id": resident.vehicle_id,
            "month": f"{month:%Y-%m}",
        },
        headers={**headers, "Idempotency-Key": key or str(uuid.uuid4())},
    )


async def _pass_nights(conn, pass_id):
    return await conn.fetch(
        "SELECT night, space_id, status, kind, source, fee_fen, plate, lower(stay) AS start,"
        " upper(stay) AS end FROM reservations WHERE pass_id = $1 ORDER BY lower(stay)",
        pass_id,
    )


async def _written(conn) -> tuple[int, int, int]:
    return (
        await conn.fetchval("SELECT count(*) FROM passes"),
        await conn.fetchval("SELECT count(*) FROM reservations"),
        await conn.fetchval("SELECT count(*) FROM outbox"),
    )


@pytest.fixture
async def buyer(client, conn):
    resident = await make_resident(conn)
    return resident, await _headers(client, resident)


async def test_a_pass_holds_one_space_every_shared_night_of_the_month(client, conn, buyer):
    resident, headers = buyer
    building = await make_building(conn, spaces=3, monthly_pass_fen=FEE)
    month = _next_month()
    availability_before = len(await outbox_rows(conn, "availability"))

    response = await _buy(client, headers, building.id, resident, month)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["price_fen"] == FEE  # bought before the month: the whole fee
    assert body["month"] == f"{month:%Y-%m}" and body["plate"] == resident.plate
    assert body["night_count"] == len(_nights(month)) == len(body["nights"])

    rows = await _pass_nights(conn, body["id"])
    assert [r["night"] for r in rows] == _nights(month)
    assert {(r["kind"], r["source"], r["status"], r["fee_fen"], r["plate"]) for r in rows} == {
        ("pass_night", "pass", "confirmed", 0, resident.plate)
    }
    # Each night is the building's window, 19:00 to 07:00 local.
    assert all(r["start"] == local(r["night"], 19) for r in rows)
    assert all(r["end"] == local(r["night"] + dt.timedelta(days=1), 7) for r in rows)
    # The same space all month, when nothing else is in the way.
    assert len({r["space_id"] for r in rows}) == 1
    horizon = {local_today() + dt.timedelta(days=i) for i in range(8)}
    published = len(set(_nights(month)) & horizon)
    assert len(await outbox_rows(conn, "availability")) - availability_before == published


async def test_the_price_of_a_pass_bought_during_the_month_is_prorated(client, conn, buyer):
    resident, headers = buyer
    building = await make_building(conn, spaces=1, monthly_pass_fen=FEE)
    today = local_today()
    month = today.replace(day=1)
    days = len(_nights(month))
    left = days - today.day + 1  # tonight's window has not ended yet

    response = await _buy(client, headers, building.id, resident, month)
    assert response.status_code == 201, response.text
    expected = Fraction(FEE * left, days)
    assert response.json()["price_fen"] == int(expected + Fraction(1, 2))  # half up
    rows = await _pass_nights(conn, response.json()["id"])
    assert [r["night"] for r in rows] == [
        month + dt.timedelta(days=d) for d in range(today.day - 1, days)
    ]
    assert await conn.fetchval("SELECT price_fen FROM passes") == response.json()["price_fen"]


async def test_the_same_space_is_kept_from_night_to_night_when_it_is_free(client, conn, buyer):
    resident, headers = buyer
    building = await make_building(conn, spaces=2, monthly_pass_fen=FEE)
    month = _next_month()
    blocked = month + dt.timedelta(days=4)
    # Someone else has the first space on the fifth night.
    await insert_reservation(
        conn,
        space_id=building.space_ids[0],
        plate=random_plate(),
        start=local(blocked, 19),
        end=local(blocked + dt.timedelta(days=1), 7),
    )

    response = await _buy(client, headers, building.id, resident, month)
    assert response.status_code == 201, response.text
    rows = await _pass_nights(conn, response.json()["id"])
    spaces = [r["space_id"] for r in rows]
    assert spaces[4] == building.space_ids[1]
    switches = sum(1 for a, b in itertools.pairwise(spaces) if a != b)
    assert switches <= 1  # at most one move, onto the free space, and then it stays
    # Nothing overlaps on any space: the exclusion constraint held every insert.
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM reservations a JOIN reservations b ON a.id < b.id"
            " AND a.space_id = b.space_id AND a.stay && b.stay"
        )
        == 0
    )
    nights = {n["night"]: n for n in response.json()["nights"]}
    assert nights[blocked.isoformat()]["space_label"] == "B1-002"


async def test_a_night_without_capacity_refuses_the_pass_and_writes_nothing(client, conn, buyer):
    resident, headers = buyer
    building = await make_building(conn, spaces=1, monthly_pass_fen=FEE)
    month = _next_month()
    full = [month + dt.timedelta(days=2), month + dt.timedelta(days=6)]
    for night in full:
        await insert_reservation(
            conn,
            space_id=building.space_ids[0],
            plate=random_plate(),
            start=local(night, 20),
            end=local(night, 22),
        )
    before = await _written(conn)

    response = await _buy(client, headers, building.id, resident, month)
    problem = assert_problem(response, 409, "no-capacity")
    assert problem["nights"] == [n.isoformat() for n in full]
    assert await _written(conn) == before


async def test_a_released_night_becomes_bookable_by_others(client, conn, buyer, settings):
    resident, headers = buyer
    building = await make_building(conn, spaces=1, monthly_pass_fen=FEE)
    month = _next_month()
    response = await _buy(client, headers, building.id, resident, month)
    assert response.status_code == 201, response.text
    pass_id = response.json()["id"]
    night = month + dt.timedelta(days=9)

    other = await make_resident(conn)
    request = BookingRequest(building_id=building.id, night=night, vehicle_id=other.vehicle_id)
    now = dt.datetime.now(TZ)
    with pytest.raises(Problem) as refused:
        async with conn.transaction():
            await book(conn, other.user_id, request, settings=settings, now=now)
    assert refused.value.type_ == "no-capacity"

    released = await client.post(f"/passes/{pass_id}/nights/{night}/release", headers=headers)
    assert released.status_code == 200, released.text
    statuses = {n["night"]: n["status"] for n in released.json()["nights"]}
    assert statuses[night.isoformat()] == "released"
    assert released.json()["released_count"] == 1
    assert sorted(set(statuses.values())) == ["confirmed", "released"]
    messages = await outbox_rows(conn, "availability")
    assert messages[-1]["payload"]["night"] == night.isoformat()
    assert messages[-1]["payload"]["free"] == 1

    # Releasing again answers the same state and changes nothing.
    again = await client.post(f"/passes/{pass_id}/nights/{night}/release", headers=headers)
    assert again.status_code == 200
    assert again.json() == released.json()
    assert len(await outbox_rows(conn, "availability")) == len(messages)

    async with conn.transaction():
        booked = await book(conn, other.user_id, request, settings=settings, now=now)
    assert booked.space_id == building.space_ids[0]
    assert booked.night == night


async def test_a_night_already_under_way_cannot_be_released(client, conn, buyer):
    resident, headers = buyer
    # Shared all day: tonight's window has begun, so the pass holds it from now.
    building = await make_building(
        conn, spaces=1, monthly_pass_fen=FEE, start=dt.time(0), end=dt.time(0)
    )
    today = local_today()
    response = await _buy(client, headers, building.id, resident, today.replace(day=1))
    assert response.status_code == 201, response.text
    pass_id = response.json()["id"]

    late = await client.post(f"/passes/{pass_id}/nights/{today}/release", headers=headers)
    assert_problem(late, 409, "too-late")
    assert (
        await conn.fetchval(
            "SELECT status FROM reservations WHERE pass_id = $1 AND night = $2", pass_id, today
        )
        == "confirmed"
    )
    missing = await client.post(
        f"/passes/{pass_id}/nights/{today.replace(day=1) - dt.timedelta(days=1)}/release",
        headers=headers,
    )
    assert_problem(missing, 404, "not-found")


@pytest.mark.parametrize(
    ("monthly_pass_fen", "shared_until", "problem"),
    [(None, None, "not-bookable"), (FEE, dt.date(2020, 1, 31), "no-shared-nights")],
    ids=["per-use-building", "month-without-shared-nights"],
)
async def test_a_pass_the_building_cannot_sell_is_refused_and_writes_nothing(
    client, conn, buyer, monthly_pass_fen, shared_until, problem
):
    resident, headers = buyer
    building = await make_building(conn, spaces=2, monthly_pass_fen=monthly_pass_fen)
    if shared_until is not None:
        await conn.execute(
            "UPDATE off_peak_rules SET valid_until = $2 WHERE building_id = $1",
            building.id,
            shared_until,
        )
    before = await _written(conn)
    response = await _buy(client, headers, building.id, resident, _next_month())
    assert_problem(response, 409, problem)
    assert await _written(conn) == before


async def test_one_pass_per_vehicle_building_and_month_and_replays_by_key(client, conn, buyer):
    resident, headers = buyer
    building = await make_building(conn, spaces=2, monthly_pass_fen=FEE)
    month = _next_month()
    first = await _buy(client, headers, building.id, resident, month, key="pass-key-1")
    assert first.status_code == 201, first.text
    replay = await _buy(client, headers, building.id, resident, month, key="pass-key-1")
    assert replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers.get("idempotent-replayed") == "true"
    second = await _buy(client, headers, building.id, resident, month, key="pass-key-2")
    assert_problem(second, 409, "pass-exists")
    assert await conn.fetchval("SELECT count(*) FROM passes") == 1


async def test_unverified_residents_and_others_vehicles_are_refused(client, conn, buyer):
    resident, headers = buyer
    building = await make_building(conn, spaces=2, monthly_pass_fen=FEE)
    other = await make_resident(conn)
    response = await _buy(client, headers, building.id, other, _next_month())
    assert_problem(response, 404, "not-found")
    unverified = await auth_headers(client, conn, "resident")
    response = await _buy(client, unverified, building.id, resident, _next_month())
    assert_problem(response, 403, "not-verified")
    assert await conn.fetchval("SELECT count(*) FROM passes") == 0


async def test_residents_see_only_their_own_passes(client, conn, buyer):
    resident, headers = buyer
    building = await make_building(conn, spaces=2, monthly_pass_fen=FEE)
    month = _next_month()
    pass_id = (await _buy(client, headers, building.id, resident, month)).json()["id"]

    mine = await client.get("/passes", headers=headers)
    assert [p["id"] for p in mine.json()] == [pass_id]
    detail = await client.get(f"/passes/{pass_id}", headers=headers)
    assert detail.status_code == 200
    assert detail.json()["nights"][0]["space_label"].startswith("B1-")

    stranger = await make_resident(conn)
    theirs = await _headers(client, stranger)
    assert (await client.get("/passes", headers=theirs)).json() == []
    assert_problem(await client.get(f"/passes/{pass_id}", headers=theirs), 404, "not-found")
    release = await client.post(
        f"/passes/{pass_id}/nights/{month + dt.timedelta(days=3)}/release", headers=theirs
    )
    assert_problem(release, 404, "not-found")
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM reservations WHERE pass_id = $1 AND status <> 'confirmed'",
            pass_id,
        )
        == 0
    )


async def test_the_manager_lists_the_buildings_passes_with_plates_masked(client, conn, buyer):
    resident, headers = buyer
    user = await make_manager(conn)
    building = await make_building(conn, spaces=2, monthly_pass_fen=FEE, manager_id=user.id)
    month = _next_month()
    pass_id = (await _buy(client, headers, building.id, resident, month)).json()["id"]
    manager = await login_headers(client, user.email)

    listed = await client.get(
        f"/buildings/{building.id}/passes", params={"month": f"{month:%Y-%m}"}, headers=manager
    )
    assert listed.status_code == 200, listed.text
    (entry,) = listed.json()
    assert entry["id"] == pass_id
    assert entry["plate"] == resident.plate[:2] + "***" + resident.plate[-2:]
    assert resident.plate not in listed.text
    other_month = f"{month + dt.timedelta(days=40):%Y-%m}"
    empty = await client.get(
        f"/buildings/{building.id}/passes", params={"month": other_month}, headers=manager
    )
    assert empty.json() == []
    stranger = await auth_headers(client, conn, "manager")
    assert_problem(
        await client.get(f"/buildings/{building.id}/passes", headers=stranger), 404, "not-found"
    )
    assert_problem(
        await client.get(f"/buildings/{building.id}/passes", headers=headers), 403, "forbidden"
    )


async def test_a_vehicle_booked_elsewhere_on_a_night_gets_no_pass(client, conn, buyer):
    resident, headers = buyer
    building = await make_building(conn, spaces=2, monthly_pass_fen=FEE)
    elsewhere = await make_building(conn, spaces=1)
    month = _next_month()
    night = month + dt.timedelta(days=11)
    await insert_reservation(
        conn,
        space_id=elsewhere.space_ids[0],
        plate=resident.plate,
        start=local(night, 21),
        end=local(night, 23),
    )
    before = await _written(conn)
    problem = assert_problem(
        await _buy(client, headers, building.id, resident, month), 409, "vehicle-busy"
    )
    assert problem["nights"] == [night.isoformat()]
    assert await _written(conn) == before


@pytest.mark.parametrize("months_ahead", [13, 24, 95_000])
async def test_a_pass_more_than_a_year_ahead_is_refused_and_writes_nothing(
    client, conn, buyer, months_ahead
):
    resident, headers = buyer
    building = await make_building(conn, spaces=2, monthly_pass_fen=FEE)
    today = local_today()
    index = today.year * 12 + today.month - 1 + months_ahead
    month = f"{index // 12:04d}-{index % 12 + 1:02d}"
    before = await _written(conn)
    response = await client.post(
        "/passes",
        json={"building_id": building.id, "vehicle_id": resident.vehicle_id, "month": month},
        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert_problem(response, 422, "invalid-month")
    assert month in response.json()["detail"]
    assert await _written(conn) == before
