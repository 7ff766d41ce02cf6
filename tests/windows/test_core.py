"""Properties of the pure window arithmetic: midnight, union, blackouts, calendar, DST."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from parking.windows import (
    Calendar,
    CalendarMissing,
    OffPeakRule,
    Window,
    compute_windows,
    envelope,
    local_instant,
)
from tests.windows.strategies import (
    SHANGHAI,
    blackouts_near,
    clock_times,
    package_calendar,
    rules,
)

BERLIN = ZoneInfo("Europe/Berlin")
CALENDAR = package_calendar()
NO_CALENDAR = Calendar(years=frozenset())
EVERY_DAY = frozenset(range(1, 8))
nights = st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2026, 12, 31))
any_nights = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31))


def covered(windows, t: dt.datetime) -> bool:
    return any(w.start <= t < w.end for w in windows)


def probes(*interval_lists) -> list[dt.datetime]:
    """Instants at which membership of half-open unions can change, and between them.

    Two unions of half-open intervals are equal iff they agree at every endpoint
    and at one instant inside each gap between consecutive endpoints.
    """
    points = sorted({p for intervals in interval_lists for i in intervals for p in i})
    between = [a + (b - a) / 2 for a, b in itertools.pairwise(points)]
    return points + between


def assert_well_formed(windows: tuple[Window, ...]) -> None:
    for w in windows:
        assert w.start < w.end
    for a, b in itertools.pairwise(windows):
        assert a.end < b.start  # sorted, disjoint, and touching ones merged


@given(night=any_nights, start=clock_times, end=clock_times)
@example(night=dt.date(2026, 12, 31), start=dt.time(19), end=dt.time(8))
@example(night=dt.date(2028, 2, 29), start=dt.time(22), end=dt.time(22))
def test_a_window_lies_in_its_night_and_crosses_midnight_when_it_ends_earlier(
    night, start, end
) -> None:
    rule = OffPeakRule(start_time=start, end_time=end, valid_from=night)
    (window,) = compute_windows(night, [rule], [], NO_CALENDAR, SHANGHAI)
    assert window.start == local_instant(night, start, SHANGHAI)
    assert window.start.astimezone(SHANGHAI).date() == night
    assert local_instant(night, dt.time(0), SHANGHAI) <= window.start
    assert window.end <= local_instant(night + dt.timedelta(days=2), dt.time(0), SHANGHAI)
    local_end = window.end.astimezone(SHANGHAI)
    assert local_end.time() == end
    assert local_end.date() == (night if end > start else night + dt.timedelta(days=1))
    if end == start:
        assert window.end - window.start == dt.timedelta(hours=24)


def test_a_night_on_the_last_day_of_the_year_ends_in_the_next_year() -> None:
    rule = OffPeakRule(start_time=dt.time(19), end_time=dt.time(8), valid_from=dt.date(2026, 1, 1))
    (window,) = compute_windows(dt.date(2026, 12, 31), [rule], [], NO_CALENDAR, SHANGHAI)
    assert window == Window(
        dt.datetime(2026, 12, 31, 19, tzinfo=SHANGHAI), dt.datetime(2027, 1, 1, 8, tzinfo=SHANGHAI)
    )


@given(
    year=st.integers(2000, 2099),
    month=st.integers(1, 12),
    start=clock_times,
    end=clock_times,
)
def test_a_rule_valid_until_the_last_day_of_a_month_applies_on_it_and_not_after(
    year, month, start, end
) -> None:
    first_next = dt.date(year + month // 12, month % 12 + 1, 1)
    last = first_next - dt.timedelta(days=1)
    rule = OffPeakRule(
        start_time=start, end_time=end, valid_from=last.replace(day=1), valid_until=last
    )
    (window,) = compute_windows(last, [rule], [], NO_CALENDAR, SHANGHAI)
    assert window.start.astimezone(SHANGHAI).date() == last
    if end <= start:  # the last night of the month ends in the next month
        assert window.end.astimezone(SHANGHAI).date() == first_next
    assert compute_windows(first_next, [rule], [], NO_CALENDAR, SHANGHAI) == ()
    before = rule.valid_from - dt.timedelta(days=1)
    assert compute_windows(before, [rule], [], NO_CALENDAR, SHANGHAI) == ()


@settings(max_examples=300)
@given(data=st.data(), night=nights)
def test_windows_are_the_union_of_the_rules_minus_the_blackouts(data, night) -> None:
    classes = ("every_day", "working_days", "rest_days")
    rule_list = data.draw(st.lists(rules(night, classes), max_size=5))
    cuts = data.draw(st.lists(blackouts_near(night), max_size=4))

    result = compute_windows(night, rule_list, cuts, CALENDAR, SHANGHAI)

    assert_well_formed(result)
    each = [w for r in rule_list for w in compute_windows(night, [r], [], CALENDAR, SHANGHAI)]
    cut_windows = [Window(s, e) for s, e in cuts]
    for t in probes([(w.start, w.end) for w in each], cuts, [(w.start, w.end) for w in result]):
        in_rules = covered(each, t)
        blacked_out = covered(cut_windows, t)
        # No window overlaps a blackout; every instant removed lies in a blackout.
        assert covered(result, t) == (in_rules and not blacked_out), t


@given(data=st.data(), night=nights)
def test_several_rules_give_their_union(data, night) -> None:
    rule_list = data.draw(st.lists(rules(night), min_size=1, max_size=4))
    result = compute_windows(night, rule_list, [], CALENDAR, SHANGHAI)
    assert_well_formed(result)
    each = [w for r in rule_list for w in compute_windows(night, [r], [], CALENDAR, SHANGHAI)]
    for w in each:
        assert any(r.contains(w.start, w.end) for r in result)
    for t in probes([(w.start, w.end) for w in result]):
        assert covered(result, t) == covered(each, t)


def test_overlapping_and_touching_rules_merge_into_one_window() -> None:
    night = dt.date(2026, 3, 10)
    rules_ = [
        OffPeakRule(start_time=dt.time(19), end_time=dt.time(23), valid_from=night),
        OffPeakRule(start_time=dt.time(23), end_time=dt.time(6), valid_from=night),
        OffPeakRule(start_time=dt.time(5), end_time=dt.time(4), valid_from=night),  # 05:00-04:00
    ]
    result = compute_windows(night, rules_, [], NO_CALENDAR, SHANGHAI)
    assert result == (
        Window(
            dt.datetime(2026, 3, 10, 5, tzinfo=SHANGHAI),
            dt.datetime(2026, 3, 11, 6, tzinfo=SHANGHAI),
        ),
    )


def test_a_blackout_inside_a_window_splits_it() -> None:
    night = dt.date(2026, 3, 10)
    rule = OffPeakRule(start_time=dt.time(19), end_time=dt.time(8), valid_from=night)
    cut = (
        dt.datetime(2026, 3, 10, 21, tzinfo=SHANGHAI),
        dt.datetime(2026, 3, 11, 1, tzinfo=SHANGHAI),
    )
    assert compute_windows(night, [rule], [cut], NO_CALENDAR, SHANGHAI) == (
        Window(dt.datetime(2026, 3, 10, 19, tzinfo=SHANGHAI), cut[0]),
        Window(cut[1], dt.datetime(2026, 3, 11, 8, tzinfo=SHANGHAI)),
    )
    whole = (cut[0] - dt.timedelta(hours=5), cut[1] + dt.timedelta(hours=10))
    assert compute_windows(night, [rule], [whole], NO_CALENDAR, SHANGHAI) == ()


@given(night=nights)
def test_working_and_rest_days_follow_the_official_calendar(night) -> None:
    working = OffPeakRule(
        start_time=dt.time(19),
        end_time=dt.time(7),
        valid_from=dt.date(2024, 1, 1),
        day_class="working_days",
    )
    rest = OffPeakRule(
        start_time=dt.time(8),
        end_time=dt.time(8),
        valid_from=dt.date(2024, 1, 1),
        day_class="rest_days",
    )
    official = chinese_calendar.is_workday(night)
    assert bool(compute_windows(night, [working], [], CALENDAR, SHANGHAI)) == official
    assert bool(compute_windows(night, [rest], [], CALENDAR, SHANGHAI)) == (not official)


@pytest.mark.parametrize(
    ("night", "working"),
    [
        (dt.date(2026, 2, 14), True),  # Saturday worked in exchange for the Spring Festival
        (dt.date(2026, 2, 28), True),  # Saturday, the same
        (dt.date(2026, 2, 15), False),  # Sunday, first day of the Spring Festival holiday
        (dt.date(2026, 2, 16), False),  # Monday in the Spring Festival holiday
        (dt.date(2026, 2, 20), False),  # Friday, still the holiday
        (dt.date(2026, 2, 23), False),  # Monday, last day of the holiday
        (dt.date(2026, 2, 24), True),  # Tuesday, back to work
        (dt.date(2026, 1, 4), True),  # Sunday worked for New Year's Day
        (dt.date(2026, 10, 1), False),  # National Day
        (dt.date(2025, 1, 26), True),  # Sunday worked for the 2025 Spring Festival
        (dt.date(2024, 2, 12), False),  # 2024 Spring Festival
        (dt.date(2024, 2, 18), True),  # Sunday worked for it
        (dt.date(2024, 3, 2), False),  # an ordinary Saturday
        (dt.date(2024, 3, 4), True),  # an ordinary Monday
    ],
)
def test_holidays_and_adjusted_working_weekends(night, working) -> None:
    rule = OffPeakRule(
        start_time=dt.time(19),
        end_time=dt.time(8),
        valid_from=dt.date(2024, 1, 1),
        day_class="working_days",
    )
    assert bool(compute_windows(night, [rule], [], CALENDAR, SHANGHAI)) == working
    weekend_rule = OffPeakRule(
        start_time=dt.time(19),
        end_time=dt.time(8),
        valid_from=dt.date(2024, 1, 1),
        day_class="rest_days",
    )
    assert bool(compute_windows(night, [weekend_rule], [], CALENDAR, SHANGHAI)) == (not working)


@given(night=st.dates(min_value=dt.date(2027, 1, 1), max_value=dt.date(2099, 12, 31)))
def test_an_uncovered_year_is_an_error_only_when_a_rule_needs_the_calendar(night) -> None:
    every_day = OffPeakRule(start_time=dt.time(19), end_time=dt.time(8), valid_from=night)
    working = OffPeakRule(
        start_time=dt.time(19), end_time=dt.time(8), valid_from=night, day_class="working_days"
    )
    assert compute_windows(night, [every_day], [], CALENDAR, SHANGHAI)
    with pytest.raises(CalendarMissing) as raised:
        compute_windows(night, [every_day, working], [], CALENDAR, SHANGHAI)
    assert raised.value.year == night.year
    assert str(night.year) in str(raised.value)
    # Out of its validity range or on another weekday the rule needs nothing.
    later = OffPeakRule(
        start_time=dt.time(19),
        end_time=dt.time(8),
        valid_from=night + dt.timedelta(days=1),
        day_class="rest_days",
    )
    other_days = OffPeakRule(
        start_time=dt.time(19),
        end_time=dt.time(8),
        valid_from=night,
        day_class="rest_days",
        weekdays=EVERY_DAY - {night.isoweekday()},
    )
    assert compute_windows(night, [later, other_days], [], CALENDAR, SHANGHAI) == ()


def test_a_covered_year_without_exceptions_uses_monday_to_friday() -> None:
    calendar = Calendar(years=frozenset({2027}))
    rule = OffPeakRule(
        start_time=dt.time(19),
        end_time=dt.time(8),
        valid_from=dt.date(2027, 1, 1),
        day_class="working_days",
    )
    assert compute_windows(dt.date(2027, 1, 8), [rule], [], calendar, SHANGHAI)  # Friday
    assert compute_windows(dt.date(2027, 1, 9), [rule], [], calendar, SHANGHAI) == ()  # Saturday


@given(
    night=st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2035, 12, 31)),
    start=clock_times,
    end=clock_times,
)
@example(night=dt.date(2026, 3, 29), start=dt.time(2, 30), end=dt.time(2, 45))
@example(night=dt.date(2026, 3, 29), start=dt.time(2, 30), end=dt.time(3, 15))
@example(night=dt.date(2026, 3, 28), start=dt.time(19), end=dt.time(2, 30))
@example(night=dt.date(2026, 10, 25), start=dt.time(2, 30), end=dt.time(8))
@example(night=dt.date(2026, 10, 24), start=dt.time(22), end=dt.time(22))
def test_local_times_across_daylight_saving_changes(night, start, end) -> None:
    rule = OffPeakRule(start_time=start, end_time=end, valid_from=night)
    end_day = night if end > start else night + dt.timedelta(days=1)
    instants = [_berlin(night, start), _berlin(end_day, end)]
    result = compute_windows(night, [rule], [], NO_CALENDAR, BERLIN)
    if instants[0] < instants[1]:
        assert result == (Window(*instants),)
    else:  # only when the skipped hour swallows the whole window
        assert result == ()
        length = dt.datetime.combine(night, end) - dt.datetime.combine(night, start)
        assert end_day == night and length <= dt.timedelta(hours=1)


def _berlin(day: dt.date, at: dt.time) -> dt.datetime:
    """The documented meaning of a local Berlin time, checked against the wall clock."""
    naive = dt.datetime.combine(day, at)
    instant = local_instant(day, at, BERLIN)
    wall = instant.astimezone(BERLIN).replace(tzinfo=None)
    first = naive.replace(tzinfo=BERLIN, fold=0)
    second = naive.replace(tzinfo=BERLIN, fold=1)
    exists = first.astimezone(dt.UTC).astimezone(BERLIN).replace(tzinfo=None) == naive
    if not exists:  # in the gap: moved forward by the hour the clocks skip
        assert wall == naive + dt.timedelta(hours=1)
    else:
        assert wall == naive
        if first.utcoffset() != second.utcoffset():  # in the fold: the first occurrence
            assert instant == first.astimezone(dt.UTC) < second.astimezone(dt.UTC)
    return instant


def test_daylight_saving_examples() -> None:
    spring = OffPeakRule(
        start_time=dt.time(2, 30), end_time=dt.time(8), valid_from=dt.date(2026, 1, 1)
    )
    (w,) = compute_windows(dt.date(2026, 3, 29), [spring], [], NO_CALENDAR, BERLIN)
    assert w.start == dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC)  # 03:30 CEST
    autumn = OffPeakRule(
        start_time=dt.time(2, 30), end_time=dt.time(8), valid_from=dt.date(2026, 1, 1)
    )
    (w,) = compute_windows(dt.date(2026, 10, 25), [autumn], [], NO_CALENDAR, BERLIN)
    assert w.start == dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)  # first 02:30, CEST
    overnight = OffPeakRule(
        start_time=dt.time(20), end_time=dt.time(8), valid_from=dt.date(2026, 1, 1)
    )
    (w,) = compute_windows(dt.date(2026, 3, 28), [overnight], [], NO_CALENDAR, BERLIN)
    assert w.end - w.start == dt.timedelta(hours=11)
    (w,) = compute_windows(dt.date(2026, 10, 24), [overnight], [], NO_CALENDAR, BERLIN)
    assert w.end - w.start == dt.timedelta(hours=13)


def test_window_value() -> None:
    a = dt.datetime(2026, 3, 10, 19, tzinfo=SHANGHAI)
    b = dt.datetime(2026, 3, 11, 8, tzinfo=SHANGHAI)
    w = Window(a, b)
    r = w.as_range()
    assert (r.lower, r.upper, r.lower_inc, r.upper_inc) == (a, b, True, False)
    assert w.contains(a, b)
    assert w.contains(a + dt.timedelta(hours=1), b - dt.timedelta(hours=1))
    assert not w.contains(a - dt.timedelta(minutes=1), b)
    assert not w.contains(a, b + dt.timedelta(minutes=1))
    with pytest.raises(ValueError):
        Window(b, a)
    with pytest.raises(ValueError):
        Window(a, a)
    with pytest.raises(ValueError):
        Window(a.replace(tzinfo=None), b.replace(tzinfo=None))


def test_envelope_spans_first_start_to_last_end() -> None:
    a = dt.datetime(2026, 3, 10, 19, tzinfo=SHANGHAI)
    windows = (
        Window(a, a + dt.timedelta(hours=2)),
        Window(a + dt.timedelta(hours=3), a + dt.timedelta(hours=12)),
    )
    assert envelope(windows) == Window(a, a + dt.timedelta(hours=12))
    assert envelope(()) is None


def test_rule_values_are_checked() -> None:
    with pytest.raises(ValueError):
        OffPeakRule(
            start_time=dt.time(19),
            end_time=dt.time(8),
            valid_from=dt.date(2026, 1, 2),
            weekdays=frozenset(),
        )
    with pytest.raises(ValueError):
        OffPeakRule(
            start_time=dt.time(19),
            end_time=dt.time(8),
            valid_from=dt.date(2026, 1, 2),
            weekdays=frozenset({0, 1}),
        )
    with pytest.raises(ValueError):
        OffPeakRule(
            start_time=dt.time(19),
            end_time=dt.time(8),
            valid_from=dt.date(2026, 1, 2),
            valid_until=dt.date(2026, 1, 1),
        )
