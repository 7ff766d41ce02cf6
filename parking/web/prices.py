"""A building's price pages for its manager (and admins): the plan and its versions with
quotes, the advisor, and monthly reports of utilization and revenue.

Every change runs the API's own use case (``pricing.service``) with the API's request
model; every figure is read through the functions the API, search and booking use.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import asyncpg
from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, QueryParameter
from litestar.response import Redirect, Template
from pydantic import BaseModel, ConfigDict, Field

from parking.clock import utc_now
from parking.db import DbConnection
from parking.errors import Problem
from parking.passes.service import parse_month
from parking.places import service as places
from parking.places.schemas import Building
from parking.prices import plans_of
from parking.web.charts import Series, bar_chart, stacked_bar_chart
from parking.web.i18n import translator
from parking.web.pages import (
    attempt,
    attempt_once,
    lang_of,
    local_today,
    money,
    page_role,
    parse_form,
    redirect,
    render,
)
from parking.web.session import user_of
from parking.windows import CalendarMissing, envelope, load_windows
from pricing import service
from pricing.charges import ChargeKind
from pricing.money import round_half_up
from pricing.plans import (
    NoPlanInForce,
    NotBookable,
    PricePlan,
    default_switch_date,
    month_start,
    pass_on_sale,
    pass_plan,
    plan_in_force,
)
from pricing.quote import pass_price, quote
from pricing.schemas import NewPlan, PlanOut, PlanSwitch
from pricing.usage import usage_summary

__all__ = [
    "ROUTES",
    "MonthUse",
    "NightPrice",
    "PricePages",
    "month_pass_price",
    "monthly_use",
    "night_price",
]

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]

REPORT_MONTHS = 12
"""The reports' default period: this month and the eleven before it."""
MAX_REPORT_MONTHS = 36
"""A longer period would read every night's windows and sessions of years at once."""

UTILIZATION_AXIS_BP = 1000
"""The utilization axis reaches at least 10 %, so low months are not drawn as full."""

# The integer fields of the plan forms: digits become an int for the API's model, anything
# else ("10.5") stays text, which the model's strict integers refuse as the API does.
_INTEGER_FIELDS = frozenset(
    {
        "per_use_fee_fen",
        "monthly_fee_fen",
        "overstay_fen_per_hour",
        "overstay_grace_minutes",
        "no_show_fee_fen",
        "free_cancel_minutes",
        "late_cancel_fee_fen",
    }
)
_DIGITS = re.compile(r"-?\d{1,19}")

# Revenue layers from the bottom of a stacked bar up; refunds go below zero.
KIND_ORDER = (
    ChargeKind.PER_USE,
    ChargeKind.PASS,
    ChargeKind.OVERSTAY,
    ChargeKind.NO_SHOW,
    ChargeKind.LATE_CANCEL,
    ChargeKind.REFUND,
)
KIND_COLOURS = {
    ChargeKind.PER_USE: "#0b6e4f",
    ChargeKind.PASS: "#3b82c4",
    ChargeKind.OVERSTAY: "#e0a100",
    ChargeKind.NO_SHOW: "#9a3412",
    ChargeKind.LATE_CANCEL: "#8b5cf6",
    ChargeKind.REFUND: "#9aa3ae",
}


def _form_values(data: dict[str, Any], fields: frozenset[str] | set[str]) -> dict[str, Any]:
    """The posted fields a model knows, with whole numbers as ints."""
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in fields:
            continue
        text = str(value).strip()
        values[key] = int(text) if key in _INTEGER_FIELDS and _DIGITS.fullmatch(text) else text
    return values


_Fee = Annotated[int, Field(ge=0, le=100_000_000)]
"""A what-if fee, bounded as the API's advice query bounds it."""


class _AdviceQuery(BaseModel):
    """The advice form's fields, as ``GET /buildings/{id}/advice`` takes them."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    first: dt.date = Field(alias="from")
    last: dt.date = Field(alias="to")
    per_use_fee_fen: _Fee | None = None
    monthly_fee_fen: _Fee | None = None


# ------------------------------------------------------------------ quotes


@dataclass(frozen=True, slots=True)
class NightPrice:
    """What one night costs at the building, or why it is not sold per night."""

    night: dt.date
    plan: PricePlan | None
    fee_fen: int | None
    why_not: str | None = None
    """``no-plan``, ``not-shared``, ``passes-only`` or ``calendar-missing``."""


async def night_price(
    conn: asyncpg.Connection, building_id: int, plans: list[PricePlan], night: dt.date, tz: ZoneInfo
) -> NightPrice:
    """The quote of the night's whole window under the version in force that night."""
    try:
        plan = plan_in_force(plans, night)
    except NoPlanInForce:
        return NightPrice(night, None, None, "no-plan")
    try:
        windows = (await load_windows(conn, [building_id], [night], tz))[building_id, night]
    except CalendarMissing:
        return NightPrice(night, plan, None, "calendar-missing")
    whole = envelope(windows)
    if whole is None:
        return NightPrice(night, plan, None, "not-shared")
    try:
        priced = quote(plan, night, whole.start, whole.end, whole.start, whole.end, tz)
    except NotBookable:
        return NightPrice(night, plan, None, "passes-only")
    return NightPrice(night, plan, priced.total_fen)


