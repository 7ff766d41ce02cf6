"""The holiday calendar: seeded from the package once, editable by an admin, never guessed."""

from __future__ import annotations

import datetime as dt

import chinese_calendar

from parking.calendar.service import package_years, seed_calendar
from tests.helpers import assert_problem, auth_headers, parking
from tests.windows.strategies import SHANGHAI

PACKAGE_YEARS = sorted({d.year for d in chinese_calendar.holidays})


async def _years(conn) -> dict[int, str]:
    return {r["year"]: r["source"] for r in await conn.fetch("SELECT * FROM calendar_years")}


async def _days(conn, year: int) -> list[tuple]:
    rows = await conn.fetch(
        "SELECT day, kind, name, source FROM calendar_days"
        " WHERE extract(year FROM day) = $1 ORDER BY day",
        year,
    )
    return [tuple(r) for r in rows]


async def test_the_template_holds_every_year_the_package_knows(conn) -> None:
    assert PACKAGE_YEARS[0] == 2004 and PACKAGE_YEARS[-1] >= 2026
    assert await _years(conn) == dict.fromkeys(PACKAGE_YEARS, "package")
    days = {d: (k, n) for d, k, n, _ in await _days(conn, 2026)}
    assert days[dt.date(2026, 2, 14)] == ("workday", "春节")  # a Saturday worked
    assert days[dt.date(2026, 2, 16)] == ("holiday", "春节")
    assert days[dt.date(2026, 10, 1)] == ("holiday", "国庆节")
    holidays = {d for d, (k, _) in days.items() if k == "holiday"}
    workdays = {d for d, (k, _) in days.items() if k == "workday"}
    assert holidays == {d for d in chinese_calendar.holidays if d.year == 2026}
    assert workdays == {d for d in chinese_calendar.workdays if d.year == 2026}


async def test_seeding_adds_only_missing_years_and_never_overwrites_an_admin_year(conn) -> None:
    assert await seed_calendar(conn) == []
    # An admin corrected 2025; 2024 was uncovered by mistake.
    await conn.execute("UPDATE calendar_years SET source = 'admin' WHERE year = 2025")
    await conn.execute("DELETE FROM calendar_days WHERE extract(year FROM day) = 2025")
    await conn.execute(
        "INSERT INTO calendar_days (day, kind, name, source)"
        " VALUES ('2025-12-26', 'holiday', 'district day', 'admin')"
    )
    await conn.execute("DELETE FROM calendar_days WHERE extract(year FROM day) = 2024")
    await conn.execute("DELETE FROM calendar_years WHERE year = 2024")

    assert await seed_calendar(conn) == [2024]

    years = await _years(conn)
    assert years[2024] == "package" and years[2025] == "admin"
    assert await _days(conn, 2025) == [(dt.date(2025, 12, 26), "holiday", "district day", "admin")]
    assert len(await _days(conn, 2024)) == len(package_years()[2024])


async def test_calendar_status_command_lists_covered_years(db_dsn) -> None:
    done = parking("calendar-status", dsn=db_dsn)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == len(PACKAGE_YEARS)
    assert lines[-1].startswith("2026  package")
    this_year = dt.datetime.now(SHANGHAI).year
    if this_year + 1 not in PACKAGE_YEARS:
        assert f"not entered: {this_year + 1}" in done.stderr


async def test_admin_reads_a_year(client, conn) -> None:
    admin = await auth_headers(client, conn, "admin")
    response = await client.get("/admin/calendar/2026", headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["covered"] is True and body["source"] == "package"
    assert {"day": "2026-02-14", "kind": "workday", "name": "春节"} in body["days"]
    missing = (await client.get("/admin/calendar/2027", headers=admin)).json()
    assert missing == {
        "year": 2027,
        "covered": False,
        "source": None,
        "updated_at": None,
        "days": [],
    }
    listing = (await client.get("/admin/calendar", headers=admin)).json()
    assert [y["year"] for y in listing] == PACKAGE_YEARS
    assert_problem(await client.get("/admin/calendar/1999", headers=admin), 422, "validation-error")


async def test_admin_enters_and_uncovers_a_year(client, conn) -> None:
    admin = await auth_headers(client, conn, "admin")
    year_2027 = [
        {"day": "2027-01-01", "kind": "holiday", "name": "元旦"},
        {"day": "2027-02-06", "kind": "workday", "name": "春节"},  # a Saturday
        {"day": "2027-02-08", "kind": "holiday", "name": "春节"},
    ]
    response = await client.put("/admin/calendar/2027", json=year_2027, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["covered"] is True and response.json()["source"] == "admin"
    assert await _days(conn, 2027) == [
        (dt.date(2027, 1, 1), "holiday", "元旦", "admin"),
        (dt.date(2027, 2, 6), "workday", "春节", "admin"),
        (dt.date(2027, 2, 8), "holiday", "春节", "admin"),
    ]
    # A second PUT replaces the whole year.
    response = await client.put("/admin/calendar/2027", json=year_2027[:1], headers=admin)
    assert [d["day"] for d in response.json()["days"]] == ["2027-01-01"]
    assert len(await _days(conn, 2027)) == 1
    # Editing a package year makes it the admin's; seeding leaves it alone from then on.
    await client.put("/admin/calendar/2026", json=[], headers=admin)
    assert (await _years(conn))[2026] == "admin"
    assert await seed_calendar(conn) == []
    assert await _days(conn, 2026) == []

    response = await client.delete("/admin/calendar/2027", headers=admin)
    assert response.status_code == 204
    assert 2027 not in await _years(conn)
    assert await _days(conn, 2027) == []
    assert (await client.delete("/admin/calendar/2027", headers=admin)).status_code == 204


async def test_a_bad_year_is_refused_and_changes_nothing(client, conn) -> None:
    admin = await auth_headers(client, conn, "admin")
    before_years, before_days = await _years(conn), await _days(conn, 2026)
    cases = [
        ([{"day": "2027-01-01", "kind": "holiday"}], "day-outside-year"),
        ([{"day": "2026-03-04", "kind": "workday"}], "workday-not-weekend"),  # a Wednesday
        (
            [{"day": "2026-03-07", "kind": "workday"}, {"day": "2026-03-07", "kind": "holiday"}],
            "duplicate-day",
        ),
        ([{"day": "2026-03-07", "kind": "festival"}], "validation-error"),
        ({"days": []}, "validation-error"),
    ]
    for body, type_ in cases:
        response = await client.put("/admin/calendar/2026", json=body, headers=admin)
        assert_problem(response, 422, type_)
    assert await _years(conn) == before_years
    assert await _days(conn, 2026) == before_days


async def test_only_admins_touch_the_calendar(client, conn) -> None:
    for role in ("manager", "resident"):
        headers = await auth_headers(client, conn, role)
        assert_problem(await client.get("/admin/calendar/2026", headers=headers), 403, "forbidden")
        response = await client.put("/admin/calendar/2026", json=[], headers=headers)
        assert_problem(response, 403, "forbidden")
        response = await client.delete("/admin/calendar/2026", headers=headers)
        assert_problem(response, 403, "forbidden")
    assert (await _years(conn))[2026] == "package"
    assert_problem(await client.get("/admin/calendar/2026"), 401, "unauthorized")
