"""HTTP endpoints for the admin's holiday calendar: read, replace, or uncover a year."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, delete, get, put
from litestar.params import FromQuery, JSONBody, PathParameter

from parking.calendar import service
from parking.calendar.schemas import CalendarDay, CalendarYear, CoveredYear
from parking.clock import utc_now
from parking.db import DbConnection
from parking.security import requires_role

__all__ = ["CalendarAdminController"]

Year = Annotated[int, PathParameter(ge=2000, le=2100, description="Calendar year, 2000 to 2100.")]


class CalendarAdminController(Controller):
    path = "/admin/calendar"
    tags = ["admin"]
    guards = [requires_role("admin")]

    @get("/", summary="The years whose official holiday calendar is entered")
    async def list_years(self, conn: DbConnection) -> list[CoveredYear]:
        return await service.calendar_status(conn)

    @get("/{year:int}", summary="One year: covered or not, its source, its exception days")
    async def get_year(self, conn: DbConnection, year: Year) -> CalendarYear:
        return await service.get_year(conn, year)

    @put(
        "/{year:int}",
        summary="Enter a year's whole official calendar (public holidays and adjusted working "
        "weekends); the year becomes covered, as the admin's",
    )
    async def put_year(
        self,
        conn: DbConnection,
        request: Request,
        year: Year,
        data: JSONBody[list[CalendarDay]],
        cancel_reservations: FromQuery[bool] = False,
    ) -> CalendarYear:
        return await service.replace_year(
            conn,
            year,
            data,
            cancel_reservations=cancel_reservations,
            settings=request.app.state.settings,
            now=utc_now(),
        )

    @delete("/{year:int}", summary="Uncover a year: its working-day rules become an error")
    async def delete_year(self, conn: DbConnection, request: Request, year: Year) -> None:
        await service.uncover_year(conn, year, settings=request.app.state.settings, now=utc_now())
