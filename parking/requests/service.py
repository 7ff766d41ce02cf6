"""Allocation-request use cases: a verified resident asks for a space on a night, may
withdraw until the night's cutoff, and sees what the night job decided.

Rules: one request per resident and night (a second is 409 ``request-exists``; withdraw
it to ask again differently); nothing is accepted or withdrawn from the cutoff on (409
``past-cutoff``); every refusal changes nothing.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import asyncpg

from allocator.geo import haversine_m
from parking.errors import Problem
from parking.places.repository import candidates_in_box
from parking.places.search import bounding_box
from parking.requests import repository
from parking.requests.schemas import (
    AllocationRequest,
    AllocationRequestOut,
    NewAllocationRequest,
)
from parking.reservations.repository import get_view
from parking.reservations.schemas import ReservationOut
from parking.residents.service import require_verified, vehicle_of
from parking.settings import Settings
from parking.windows import CalendarMissing, Window, load_window_results, local_instant

__all__ = ["cutoff_at", "get_own", "list_own", "submit", "withdraw_own"]

_DAY = dt.timedelta(days=1)


def cutoff_at(night: dt.date, settings: Settings) -> dt.datetime:
    """The instant from which requests for ``night`` are no longer taken or withdrawn."""
    return local_instant(night, settings.allocation_cutoff, settings.tz)


def _past_cutoff(night: dt.date, cutoff: dt.datetime, tz: ZoneInfo, doing: str) -> Problem:
    return Problem(
        409,
        "past-cutoff",
        f"Requests for night {night.isoformat()} could be {doing} until "
        f"{cutoff.astimezone(tz):%Y-%m-%d %H:%M}; the allocation has taken them.",
        extra={"cutoff_at": cutoff.astimezone(tz).isoformat()},
    )


async def _out(
    conn: asyncpg.Connection, request: AllocationRequest, settings: Settings
) -> AllocationRequestOut:
    tz = settings.tz
    reservation = None
    if request.reservation_id is not None:
        view = await get_view(conn, request.reservation_id)
        assert view is not None  # a foreign key names it
        reservation = ReservationOut.of(view, tz)
    return AllocationRequestOut(
        **request.model_dump(
            exclude={"user_id", "reservation_id", "run_id", "arrive", "depart", "created_at"}
        ),
        arrive=request.arrive.astimezone(tz),
        depart=request.depart.astimezone(tz),
        cutoff_at=cutoff_at(request.night, settings).astimezone(tz),
        reservation=reservation,
        created_at=request.created_at.astimezone(tz),
    )


async def _shared_in_reach(
    conn: asyncpg.Connection,
    night: dt.date,
    home: tuple[float, float],
    max_walk_m: int,
    tz: ZoneInfo,
) -> Window | None:
    """The part of the night that every building within reach shares: from the latest start
    to the earliest end of each one's longest window that starts on the night's date (the
    windows the allocation offers). Buildings in reach are the active ones with a shared
    space. None when none in reach shares, or they share no time."""
    lat, lon = home
    south, west, north, east = bounding_box(lat, lon, max_walk_m)
    near = [
        b.id
        for b in await candidates_in_box(conn, south, west, north, east)
        if haversine_m(lat, lon, b.lat, b.lon) <= max_walk_m
    ]
    reach = await repository.sharing_buildings(conn, near) if near else set()
    longest: list[Window] = []
    for (_building, _night), windows in (
        await load_window_results(conn, reach, [night], tz)
    ).items():
        if isinstance(windows, CalendarMissing):
            continue  # such a building offers nothing that night
        tonight = [w for w in windows if w.start.astimezone(tz).date() == night]
        if tonight:
            longest.append(max(tonight, key=lambda w: w.end - w.start))
    if not longest:
        return None
    start, end = max(w.start for w in longest), min(w.end for w in longest)
    return Window(start, end) if start < end else None


async def _stay(
    conn: asyncpg.Connection,
    new: NewAllocationRequest,
    home: tuple[float, float],
    now: dt.datetime,
    tz: ZoneInfo,
    cutoff: dt.datetime,
) -> tuple[dt.datetime, dt.datetime]:
    """The stay asked for, omitted ends filled from the time shared within reach (an
    arrival no earlier than the cutoff, when the night job decides it)."""
    night = new.night.isoformat()
    for name, value in (("arrive", new.arrive), ("depart", new.depart)):
        if value is not None and (value.second or value.microsecond):
            raise Problem(422, "invalid-stay", f"{name} must be on a whole minute.")
    arrive, depart = new.arrive, new.depart
    if arrive is None or depart is None:
        shared = await _shared_in_reach(conn, new.night, home, new.max_walk_m, tz)
        if shared is None:
            raise Problem(
                422,
                "no-window",
                f"No building within {new.max_walk_m} m of your home shares its spaces at a "
                f"common time on night {night}; give arrive and depart.",
            )
        arrive = arrive or max(shared.start, cutoff)
        depart = depart or shared.end
    if not arrive < depart:
        raise Problem(422, "invalid-stay", "The stay must end after it starts.")
    # Where any window of the night can lie: from the night's date to the end of the next.
    first = local_instant(new.night, dt.time(0), tz)
    if arrive < first or depart > first + 2 * _DAY:
        raise Problem(
            422,
            "invalid-stay",
            f"The stay must lie within night {night}: from its date to the end of the next day.",
        )
    if depart <= now:
        raise Problem(422, "in-the-past", "The stay would end before now.")
    if arrive < cutoff:
        # Decided at the cutoff, such a stay would be written already begun, and the
        # no-show sweep would charge it at once.
        raise Problem(
            422,
            "invalid-stay",
            f"The stay must start at or after the night's cutoff, "
            f"{cutoff.astimezone(tz):%Y-%m-%d %H:%M}, when the allocation decides it.",
        )
    return arrive, depart


async def submit(
    conn: asyncpg.Connection,
    user_id: int,
    new: NewAllocationRequest,
    *,
    settings: Settings,
    now: dt.datetime,
) -> AllocationRequestOut:
    """A pending request for the night's allocation, or a problem that changes nothing."""
    tz = settings.tz
    residency = await require_verified(conn, user_id)
    vehicle = await vehicle_of(conn, user_id, new.vehicle_id)
    cutoff = cutoff_at(new.night, settings)
    if now >= cutoff:
        raise _past_cutoff(new.night, cutoff, tz, "made")
    existing = await repository.current_for_night(conn, user_id, new.night)
    if existing is not None:
        raise _exists(new.night, existing.id)
    arrive, depart = await _stay(conn, new, (residency.lat, residency.lon), now, tz, cutoff)
    created = await repository.insert_request(
        conn,
        user_id=user_id,
        vehicle_id=vehicle.id,
        plate=vehicle.plate,
        night=new.night,
        arrive=arrive,
        depart=depart,
        max_walk_m=new.max_walk_m,
        max_price_fen=new.max_price_fen,
        needs=list(new.needs),
        at=now,
    )
    if created is None:
        # Another submission for the night committed since the look above.
        existing = await repository.current_for_night(conn, user_id, new.night)
        raise _exists(new.night, existing.id if existing else None)
    return await _out(conn, created, settings)


