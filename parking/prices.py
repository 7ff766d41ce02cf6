"""The price plan of a building for a night, as ``pricing`` needs it.

Plans are stored as immutable versions (``price_plans``, ``pricing.repository``); the
version in force on a night is ``pricing.plan_in_force`` over them, the one rule for
search, booking, passes and charges alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

import asyncpg

from parking.errors import Problem
from pricing import repository
from pricing.plans import NoPlanInForce, PricePlan, plan_in_force

__all__ = [
    "plan_for_night",
    "plans_by_building",
    "plans_from_json",
    "plans_in_force",
    "plans_of",
]


async def plans_by_building(
    conn: asyncpg.Connection, building_ids: Collection[int]
) -> dict[int, list[PricePlan]]:
    """Every plan version of each building, oldest first, in one query; unknown ids are absent."""
    return await repository.plans_by_building(conn, building_ids)


def plans_from_json(values: list[dict[str, Any]]) -> list[PricePlan]:
    """The versions of a building read along with it (``pricing.repository.PLANS_JSON``),
    for a caller that reads the row anyway (a booking, which locks it)."""
    return [repository.plan_from_json(value) for value in values]


async def plans_of(conn: asyncpg.Connection, building_id: int) -> list[PricePlan]:
    """Every plan version of the building, oldest first."""
    plans = await plans_by_building(conn, [building_id])
    if building_id not in plans:
        raise Problem(404, "not-found", f"There is no building {building_id}.")
    return plans[building_id]


async def plan_for_night(conn: asyncpg.Connection, building_id: int, night: dt.date) -> PricePlan:
    """The plan in force on ``night``."""
    return plan_in_force(await plans_of(conn, building_id), night)


async def plans_in_force(
    conn: asyncpg.Connection, building_ids: Collection[int], night: dt.date
) -> dict[int, PricePlan]:
    """The plan in force on ``night`` of each building, in one query; buildings with none
    that night are absent."""
    in_force: dict[int, PricePlan] = {}
    for building_id, plans in (await plans_by_building(conn, building_ids)).items():
        try:
            in_force[building_id] = plan_in_force(plans, night)
        except NoPlanInForce:
            continue
    return in_force
