"""The price plan of a building for a night, as ``pricing`` needs it.

Until price plans are stored as versions, a building's plan is built from its
interim columns: ``flat_fee_fen`` (per use) and ``monthly_pass_fen`` (when set,
the building is in monthly mode and sells passes). Callers only see
``PricePlan`` values, so stored versions can replace this without touching them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

import asyncpg

from parking.errors import Problem
from pricing.plans import PlanMode, PricePlan, plan_in_force

__all__ = ["plan_for_night", "plans_by_building", "plans_from_columns", "plans_of"]

_GET_MANY = "SELECT id, flat_fee_fen, monthly_pass_fen FROM buildings WHERE id = ANY($1::bigint[])"


async def plans_by_building(
    conn: asyncpg.Connection, building_ids: Collection[int]
) -> dict[int, list[PricePlan]]:
    """Every plan version of each building, oldest first, in one query; unknown ids are absent."""
    return {
        row["id"]: plans_from_columns(row["id"], row["flat_fee_fen"], row["monthly_pass_fen"])
        for row in await conn.fetch(_GET_MANY, list(building_ids))
    }


def plans_from_columns(
    building_id: int, flat_fee_fen: int | None, monthly_pass_fen: int | None
) -> list[PricePlan]:
    """The plan versions of a building from its columns, for a caller that read the row
    already (a booking, which locks it)."""
    monthly = monthly_pass_fen is not None
    return [
        PricePlan(
            building_id=building_id,
            version=1,
            mode=PlanMode.MONTHLY if monthly else PlanMode.PER_USE,
            per_use_fee_fen=flat_fee_fen,
            monthly_fee_fen=monthly_pass_fen,
            effective_from=dt.date(2000, 1, 1),
        )
    ]


async def plans_of(conn: asyncpg.Connection, building_id: int) -> list[PricePlan]:
    """Every plan version of the building, oldest first."""
    plans = await plans_by_building(conn, [building_id])
    if building_id not in plans:
        raise Problem(404, "not-found", f"There is no building {building_id}.")
    return plans[building_id]


async def plan_for_night(conn: asyncpg.Connection, building_id: int, night: dt.date) -> PricePlan:
    """The plan in force on ``night``."""
    return plan_in_force(await plans_of(conn, building_id), night)
