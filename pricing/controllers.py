"""HTTP endpoints for price plans, charges and statements, revenue, refunds and advice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter

from parking.clock import utc_now
from parking.db import DbConnection
from parking.idempotency import IDEMPOTENCY_KEY_HEADER
from parking.passes.schemas import MonthText
from parking.passes.service import parse_month
from parking.reservations.controllers import IdempotencyKey, once_per_key
from parking.security import AuthRequest, requires_role
from pricing import service
from pricing.advisor import Advice
from pricing.charges import Statement
from pricing.schemas import ChargeOut, NewPlan, NewRefund, PlanOut, PlanSwitch, RevenueReport

__all__ = [
    "BuildingPricingController",
    "ChargeController",
    "PlanController",
    "RefundController",
]

Fee = Annotated[int | None, QueryParameter(ge=0, le=100_000_000)]
OptionalIdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name=IDEMPOTENCY_KEY_HEADER,
        required=False,
        description="Optional: a unique value per new version (a UUID); the same value on a "
        "retry answers the first result again instead of making a second version.",
    ),
]
_ONCE = (
    "With an Idempotency-Key, the same key and body again answer the first result "
    "(201 or a 4xx problem) with `Idempotent-Replayed: true`; without one, every call "
    "makes a version."
)


async def _once(
    conn: DbConnection,
    request: AuthRequest,
    key: str | None,
    body: Any,
    run: Callable[[], Awaitable[PlanOut]],
) -> Response[Any]:
    """``run()`` once per Idempotency-Key when the caller sends one, else every time."""
    if key is None:
        return Response(content=await run(), status_code=201)
    return await once_per_key(conn, request, key, body, run)


class PlanController(Controller):
    path = "/buildings/{building_id:int}/plans"
    tags = ["pricing"]
    guards = [requires_role("manager", "admin")]

    @get("/", summary="Every price plan version of the building, with its status tonight")
    async def list_plans(
        self, building_id: FromPath[int], conn: DbConnection, request: AuthRequest
    ) -> list[PlanOut]:
        tz = request.app.state.settings.tz
        return await service.list_plans(conn, request.user, building_id, now=utc_now(), tz=tz)

    @post(
        "/",
        status_code=201,
        summary="A new plan version from a date after today",
        description=_ONCE,
    )
    async def create(
        self,
        building_id: FromPath[int],
        data: JSONBody[NewPlan],
        conn: DbConnection,
        request: AuthRequest,
        idempotency_key: OptionalIdempotencyKey = None,
    ) -> Response[PlanOut]:
        tz = request.app.state.settings.tz
        return await _once(
            conn,
            request,
            idempotency_key,
            data,
            lambda: service.create_plan(
                conn, request.user, building_id, data, now=utc_now(), tz=tz
            ),
        )

    @post(
        "/switch",
        status_code=201,
        summary="Schedule a switch of mode (default: the first day of next month)",
        description=_ONCE,
    )
    async def switch(
        self,
        building_id: FromPath[int],
        data: JSONBody[PlanSwitch],
        conn: DbConnection,
        request: AuthRequest,
        idempotency_key: OptionalIdempotencyKey = None,
    ) -> Response[PlanOut]:
        tz = request.app.state.settings.tz
        return await _once(
            conn,
            request,
            idempotency_key,
            data,
            lambda: service.switch_plan(
                conn, request.user, building_id, data, now=utc_now(), tz=tz
            ),
        )

    @post(
        "/{version:int}/withdraw",
        status_code=200,
        summary="Withdraw a scheduled version before it takes effect",
    )
    async def withdraw(
        self,
        building_id: FromPath[int],
        version: FromPath[int],
        conn: DbConnection,
        request: AuthRequest,
    ) -> PlanOut:
        tz = request.app.state.settings.tz
        return await service.withdraw_plan(
            conn, request.user, building_id, version, now=utc_now(), tz=tz
        )


class BuildingPricingController(Controller):
    path = "/buildings/{building_id:int}"
    tags = ["pricing"]
    guards = [requires_role("manager", "admin")]

    @get("/revenue", summary="Net revenue per month of recording, by kind of charge")
    async def revenue(
        self,
        building_id: FromPath[int],
        conn: DbConnection,
        request: AuthRequest,
        first: Annotated[MonthText, QueryParameter(name="from")],
        last: Annotated[MonthText, QueryParameter(name="to")],
    ) -> RevenueReport:
        return await service.revenue(
            conn,
            request.user,
            building_id,
            first_month=parse_month(first),
            last_month=parse_month(last),
            tz=request.app.state.settings.tz,
        )

    @get("/advice", summary="Monthly pass or per use: the advisor on a past period")
    async def advice(
        self,
        building_id: FromPath[int],
        conn: DbConnection,
        request: AuthRequest,
        first: Annotated[dt.date, QueryParameter(name="from")],
        last: Annotated[dt.date, QueryParameter(name="to")],
        per_use_fee_fen: Fee = None,
        monthly_fee_fen: Fee = None,
    ) -> Advice:
        return await service.advice(
            conn,
            request.user,
            building_id,
            first_night=first,
            last_night=last,
            per_use_fee_fen=per_use_fee_fen,
            monthly_fee_fen=monthly_fee_fen,
            now=utc_now(),
            tz=request.app.state.settings.tz,
        )


class ChargeController(Controller):
    path = "/charges"
    tags = ["pricing"]
    guards = [requires_role("resident")]

    @get("/", summary="My charges in the order they were recorded, optionally of one month")
    async def list_own(
        self,
        conn: DbConnection,
        request: AuthRequest,
        month: Annotated[MonthText | None, QueryParameter()] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> list[ChargeOut]:
        return await service.list_charges(
            conn,
            request.user.id,
            month=parse_month(month) if month is not None else None,
            limit=limit,
            offset=offset,
            tz=request.app.state.settings.tz,
        )

    @get("/statement", summary="My statement of a month: its charges and their total")
    async def statement(
        self,
        conn: DbConnection,
        request: AuthRequest,
        month: Annotated[MonthText, QueryParameter()],
    ) -> Statement:
        tz = request.app.state.settings.tz
        return await service.monthly_statement(conn, request.user.id, parse_month(month), tz)


class RefundController(Controller):
    path = "/admin/charges"
    tags = ["pricing"]
    guards = [requires_role("admin")]

    @post(
        "/{charge_id:int}/refunds",
        status_code=201,
        summary="Refund part or all of a charge: a negative ledger row",
    )
    async def refund(
        self,
        charge_id: FromPath[int],
        data: JSONBody[NewRefund],
        conn: DbConnection,
        request: AuthRequest,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[ChargeOut]:
        tz = request.app.state.settings.tz
        return await once_per_key(
            conn,
            request,
            idempotency_key,
            data,
            lambda: service.refund_charge(
                conn, request.user.id, charge_id, data, now=utc_now(), tz=tz
            ),
        )
