"""When a building shares its spaces: the concrete windows of any building and night.

The single source of "when a building shares" for search, booking, passes,
availability and the allocator. Windows are half-open ``[start, end)``, aware,
sorted, disjoint, non-empty, merged where they touch, with blackouts removed.
A night that needs a year of the holiday calendar that nobody has entered raises
``CalendarMissing`` rather than guessing.

Local times become instants with ``zoneinfo`` and ``fold=0`` (PEP 495): a local
time that does not exist (the hour skipped when clocks go forward) moves forward
by the length of the gap (02:30 becomes 03:30), and a local time that happens
twice (the hour repeated when clocks go back) means its first occurrence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal
from zoneinfo import ZoneInfo

import asyncpg

__all__ = [
    "Blackout",
    "Calendar",
    "CalendarMissing",
    "DayClass",
    "OffPeakRule",
    "Window",
    "compute_windows",
    "envelope",
    "load_calendar",
    "load_window_results",
    "load_windows",
    "local_instant",
    "night_windows",
    "subtract",
    "union",
]

DayClass = Literal["every_day", "working_days", "rest_days"]

_DAY = dt.timedelta(days=1)


class CalendarMissing(Exception):
    """A night needs a year of the holiday calendar that has not been entered."""

    def __init__(self, year: int) -> None:
        super().__init__(
            f"The holiday calendar for {year} has not been entered; an admin must enter "
            f"that year's official calendar."
        )
        self.year = year


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open interval ``[start, end)`` of aware instants in which spaces are shared."""

    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window times must be timezone-aware")
        if not self.start < self.end:
            raise ValueError("a window must end after it starts")

    def as_range(self) -> asyncpg.Range:
        """The window as a PostgreSQL ``tstzrange`` value, ``[start, end)``."""
        return asyncpg.Range(self.start, self.end, lower_inc=True, upper_inc=False)

    def contains(self, start: dt.datetime, end: dt.datetime) -> bool:
        """Whether ``[start, end)`` lies entirely inside this window."""
        return self.start <= start and end <= self.end


@dataclass(frozen=True, slots=True)
class OffPeakRule:
    """A weekly rule: on the nights it applies to, share from ``start_time`` to ``end_time``.

    ``end_time`` at or before ``start_time`` falls on the next day; equal times mean
    24 hours. ``valid_until`` is the last night the rule applies to (None: open-ended).
    """

    start_time: dt.time
    end_time: dt.time
    valid_from: dt.date
    valid_until: dt.date | None = None
    weekdays: frozenset[int] = frozenset(range(1, 8))
    day_class: DayClass = "every_day"

    def __post_init__(self) -> None:
        if not self.weekdays or not set(self.weekdays) <= set(range(1, 8)):
            raise ValueError("weekdays must be a non-empty set of ISO weekdays 1..7")
        if self.valid_until is not None and self.valid_until < self.valid_from:
            raise ValueError("valid_until must not be before valid_from")

    def applies_to(self, night: dt.date, calendar: Calendar) -> bool:
        """Whether the rule gives a window on ``night``; may raise CalendarMissing."""
        if night < self.valid_from or (self.valid_until is not None and night > self.valid_until):
            return False
        if night.isoweekday() not in self.weekdays:
            return False
        if self.day_class == "every_day":
            return True  # never needs the calendar
        working = calendar.is_working_day(night)
        return working if self.day_class == "working_days" else not working

    def window(self, night: dt.date, tz: ZoneInfo) -> Window | None:
        """The rule's window on ``night`` (None when a clock change leaves nothing)."""
        end_day = night if self.end_time > self.start_time else night + _DAY
        start = local_instant(night, self.start_time, tz)
        end = local_instant(end_day, self.end_time, tz)
        return Window(start, end) if start < end else None


@dataclass(frozen=True, slots=True)
class Blackout:
    """A period in which the building needs its spaces: no sharing at all."""

    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True, slots=True)
class Calendar:
    """China's working-day calendar for the years an official calendar covers.

    Outside ``holidays`` and ``workdays``, Monday to Friday are working days and
    weekends are rest days; ``holidays`` are rest days, ``workdays`` are the
    weekend days worked in exchange (调休).
    """

    years: frozenset[int]
    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()
    names: Mapping[dt.date, str] = field(default_factory=dict, compare=False)

    def is_working_day(self, day: dt.date) -> bool:
        if day.year not in self.years:
            raise CalendarMissing(day.year)
        if day in self.holidays:
            return False
        if day in self.workdays:
            return True
        return day.isoweekday() <= 5


