"""What goes in and out of the plan, charge, statement, revenue and advice endpoints.

Input models reject unknown fields; money is strict integer fen (``1000.0`` is refused).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from pricing.charges import ChargeKind
from pricing.plans import PlanMode, PricePlan

__all__ = [
    "ChargeOut",
    "MonthRevenue",
    "NewPlan",
    "NewRefund",
    "PlanOut",
    "PlanSwitch",
    "RevenueReport",
]

Minutes = Annotated[StrictInt, Field(ge=0, le=7 * 24 * 60)]
PositiveFen = Annotated[StrictInt, Field(gt=0, le=100_000_000)]
# A plan's fees, at most 1,000,000 CNY: unbounded, a fee the ledger's bigint holds could
# still overflow it once multiplied (hours of overstay) or summed (a month's revenue).
PlanFen = Annotated[StrictInt, Field(ge=0, le=100_000_000)]


class NewPlan(BaseModel):
    """A new version of the building's plan; every term is given (nothing is copied)."""

    model_config = ConfigDict(extra="forbid")

    mode: PlanMode
    per_use_fee_fen: PlanFen | None = None
    monthly_fee_fen: PlanFen | None = None
    overstay_fen_per_hour: PlanFen = 0
    overstay_grace_minutes: Minutes = 0
    no_show_fee_fen: PlanFen = 0
    free_cancel_minutes: Minutes = 0
    late_cancel_fee_fen: PlanFen = 0
    effective_from: dt.date | None = Field(
        default=None,
        description="The first night it prices: after today; default the first day of "
        "next month (local).",
    )


class PlanSwitch(BaseModel):
    """Switch mode from a date, keeping the other terms of the version in force then."""

    model_config = ConfigDict(extra="forbid")

    mode: PlanMode
    per_use_fee_fen: PlanFen | None = Field(
        default=None, description="Default: the fee of the version in force then."
    )
    monthly_fee_fen: PlanFen | None = Field(
        default=None, description="Default: the fee of the version in force then."
    )
    effective_from: dt.date | None = Field(
        default=None, description="After today; default the first day of next month (local)."
    )


class PlanOut(BaseModel):
    building_id: int
    version: int
    mode: PlanMode
    per_use_fee_fen: int | None
    monthly_fee_fen: int | None
    overstay_fen_per_hour: int
    overstay_grace_minutes: int
    no_show_fee_fen: int
    free_cancel_minutes: int
    late_cancel_fee_fen: int
    effective_from: dt.date
    effective_from_at: dt.datetime
    withdrawn_at: dt.datetime | None
    status: str = Field(description="scheduled, in_force, superseded or withdrawn (tonight).")

    @classmethod
    def of(cls, plan: PricePlan, status: str, tz: dt.tzinfo) -> PlanOut:
        return cls(
            **plan.model_dump(exclude={"plan_id"}),
            effective_from_at=plan.effective_from_at(tz),
            status=status,
        )


class NewRefund(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount_fen: PositiveFen = Field(description="What is given back, in fen (positive).")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class ChargeOut(BaseModel):
    id: int
    kind: ChargeKind
    amount_fen: int
    building_id: int
    reservation_id: int | None
    pass_id: int | None
    session_id: int | None
    refund_of: int | None
    plan_version: int | None
    night: dt.date | None
    occurred_at: dt.datetime
    reason: str | None


class MonthRevenue(BaseModel):
    month: str = Field(description="YYYY-MM, the local month the charges were recorded in.")
    by_kind: dict[ChargeKind, int] = Field(description="Net fen per kind; refunds negative.")
    total_fen: int
    charges: int


class RevenueReport(BaseModel):
    building_id: int
    months: list[MonthRevenue]
