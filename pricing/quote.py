"""What a night, an exit, a cancellation or a pass costs under one plan version.

Pure functions of a plan and times: integer fen out, never negative, never a float.
"""

from __future__ import annotations

import datetime as dt

from pydantic import AwareDatetime, BaseModel, ConfigDict, computed_field

from pricing.charges import ChargeKind
from pricing.money import Fen, round_half_up
from pricing.plans import LOCAL_TZ, NotBookable, PlanError, PlanMode, PricePlan, month_end

__all__ = [
    "Quote",
    "QuoteLine",
    "cancellation_fee",
    "no_show_fee",
    "overstay_fee",
    "pass_price",
    "quote",
]

_HOUR = dt.timedelta(hours=1)


class QuoteLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: ChargeKind
    amount_fen: Fen
    description: str


class Quote(BaseModel):
    """The itemised price of one stay, and the terms that may add to it later."""

    model_config = ConfigDict(frozen=True)

    building_id: int
    plan_version: int
    night: dt.date
    arrive: AwareDatetime
    depart: AwareDatetime
    lines: tuple[QuoteLine, ...]
    free_cancel_until: AwareDatetime
    """Cancelling at or before this instant costs nothing; later costs ``late_cancel_fee_fen``."""
    late_cancel_fee_fen: Fen
    no_show_fee_fen: Fen

    @computed_field
    @property
    def total_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)


def _require_aware(**instants: dt.datetime) -> None:
    for name, value in instants.items():
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware, got {value!r}")


def _require_usable(plan: PricePlan, night: dt.date) -> None:
    if plan.withdrawn_at is not None:
        raise PlanError(f"plan version {plan.version} was withdrawn")
    if plan.effective_from > night:
        raise PlanError(
            f"plan version {plan.version} takes effect on {plan.effective_from.isoformat()}, "
            f"after night {night.isoformat()}"
        )


def quote(
    plan: PricePlan,
    night: dt.date,
    window_start: dt.datetime,
    window_end: dt.datetime,
    arrive: dt.datetime,
    depart: dt.datetime,
    tz: dt.tzinfo = LOCAL_TZ,
) -> Quote:
    """The price of staying from ``arrive`` to ``depart`` on ``night`` under ``plan``.

    ``plan`` must be the version in force that night (``plan_in_force``); the stay must lie
    within the night's window ``[window_start, window_end]``, and the window must start on
    ``night`` in ``tz`` or, where a blackout cut its first hours away, on the morning after.
    Per use: one line, the flat fee for the night's entry, whatever the length of the
    stay. Monthly: passes are the product (``pass_price``); a single
    night (a night a holder released, a space no pass holds) is sold at the plan's
    per-use fee when the plan sets one, and otherwise this raises ``NotBookable``.
    """
    _require_aware(window_start=window_start, window_end=window_end, arrive=arrive, depart=depart)
    _require_usable(plan, night)
    if not 0 <= (window_start.astimezone(tz).date() - night).days <= 1:
        raise ValueError(f"the window starting {window_start.isoformat()} is not night {night}")
    if not window_start <= arrive < depart <= window_end:
        raise ValueError("the stay must start before it ends and lie within the night's window")
    if plan.per_use_fee_fen is None:
        # Only a monthly plan may leave the per-use fee unset (PricePlan checks it).
        raise NotBookable(
            f"building {plan.building_id} sells monthly passes on night {night.isoformat()}, "
            "not single nights"
        )
    line = QuoteLine(
        kind=ChargeKind.PER_USE,
        amount_fen=plan.per_use_fee_fen,
        description=f"per-use fee, night {night.isoformat()}",
    )
    return Quote(
        building_id=plan.building_id,
        plan_version=plan.version,
        night=night,
        arrive=arrive,
        depart=depart,
        lines=(line,),
        free_cancel_until=arrive - dt.timedelta(minutes=plan.free_cancel_minutes),
        late_cancel_fee_fen=plan.late_cancel_fee_fen,
        no_show_fee_fen=plan.no_show_fee_fen,
    )


def overstay_fee(plan: PricePlan, window_end: dt.datetime, exit_at: dt.datetime) -> int:
    """Fen owed for leaving at ``exit_at`` after the window's end.

    The grace is a threshold, not a deduction: an exit up to ``overstay_grace_minutes``
    after ``window_end`` (inclusive) costs nothing; a later exit pays every started hour
    counted from ``window_end`` itself, times ``overstay_fen_per_hour``.
    """
    _require_aware(window_end=window_end, exit_at=exit_at)
    overstay = exit_at - window_end
    if overstay <= dt.timedelta(minutes=plan.overstay_grace_minutes):
        return 0
    started_hours = -(-overstay // _HOUR)  # ceiling division on exact timedeltas
    return started_hours * plan.overstay_fen_per_hour


def cancellation_fee(plan: PricePlan, arrive: dt.datetime, cancelled_at: dt.datetime) -> int:
    """Fen owed for cancelling at ``cancelled_at`` a stay that was to start at ``arrive``.

    Free when cancelled at least ``free_cancel_minutes`` before arrival; otherwise,
    including any time after arrival, ``late_cancel_fee_fen``.
    """
    _require_aware(arrive=arrive, cancelled_at=cancelled_at)
    if arrive - cancelled_at >= dt.timedelta(minutes=plan.free_cancel_minutes):
        return 0
    return plan.late_cancel_fee_fen


def no_show_fee(plan: PricePlan) -> int:
    """Fen owed, instead of the per-use fee, by a reservation that ends ``no_show``."""
    return plan.no_show_fee_fen


def pass_price(
    plan: PricePlan, month: dt.date, shared_nights_in_month: int, shared_nights_left: int
) -> int:
    """Fen for a pass for ``month`` (its first day) with ``shared_nights_left`` of its nights.

    The monthly fee times nights left over shared nights in the month, rounded half-up
    to the fen: the full fee when every night is left, never more than the full fee, and
    never less for more nights left. ``plan`` is the version ``pass_plan`` returns.
    """
    if month.day != 1:
        raise ValueError(f"a month is named by its first day, got {month.isoformat()}")
    if plan.mode is not PlanMode.MONTHLY:
        raise NotBookable(f"plan version {plan.version} sells no passes")
    _require_usable(plan, month_end(month))
    if not 1 <= shared_nights_in_month <= month_end(month).day:
        raise ValueError(f"{shared_nights_in_month} shared nights cannot be in {month:%Y-%m}")
    if not 1 <= shared_nights_left <= shared_nights_in_month:
        raise ValueError(
            f"{shared_nights_left} nights left is not between 1 and {shared_nights_in_month}"
        )
    assert plan.monthly_fee_fen is not None  # guaranteed by PricePlan for monthly plans
    return round_half_up(plan.monthly_fee_fen * shared_nights_left, shared_nights_in_month)
