"""HTTP endpoints: what the platform calls (signed, not JWT), and the dead letters for admins."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, QueryParameter

from integrations.district import inbound, outbox
from integrations.district.repository import OutboxEntry, OutboxStatus
from integrations.district.schemas import CancelRequest, Event, PlatformBooking
from integrations.district.webhooks import once_per_webhook, parse
from parking.clock import utc_now
from parking.db import DbConnection
from parking.security import requires_role

__all__ = ["DistrictAdminController", "DistrictInboundController"]

_SIGNED = (
    "Signed as Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`) "
    "with header `x-operator-id`; a repeated webhook-id gets the first answer."
)


class DistrictInboundController(Controller):
    """The platform's calls (PROTOCOL.md, platform -> operator); see ``webhooks``."""

    path = "/integrations/district"
    tags = ["district platform"]

    @post(
        "/reservations",
        summary="A booking made on the platform (body: Booking)",
        description=_SIGNED + " 201 new, 200 the same booking again; 409 `no-capacity`, "
        "`place-suspended`, `not-bookable`, `vehicle-busy`; 422 `idempotency-mismatch`, "
        "`unknown-place`, `outside-window`, `invalid-plate`, `validation-error`.",
    )
    async def book(self, request: Request, conn: DbConnection) -> Response[bytes]:
        settings = request.app.state.settings
        return await once_per_webhook(
            conn,
            request,
            lambda body: inbound.book(conn, parse(PlatformBooking, body), settings, utc_now()),
        )

    @post(
        "/reservations/{platform_reservation_id:str}/cancel",
        summary="The platform cancels one of its bookings",
        description=_SIGNED + " 200 the cancelled reservation with its fee; 404 unknown; "
        "409 `not-cancellable`.",
    )
    async def cancel(
        self, platform_reservation_id: FromPath[str], request: Request, conn: DbConnection
    ) -> Response[bytes]:
        settings = request.app.state.settings

        async def run(body: bytes):
            parse(CancelRequest, body or b"{}")
            return await inbound.cancel(conn, platform_reservation_id, settings, utc_now())

        return await once_per_webhook(conn, request, run)

    @post(
        "/events",
        summary="An event: gate.entered, gate.exited, place.suspended, reconcile.requested",
        description=_SIGNED + " 204 for every event, unknown types included.",
    )
    async def event(self, request: Request, conn: DbConnection) -> Response[bytes]:
        settings = request.app.state.settings
        return await once_per_webhook(
            conn,
            request,
            lambda body: inbound.handle_event(conn, parse(Event, body), settings, utc_now()),
        )


class DistrictAdminController(Controller):
    """The outbox for administrators: dead letters to see and replay."""

    path = "/admin/district"
    tags = ["district platform"]
    guards = [requires_role("admin")]

    @get("/outbox", summary="Outbox messages, newest first (default: the dead letters)")
    async def list_outbox(
        self,
        conn: DbConnection,
        status: FromQuery[OutboxStatus | None] = "dead",
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    ) -> list[OutboxEntry]:
        return await outbox.list_messages(conn, status, limit)

    @post(
        "/outbox/{outbox_id:int}/replay",
        status_code=200,
        summary="Replay a dead letter as a new message (or retire it when a newer one exists)",
    )
    async def replay(self, outbox_id: FromPath[int], conn: DbConnection) -> outbox.Replay:
        return await outbox.replay(conn, outbox_id)
