"""Use cases for a building's sharing schedule: rules, blackouts, and the windows they give.

Every change locks the building row, so changes of one building's schedule never
interleave; a change that would strand active reservations outside the windows is
refused (409 ``window-conflicts``) unless the caller asks to cancel them without
fee; availability is republished for the affected nights within the horizon.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar
from zoneinfo import ZoneInfo

import asyncpg

from parking import sync
from parking.errors import Problem
from parking.offpeak import repository
from parking.offpeak.repository import ReservationStay
from parking.offpeak.schemas import (
    Blackout,
    NewBlackout,
    NewOffPeakRule,
    NightWindows,
    OffPeakRule,
    WindowProblem,
    WindowSpan,
)
from parking.places.access import require_building
from parking.reservations.service import cancel_by_operator
from parking.security import AuthUser
from parking.settings import Settings
from parking.windows import CalendarMissing, Window, load_window_results

__all__ = [
    "MAX_WINDOW_NIGHTS",
    "buildings_needing_year",
    "calendar_changed",
    "create_blackout",
    "create_rule",
    "delete_blackout",
    "delete_rule",
    "guarded_change",
    "list_blackouts",
    "list_rules",
    "reservations_needing_year",
    "windows_of_nights",
]

MAX_WINDOW_NIGHTS = 62
_DAY = dt.timedelta(days=1)

NightResult = tuple[Window, ...] | CalendarMissing
T = TypeVar("T")


async def list_rules(
    conn: asyncpg.Connection, user: AuthUser, building_id: int
) -> list[OffPeakRule]:
    await require_building(conn, user, building_id)
    return await repository.list_rules(conn, building_id)


async def create_rule(
    conn: asyncpg.Connection,
    user: AuthUser,
    building_id: int,
    new: NewOffPeakRule,
    *,
    settings: Settings,
    now: dt.datetime,
) -> OffPeakRule:
    """Add a rule; it only adds windows, so no reservation can conflict with it."""
    await require_building(conn, user, building_id, lock=True)
    rule = await repository.insert_rule(conn, building_id, new)
    await _publish(conn, building_id, rule.valid_from, rule.valid_until, settings=settings, now=now)
    return rule


async def delete_rule(
    conn: asyncpg.Connection,
    user: AuthUser,
    building_id: int,
    rule_id: int,
    *,
    cancel_reservations: bool,
    settings: Settings,
    now: dt.datetime,
) -> None:
    await require_building(conn, user, building_id, lock=True)
    rule = await repository.get_rule(conn, building_id, rule_id)
    if rule is None:
        raise Problem(404, "not-found", f"Building {building_id} has no off-peak rule {rule_id}.")
    tz = settings.tz
    claims = await repository.reservations_on_nights(
        conn, building_id, rule.valid_from, rule.valid_until, now=now
    )
    await guarded_change(
        conn,
        claims,
        lambda: repository.delete_rule(conn, building_id, rule_id),
        cancel=cancel_reservations,
        reason="The building no longer shares its spaces at this time.",
        now=now,
        tz=tz,
    )
    await _publish(conn, building_id, rule.valid_from, rule.valid_until, settings=settings, now=now)


async def list_blackouts(
    conn: asyncpg.Connection,
    user: AuthUser,
    building_id: int,
    *,
    include_past: bool,
    now: dt.datetime,
) -> list[Blackout]:
    await require_building(conn, user, building_id)
    return await repository.list_blackouts(conn, building_id, None if include_past else now)


async def create_blackout(
    conn: asyncpg.Connection,
    user: AuthUser,
    building_id: int,
    new: NewBlackout,
    *,
    settings: Settings,
    now: dt.datetime,
) -> Blackout:
    await require_building(conn, user, building_id, lock=True)
    tz = settings.tz
    claims = await repository.reservations_in_period(conn, building_id, new.start, new.end, now=now)
    reason = "The building needs its spaces" + (f": {new.reason}" if new.reason else ".")
    blackout = await guarded_change(
        conn,
        claims,
        lambda: repository.insert_blackout(conn, building_id, new),
        cancel=new.cancel_reservations,
        reason=reason,
        now=now,
        tz=tz,
    )
    first, last = _nights_touching(blackout.start, blackout.end, tz)
    await _publish(conn, building_id, first, last, settings=settings, now=now)
    return blackout


async def delete_blackout(
    conn: asyncpg.Connection,
    user: AuthUser,
    building_id: int,
    blackout_id: int,
    *,
    settings: Settings,
    now: dt.datetime,
) -> None:
    """Lift a blackout; it only gives windows back, so nothing can conflict."""
    await require_building(conn, user, building_id, lock=True)
    blackout = await repository.delete_blackout(conn, building_id, blackout_id)
    if blackout is None:
        raise Problem(404, "not-found", f"Building {building_id} has no blackout {blackout_id}.")
    first, last = _nights_touching(blackout.start, blackout.end, settings.tz)
    await _publish(conn, building_id, first, last, settings=settings, now=now)


async def windows_of_nights(
    conn: asyncpg.Connection,
    user: AuthUser,
    building_id: int,
    first: dt.date,
    nights: int,
    tz: ZoneInfo,
) -> list[NightWindows]:
    """Each night's windows; a night needing an unentered calendar year carries the problem."""
    await require_building(conn, user, building_id)
    days = [first + i * _DAY for i in range(nights)]
    results = await _windows_of(conn, building_id, set(days), tz)
    answer = []
    for night in days:
        result = results[night]
        if isinstance(result, CalendarMissing):
            problem = WindowProblem(detail=str(result), year=result.year)
            answer.append(NightWindows(night=night, windows=[], problem=problem))
        else:
            spans = [
                WindowSpan(start=w.start.astimezone(tz), end=w.end.astimezone(tz)) for w in result
            ]
            answer.append(NightWindows(night=night, windows=spans))
    return answer


