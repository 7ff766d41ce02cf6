"""HTTP endpoints of the gate: the gate's own reads, and the manager's key and sessions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter

from parking.clock import utc_now
from parking.db import DbConnection
from parking.gate import service
from parking.gate.schemas import GateEvent, GateSession, IssuedGateKey
from parking.security import AuthRequest, optional_bearer_user, requires_role

__all__ = ["GateController", "GateManagementController"]

GateKeyHeader = Annotated[
    str | None,
    HeaderParameter(
        name="X-Gate-Key", description="The building's gate key (or send a bearer token)."
    ),
]


async def _authorize(request: Request, conn, building_id: int, gate_key: str | None) -> None:
    # /gate/ is outside the JWT middleware (a gate has a key, not an account), so the
    # bearer token, when there is one, is read here.
    state = request.app.state
    user = await optional_bearer_user(
        state.jwt_auth, state.pool, request.headers.get("authorization")
    )
    await service.authorize_gate(conn, building_id, gate_key=gate_key, user=user)


class GateController(Controller):
    """Plate reads from a building's gate (gate key or a manager's bearer token)."""

    path = "/gate"
    tags = ["gate"]

    @post(
        "/entries",
        summary="A car entered: check in its reservation, or record it unreserved",
        responses={
            200: ResponseSpec(GateSession, description="The car was already inside: its session.")
        },
    )
    async def entry(
        self,
        data: JSONBody[GateEvent],
        conn: DbConnection,
        request: Request,
        gate_key: GateKeyHeader = None,
    ) -> Response[GateSession]:
        await _authorize(request, conn, data.building_id, gate_key)
        session, created = await service.record_entry(
            conn,
            data.building_id,
            data.plate,
            data.at,
            now=utc_now(),
            tz=request.app.state.settings.tz,
        )
        return Response(session, status_code=201 if created else 200)

    @post("/exits", status_code=200, summary="A car left: close its session")
    async def exit(
        self,
        data: JSONBody[GateEvent],
        conn: DbConnection,
        request: Request,
        gate_key: GateKeyHeader = None,
    ) -> GateSession:
        await _authorize(request, conn, data.building_id, gate_key)
        return await service.record_exit(
            conn,
            data.building_id,
            data.plate,
            data.at,
            now=utc_now(),
            tz=request.app.state.settings.tz,
        )


class GateManagementController(Controller):
    """A building manager's side of the gate: its key and the sessions it recorded."""

    path = "/buildings/{building_id:int}"
    tags = ["gate"]
    guards = [requires_role("manager", "admin")]

    @post("/gate-key", status_code=201, summary="Issue a gate key (shown once; revokes the old)")
    async def issue_key(
        self,
        building_id: FromPath[int],
        conn: DbConnection,
        request: AuthRequest,
    ) -> IssuedGateKey:
        return await service.issue_gate_key(conn, request.user, building_id, now=utc_now())

    @get("/sessions", summary="Gate sessions by entry time, newest first (plates masked)")
    async def sessions(
        self,
        building_id: FromPath[int],
        conn: DbConnection,
        request: AuthRequest,
        entered_from: Annotated[dt.datetime | None, QueryParameter(name="from")] = None,
        entered_to: Annotated[dt.datetime | None, QueryParameter(name="to")] = None,
        unreserved: FromQuery[bool | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> list[GateSession]:
        return await service.list_sessions(
            conn,
            request.user,
            building_id,
            entered_from=entered_from,
            entered_to=entered_to,
            unreserved=unreserved,
            limit=limit,
            offset=offset,
            tz=request.app.state.settings.tz,
        )
