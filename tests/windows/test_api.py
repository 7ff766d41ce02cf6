"""The manager's API for off-peak rules, blackouts and windows, against the real app."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.factories import (
    add_blackout,
    add_building,
    add_space,
    add_window,
    insert_reservation,
    local,
    local_today,
    night_in,
    user_id_of,
)
from tests.helpers import assert_problem, auth_headers, login_headers, make_account

RULE = {
    "day_class": "every_day",
    "weekdays": [1, 2, 3, 4, 5, 6, 7],
    "start_time": "19:00",
    "end_time": "08:00",
    "valid_from": "2026-01-01",
    "valid_until": None,
}


async def manager_with_building(client, conn) -> tuple[dict[str, str], int]:
    email = await make_account(conn, "manager")
    building_id = await add_building(conn, await user_id_of(conn, email))
    return await login_headers(client, email), building_id


async def _count(conn, table: str, building_id: int) -> int:
    return await conn.fetchval(f"SELECT count(*) FROM {table} WHERE building_id = $1", building_id)


async def _status(conn, reservation_id: int) -> str:
    return await conn.fetchval("SELECT status FROM reservations WHERE id = $1", reservation_id)


async def test_manager_creates_lists_and_deletes_rules(client, conn) -> None:
    headers, building = await manager_with_building(client, conn)
    base = f"/buildings/{building}/off-peak-rules"
    body = {**RULE, "day_class": "rest_days", "weekdays": [7, 6], "valid_until": "2026-12-31"}

    response = await client.post(base, json=body, headers=headers)

    assert response.status_code == 201, response.text
    rule = response.json()
    assert rule["building_id"] == building and rule["weekdays"] == [6, 7]
    assert (rule["start_time"], rule["end_time"]) == ("19:00:00", "08:00:00")
    row = await conn.fetchrow("SELECT * FROM off_peak_rules WHERE id = $1", rule["id"])
    assert (row["day_class"], row["weekdays"], row["valid_until"]) == (
        "rest_days",
        [6, 7],
        dt.date(2026, 12, 31),
    )
    listed = (await client.get(base, headers=headers)).json()
    assert [r["id"] for r in listed] == [rule["id"]]

    assert (await client.delete(f"{base}/{rule['id']}", headers=headers)).status_code == 204
    assert await _count(conn, "off_peak_rules", building) == 0
    assert_problem(await client.delete(f"{base}/{rule['id']}", headers=headers), 404, "not-found")


@pytest.mark.parametrize(
    "change",
    [
        {"weekdays": []},
        {"weekdays": [0, 1]},
        {"weekdays": [1, 8]},
        {"weekdays": [1, 1]},
        {"day_class": "holidays"},
        {"start_time": "25:00"},
        {"end_time": "8 pm"},
        {"start_time": "19:00+08:00"},
        {"valid_from": "2026-02-30"},
        {"valid_from": "2026-03-01", "valid_until": "2026-02-28"},
        {"extra": 1},
    ],
)
async def test_a_bad_rule_is_refused_and_changes_nothing(client, conn, change) -> None:
    headers, building = await manager_with_building(client, conn)
    response = await client.post(
        f"/buildings/{building}/off-peak-rules", json={**RULE, **change}, headers=headers
    )
    assert_problem(response, 422, "validation-error")
    assert await _count(conn, "off_peak_rules", building) == 0


async def test_manager_creates_lists_and_lifts_blackouts(client, conn) -> None:
    headers, building = await manager_with_building(client, conn)
    base = f"/buildings/{building}/blackouts"
    night = night_in(10)
    body = {
        "start": local(night, 18).isoformat(),
        "end": local(night, 23).isoformat(),
        "reason": "年会",
    }

    response = await client.post(base, json=body, headers=headers)

    assert response.status_code == 201, response.text
    created = response.json()
    assert dt.datetime.fromisoformat(created["start"]) == local(night, 18)
    assert dt.datetime.fromisoformat(created["end"]) == local(night, 23)
    period = await conn.fetchval("SELECT period FROM blackouts WHERE id = $1", created["id"])
    assert (period.lower, period.upper, period.lower_inc, period.upper_inc) == (
        local(night, 18),
        local(night, 23),
        True,
        False,
    )
    past = await add_blackout(conn, building, local(night_in(-30), 18), local(night_in(-30), 20))
    assert [b["id"] for b in (await client.get(base, headers=headers)).json()] == [created["id"]]
    everything = await client.get(base, params={"include_past": "true"}, headers=headers)
    assert [b["id"] for b in everything.json()] == [past, created["id"]]

    assert (await client.delete(f"{base}/{created['id']}", headers=headers)).status_code == 204
    assert await _count(conn, "blackouts", building) == 1
    assert_problem(
        await client.delete(f"{base}/{created['id']}", headers=headers), 404, "not-found"
    )


@pytest.mark.parametrize(
    "body",
    [
        {"start": "2026-12-01T18:00:00", "end": "2026-12-01T23:00:00"},  # no offset
        {"start": "2026-12-01T18:00:00+08:00", "end": "2026-12-01T18:00:00+08:00"},
        {"start": "2026-12-01T18:00:00+08:00", "end": "2026-12-01T09:59:00Z"},  # before start
        {"start": "2026-12-01T18:00:00+08:00"},
        {"start": "2026-12-01", "end": "2026-12-02"},
    ],
)
async def test_a_bad_blackout_is_refused_and_changes_nothing(client, conn, body) -> None:
    headers, building = await manager_with_building(client, conn)
    response = await client.post(f"/buildings/{building}/blackouts", json=body, headers=headers)
    assert_problem(response, 422, "validation-error")
    assert await _count(conn, "blackouts", building) == 0


async def test_another_managers_building_is_not_found_and_residents_are_forbidden(
    client, conn
) -> None:
    _, building = await manager_with_building(client, conn)
    rule = await add_window(conn, building, dt.time(19), dt.time(8), dt.date(2026, 1, 1))
    blackout = await add_blackout(conn, building, local(night_in(2), 18), local(night_in(2), 20))
    other, _ = await manager_with_building(client, conn)
    resident = await auth_headers(client, conn, "resident")
    base = f"/buildings/{building}"
    calls = [
        ("get", f"{base}/off-peak-rules", None),
        ("post", f"{base}/off-peak-rules", RULE),
        ("delete", f"{base}/off-peak-rules/{rule}", None),
        ("get", f"{base}/blackouts", None),
        (
            "post",
            f"{base}/blackouts",
            {"start": local(night_in(2), 1).isoformat(), "end": local(night_in(2), 2).isoformat()},
        ),
        ("delete", f"{base}/blackouts/{blackout}", None),
        ("get", f"{base}/windows", None),
    ]
    for method, path, body in calls:
        kwargs = {"json": body} if body is not None else {}
        response = await getattr(client, method)(path, headers=other, **kwargs)
        assert_problem(response, 404, "not-found")
        response = await getattr(client, method)(path, headers=resident, **kwargs)
        assert_problem(response, 403, "forbidden")
    assert await _count(conn, "off_peak_rules", building) == 1
    assert await _count(conn, "blackouts", building) == 1
    missing = await client.get("/buildings/999999/off-peak-rules", headers=other)
    assert_problem(missing, 404, "not-found")


async def test_an_admin_manages_any_building(client, conn) -> None:
    _, building = await manager_with_building(client, conn)
    admin = await auth_headers(client, conn, "admin")
    response = await client.post(f"/buildings/{building}/off-peak-rules", json=RULE, headers=admin)
    assert response.status_code == 201, response.text
    assert await _count(conn, "off_peak_rules", building) == 1


async def test_windows_follow_rules_holidays_and_blackouts(client, conn) -> None:
    headers, building = await manager_with_building(client, conn)
    await add_window(
        conn, building, dt.time(19), dt.time(8), dt.date(2026, 1, 1), day_class="working_days"
    )
    await add_blackout(
        conn, building, local(dt.date(2026, 2, 13), 22), local(dt.date(2026, 2, 13), 23, 30)
    )

    response = await client.get(
        f"/buildings/{building}/windows",
        params={"from": "2026-02-13", "nights": 4},
        headers=headers,
    )

    assert response.status_code == 200, response.text
    nights = {n["night"]: n for n in response.json()}
    assert list(nights) == ["2026-02-13", "2026-02-14", "2026-02-15", "2026-02-16"]
    assert nights["2026-02-13"]["windows"] == [
        {"start": "2026-02-13T19:00:00+08:00", "end": "2026-02-13T22:00:00+08:00"},
        {"start": "2026-02-13T23:30:00+08:00", "end": "2026-02-14T08:00:00+08:00"},
    ]
    # Saturday 14 February 2026 is worked in exchange for the Spring Festival.
    assert nights["2026-02-14"]["windows"] == [
        {"start": "2026-02-14T19:00:00+08:00", "end": "2026-02-15T08:00:00+08:00"},
    ]
    assert nights["2026-02-15"]["windows"] == []  # Sunday, and the holiday
    assert nights["2026-02-16"]["windows"] == []  # Monday in the holiday
    assert all(n["problem"] is None for n in nights.values())


async def test_windows_name_the_nights_whose_calendar_year_is_missing(client, conn) -> None:
    headers, building = await manager_with_building(client, conn)
    await add_window(
        conn, building, dt.time(19), dt.time(8), dt.date(2026, 1, 1), day_class="rest_days"
    )
    response = await client.get(
        f"/buildings/{building}/windows",
        params={"from": "2026-12-31", "nights": 2},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    last, first_2027 = response.json()
    assert last["problem"] is None and last["windows"] == []  # a Thursday
    assert first_2027["windows"] == []
    problem = first_2027["problem"]
    assert problem["type"] == "calendar-missing" and problem["status"] == 409
    assert problem["year"] == 2027 and "2027" in problem["detail"]


@pytest.mark.parametrize("params", [{"nights": 63}, {"nights": 0}, {"from": "2026-13-01"}])
async def test_windows_refuse_bad_ranges(client, conn, params) -> None:
    headers, building = await manager_with_building(client, conn)
    response = await client.get(f"/buildings/{building}/windows", params=params, headers=headers)
    assert_problem(response, 422, "validation-error")


async def test_windows_default_to_a_week_from_tonight(client, conn) -> None:
    headers, building = await manager_with_building(client, conn)
    response = await client.get(f"/buildings/{building}/windows", headers=headers)
    assert response.status_code == 200, response.text
    nights = [n["night"] for n in response.json()]
    assert len(nights) == 7 and nights[0] == local_today().isoformat()


async def _reservation_setup(conn, building: int) -> tuple[dt.date, int, int]:
    night = night_in(2)
    space = await add_space(conn, building)
    await add_window(conn, building, dt.time(19), dt.time(8), dt.date(2026, 1, 1))
    booked = await insert_reservation(
        conn, space_id=space, night=night, start=local(night, 20), end=local(night, 23)
    )
    return night, space, booked


async def test_a_blackout_that_strands_reservations_is_refused(client, conn) -> None:
    headers, building = await manager_with_building(client, conn)
    night, space, booked = await _reservation_setup(conn, building)
    next_morning = night + dt.timedelta(days=1)
    held = await insert_reservation(
        conn,
        space_id=space,
        night=next_morning,
        start=local(next_morning, 20),
        end=local(next_morning, 22),
        status="held",
        plate="粤B22222",
    )
    await insert_reservation(
        conn,
        space_id=space,
        night=night,
        start=local(night, 23),
        end=local(night + dt.timedelta(days=1), 2),
        status="cancelled",
        plate="粤B33333",
    )
    clear = await insert_reservation(
        conn,
        space_id=space,
        night=night,
        start=local(night, 19),
        end=local(night, 20),
        plate="粤B44444",
    )
    body = {"start": local(night, 21).isoformat(), "end": local(next_morning, 21).isoformat()}

    response = await client.post(f"/buildings/{building}/blackouts", json=body, headers=headers)

    problem = assert_problem(response, 409, "window-conflicts")
    assert problem["reservation_ids"] == sorted([booked, held])
    assert await _count(conn, "blackouts", building) == 0
    assert [await _status(conn, r) for r in (booked, held, clear)] == [
        "confirmed",
        "held",
        "confirmed",
    ]

    response = await client.post(
        f"/buildings/{building}/blackouts",
        json={**body, "cancel_reservations": True},
        headers=headers,
    )

    assert response.status_code == 201, response.text
    assert await _count(conn, "blackouts", building) == 1
    assert [await _status(conn, r) for r in (booked, held, clear)] == [
        "cancelled",
        "cancelled",
        "confirmed",
    ]
    fees = await conn.fetch("SELECT fee_fen FROM reservations WHERE id = ANY($1)", [booked, held])
    assert {r["fee_fen"] for r in fees} == {0}


async def test_removing_a_rule_that_strands_reservations_is_refused(client, conn) -> None:
    headers, building = await manager_with_building(client, conn)
    _, _, booked = await _reservation_setup(conn, building)
    (rule,) = [r["id"] for r in await conn.fetch("SELECT id FROM off_peak_rules")]
    spare = await add_window(conn, building, dt.time(18), dt.time(21), dt.date(2026, 1, 1))
    base = f"/buildings/{building}/off-peak-rules"

    # The 18:00-21:00 rule is not needed: the 19:00-08:00 one still covers the booking.
    assert (await client.delete(f"{base}/{spare}", headers=headers)).status_code == 204

    problem = assert_problem(
        await client.delete(f"{base}/{rule}", headers=headers), 409, "window-conflicts"
    )
    assert problem["reservation_ids"] == [booked]
    assert await _count(conn, "off_peak_rules", building) == 1
    assert await _status(conn, booked) == "confirmed"

    response = await client.delete(
        f"{base}/{rule}", params={"cancel_reservations": "true"}, headers=headers
    )
    assert response.status_code == 204, response.text
    assert await _count(conn, "off_peak_rules", building) == 0
    assert await _status(conn, booked) == "cancelled"


async def test_an_admin_calendar_entry_makes_a_2027_working_days_rule_work(client, conn) -> None:
    headers, building = await manager_with_building(client, conn)
    admin = await auth_headers(client, conn, "admin")
    rule = {**RULE, "day_class": "working_days", "valid_from": "2027-01-01"}
    response = await client.post(
        f"/buildings/{building}/off-peak-rules", json=rule, headers=headers
    )
    assert response.status_code == 201, response.text
    week = {"from": "2027-01-04", "nights": 2}  # Monday and Tuesday

    before = (
        await client.get(f"/buildings/{building}/windows", params=week, headers=headers)
    ).json()
    assert [n["problem"]["type"] for n in before] == ["calendar-missing"] * 2

    official = [{"day": "2027-01-05", "kind": "holiday", "name": "示例"}]
    response = await client.put("/admin/calendar/2027", json=official, headers=admin)
    assert response.status_code == 200, response.text

    after = (
        await client.get(f"/buildings/{building}/windows", params=week, headers=headers)
    ).json()
    assert after[0]["problem"] is None and after[0]["windows"] == [
        {"start": "2027-01-04T19:00:00+08:00", "end": "2027-01-05T08:00:00+08:00"}
    ]
    assert after[1] == {"night": "2027-01-05", "windows": [], "problem": None}


async def test_a_night_without_its_calendar_year_is_a_409_problem() -> None:
    from litestar import Litestar, get
    from litestar.testing import AsyncTestClient

    from parking.errors import exception_handlers, problem_details_plugin
    from parking.windows import CalendarMissing

    @get("/night")
    async def night() -> None:
        raise CalendarMissing(2031)

    app = Litestar(
        [night], exception_handlers=exception_handlers(), plugins=[problem_details_plugin()]
    )
    async with AsyncTestClient(app) as test_client:
        problem = assert_problem(await test_client.get("/night"), 409, "calendar-missing")
    assert problem["year"] == 2031
    assert "2031" in problem["detail"] and "admin" in problem["detail"]


async def _availability(conn) -> dict[str, list[dict]]:
    """Availability messages in the outbox: payloads by night, oldest first."""
    rows = await conn.fetch(
        "SELECT payload FROM outbox WHERE entity_kind = 'availability' ORDER BY id"
    )
    by_night: dict[str, list[dict]] = {}
    for row in rows:
        by_night.setdefault(row["payload"]["night"], []).append(row["payload"])
    return by_night


async def test_changes_republish_the_affected_nights_within_the_horizon(client, conn) -> None:
    headers, building = await manager_with_building(client, conn)
    await add_space(conn, building)
    today = local_today()
    horizon = [today + dt.timedelta(days=i) for i in range(8)]  # tonight and 7 more
    base = f"/buildings/{building}"

    response = await client.post(
        f"{base}/off-peak-rules",
        json={**RULE, "valid_from": today.isoformat(), "valid_until": horizon[3].isoformat()},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    published = await _availability(conn)
    assert sorted(published) == [n.isoformat() for n in horizon[:4]]
    assert published[horizon[2].isoformat()][-1]["window"] == {
        "start": local(horizon[2], 19).isoformat(),
        "end": local(horizon[3], 8).isoformat(),
    }

    # A blackout early on one morning touches that night and the one before.
    night = horizon[2]
    morning = night + dt.timedelta(days=1)
    body = {"start": local(morning, 1).isoformat(), "end": local(morning, 9).isoformat()}
    response = await client.post(f"{base}/blackouts", json=body, headers=headers)
    assert response.status_code == 201, response.text
    published = await _availability(conn)
    assert len(published[night.isoformat()]) == 2
    assert len(published[morning.isoformat()]) == 2
    assert len(published[horizon[1].isoformat()]) == 1
    assert published[night.isoformat()][-1]["window"] == {
        "start": local(night, 19).isoformat(),
        "end": local(morning, 1).isoformat(),
    }
    assert [p["version"] for p in published[night.isoformat()]] == [1, 2]

    # A refused change publishes nothing.
    before = await conn.fetchval("SELECT count(*) FROM outbox")
    bad = await client.post(f"{base}/blackouts", json={"start": body["start"]}, headers=headers)
    assert_problem(bad, 422, "validation-error")
    assert await conn.fetchval("SELECT count(*) FROM outbox") == before

    # A rule beyond the horizon publishes nothing either.
    later = {**RULE, "valid_from": (today + dt.timedelta(days=30)).isoformat()}
    assert (
        await client.post(f"{base}/off-peak-rules", json=later, headers=headers)
    ).status_code == 201
    assert await conn.fetchval("SELECT count(*) FROM outbox") == before


async def test_a_calendar_year_that_published_nights_need_cannot_be_uncovered(client, conn) -> None:
    admin = await auth_headers(client, conn, "admin")
    this_year = local_today().year
    building = await add_building(conn)
    await add_window(
        conn, building, dt.time(19), dt.time(8), dt.date(this_year, 1, 1), day_class="rest_days"
    )

    problem = assert_problem(
        await client.delete(f"/admin/calendar/{this_year}", headers=admin), 409, "calendar-in-use"
    )
    assert problem["building_ids"] == [building]
    assert await conn.fetchval("SELECT source FROM calendar_years WHERE year = $1", this_year)

    await conn.execute("DELETE FROM off_peak_rules WHERE building_id = $1", building)
    assert (await client.delete(f"/admin/calendar/{this_year}", headers=admin)).status_code == 204
    assert not await conn.fetchval("SELECT count(*) FROM calendar_years WHERE year = $1", this_year)


async def test_an_admin_calendar_entry_republishes_nights_that_depend_on_it(client, conn) -> None:
    admin = await auth_headers(client, conn, "admin")
    today = local_today()
    building = await add_building(conn)
    await add_window(
        conn, building, dt.time(19), dt.time(8), dt.date(today.year, 1, 1), day_class="rest_days"
    )
    idle = await add_building(conn)
    await add_window(conn, idle, dt.time(19), dt.time(8), dt.date(today.year, 1, 1))
    days = [{"day": today.isoformat(), "kind": "holiday", "name": "district day"}]

    response = await client.put(f"/admin/calendar/{today.year}", json=days, headers=admin)

    assert response.status_code == 200, response.text
    rows = await conn.fetch(
        "SELECT payload FROM outbox WHERE entity_kind = 'availability' ORDER BY id"
    )
    place = await conn.fetchval("SELECT district_place_id FROM buildings WHERE id = $1", building)
    assert {r["payload"]["place_id"] for r in rows} == {place}  # every_day rules do not care
    holiday = [r["payload"] for r in rows if r["payload"]["night"] == today.isoformat()]
    assert holiday and holiday[-1]["window"] == {
        "start": local(today, 19).isoformat(),
        "end": local(today + dt.timedelta(days=1), 8).isoformat(),
    }


async def test_a_calendar_correction_that_strands_reservations_is_refused(client, conn) -> None:
    admin = await auth_headers(client, conn, "admin")
    assert (await client.put("/admin/calendar/2027", json=[], headers=admin)).status_code == 200
    building = await add_building(conn)
    space = await add_space(conn, building)
    await add_window(
        conn, building, dt.time(19), dt.time(8), dt.date(2027, 1, 1), day_class="working_days"
    )
    monday = dt.date(2027, 3, 1)
    booked = await insert_reservation(
        conn, space_id=space, night=monday, start=local(monday, 20), end=local(monday, 23)
    )
    correction = [{"day": "2027-03-01", "kind": "holiday", "name": "示例"}]

    response = await client.put("/admin/calendar/2027", json=correction, headers=admin)

    problem = assert_problem(response, 409, "window-conflicts")
    assert problem["reservation_ids"] == [booked]
    assert not await conn.fetchval("SELECT count(*) FROM calendar_days WHERE day = '2027-03-01'")
    assert await _status(conn, booked) == "confirmed"
    uncover = await client.delete("/admin/calendar/2027", headers=admin)
    assert assert_problem(uncover, 409, "calendar-in-use")["reservation_ids"] == [booked]
    assert await conn.fetchval("SELECT count(*) FROM calendar_years WHERE year = 2027") == 1

    response = await client.put(
        "/admin/calendar/2027",
        json=correction,
        params={"cancel_reservations": "true"},
        headers=admin,
    )

    assert response.status_code == 200, response.text
    assert await conn.fetchval("SELECT kind FROM calendar_days WHERE day = '2027-03-01'") == (
        "holiday"
    )
    assert await _status(conn, booked) == "cancelled"
