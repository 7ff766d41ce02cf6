"""SQL for compounds, the residence whitelist, residencies and vehicles.

Functions take the connection first; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from parking.residents.schemas import (
    Compound,
    CompoundSummary,
    Residency,
    Vehicle,
    WhitelistEntry,
)

__all__ = [
    "all_compounds",
    "compound_ids_by_name",
    "count_vehicles",
    "count_whitelist",
    "delete_vehicle",
    "delete_whitelist_except",
    "find_whitelist_entry",
    "get_residency",
    "get_vehicle",
    "insert_compound",
    "insert_compounds",
    "insert_residency",
    "insert_vehicle",
    "insert_whitelist",
    "list_compounds",
    "list_vehicles",
    "list_whitelist",
    "lock_user",
    "lock_whitelist_imports",
    "set_phone_if_unset",
    "update_compound",
    "vehicle_in_use",
]

# Active claims on a space: the same list as the reservations exclusion constraints.
ACTIVE_RESERVATION_STATUSES = ("held", "confirmed", "checked_in")

_COMPOUND_COLUMNS = "id, name, lat, lon"
_LIST_COMPOUNDS = """
SELECT c.id, c.name, c.lat, c.lon, count(w.id) AS entries, count(r.user_id) AS verified
FROM compounds c
LEFT JOIN residence_whitelist w ON w.compound_id = c.id
LEFT JOIN residencies r ON r.whitelist_id = w.id
GROUP BY c.id
ORDER BY c.name
"""
_ALL_COMPOUNDS = f"SELECT {_COMPOUND_COLUMNS} FROM compounds ORDER BY name"
_INSERT_COMPOUND = f"""
INSERT INTO compounds (name, lat, lon) VALUES ($1, $2, $3) RETURNING {_COMPOUND_COLUMNS}
"""
# Several imports are serialised by a lock, but an admin may create the same compound by
# hand meanwhile: then the existing row is used.
_INSERT_COMPOUNDS = """
INSERT INTO compounds (name, lat, lon)
SELECT * FROM unnest($1::text[], $2::float8[], $3::float8[])
ON CONFLICT (name) DO NOTHING
RETURNING id
"""
_UPDATE_COMPOUND = f"""
UPDATE compounds
SET name = coalesce($2, name), lat = coalesce($3, lat), lon = coalesce($4, lon)
WHERE id = $1
RETURNING {_COMPOUND_COLUMNS}
"""
_COMPOUND_IDS = "SELECT name, id FROM compounds WHERE name = ANY($1::text[])"

# Imports of the whitelist run one at a time, so a replace sees no entry added meanwhile.
_LOCK_IMPORTS = "SELECT pg_advisory_xact_lock(hashtext('parking:residence_whitelist:import'))"
_INSERT_WHITELIST = """
INSERT INTO residence_whitelist (compound_id, unit, phone)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[])
ON CONFLICT (compound_id, unit, phone) DO NOTHING
RETURNING id
"""
# Residencies of removed entries go with them (ON DELETE CASCADE); they are counted from
# the statement's snapshot, which still has them.
_DELETE_WHITELIST_EXCEPT = """
WITH keep AS (
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[]) AS k (compound_id, unit, phone)
), gone AS (
    DELETE FROM residence_whitelist w
    WHERE NOT EXISTS (
        SELECT 1 FROM keep k
        WHERE k.compound_id = w.compound_id AND k.unit = w.unit AND k.phone = w.phone
    )
    RETURNING w.id
)
SELECT (SELECT count(*) FROM gone) AS removed,
       (SELECT count(*) FROM residencies r JOIN gone g ON g.id = r.whitelist_id) AS unverified
"""
_LIST_WHITELIST = """
SELECT w.id, w.compound_id, c.name AS compound_name, w.unit, w.phone, w.imported_at,
       EXISTS (SELECT 1 FROM residencies r WHERE r.whitelist_id = w.id) AS verified
FROM residence_whitelist w
JOIN compounds c ON c.id = w.compound_id
WHERE ($1::bigint IS NULL OR w.compound_id = $1)
ORDER BY c.name, w.unit, w.phone
LIMIT $2 OFFSET $3
"""
_COUNT_WHITELIST = """
SELECT count(*) FROM residence_whitelist WHERE ($1::bigint IS NULL OR compound_id = $1)
"""

_RESIDENCY = """
SELECT r.user_id, r.whitelist_id, w.compound_id, c.name AS compound_name, w.unit,
       c.lat, c.lon, r.verified_at
