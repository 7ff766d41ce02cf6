"""SQL for the holiday calendar. Functions take the connection first; callers own transactions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import asyncpg

from parking.calendar.schemas import CalendarDay, CalendarYear, CoveredYear

__all__ = [
    "covered_years",
    "delete_year",
    "delete_year_days",
    "get_year",
    "insert_days",
    "insert_missing_years",
    "upsert_admin_year",
]

_GET_YEAR = "SELECT year, source, updated_at FROM calendar_years WHERE year = $1"
_YEAR_DAYS = """
SELECT day, kind, name FROM calendar_days
WHERE day >= make_date($1, 1, 1) AND day < make_date($1 + 1, 1, 1)
ORDER BY day
"""
_COVERED = """
SELECT y.year, y.source, y.updated_at,
       count(*) FILTER (WHERE d.kind = 'holiday') AS holidays,
       count(*) FILTER (WHERE d.kind = 'workday') AS workdays
FROM calendar_years y
LEFT JOIN calendar_days d
       ON d.day >= make_date(y.year, 1, 1) AND d.day < make_date(y.year + 1, 1, 1)
GROUP BY y.year
ORDER BY y.year
"""
# Concurrent seeders (several processes migrating) each get only the years they inserted.
_INSERT_MISSING_YEARS = """
INSERT INTO calendar_years (year, source)
SELECT unnest($1::int[]), 'package'
ON CONFLICT (year) DO NOTHING
RETURNING year
"""
_UPSERT_ADMIN_YEAR = """
INSERT INTO calendar_years (year, source) VALUES ($1, 'admin')
ON CONFLICT (year) DO UPDATE SET source = 'admin', updated_at = now()
"""
_DELETE_YEAR_DAYS = """
DELETE FROM calendar_days WHERE day >= make_date($1, 1, 1) AND day < make_date($1 + 1, 1, 1)
"""
_DELETE_YEAR = "DELETE FROM calendar_years WHERE year = $1 RETURNING year"
# Days left behind by an uncovered year are replaced by the year's new entry.
_INSERT_DAYS = """
INSERT INTO calendar_days (day, kind, name, source)
SELECT * FROM unnest($1::date[], $2::text[], $3::text[], $4::text[])
ON CONFLICT (day) DO UPDATE
SET kind = excluded.kind, name = excluded.name, source = excluded.source
"""


async def get_year(conn: asyncpg.Connection, year: int) -> CalendarYear:
    row = await conn.fetchrow(_GET_YEAR, year)
    if row is None:
        return CalendarYear(year=year, covered=False)
    days = [CalendarDay.model_validate(dict(r)) for r in await conn.fetch(_YEAR_DAYS, year)]
    return CalendarYear(
        year=year, covered=True, source=row["source"], updated_at=row["updated_at"], days=days
    )


async def covered_years(conn: asyncpg.Connection) -> list[CoveredYear]:
    return [CoveredYear.model_validate(dict(r)) for r in await conn.fetch(_COVERED)]


async def insert_missing_years(conn: asyncpg.Connection, years: Sequence[int]) -> list[int]:
    """Mark ``years`` covered by the package where absent; returns the years inserted."""
    return sorted(r["year"] for r in await conn.fetch(_INSERT_MISSING_YEARS, list(years)))


async def upsert_admin_year(conn: asyncpg.Connection, year: int) -> None:
    await conn.execute(_UPSERT_ADMIN_YEAR, year)


async def delete_year_days(conn: asyncpg.Connection, year: int) -> None:
    await conn.execute(_DELETE_YEAR_DAYS, year)


async def delete_year(conn: asyncpg.Connection, year: int) -> bool:
    """Uncover ``year`` and drop its days; False when it was not covered."""
    await delete_year_days(conn, year)
    return await conn.fetchval(_DELETE_YEAR, year) is not None


async def insert_days(
    conn: asyncpg.Connection, days: Sequence[tuple[dt.date, str, str]], source: str
) -> None:
    if not days:
        return
    await conn.execute(
        _INSERT_DAYS,
        [d for d, _, _ in days],
        [k for _, k, _ in days],
        [n for _, _, n in days],
        [source] * len(days),
    )