async def month_pass_price(
    conn: asyncpg.Connection, building_id: int, plans: list[PricePlan], month: dt.date, tz: ZoneInfo
) -> int | None:
    """A whole month's pass bought before the month starts; None when none is sold.

    Raises ``CalendarMissing`` when the month's windows need a year not entered (no pass
    can be priced, nor bought, until it is).
    """
    if not pass_on_sale(plans, month):
        return None
    days = calendar.monthrange(month.year, month.month)[1]
    nights = [month + dt.timedelta(days=i) for i in range(days)]
    windows = await load_windows(conn, [building_id], nights, tz)
    shared = sum(1 for n in nights if windows[building_id, n])
    if not shared:
        return None
    return pass_price(pass_plan(plans, month), month, shared, shared)


# ------------------------------------------------------------------ reports


@dataclass(frozen=True, slots=True)
class MonthUse:
    month: str
    shared_minutes: int
    occupied_minutes: int

    @property
    def utilization_bp(self) -> int:
        """Occupied over shared space-minutes in basis points, as the advisor rounds it."""
        if not self.shared_minutes:
            return 0
        return round_half_up(self.occupied_minutes * 10_000, self.shared_minutes)


async def monthly_use(
    conn: asyncpg.Connection,
    building_id: int,
    months: list[dt.date],
    today: dt.date,
    tz: ZoneInfo,
) -> list[MonthUse] | None:
    """Shared and occupied space-minutes per month over the past nights of ``months``,
    from the recorded use the advisor reads; None when the holiday calendar is missing."""
    first = months[0]
    last = min(default_switch_date(months[-1]) - dt.timedelta(days=1), today - dt.timedelta(days=1))
    totals = {m: [0, 0] for m in months}
    if last >= first:
        plans = await plans_of(conn, building_id)
        try:
            summary = await usage_summary(conn, building_id, first, last, plans, tz)
        except CalendarMissing:
            return None
        for night in summary.nights if summary is not None else ():
            total = totals[month_start(night.night)]
            total[0] += night.shared_space_minutes
            total[1] += night.occupied_space_minutes
    return [MonthUse(f"{m:%Y-%m}", shared, occupied) for m, (shared, occupied) in totals.items()]


def _months(first: dt.date, last: dt.date) -> list[dt.date]:
    months = []
    while first <= last:
        months.append(first)
        first = default_switch_date(first)
    return months


