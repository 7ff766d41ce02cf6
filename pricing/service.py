"""Pricing use cases: plan versions (create, switch, withdraw, history) with the Rates
messages they owe, residents' charges and statements, revenue, refunds, and advice.

Every refusal is a problem that changes nothing. A plan change takes the building's row
lock, which a booking's key-share lock conflicts with, so no booking is priced by a
version list that is being changed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from pydantic import ValidationError

from parking import prices, sync
from parking.errors import Problem
from parking.places.access import require_building
from parking.security import AuthUser
from pricing import ledger, repository
from pricing.advisor import Advice, advise
from pricing.charges import ChargeKind, Statement, statement
from pricing.plans import (
    NoPlanInForce,
    PlanError,
    PlanMode,
    PricePlan,
    check_new_version,
    default_switch_date,
    is_withdrawable,
    plan_in_force,
)
from pricing.schemas import (
    ChargeOut,
    MonthRevenue,
    NewPlan,
    NewRefund,
    PlanOut,
    PlanSwitch,
    RevenueReport,
)
from pricing.usage import usage_summary

__all__ = [
    "MAX_ADVICE_NIGHTS",
    "MAX_REVENUE_MONTHS",
    "advice",
    "announce_rates",
    "create_first_plan",
    "create_plan",
    "list_charges",
    "list_plans",
    "monthly_statement",
    "refund_charge",
    "revenue",
    "switch_plan",
    "withdraw_plan",
]

MAX_ADVICE_NIGHTS = 366
MAX_REVENUE_MONTHS = 120
_PASSES_UNDER = "SELECT EXISTS (SELECT 1 FROM passes WHERE plan_id = $1 AND status = 'active')"


def _today(now: dt.datetime, tz: ZoneInfo) -> dt.date:
    return now.astimezone(tz).date()


def _status(plan: PricePlan, in_force: PricePlan | None, today: dt.date) -> str:
    if plan.withdrawn_at is not None:
        return "withdrawn"
    if plan.effective_from > today:
        return "scheduled"
    if in_force is not None and plan.version == in_force.version:
        return "in_force"
    return "superseded"


def _outs(plans: list[PricePlan], today: dt.date, tz: ZoneInfo) -> list[PlanOut]:
    try:
        in_force: PricePlan | None = plan_in_force(plans, today)
    except NoPlanInForce:
        in_force = None
    return [PlanOut.of(p, _status(p, in_force, today), tz) for p in plans]


async def _emit_current_rates(
    conn: asyncpg.Connection, building_id: int, now: dt.datetime, tz: ZoneInfo
) -> None:
    """Queue the place's Rates (the version in force today) and mark it announced."""
    plans = await prices.plans_of(conn, building_id)
    try:
        current = plan_in_force(plans, _today(now, tz))
    except NoPlanInForce:
        return
    await sync.emit_rates(conn, building_id, tz, current)
    assert current.plan_id is not None  # read from storage
    await repository.announce_due_rates(conn, [current.plan_id], now)


async def create_first_plan(
    conn: asyncpg.Connection,
    building_id: int,
    *,
    per_use_fee_fen: int | None,
    monthly_fee_fen: int | None,
    created_by: int | None,
    now: dt.datetime,
    tz: ZoneInfo,
) -> PricePlan:
    """Version 1 of a new building, in force from tonight: monthly when a pass fee is
    given (the building then sells passes), else per use."""
    plan = PricePlan(
        building_id=building_id,
        version=1,
        mode=PlanMode.PER_USE if monthly_fee_fen is None else PlanMode.MONTHLY,
        per_use_fee_fen=per_use_fee_fen,
        monthly_fee_fen=monthly_fee_fen,
        effective_from=_today(now, tz),
    )
    stored = await repository.insert_plan(conn, plan, created_by=created_by, at=now)
    await _emit_current_rates(conn, building_id, now, tz)
    return stored


