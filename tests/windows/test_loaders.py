"""The database loaders give what the pure core gives, for many buildings and nights at once."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parking.windows import (
    CalendarMissing,
    Window,
    compute_windows,
    load_window_results,
    load_windows,
    night_windows,
)
from tests.factories import add_blackout, add_building, add_window
from tests.windows.strategies import SHANGHAI, blackouts_near, package_calendar, rules

T = SHANGHAI


async def _cover(conn, year: int, days: dict[dt.date, str] | None = None) -> None:
    await conn.execute(
        "INSERT INTO calendar_years (year, source) VALUES ($1, 'admin')"
        " ON CONFLICT (year) DO NOTHING",
        year,
    )
    for day, kind in (days or {}).items():
        await conn.execute(
            "INSERT INTO calendar_days (day, kind, source) VALUES ($1, $2, 'admin')"
            " ON CONFLICT (day) DO UPDATE SET kind = excluded.kind",
            day,
            kind,
        )


async def test_every_pair_is_present_with_its_own_rules_and_blackouts(conn) -> None:
    a = await add_building(conn)
    b = await add_building(conn)
    idle = await add_building(conn)
    await add_window(conn, a, dt.time(19), dt.time(8), dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    await add_window(conn, b, dt.time(22), dt.time(6), dt.date(2026, 3, 15))
    await add_blackout(
        conn, a, dt.datetime(2026, 3, 31, 23, tzinfo=T), dt.datetime(2026, 4, 1, 2, tzinfo=T)
    )
    nights = [dt.date(2026, 3, 14), dt.date(2026, 3, 31), dt.date(2026, 4, 1)]

    windows = await load_windows(conn, [a, b, idle], nights, T)

    assert set(windows) == {(x, n) for x in (a, b, idle) for n in nights}
    assert windows[a, dt.date(2026, 3, 14)] == (
        Window(dt.datetime(2026, 3, 14, 19, tzinfo=T), dt.datetime(2026, 3, 15, 8, tzinfo=T)),
    )
    # Last night of the rule, ending in April, cut by the blackout.
    assert windows[a, dt.date(2026, 3, 31)] == (
        Window(dt.datetime(2026, 3, 31, 19, tzinfo=T), dt.datetime(2026, 3, 31, 23, tzinfo=T)),
        Window(dt.datetime(2026, 4, 1, 2, tzinfo=T), dt.datetime(2026, 4, 1, 8, tzinfo=T)),
    )
    assert windows[a, dt.date(2026, 4, 1)] == ()
    assert windows[b, dt.date(2026, 3, 14)] == ()
    assert windows[b, dt.date(2026, 4, 1)] == (
        Window(dt.datetime(2026, 4, 1, 22, tzinfo=T), dt.datetime(2026, 4, 2, 6, tzinfo=T)),
    )
    assert all(v == () for (x, _), v in windows.items() if x == idle)
    assert await night_windows(conn, a, dt.date(2026, 3, 31), T) == windows[a, dt.date(2026, 3, 31)]


async def test_a_blackout_of_the_next_morning_cuts_the_night_before(conn) -> None:
    a = await add_building(conn)
    await add_window(conn, a, dt.time(19), dt.time(8), dt.date(2026, 1, 1))
    # The blackout lies entirely in the local day after the night.
    await add_blackout(
        conn, a, dt.datetime(2026, 5, 2, 6, tzinfo=T), dt.datetime(2026, 5, 2, 12, tzinfo=T)
    )
    assert await night_windows(conn, a, dt.date(2026, 5, 1), T) == (
        Window(dt.datetime(2026, 5, 1, 19, tzinfo=T), dt.datetime(2026, 5, 2, 6, tzinfo=T)),
    )


async def test_day_classes_use_the_calendar_tables(conn) -> None:
    a = await add_building(conn)
    await add_window(conn, a, dt.time(19), dt.time(8), dt.date(2027, 1, 1), day_class="rest_days")
    friday, saturday, sunday = dt.date(2027, 1, 1), dt.date(2027, 1, 2), dt.date(2027, 1, 3)

    with pytest.raises(CalendarMissing) as raised:
        await load_windows(conn, [a], [friday, saturday], T)
    assert raised.value.year == 2027
    results = await load_window_results(conn, [a], [dt.date(2026, 12, 31), friday], T)
    assert results[a, dt.date(2026, 12, 31)] == ()  # before the rule: nothing needed
    assert isinstance(results[a, friday], CalendarMissing)

    # Holiday on Friday 1 January, Saturday 2 January worked in exchange.
    await _cover(conn, 2027, {friday: "holiday", saturday: "workday"})
    windows = await load_windows(conn, [a], [friday, saturday, sunday], T)
    assert windows[a, friday] and windows[a, sunday]
    assert windows[a, saturday] == ()


async def test_days_of_an_uncovered_year_are_not_a_calendar(conn) -> None:
    a = await add_building(conn)
    await add_window(
        conn, a, dt.time(19), dt.time(8), dt.date(2028, 1, 1), day_class="working_days"
    )
    await conn.execute(
        "INSERT INTO calendar_days (day, kind, source) VALUES ('2028-01-03', 'holiday', 'admin')"
    )
    with pytest.raises(CalendarMissing):
        await night_windows(conn, a, dt.date(2028, 1, 3), T)


async def test_no_buildings_or_no_nights_is_empty(conn) -> None:
    assert await load_windows(conn, [], [dt.date(2026, 1, 1)], T) == {}
    assert await load_windows(conn, [1], [], T) == {}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), first=st.dates(dt.date(2024, 1, 1), dt.date(2026, 12, 20)))
async def test_loaded_windows_equal_the_pure_core_over_the_real_calendar(conn, data, first) -> None:
    classes = ("every_day", "working_days", "rest_days")
    nights = [first + dt.timedelta(days=i) for i in range(data.draw(st.integers(1, 10)))]
    rule_sets = data.draw(
        st.lists(st.lists(rules(first, classes), max_size=3), min_size=1, max_size=3)
    )
    cut_sets = [data.draw(st.lists(blackouts_near(first), max_size=3)) for _ in rule_sets]
    tx = conn.transaction()
    await tx.start()
    try:
        buildings = []
        for rule_list, cuts in zip(rule_sets, cut_sets, strict=True):
            building = await add_building(conn)
            buildings.append(building)
            for r in rule_list:
                await add_window(
                    conn,
                    building,
                    r.start_time,
                    r.end_time,
                    r.valid_from,
                    r.valid_until,
                    day_class=r.day_class,
                    weekdays=sorted(r.weekdays),
                )
            for start, end in cuts:
                await add_blackout(conn, building, start, end)

        loaded = await load_windows(conn, buildings, nights, T)

        for building, rule_list, cuts in zip(buildings, rule_sets, cut_sets, strict=True):
            for night in nights:
                expected = compute_windows(night, rule_list, cuts, package_calendar(), T)
                assert loaded[building, night] == expected
    finally:
        await tx.rollback()