async def buildings_needing_year(
    conn: asyncpg.Connection, year: int, *, settings: Settings, now: dt.datetime
) -> list[int]:
    """Buildings whose published nights (the horizon) need ``year``'s working days."""
    nights = [n for n in _horizon(settings, now) if n.year == year]
    if not nights:
        return []
    return await repository.buildings_with_calendar_rules(conn, nights[0], nights[-1])


async def reservations_needing_year(
    conn: asyncpg.Connection, year: int, *, now: dt.datetime, lock: bool = False
) -> list[ReservationStay]:
    """Active reservations whose windows depend on ``year``'s working and rest days.

    With ``lock``, first lock every building whose rules depend on the year, so that
    no booking of theirs commits unseen while the calendar changes.
    """
    if lock:
        first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
        buildings = await repository.buildings_with_calendar_rules(conn, first, last)
        await repository.lock_buildings(conn, buildings)
    return await repository.reservations_needing_calendar(
        conn, dt.date(year, 1, 1), dt.date(year, 12, 31), now=now
    )


async def calendar_changed(
    conn: asyncpg.Connection, year: int, *, settings: Settings, now: dt.datetime
) -> None:
    """Republish the nights of ``year`` whose windows depend on working or rest days."""
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    for building_id in await repository.buildings_with_calendar_rules(conn, first, last):
        await _publish(conn, building_id, first, last, settings=settings, now=now)


# --- helpers


async def _windows_of(
    conn: asyncpg.Connection, building_id: int, nights: set[dt.date], tz: ZoneInfo
) -> dict[dt.date, NightResult]:
    results = await load_window_results(conn, [building_id], nights, tz)
    return {night: value for (_, night), value in results.items()}


async def guarded_change(
    conn: asyncpg.Connection,
    claims: Sequence[ReservationStay],
    change: Callable[[], Awaitable[T]],
    *,
    cancel: bool,
    reason: str,
    now: dt.datetime,
    tz: ZoneInfo,
) -> T:
    """Make ``change`` unless it strands any of ``claims`` outside their building's windows.

    Stranded reservations make it a 409 ``window-conflicts`` (the caller's transaction
    then rolls the change back), or, with ``cancel``, are cancelled without fee.
    """
    before = await _claim_windows(conn, claims, tz)
    result = await change()
    after = await _claim_windows(conn, claims, tz)
    await _settle(
        conn, _stranded(claims, before, after), cancel=cancel, reason=reason, now=now, tz=tz
    )
    return result


async def _claim_windows(
    conn: asyncpg.Connection, claims: Sequence[ReservationStay], tz: ZoneInfo
) -> dict[tuple[int, dt.date], NightResult]:
    if not claims:
        return {}
    return await load_window_results(
        conn, {c.building_id for c in claims}, {c.night for c in claims}, tz
    )


def _inside(result: NightResult, claim: ReservationStay) -> bool:
    if isinstance(result, CalendarMissing):
        return False
    return any(w.contains(claim.start, claim.end) for w in result)


def _stranded(
    claims: Sequence[ReservationStay],
    before: dict[tuple[int, dt.date], NightResult],
    after: dict[tuple[int, dt.date], NightResult],
) -> list[int]:
    """Reservations inside the windows before the change and outside them after it.

    One already outside (or on a night whose calendar year is unknown) is not this
    change's doing, so it is left alone.
    """
    return sorted(
        c.id
        for c in claims
        if _inside(before[c.building_id, c.night], c)
        and not _inside(after[c.building_id, c.night], c)
    )


async def _settle(
    conn: asyncpg.Connection,
    reservation_ids: list[int],
    *,
    cancel: bool,
    reason: str,
    now: dt.datetime,
    tz: ZoneInfo,
) -> None:
    if not reservation_ids:
        return
    if not cancel:
        raise Problem(
            409,
            "window-conflicts",
            f"{len(reservation_ids)} active reservation(s) would fall outside the building's "
            f"windows; repeat with cancel_reservations to cancel them without fee.",
            extra={"reservation_ids": reservation_ids},
        )
    await cancel_by_operator(conn, reservation_ids, reason=reason, at=now, tz=tz)


def _nights_touching(start: dt.datetime, end: dt.datetime, tz: ZoneInfo) -> tuple[dt.date, dt.date]:
    """The nights whose windows can overlap ``[start, end)``.

    A night's windows lie within its own local day and the next, so the night
    before the start's local date can reach into the period too.
    """
    last_instant = end - dt.timedelta(microseconds=1)
    return start.astimezone(tz).date() - _DAY, last_instant.astimezone(tz).date()


async def _publish(
    conn: asyncpg.Connection,
    building_id: int,
    first: dt.date,
    last: dt.date | None,
    *,
    settings: Settings,
    now: dt.datetime,
) -> None:
    """Republish availability of the nights in ``first`` .. ``last`` that are in the horizon.

    A night that needs a calendar year nobody has entered has no availability to
    publish; the admin's entry of that year publishes it (``calendar_changed``).
    """
    nights = [n for n in _horizon(settings, now) if first <= n and (last is None or n <= last)]
    if not nights:
        return
    results = await _windows_of(conn, building_id, set(nights), settings.tz)
    known = [n for n in nights if not isinstance(results[n], CalendarMissing)]
    if known:
        await sync.emit_availability(conn, building_id, known, settings.tz)


def _horizon(settings: Settings, now: dt.datetime) -> list[dt.date]:
    return sync.horizon(now.astimezone(settings.tz).date(), settings)
