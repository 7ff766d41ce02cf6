"""HTTP endpoints for a resident's requests for a night's allocation."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from parking.clock import utc_now
from parking.db import DbConnection
from parking.errors import problem_responses
from parking.requests import service
from parking.requests.schemas import AllocationRequestOut, NewAllocationRequest
from parking.reservations.controllers import IdempotencyKey, once_per_key
from parking.security import AuthRequest, requires_role

__all__ = ["AllocationRequestController"]


class AllocationRequestController(Controller):
    path = "/allocation-requests"
    tags = ["allocation"]
    guards = [requires_role("resident")]

    @post(
        "/",
        status_code=201,
        summary="Ask for a space in a night's allocation (needs an Idempotency-Key header)",
        description="201 with the pending request. One per resident and night; accepted "
        "until the night's cutoff (`PARKING_ALLOCATION_CUTOFF`, local time on its date).",
        responses=problem_responses(
            {
                400: "`idempotency-key-missing`",
                403: "`not-verified`",
                404: "`not-found`: the vehicle",
                409: "`past-cutoff`, `request-exists`, `idempotency-in-flight`",
                422: "`invalid-stay`, `no-window`, `in-the-past`, `idempotency-mismatch`, "
                "`idempotency-key-invalid`, `validation-error`",
            }
        ),
    )
    async def submit(
        self,
        data: JSONBody[NewAllocationRequest],
        conn: DbConnection,
        request: AuthRequest,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[AllocationRequestOut]:
        settings = request.app.state.settings
        return await once_per_key(
            conn,
            request,
            idempotency_key,
            data,
            lambda: service.submit(conn, request.user.id, data, settings=settings, now=utc_now()),
        )

    @get("/", summary="Your allocation requests and their outcomes, latest night first")
    async def list_own(
        self,
        conn: DbConnection,
        request: AuthRequest,
        night: FromQuery[dt.date | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> list[AllocationRequestOut]:
        return await service.list_own(
            conn,
            request.user.id,
            night=night,
            limit=limit,
            offset=offset,
            settings=request.app.state.settings,
        )

    @get("/{request_id:int}", summary="One of your allocation requests and its outcome")
    async def get_own(
        self, request_id: FromPath[int], conn: DbConnection, request: AuthRequest
    ) -> AllocationRequestOut:
        settings = request.app.state.settings
        return await service.get_own(conn, request.user.id, request_id, settings)

    @post(
        "/{request_id:int}/withdraw",
        status_code=200,
        summary="Withdraw your request before the night's cutoff (again: its current state)",
        responses=problem_responses({404: "`not-found`", 409: "`past-cutoff`, `already-decided`"}),
    )
    async def withdraw(
        self, request_id: FromPath[int], conn: DbConnection, request: AuthRequest
    ) -> AllocationRequestOut:
        settings = request.app.state.settings
        return await service.withdraw_own(
            conn, request.user.id, request_id, settings=settings, now=utc_now()
        )
