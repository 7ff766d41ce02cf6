"""The charge ledger's values and rules: kinds, refunds, statements and revenue by kind.

A charge is never negative except a refund, and refunds never exceed the charge they
correct; statements and revenue sum exactly the ledger rows they cover.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from enum import StrEnum

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    StrictInt,
    computed_field,
    model_validator,
)

from pricing.plans import LOCAL_TZ, month_start

__all__ = [
    "Charge",
    "ChargeError",
    "ChargeKind",
    "Statement",
    "StatementLine",
    "ledger_month",
    "revenue_by_kind",
    "statement",
    "validate_charge",
]


class ChargeKind(StrEnum):
    PER_USE = "per_use"
    NO_SHOW = "no_show"
    OVERSTAY = "overstay"
    LATE_CANCEL = "late_cancel"
    PASS = "pass"
    REFUND = "refund"


class ChargeError(ValueError):
    """A charge would break a ledger rule."""


class Charge(BaseModel):
    """One append-only ledger row. Corrections are new rows of kind ``refund``.

    Construction already refuses a negative amount on any kind but a refund, a refund
    that is not negative, and a refund that names no charge; ``validate_charge`` adds
    the rules that need the rest of the ledger.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ChargeKind
    amount_fen: StrictInt
    created_at: AwareDatetime
    night: dt.date | None = None
    """The night charged for, when the charge belongs to one night."""
    charge_id: int | None = None
    reservation_id: int | None = None
    pass_id: int | None = None
    session_id: int | None = None
    refund_of: int | None = None
    """For a refund: the ``charge_id`` of the charge it corrects."""

    @model_validator(mode="after")
    def _sign_and_ties(self) -> Charge:
        if self.kind is ChargeKind.REFUND:
            if self.amount_fen >= 0:
                raise ValueError("a refund is a negative amount")
            if self.refund_of is None:
                raise ValueError("a refund names the charge it corrects (refund_of)")
            return self
        if self.amount_fen < 0:
            raise ValueError(f"a {self.kind} charge cannot be negative; refund it instead")
        if self.refund_of is not None:
            raise ValueError("only a refund names a charge it corrects")
        if self.kind is ChargeKind.PASS and self.pass_id is None:
            raise ValueError("a pass charge is tied to its pass (pass_id)")
        untied = self.reservation_id is None and self.session_id is None
        if self.kind is not ChargeKind.PASS and untied:
            raise ValueError(f"a {self.kind} charge is tied to its reservation or session")
        return self


def validate_charge(charge: Charge, ledger: Iterable[Charge]) -> None:
    """Raise ``ChargeError`` unless ``charge`` may be appended to ``ledger``.

    A refund must correct a charge in the ledger that is not itself a refund, no earlier
    than that charge, and all refunds of a charge together never exceed its amount.
    """
    ledger = list(ledger)
    if charge.charge_id is not None and any(c.charge_id == charge.charge_id for c in ledger):
        raise ChargeError(f"charge {charge.charge_id} is already in the ledger")
    if charge.kind is not ChargeKind.REFUND:
        return
    targets = [c for c in ledger if c.charge_id == charge.refund_of]
    if not targets:
        raise ChargeError(f"refund of charge {charge.refund_of}, which is not in the ledger")
    target = targets[0]
    if target.kind is ChargeKind.REFUND:
        raise ChargeError("a refund cannot be refunded; charge again instead")
    if charge.created_at < target.created_at:
        raise ChargeError("a refund cannot precede the charge it corrects")
    refunds = [c for c in ledger if c.kind is ChargeKind.REFUND and c.refund_of == target.charge_id]
    refunded_fen = -sum(c.amount_fen for c in refunds)
    if refunded_fen - charge.amount_fen > target.amount_fen:
        raise ChargeError(
            f"refunds of charge {target.charge_id} would reach "
            f"{refunded_fen - charge.amount_fen} fen, above its {target.amount_fen} fen"
        )


def ledger_month(charge: Charge, tz: dt.tzinfo = LOCAL_TZ) -> dt.date:
    """The month whose statement carries ``charge``: the local month it was recorded in.

    A refund in December of a November charge is on December's statement, so a month's
    statement never changes once the month is over.
    """
    return month_start(charge.created_at.astimezone(tz).date())


class StatementLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    created_at: AwareDatetime
    kind: ChargeKind
    amount_fen: int
    description: str
    night: dt.date | None = None
    charge_id: int | None = None


class Statement(BaseModel):
    """A resident's charges of one month, in the order they were recorded."""

    model_config = ConfigDict(frozen=True)

    month: dt.date
    lines: tuple[StatementLine, ...]

    @computed_field
    @property
    def total_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)


_DESCRIPTIONS = {
    ChargeKind.PER_USE: "per-use fee",
    ChargeKind.NO_SHOW: "no-show fee",
    ChargeKind.OVERSTAY: "overstay",
    ChargeKind.LATE_CANCEL: "late cancellation fee",
    ChargeKind.PASS: "monthly night pass",
    ChargeKind.REFUND: "refund",
}


def _describe(charge: Charge) -> str:
    text = _DESCRIPTIONS[charge.kind]
    if charge.night is not None:
        text += f", night {charge.night.isoformat()}"
    if charge.refund_of is not None:
        text += f", of charge {charge.refund_of}"
    return text


def statement(charges: Iterable[Charge], month: dt.date, tz: dt.tzinfo = LOCAL_TZ) -> Statement:
    """The statement of ``month`` (its first day) from one resident's ``charges``.

    Its lines are exactly the charges whose ``ledger_month`` is ``month``, so its total is
    their sum to the fen.
    """
    if month.day != 1:
        raise ValueError(f"a month is named by its first day, got {month.isoformat()}")
    in_month = sorted(
        (c for c in charges if ledger_month(c, tz) == month),
        key=lambda c: (c.created_at, c.charge_id if c.charge_id is not None else -1),
    )
    lines = tuple(
        StatementLine(
            created_at=c.created_at,
            kind=c.kind,
            amount_fen=c.amount_fen,
            description=_describe(c),
            night=c.night,
            charge_id=c.charge_id,
        )
        for c in in_month
    )
    return Statement(month=month, lines=lines)


def revenue_by_kind(
    charges: Iterable[Charge], month: dt.date | None = None, tz: dt.tzinfo = LOCAL_TZ
) -> dict[ChargeKind, int]:
    """Net fen per kind, every kind present (0 when none), refunds as their own negative kind.

    With ``month``, only the charges recorded that month (``ledger_month``); the values
    always sum to the sum of the charges counted.
    """
    revenue = dict.fromkeys(ChargeKind, 0)
    for charge in charges:
        if month is None or ledger_month(charge, tz) == month:
            revenue[charge.kind] += charge.amount_fen
    return revenue
