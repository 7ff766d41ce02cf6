"""SQL for residents' allocation requests. Functions take the connection first; the caller
owns the transaction. The night job's own reads and writes are in ``allocator.repository``.
"""

from __future__ import annotations

import datetime as dt

import asyncpg

from parking.requests.schemas import AllocationRequest

__all__ = [
    "COLUMNS",
    "current_for_night",
    "get_request",
    "insert_request",
    "list_for_user",
    "request_from_row",
    "sharing_buildings",
    "withdraw",
]

# Every column, with the stay split into its bounds; use in RETURNING clauses too.
COLUMNS = """id, user_id, vehicle_id, plate, night, lower(stay) AS arrive, upper(stay) AS depart,
    max_walk_m, max_price_fen, needs, status, not_allocated_reason, weight, reservation_id,
    run_id, created_at, decided_at"""

# DO NOTHING on allocation_requests_one_per_night: no row means the resident already has
# a request for that night (the index is the rule, so two submissions at once cannot both
# pass a check made beforehand).
_INSERT = f"""
INSERT INTO allocation_requests (user_id, vehicle_id, plate, night, stay, max_walk_m,
                                 max_price_fen, needs, created_at)
VALUES ($1, $2, $3, $4, tstzrange($5, $6), $7, $8, $9, $10)
ON CONFLICT DO NOTHING
RETURNING {COLUMNS}
"""
_GET = f"SELECT {COLUMNS} FROM allocation_requests WHERE id = $1"
# The night job locks a night's pending requests while it decides them; a withdrawal
# waits for it and then sees the decision.
_GET_FOR_UPDATE = _GET + " FOR UPDATE"
_CURRENT = f"""
SELECT {COLUMNS} FROM allocation_requests
WHERE user_id = $1 AND night = $2 AND status <> 'withdrawn'
"""
_LIST = f"""
SELECT {COLUMNS} FROM allocation_requests
WHERE user_id = $1 AND ($2::date IS NULL OR night = $2)
ORDER BY night DESC, id DESC
LIMIT $3 OFFSET $4
"""
# Uses spaces_building_shared.
_SHARING = """
SELECT DISTINCT building_id FROM spaces WHERE shared AND building_id = ANY($1::bigint[])
"""
_WITHDRAW = f"""
UPDATE allocation_requests SET status = 'withdrawn', decided_at = $2
WHERE id = $1 AND status = 'pending'
RETURNING {COLUMNS}
"""


def request_from_row(row: asyncpg.Record) -> AllocationRequest:
    return AllocationRequest.model_validate(dict(row))


async def insert_request(
    conn: asyncpg.Connection,
    *,
    user_id: int,
    vehicle_id: int,
    plate: str,
    night: dt.date,
    arrive: dt.datetime,
    depart: dt.datetime,
    max_walk_m: int,
    max_price_fen: int,
    needs: list[str],
    at: dt.datetime,
) -> AllocationRequest | None:
    """The new pending request, or None when the resident has one for that night already."""
    row = await conn.fetchrow(
        _INSERT,
        user_id,
        vehicle_id,
        plate,
        night,
        arrive,
        depart,
        max_walk_m,
        max_price_fen,
        needs,
        at,
    )
    return request_from_row(row) if row else None


async def current_for_night(
    conn: asyncpg.Connection, user_id: int, night: dt.date
) -> AllocationRequest | None:
    """The resident's request for the night that is not withdrawn, if any."""
    row = await conn.fetchrow(_CURRENT, user_id, night)
    return request_from_row(row) if row else None


async def get_request(
    conn: asyncpg.Connection, request_id: int, *, lock: bool = False
) -> AllocationRequest | None:
    row = await conn.fetchrow(_GET_FOR_UPDATE if lock else _GET, request_id)
    return request_from_row(row) if row else None


async def list_for_user(
    conn: asyncpg.Connection, user_id: int, *, night: dt.date | None, limit: int, offset: int
) -> list[AllocationRequest]:
    """The resident's requests, latest night first."""
    rows = await conn.fetch(_LIST, user_id, night, limit, offset)
    return [request_from_row(r) for r in rows]


async def withdraw(
    conn: asyncpg.Connection, request_id: int, at: dt.datetime
) -> AllocationRequest | None:
    """The request withdrawn at ``at``, or None when it was no longer pending."""
    row = await conn.fetchrow(_WITHDRAW, request_id, at)
    return request_from_row(row) if row else None


async def sharing_buildings(conn: asyncpg.Connection, building_ids: list[int]) -> set[int]:
    """Those of the buildings that have at least one shared space."""
    return {r["building_id"] for r in await conn.fetch(_SHARING, building_ids)}
