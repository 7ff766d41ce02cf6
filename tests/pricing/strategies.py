"""Hypothesis strategies for pricing values: plan versions, nights and ledger charges."""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from pricing import Charge, ChargeKind, PlanMode, PricePlan
from pricing.plans import LOCAL_TZ

__all__ = ["aware_instants", "charges", "nights", "plan_histories", "plans"]

BUILDING_ID = 7
nights = st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2028, 12, 31))
fen = st.integers(min_value=0, max_value=1_000_000)
aware_instants = st.datetimes(
    min_value=dt.datetime(2026, 1, 1),
    max_value=dt.datetime(2028, 12, 31),
    timezones=st.just(LOCAL_TZ),
)


@st.composite
def plans(draw: st.DrawFn, version: int = 1, effective_from: dt.date | None = None) -> PricePlan:
    mode = draw(st.sampled_from(PlanMode))
    per_use = draw(fen if mode is PlanMode.PER_USE else st.none() | fen)
    monthly = draw(fen if mode is PlanMode.MONTHLY else st.none() | fen)
    return PricePlan(
        building_id=BUILDING_ID,
        version=version,
        mode=mode,
        per_use_fee_fen=per_use,
        monthly_fee_fen=monthly,
        overstay_fen_per_hour=draw(fen),
        overstay_grace_minutes=draw(st.integers(0, 240)),
        no_show_fee_fen=draw(fen),
        free_cancel_minutes=draw(st.integers(0, 2880)),
        late_cancel_fee_fen=draw(fen),
        effective_from=effective_from if effective_from is not None else draw(nights),
        withdrawn_at=draw(st.none() | aware_instants),
    )


@st.composite
def plan_histories(draw: st.DrawFn, max_size: int = 8) -> list[PricePlan]:
    """Versions 1..n of one building's plan, effective dates in any order, some withdrawn."""
    size = draw(st.integers(1, max_size))
    return [draw(plans(version=v)) for v in range(1, size + 1)]


@st.composite
def charges(draw: st.DrawFn, charge_id: int) -> Charge:
    """A non-refund charge tied to what it charges for."""
    kind = draw(st.sampled_from([k for k in ChargeKind if k is not ChargeKind.REFUND]))
    return Charge(
        charge_id=charge_id,
        kind=kind,
        amount_fen=draw(fen),
        created_at=draw(aware_instants),
        night=draw(st.none() | nights),
        pass_id=charge_id if kind is ChargeKind.PASS else None,
        reservation_id=None if kind is ChargeKind.PASS else charge_id,
    )
