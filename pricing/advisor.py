"""The plan advisor: from a building's recorded use, what each mode would have earned and filled.

Pure and exact: integer fen and space-minutes, fractions only inside, every assumption
returned with the answer.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from fractions import Fraction
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from pricing.money import Fen, round_half_up
from pricing.plans import PlanMode, PricePlan, month_start, plan_in_force

__all__ = [
    "DEFAULT_DEMAND_FACTOR",
    "Advice",
    "ModeOutcome",
    "NightUse",
    "PassUse",
    "UsageSummary",
    "advise",
]

DEFAULT_DEMAND_FACTOR = Fraction(1, 2)
"""Share of the empty space-nights that a 100 % price drop would fill (see ``advise``)."""

Count = Annotated[StrictInt, Field(ge=0)]


class NightUse(BaseModel):
    """What one shared night of the building offered and what was used."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    night: dt.date
    shared_spaces: Count
    shared_space_minutes: Count
    occupied_space_minutes: Count
    """Minutes of parked cars inside the shared windows, pass holders and per-use alike."""
    per_use_entrants: tuple[int, ...] = ()
    """The resident id of each per-use entry that night (a resident may appear twice)."""

    @model_validator(mode="after")
    def _consistent(self) -> NightUse:
        if self.occupied_space_minutes > self.shared_space_minutes:
            raise ValueError(f"night {self.night}: more occupied than shared space-minutes")
        if len(self.per_use_entrants) > self.shared_spaces:
            raise ValueError(f"night {self.night}: more per-use entries than shared spaces")
        return self