def _exists(night: dt.date, request_id: int | None) -> Problem:
    return Problem(
        409,
        "request-exists",
        f"You already have a request for night {night.isoformat()}; withdraw it before the "
        "cutoff to ask again differently.",
        extra={"request_id": request_id} if request_id is not None else None,
    )


async def _own(
    conn: asyncpg.Connection, user_id: int, request_id: int, *, lock: bool = False
) -> AllocationRequest:
    found = await repository.get_request(conn, request_id, lock=lock)
    if found is None or found.user_id != user_id:
        raise Problem(404, "not-found", f"You have no allocation request {request_id}.")
    return found


async def get_own(
    conn: asyncpg.Connection, user_id: int, request_id: int, settings: Settings
) -> AllocationRequestOut:
    return await _out(conn, await _own(conn, user_id, request_id), settings)


async def list_own(
    conn: asyncpg.Connection,
    user_id: int,
    *,
    night: dt.date | None,
    limit: int,
    offset: int,
    settings: Settings,
) -> list[AllocationRequestOut]:
    found = await repository.list_for_user(conn, user_id, night=night, limit=limit, offset=offset)
    return [await _out(conn, r, settings) for r in found]


async def withdraw_own(
    conn: asyncpg.Connection,
    user_id: int,
    request_id: int,
    *,
    settings: Settings,
    now: dt.datetime,
) -> AllocationRequestOut:
    """Withdraw a pending request before its night's cutoff; again: its current state."""
    current = await _own(conn, user_id, request_id, lock=True)
    if current.status == "withdrawn":
        return await _out(conn, current, settings)
    if current.status != "pending":
        raise Problem(
            409,
            "already-decided",
            f"The allocation already decided this request ({current.status.replace('_', ' ')}).",
            extra={"request_status": current.status},
        )
    cutoff = cutoff_at(current.night, settings)
    if now >= cutoff:
        raise _past_cutoff(current.night, cutoff, settings.tz, "withdrawn")
    withdrawn = await repository.withdraw(conn, current.id, now)
    assert withdrawn is not None  # the row lock above keeps it pending
    return await _out(conn, withdrawn, settings)
