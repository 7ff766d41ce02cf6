"""Which shared spaces are free for a time: the one definition search, booking,
passes, availability messages and the allocator all use.

A space is free for ``[start, end)`` when it is shared, has every needed
feature, and no active claim (reservation or pass night) on it overlaps the
interval. Both queries find a building's active claims on the interval in one probe of
``reservations_building_active`` (the predicate is the exclusion constraint's).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import NamedTuple

import asyncpg

__all__ = [
    "ACTIVE_STATUSES",
    "Interval",
    "active_claims",
    "free_count_sql",
    "free_space_counts",
    "free_space_ids",
]

# Statuses that hold a space; the exclusion constraint uses the same list.
ACTIVE_STATUSES = ("held", "confirmed", "checked_in")


class Interval(NamedTuple):
    """A half-open interval ``[start, end)`` of one building's spaces."""

    building_id: int
    start: dt.datetime
    end: dt.datetime


def free_count_sql(building: str, starts: str, ends: str, needs: str) -> str:
    """The SQL expression counting a building's free spaces for ``[starts, ends)``.

    Its arguments are SQL expressions; statements that need the count alongside other
    figures (the availability message) embed it, so the definition stays this one.
    """
    return f"""(SELECT count(*)
        FROM spaces s
        WHERE s.building_id = {building} AND s.shared AND s.features @> {needs}
          -- The spaces the building's active claims on the interval name: one probe of
          -- reservations_building_active per building, not one per space.
          AND s.id <> ALL (ARRAY(
              SELECT r.space_id FROM reservations r
              WHERE r.building_id = {building}
                AND r.status IN ('held', 'confirmed', 'checked_in')
                AND r.stay && tstzrange({starts}, {ends}))))"""


_FREE_COUNTS = f"""
SELECT q.building_id, {free_count_sql("q.building_id", "q.starts", "q.ends", "$4::text[]")} AS free
FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[]) AS q (building_id, starts, ends)
"""

_FREE_IDS = """
SELECT s.id
FROM spaces s
WHERE s.building_id = $1 AND s.shared AND s.features @> $4::text[]
  AND ($5::bigint IS NULL OR s.id = $5)
  AND s.id <> ALL (ARRAY(
      SELECT r.space_id FROM reservations r
      WHERE r.building_id = $1
        AND r.status IN ('held', 'confirmed', 'checked_in')
        AND r.stay && tstzrange($2, $3)))
-- Spaces with fewer features first, so EV and large spaces stay for those who need
-- them; random among equals, so concurrent bookings rarely reach for the same one.
ORDER BY cardinality(s.features), random()
LIMIT $6
"""


async def free_space_counts(
    conn: asyncpg.Connection, intervals: Sequence[Interval], needs: Collection[str] = ()
) -> dict[int, int]:
    """Free spaces per building for each building's interval.

    A building listed twice gets the count of its last interval; callers pass one
    interval per building.
    """
    if not intervals:
        return {}
    rows = await conn.fetch(
        _FREE_COUNTS,
        [i.building_id for i in intervals],
        [i.start for i in intervals],
        [i.end for i in intervals],
        sorted(needs),
    )
    return {r["building_id"]: r["free"] for r in rows}


async def free_space_ids(
    conn: asyncpg.Connection,
    building_id: int,
    start: dt.datetime,
    end: dt.datetime,
    needs: Collection[str] = (),
    *,
    space_id: int | None = None,
    limit: int = 20,
) -> list[int]:
    """Up to ``limit`` free spaces of a building for ``[start, end)``, best to take first.

    With ``space_id``, only that space (if it is free and qualifies).
    """
    rows = await conn.fetch(_FREE_IDS, building_id, start, end, sorted(needs), space_id, limit)
    return [r["id"] for r in rows]


# The exclusion constraint's predicate, so reservations_building_active answers it.
_CLAIMS = """
SELECT r.space_id, lower(r.stay) AS start, upper(r.stay) AS "end"
FROM reservations r
WHERE r.building_id = ANY($1::bigint[])
  AND r.status IN ('held', 'confirmed', 'checked_in')
  AND r.stay && tstzrange($2, $3)
ORDER BY r.space_id, lower(r.stay)
"""


async def active_claims(
    conn: asyncpg.Connection, building_ids: Collection[int], start: dt.datetime, end: dt.datetime
) -> dict[int, list[tuple[dt.datetime, dt.datetime]]]:
    """Per space of these buildings, the active claims (bookings and pass nights) that
    overlap ``[start, end)``, as ``[start, end)`` pairs in order: what keeps a space from
    being free for any stay that meets them (the allocator's supply)."""
    claims: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {}
    for row in await conn.fetch(_CLAIMS, sorted(set(building_ids)), start, end):
        claims.setdefault(row["space_id"], []).append((row["start"], row["end"]))
    return claims
