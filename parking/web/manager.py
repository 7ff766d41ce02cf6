"""The manager's pages: buildings, one building's spaces, and its windows and calendar.

Every read and change goes through the use cases the API's building and off-peak
controllers call (``parking.places.service``, ``parking.offpeak.service``), so ownership
(another manager's building is 404), the refusals and the district messages are theirs.
The calendar's free counts use ``parking.occupancy``'s one definition, for all nights in
one statement.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import asyncpg
from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.plugins.problem_details import ProblemDetailsException
from litestar.response import Redirect, Template

from parking.clock import utc_now
from parking.db import DbConnection
from parking.occupancy import Interval, free_count_sql, free_space_counts
from parking.offpeak import service as offpeak
from parking.offpeak.schemas import NewBlackout, NewOffPeakRule, NightWindows
from parking.places import service as places
from parking.places.schemas import Building, BuildingPatch, NewSpaces, SpacePatch
from parking.security import AuthUser
from parking.web.pages import (
    attempt_once,
    form_fields,
    form_list,
    local_datetime,
    notice,
    page_role,
    parse_form,
    redirect,
    render,
    signed_in,
)
from parking.web.session import WEB_PREFIX
from parking.windows import CalendarMissing, Window, envelope, load_window_results

__all__ = ["ROUTES", "BuildingPages"]

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]

CALENDAR_NIGHTS = 30
# Values and their labels, in the order the forms offer them.
FEATURES = {
    "ev": "manager.feature.ev",
    "large": "manager.feature.large",
    "accessible": "manager.feature.accessible",
}
WEEKDAYS = {
    1: "manager.weekday.1",
    2: "manager.weekday.2",
    3: "manager.weekday.3",
    4: "manager.weekday.4",
    5: "manager.weekday.5",
    6: "manager.weekday.6",
    7: "manager.weekday.7",
}
DAY_CLASSES = {
    "every_day": "manager.day_class.every_day",
    "working_days": "manager.day_class.working_days",
    "rest_days": "manager.day_class.rest_days",
}
_DAY = dt.timedelta(days=1)

# Spaces free for the whole of each night's sharing envelope, one row per night: the
# availability message's count (``free_count_sql``), for every night in one statement.
_FREE_BY_NIGHT = f"""
SELECT q.n, {free_count_sql("$1::bigint", "q.starts", "q.ends", "'{}'::text[]")} AS free
FROM unnest($2::timestamptz[], $3::timestamptz[]) WITH ORDINALITY AS q (starts, ends, n)
ORDER BY q.n
"""

# The done=<word> notices each page knows.
_DONE = {
    "status": "manager.done.status",
    "added": "manager.done.added",
    "changed": "manager.done.changed",
    "removed": "manager.done.removed",
    "rule-added": "manager.done.rule_added",
    "rule-deleted": "manager.done.rule_deleted",
    "blackout-added": "manager.done.blackout_added",
    "blackout-lifted": "manager.done.blackout_lifted",
}


def _tz(request: Request[Any, Any, Any]) -> ZoneInfo:
    return request.app.state.settings.tz


# ------------------------------------------------------------------ reads for the pages


@dataclass(frozen=True, slots=True)
class Night:
    """One night of the calendar as the page shows it."""

    night: dt.date
    windows: list[tuple[dt.time, dt.time]]
    capacity: int
    free: int
    blackout: bool
    missing_year: int | None

    @property
    def shares(self) -> bool:
        return bool(self.windows)


@dataclass(frozen=True, slots=True)
class Tonight:
    """A building's current night on the list: which night, until when, what is free."""

    night: dt.date
    until: dt.datetime | None
    free: int | CalendarMissing | None
    under_way: bool
    """Last night, whose window is still open after midnight."""


