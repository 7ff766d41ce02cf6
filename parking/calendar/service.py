"""Holiday-calendar use cases: seed from the chinesecalendar package, and the admin's edits.

A year is known whole or not at all. Seeding adds only years that are absent, so
a year an admin entered or corrected is never overwritten by the package.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

import asyncpg
import chinese_calendar

from parking.calendar import repository
from parking.calendar.schemas import CalendarDay, CalendarYear, CoveredYear
from parking.errors import Problem
from parking.offpeak.service import (
    buildings_needing_year,
    calendar_changed,
    guarded_change,
    reservations_needing_year,
)
from parking.settings import Settings

__all__ = [
    "calendar_status",
    "get_year",
    "package_years",
    "replace_year",
    "seed_calendar",
    "uncover_year",
]

# The package names holidays in English; the district reads Chinese.
_CHINESE_NAMES = {h.value: h.chinese for h in chinese_calendar.Holiday}


def package_years() -> dict[int, list[tuple[dt.date, str, str]]]:
    """The years the installed package knows, with their (day, kind, name) exceptions."""
    years: dict[int, list[tuple[dt.date, str, str]]] = defaultdict(list)
    for kind, days in (
        ("holiday", chinese_calendar.holidays),
        ("workday", chinese_calendar.workdays),
    ):
        for day, name in days.items():
            years[day.year].append((day, kind, _CHINESE_NAMES.get(name, name)))
    return {year: sorted(days) for year, days in sorted(years.items())}


async def seed_calendar(conn: asyncpg.Connection) -> list[int]:
    """Enter every year the package knows that the database lacks; returns those years."""
    known = package_years()
    async with conn.transaction():
        added = await repository.insert_missing_years(conn, list(known))
        await repository.insert_days(
            conn, [entry for year in added for entry in known[year]], "package"
        )
    return added


async def get_year(conn: asyncpg.Connection, year: int) -> CalendarYear:
    return await repository.get_year(conn, year)


async def calendar_status(conn: asyncpg.Connection) -> list[CoveredYear]:
    return await repository.covered_years(conn)


def _check_days(year: int, days: Sequence[CalendarDay]) -> None:
    seen: set[dt.date] = set()
    for entry in days:
        if entry.day.year != year:
            raise Problem(
                422,
                "day-outside-year",
                f"{entry.day.isoformat()} is not in {year}.",
                extra={"day": entry.day.isoformat()},
            )
        if entry.day in seen:
            raise Problem(
                422,
                "duplicate-day",
                f"{entry.day.isoformat()} is listed twice.",
                extra={"day": entry.day.isoformat()},
            )
        seen.add(entry.day)
        # A weekday is a working day already; only a weekend day can be worked in exchange.
        if entry.kind == "workday" and entry.day.isoweekday() < 6:
            raise Problem(
                422,
                "workday-not-weekend",
                f"{entry.day.isoformat()} is a weekday; an adjusted working day must be a "
                f"Saturday or Sunday.",
                extra={"day": entry.day.isoformat()},
            )


async def replace_year(
    conn: asyncpg.Connection,
    year: int,
    days: Sequence[CalendarDay],
    *,
    cancel_reservations: bool = False,
    settings: Settings,
    now: dt.datetime,
) -> CalendarYear:
    """Make ``days`` the whole of ``year``'s exceptions, entered by an admin.

    A correction that turns a booked night into one without sharing is refused
    (409 ``window-conflicts``) unless ``cancel_reservations``, which cancels those
    reservations without fee.
    """
    _check_days(year, days)

    async def enter() -> None:
        await repository.upsert_admin_year(conn, year)
        await repository.delete_year_days(conn, year)
        await repository.insert_days(conn, [(d.day, d.kind, d.name) for d in days], "admin")

    await guarded_change(
        conn,
        await reservations_needing_year(conn, year, now=now, lock=True),
        enter,
        cancel=cancel_reservations,
        reason=f"The official {year} holiday calendar was corrected.",
        now=now,
        tz=settings.tz,
    )
    await calendar_changed(conn, year, settings=settings, now=now)
    return await repository.get_year(conn, year)


async def uncover_year(
    conn: asyncpg.Connection, year: int, *, settings: Settings, now: dt.datetime
) -> None:
    """Forget ``year``: its working-day and rest-day rules become an error until re-entered.

    Refused (409 ``calendar-in-use``) while nights already published to the platform,
    or active reservations, depend on it: correct such a year with ``replace_year``. For a year the
    package knows, the next ``parking migrate`` seeds it again.
    """
    in_use = await buildings_needing_year(conn, year, settings=settings, now=now)
    booked = [r.id for r in await reservations_needing_year(conn, year, now=now, lock=True)]
    if in_use or booked:
        raise Problem(
            409,
            "calendar-in-use",
            f"Published nights of {len(in_use)} building(s) and {len(booked)} active "
            f"reservation(s) depend on the {year} calendar; enter the corrected calendar "
            f"instead of removing it.",
            extra={"building_ids": in_use, "reservation_ids": booked},
        )
    await repository.delete_year(conn, year)
