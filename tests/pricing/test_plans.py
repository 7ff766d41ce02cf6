"""Plan versions: validation, the version in force, and the monthly <-> per-use switching rules."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from pricing import (
    NoPlanInForce,
    NotBookable,
    PlanError,
    PlanMode,
    PricePlan,
    check_new_version,
    default_switch_date,
    is_withdrawable,
    pass_on_sale,
    pass_plan,
    plan_in_force,
    quote,
)
from pricing.plans import LOCAL_TZ
from tests.pricing.strategies import BUILDING_ID, nights, plan_histories, plans

D = dt.date
WITHDRAWN_AT = dt.datetime(2026, 11, 20, 10, 0, tzinfo=LOCAL_TZ)


def monthly(version: int, effective_from: dt.date, **fields: object) -> PricePlan:
    return PricePlan(
        building_id=BUILDING_ID,
        version=version,
        mode=PlanMode.MONTHLY,
        effective_from=effective_from,
        **{"monthly_fee_fen": 30000, **fields},
    )


def per_use(version: int, effective_from: dt.date, **fields: object) -> PricePlan:
    return PricePlan(
        building_id=BUILDING_ID,
        version=version,
        mode=PlanMode.PER_USE,
        effective_from=effective_from,
        **{"per_use_fee_fen": 1000, **fields},
    )


# The seed: a 300 CNY monthly pass since June, 10 CNY per use from December 2026.
SEED = [monthly(1, D(2026, 6, 1)), per_use(2, D(2026, 12, 1))]


def test_a_plan_needs_the_fee_of_its_mode() -> None:
    with pytest.raises(ValidationError, match="per_use_fee_fen"):
        PricePlan(building_id=1, version=1, mode="per_use", monthly_fee_fen=30000,
                  effective_from=D(2026, 12, 1))  # fmt: skip
    with pytest.raises(ValidationError, match="monthly_fee_fen"):
        PricePlan(building_id=1, version=1, mode="monthly", per_use_fee_fen=1000,
                  effective_from=D(2026, 12, 1))  # fmt: skip
    both = per_use(1, D(2026, 12, 1), monthly_fee_fen=30000)  # the other fee may be set too
    assert both.monthly_fee_fen == 30000


@pytest.mark.parametrize(
    "field",
    [
        "per_use_fee_fen",
        "monthly_fee_fen",
        "overstay_fen_per_hour",
        "overstay_grace_minutes",
        "no_show_fee_fen",
        "free_cancel_minutes",
        "late_cancel_fee_fen",
    ],
)
def test_a_plan_refuses_negative_amounts(field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        per_use(1, D(2026, 12, 1), **{"monthly_fee_fen": 30000, field: -1})


def test_a_plan_refuses_fractional_fen() -> None:
    with pytest.raises(ValidationError, match="per_use_fee_fen"):
        per_use(1, D(2026, 12, 1), per_use_fee_fen=999.5)
    with pytest.raises(ValidationError, match="per_use_fee_fen"):
        per_use(1, D(2026, 12, 1), per_use_fee_fen=1000.0)


def test_a_plan_takes_effect_at_local_midnight() -> None:
    assert SEED[1].effective_from_at() == dt.datetime(2026, 12, 1, tzinfo=LOCAL_TZ)
    assert SEED[1].effective_from_at().isoformat() == "2026-12-01T00:00:00+08:00"


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2026, 11, 27), D(2026, 12, 1)),
        (D(2026, 12, 1), D(2027, 1, 1)),
        (D(2026, 12, 31), D(2027, 1, 1)),
        (D(2027, 1, 31), D(2027, 2, 1)),
        (D(2028, 2, 29), D(2028, 3, 1)),
    ],
)
def test_default_switch_date_is_the_first_of_next_month(today: dt.date, expected: dt.date) -> None:
    assert default_switch_date(today) == expected


def test_plan_in_force_across_the_seed_switch() -> None:
    withdrawn = monthly(3, D(2027, 1, 1), withdrawn_at=WITHDRAWN_AT)
    history = [*SEED, withdrawn]
    assert plan_in_force(history, D(2026, 6, 1)).version == 1
    assert plan_in_force(history, D(2026, 11, 30)).version == 1
    assert plan_in_force(history, D(2026, 12, 1)).version == 2
    assert plan_in_force(history, D(2027, 3, 1)).version == 2  # the withdrawn switch never came
    with pytest.raises(NoPlanInForce, match="building 7 on night 2026-05-31"):
        plan_in_force(history, D(2026, 5, 31))
    with pytest.raises(NoPlanInForce):
        plan_in_force([], D(2026, 12, 1))


def test_plan_in_force_prefers_the_higher_version_of_the_same_date() -> None:
    correction = per_use(3, D(2026, 12, 1), per_use_fee_fen=800)
    assert plan_in_force([*SEED, correction], D(2026, 12, 5)) == correction
    assert plan_in_force([correction, *SEED], D(2026, 12, 5)) == correction


def test_plan_in_force_refuses_plans_of_two_buildings() -> None:
    other = SEED[0].model_copy(update={"building_id": 8})
    with pytest.raises(PlanError, match="several buildings"):
        plan_in_force([SEED[1], other], D(2026, 12, 5))


@given(plan_histories(), nights)
def test_plan_in_force_picks_the_latest_version_effective_on_or_before_the_night(
    history: list[PricePlan], night: dt.date
) -> None:
    # Oracle: replay the live versions in order of taking effect; the last one started wins.
    live = sorted(
        (p for p in history if p.withdrawn_at is None), key=lambda p: (p.effective_from, p.version)
    )
    started = [p for p in live if p.effective_from <= night]
    if not started:
        with pytest.raises(NoPlanInForce):
            plan_in_force(history, night)
        return
    chosen = plan_in_force(history, night)
    assert chosen == started[-1]
    assert chosen.withdrawn_at is None
    assert chosen.effective_from <= night


def price_of(plan: PricePlan | None, night: dt.date) -> int | str:
    """The whole-window price of ``night`` under ``plan``, or why it has none."""
    if plan is None:
        return "no plan"
    start = dt.datetime.combine(night, dt.time(19), tzinfo=LOCAL_TZ)
    end = start + dt.timedelta(hours=13)
    try:
        return quote(plan, night, start, end, start, end).total_fen
    except NotBookable:
        return "not bookable"


@given(plan_histories(max_size=5), plans(), nights, st.data())
def test_a_switch_never_changes_the_price_of_a_night_before_its_effective_date(
    history: list[PricePlan], switch: PricePlan, night: dt.date, data: st.DataObject
) -> None:
    switch = switch.model_copy(update={"version": len(history) + 1, "withdrawn_at": None})
    before = data.draw(st.dates(max_value=switch.effective_from - dt.timedelta(days=1)))

    def in_force(plans: list[PricePlan], on: dt.date) -> PricePlan | None:
        try:
            return plan_in_force(plans, on)
        except NoPlanInForce:
            return None

    assert in_force([*history, switch], before) == in_force(history, before)
    assert price_of(in_force([*history, switch], before), before) == price_of(
        in_force(history, before), before
    )
    if night >= switch.effective_from:
        assert in_force([*history, switch], night) is not None
        assert in_force([*history, switch], night).effective_from >= switch.effective_from
    # Pass sales for a month that ended before the switch are untouched too.
    month = before.replace(day=1)
    if default_switch_date(before) <= switch.effective_from:
        assert pass_on_sale([*history, switch], month) == pass_on_sale(history, month)


def test_per_use_to_monthly_sells_passes_from_the_effective_month() -> None:
    history = [per_use(1, D(2026, 6, 1)), monthly(2, D(2027, 1, 1))]
    assert not pass_on_sale(history, D(2026, 12, 1))
    assert not pass_on_sale(history, D(2026, 12, 1), bought_on=D(2026, 12, 20))
    assert pass_on_sale(history, D(2027, 1, 1), bought_on=D(2026, 12, 20))  # sold in advance
    assert pass_plan(history, D(2027, 2, 1)).version == 2


def test_per_use_to_monthly_mid_month_waits_for_the_next_month() -> None:
    history = [per_use(1, D(2026, 6, 1)), monthly(2, D(2026, 12, 15))]
    # December started before the effective date: no December pass, even after the 15th.
    assert not pass_on_sale(history, D(2026, 12, 1), bought_on=D(2026, 12, 20))
    assert pass_on_sale(history, D(2027, 1, 1))


def test_monthly_to_per_use_stops_new_passes_from_the_effective_date() -> None:
    # The seed: per use from 1 December. A November pass may still be bought in November
    # and runs to 30 November; no December pass.
    assert pass_on_sale(SEED, D(2026, 11, 1), bought_on=D(2026, 11, 20))
    assert pass_plan(SEED, D(2026, 11, 1), bought_on=D(2026, 11, 20)) == SEED[0]
    assert not pass_on_sale(SEED, D(2026, 12, 1))
    assert not pass_on_sale(SEED, D(2026, 12, 1), bought_on=D(2026, 11, 20))
    assert not pass_on_sale(SEED, D(2026, 11, 1), bought_on=D(2026, 12, 1))  # month is over


def test_monthly_to_per_use_mid_month_sells_no_pass_starting_on_or_after_the_date() -> None:
    history = [monthly(1, D(2026, 6, 1)), per_use(2, D(2026, 12, 15))]
    assert pass_on_sale(history, D(2026, 12, 1), bought_on=D(2026, 12, 10))
    assert pass_on_sale(history, D(2026, 12, 1), bought_on=D(2026, 12, 14))
    assert not pass_on_sale(history, D(2026, 12, 1), bought_on=D(2026, 12, 15))


def test_pass_sales_ignore_withdrawn_switches_and_need_a_plan() -> None:
    history = [per_use(1, D(2026, 6, 1)), monthly(2, D(2027, 1, 1), withdrawn_at=WITHDRAWN_AT)]
    assert not pass_on_sale(history, D(2027, 1, 1))
    assert not pass_on_sale(SEED, D(2026, 5, 1))  # before any plan
    with pytest.raises(ValueError, match="first day"):
        pass_on_sale(SEED, D(2026, 11, 2))


def test_check_new_version_keeps_tonight_priced_as_it_was() -> None:
    today = D(2026, 11, 27)
    check_new_version(SEED, per_use(3, D(2026, 11, 28), per_use_fee_fen=800), today)
    with pytest.raises(PlanError, match="after today"):
        check_new_version(SEED, per_use(3, today), today)
    with pytest.raises(PlanError, match="version 2 is not above"):
        check_new_version(SEED, per_use(2, D(2027, 1, 1)), today)
    with pytest.raises(PlanError, match="withdrawn already"):
        check_new_version(SEED, per_use(3, D(2027, 1, 1), withdrawn_at=WITHDRAWN_AT), today)
    check_new_version([], per_use(1, today), today)  # a building's first plan may start tonight


def test_only_a_version_not_yet_in_force_may_be_withdrawn() -> None:
    switch = per_use(2, D(2026, 12, 1))
    assert is_withdrawable(switch, D(2026, 11, 30))
    assert not is_withdrawable(switch, D(2026, 12, 1))
    assert not is_withdrawable(
        switch.model_copy(update={"withdrawn_at": WITHDRAWN_AT}), D(2026, 11, 1)
    )