FROM residencies r
JOIN residence_whitelist w ON w.id = r.whitelist_id
JOIN compounds c ON c.id = w.compound_id
WHERE r.user_id = $1
"""
# NO KEY UPDATE: serialises this account's verification and vehicle changes without
# blocking other tables' foreign-key checks against the user.
_LOCK_USER = "SELECT phone FROM users WHERE id = $1 FOR NO KEY UPDATE"
_FIND_ENTRY = """
SELECT w.id, r.user_id AS used_by
FROM residence_whitelist w
JOIN compounds c ON c.id = w.compound_id
LEFT JOIN residencies r ON r.whitelist_id = w.id
WHERE ($1::bigint IS NULL OR c.id = $1) AND ($2::text IS NULL OR c.name = $2)
  AND w.unit = $3 AND w.phone = $4
"""
_INSERT_RESIDENCY = "INSERT INTO residencies (user_id, whitelist_id) VALUES ($1, $2)"
_SET_PHONE = "UPDATE users SET phone = $2 WHERE id = $1 AND phone IS NULL"

_VEHICLE_COLUMNS = "id, user_id, plate, new_energy, created_at"
_LIST_VEHICLES = f"SELECT {_VEHICLE_COLUMNS} FROM vehicles WHERE user_id = $1 ORDER BY id"
_COUNT_VEHICLES = "SELECT count(*) FROM vehicles WHERE user_id = $1"
_INSERT_VEHICLE = f"""
INSERT INTO vehicles (user_id, plate, new_energy) VALUES ($1, $2, $3)
RETURNING {_VEHICLE_COLUMNS}
"""
_GET_VEHICLE = f"SELECT {_VEHICLE_COLUMNS} FROM vehicles WHERE id = $1 AND user_id = $2"
# FOR UPDATE: a booking being made with this vehicle holds a KEY SHARE lock on it (its
# foreign key); waiting for it means the in-use check below sees that booking.
_LOCK_VEHICLE = _GET_VEHICLE + " FOR UPDATE"
# Checked in counts whatever the clock says (the car is inside, maybe overstaying); held
# and confirmed count until their stay ends. A pass of this or a later month holds the
# vehicle too.
_VEHICLE_IN_USE = """
SELECT EXISTS (
    SELECT 1 FROM reservations
    WHERE vehicle_id = $1
      AND (status = 'checked_in' OR (status = ANY($2::text[]) AND upper(stay) > now()))
) OR EXISTS (
    SELECT 1 FROM passes
    WHERE vehicle_id = $1 AND status = 'active'
      AND month >= date_trunc('month', now() AT TIME ZONE $3)::date
)
"""
_DELETE_VEHICLE = "DELETE FROM vehicles WHERE id = $1"


async def list_compounds(conn: asyncpg.Connection) -> list[CompoundSummary]:
    return [CompoundSummary.model_validate(dict(r)) for r in await conn.fetch(_LIST_COMPOUNDS)]


async def all_compounds(conn: asyncpg.Connection) -> list[Compound]:
    return [Compound.model_validate(dict(r)) for r in await conn.fetch(_ALL_COMPOUNDS)]


async def insert_compound(conn: asyncpg.Connection, name: str, lat: float, lon: float) -> Compound:
    row = await conn.fetchrow(_INSERT_COMPOUND, name, lat, lon)
    return Compound.model_validate(dict(row))


async def update_compound(
    conn: asyncpg.Connection,
    compound_id: int,
    *,
    name: str | None,
    lat: float | None,
    lon: float | None,
) -> Compound | None:
    row = await conn.fetchrow(_UPDATE_COMPOUND, compound_id, name, lat, lon)
    return Compound.model_validate(dict(row)) if row else None


async def compound_ids_by_name(conn: asyncpg.Connection, names: Sequence[str]) -> dict[str, int]:
    return {r["name"]: r["id"] for r in await conn.fetch(_COMPOUND_IDS, list(names))}


async def insert_compounds(
    conn: asyncpg.Connection, compounds: dict[str, tuple[float, float]]
) -> int:
    """Create the compounds that do not exist yet; returns how many were created."""
    names = list(compounds)
    rows = await conn.fetch(
        _INSERT_COMPOUNDS,
        names,
        [compounds[n][0] for n in names],
        [compounds[n][1] for n in names],
    )
    return len(rows)


async def lock_whitelist_imports(conn: asyncpg.Connection) -> None:
    """Held until the transaction ends."""
    await conn.execute(_LOCK_IMPORTS)


async def insert_whitelist(
    conn: asyncpg.Connection, entries: Sequence[tuple[int, str, str]]
) -> int:
    """Add (compound_id, unit, phone) entries not there yet; returns how many were added."""
    compound_ids, units, phones = _columns(entries)
    return len(await conn.fetch(_INSERT_WHITELIST, compound_ids, units, phones))


async def delete_whitelist_except(
    conn: asyncpg.Connection, entries: Sequence[tuple[int, str, str]]
) -> tuple[int, int]:
    """Remove every entry not among ``entries``: (entries removed, residencies removed)."""
    row = await conn.fetchrow(_DELETE_WHITELIST_EXCEPT, *_columns(entries))
    return row["removed"], row["unverified"]


async def list_whitelist(
    conn: asyncpg.Connection, compound_id: int | None, limit: int, offset: int
) -> list[WhitelistEntry]:
    rows = await conn.fetch(_LIST_WHITELIST, compound_id, limit, offset)
    return [WhitelistEntry.model_validate(dict(r)) for r in rows]


async def count_whitelist(conn: asyncpg.Connection, compound_id: int | None) -> int:
    return await conn.fetchval(_COUNT_WHITELIST, compound_id)


async def get_residency(conn: asyncpg.Connection, user_id: int) -> Residency | None:
    row = await conn.fetchrow(_RESIDENCY, user_id)
    return Residency.model_validate(dict(row)) if row else None


async def lock_user(conn: asyncpg.Connection, user_id: int) -> asyncpg.Record | None:
    """Lock the account's row until the transaction ends; its phone, or None if it is gone."""
    return await conn.fetchrow(_LOCK_USER, user_id)