def local_instant(day: dt.date, at: dt.time, tz: ZoneInfo) -> dt.datetime:
    """The instant of local ``day`` and ``at`` in ``tz`` (gap: forward; overlap: first), in UTC.

    In UTC because Python never finds a time in a gap or fold equal to an instant of
    another zone (PEP 495), which would make equal windows compare unequal.
    """
    naive = dt.datetime.combine(day, at.replace(tzinfo=None, fold=0))
    return naive.replace(tzinfo=tz).astimezone(dt.UTC)


def union(windows: Iterable[Window]) -> tuple[Window, ...]:
    """Sorted, disjoint windows covering the same instants, merged where they touch."""
    merged: list[Window] = []
    for w in sorted(windows, key=lambda w: (w.start, w.end)):
        if merged and w.start <= merged[-1].end:
            if w.end > merged[-1].end:
                merged[-1] = Window(merged[-1].start, w.end)
        else:
            merged.append(w)
    return tuple(merged)


def subtract(
    windows: Sequence[Window], removed: Iterable[tuple[dt.datetime, dt.datetime]]
) -> tuple[Window, ...]:
    """``windows`` (sorted, disjoint) minus every ``[start, end)`` in ``removed``."""
    cuts = union(Window(s, e) for s, e in removed if s < e)
    result: list[Window] = []
    for w in windows:
        start = w.start
        for cut in cuts:
            if cut.end <= start or cut.start >= w.end:
                continue
            if cut.start > start:
                result.append(Window(start, cut.start))
            start = max(start, cut.end)
            if start >= w.end:
                break
        if start < w.end:
            result.append(Window(start, w.end))
    return tuple(result)


def compute_windows(
    night: dt.date,
    rules: Iterable[OffPeakRule],
    blackouts: Iterable[Blackout | tuple[dt.datetime, dt.datetime]],
    calendar: Calendar,
    tz: ZoneInfo,
) -> tuple[Window, ...]:
    """The windows of one building on ``night``: union of its rules, minus blackouts.

    Raises CalendarMissing when a rule that depends on working or rest days
    applies by date and weekday to a night whose year is not covered.
    """
    found = []
    for rule in rules:
        if rule.applies_to(night, calendar):
            window = rule.window(night, tz)
            if window is not None:
                found.append(window)
    cuts = [(b.start, b.end) if isinstance(b, Blackout) else b for b in blackouts]
    return subtract(union(found), cuts)


def envelope(windows: Iterable[Window]) -> Window | None:
    """From the first start to the last end; None when there is no window."""
    windows = list(windows)
    if not windows:
        return None
    return Window(min(w.start for w in windows), max(w.end for w in windows))


# --- Loading from the database: one round trip for many buildings and nights.

# weekdays as text[]: asyncpg decodes an anonymous record's text[] but not its int2[].
_RULES = """
SELECT building_id, day_class, weekdays::text[], start_time, end_time, valid_from, valid_until
FROM off_peak_rules
WHERE building_id = ANY($1::bigint[])
  AND valid_from <= $3 AND (valid_until IS NULL OR valid_until >= $2)
ORDER BY building_id, id
"""
# Uses the gist index on (building_id, period).
_BLACKOUTS = """
SELECT building_id, lower(period) AS start, upper(period) AS "end"
FROM blackouts
WHERE building_id = ANY($1::bigint[]) AND period && tstzrange($4, $5)
ORDER BY building_id, lower(period)
"""
_CALENDAR_YEARS = "SELECT year FROM calendar_years WHERE year = ANY($6::int[])"
# Days of uncovered years are ignored: the calendar knows a year whole or not at all.
_CALENDAR_DAYS = """
SELECT d.day, d.kind, d.name
FROM calendar_days d
JOIN calendar_years y ON y.year = extract(year FROM d.day)::int
WHERE d.day BETWEEN $2 AND $3
"""


def _rows(query: str) -> str:
    # Each query's rows as an array of anonymous records, so that the four tables come
    # back in one statement (a booking pays one round trip for its windows, not four).
    return f"ARRAY(SELECT ROW(q.*) FROM ({query}) AS q)"


