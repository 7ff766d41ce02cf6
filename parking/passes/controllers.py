"""HTTP endpoints for passes: a resident's own passes, and a manager's view of a building's."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from parking.clock import utc_now
from parking.db import DbConnection
from parking.passes import service
from parking.passes.schemas import BuildingPass, MonthText, NewPass, PassDetail, PassSummary
from parking.reservations.controllers import IdempotencyKey, once_per_key
from parking.security import AuthRequest, requires_role

__all__ = ["BuildingPassController", "PassController"]


class PassController(Controller):
    path = "/passes"
    tags = ["passes"]
    guards = [requires_role("resident")]

    @post(
        "/",
        status_code=201,
        summary="Buy a monthly pass: a space every shared night left in the month",
    )
    async def buy(
        self,
        data: JSONBody[NewPass],
        conn: DbConnection,
        request: AuthRequest,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[PassDetail]:
        settings = request.app.state.settings
        return await once_per_key(
            conn,
            request,
            idempotency_key,
            data,
            lambda: service.buy_pass(conn, request.user.id, data, now=utc_now(), settings=settings),
        )

    @get("/", summary="My passes, newest month first")
    async def list_own(self, conn: DbConnection, request: AuthRequest) -> list[PassSummary]:
        return await service.list_passes(conn, request.user.id, request.app.state.settings.tz)

    @get("/{pass_id:int}", summary="One of my passes, with its nights")
    async def get_one(
        self, pass_id: FromPath[int], conn: DbConnection, request: AuthRequest
    ) -> PassDetail:
        return await service.get_pass(conn, request.user.id, pass_id, request.app.state.settings.tz)

    @post(
        "/{pass_id:int}/nights/{night:date}/release",
        status_code=200,
        summary="Give a night back before it starts; its space becomes bookable by others",
    )
    async def release(
        self,
        pass_id: FromPath[int],
        night: FromPath[dt.date],
        conn: DbConnection,
        request: AuthRequest,
    ) -> PassDetail:
        return await service.release_night(
            conn,
            request.user.id,
            pass_id,
            night,
            now=utc_now(),
            tz=request.app.state.settings.tz,
        )


class BuildingPassController(Controller):
    path = "/buildings/{building_id:int}/passes"
    tags = ["passes"]
    guards = [requires_role("manager", "admin")]

    @get("/", summary="The building's passes (plates masked), optionally of one month")
    async def list_for_building(
        self,
        building_id: FromPath[int],
        conn: DbConnection,
        request: AuthRequest,
        month: Annotated[MonthText | None, QueryParameter()] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> list[BuildingPass]:
        return await service.list_building_passes(
            conn,
            request.user,
            building_id,
            month,
            limit=limit,
            offset=offset,
            tz=request.app.state.settings.tz,
        )
