"""HTTP endpoints for compounds, the whitelist, resident verification and vehicles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.pagination import OffsetPagination
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter, RawBody

from parking.db import DbConnection
from parking.errors import Problem
from parking.residents import repository, service
from parking.residents.schemas import (
    Compound,
    CompoundPatch,
    CompoundSummary,
    ImportMode,
    ImportReport,
    NewCompound,
    NewVehicle,
    ResidentStatus,
    Vehicle,
    VerificationRequest,
    WhitelistEntry,
)
from parking.security import AuthRequest, requires_role

__all__ = [
    "CompoundAdminController",
    "ResidentController",
    "VehicleController",
    "WhitelistAdminController",
]

WHITELIST_MAX_BYTES = 5 * 1024 * 1024
"""Largest whitelist file accepted (413 beyond): some 100 000 lines."""

_CSV_MEDIA_TYPES = ("text/csv", "application/csv")


@dataclass
class _CsvUploadOperation(Operation):
    """Documents the raw CSV body, which the handler reads itself."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            content={"text/csv": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))},
            description="compound,unit,phone[,lat,lon] - UTF-8, with or without BOM.",
            required=True,
        )


class CompoundAdminController(Controller):
    path = "/admin/compounds"
    tags = ["admin", "residents"]
    guards = [requires_role("admin")]

    @get("/", summary="List compounds with their whitelist and verified counts")
    async def list_compounds(self, conn: DbConnection) -> list[CompoundSummary]:
        return await repository.list_compounds(conn)

    @post("/", status_code=201, summary="Create a compound")
    async def create_compound(self, data: JSONBody[NewCompound], conn: DbConnection) -> Compound:
        return await service.create_compound(conn, data)

    @patch("/{compound_id:int}", summary="Rename or move a compound")
    async def update_compound(
        self, compound_id: FromPath[int], data: JSONBody[CompoundPatch], conn: DbConnection
    ) -> Compound:
        return await service.update_compound(conn, compound_id, data)


class WhitelistAdminController(Controller):
    path = "/admin/whitelist"
    tags = ["admin", "residents"]
    guards = [requires_role("admin")]

    @get("/", summary="List whitelist entries, optionally of one compound")
    async def list_entries(
        self,
        conn: DbConnection,
        compound_id: FromQuery[int | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> OffsetPagination[WhitelistEntry]:
        items = await repository.list_whitelist(conn, compound_id, limit, offset)
        total = await repository.count_whitelist(conn, compound_id)
        return OffsetPagination(items=items, limit=limit, offset=offset, total=total)

    @post(
        "/import",
        status_code=200,
        request_max_body_size=WHITELIST_MAX_BYTES,
        operation_class=_CsvUploadOperation,
        summary="Import the residence whitelist from CSV (all or nothing)",
        description=(
            "Body: `text/csv`, UTF-8 with or without BOM; header `compound,unit,phone`, "
            "optionally `lat,lon` to create compounds that do not exist yet. "
            "`mode=merge` adds new entries and keeps the rest; `mode=replace` makes the "
            "file the whole list, removing other entries and the verifications made with "
            "them. Any bad line: 422 `whitelist-invalid` listing every bad line, nothing "
            "written."
        ),
    )
    async def import_whitelist(
        self,
        request: Request,
        body: RawBody,
        conn: DbConnection,
        mode: FromQuery[ImportMode] = "merge",
    ) -> ImportReport:
        # The raw body: a ``data`` parameter would be decoded as JSON.
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type not in _CSV_MEDIA_TYPES:
            raise Problem(415, "unsupported-media-type", "Send the whitelist as text/csv.")
        return await service.import_whitelist(conn, body, mode)


class ResidentController(Controller):
    path = "/residents"
    tags = ["residents"]
    guards = [requires_role("resident")]

    @get("/me", summary="The caller's verification and home compound")
    async def me(self, request: AuthRequest, conn: DbConnection) -> ResidentStatus:
        return ResidentStatus.of(await service.residency_of(conn, request.user.id))

    @post(
        "/me/verification",
        status_code=201,
        summary="Verify as a resident against the whitelist",
        description="201 when verified now; 200 when already verified for this residence.",
    )
    async def verify(
        self, request: AuthRequest, data: JSONBody[VerificationRequest], conn: DbConnection
    ) -> Response[ResidentStatus]:
        residency, created = await service.verify(conn, request.user.id, data)
        return Response(ResidentStatus.of(residency), status_code=201 if created else 200)

    @get("/compounds", summary="Compounds a resident may verify for (id and name)")
    async def compounds(self, conn: DbConnection) -> list[Compound]:
        return await repository.all_compounds(conn)


class VehicleController(Controller):
    path = "/vehicles"
    tags = ["residents"]
    guards = [requires_role("resident")]

    @get("/", summary="The caller's vehicles")
    async def list_vehicles(self, request: AuthRequest, conn: DbConnection) -> list[Vehicle]:
        return await service.list_vehicles(conn, request.user.id)

    @post("/", status_code=201, summary="Register a vehicle (verified residents)")
    async def add_vehicle(
        self, request: AuthRequest, data: JSONBody[NewVehicle], conn: DbConnection
    ) -> Vehicle:
        limit = request.app.state.settings.max_vehicles_per_resident
        return await service.add_vehicle(conn, request.user.id, data.plate, max_vehicles=limit)

    @delete("/{vehicle_id:int}", status_code=204, summary="Remove a vehicle not in use")
    async def remove_vehicle(
        self, request: AuthRequest, vehicle_id: FromPath[int], conn: DbConnection
    ) -> None:
        timezone = request.app.state.settings.timezone
        await service.remove_vehicle(conn, request.user.id, vehicle_id, timezone=timezone)