# $1 buildings, $2 .. $3 nights, $4 .. $5 the instants the nights' windows lie in,
# $6 the years of the nights.
_WINDOW_DATA = f"""
SELECT {_rows(_RULES)} AS rules, {_rows(_BLACKOUTS)} AS blackouts,
       ARRAY({_CALENDAR_YEARS}) AS years, {_rows(_CALENDAR_DAYS)} AS days
"""


def _calendar_of(years: Iterable[int], days: Iterable[tuple[dt.date, str, str]]) -> Calendar:
    holidays, workdays, names = set(), set(), {}
    for day, kind, name in days:
        (holidays if kind == "holiday" else workdays).add(day)
        names[day] = name
    return Calendar(frozenset(years), frozenset(holidays), frozenset(workdays), names)


async def load_calendar(conn: asyncpg.Connection, first: dt.date, last: dt.date) -> Calendar:
    """The calendar of the covered years among those of ``first`` .. ``last``."""
    years = list(range(first.year, last.year + 1))
    # No buildings: the same statement as the windows', its calendar part alone.
    row = await conn.fetchrow(_WINDOW_DATA, [], first, last, None, None, years)
    return _calendar_of(row["years"], row["days"])


def _rule_of(row: tuple) -> OffPeakRule:
    _building_id, day_class, weekdays, start_time, end_time, valid_from, valid_until = row
    return OffPeakRule(
        start_time=start_time,
        end_time=end_time,
        valid_from=valid_from,
        valid_until=valid_until,
        weekdays=frozenset(int(d) for d in weekdays),
        day_class=day_class,
    )


async def load_window_results(
    conn: asyncpg.Connection,
    building_ids: Collection[int],
    nights: Collection[dt.date],
    tz: ZoneInfo,
) -> dict[tuple[int, dt.date], tuple[Window, ...] | CalendarMissing]:
    """Like ``load_windows``, but a night that needs a missing year gets its error as value."""
    building_ids = sorted(set(building_ids))
    nights = sorted(set(nights))
    if not building_ids or not nights:
        return {}
    first, last = nights[0], nights[-1]
    # A night's windows lie within [night 00:00, night + 2 days 00:00) local time.
    since = local_instant(first, dt.time(0), tz)
    until = local_instant(last + 2 * _DAY, dt.time(0), tz)
    years = list(range(first.year, last.year + 1))
    data = await conn.fetchrow(_WINDOW_DATA, building_ids, first, last, since, until, years)
    rules: dict[int, list[OffPeakRule]] = {b: [] for b in building_ids}
    for row in data["rules"]:
        rules[row[0]].append(_rule_of(row))
    blackouts: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {b: [] for b in building_ids}
    for building_id, start, end in data["blackouts"]:
        blackouts[building_id].append((start, end))
    calendar = _calendar_of(data["years"], data["days"])

    results: dict[tuple[int, dt.date], tuple[Window, ...] | CalendarMissing] = {}
    for building_id in building_ids:
        for night in nights:
            try:
                results[building_id, night] = compute_windows(
                    night, rules[building_id], blackouts[building_id], calendar, tz
                )
            except CalendarMissing as missing:
                results[building_id, night] = missing
    return results


async def load_windows(
    conn: asyncpg.Connection,
    building_ids: Collection[int],
    nights: Collection[dt.date],
    tz: ZoneInfo,
) -> dict[tuple[int, dt.date], tuple[Window, ...]]:
    """Windows of every (building, night) pair; an empty tuple means no sharing that night.

    Raises CalendarMissing (of the earliest such night) when any pair needs a year
    of the holiday calendar that has not been entered.
    """
    results = await load_window_results(conn, building_ids, nights, tz)
    windows: dict[tuple[int, dt.date], tuple[Window, ...]] = {}
    missing: list[tuple[dt.date, CalendarMissing]] = []
    for key, value in results.items():
        if isinstance(value, CalendarMissing):
            missing.append((key[1], value))
        else:
            windows[key] = value
    if missing:
        raise min(missing, key=lambda m: m[0])[1]
    return windows


async def night_windows(
    conn: asyncpg.Connection, building_id: int, night: dt.date, tz: ZoneInfo
) -> tuple[Window, ...]:
    """The windows of one building on one night (see ``load_windows``)."""
    return (await load_windows(conn, [building_id], [night], tz))[building_id, night]
