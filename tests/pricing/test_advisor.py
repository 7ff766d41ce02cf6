"""The plan advisor on the seed's story, checked by hand, and its rules at the edges."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest
from pydantic import ValidationError

from pricing import NightUse, PassUse, PlanMode, PricePlan, UsageSummary, advise

D = dt.date
NOVEMBER = [D(2026, 11, 1) + dt.timedelta(days=i) for i in range(30)]
SPACES = 120
WINDOW_MINUTES = 13 * 60  # 19:00 to 08:00
STAY_MINUTES = 11 * 60  # each entry parks 11 hours

MONTHLY = PricePlan(
    building_id=7,
    version=1,
    mode=PlanMode.MONTHLY,
    monthly_fee_fen=30000,
    per_use_fee_fen=1000,
    effective_from=D(2026, 6, 1),
)
PER_USE = PricePlan(
    building_id=7,
    version=2,
    mode=PlanMode.PER_USE,
    per_use_fee_fen=1000,
    monthly_fee_fen=30000,
    effective_from=D(2026, 11, 1),
)


def nights_of(entries_per_night: dict[dt.date, int], entrants: dict[dt.date, list[int]]) -> tuple:
    return tuple(
        NightUse(
            night=night,
            shared_spaces=SPACES,
            shared_space_minutes=SPACES * WINDOW_MINUTES,
            occupied_space_minutes=entries_per_night.get(night, 0) * STAY_MINUTES,
            per_use_entrants=tuple(entrants.get(night, [])),
        )
        for night in NOVEMBER
    )


def seed_monthly_summary(passes: int = 40, nights_each: int = 8) -> UsageSummary:
    # Holder r parks on the nights_each nights from night 3r on (mod 30): spread over the month.
    sold = tuple(
        PassUse(
            resident_id=r,
            month=D(2026, 11, 1),
            fee_paid_fen=30000,
            nights_used=tuple(NOVEMBER[(3 * r + k) % 30] for k in range(nights_each)),
        )
        for r in range(passes)
    )
    per_night: dict[dt.date, int] = {}
    for p in sold:
        for night in p.nights_used:
            per_night[night] = per_night.get(night, 0) + 1
    return UsageSummary(
        building_id=7, nights=nights_of(per_night, {}), passes=sold, plans=(MONTHLY, PER_USE)
    )


def with_monthly_only(summary: UsageSummary) -> UsageSummary:
    return summary.model_copy(update={"plans": (MONTHLY,)})


def test_seed_story_a_little_used_300_cny_pass_loses_to_10_cny_per_use() -> None:
    advice = advise(with_monthly_only(seed_monthly_summary()), what_if_fee_fen=1000)

    # Recorded, by hand: 40 passes x 30000 fen = 1 200 000 fen (12 000 CNY).
    assert advice.recorded.mode is PlanMode.MONTHLY
    assert advice.recorded.revenue_fen == 1_200_000
    # 40 holders x 8 nights = 320 nights parked, 11 h each: 320 x 660 = 211 200 space-minutes,
    # of 30 nights x 120 spaces x 780 min = 2 808 000: 211200 * 10000 / 2808000 = 752.1 bp.
    assert advice.recorded.entries == 320
    assert advice.recorded.occupied_space_minutes == 211_200
    assert advice.recorded.utilization_bp == 752

    # What-if at 1000 fen per use, by hand: holders paid 1 200 000 / 320 = 3750 fen a night,
    # a relative drop of (3750 - 1000) / 3750 = 11/15. Empty space-nights: 3600 - 320 = 3280;
    # extra entries = floor(3280 x 1/2 x 11/15) = floor(1202.67) = 1202; 320 + 1202 = 1522.
    assert advice.what_if.mode is PlanMode.PER_USE
    assert advice.what_if.entries == 1522
    assert advice.what_if.revenue_fen == 1_522_000  # 1522 x 1000 fen = 15 220 CNY > 12 000 CNY
    # 1522 x 660 = 1 004 520 space-minutes; 1004520 * 10000 / 2808000 = 3577.4 bp.
    assert advice.what_if.occupied_space_minutes == 1_004_520
    assert advice.what_if.utilization_bp == 3577

    assert advice.recommendation == "per_use"
    assert "15220.00 CNY instead of 12000.00 CNY" in advice.reason
    assert "35.77 %" in advice.reason and "7.52 %" in advice.reason
    assert any("3280 x 1/2 x 11/15 = 1202" in a for a in advice.assumptions)
    assert any(
        "Each night a pass holder parked becomes one per-use entry" in a for a in advice.assumptions
    )
    assert (advice.first_night, advice.last_night) == (D(2026, 11, 1), D(2026, 11, 30))


def test_the_what_if_fee_defaults_to_the_other_fee_of_the_plan_in_force() -> None:
    summary = with_monthly_only(seed_monthly_summary())
    assert advise(summary).what_if_fee_fen == 1000
    assert advise(summary) == advise(summary, what_if_fee_fen=1000)
    no_other_fee = MONTHLY.model_copy(update={"per_use_fee_fen": None})
    with pytest.raises(ValueError, match="give what_if_fee_fen"):
        advise(summary.model_copy(update={"plans": (no_other_fee,)}))


def test_a_well_used_pass_is_kept_against_a_dearer_night() -> None:
    # 40 holders parking 25 nights each paid 1 200 000 / 1000 = 1200 fen a night. At 1500 fen
    # per use the price rises by (1500 - 1200) / 1500 = 1/5: lost = floor(1000 x 1/2 x 1/5) = 100
    # entries, leaving 900 x 1500 = 1 350 000 fen, more money but fewer cars: keep.
    advice = advise(with_monthly_only(seed_monthly_summary(nights_each=25)), what_if_fee_fen=1500)
    assert advice.recorded.entries == 1000
    assert advice.what_if.entries == 900
    assert advice.what_if.revenue_fen == 1_350_000
    assert advice.what_if.occupied_space_minutes < advice.recorded.occupied_space_minutes
    assert advice.recommendation == "keep"
    assert advice.reason.startswith("keep monthly: per_use would have earned 13500.00 CNY")


def test_a_zero_demand_factor_only_converts_pass_nights() -> None:
    # No response to price: 320 entries x 1000 fen = 320 000 fen < 1 200 000 fen: keep.
    advice = advise(with_monthly_only(seed_monthly_summary()), demand_factor=0)
    assert advice.what_if.entries == 320
    assert advice.what_if.revenue_fen == 320_000
    assert advice.recommendation == "keep"
    with pytest.raises(ValueError, match="between 0 and 1"):
        advise(with_monthly_only(seed_monthly_summary()), demand_factor=Fraction(3, 2))


def test_demand_never_exceeds_capacity() -> None:
    # A free night and a factor of 1: the drop is 100 %, so every empty space-night fills.
    advice = advise(with_monthly_only(seed_monthly_summary()), what_if_fee_fen=0, demand_factor=1)
    assert advice.what_if.entries == 30 * SPACES
    assert advice.what_if.occupied_space_minutes <= 30 * SPACES * WINDOW_MINUTES


def seed_per_use_summary() -> UsageSummary:
    # After the switch: resident 1 parks all 30 nights, resident 2 on 12, residents 100..159
    # on the even nights only (15 nights each): 60 entries on even nights, 1 or 2 otherwise.
    entrants: dict[dt.date, list[int]] = {}
    for i, night in enumerate(NOVEMBER):
        entrants[night] = (
            [1] + ([2] if i < 12 else []) + (list(range(100, 160)) if i % 2 == 0 else [])
        )
    per_night = {night: len(ids) for night, ids in entrants.items()}
    return UsageSummary(
        building_id=7, nights=nights_of(per_night, entrants), plans=(MONTHLY, PER_USE)
    )


def test_seed_per_use_would_lose_most_of_its_residents_to_a_300_cny_pass() -> None:
    advice = advise(seed_per_use_summary())
    # Recorded, by hand: 30 + 12 + 60 x 15 = 942 entries x 1000 fen = 942 000 fen.
    assert advice.recorded.mode is PlanMode.PER_USE
    assert advice.recorded.entries == 942
    assert advice.recorded.revenue_fen == 942_000
    # Only resident 1 spent 30 x 1000 = 30000 fen, reaching the 30000 fen pass; resident 2 spent
    # 12 000 and the others 15 000 each. One pass: 30 000 fen and 30 of 942 entries kept.
    assert advice.what_if.mode is PlanMode.MONTHLY
    assert advice.what_if_fee_fen == 30000
    assert advice.what_if.revenue_fen == 30_000
    assert advice.what_if.entries == 30
    assert advice.what_if.occupied_space_minutes == 30 * STAY_MINUTES
    assert advice.recommendation == "keep"
    assert any("passes sold: 1." in a for a in advice.assumptions)


def test_a_cheap_pass_would_win_where_residents_park_every_night() -> None:
    # At 10 000 fen a month, resident 1 (30 000 fen spent), resident 2 (12 000) and the 60
    # even-night residents (15 000 each) all buy: 62 x 10 000 = 620 000 fen < 942 000: keep.
    advice = advise(seed_per_use_summary(), what_if_fee_fen=10_000)
    assert advice.what_if.revenue_fen == 620_000
    assert advice.what_if.entries == 942
    assert advice.recommendation == "keep"
    # At 14 000 fen resident 1 and the 60 even-night residents buy: 61 x 14 000 =
    # 854 000 fen, with 30 + 900 = 930 entries kept.
    dearer = advise(seed_per_use_summary(), what_if_fee_fen=14_000)
    assert (dearer.what_if.revenue_fen, dearer.what_if.entries) == (854_000, 930)


def test_the_advisor_refuses_a_period_across_a_switch_and_inconsistent_input() -> None:
    summary = seed_monthly_summary()
    across = summary.model_copy(
        update={"plans": (MONTHLY, PER_USE.model_copy(update={"effective_from": D(2026, 11, 15)}))}
    )
    with pytest.raises(ValueError, match="spans a switch"):
        advise(across)
    with pytest.raises(ValidationError, match="outside its month"):
        PassUse(
            resident_id=1, month=D(2026, 11, 1), fee_paid_fen=30000, nights_used=(D(2026, 12, 1),)
        )
    with pytest.raises(ValidationError, match="more occupied"):
        NightUse(
            night=D(2026, 11, 1),
            shared_spaces=1,
            shared_space_minutes=10,
            occupied_space_minutes=11,
        )
    with pytest.raises(ValidationError, match="each night appears once"):
        UsageSummary(building_id=7, nights=(summary.nights[0], summary.nights[0]), plans=(MONTHLY,))
    with pytest.raises(TypeError):
        advise(with_monthly_only(summary), what_if_fee_fen=1000.0)  # type: ignore[arg-type]
