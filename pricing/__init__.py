"""Pricing rules: plan versions, switching, quotes, charges and statements, the plan advisor.

Everything here is a pure function of its arguments (no database, no clock); money is
integer fen throughout. Storage of plans and the ledger lives in its repository.
"""

from __future__ import annotations

from pricing.advisor import (
    DEFAULT_DEMAND_FACTOR,
    Advice,
    ModeOutcome,
    NightUse,
    PassUse,
    UsageSummary,
    advise,
)
from pricing.charges import (
    Charge,
    ChargeError,
    ChargeKind,
    Statement,
    StatementLine,
    ledger_month,
    revenue_by_kind,
    statement,
    validate_charge,
)
from pricing.money import Fen, round_half_up
from pricing.plans import (
    LOCAL_TZ,
    NoPlanInForce,
    NotBookable,
    PlanError,
    PlanMode,
    PricePlan,
    check_new_version,
    default_switch_date,
    is_withdrawable,
    month_end,
    month_start,
    pass_on_sale,
    pass_plan,
    plan_in_force,
)
from pricing.quote import (
    Quote,
    QuoteLine,
    cancellation_fee,
    no_show_fee,
    overstay_fee,
    pass_price,
    quote,
)

__all__ = [
    "DEFAULT_DEMAND_FACTOR",
    "LOCAL_TZ",
    "Advice",
    "Charge",
    "ChargeError",
    "ChargeKind",
    "Fen",
    "ModeOutcome",
    "NightUse",
    "NoPlanInForce",
    "NotBookable",
    "PassUse",
    "PlanError",
    "PlanMode",
    "PricePlan",
    "Quote",
    "QuoteLine",
    "Statement",
    "StatementLine",
    "UsageSummary",
    "advise",
    "cancellation_fee",
    "check_new_version",
    "default_switch_date",
    "is_withdrawable",
    "ledger_month",
    "month_end",
    "month_start",
    "no_show_fee",
    "overstay_fee",
    "pass_on_sale",
    "pass_plan",
    "pass_price",
    "plan_in_force",
    "quote",
    "revenue_by_kind",
    "round_half_up",
    "statement",
    "validate_charge",
]
