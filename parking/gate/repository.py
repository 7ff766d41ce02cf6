"""SQL for gate keys and gate sessions. Functions take the connection first; the caller
owns the transaction."""

from __future__ import annotations

import datetime as dt

import asyncpg

from parking.gate.schemas import GateSession

__all__ = [
    "building_of_key_hash",
    "close_session",
    "gate_key_hash",
    "get_session",
    "insert_session",
    "list_sessions",
    "lock_plate",
    "matching_reservation_id",
    "open_session",
    "set_gate_key_hash",
]

_SESSION_COLUMNS = """s.id, s.building_id, s.plate, s.entered_at, s.exited_at, s.reservation_id,
    r.status AS reservation_status, s.source"""

_SET_KEY_HASH = """
UPDATE buildings SET gate_key_hash = $2, updated_at = now() WHERE id = $1
"""
_GATE_KEY_HASH = "SELECT gate_key_hash FROM buildings WHERE id = $1"
_BUILDING_OF_KEY_HASH = "SELECT id FROM buildings WHERE gate_key_hash = $1"

# Gate reads of one car at one building queue behind each other, so a double read
# cannot make two sessions or check the same reservation in twice.
_LOCK_PLATE = "SELECT pg_advisory_xact_lock(hashtextextended('gate:' || $1 || ':' || $2, 0))"

_OPEN_SESSION = f"""
SELECT {_SESSION_COLUMNS}
FROM gate_sessions s LEFT JOIN reservations r ON r.id = s.reservation_id
WHERE s.building_id = $1 AND s.plate = $2 AND s.exited_at IS NULL
"""

# The protocol's rule: the confirmed reservation whose stay, from 30 minutes before its
# start to its end, contains the gate time. A stay that contains it outright wins over
# one that only its early margin reaches, then the earliest. The night bounds only let
# the (building_id, night) index narrow the search: a stay begins on its night (or just
# after midnight) and lasts at most a day or so.
_MATCHING_RESERVATION = """
SELECT id
FROM reservations
WHERE building_id = $1 AND plate = $2 AND status = 'confirmed'
  AND night BETWEEN $4::date - 2 AND $4::date + 1
  AND tstzrange(lower(stay) - interval '30 minutes', upper(stay)) @> $3::timestamptz
ORDER BY stay @> $3::timestamptz DESC, lower(stay)
LIMIT 1
-- Locked until the check-in: a cancellation or the no-show sweep cannot slip in between.
FOR UPDATE
"""

_INSERT_SESSION = """
INSERT INTO gate_sessions (building_id, plate, entered_at, reservation_id, source)
VALUES ($1, $2, $3, $4, $5)
RETURNING id
"""
_CLOSE_SESSION = "UPDATE gate_sessions SET exited_at = $2 WHERE id = $1"
_GET_SESSION = f"""
SELECT {_SESSION_COLUMNS}
FROM gate_sessions s LEFT JOIN reservations r ON r.id = s.reservation_id
WHERE s.id = $1
"""

_LIST_SESSIONS = f"""
SELECT {_SESSION_COLUMNS}
FROM gate_sessions s LEFT JOIN reservations r ON r.id = s.reservation_id
WHERE s.building_id = $1
  AND ($2::timestamptz IS NULL OR s.entered_at >= $2)
  AND ($3::timestamptz IS NULL OR s.entered_at < $3)
  AND ($4::boolean IS NULL OR (s.reservation_id IS NULL) = $4)
ORDER BY s.entered_at DESC, s.id DESC
LIMIT $5 OFFSET $6
"""


def _session(row: asyncpg.Record) -> GateSession:
    return GateSession.model_validate(dict(row))


async def set_gate_key_hash(conn: asyncpg.Connection, building_id: int, key_hash: str) -> None:
    await conn.execute(_SET_KEY_HASH, building_id, key_hash)


async def gate_key_hash(conn: asyncpg.Connection, building_id: int) -> str | None:
    return await conn.fetchval(_GATE_KEY_HASH, building_id)


async def building_of_key_hash(conn: asyncpg.Connection, key_hash: str) -> int | None:
    return await conn.fetchval(_BUILDING_OF_KEY_HASH, key_hash)


async def lock_plate(conn: asyncpg.Connection, building_id: int, plate: str) -> None:
    await conn.execute(_LOCK_PLATE, str(building_id), plate)


async def open_session(
    conn: asyncpg.Connection, building_id: int, plate: str
) -> GateSession | None:
    row = await conn.fetchrow(_OPEN_SESSION, building_id, plate)
    return _session(row) if row else None


async def matching_reservation_id(
    conn: asyncpg.Connection, building_id: int, plate: str, at: dt.datetime, local_day: dt.date
) -> int | None:
    return await conn.fetchval(_MATCHING_RESERVATION, building_id, plate, at, local_day)


async def get_session(conn: asyncpg.Connection, session_id: int) -> GateSession:
    return _session(await conn.fetchrow(_GET_SESSION, session_id))


async def insert_session(
    conn: asyncpg.Connection,
    *,
    building_id: int,
    plate: str,
    entered_at: dt.datetime,
    reservation_id: int | None,
    source: str,
) -> GateSession:
    session_id = await conn.fetchval(
        _INSERT_SESSION, building_id, plate, entered_at, reservation_id, source
    )
    return await get_session(conn, session_id)


async def close_session(
    conn: asyncpg.Connection, session_id: int, exited_at: dt.datetime
) -> GateSession:
    await conn.execute(_CLOSE_SESSION, session_id, exited_at)
    return await get_session(conn, session_id)


async def list_sessions(
    conn: asyncpg.Connection,
    building_id: int,
    *,
    entered_from: dt.datetime | None,
    entered_to: dt.datetime | None,
    unreserved: bool | None,
    limit: int,
    offset: int,
) -> list[GateSession]:
    rows = await conn.fetch(
        _LIST_SESSIONS, building_id, entered_from, entered_to, unreserved, limit, offset
    )
    return [_session(r) for r in rows]
