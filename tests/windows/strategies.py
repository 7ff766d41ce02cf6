"""Hypothesis strategies for off-peak rules, blackouts, and the real holiday calendar."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import chinese_calendar
from hypothesis import strategies as st

from parking.windows import Calendar, OffPeakRule, local_instant

__all__ = [
    "SHANGHAI",
    "blackouts_near",
    "clock_times",
    "package_calendar",
    "rules",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")

clock_times = st.builds(dt.time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45, 59]))
weekday_sets = st.frozensets(st.integers(1, 7), min_size=1)


def package_calendar(years: range = range(2024, 2027)) -> Calendar:
    """The calendar of ``years`` as the chinesecalendar package states it."""
    covered = set(years)
    return Calendar(
        years=frozenset(covered),
        holidays=frozenset(d for d in chinese_calendar.holidays if d.year in covered),
        workdays=frozenset(d for d in chinese_calendar.workdays if d.year in covered),
    )


@st.composite
def rules(
    draw: st.DrawFn,
    around: dt.date,
    day_classes: tuple[str, ...] = ("every_day",),
) -> OffPeakRule:
    """A rule whose validity range is near ``around`` (often containing it)."""
    start = around - dt.timedelta(days=draw(st.integers(-3, 40)))
    length = draw(st.none() | st.integers(0, 60))
    return OffPeakRule(
        start_time=draw(clock_times),
        end_time=draw(clock_times),
        valid_from=start,
        valid_until=None if length is None else start + dt.timedelta(days=length),
        weekdays=draw(st.one_of(st.just(frozenset(range(1, 8))), weekday_sets)),
        day_class=draw(st.sampled_from(day_classes)),
    )


@st.composite
def blackouts_near(
    draw: st.DrawFn, night: dt.date, tz: ZoneInfo = SHANGHAI
) -> tuple[dt.datetime, dt.datetime]:
    """A blackout somewhere in the two local days a night's windows can touch."""
    base = local_instant(night, dt.time(0), tz)
    start = base + dt.timedelta(minutes=15 * draw(st.integers(-8, 4 * 48)))
    return start, start + dt.timedelta(minutes=15 * draw(st.integers(1, 4 * 30)))
