"""HTTP endpoints for bookings: a resident's own, and a building's for its manager."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.pagination import OffsetPagination
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter

from parking.clock import utc_now
from parking.db import DbConnection
from parking.errors import problem_responses
from parking.idempotency import IDEMPOTENCY_KEY_HEADER, idempotent
from parking.reservations import service
from parking.reservations.model import ReservationStatus
from parking.reservations.schemas import BookingRequest, ManagedReservation, ReservationOut
from parking.security import AuthRequest, requires_role

__all__ = [
    "BuildingReservationController",
    "IdempotencyKey",
    "ReservationController",
    "once_per_key",
]

_Limit = Annotated[int, QueryParameter(ge=1, le=200)]
_Offset = Annotated[int, QueryParameter(ge=0)]
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name=IDEMPOTENCY_KEY_HEADER,
        required=False,
        description="Required: a unique value per request (a UUID); the same value on a "
        "retry answers the first result again.",
    ),
]


async def once_per_key(
    conn: DbConnection,
    request: AuthRequest,
    key: str | None,
    body: Any,
    run: Callable[[], Awaitable[Any]],
) -> Response[bytes]:
    """``run()`` once per caller and Idempotency-Key, in the request's transaction: the
    answer of every POST that books nights (a booking, a monthly pass)."""
    return await idempotent(
        conn,
        request,
        user_id=request.user.id,
        key=key,
        body=body,
        ttl_hours=request.app.state.settings.idempotency_ttl_hours,
        run=run,
    )


class ReservationController(Controller):
    path = "/reservations"
    tags = ["reservations"]
    guards = [requires_role("resident")]

    @post(
        "/",
        status_code=201,
        summary="Book a space for a night (needs an Idempotency-Key header)",
        description="201 with the reservation. The same key and body again: the first answer "
        "(201 or a 4xx problem) with `Idempotent-Replayed: true`.",
        responses=problem_responses(
            {
                400: "`idempotency-key-missing`",
                403: "`not-verified`",
                404: "`not-found`: the building, the vehicle or the named space",
                409: "`no-capacity`, `space-taken`, `vehicle-busy`, `place-suspended`, "
                "`not-bookable`, `idempotency-in-flight`, `calendar-missing`",
                422: "`outside-window`, `in-the-past`, `space-unsuitable`, "
                "`idempotency-mismatch`, `idempotency-key-invalid`, `validation-error`",
            }
        ),
    )
    async def book(
        self,
        data: JSONBody[BookingRequest],
        conn: DbConnection,
        request: AuthRequest,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[ReservationOut]:
        settings = request.app.state.settings
        return await once_per_key(
            conn,
            request,
            idempotency_key,
            data,
            lambda: service.book(conn, request.user.id, data, settings=settings, now=utc_now()),
        )

    @get("/", summary="Your reservations, latest first")
    async def list_own(
        self,
        conn: DbConnection,
        request: AuthRequest,
        night: FromQuery[dt.date | None] = None,
        status: FromQuery[ReservationStatus | None] = None,
        limit: _Limit = 50,
        offset: _Offset = 0,
    ) -> OffsetPagination[ReservationOut]:
        return await service.list_own(
            conn,
            request.user.id,
            night=night,
            status=status,
            limit=limit,
            offset=offset,
            tz=request.app.state.settings.tz,
        )

    @get("/{reservation_id:int}", summary="One of your reservations")
    async def get_own(
        self, reservation_id: FromPath[int], conn: DbConnection, request: AuthRequest
    ) -> ReservationOut:
        tz = request.app.state.settings.tz
        return await service.get_own(conn, request.user.id, reservation_id, tz)

    @post(
        "/{reservation_id:int}/confirm",
        status_code=200,
        summary="Confirm a held booking (again: its current state)",
        responses=problem_responses({404: "`not-found`", 409: "`hold-expired`, `not-confirmable`"}),
    )
    async def confirm(
        self, reservation_id: FromPath[int], conn: DbConnection, request: AuthRequest
    ) -> ReservationOut:
        tz = request.app.state.settings.tz
        return await service.confirm_own(conn, request.user.id, reservation_id, at=utc_now(), tz=tz)

    @post(
        "/{reservation_id:int}/cancel",
        status_code=200,
        summary="Cancel your booking (again: its current state)",
        responses=problem_responses({404: "`not-found`", 409: "`not-cancellable`"}),
    )
    async def cancel(
        self, reservation_id: FromPath[int], conn: DbConnection, request: AuthRequest
    ) -> ReservationOut:
        tz = request.app.state.settings.tz
        return await service.cancel_own(conn, request.user.id, reservation_id, at=utc_now(), tz=tz)


class BuildingReservationController(Controller):
    path = "/buildings/{building_id:int}/reservations"
    tags = ["reservations"]
    guards = [requires_role("manager", "admin")]

    @get("/", summary="A night's reservations of your building (plates masked)")
    async def list_building(
        self,
        building_id: FromPath[int],
        conn: DbConnection,
        request: AuthRequest,
        night: FromQuery[dt.date | None] = None,
        status: FromQuery[ReservationStatus | None] = None,
        limit: _Limit = 50,
        offset: _Offset = 0,
    ) -> OffsetPagination[ManagedReservation]:
        tz = request.app.state.settings.tz
        return await service.list_building(
            conn,
            request.user,
            building_id,
            night=night or utc_now().astimezone(tz).date(),
            status=status,
            limit=limit,
            offset=offset,
            tz=tz,
        )