async def list_plans(
    conn: asyncpg.Connection, user: AuthUser, building_id: int, *, now: dt.datetime, tz: ZoneInfo
) -> list[PlanOut]:
    """Every version of the building, oldest first, with its status tonight."""
    await require_building(conn, user, building_id)
    return _outs(await prices.plans_of(conn, building_id), _today(now, tz), tz)


async def _add_version(
    conn: asyncpg.Connection,
    user: AuthUser,
    building_id: int,
    plans: list[PricePlan],
    terms: dict[str, Any],
    effective_from: dt.date,
    *,
    now: dt.datetime,
    tz: ZoneInfo,
) -> PlanOut:
    today = _today(now, tz)
    if effective_from < today:
        raise Problem(
            422,
            "effective-date-in-past",
            f"A plan cannot take effect in the past ({effective_from.isoformat()}).",
        )
    version = max((p.version for p in plans), default=0) + 1
    try:
        new = PricePlan(
            building_id=building_id, version=version, effective_from=effective_from, **terms
        )
    except ValidationError as exc:
        raise Problem(
            422,
            "plan-invalid",
            "; ".join(str(e["msg"]) for e in exc.errors()),
        ) from exc
    try:
        check_new_version(plans, new, today)
    except PlanError as exc:
        # Tonight may already be quoted and booked: a version from today would reprice it.
        raise Problem(422, "effective-date-too-soon", str(exc)) from exc
    stored = await repository.insert_plan(conn, new, created_by=user.id, at=now)
    await _emit_current_rates(conn, building_id, now, tz)
    return _outs([*plans, stored], today, tz)[-1]


async def create_plan(
    conn: asyncpg.Connection,
    user: AuthUser,
    building_id: int,
    new: NewPlan,
    *,
    now: dt.datetime,
    tz: ZoneInfo,
) -> PlanOut:
    """A new version with every term given, from ``effective_from`` (after today; default
    the first day of next month). Nights before it keep their version and price."""
    await require_building(conn, user, building_id, lock=True)
    plans = await prices.plans_of(conn, building_id)
    effective_from = new.effective_from or default_switch_date(_today(now, tz))
    terms = new.model_dump(exclude={"effective_from"})
    return await _add_version(conn, user, building_id, plans, terms, effective_from, now=now, tz=tz)


async def switch_plan(
    conn: asyncpg.Connection,
    user: AuthUser,
    building_id: int,
    switch: PlanSwitch,
    *,
    now: dt.datetime,
    tz: ZoneInfo,
) -> PlanOut:
    """A new version in ``mode`` from ``effective_from`` (default the first day of next
    month), with the other terms of the version in force on that date."""
    await require_building(conn, user, building_id, lock=True)
    plans = await prices.plans_of(conn, building_id)
    effective_from = switch.effective_from or default_switch_date(_today(now, tz))
    try:
        base = plan_in_force(plans, effective_from)
    except NoPlanInForce as exc:
        raise Problem(422, "plan-invalid", str(exc)) from exc
    terms = base.model_dump(
        exclude={"building_id", "version", "effective_from", "withdrawn_at", "plan_id"}
    )
    terms["mode"] = switch.mode
    for fee in ("per_use_fee_fen", "monthly_fee_fen"):
        if getattr(switch, fee) is not None:
            terms[fee] = getattr(switch, fee)
    return await _add_version(conn, user, building_id, plans, terms, effective_from, now=now, tz=tz)