class PassUse(BaseModel):
    """One pass sold for a month, what it was paid, and the nights its holder parked."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    resident_id: int
    month: dt.date
    fee_paid_fen: Fen
    nights_used: tuple[dt.date, ...] = ()

    @model_validator(mode="after")
    def _nights_in_month(self) -> PassUse:
        if self.month.day != 1:
            raise ValueError(f"a month is named by its first day, got {self.month}")
        if any(month_start(night) != self.month for night in self.nights_used):
            raise ValueError(f"a pass for {self.month:%Y-%m} used outside its month")
        if len(set(self.nights_used)) != len(self.nights_used):
            raise ValueError("a pass night is counted once")
        return self


class UsageSummary(BaseModel):
    """A building's recorded use over a past period of nights, with its plan versions."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    building_id: int
    nights: tuple[NightUse, ...] = Field(min_length=1)
    passes: tuple[PassUse, ...] = ()
    plans: tuple[PricePlan, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> UsageSummary:
        nights = [n.night for n in self.nights]
        if len(set(nights)) != len(nights):
            raise ValueError("each night appears once")
        if any(plan.building_id != self.building_id for plan in self.plans):
            raise ValueError("plans of another building")
        return self


class ModeOutcome(BaseModel):
    """Revenue and fill of the period under one mode, recorded or estimated."""

    model_config = ConfigDict(frozen=True)

    mode: PlanMode
    revenue_fen: int
    entries: int
    """Space-nights used: per-use entries plus pass nights parked."""
    occupied_space_minutes: int
    utilization_bp: int
    """Occupied over shared space-minutes, in basis points (1/100 of a percent), half-up."""


class Advice(BaseModel):
    model_config = ConfigDict(frozen=True)

    building_id: int
    first_night: dt.date
    last_night: dt.date
    recorded: ModeOutcome
    """Under the plan versions that were in force."""
    what_if: ModeOutcome
    """Estimated under the other mode at ``what_if_fee_fen``."""
    what_if_fee_fen: int
    recommendation: Literal["per_use", "monthly", "keep"]
    reason: str
    assumptions: tuple[str, ...]


def _utilization_bp(occupied_minutes: int, shared_minutes: int) -> int:
    return round_half_up(occupied_minutes * 10_000, shared_minutes) if shared_minutes else 0


def _outcome(
    mode: PlanMode, revenue_fen: int, entries: int, occupied: int, shared: int
) -> ModeOutcome:
    return ModeOutcome(
        mode=mode,
        revenue_fen=revenue_fen,
        entries=entries,
        occupied_space_minutes=occupied,
        utilization_bp=_utilization_bp(occupied, shared),
    )


def _fmt_cny(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d} CNY" if fen >= 0 else f"-{_fmt_cny(-fen)}"


def _fmt_bp(bp: int) -> str:
    return f"{bp // 100}.{bp % 100:02d} %"


_COMMON_ASSUMPTIONS = (
    "Revenue counts per-use fees and pass fees only; overstay, no-show and cancellation "
    "fees are left out of both sides.",
    "Pass fees count in full for every pass given; give whole months for a fair comparison.",
)


def advise(
    summary: UsageSummary,
    what_if_fee_fen: int | None = None,
    demand_factor: Fraction | int | str = DEFAULT_DEMAND_FACTOR,
) -> Advice:
    """Compare the recorded period with the other mode at ``what_if_fee_fen``, and recommend.

    The period must have one mode in force on all its nights (split it at a switch).
    ``what_if_fee_fen`` defaults to the other mode's fee on the last night's plan.
    Recommends the other mode only when it would have earned at least as much and filled
    at least as many space-minutes, and more of one; otherwise ``keep``. The estimate's
    assumptions, including ``demand_factor``, are listed in the answer.
    """
    factor = Fraction(demand_factor)
    if not 0 <= factor <= 1:
        raise ValueError(f"demand_factor must be between 0 and 1, got {factor}")
    nights = sorted(summary.nights, key=lambda n: n.night)
    plans_by_night = {n.night: plan_in_force(summary.plans, n.night) for n in nights}
    modes = {plan.mode for plan in plans_by_night.values()}
    if len(modes) > 1:
        raise ValueError("the period spans a switch of mode; advise on each side separately")
    mode = modes.pop()
    last_plan = plans_by_night[nights[-1].night]
    if what_if_fee_fen is None:
        what_if_fee_fen = (
            last_plan.monthly_fee_fen if mode is PlanMode.PER_USE else last_plan.per_use_fee_fen
        )
        if what_if_fee_fen is None:
            raise ValueError(
                "give what_if_fee_fen: the plan in force has no fee for the other mode"
            )
    if isinstance(what_if_fee_fen, bool) or not isinstance(what_if_fee_fen, int):
        raise TypeError(f"what_if_fee_fen must be integer fen, got {what_if_fee_fen!r}")
    if what_if_fee_fen < 0:
        raise ValueError(f"what_if_fee_fen must be a non-negative integer, got {what_if_fee_fen!r}")

    shared_minutes = sum(n.shared_space_minutes for n in nights)
    occupied_minutes = sum(n.occupied_space_minutes for n in nights)
    period = set(plans_by_night)
    pass_nights = sum(1 for p in summary.passes for night in p.nights_used if night in period)
    per_use_entries = sum(len(n.per_use_entrants) for n in nights)
    entries = pass_nights + per_use_entries
    # Under a monthly plan, nights sold per use (released pass nights) earn that plan's per-use fee.
    per_use_fen = sum(
        len(n.per_use_entrants) * (plans_by_night[n.night].per_use_fee_fen or 0) for n in nights
    )
    pass_fen = sum(p.fee_paid_fen for p in summary.passes)
    recorded = _outcome(mode, per_use_fen + pass_fen, entries, occupied_minutes, shared_minutes)

    if mode is PlanMode.MONTHLY:
        what_if, assumptions = _as_per_use(
            nights,
            pass_fen=pass_fen,
            pass_nights=pass_nights,
            per_use_entries=per_use_entries,
            occupied_minutes=occupied_minutes,
            shared_minutes=shared_minutes,
            fee_fen=what_if_fee_fen,
            factor=factor,
        )
    else:
        what_if, assumptions = _as_monthly(
            nights, plans_by_night, occupied_minutes, shared_minutes, what_if_fee_fen
        )

    recommendation, reason = _recommend(recorded, what_if)
    return Advice(
        building_id=summary.building_id,
        first_night=nights[0].night,
        last_night=nights[-1].night,
        recorded=recorded,
        what_if=what_if,
        what_if_fee_fen=what_if_fee_fen,
        recommendation=recommendation,
        reason=reason,
        assumptions=(*assumptions, *_COMMON_ASSUMPTIONS),
    )


def _as_per_use(
    nights: list[NightUse],
    *,
    pass_fen: int,
    pass_nights: int,
    per_use_entries: int,
    occupied_minutes: int,
    shared_minutes: int,
    fee_fen: int,
    factor: Fraction,
) -> tuple[ModeOutcome, list[str]]:
    """Monthly recorded, per use estimated: pass nights become entries, then demand responds."""
    base = pass_nights + per_use_entries
    capacity = sum(n.shared_spaces for n in nights)
    # What a pass holder paid per night actually parked: the price the per-use fee replaces.
    paid_per_night = Fraction(pass_fen, pass_nights) if pass_nights else None
    drop = rise = Fraction(0)
    if paid_per_night is None:
        drop = Fraction(1 if pass_fen else 0)  # passes bought and never used: any fee is cheaper
    elif fee_fen < paid_per_night:
        drop = (paid_per_night - fee_fen) / paid_per_night
    elif fee_fen > paid_per_night:
        rise = (fee_fen - paid_per_night) / fee_fen
    spare = max(capacity - base, 0)
    extra = int(spare * factor * drop)  # int() floors these non-negative fractions
    lost = int(pass_nights * factor * rise)
    entries = min(capacity, base + extra - lost)
    if base:
        occupied = occupied_minutes * entries // base
    else:
        occupied = shared_minutes * entries // capacity if capacity else 0
    occupied = min(occupied, shared_minutes)
    outcome = _outcome(PlanMode.PER_USE, entries * fee_fen, entries, occupied, shared_minutes)
    price_text = (
        f"{_fmt_cny(round_half_up(paid_per_night.numerator, paid_per_night.denominator))}"
        if paid_per_night is not None
        else "unknown (no pass night used)"
    )
    assumptions = [
        f"Each night a pass holder parked becomes one per-use entry ({pass_nights}), and "
        f"recorded per-use entries stay ({per_use_entries}).",
        f"Pass holders paid {price_text} per night parked; the per-use fee is {_fmt_cny(fee_fen)}.",
        f"Demand response, factor {factor}: at a lower price, extra entries = empty "
        f"space-nights x factor x relative price drop ({spare} x {factor} x "
        f"{drop} = {extra}); at a higher price, lost entries = pass nights x "
        f"factor x relative price rise ({lost}). The district's premise is that nearby "
        "residents have more cars than spaces, so price, not demand, leaves spaces empty.",
        f"Entries are capped by capacity: {capacity} space-nights.",
        "Each new entry occupies the recorded average minutes per entry.",
    ]
    return outcome, assumptions


def _as_monthly(
    nights: list[NightUse],
    plans_by_night: dict[dt.date, PricePlan],
    occupied_minutes: int,
    shared_minutes: int,
    fee_fen: int,
) -> tuple[ModeOutcome, list[str]]:
    """Per use recorded, monthly estimated: residents whose month's spend reaches the fee buy."""
    spend_fen: Counter[tuple[int, dt.date]] = Counter()
    entries_of: Counter[tuple[int, dt.date]] = Counter()
    for n in nights:
        fee = plans_by_night[n.night].per_use_fee_fen or 0
        for resident in n.per_use_entrants:
            spend_fen[resident, month_start(n.night)] += fee
            entries_of[resident, month_start(n.night)] += 1
    buyers = [key for key, spent in spend_fen.items() if spent >= fee_fen]
    base = sum(entries_of.values())
    entries = sum(entries_of[key] for key in buyers)
    occupied = occupied_minutes * entries // base if base else 0
    outcome = _outcome(PlanMode.MONTHLY, len(buyers) * fee_fen, entries, occupied, shared_minutes)
    assumptions = [
        f"A resident buys a pass for a month when their per-use spend that month reached the "
        f"pass fee of {_fmt_cny(fee_fen)}; passes sold: {len(buyers)}.",
        "Pass buyers park the nights they parked before; nobody else parks, since the monthly "
        "plan compared is priced by its pass fee alone (no per-use fee beside it).",
        "Each kept entry occupies the recorded average minutes per entry.",
    ]
    return outcome, assumptions


def _recommend(recorded: ModeOutcome, what_if: ModeOutcome) -> tuple[str, str]:
    other = what_if.mode.value
    earned = (
        f"{other} would have earned {_fmt_cny(what_if.revenue_fen)} instead of "
        f"{_fmt_cny(recorded.revenue_fen)}"
    )
    filled = (
        f"filled {_fmt_bp(what_if.utilization_bp)} of the shared space-hours instead of "
        f"{_fmt_bp(recorded.utilization_bp)}"
    )
    no_worse = (
        what_if.revenue_fen >= recorded.revenue_fen
        and what_if.occupied_space_minutes >= recorded.occupied_space_minutes
    )
    better = (
        what_if.revenue_fen > recorded.revenue_fen
        or what_if.occupied_space_minutes > recorded.occupied_space_minutes
    )
    if no_worse and better:
        return other, f"switch to {other}: {earned} and {filled}."
    return "keep", f"keep {recorded.mode.value}: {earned} and {filled}."
