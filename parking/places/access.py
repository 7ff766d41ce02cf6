"""Who may act on a building: its manager and admins. Every building endpoint asks here.

Someone else's building answers 404, so managers cannot learn which ids exist.
"""

from __future__ import annotations

import asyncpg
from pydantic import BaseModel

from parking.errors import Problem
from parking.security import AuthUser

__all__ = ["BuildingRef", "require_building"]

_GET = "SELECT id, manager_id, district_place_id, status FROM buildings WHERE id = $1"
# Row lock for changes that must not interleave with another change of the building.
_GET_FOR_UPDATE = _GET + " FOR UPDATE"


class BuildingRef(BaseModel):
    id: int
    manager_id: int | None
    district_place_id: str
    status: str


async def require_building(
    conn: asyncpg.Connection, user: AuthUser, building_id: int, *, lock: bool = False
) -> BuildingRef:
    """The building if ``user`` manages it or is an admin, else a 404 problem."""
    if user.role not in ("admin", "manager"):
        raise Problem(403, "forbidden", "Your role may not do this.")
    row = await conn.fetchrow(_GET_FOR_UPDATE if lock else _GET, building_id)
    if row is None or (user.role != "admin" and row["manager_id"] != user.id):
        raise Problem(404, "not-found", f"There is no building {building_id} you manage.")
    return BuildingRef.model_validate(dict(row))
