"""Price plan versions and the switching rules between monthly passes and per-use fees.

Pure functions over immutable plan versions: which version is in force for a night,
when a pass may be sold, and whether a new version may be scheduled. No storage, no clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, model_validator

from pricing.money import Fen

__all__ = [
    "LOCAL_TZ",
    "NoPlanInForce",
    "NotBookable",
    "PlanError",
    "PlanMode",
    "PricePlan",
    "check_new_version",
    "default_switch_date",
    "is_withdrawable",
    "month_end",
    "month_start",
    "pass_on_sale",
    "pass_plan",
    "plan_in_force",
]

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
"""The default local zone (DESIGN "Time"); callers pass ``settings.tz`` where it is configured."""

Minutes = Annotated[StrictInt, Field(ge=0)]


class PlanMode(StrEnum):
    MONTHLY = "monthly"
    PER_USE = "per_use"


class PlanError(ValueError):
    """A plan version, or a request about plans, breaks a pricing rule."""


class NoPlanInForce(LookupError):
    """No plan version is in force for the building on the asked night."""


class NotBookable(PlanError):
    """What was asked is not sold under the plan in force (protocol problem ``not-bookable``)."""


class PricePlan(BaseModel):
    """One immutable version of a building's price plan, in force from ``effective_from``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    building_id: int
    version: Annotated[StrictInt, Field(ge=1)]
    """Grows with every version of the building's plan; also the Rates message version."""
    mode: PlanMode
    per_use_fee_fen: Fen | None = None
    """Flat fee per night's entry; required when ``mode`` is ``per_use``."""
    monthly_fee_fen: Fen | None = None
    """Fee of a calendar month's night pass; required when ``mode`` is ``monthly``."""
    overstay_fen_per_hour: Fen = 0
    overstay_grace_minutes: Minutes = 0
    no_show_fee_fen: Fen = 0
    free_cancel_minutes: Minutes = 0
    """Cancelling at least this long before arrival costs nothing."""
    late_cancel_fee_fen: Fen = 0
    effective_from: dt.date
    """The first local night this version prices."""
    withdrawn_at: AwareDatetime | None = None
    """Set when a scheduled version was withdrawn before it took effect; it then prices nothing."""
    plan_id: int | None = None
    """The storage row id, once stored."""

    @model_validator(mode="after")
    def _active_fee_is_set(self) -> PricePlan:
        if self.mode is PlanMode.PER_USE and self.per_use_fee_fen is None:
            raise ValueError("a per_use plan needs per_use_fee_fen")
        if self.mode is PlanMode.MONTHLY and self.monthly_fee_fen is None:
            raise ValueError("a monthly plan needs monthly_fee_fen")
        return self

    def effective_from_at(self, tz: dt.tzinfo = LOCAL_TZ) -> dt.datetime:
        """The instant the version takes effect: local midnight of ``effective_from``."""
        return dt.datetime.combine(self.effective_from, dt.time(), tzinfo=tz)


def month_start(day: dt.date) -> dt.date:
    """The first day of ``day``'s month."""
    return day.replace(day=1)


def month_end(day: dt.date) -> dt.date:
    """The last day of ``day``'s month."""
    return default_switch_date(day) - dt.timedelta(days=1)


def default_switch_date(today: dt.date) -> dt.date:
    """The first day of the month after ``today``: when a switch takes effect by default."""
    if today.month == 12:
        return dt.date(today.year + 1, 1, 1)
    return dt.date(today.year, today.month + 1, 1)


def _one_building(plans: Iterable[PricePlan]) -> list[PricePlan]:
    plans = list(plans)
    buildings = {plan.building_id for plan in plans}
    if len(buildings) > 1:
        raise PlanError(f"plans of several buildings given together: {sorted(buildings)}")
    return plans


def plan_in_force(plans: Iterable[PricePlan], night: dt.date) -> PricePlan:
    """The version that prices ``night``: the latest ``effective_from`` on or before it.

    Withdrawn versions never count. Two versions from the same date: the higher version
    wins, so a manager's later correction replaces an earlier schedule. Raises
    ``NoPlanInForce`` when the building has no version in force that night.
    """
    plans = _one_building(plans)
    candidates = [p for p in plans if p.withdrawn_at is None and p.effective_from <= night]
    if not candidates:
        building = f"building {plans[0].building_id}" if plans else "the building"
        raise NoPlanInForce(f"no price plan in force for {building} on night {night.isoformat()}")
    return max(candidates, key=lambda p: (p.effective_from, p.version))


def _require_month(month: dt.date) -> None:
    if month.day != 1:
        raise ValueError(f"a month is named by its first day, got {month.isoformat()}")


def pass_plan(
    plans: Iterable[PricePlan], month: dt.date, bought_on: dt.date | None = None
) -> PricePlan:
    """The version whose monthly fee prices a pass for ``month`` bought on ``bought_on``.

    A pass starts on the month's first night, or on ``bought_on`` when bought during the
    month. It is on sale only when a monthly plan is in force both on the month's first
    night (per-use to monthly: passes go on sale for months starting on or after the
    effective date) and on the pass's first night (monthly to per-use: no new pass starts
    on or after the effective date). Passes already sold are not affected: they run to
    the end of their month. Raises ``NotBookable`` when no pass is on sale.
    """
    _require_month(month)
    plans = _one_building(plans)
    if bought_on is not None and bought_on > month_end(month):
        raise NotBookable(f"the month {month:%Y-%m} is over")
    start = month if bought_on is None else max(month, bought_on)
    _monthly_in_force(plans, month)  # raises unless this month sells passes at all
    return _monthly_in_force(plans, start)  # the version that prices the pass's first night


def _monthly_in_force(plans: list[PricePlan], night: dt.date) -> PricePlan:
    try:
        plan = plan_in_force(plans, night)
    except NoPlanInForce as exc:
        raise NotBookable(str(exc)) from exc
    if plan.mode is not PlanMode.MONTHLY:
        raise NotBookable(f"no monthly plan in force on night {night.isoformat()}")
    return plan


def pass_on_sale(
    plans: Iterable[PricePlan], month: dt.date, bought_on: dt.date | None = None
) -> bool:
    """Whether a pass for ``month`` may be sold (on ``bought_on``); see ``pass_plan``."""
    try:
        pass_plan(plans, month, bought_on)
    except NotBookable:
        return False
    return True


def is_withdrawable(plan: PricePlan, today: dt.date) -> bool:
    """A scheduled version may be withdrawn only before its first night."""
    return plan.withdrawn_at is None and plan.effective_from > today


def check_new_version(plans: Iterable[PricePlan], new: PricePlan, today: dt.date) -> None:
    """Raise ``PlanError`` unless ``new`` may be added to the building's ``plans`` today.

    The version number must grow, and once a building has a plan, a new version takes
    effect tomorrow at the earliest: tonight may already be quoted and booked, and a
    switch must never change the price of a night already priced.
    """
    plans = _one_building([*plans, new])[:-1]
    if new.withdrawn_at is not None:
        raise PlanError("a new version cannot be withdrawn already")
    if plans and new.version <= max(p.version for p in plans):
        raise PlanError(f"version {new.version} is not above the building's latest version")
    if any(p.withdrawn_at is None for p in plans) and new.effective_from <= today:
        raise PlanError(
            f"a new version takes effect after today ({today.isoformat()}), "
            f"not on {new.effective_from.isoformat()}"
        )