def _months_before(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 - count
    if index < dt.MINYEAR * 12:
        raise Problem(422, "invalid-month", f"{month:%Y-%m} is too close to the calendar's start.")
    return dt.date(index // 12, index % 12 + 1, 1)


def _percent(bp: float) -> str:
    """Basis points as a percentage: 728 -> '7.28%', 1000 -> '10%'."""
    hundredths = round(bp)
    whole, cents = divmod(hundredths, 100)
    return f"{whole}%" if cents == 0 else f"{whole}.{cents:02d}%"


def _yuan(fen: float) -> str:
    return money(int(fen)).removesuffix(".00")


def _kind_names(t: Any) -> dict[ChargeKind, str]:
    return {
        ChargeKind.PER_USE: t("reports.kind.per_use"),
        ChargeKind.PASS: t("reports.kind.pass"),
        ChargeKind.OVERSTAY: t("reports.kind.overstay"),
        ChargeKind.NO_SHOW: t("reports.kind.no_show"),
        ChargeKind.LATE_CANCEL: t("reports.kind.late_cancel"),
        ChargeKind.REFUND: t("reports.kind.refund"),
    }


def _charts(
    t: Any, use: list[MonthUse] | None, revenue: Any, kinds: tuple[ChargeKind, ...]
) -> dict[str, str]:
    labels = [m.month for m in revenue.months]
    names = _kind_names(t)
    charts = {
        "revenue": stacked_bar_chart(
            chart_id="revenue-chart",
            title=t("reports.revenue.title"),
            labels=labels,
            series=[
                Series(
                    names[kind],
                    [m.by_kind.get(kind, 0) for m in revenue.months],
                    KIND_COLOURS[kind],
                )
                for kind in kinds
            ],
            x_label=t("reports.month"),
            y_label=t("reports.revenue.axis"),
            empty_text=t("reports.empty"),
            value_format=_yuan,
        )
    }
    if use is not None:
        charts["utilization"] = bar_chart(
            chart_id="utilization-chart",
            title=t("reports.utilization.title"),
            labels=[m.month for m in use],
            values=[m.utilization_bp for m in use],
            x_label=t("reports.month"),
            y_label=t("reports.utilization.axis"),
            empty_text=t("reports.empty"),
            value_format=_percent,
            max_value=UTILIZATION_AXIS_BP,
        )
    return charts


# ------------------------------------------------------------------ pages


class PricePages(Controller):
    path = "/app/buildings/{building_id:int}"
    include_in_schema = False
    guards = [page_role("manager", "admin")]

    async def _building(
        self, request: Request[Any, Any, Any], conn: asyncpg.Connection, building_id: int
    ) -> Building:
        """The building if the reader may see it (another manager's is 404, as in the API)."""
        user = user_of(request.scope)
        assert user is not None  # the guard signed them in
        return await places.get_building(conn, user, building_id, request.app.state.settings.tz)

    async def _prices_page(
        self,
        request: Request[Any, Any, Any],
        conn: asyncpg.Connection,
        building_id: int,
        *,
        done: str | None = None,
        problem: Any = None,
        form: str | None = None,
        values: dict[str, Any] | None = None,
    ) -> Template:
        building = await self._building(request, conn, building_id)
        user = user_of(request.scope)
        assert user is not None
        tz = request.app.state.settings.tz
        today = local_today(request)
        versions = await service.list_plans(conn, user, building_id, now=utc_now(), tz=tz)
        plans = await plans_of(conn, building_id)
        next_month = default_switch_date(today)
        in_force = next((v for v in versions if v.status == "in_force"), None)
        calendar_missing = False
        try:
            next_pass_fen = await month_pass_price(conn, building_id, plans, next_month, tz)
        except CalendarMissing:
            next_pass_fen, calendar_missing = None, True
        t = translator(lang_of(request))
        return render(
            request,
            "prices/prices.html",
            problem=problem,
            building=building,
            in_force=in_force,
            versions=list(reversed(versions)),
            scheduled=[v for v in versions if v.status == "scheduled"],
            tonight=await night_price(conn, building_id, plans, today, tz),
            next_night=await night_price(conn, building_id, plans, next_month, tz),
            next_pass_fen=next_pass_fen,
            next_pass_calendar_missing=calendar_missing,
            next_month=next_month,
            form=form,
            values=values or {},
            done={
                "switch": t("prices.done.switch"),
                "version": t("prices.done.version"),
                "withdraw": t("prices.done.withdraw"),
            }.get(done or ""),
            tomorrow=today + dt.timedelta(days=1),
        )

    @get("/prices")
    async def prices(
        self,
        request: Request[Any, Any, Any],
        building_id: FromPath[int],
        conn: DbConnection,
        done: Annotated[str | None, QueryParameter()] = None,
    ) -> Template:
        return await self._prices_page(request, conn, building_id, done=done)

    async def _change(
        self,
        request: Request[Any, Any, Any],
        conn: asyncpg.Connection,
        building_id: int,
        form: str,
        values: dict[str, Any],
        change: Any,
    ) -> Template | Redirect:
        problem = await attempt_once(request, conn, change)
        if problem is not None:
            return await self._prices_page(
                request, conn, building_id, problem=problem, form=form, values=values
            )
        return redirect(f"/app/buildings/{building_id}/prices?done={form}")

    @post("/prices/switch")
    async def switch(
        self,
        request: Request[Any, Any, Any],
        building_id: FromPath[int],
        data: Form,
        conn: DbConnection,
    ) -> Template | Redirect:
        values = _form_values(data, set(PlanSwitch.model_fields))
        user = user_of(request.scope)
        tz = request.app.state.settings.tz

        async def switch_plan() -> PlanOut:
            switch = parse_form(PlanSwitch, values)
            return await service.switch_plan(conn, user, building_id, switch, now=utc_now(), tz=tz)  # type: ignore[arg-type]

        return await self._change(request, conn, building_id, "switch", values, switch_plan)

    @post("/prices/versions")
    async def new_version(
        self,
        request: Request[Any, Any, Any],
        building_id: FromPath[int],
        data: Form,
        conn: DbConnection,
    ) -> Template | Redirect:
        values = _form_values(data, set(NewPlan.model_fields))
        user = user_of(request.scope)
        tz = request.app.state.settings.tz

        async def create_plan() -> PlanOut:
            new = parse_form(NewPlan, values)
            return await service.create_plan(conn, user, building_id, new, now=utc_now(), tz=tz)  # type: ignore[arg-type]

        return await self._change(request, conn, building_id, "version", values, create_plan)

    @post("/prices/versions/{version:int}/withdraw")
    async def withdraw(
        self,
        request: Request[Any, Any, Any],
        building_id: FromPath[int],
        version: FromPath[int],
        conn: DbConnection,
    ) -> Template | Redirect:
        user = user_of(request.scope)
        tz = request.app.state.settings.tz

        async def withdraw_plan() -> PlanOut:
            return await service.withdraw_plan(
                conn,
                user,
                building_id,
                version,
                now=utc_now(),
                tz=tz,  # type: ignore[arg-type]
            )

        return await self._change(request, conn, building_id, "withdraw", {}, withdraw_plan)

    @get("/prices/advice")
    async def advice(
        self,
        request: Request[Any, Any, Any],
        building_id: FromPath[int],
        conn: DbConnection,
        first: Annotated[str | None, QueryParameter(name="from")] = None,
        last: Annotated[str | None, QueryParameter(name="to")] = None,
        per_use_fee_fen: Annotated[str | None, QueryParameter()] = None,
        monthly_fee_fen: Annotated[str | None, QueryParameter()] = None,
    ) -> Template:
        # Text, read here: the form sends an empty field for a fee left to the plan, and
        # what is not valid is shown on this page with its form, not on the error page.
        building = await self._building(request, conn, building_id)
        user = user_of(request.scope)
        tz = request.app.state.settings.tz
        this_month = month_start(local_today(request))
        last_month = month_start(this_month - dt.timedelta(days=1))
        asked = {
            "from": first or last_month.isoformat(),
            "to": last or (this_month - dt.timedelta(days=1)).isoformat(),
            "per_use_fee_fen": per_use_fee_fen or "",
            "monthly_fee_fen": monthly_fee_fen or "",
        }

        async def advise() -> Any:
            query = parse_form(_AdviceQuery, asked)
            return await service.advice(
                conn,
                user,
                building_id,
                first_night=query.first,
                last_night=query.last,
                per_use_fee_fen=query.per_use_fee_fen,
                monthly_fee_fen=query.monthly_fee_fen,
                now=utc_now(),
                tz=tz,
            )

        advice, problem = await attempt(conn, advise)
        return render(
            request,
            "prices/advice.html",
            problem=problem,
            building=building,
            advice=advice,
            asked=asked,
            percent=_percent,
        )

    @get("/reports")
    async def reports(
        self,
        request: Request[Any, Any, Any],
        building_id: FromPath[int],
        conn: DbConnection,
        first: Annotated[str | None, QueryParameter(name="from")] = None,
        last: Annotated[str | None, QueryParameter(name="to")] = None,
    ) -> Template:
        building = await self._building(request, conn, building_id)
        user = user_of(request.scope)
        assert user is not None
        tz = request.app.state.settings.tz
        today = local_today(request)
        t = translator(lang_of(request))
        # A month that is not one is shown again as typed, with the problem.
        context: dict[str, Any] = {"building": building, "first": first or "", "last": last or ""}

        async def read() -> tuple[Any, list[MonthUse] | None]:
            last_month = parse_month(last) if last else month_start(today)
            first_month = (
                parse_month(first) if first else _months_before(last_month, REPORT_MONTHS - 1)
            )
            context.update(first=f"{first_month:%Y-%m}", last=f"{last_month:%Y-%m}")
            asked = (last_month.year - first_month.year) * 12 + last_month.month - first_month.month
            if asked >= MAX_REPORT_MONTHS:
                raise Problem(422, "invalid-period", f"At most {MAX_REPORT_MONTHS} months at once.")
            # Before the months are listed: it refuses a period backwards or past the calendar.
            revenue = await service.revenue(
                conn, user, building_id, first_month=first_month, last_month=last_month, tz=tz
            )
            months = _months(first_month, last_month)
            return revenue, await monthly_use(conn, building_id, months, today, tz)

        figures, problem = await attempt(conn, read)
        if figures is not None:
            revenue, use = figures
            context.update(
                revenue=revenue,
                use=use,
                kinds=KIND_ORDER,
                kind_names=_kind_names(t),
                charts=_charts(t, use, revenue, KIND_ORDER),
                percent=_percent,
            )
        return render(request, "prices/reports.html", problem=problem, **context)


ROUTES: list[Any] = [PricePages]