async def find_whitelist_entry(
    conn: asyncpg.Connection,
    *,
    compound_id: int | None,
    compound: str | None,
    unit: str,
    phone: str,
) -> tuple[int, int | None] | None:
    """(entry id, the account verified with it or None), or None if nothing matches."""
    row = await conn.fetchrow(_FIND_ENTRY, compound_id, compound, unit, phone)
    return (row["id"], row["used_by"]) if row else None


async def insert_residency(conn: asyncpg.Connection, user_id: int, whitelist_id: int) -> None:
    await conn.execute(_INSERT_RESIDENCY, user_id, whitelist_id)


async def set_phone_if_unset(conn: asyncpg.Connection, user_id: int, phone: str) -> None:
    await conn.execute(_SET_PHONE, user_id, phone)


async def list_vehicles(conn: asyncpg.Connection, user_id: int) -> list[Vehicle]:
    return [Vehicle.model_validate(dict(r)) for r in await conn.fetch(_LIST_VEHICLES, user_id)]


async def count_vehicles(conn: asyncpg.Connection, user_id: int) -> int:
    return await conn.fetchval(_COUNT_VEHICLES, user_id)


async def insert_vehicle(
    conn: asyncpg.Connection, user_id: int, plate: str, new_energy: bool
) -> Vehicle:
    row = await conn.fetchrow(_INSERT_VEHICLE, user_id, plate, new_energy)
    return Vehicle.model_validate(dict(row))


async def get_vehicle(
    conn: asyncpg.Connection, user_id: int, vehicle_id: int, *, lock: bool = False
) -> Vehicle | None:
    row = await conn.fetchrow(_LOCK_VEHICLE if lock else _GET_VEHICLE, vehicle_id, user_id)
    return Vehicle.model_validate(dict(row)) if row else None


async def vehicle_in_use(conn: asyncpg.Connection, vehicle_id: int, timezone: str) -> bool:
    """An active reservation now or later, or an active pass of this or a later month."""
    return await conn.fetchval(
        _VEHICLE_IN_USE, vehicle_id, list(ACTIVE_RESERVATION_STATUSES), timezone
    )


async def delete_vehicle(conn: asyncpg.Connection, vehicle_id: int) -> None:
    await conn.execute(_DELETE_VEHICLE, vehicle_id)


def _columns(entries: Sequence[tuple[int, str, str]]) -> tuple[list[int], list[str], list[str]]:
    return [e[0] for e in entries], [e[1] for e in entries], [e[2] for e in entries]
