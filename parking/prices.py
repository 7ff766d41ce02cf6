"""The price plan of a building for a night, as ``pricing`` needs it.

Until price plans are stored as versions, a building's plan is built from its
interim columns: ``flat_fee_fen`` (per use) and ``monthly_pass_fen`` (when set,
the building is in monthly mode and sells passes). Callers only see
``PricePlan`` values, so stored versions can replace this without touching them.
"""

from __future__ import annotations

import datetime as dt

import asyncpg

from parking.errors import Problem
from pricing.plans import PlanMode, PricePlan, plan_in_force

__all__ = ["plan_for_night", "plans_of"]

_GET = "SELECT id, flat_fee_fen, monthly_pass_fen FROM buildings WHERE id = $1"


async def plans_of(conn: asyncpg.Connection, building_id: int) -> list[PricePlan]:
    """Every plan version of the building, oldest first."""
    row = await conn.fetchrow(_GET, building_id)
    if row is None:
        raise Problem(404, "not-found", f"There is no building {building_id}.")
    monthly = row["monthly_pass_fen"] is not None
    return [
        PricePlan(
            building_id=building_id,
            version=1,
            mode=PlanMode.MONTHLY if monthly else PlanMode.PER_USE,
            per_use_fee_fen=row["flat_fee_fen"],
            monthly_fee_fen=row["monthly_pass_fen"],
            effective_from=dt.date(2000, 1, 1),
        )
    ]


async def plan_for_night(conn: asyncpg.Connection, building_id: int, night: dt.date) -> PricePlan:
    """The plan in force on ``night``."""
    return plan_in_force(await plans_of(conn, building_id), night)
