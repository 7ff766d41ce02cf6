"""SQL for plan versions, the charge ledger and the advisor's usage. The caller owns the
transaction; rows become ``pricing`` values here and nowhere else."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

import asyncpg
from pydantic import BaseModel

from pricing.charges import Charge, ChargeKind
from pricing.plans import PricePlan

__all__ = [
    "NewCharge",
    "StoredCharge",
    "announce_due_rates",
    "charge_with_refunds",
    "charges_of_user",
    "get_charge",
    "insert_charge",
    "insert_plan",
    "latest_version",
    "plan_by_id",
    "plan_from_json",
    "plans_by_building",
    "revenue_by_month_and_kind",
    "withdraw_plan",
]

PLAN_COLUMNS = """id AS plan_id, building_id, version, mode, per_use_fee_fen, monthly_fee_fen,
    overstay_fen_per_hour, overstay_grace_minutes, no_show_fee_fen, free_cancel_minutes,
    late_cancel_fee_fen, effective_from, withdrawn_at"""

# A building's versions as one JSON array, oldest first, for a query that reads the
# building anyway (a booking): the plan then costs no round trip of its own.
PLANS_JSON = """(SELECT coalesce(jsonb_agg(jsonb_build_object(
        'plan_id', p.id, 'building_id', p.building_id, 'version', p.version, 'mode', p.mode,
        'per_use_fee_fen', p.per_use_fee_fen, 'monthly_fee_fen', p.monthly_fee_fen,
        'overstay_fen_per_hour', p.overstay_fen_per_hour,
        'overstay_grace_minutes', p.overstay_grace_minutes,
        'no_show_fee_fen', p.no_show_fee_fen, 'free_cancel_minutes', p.free_cancel_minutes,
        'late_cancel_fee_fen', p.late_cancel_fee_fen, 'effective_from', p.effective_from,
        'withdrawn_at', p.withdrawn_at) ORDER BY p.version), '[]'::jsonb)
    FROM price_plans p WHERE p.building_id = {building})"""

_PLANS_OF = f"""
SELECT {PLAN_COLUMNS} FROM price_plans
WHERE building_id = ANY($1::bigint[])
ORDER BY building_id, version
"""
_PLAN_BY_ID = f"SELECT {PLAN_COLUMNS} FROM price_plans WHERE id = $1"
_LATEST_VERSION = "SELECT coalesce(max(version), 0) FROM price_plans WHERE building_id = $1"
_INSERT_PLAN = f"""
INSERT INTO price_plans (building_id, version, mode, per_use_fee_fen, monthly_fee_fen,
                         overstay_fen_per_hour, overstay_grace_minutes, no_show_fee_fen,
                         free_cancel_minutes, late_cancel_fee_fen, effective_from, created_by,
                         created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
RETURNING {PLAN_COLUMNS}
"""
# The status test makes a second withdrawal (or a race of two) change nothing.
_WITHDRAW = f"""
UPDATE price_plans SET withdrawn_at = $2
WHERE id = $1 AND withdrawn_at IS NULL
RETURNING {PLAN_COLUMNS}
"""

_CHARGE_COLUMNS = """id, kind, amount_fen, user_id, building_id, reservation_id, pass_id,
    session_id, refund_of, plan_id, plan_version, night, occurred_at, created_by, reason"""
# ON CONFLICT DO NOTHING: the unique indexes make a repeated event charge nothing again.
_INSERT_CHARGE = f"""
INSERT INTO charges (kind, amount_fen, user_id, building_id, reservation_id, pass_id,
                     session_id, refund_of, plan_id, plan_version, night, occurred_at,
                     created_by, reason)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
ON CONFLICT DO NOTHING
RETURNING {_CHARGE_COLUMNS}
"""
_GET_CHARGE = f"SELECT {_CHARGE_COLUMNS} FROM charges WHERE id = $1"
# The charge locked, so refunds of it are written one after another and never exceed it.
_CHARGE_WITH_REFUNDS = f"""
SELECT {_CHARGE_COLUMNS} FROM charges WHERE id = $1 OR refund_of = $1 ORDER BY id
"""
_LOCK_CHARGE = "SELECT id FROM charges WHERE id = $1 FOR UPDATE"
_CHARGES_OF_USER = f"""
SELECT {_CHARGE_COLUMNS} FROM charges
WHERE user_id = $1 AND ($2::timestamptz IS NULL OR occurred_at >= $2)
  AND ($3::timestamptz IS NULL OR occurred_at < $3)
ORDER BY occurred_at, id
LIMIT $4 OFFSET $5
"""
# Months in the local zone $4, recorded instants in [$2, $3).
_REVENUE = """
SELECT date_trunc('month', occurred_at AT TIME ZONE $4)::date AS month, kind,
       sum(amount_fen)::bigint AS amount_fen, count(*) AS charges
FROM charges
WHERE building_id = $1 AND occurred_at >= $2 AND occurred_at < $3
GROUP BY 1, 2
ORDER BY 1, 2
"""

# Versions in force on or before $1 that were never announced, with their building's
# place id. SKIP LOCKED: several sweepers each announce a version once. NO KEY UPDATE, not
# UPDATE: a booking or pass being written with the version holds its foreign key's KEY
# SHARE lock, which FOR UPDATE conflicts with, so the sweep skipped a version exactly
# while it was selling (and bookings waited on the sweep).
_DUE_RATES = f"""
SELECT {PLAN_COLUMNS} FROM price_plans p
WHERE p.effective_from <= $1 AND p.withdrawn_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM rates_announcements a WHERE a.plan_id = p.id)
ORDER BY p.building_id, p.version
FOR NO KEY UPDATE SKIP LOCKED
"""
_ANNOUNCE = """
INSERT INTO rates_announcements (plan_id, announced_at)
SELECT unnest($1::bigint[]), $2
ON CONFLICT DO NOTHING
"""


def plan_from_json(value: dict[str, Any]) -> PricePlan:
    """A version from one element of ``PLANS_JSON``."""
    return PricePlan.model_validate(value)


def _plan(row: asyncpg.Record) -> PricePlan:
    return PricePlan.model_validate(dict(row))


async def plans_by_building(
    conn: asyncpg.Connection, building_ids: Collection[int]
) -> dict[int, list[PricePlan]]:
    """Every version of each building, oldest first, in one query; buildings without a
    version are absent."""
    plans: dict[int, list[PricePlan]] = {}
    for row in await conn.fetch(_PLANS_OF, list(building_ids)):
        plans.setdefault(row["building_id"], []).append(_plan(row))
    return plans


async def plan_by_id(conn: asyncpg.Connection, plan_id: int) -> PricePlan | None:
    row = await conn.fetchrow(_PLAN_BY_ID, plan_id)
    return _plan(row) if row else None


async def latest_version(conn: asyncpg.Connection, building_id: int) -> int:
    """The building's highest version, withdrawn or not (0: none)."""
    return await conn.fetchval(_LATEST_VERSION, building_id)


