"""HTTP endpoints for a building's off-peak rules, blackouts, and the windows they give."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from parking.clock import utc_now
from parking.db import DbConnection
from parking.offpeak import service
from parking.offpeak.schemas import Blackout, NewBlackout, NewOffPeakRule, NightWindows, OffPeakRule
from parking.security import AuthRequest, requires_role

__all__ = ["OffPeakController"]


class OffPeakController(Controller):
    path = "/buildings/{building_id:int}"
    tags = ["off-peak windows"]
    guards = [requires_role("manager", "admin")]

    @get("/off-peak-rules", summary="The building's weekly off-peak rules")
    async def list_rules(
        self, building_id: FromPath[int], conn: DbConnection, request: AuthRequest
    ) -> list[OffPeakRule]:
        return await service.list_rules(conn, request.user, building_id)

    @post("/off-peak-rules", status_code=201, summary="Add a weekly off-peak rule")
    async def create_rule(
        self,
        building_id: FromPath[int],
        data: JSONBody[NewOffPeakRule],
        conn: DbConnection,
        request: AuthRequest,
    ) -> OffPeakRule:
        settings = request.app.state.settings
        return await service.create_rule(
            conn, request.user, building_id, data, settings=settings, now=utc_now()
        )

    @delete(
        "/off-peak-rules/{rule_id:int}",
        summary="Remove a rule (409 window-conflicts if it strands active reservations, "
        "unless cancel_reservations=true)",
    )
    async def delete_rule(
        self,
        building_id: FromPath[int],
        rule_id: FromPath[int],
        conn: DbConnection,
        request: AuthRequest,
        cancel_reservations: FromQuery[bool] = False,
    ) -> None:
        await service.delete_rule(
            conn,
            request.user,
            building_id,
            rule_id,
            cancel_reservations=cancel_reservations,
            settings=request.app.state.settings,
            now=utc_now(),
        )

    @get("/blackouts", summary="The building's blackouts, by start (past ones on request)")
    async def list_blackouts(
        self,
        building_id: FromPath[int],
        conn: DbConnection,
        request: AuthRequest,
        include_past: FromQuery[bool] = False,
    ) -> list[Blackout]:
        return await service.list_blackouts(
            conn, request.user, building_id, include_past=include_past, now=utc_now()
        )

    @post(
        "/blackouts",
        status_code=201,
        summary="Take the spaces back for a period (409 window-conflicts if it strands active "
        "reservations, unless cancel_reservations is true)",
    )
    async def create_blackout(
        self,
        building_id: FromPath[int],
        data: JSONBody[NewBlackout],
        conn: DbConnection,
        request: AuthRequest,
    ) -> Blackout:
        settings = request.app.state.settings
        return await service.create_blackout(
            conn, request.user, building_id, data, settings=settings, now=utc_now()
        )

    @delete("/blackouts/{blackout_id:int}", summary="Lift a blackout")
    async def delete_blackout(
        self,
        building_id: FromPath[int],
        blackout_id: FromPath[int],
        conn: DbConnection,
        request: AuthRequest,
    ) -> None:
        await service.delete_blackout(
            conn,
            request.user,
            building_id,
            blackout_id,
            settings=request.app.state.settings,
            now=utc_now(),
        )

    @get("/windows", summary="Each night's sharing windows (half-open, local time)")
    async def windows(
        self,
        building_id: FromPath[int],
        conn: DbConnection,
        request: AuthRequest,
        from_: Annotated[
            dt.date | None, QueryParameter(name="from", description="First night; default tonight.")
        ] = None,
        nights: Annotated[int, QueryParameter(ge=1, le=service.MAX_WINDOW_NIGHTS)] = 7,
    ) -> list[NightWindows]:
        tz = request.app.state.settings.tz
        first = from_ or utc_now().astimezone(tz).date()
        return await service.windows_of_nights(conn, request.user, building_id, first, nights, tz)
