"""The resident pages: account (residence and vehicles), search and booking, reservations,
night allocation requests, and the monthly statement.

Each form builds the API's own request model and runs the use case the API runs, so a page
refuses exactly what the API refuses; reads call the same services. A resident only ever
sees their own records: another's reservation or request is the API's 404.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Annotated, Any, TypeVar

import asyncpg
from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.plugins.problem_details import ProblemDetailsException
from litestar.response import Redirect, Template

from parking.clock import utc_now
from parking.db import DbConnection
from parking.errors import Problem
from parking.passes import service as passes
from parking.passes.schemas import NewPass, month_text
from parking.passes.service import parse_month
from parking.places.search import MAX_RADIUS_M, SearchQuery, search_places
from parking.prices import plans_in_force
from parking.requests import service as requests
from parking.requests.schemas import NewAllocationRequest
from parking.reservations import service as reservations
from parking.reservations.model import get_reservation
from parking.reservations.schemas import BookingRequest, ReservationOut
from parking.residents import repository as residents_repository
from parking.residents import service as residents
from parking.residents.schemas import NewVehicle, Vehicle, VerificationRequest
from parking.settings import Settings
from parking.web.pages import (
    attempt,
    attempt_once,
    form_list,
    local_datetime,
    local_today,
    notice,
    page_role,
    parse_form,
    redirect,
    render,
    signed_in,
)
from parking.web.session import WEB_PREFIX
from pricing import service as pricing
from pricing.quote import cancellation_fee

__all__ = [
    "ROUTES",
    "AccountPages",
    "AllocationPages",
    "ChargePages",
    "ReservationPages",
    "SearchPages",
]

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
T = TypeVar("T")

NIGHTS_AHEAD = 6
"""The night picker offers tonight and this many nights after it."""
NIGHT_IN_PROGRESS_UNTIL = dt.time(12)
"""Until this local time the search also offers last night, still under way after midnight."""
RADII_M = (300, 500, 800, 1000, 2000, MAX_RADIUS_M)
NEEDS = ("ev", "large", "accessible")
# Statuses in which a reservation still holds its space: the "upcoming" list.
_ACTIVE = ("held", "confirmed", "checked_in")
_CANCELLABLE = ("held", "confirmed")
# Words a ``?done=`` may name, each with its label.
_DONE = {
    "verified": "resident.done.verified",
    "vehicle-added": "resident.done.vehicle_added",
    "vehicle-removed": "resident.done.vehicle_removed",
    "booked": "resident.done.booked",
    "confirmed": "resident.done.confirmed",
    "pass-bought": "resident.done.pass_bought",
    "cancelled": "resident.done.cancelled",
    "requested": "resident.done.requested",
    "withdrawn": "resident.done.withdrawn",
}


RESIDENT = page_role("resident")


def _settings(request: Request[Any, Any, Any]) -> Settings:
    return request.app.state.settings


def _local_input(value: dt.datetime, settings: Settings) -> str:
    """An instant as a ``datetime-local`` input shows it: local wall time to the minute."""
    return value.astimezone(settings.tz).strftime("%Y-%m-%dT%H:%M")


def _yuan_to_fen(text: Any) -> Any:
    """``"15"`` or ``"15.5"`` yuan as integer fen; anything else unchanged, to be refused."""
    try:
        fen = Decimal(str(text).strip()) * 100
    except (ArithmeticError, ValueError):  # not a number, or beyond Decimal's exponents
        return text
    if not fen.is_finite() or fen.adjusted() > 20 or fen != fen.to_integral_value():
        return text  # too large for any price (and for a quick int) or a fraction of a fen
    return int(fen)


def _night_problem(message: str) -> Problem:
    return Problem(
        422,
        "validation-error",
        "The request is not valid; see errors.",
        extra={"errors": [{"field": "night", "message": message}]},
    )


def _night_in_range(action: Callable[[], Awaitable[T]]) -> Callable[[], Awaitable[T]]:
    """``action`` with a night near the end of the calendar (9999-12-31) refused as 422:
    the services reach past it (the night's next day) and would answer 500."""

    async def guarded() -> T:
        try:
            return await action()
        except OverflowError:
            raise _night_problem("The night is out of range.") from None

    return guarded


async def _vehicles(conn: asyncpg.Connection, user_id: int) -> list[Vehicle]:
    # Not ``service.list_vehicles``: one who lost their verification still sees (and may
    # remove) their plates on the account page.
    return await residents_repository.list_vehicles(conn, user_id)


# ---------------------------------------------------------------- account


class AccountPages(Controller):
    path = WEB_PREFIX
    include_in_schema = False
    guards = [RESIDENT]

    async def _page(
        self,
        request: Request[Any, Any, Any],
        conn: asyncpg.Connection,
        problem: ProblemDetailsException | None = None,
        values: dict[str, Any] | None = None,
    ) -> Template:
        me = signed_in(request)
        residency = await residents.residency_of(conn, me.id)
        compounds = [] if residency else await residents_repository.all_compounds(conn)
        return render(
            request,
            "resident/account.html",
            problem=problem,
            done=None if problem else notice(request, _DONE, request.query_params.get("done")),
            residency=residency,
            compounds=compounds,
            vehicles=await _vehicles(conn, me.id),
            max_vehicles=_settings(request).max_vehicles_per_resident,
            values=values or {},
            tz=_settings(request).tz,
        )

    @get("/account")
    async def page(self, request: Request[Any, Any, Any], conn: DbConnection) -> Template:
        return await self._page(request, conn)

    @post("/account/residence")
    async def verify(
        self, request: Request[Any, Any, Any], data: Form, conn: DbConnection
    ) -> Template | Redirect:
        values = {k: data.get(k, "") for k in ("compound_id", "unit", "phone")}

        async def action() -> Any:
            return await residents.verify(
                conn, signed_in(request).id, parse_form(VerificationRequest, values)
            )

        problem = await attempt_once(request, conn, action)
        if problem is not None:
            return await self._page(request, conn, problem, values)
        return redirect(f"{WEB_PREFIX}/account?done=verified")

    @post("/vehicles")
    async def add_vehicle(
        self, request: Request[Any, Any, Any], data: Form, conn: DbConnection
    ) -> Template | Redirect:
        values = {"plate": data.get("plate", "")}

        async def action() -> Vehicle:
            new = parse_form(NewVehicle, values)
            limit = _settings(request).max_vehicles_per_resident
            return await residents.add_vehicle(
                conn, signed_in(request).id, new.plate, max_vehicles=limit
            )

        problem = await attempt_once(request, conn, action)
        if problem is not None:
            return await self._page(request, conn, problem, values)
        return redirect(f"{WEB_PREFIX}/account?done=vehicle-added")

    @post("/vehicles/{vehicle_id:int}/remove")
    async def remove_vehicle(
        self, request: Request[Any, Any, Any], vehicle_id: FromPath[int], conn: DbConnection
    ) -> Template | Redirect:
        async def action() -> None:
            timezone = _settings(request).timezone
            await residents.remove_vehicle(
                conn, signed_in(request).id, vehicle_id, timezone=timezone
            )

        problem = await attempt_once(request, conn, action)
        if problem is not None:
            return await self._page(request, conn, problem)
        return redirect(f"{WEB_PREFIX}/account?done=vehicle-removed")


# ---------------------------------------------------------------- search and booking


def _nights(today: dt.date) -> list[dt.date]:
    return [today + dt.timedelta(days=i) for i in range(NIGHTS_AHEAD + 1)]


def _search_nights(local_now: dt.datetime) -> list[dt.date]:
    """The search's nights: tonight and the next ones, and in the small hours also the night
    that began yesterday evening, whose rest the search and the booking still sell."""
    today = local_now.date()
    earlier = [today - dt.timedelta(days=1)] if local_now.time() < NIGHT_IN_PROGRESS_UNTIL else []
    return earlier + _nights(today)


def _picker_nights(local_now: dt.datetime, searched: dt.date | None) -> list[dt.date]:
    """The search's nights, with the one searched among them (one further ahead, asked for
    in the address), so the picker shows the night whose results are listed."""
    nights = _search_nights(local_now)
    return sorted({*nights, searched}) if searched is not None else nights


def _search_query(params: dict[str, Any], today: dt.date) -> tuple[SearchQuery, Problem | None]:
    """The search form's choices, each kept within what the picker offers, and a problem
    when the night is not a date (then tonight's search is shown with it)."""
    problem = None
    try:
        night = dt.date.fromisoformat(str(params.get("night") or today))
    except ValueError:
        night = today
        problem = _night_problem("Not a date (YYYY-MM-DD).")
    try:
        radius_m = int(params.get("radius_m") or 800)
    except ValueError:
        radius_m = 800
    query = SearchQuery(
        night=night,
        # The picker's nearest radius that reaches as far: what it shows is what is searched.
        radius_m=min((r for r in RADII_M if r >= radius_m), default=MAX_RADIUS_M),
        ev=bool(params.get("ev")),
        large=bool(params.get("large")),
        limit=20,
        cursor=params.get("cursor") or None,
    )
    return query, problem


async def _search_page(
    request: Request[Any, Any, Any],
    conn: asyncpg.Connection,
    params: dict[str, Any],
    problem: ProblemDetailsException | None = None,
) -> Template:
    settings = _settings(request)
    me = signed_in(request)
    now = utc_now()
    local_now = now.astimezone(settings.tz)
    today = local_now.date()
    query, night_problem = _search_query(params, today)
    problem = problem or night_problem
    residency = await residents.residency_of(conn, me.id)
    vehicles = await _vehicles(conn, me.id) if residency else []
    found = None
    pass_fees: dict[int, int | None] = {}
    if residency is not None:

        async def search() -> Any:
            return await search_places(conn, me, query, settings.tz, now)

        found, search_problem = await attempt(conn, _night_in_range(search))
        problem = problem or search_problem
        if found is not None:
            # A place selling only passes that night: show the pass's monthly fee.
            unbookable = [item.building_id for item in found.items if not item.bookable]
            plans = await plans_in_force(conn, unbookable, query.night or today)
            pass_fees = {b: plan.monthly_fee_fen for b, plan in plans.items()}
    return render(
        request,
        "resident/search.html",
        problem=problem,
        done=None if problem else notice(request, _DONE, request.query_params.get("done")),
        residency=residency,
        vehicles=vehicles,
        query=query,
        nights=_picker_nights(local_now, found.night if found is not None else None),
        today=today,
        radii=RADII_M,
        found=found,
        pass_fees=pass_fees,
        local_input=lambda value: _local_input(value, settings),
    )


class SearchPages(Controller):
    path = WEB_PREFIX
    include_in_schema = False
    guards = [RESIDENT]

    @get("/search")
    async def search(self, request: Request[Any, Any, Any], conn: DbConnection) -> Template:
        return await _search_page(request, conn, dict(request.query_params))


class ReservationPages(Controller):
    path = WEB_PREFIX
    include_in_schema = False
    guards = [RESIDENT]

    async def _page(
        self,
        request: Request[Any, Any, Any],
        conn: asyncpg.Connection,
        problem: ProblemDetailsException | None = None,
    ) -> Template:
        settings = _settings(request)
        me = signed_in(request)
        now = utc_now()
        listed = await reservations.list_own(
            conn, me.id, night=None, status=None, limit=100, offset=0, tz=settings.tz
        )
        upcoming = [r for r in listed.items if r.status in _ACTIVE and r.end > now]
        past = [r for r in listed.items if r not in upcoming]
        terms = {r.id: await _cancel_terms(conn, r, now) for r in upcoming}
        return render(
            request,
            "resident/reservations.html",
            problem=problem,
            done=None if problem else notice(request, _DONE, request.query_params.get("done")),
            upcoming=upcoming[::-1],  # soonest first
            past=past,
            terms=terms,
            passes=await passes.list_passes(conn, me.id, settings.tz),
            tz=settings.tz,
            now=now,
        )

    @get("/reservations")
    async def list_page(self, request: Request[Any, Any, Any], conn: DbConnection) -> Template:
        return await self._page(request, conn)

    @post("/reservations")
    async def book(
        self, request: Request[Any, Any, Any], data: Form, conn: DbConnection
    ) -> Template | Redirect:
        settings = _settings(request)
        values = {
            "building_id": data.get("building_id", ""),
            "night": data.get("night", ""),
            "vehicle_id": data.get("vehicle_id", ""),
            "arrive": local_datetime(data.get("arrive", ""), settings.tz),
            "depart": local_datetime(data.get("depart", ""), settings.tz),
            "needs": form_list(data.get("needs")),
        }

        async def action() -> ReservationOut:
            booking = parse_form(BookingRequest, values)
            return await reservations.book(
                conn, signed_in(request).id, booking, settings=settings, now=utc_now()
            )

        problem = await attempt_once(request, conn, _night_in_range(action))
        if problem is not None:
            # Back to the search the booking came from, with the problem.
            needs = values["needs"]
            params = {
                "night": data.get("night", ""),
                "radius_m": data.get("radius_m", ""),
                "ev": "ev" in needs,
                "large": "large" in needs,
            }
            return await _search_page(request, conn, params, problem)
        return redirect(f"{WEB_PREFIX}/reservations?done=booked")

    @post("/passes")
    async def buy_pass(
        self, request: Request[Any, Any, Any], data: Form, conn: DbConnection
    ) -> Template | Redirect:
        settings = _settings(request)
        values = {k: data.get(k, "") for k in ("building_id", "vehicle_id", "month")}

        async def action() -> Any:
            new = parse_form(NewPass, values)
            return await passes.buy_pass(
                conn, signed_in(request).id, new, now=utc_now(), settings=settings
            )

        problem = await attempt_once(request, conn, action)
        if problem is not None:
            params = {k: data.get(k, "") for k in ("night", "radius_m")}
            return await _search_page(request, conn, params, problem)
        return redirect(f"{WEB_PREFIX}/reservations?done=pass-bought")

    @post("/reservations/{reservation_id:int}/confirm")
    async def confirm(
        self, request: Request[Any, Any, Any], reservation_id: FromPath[int], conn: DbConnection
    ) -> Template | Redirect:
        return await self._act(request, conn, reservations.confirm_own, reservation_id, "confirmed")

    @post("/reservations/{reservation_id:int}/cancel")
    async def cancel(
        self, request: Request[Any, Any, Any], reservation_id: FromPath[int], conn: DbConnection
    ) -> Template | Redirect:
        return await self._act(request, conn, reservations.cancel_own, reservation_id, "cancelled")

    async def _act(
        self,
        request: Request[Any, Any, Any],
        conn: asyncpg.Connection,
        use_case: Callable[..., Awaitable[ReservationOut]],
        reservation_id: int,
        done: str,
    ) -> Template | Redirect:
        """One of the resident's own reservations moved by ``use_case`` (confirm, cancel)."""

        async def action() -> ReservationOut:
            tz = _settings(request).tz
            return await use_case(conn, signed_in(request).id, reservation_id, at=utc_now(), tz=tz)

        problem = await attempt_once(request, conn, action)
        if problem is not None:
            return await self._page(request, conn, problem)
        return redirect(f"{WEB_PREFIX}/reservations?done={done}")


async def _cancel_terms(
    conn: asyncpg.Connection, out: ReservationOut, now: dt.datetime
) -> dict[str, Any] | None:
    """What cancelling would cost, as ``cancel_own`` would charge it: the fee now, the late
    fee, and until when cancelling is free. None when it cannot be cancelled here."""
    if out.kind != "booking" or out.status not in _CANCELLABLE:
        return None
    if out.status == "held":
        return {"fee_now": 0, "late_fee": 0, "free_until": None}
    current = await get_reservation(conn, out.id)
    assert current is not None  # listed in this transaction
    plan = await reservations.priced_by(conn, current)
    free_until = current.start - dt.timedelta(minutes=plan.free_cancel_minutes)
    return {
        "fee_now": cancellation_fee(plan, current.start, now),
        "late_fee": plan.late_cancel_fee_fen,
        "free_until": free_until,
    }


# ---------------------------------------------------------------- allocation requests


def _request_nights(settings: Settings, now: dt.datetime) -> list[dt.date]:
    """Nights whose requests are still taken: from tonight (before its cutoff) on."""
    today = now.astimezone(settings.tz).date()
    return [n for n in _nights(today) if now < requests.cutoff_at(n, settings)][: NIGHTS_AHEAD + 1]


class AllocationPages(Controller):
    path = WEB_PREFIX
    include_in_schema = False
    guards = [RESIDENT]

    async def _page(
        self,
        request: Request[Any, Any, Any],
        conn: asyncpg.Connection,
        problem: ProblemDetailsException | None = None,
        values: dict[str, Any] | None = None,
    ) -> Template:
        settings = _settings(request)
        me = signed_in(request)
        now = utc_now()
        residency = await residents.residency_of(conn, me.id)
        nights = _request_nights(settings, now)
        return render(
            request,
            "resident/allocation.html",
            problem=problem,
            done=None if problem else notice(request, _DONE, request.query_params.get("done")),
            residency=residency,
            vehicles=await _vehicles(conn, me.id) if residency else [],
            nights=nights,
            today=now.astimezone(settings.tz).date(),
            cutoff=settings.allocation_cutoff,
            asked=await requests.list_own(
                conn, me.id, night=None, limit=50, offset=0, settings=settings
            ),
            now=now,
            values=values or {"max_walk_m": "800", "max_price_yuan": "15"},
            needs=NEEDS,
        )

    @get("/allocation-requests")
    async def list_page(self, request: Request[Any, Any, Any], conn: DbConnection) -> Template:
        return await self._page(request, conn)

    @post("/allocation-requests")
    async def submit(
        self, request: Request[Any, Any, Any], data: Form, conn: DbConnection
    ) -> Template | Redirect:
        settings = _settings(request)
        shown = {
            k: data.get(k, "")
            for k in ("night", "vehicle_id", "arrive", "depart", "max_walk_m", "max_price_yuan")
        }
        shown["needs"] = form_list(data.get("needs"))
        values = {
            "night": shown["night"],
            "vehicle_id": shown["vehicle_id"],
            "arrive": local_datetime(shown["arrive"], settings.tz),
            "depart": local_datetime(shown["depart"], settings.tz),
            "max_walk_m": shown["max_walk_m"],
            "max_price_fen": _yuan_to_fen(shown["max_price_yuan"]),
            "needs": shown["needs"],
        }

        async def action() -> Any:
            new = parse_form(NewAllocationRequest, values)
            return await requests.submit(
                conn, signed_in(request).id, new, settings=settings, now=utc_now()
            )

        problem = await attempt_once(request, conn, _night_in_range(action))
        if problem is not None:
            return await self._page(request, conn, problem, shown)
        return redirect(f"{WEB_PREFIX}/allocation-requests?done=requested")

    @post("/allocation-requests/{request_id:int}/withdraw")
    async def withdraw(
        self, request: Request[Any, Any, Any], request_id: FromPath[int], conn: DbConnection
    ) -> Template | Redirect:
        async def action() -> Any:
            return await requests.withdraw_own(
                conn, signed_in(request).id, request_id, settings=_settings(request), now=utc_now()
            )

        problem = await attempt_once(request, conn, action)
        if problem is not None:
            return await self._page(request, conn, problem)
        return redirect(f"{WEB_PREFIX}/allocation-requests?done=withdrawn")


# ---------------------------------------------------------------- charges


class ChargePages(Controller):
    path = WEB_PREFIX
    include_in_schema = False
    guards = [RESIDENT]

    @get("/charges")
    async def statement(
        self,
        request: Request[Any, Any, Any],
        conn: DbConnection,
        month: FromQuery[str | None] = None,
    ) -> Template:
        settings = _settings(request)
        chosen = month or month_text(local_today(request).replace(day=1))

        async def read() -> Any:
            return await pricing.monthly_statement(
                conn, signed_in(request).id, parse_month(chosen), settings.tz
            )

        found, problem = await attempt(conn, read)
        by_kind: dict[str, int] = {}
        for line in found.lines if found is not None else ():
            by_kind[line.kind.value] = by_kind.get(line.kind.value, 0) + line.amount_fen
        return render(
            request,
            "resident/charges.html",
            problem=problem,
            month=chosen,
            statement=found,
            by_kind=by_kind,
            tz=settings.tz,
        )


ROUTES: list[Any] = [AccountPages, SearchPages, ReservationPages, AllocationPages, ChargePages]