async def withdraw_plan(
    conn: asyncpg.Connection,
    user: AuthUser,
    building_id: int,
    version: int,
    *,
    now: dt.datetime,
    tz: ZoneInfo,
) -> PlanOut:
    """Withdraw a scheduled version before its first night; withdrawn again: as it is.

    409 ``plan-in-force`` once it took effect; 409 ``plan-has-passes`` when passes were
    sold under it (they were priced by it and run to their month's end).
    """
    await require_building(conn, user, building_id, lock=True)
    plans = await prices.plans_of(conn, building_id)
    today = _today(now, tz)
    plan = next((p for p in plans if p.version == version), None)
    if plan is None:
        raise Problem(404, "not-found", f"Building {building_id} has no plan version {version}.")
    if plan.withdrawn_at is not None:
        return next(o for o in _outs(plans, today, tz) if o.version == version)
    if not is_withdrawable(plan, today):
        raise Problem(
            409,
            "plan-in-force",
            f"Version {version} took effect on {plan.effective_from.isoformat()}; "
            "add a new version instead.",
        )
    assert plan.plan_id is not None
    if await conn.fetchval(_PASSES_UNDER, plan.plan_id):
        raise Problem(
            409, "plan-has-passes", f"Passes were sold under version {version}; it stays."
        )
    withdrawn = await repository.withdraw_plan(conn, plan.plan_id, now)
    assert withdrawn is not None  # the building's row lock orders withdrawals
    plans = [withdrawn if p.version == version else p for p in plans]
    await _emit_current_rates(conn, building_id, now, tz)
    return next(o for o in _outs(plans, today, tz) if o.version == version)


async def announce_rates(conn: asyncpg.Connection, now: dt.datetime, tz: ZoneInfo) -> int:
    """Send the Rates of every building whose version in force changed since it was last
    announced (a scheduled version reached its first night); how many buildings."""
    async with conn.transaction():
        due = await repository.due_rates(conn, _today(now, tz))
        buildings = sorted({p.building_id for p in due})
        for building_id in buildings:
            await _emit_current_rates(conn, building_id, now, tz)
        await repository.announce_due_rates(conn, [p.plan_id for p in due if p.plan_id], now)
    return len(buildings)