async def current_nights(
    conn: asyncpg.Connection, building_ids: list[int], now: dt.datetime, tz: ZoneInfo
) -> dict[int, tuple[dt.date, tuple[Window, ...] | CalendarMissing | None]]:
    """Each building's current night and its windows: last night while its window is still
    open (after midnight, the night under way), else tonight."""
    today = now.astimezone(tz).date()
    yesterday = today - _DAY
    results = await load_window_results(conn, building_ids, [yesterday, today], tz)
    current: dict[int, tuple[dt.date, tuple[Window, ...] | CalendarMissing | None]] = {}
    for building_id in building_ids:
        last = results.get((building_id, yesterday))
        hull = None if last is None or isinstance(last, CalendarMissing) else envelope(last)
        if hull is not None and hull.end > now:
            current[building_id] = (yesterday, last)
        else:
            current[building_id] = (today, results.get((building_id, today)))
    return current


async def tonight_free(
    conn: asyncpg.Connection, buildings: list[Building], now: dt.datetime, tz: ZoneInfo
) -> dict[int, Tonight]:
    """Each building's spaces free for the rest of its current night's sharing period (None:
    no sharing that night; ``CalendarMissing``: the holiday calendar its windows need is
    missing). After midnight, a night still under way is the current one: what a resident
    may still book now."""
    current = await current_nights(conn, [b.id for b in buildings], now, tz)
    intervals = []
    ends: dict[int, dt.datetime] = {}
    for building in buildings:
        _, result = current[building.id]
        if result is None or isinstance(result, CalendarMissing):
            continue
        hull = envelope(result)
        if hull is not None:
            ends[building.id] = hull.end
            intervals.append(Interval(building.id, max(hull.start, now), hull.end))
    free = await free_space_counts(conn, intervals)
    today = now.astimezone(tz).date()
    shown = {}
    for building in buildings:
        night, result = current[building.id]
        count: int | CalendarMissing | None = (
            result if isinstance(result, CalendarMissing) else free.get(building.id)
        )
        # A suspended building has nothing free, whatever stands empty (the availability
        # message).
        if building.status != "active" and isinstance(count, int):
            count = 0
        shown[building.id] = Tonight(night, ends.get(building.id), count, night != today)
    return shown


async def calendar_nights(
    conn: asyncpg.Connection,
    user: AuthUser,
    building: Building,
    blackouts: list[Any],
    first: dt.date,
    tz: ZoneInfo,
) -> list[Night]:
    """The next nights: windows (as ``GET /buildings/{id}/windows`` gives them), capacity
    and free spaces (as the availability message counts them), and blackouts marked."""
    nights: list[NightWindows] = await offpeak.windows_of_nights(
        conn, user, building.id, first, CALENDAR_NIGHTS, tz
    )
    hulls = [(n.windows[0].start, n.windows[-1].end) if n.windows else (None, None) for n in nights]
    rows = await conn.fetch(
        _FREE_BY_NIGHT, building.id, [h[0] for h in hulls], [h[1] for h in hulls]
    )
    free = [r["free"] for r in rows]
    shown = []
    for night, count in zip(nights, free, strict=True):
        # A blackout is marked on the night whose evening-to-morning span it touches.
        noon = dt.datetime.combine(night.night, dt.time(12), tzinfo=tz)
        touched = any(b.start < noon + _DAY and b.end > noon for b in blackouts)
        shares = bool(night.windows)
        shown.append(
            Night(
                night=night.night,
                windows=[
                    (w.start.astimezone(tz).time(), w.end.astimezone(tz).time())
                    for w in night.windows
                ],
                capacity=building.shared_spaces if shares else 0,
                # Suspended: nothing free, whatever stands empty, as the platform is told.
                free=count if shares and building.status == "active" else 0,
                blackout=touched,
                missing_year=night.problem.year if night.problem else None,
            )
        )
    return shown


# ------------------------------------------------------------------ the pages


