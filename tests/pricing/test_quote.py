"""Quotes and fees: the per-use night, overstay and grace, cancellation, no-show, passes."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pricing import (
    ChargeKind,
    NotBookable,
    PlanError,
    PlanMode,
    PricePlan,
    cancellation_fee,
    no_show_fee,
    overstay_fee,
    pass_price,
    quote,
)
from pricing.plans import LOCAL_TZ
from tests.pricing.strategies import aware_instants, plans

D = dt.date
NIGHT = D(2026, 12, 5)
WINDOW_START = dt.datetime(2026, 12, 5, 19, 0, tzinfo=LOCAL_TZ)
WINDOW_END = dt.datetime(2026, 12, 6, 8, 0, tzinfo=LOCAL_TZ)

# The seed's per-use plan: 10 CNY a night, 10 CNY per started hour after 15 minutes'
# grace, free cancellation up to 2 hours before arrival, else 5 CNY; no-show 10 CNY.
PER_USE = PricePlan(
    building_id=7,
    version=2,
    mode=PlanMode.PER_USE,
    per_use_fee_fen=1000,
    monthly_fee_fen=30000,
    overstay_fen_per_hour=1000,
    overstay_grace_minutes=15,
    no_show_fee_fen=1000,
    free_cancel_minutes=120,
    late_cancel_fee_fen=500,
    effective_from=D(2026, 12, 1),
)
MONTHLY = PricePlan(
    building_id=7,
    version=1,
    mode=PlanMode.MONTHLY,
    monthly_fee_fen=30000,
    effective_from=D(2026, 6, 1),
)


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, second, tzinfo=LOCAL_TZ)


def test_seed_quote_is_one_flat_fee_whatever_the_stay() -> None:
    whole = quote(PER_USE, NIGHT, WINDOW_START, WINDOW_END, WINDOW_START, WINDOW_END)
    short = quote(PER_USE, NIGHT, WINDOW_START, WINDOW_END, at(5, 22), at(5, 23, 30))
    for q in (whole, short):
        assert [(line.kind, line.amount_fen) for line in q.lines] == [(ChargeKind.PER_USE, 1000)]
        assert q.total_fen == 1000  # 10 CNY
        assert q.plan_version == 2
        assert q.night == NIGHT
    assert short.free_cancel_until == at(5, 20, 0)  # 22:00 arrival - 120 minutes
    assert (short.late_cancel_fee_fen, short.no_show_fee_fen) == (500, 1000)
    assert short.model_dump(mode="json")["total_fen"] == 1000


def test_quote_prices_a_stay_after_midnight_on_the_night_it_belongs_to() -> None:
    q = quote(PER_USE, NIGHT, WINDOW_START, WINDOW_END, at(6, 0, 30), at(6, 7, 30))
    assert q.night == NIGHT
    assert q.total_fen == 1000


def test_a_window_cut_by_a_blackout_until_after_midnight_is_still_its_nights() -> None:
    # A blackout over the evening leaves the window's part from 01:30 the morning after.
    q = quote(PER_USE, NIGHT, at(6, 1, 30), WINDOW_END, at(6, 1, 30), WINDOW_END)
    assert (q.night, q.total_fen) == (NIGHT, 1000)
    # Two mornings after is no longer this night's window.
    with pytest.raises(ValueError, match="is not night"):
        quote(PER_USE, D(2026, 12, 4), at(6, 1, 30), WINDOW_END, at(6, 1, 30), WINDOW_END)


def test_a_monthly_plan_sells_no_single_night() -> None:
    with pytest.raises(NotBookable, match="monthly passes"):
        quote(MONTHLY, NIGHT, WINDOW_START, WINDOW_END, WINDOW_START, WINDOW_END)


def test_a_monthly_plan_with_a_per_use_fee_sells_single_nights_at_that_fee() -> None:
    # Released pass nights go back to per-use supply (DESIGN.md, Pricing).
    plan = MONTHLY.model_copy(update={"per_use_fee_fen": 1500})
    q = quote(plan, NIGHT, WINDOW_START, WINDOW_END, WINDOW_START, WINDOW_END)
    assert [(line.kind, line.amount_fen) for line in q.lines] == [(ChargeKind.PER_USE, 1500)]


@pytest.mark.parametrize(
    ("arrive", "depart"),
    [
        (at(5, 18, 59), at(5, 22)),  # before the window
        (at(5, 20), at(6, 8, 1)),  # past the window
        (at(5, 22), at(5, 22)),  # empty stay
        (at(5, 23), at(5, 22)),  # backwards
    ],
)
def test_quote_refuses_a_stay_outside_the_window(arrive: dt.datetime, depart: dt.datetime) -> None:
    with pytest.raises(ValueError, match="window"):
        quote(PER_USE, NIGHT, WINDOW_START, WINDOW_END, arrive, depart)


def test_quote_refuses_naive_times_wrong_nights_and_plans_not_in_force() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        quote(PER_USE, NIGHT, WINDOW_START, WINDOW_END, dt.datetime(2026, 12, 5, 20), WINDOW_END)
    with pytest.raises(ValueError, match="is not night"):
        quote(PER_USE, D(2026, 12, 6), WINDOW_START, WINDOW_END, WINDOW_START, WINDOW_END)
    with pytest.raises(PlanError, match="takes effect on 2026-12-01"):
        quote(PER_USE, D(2026, 11, 30), at(5, 19).replace(day=30, month=11),
              WINDOW_END, WINDOW_START, WINDOW_END)  # fmt: skip
    withdrawn = PER_USE.model_copy(update={"withdrawn_at": at(1, 9)})
    with pytest.raises(PlanError, match="withdrawn"):
        quote(withdrawn, NIGHT, WINDOW_START, WINDOW_END, WINDOW_START, WINDOW_END)


@pytest.mark.parametrize(
    ("exit_at", "fee_fen"),
    [
        (at(6, 7, 30), 0),  # left before the window ended
        (at(6, 8, 0), 0),  # at the end
        (at(6, 8, 15), 0),  # the last second of grace (inclusive)
        (at(6, 8, 15, 1), 1000),  # past grace: 1 started hour counted from 08:00
        (at(6, 9, 0), 1000),  # exactly one hour
        (at(6, 9, 0, 1), 2000),  # the second hour has started
        (at(6, 10, 30), 3000),  # 2.5 h -> 3 started hours x 10 CNY
    ],
)
def test_seed_overstay_grace_is_a_threshold_then_started_hours_from_the_end(
    exit_at: dt.datetime, fee_fen: int
) -> None:
    assert overstay_fee(PER_USE, WINDOW_END, exit_at) == fee_fen


def test_overstay_without_grace_charges_from_the_first_microsecond() -> None:
    no_grace = PER_USE.model_copy(update={"overstay_grace_minutes": 0})
    assert overstay_fee(no_grace, WINDOW_END, WINDOW_END) == 0
    assert overstay_fee(no_grace, WINDOW_END, WINDOW_END + dt.timedelta(microseconds=1)) == 1000


def test_overstay_compares_instants_not_wall_clocks() -> None:
    exit_utc = dt.datetime(2026, 12, 6, 1, 20, tzinfo=dt.UTC)  # 09:20 in Shanghai
    assert overstay_fee(PER_USE, WINDOW_END, exit_utc) == 2000


@given(
    plans(),
    aware_instants,
    st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=3)),
)
def test_overstay_is_started_hours_past_the_end_once_past_grace(
    plan: PricePlan, window_end: dt.datetime, overstay: dt.timedelta
) -> None:
    fee_fen = overstay_fee(plan, window_end, window_end + overstay)
    assert fee_fen >= 0
    if overstay <= dt.timedelta(minutes=plan.overstay_grace_minutes):
        assert fee_fen == 0
    elif plan.overstay_fen_per_hour:
        assert fee_fen % plan.overstay_fen_per_hour == 0
        hours = fee_fen // plan.overstay_fen_per_hour
        assert dt.timedelta(hours=hours - 1) < overstay <= dt.timedelta(hours=hours)
    later = overstay_fee(plan, window_end, window_end + overstay + dt.timedelta(minutes=1))
    assert later >= fee_fen


@pytest.mark.parametrize(
    ("cancelled_at", "fee_fen"),
    [
        (at(5, 12, 0), 0),
        (at(5, 20, 0), 0),  # exactly 120 minutes before the 22:00 arrival: still free
        (at(5, 20, 0, 1), 500),  # one second later: 5 CNY
        (at(5, 22, 0), 500),  # at arrival
        (at(5, 23, 0), 500),  # after arrival
    ],
)
def test_seed_late_cancellation(cancelled_at: dt.datetime, fee_fen: int) -> None:
    assert cancellation_fee(PER_USE, at(5, 22), cancelled_at) == fee_fen


def test_no_show_fee_is_the_plans() -> None:
    assert no_show_fee(PER_USE) == 1000
    assert no_show_fee(MONTHLY) == 0


@given(plans(), aware_instants, aware_instants)
def test_fees_are_never_negative(plan: PricePlan, first: dt.datetime, second: dt.datetime) -> None:
    assert cancellation_fee(plan, first, second) in (0, plan.late_cancel_fee_fen)
    assert overstay_fee(plan, first, second) >= 0
    assert no_show_fee(plan) >= 0


@pytest.mark.parametrize(
    ("month", "in_month", "left", "price_fen"),
    [
        (D(2026, 11, 1), 30, 30, 30000),  # bought before the month: the full 300 CNY
        (D(2026, 11, 1), 30, 20, 20000),  # 30000 x 20 / 30
        (D(2026, 11, 1), 30, 7, 7000),
        (D(2026, 11, 1), 30, 1, 1000),
        (D(2026, 12, 1), 31, 1, 968),  # 30000 / 31 = 967.74 -> 968
        (D(2026, 12, 1), 31, 16, 15484),  # 480000 / 31 = 15483.87 -> 15484
        (D(2026, 12, 1), 22, 11, 15000),  # working nights only: 22 shared, half left
        (D(2026, 12, 1), 9, 2, 6667),  # 60000 / 9 = 6666.67 -> 6667
    ],
)
def test_seed_pass_prorated_by_shared_nights_left(
    month: dt.date, in_month: int, left: int, price_fen: int
) -> None:
    assert pass_price(MONTHLY, month, in_month, left) == price_fen


def test_pass_proration_rounds_an_exact_half_up() -> None:
    plan = MONTHLY.model_copy(update={"monthly_fee_fen": 1001})
    assert pass_price(plan, D(2026, 12, 1), 2, 1) == 501  # 500.5 -> 501


def test_pass_price_refuses_impossible_nights_and_per_use_plans() -> None:
    with pytest.raises(NotBookable):
        pass_price(PER_USE, D(2026, 12, 1), 31, 31)
    with pytest.raises(ValueError, match="cannot be in 2026-11"):
        pass_price(MONTHLY, D(2026, 11, 1), 31, 31)
    with pytest.raises(ValueError, match="nights left"):
        pass_price(MONTHLY, D(2026, 11, 1), 30, 0)
    with pytest.raises(ValueError, match="nights left"):
        pass_price(MONTHLY, D(2026, 11, 1), 30, 31)
    with pytest.raises(ValueError, match="first day"):
        pass_price(MONTHLY, D(2026, 11, 15), 30, 15)
    with pytest.raises(PlanError, match="takes effect"):
        pass_price(MONTHLY, D(2026, 5, 1), 31, 31)


@given(st.integers(0, 10**8), st.integers(1, 31), st.data())
def test_proration_never_exceeds_the_monthly_fee_and_grows_with_nights_left(
    fee_fen: int, in_month: int, data: st.DataObject
) -> None:
    plan = MONTHLY.model_copy(update={"monthly_fee_fen": fee_fen})
    month = D(2027, 1, 1)  # 31 days, so any 1..31 shared nights fit
    left = data.draw(st.integers(1, in_month))
    price_fen = pass_price(plan, month, in_month, left)
    assert 0 <= price_fen <= fee_fen
    assert pass_price(plan, month, in_month, in_month) == fee_fen
    if left > 1:
        assert pass_price(plan, month, in_month, left - 1) <= price_fen
    # Within half a fen of the exact share: 2 * |price * in_month - fee * left| <= in_month.
    assert abs(2 * (price_fen * in_month - fee_fen * left)) <= in_month