def _month_bounds(month: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    if (month.year, month.month) == (dt.MAXYEAR, 12):
        # Its end, the next month's first instant, is past the calendar.
        raise Problem(422, "invalid-month", f"{month:%Y-%m} is beyond the calendar's last month.")
    start = dt.datetime.combine(month, dt.time(), tzinfo=tz)
    return start, dt.datetime.combine(default_switch_date(month), dt.time(), tzinfo=tz)


def _charge_out(charge: repository.StoredCharge, tz: ZoneInfo) -> ChargeOut:
    return ChargeOut.model_validate(
        charge.model_dump() | {"occurred_at": charge.occurred_at.astimezone(tz)}
    )


async def list_charges(
    conn: asyncpg.Connection,
    user_id: int,
    *,
    month: dt.date | None,
    limit: int,
    offset: int,
    tz: ZoneInfo,
) -> list[ChargeOut]:
    """The caller's charges in recording order, optionally of one local month."""
    start, end = _month_bounds(month, tz) if month is not None else (None, None)
    rows = await repository.charges_of_user(
        conn, user_id, occurred_from=start, occurred_before=end, limit=limit, offset=offset
    )
    return [_charge_out(c, tz) for c in rows]


async def monthly_statement(
    conn: asyncpg.Connection, user_id: int, month: dt.date, tz: ZoneInfo
) -> Statement:
    """The caller's statement of a month: the charges recorded in it and their sum."""
    start, end = _month_bounds(month, tz)
    rows = await repository.charges_of_user(conn, user_id, occurred_from=start, occurred_before=end)
    return statement([c.as_charge() for c in rows], month, tz)


async def revenue(
    conn: asyncpg.Connection,
    user: AuthUser,
    building_id: int,
    *,
    first_month: dt.date,
    last_month: dt.date,
    tz: ZoneInfo,
) -> RevenueReport:
    """Net revenue of the building per local month of recording, by kind (every kind
    present, refunds as their own negative kind)."""
    await require_building(conn, user, building_id)
    if last_month < first_month:
        raise Problem(422, "invalid-period", "The last month is before the first.")
    months_asked = (last_month.year - first_month.year) * 12 + last_month.month - first_month.month
    if months_asked >= MAX_REVENUE_MONTHS:
        raise Problem(422, "invalid-period", f"At most {MAX_REVENUE_MONTHS} months at once.")
    start, _ = _month_bounds(first_month, tz)
    _, end = _month_bounds(last_month, tz)
    rows = await repository.revenue_by_month_and_kind(conn, building_id, start, end, tz.key)
    months: dict[dt.date, MonthRevenue] = {}
    month = first_month
    while month <= last_month:
        months[month] = MonthRevenue(
            month=f"{month:%Y-%m}", by_kind=dict.fromkeys(ChargeKind, 0), total_fen=0, charges=0
        )
        month = default_switch_date(month)
    for row in rows:
        entry = months[row["month"]]
        entry.by_kind[ChargeKind(row["kind"])] += row["amount_fen"]
        entry.total_fen += row["amount_fen"]
        entry.charges += row["charges"]
    return RevenueReport(building_id=building_id, months=list(months.values()))


async def refund_charge(
    conn: asyncpg.Connection,
    admin_id: int,
    charge_id: int,
    new: NewRefund,
    *,
    now: dt.datetime,
    tz: ZoneInfo,
) -> ChargeOut:
    """An admin's refund: a negative row against the charge, never above what is left."""
    stored = await ledger.refund(
        conn, charge_id, new.amount_fen, at=now, reason=new.reason, created_by=admin_id
    )
    return _charge_out(stored, tz)


async def advice(
    conn: asyncpg.Connection,
    user: AuthUser | None,
    building_id: int,
    *,
    first_night: dt.date,
    last_night: dt.date,
    per_use_fee_fen: int | None,
    monthly_fee_fen: int | None,
    now: dt.datetime,
    tz: ZoneInfo,
) -> Advice:
    """``pricing.advise`` on the building's recorded use of a past period.

    The what-if fee is ``per_use_fee_fen`` when the period was monthly and
    ``monthly_fee_fen`` when it was per use; default: that fee of the version in force on
    the period's last night, else of the version in force tonight.
    ``user`` None: the command line, which may advise on any building.
    """
    if user is not None:
        await require_building(conn, user, building_id)
    if last_night < first_night:
        raise Problem(422, "invalid-period", "The last night is before the first.")
    if last_night >= _today(now, tz):
        raise Problem(422, "invalid-period", "Advice is on past nights: end before tonight.")
    if (last_night - first_night).days + 1 > MAX_ADVICE_NIGHTS:
        raise Problem(422, "invalid-period", f"At most {MAX_ADVICE_NIGHTS} nights at once.")
    plans = await prices.plans_of(conn, building_id)
    try:
        # Before reading use: nights before any version (the calendar's first nights among
        # them, whose windows' arithmetic would leave the calendar) have nothing to advise on.
        plan_in_force(plans, first_night)
    except NoPlanInForce as exc:
        raise Problem(422, "no-plan-in-force", str(exc)) from exc
    summary = await usage_summary(conn, building_id, first_night, last_night, plans, tz)
    if summary is None:
        raise Problem(422, "no-shared-nights", "The building shared no night in that period.")
    try:
        period_plan = plan_in_force(plans, last_night)
    except NoPlanInForce as exc:
        raise Problem(422, "no-plan-in-force", str(exc)) from exc
    other_fee = "per_use_fee_fen" if period_plan.mode is PlanMode.MONTHLY else "monthly_fee_fen"
    what_if = per_use_fee_fen if period_plan.mode is PlanMode.MONTHLY else monthly_fee_fen
    if what_if is None and getattr(period_plan, other_fee) is None:
        # The period's plan had no fee of the other mode: compare with tonight's (the
        # seed's monthly plan sold no single nights; its per-use fee came with the switch).
        try:
            what_if = getattr(plan_in_force(plans, _today(now, tz)), other_fee)
        except NoPlanInForce:
            what_if = None
    try:
        return advise(summary, what_if_fee_fen=what_if)
    except (ValueError, NoPlanInForce) as exc:
        raise Problem(422, "advice-impossible", str(exc)) from exc
