"""SQL for buildings, spaces and the search's candidates. The caller owns the transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import asyncpg
from pydantic import BaseModel

from parking.places.schemas import Building, FeatureCounts, Space

__all__ = [
    "Candidate",
    "active_reservation_ids",
    "candidates_in_box",
    "delete_space",
    "get_building",
    "get_space",
    "has_reservations",
    "insert_building",
    "insert_spaces",
    "is_manager",
    "list_buildings",
    "list_spaces",
    "update_building",
    "update_space",
]

# A building with the counts its answers carry; one aggregate per building over its spaces.
_BUILDING_SELECT = """
SELECT b.id, b.district_place_id, b.manager_id, b.name, b.address, b.lat, b.lon, b.status,
       b.created_at, b.updated_at,
       s.spaces, s.shared_spaces, s.shared_ev, s.shared_large, s.shared_accessible
FROM buildings b
CROSS JOIN LATERAL (
    SELECT count(*) AS spaces,
           count(*) FILTER (WHERE shared) AS shared_spaces,
           count(*) FILTER (WHERE shared AND 'ev' = ANY (features)) AS shared_ev,
           count(*) FILTER (WHERE shared AND 'large' = ANY (features)) AS shared_large,
           count(*) FILTER (WHERE shared AND 'accessible' = ANY (features)) AS shared_accessible
    FROM spaces WHERE building_id = b.id
) s
"""
_GET_BUILDING = _BUILDING_SELECT + "WHERE b.id = $1"
_LIST_BUILDINGS = _BUILDING_SELECT + "WHERE ($1::bigint IS NULL OR b.manager_id = $1) ORDER BY b.id"
_INSERT_BUILDING = """
INSERT INTO buildings (district_place_id, manager_id, name, address, lat, lon,
                       flat_fee_fen, monthly_pass_fen)  -- deprecated; NULL: no plan from them
VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL)
RETURNING id
"""
# The caller holds the row lock and passes every column, changed or not.
_UPDATE_BUILDING = """
UPDATE buildings
SET name = $2, address = $3, lat = $4, lon = $5, status = $6, updated_at = now()
WHERE id = $1
"""
_IS_MANAGER = "SELECT EXISTS (SELECT 1 FROM users WHERE id = $1 AND role = 'manager')"

_SPACE_COLUMNS = "id, building_id, label, level, features, shared"
_LIST_SPACES = f"SELECT {_SPACE_COLUMNS} FROM spaces WHERE building_id = $1 ORDER BY label, id"
_GET_SPACE = f"SELECT {_SPACE_COLUMNS} FROM spaces WHERE id = $2 AND building_id = $1"
_INSERT_SPACES = f"""
INSERT INTO spaces (building_id, label, level, features, shared)
SELECT $1, label, $3, $4::text[], $5 FROM unnest($2::text[]) WITH ORDINALITY AS l (label, n)
ORDER BY n
RETURNING {_SPACE_COLUMNS}
"""
_UPDATE_SPACE = f"""
UPDATE spaces SET label = $2, level = $3, features = $4::text[], shared = $5
WHERE id = $1
RETURNING {_SPACE_COLUMNS}
"""
_DELETE_SPACE = "DELETE FROM spaces WHERE id = $1"
# Claims that still hold the space: active and not yet over.
_ACTIVE_RESERVATIONS = """
SELECT id FROM reservations
WHERE space_id = $1 AND status IN ('held', 'confirmed', 'checked_in') AND upper(stay) > $2
ORDER BY id
"""
_HAS_RESERVATIONS = "SELECT EXISTS (SELECT 1 FROM reservations WHERE space_id = $1)"

# The box test is the GiST index buildings_location's expression and operator, so the
# index answers it; the exact distance is computed afterwards on the few rows it returns.
_CANDIDATES_IN_BOX = """
SELECT id, district_place_id, name, address, lat, lon
FROM buildings
WHERE point(lon, lat) <@ box(point($1, $2), point($3, $4)) AND status = 'active'
"""


class Candidate(BaseModel):
    """An active building inside the search's bounding box."""

    id: int
    district_place_id: str
    name: str
    address: str
    lat: float
    lon: float


def _building(row: asyncpg.Record) -> Building:
    values = dict(row)
    values["shared_features"] = FeatureCounts(
        ev=values.pop("shared_ev"),
        large=values.pop("shared_large"),
        accessible=values.pop("shared_accessible"),
    )
    return Building.model_validate(values)


async def insert_building(
    conn: asyncpg.Connection,
    *,
    district_place_id: str,
    manager_id: int,
    name: str,
    address: str,
    lat: float,
    lon: float,
) -> int:
    return await conn.fetchval(
        _INSERT_BUILDING,
        district_place_id,
        manager_id,
        name,
        address,
        lat,
        lon,
    )


async def get_building(conn: asyncpg.Connection, building_id: int) -> Building | None:
    row = await conn.fetchrow(_GET_BUILDING, building_id)
    return _building(row) if row else None


async def list_buildings(conn: asyncpg.Connection, manager_id: int | None) -> list[Building]:
    return [_building(r) for r in await conn.fetch(_LIST_BUILDINGS, manager_id)]


async def update_building(conn: asyncpg.Connection, building: Building) -> None:
    """Write the building's editable columns as given (the caller holds the row lock)."""
    await conn.execute(
        _UPDATE_BUILDING,
        building.id,
        building.name,
        building.address,
        building.lat,
        building.lon,
        building.status,
    )


async def is_manager(conn: asyncpg.Connection, user_id: int) -> bool:
    return await conn.fetchval(_IS_MANAGER, user_id)


async def list_spaces(conn: asyncpg.Connection, building_id: int) -> list[Space]:
    return [Space.model_validate(dict(r)) for r in await conn.fetch(_LIST_SPACES, building_id)]


async def get_space(conn: asyncpg.Connection, building_id: int, space_id: int) -> Space | None:
    row = await conn.fetchrow(_GET_SPACE, building_id, space_id)
    return Space.model_validate(dict(row)) if row else None


async def insert_spaces(
    conn: asyncpg.Connection,
    building_id: int,
    labels: Sequence[str],
    *,
    level: str,
    features: Sequence[str],
    shared: bool,
) -> list[Space]:
    rows = await conn.fetch(
        _INSERT_SPACES, building_id, list(labels), level, list(features), shared
    )
    return [Space.model_validate(dict(r)) for r in rows]


async def update_space(conn: asyncpg.Connection, space: Space) -> Space:
    row = await conn.fetchrow(
        _UPDATE_SPACE, space.id, space.label, space.level, list(space.features), space.shared
    )
    return Space.model_validate(dict(row))


async def delete_space(conn: asyncpg.Connection, space_id: int) -> None:
    await conn.execute(_DELETE_SPACE, space_id)


async def active_reservation_ids(
    conn: asyncpg.Connection, space_id: int, now: dt.datetime
) -> list[int]:
    return [r["id"] for r in await conn.fetch(_ACTIVE_RESERVATIONS, space_id, now)]


async def has_reservations(conn: asyncpg.Connection, space_id: int) -> bool:
    return await conn.fetchval(_HAS_RESERVATIONS, space_id)


async def candidates_in_box(
    conn: asyncpg.Connection, south: float, west: float, north: float, east: float
) -> list[Candidate]:
    """Active buildings with ``west <= lon <= east`` and ``south <= lat <= north``."""
    rows = await conn.fetch(_CANDIDATES_IN_BOX, west, south, east, north)
    return [Candidate.model_validate(dict(r)) for r in rows]
