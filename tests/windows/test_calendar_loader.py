"""load_calendar: the covered years among those asked, and only their days."""

from __future__ import annotations

import datetime as dt

from parking.windows import load_calendar


async def test_the_calendar_holds_covered_years_and_their_days_only(conn) -> None:
    await conn.execute("INSERT INTO calendar_years (year, source) VALUES (2027, 'admin')")
    await conn.execute(
        "INSERT INTO calendar_days (day, kind, name, source) VALUES"
        " ('2027-01-01', 'holiday', 'New Year', 'admin'),"
        " ('2027-01-02', 'workday', 'New Year (worked)', 'admin'),"
        " ('2028-01-03', 'holiday', 'Uncovered', 'admin')"
    )
    calendar = await load_calendar(conn, dt.date(2026, 12, 30), dt.date(2028, 1, 5))
    assert 2027 in calendar.years and 2028 not in calendar.years
    assert dt.date(2027, 1, 1) in calendar.holidays
    assert dt.date(2027, 1, 2) in calendar.workdays
    assert dt.date(2028, 1, 3) not in calendar.holidays  # its year is not covered
    assert calendar.names[dt.date(2027, 1, 1)] == "New Year"
    # Days outside the asked range are not loaded.
    later = await load_calendar(conn, dt.date(2027, 1, 2), dt.date(2027, 1, 31))
    assert later.holidays == frozenset() and later.workdays == frozenset({dt.date(2027, 1, 2)})