async def insert_plan(
    conn: asyncpg.Connection, plan: PricePlan, *, created_by: int | None, at: dt.datetime
) -> PricePlan:
    row = await conn.fetchrow(
        _INSERT_PLAN,
        plan.building_id,
        plan.version,
        plan.mode.value,
        plan.per_use_fee_fen,
        plan.monthly_fee_fen,
        plan.overstay_fen_per_hour,
        plan.overstay_grace_minutes,
        plan.no_show_fee_fen,
        plan.free_cancel_minutes,
        plan.late_cancel_fee_fen,
        plan.effective_from,
        created_by,
        at,
    )
    return _plan(row)


async def withdraw_plan(
    conn: asyncpg.Connection, plan_id: int, at: dt.datetime
) -> PricePlan | None:
    """The version withdrawn at ``at``, or None when it already was."""
    row = await conn.fetchrow(_WITHDRAW, plan_id, at)
    return _plan(row) if row else None


async def due_rates(conn: asyncpg.Connection, today: dt.date) -> list[PricePlan]:
    """Versions in force by ``today`` whose taking effect was never announced, locked."""
    return [_plan(r) for r in await conn.fetch(_DUE_RATES, today)]


async def announce_due_rates(
    conn: asyncpg.Connection, plan_ids: Sequence[int], at: dt.datetime
) -> None:
    """Record that these versions' taking effect has been sent."""
    await conn.execute(_ANNOUNCE, list(plan_ids), at)


class NewCharge(BaseModel):
    """A ledger row to append; exactly one of reservation, pass or session."""

    kind: ChargeKind
    amount_fen: int
    user_id: int | None
    building_id: int
    occurred_at: dt.datetime
    reservation_id: int | None = None
    pass_id: int | None = None
    session_id: int | None = None
    refund_of: int | None = None
    plan_id: int | None = None
    plan_version: int | None = None
    night: dt.date | None = None
    created_by: int | None = None
    reason: str | None = None


class StoredCharge(NewCharge):
    id: int

    def as_charge(self) -> Charge:
        """The ledger row as ``pricing.charges`` rules see it."""
        return Charge(
            kind=self.kind,
            amount_fen=self.amount_fen,
            created_at=self.occurred_at,
            night=self.night,
            charge_id=self.id,
            reservation_id=self.reservation_id,
            pass_id=self.pass_id,
            session_id=self.session_id,
            refund_of=self.refund_of,
        )


def _charge(row: asyncpg.Record) -> StoredCharge:
    return StoredCharge.model_validate(dict(row))


async def insert_charge(conn: asyncpg.Connection, new: NewCharge) -> StoredCharge | None:
    """The row appended, or None when the same event was charged already."""
    row = await conn.fetchrow(
        _INSERT_CHARGE,
        new.kind.value,
        new.amount_fen,
        new.user_id,
        new.building_id,
        new.reservation_id,
        new.pass_id,
        new.session_id,
        new.refund_of,
        new.plan_id,
        new.plan_version,
        new.night,
        new.occurred_at,
        new.created_by,
        new.reason,
    )
    return _charge(row) if row else None


async def get_charge(conn: asyncpg.Connection, charge_id: int) -> StoredCharge | None:
    row = await conn.fetchrow(_GET_CHARGE, charge_id)
    return _charge(row) if row else None


async def charge_with_refunds(conn: asyncpg.Connection, charge_id: int) -> list[StoredCharge]:
    """The charge (locked against concurrent refunds) and every refund of it so far."""
    await conn.execute(_LOCK_CHARGE, charge_id)
    return [_charge(r) for r in await conn.fetch(_CHARGE_WITH_REFUNDS, charge_id)]


async def charges_of_user(
    conn: asyncpg.Connection,
    user_id: int,
    *,
    occurred_from: dt.datetime | None,
    occurred_before: dt.datetime | None,
    limit: int | None = None,
    offset: int = 0,
) -> list[StoredCharge]:
    """The user's charges in recording order, optionally in ``[from, before)``."""
    rows = await conn.fetch(
        _CHARGES_OF_USER, user_id, occurred_from, occurred_before, limit, offset
    )
    return [_charge(r) for r in rows]


async def revenue_by_month_and_kind(
    conn: asyncpg.Connection,
    building_id: int,
    start: dt.datetime,
    end: dt.datetime,
    tz_name: str,
) -> list[asyncpg.Record]:
    """(month, kind, amount_fen, charges) of the building's ledger recorded in [start, end)."""
    return await conn.fetch(_REVENUE, building_id, start, end, tz_name)
