"""HTTP endpoints for buildings, their spaces, and the search for free spaces."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from parking.clock import utc_now
from parking.db import DbConnection
from parking.places import service
from parking.places.schemas import (
    Building,
    BuildingPatch,
    NewBuilding,
    NewSpaces,
    SearchPage,
    Space,
    SpacePatch,
)
from parking.places.search import MAX_LIMIT, MAX_RADIUS_M, SearchQuery, search_places
from parking.security import AuthRequest, requires_role

__all__ = ["BuildingController", "SearchController"]


class BuildingController(Controller):
    path = "/buildings"
    tags = ["buildings"]
    guards = [requires_role("manager", "admin")]

    @post("/", status_code=201, summary="Create a building (admins name its manager)")
    async def create(
        self, data: JSONBody[NewBuilding], conn: DbConnection, request: AuthRequest
    ) -> Building:
        settings = request.app.state.settings
        return await service.create_building(conn, request.user, data, settings)

    @get("/", summary="Buildings: a manager's own, or all for an admin (optionally one manager's)")
    async def list_buildings(
        self, conn: DbConnection, request: AuthRequest, manager_id: FromQuery[int | None] = None
    ) -> list[Building]:
        tz = request.app.state.settings.tz
        return await service.list_buildings(conn, request.user, manager_id, tz)

    @get("/{building_id:int}", summary="One building with its shared space and feature counts")
    async def get_building(
        self, building_id: FromPath[int], conn: DbConnection, request: AuthRequest
    ) -> Building:
        tz = request.app.state.settings.tz
        return await service.get_building(conn, request.user, building_id, tz)

    @patch("/{building_id:int}", summary="Change a building; status suspended stops new bookings")
    async def update_building(
        self,
        building_id: FromPath[int],
        data: JSONBody[BuildingPatch],
        conn: DbConnection,
        request: AuthRequest,
    ) -> Building:
        settings = request.app.state.settings
        return await service.update_building(conn, request.user, building_id, data, settings)

    @get("/{building_id:int}/spaces", summary="The building's spaces, by label")
    async def list_spaces(
        self, building_id: FromPath[int], conn: DbConnection, request: AuthRequest
    ) -> list[Space]:
        return await service.list_spaces(conn, request.user, building_id)

    @post(
        "/{building_id:int}/spaces",
        status_code=201,
        summary="Add one space, a list of labels, or a numbered run (at most 1000)",
    )
    async def create_spaces(
        self,
        building_id: FromPath[int],
        data: JSONBody[NewSpaces],
        conn: DbConnection,
        request: AuthRequest,
    ) -> list[Space]:
        settings = request.app.state.settings
        return await service.create_spaces(conn, request.user, building_id, data, settings)

    @patch(
        "/{building_id:int}/spaces/{space_id:int}",
        summary="Change a space; unsharing one active reservations hold is a 409",
    )
    async def update_space(
        self,
        building_id: FromPath[int],
        space_id: FromPath[int],
        data: JSONBody[SpacePatch],
        conn: DbConnection,
        request: AuthRequest,
    ) -> Space:
        settings = request.app.state.settings
        return await service.update_space(conn, request.user, building_id, space_id, data, settings)

    @delete(
        "/{building_id:int}/spaces/{space_id:int}",
        status_code=204,
        summary="Delete a never-reserved space (one with reservations can only be unshared)",
    )
    async def delete_space(
        self,
        building_id: FromPath[int],
        space_id: FromPath[int],
        conn: DbConnection,
        request: AuthRequest,
    ) -> None:
        settings = request.app.state.settings
        await service.delete_space(conn, request.user, building_id, space_id, settings)


class SearchController(Controller):
    path = "/places"
    tags = ["search"]

    @get(
        "/",
        summary="Places with free spaces for a night near a point, nearest first",
        description=(
            "Active places within `radius_m` of the point (default: the caller's verified "
            "home compound) with at least one shared space free for the whole stay. "
            "`walk_m` is the great-circle distance in whole metres, the project's one "
            "definition of walking distance (not a street route). Without `arrive`/`depart` "
            "the stay is the place's whole sharing period that night (from now, tonight); "
            "a given time must lie inside one of the place's windows, or the place is left "
            "out. Places whose plan that night sells only passes are listed with "
            "`price_fen: null` and `bookable: false`. Sorted by `walk_m`, then id; page with "
            "`next_cursor` (stable) or `offset`."
        ),
    )
    async def search(
        self,
        conn: DbConnection,
        request: AuthRequest,
        night: Annotated[
            dt.date | None, Parameter(description="Local date the night starts on; default today.")
        ] = None,
        arrive: Annotated[
            dt.datetime | None,
            Parameter(description="ISO 8601 with offset; default: the window's start."),
        ] = None,
        depart: Annotated[
            dt.datetime | None,
            Parameter(description="ISO 8601 with offset; default: the window's end."),
        ] = None,
        lat: Annotated[
            float | None,
            Parameter(ge=-90, le=90, description="With lon; default: your home compound."),
        ] = None,
        lon: Annotated[float | None, Parameter(ge=-180, le=180)] = None,
        radius_m: Annotated[
            int, Parameter(ge=1, le=MAX_RADIUS_M, description="Great-circle metres.")
        ] = 800,
        ev: Annotated[bool, Parameter(description="Only spaces with a charger.")] = False,
        large: Annotated[bool, Parameter(description="Only spaces for large vehicles.")] = False,
        limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 20,
        cursor: Annotated[
            str | None, Parameter(max_length=200, description="next_cursor of the last page.")
        ] = None,
        offset: Annotated[int | None, Parameter(ge=0, description="Instead of cursor.")] = None,
    ) -> SearchPage:
        query = SearchQuery(
            night=night,
            arrive=arrive,
            depart=depart,
            lat=lat,
            lon=lon,
            radius_m=radius_m,
            ev=ev,
            large=large,
            limit=limit,
            cursor=cursor,
            offset=offset,
        )
        settings = request.app.state.settings
        now = utc_now()
        return await search_places(conn, request.user, query, settings.tz, now)