class BuildingPages(Controller):
    path = f"{WEB_PREFIX}/buildings"
    include_in_schema = False
    guards = [page_role("manager", "admin")]

    # --- the list

    @get("/")
    async def buildings(self, request: Request[Any, Any, Any], conn: DbConnection) -> Template:
        tz = _tz(request)
        buildings = await places.list_buildings(conn, signed_in(request), None, tz)
        free = await tonight_free(conn, buildings, utc_now(), tz)
        return render(request, "manager/buildings.html", buildings=buildings, free=free, tz=tz)

    # --- one building: details and spaces

    async def _building_page(
        self,
        request: Request[Any, Any, Any],
        conn: asyncpg.Connection,
        building_id: int,
        *,
        problem: ProblemDetailsException | None = None,
        done: str | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> Template:
        user, tz = signed_in(request), _tz(request)
        building = await places.get_building(conn, user, building_id, tz)
        spaces = await places.list_spaces(conn, user, building_id)
        return render(
            request,
            "manager/building.html",
            problem=problem,
            done=notice(request, _DONE, done),
            building=building,
            spaces=spaces,
            features=FEATURES,
            values=values or {},
        )

    @get("/{building_id:int}")
    async def building(
        self,
        request: Request[Any, Any, Any],
        conn: DbConnection,
        building_id: FromPath[int],
        done: FromQuery[str | None] = None,
    ) -> Template:
        return await self._building_page(request, conn, building_id, done=done)

    async def _change(
        self,
        request: Request[Any, Any, Any],
        conn: asyncpg.Connection,
        building_id: int,
        action: Callable[[], Awaitable[Any]],
        *,
        done: str,
        page: str = "",
        values: Mapping[str, Any] | None = None,
    ) -> Template | Redirect:
        """Run a use case; on success back to the page with a notice, else the page again
        with the problem (nothing changed)."""
        problem = await attempt_once(request, conn, action)
        if problem is None:
            return redirect(f"{WEB_PREFIX}/buildings/{building_id}{page}?done={done}")
        if page == "/calendar":
            return await self._calendar_page(
                request, conn, building_id, problem=problem, values=values
            )
        return await self._building_page(request, conn, building_id, problem=problem, values=values)

    @post("/{building_id:int}/status")
    async def change_status(
        self,
        request: Request[Any, Any, Any],
        conn: DbConnection,
        building_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        settings = request.app.state.settings

        async def change() -> Any:
            patch = parse_form(BuildingPatch, {"status": data.get("status", "")})
            return await places.update_building(
                conn, signed_in(request), building_id, patch, settings
            )

        return await self._change(request, conn, building_id, change, done="status")

    @post("/{building_id:int}/spaces")
    async def add_spaces(
        self,
        request: Request[Any, Any, Any],
        conn: DbConnection,
        building_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        settings = request.app.state.settings
        values = form_fields(data)

        async def add() -> Any:
            form: dict[str, Any] = {
                k: data.get(k, "") for k in ("prefix", "start", "digits", "count", "level")
            }
            text = " ".join(form_list(data.get("labels")))  # a field sent twice is two, not a list
            labels = text.replace(",", " ").replace("，", " ").split()
            if len(labels) == 1:
                form["label"] = labels[0]
            elif labels:
                form["labels"] = labels
            form["features"] = form_list(data.get("features"))
            form["shared"] = data.get("shared", "true")
            new = parse_form(NewSpaces, form)
            return await places.create_spaces(conn, signed_in(request), building_id, new, settings)

        return await self._change(request, conn, building_id, add, done="added", values=values)

    @post("/{building_id:int}/spaces/{space_id:int}")
    async def change_space(
        self,
        request: Request[Any, Any, Any],
        conn: DbConnection,
        building_id: FromPath[int],
        space_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        settings = request.app.state.settings

        async def change() -> Any:
            patch = parse_form(
                SpacePatch,
                {"shared": data.get("shared", ""), "level": data.get("level", "")},
                features=form_list(data.get("features")),
            )
            return await places.update_space(
                conn, signed_in(request), building_id, space_id, patch, settings
            )

        return await self._change(request, conn, building_id, change, done="changed")

    @post("/{building_id:int}/spaces/{space_id:int}/delete")
    async def remove_space(
        self,
        request: Request[Any, Any, Any],
        conn: DbConnection,
        building_id: FromPath[int],
        space_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        settings = request.app.state.settings

        async def remove() -> None:
            await places.delete_space(conn, signed_in(request), building_id, space_id, settings)

        return await self._change(request, conn, building_id, remove, done="removed")

    # --- windows and calendar

    async def _calendar_page(
        self,
        request: Request[Any, Any, Any],
        conn: asyncpg.Connection,
        building_id: int,
        *,
        problem: ProblemDetailsException | None = None,
        done: str | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> Template:
        user, tz = signed_in(request), _tz(request)
        now = utc_now()
        building = await places.get_building(conn, user, building_id, tz)
        rules = await offpeak.list_rules(conn, user, building_id)
        blackouts = await offpeak.list_blackouts(
            conn, user, building_id, include_past=False, now=now
        )
        # From the night under way: after midnight, last night while its window is open.
        [(first, _)] = (await current_nights(conn, [building.id], now, tz)).values()
        nights = await calendar_nights(conn, user, building, blackouts, first, tz)
        return render(
            request,
            "manager/calendar.html",
            problem=problem,
            done=notice(request, _DONE, done),
            building=building,
            rules=rules,
            blackouts=blackouts,
            nights=nights,
            lead=[None] * (first.isoweekday() - 1),
            weekdays=WEEKDAYS,
            day_classes=DAY_CLASSES,
            tz=tz,
            values=values or {},
        )

    @get("/{building_id:int}/calendar")
    async def calendar(
        self,
        request: Request[Any, Any, Any],
        conn: DbConnection,
        building_id: FromPath[int],
        done: FromQuery[str | None] = None,
    ) -> Template:
        return await self._calendar_page(request, conn, building_id, done=done)

    @post("/{building_id:int}/rules")
    async def add_rule(
        self,
        request: Request[Any, Any, Any],
        conn: DbConnection,
        building_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        settings = request.app.state.settings
        values = form_fields(data)

        async def add() -> Any:
            fields = ("day_class", "start_time", "end_time", "valid_from", "valid_until")
            form = {k: data.get(k, "") for k in fields}
            # The form always offers the weekdays: none ticked is none, which the model refuses.
            new = parse_form(NewOffPeakRule, form, weekdays=form_list(data.get("weekdays")))
            return await offpeak.create_rule(
                conn, signed_in(request), building_id, new, settings=settings, now=utc_now()
            )

        return await self._change(
            request, conn, building_id, add, done="rule-added", page="/calendar", values=values
        )

    @post("/{building_id:int}/rules/{rule_id:int}/delete")
    async def delete_rule(
        self,
        request: Request[Any, Any, Any],
        conn: DbConnection,
        building_id: FromPath[int],
        rule_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        settings = request.app.state.settings
        cancel = data.get("cancel_reservations") == "true"

        async def delete() -> None:
            await offpeak.delete_rule(
                conn,
                signed_in(request),
                building_id,
                rule_id,
                cancel_reservations=cancel,
                settings=settings,
                now=utc_now(),
            )

        return await self._change(
            request, conn, building_id, delete, done="rule-deleted", page="/calendar"
        )

    @post("/{building_id:int}/blackouts")
    async def add_blackout(
        self,
        request: Request[Any, Any, Any],
        conn: DbConnection,
        building_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        settings = request.app.state.settings
        values = form_fields(data)

        async def add() -> Any:
            tz = settings.tz
            form = {
                "start": local_datetime(data.get("start", ""), tz),
                "end": local_datetime(data.get("end", ""), tz),
                "reason": data.get("reason", ""),
                "cancel_reservations": data.get("cancel_reservations", "false"),
            }
            new = parse_form(NewBlackout, form)
            return await offpeak.create_blackout(
                conn, signed_in(request), building_id, new, settings=settings, now=utc_now()
            )

        return await self._change(
            request, conn, building_id, add, done="blackout-added", page="/calendar", values=values
        )

    @post("/{building_id:int}/blackouts/{blackout_id:int}/delete")
    async def lift_blackout(
        self,
        request: Request[Any, Any, Any],
        conn: DbConnection,
        building_id: FromPath[int],
        blackout_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        settings = request.app.state.settings

        async def lift() -> None:
            await offpeak.delete_blackout(
                conn, signed_in(request), building_id, blackout_id, settings=settings, now=utc_now()
            )

        return await self._change(
            request, conn, building_id, lift, done="blackout-lifted", page="/calendar"
        )


ROUTES: list[Any] = [BuildingPages]
