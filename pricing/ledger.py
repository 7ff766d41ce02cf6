"""Charges written in the transaction of the event that owes them: a reservation that
completes, ends ``no_show`` or is cancelled late, a car leaving after its window, a pass
sold, a pass night the operator cancels.

Amounts come from ``pricing.quote`` under the version that priced the reservation or the
pass (the one in force on the night when none was recorded). A zero amount writes no row.
The ledger's unique indexes make a repeated event charge nothing again.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import asyncpg

from parking import prices
from parking.errors import Problem
from parking.reservations.model import Reservation
from parking.windows import night_windows
from pricing import repository
from pricing.charges import Charge, ChargeError, ChargeKind, validate_charge
from pricing.money import round_half_up
from pricing.plans import NoPlanInForce, PricePlan
from pricing.quote import no_show_fee, overstay_fee
from pricing.repository import NewCharge, StoredCharge

__all__ = [
    "charge_overstay",
    "charge_pass",
    "on_reservation_end",
    "refund",
    "refund_pass_night",
]

_SET_FEE = "UPDATE reservations SET fee_fen = $2, updated_at = $3 WHERE id = $1"
_PASS_CHARGE = "SELECT id FROM charges WHERE pass_id = $1 AND kind = 'pass'"
_PASS_PLAN = "SELECT plan_id FROM passes WHERE id = $1"
_PASS_NIGHTS = "SELECT count(DISTINCT night) FROM reservations WHERE pass_id = $1"
# Another claim of the same pass and night (a night of two windows) already refunded.
_NIGHT_REFUNDED = """
SELECT EXISTS (
    SELECT 1 FROM charges c JOIN reservations r ON r.id = c.reservation_id
    WHERE c.kind = 'refund' AND c.refund_of = $1 AND r.pass_id = $2 AND r.night = $3
)
"""


async def _plan_of(
    conn: asyncpg.Connection,
    building_id: int,
    night: dt.date,
    plan_id: int | None,
    pass_id: int | None = None,
) -> PricePlan | None:
    """The version that priced it (a pass night's: its pass's), else the one in force on
    its night, else None."""
    if plan_id is None and pass_id is not None:
        # A pass runs to its month's end on the terms it was sold under, even past a switch.
        plan_id = await conn.fetchval(_PASS_PLAN, pass_id)
    if plan_id is not None:
        return await repository.plan_by_id(conn, plan_id)
    try:
        return await prices.plan_for_night(conn, building_id, night)
    except (NoPlanInForce, Problem):
        return None


async def _append(conn: asyncpg.Connection, new: NewCharge) -> StoredCharge | None:
    if new.amount_fen == 0:
        return None
    return await repository.insert_charge(conn, new)


async def on_reservation_end(
    conn: asyncpg.Connection, reservation: Reservation, *, at: dt.datetime
) -> Reservation:
    """Charge what a booking owes as it ends; the reservation as it now stands.

    completed: the per-use fee it was booked at (``fee_fen``, the quote of the version in
    force on its night, so a later switch never changes it). no_show: the plan's no-show
    fee instead, which also becomes its ``fee_fen``. cancelled: ``fee_fen`` when the
    cancellation set a late-cancellation fee. Pass nights are paid by their pass.
    """
    if reservation.kind != "booking":
        return reservation
    kind: ChargeKind
    if reservation.status == "completed":
        kind = ChargeKind.PER_USE
    elif reservation.status == "cancelled":
        kind = ChargeKind.LATE_CANCEL
    elif reservation.status == "no_show":
        kind = ChargeKind.NO_SHOW
    else:
        return reservation
    plan = await _plan_of(conn, reservation.building_id, reservation.night, reservation.plan_id)
    if kind is ChargeKind.NO_SHOW:
        fee_fen = no_show_fee(plan) if plan is not None else 0
        await conn.execute(_SET_FEE, reservation.id, fee_fen, at)
        reservation = reservation.model_copy(update={"fee_fen": fee_fen, "updated_at": at})
    await _append(
        conn,
        NewCharge(
            kind=kind,
            amount_fen=reservation.fee_fen,
            user_id=reservation.user_id,
            building_id=reservation.building_id,
            reservation_id=reservation.id,
            plan_id=plan.plan_id if plan else None,
            plan_version=plan.version if plan else None,
            night=reservation.night,
            occurred_at=at,
        ),
    )
    return reservation


async def charge_overstay(
    conn: asyncpg.Connection,
    *,
    session_id: int,
    reservation: Reservation,
    exit_at: dt.datetime,
    tz: ZoneInfo,
) -> StoredCharge | None:
    """The overstay of a car leaving at ``exit_at`` after its reservation's window.

    Counted from the end of the night's window that holds the stay (``overstay_fee``:
    every started hour past it, once the grace is exceeded), under the reservation's plan
    (a pass night's: its pass's).
    """
    plan = await _plan_of(
        conn,
        reservation.building_id,
        reservation.night,
        reservation.plan_id,
        reservation.pass_id,
    )
    if plan is None:
        return None
    windows = await night_windows(conn, reservation.building_id, reservation.night, tz)
    window_end = next(
        (w.end for w in windows if w.start <= reservation.start < w.end), reservation.end
    )
    return await _append(
        conn,
        NewCharge(
            kind=ChargeKind.OVERSTAY,
            amount_fen=overstay_fee(plan, window_end, exit_at),
            user_id=reservation.user_id,
            building_id=reservation.building_id,
            session_id=session_id,
            plan_id=plan.plan_id,
            plan_version=plan.version,
            night=reservation.night,
            occurred_at=exit_at,
        ),
    )


async def charge_pass(
    conn: asyncpg.Connection,
    *,
    pass_id: int,
    user_id: int,
    building_id: int,
    amount_fen: int,
    plan: PricePlan,
    month: dt.date,
    at: dt.datetime,
) -> StoredCharge | None:
    """The pass's price (``pass_price``: the monthly fee prorated by shared nights left)."""
    return await _append(
        conn,
        NewCharge(
            kind=ChargeKind.PASS,
            amount_fen=amount_fen,
            user_id=user_id,
            building_id=building_id,
            pass_id=pass_id,
            plan_id=plan.plan_id,
            plan_version=plan.version,
            night=month,
            occurred_at=at,
        ),
    )


async def refund(
    conn: asyncpg.Connection,
    charge_id: int,
    amount_fen: int,
    *,
    at: dt.datetime,
    reason: str,
    created_by: int | None,
    reservation_id: int | None = None,
) -> StoredCharge:
    """A refund row of ``amount_fen`` (positive: what is given back) against a charge.

    Tied to the same reservation, pass or session as the charge, or to ``reservation_id``
    (the pass night refunded). Refunds of a charge never exceed it, are never refunded
    themselves, and are written one at a time (the charge's row lock): 409 otherwise.
    """
    rows = await repository.charge_with_refunds(conn, charge_id)
    target = next((c for c in rows if c.id == charge_id), None)
    if target is None:
        raise Problem(404, "not-found", f"There is no charge {charge_id}.")
    ledger = [c.as_charge() for c in rows]
    new = NewCharge(
        kind=ChargeKind.REFUND,
        amount_fen=-amount_fen,
        user_id=target.user_id,
        building_id=target.building_id,
        reservation_id=reservation_id if reservation_id is not None else target.reservation_id,
        pass_id=None if reservation_id is not None else target.pass_id,
        session_id=None if reservation_id is not None else target.session_id,
        refund_of=target.id,
        plan_id=target.plan_id,
        plan_version=target.plan_version,
        night=target.night,
        occurred_at=max(at, target.occurred_at),
        created_by=created_by,
        reason=reason,
    )
    try:
        candidate = Charge(
            kind=ChargeKind.REFUND,
            amount_fen=new.amount_fen,
            created_at=new.occurred_at,
            refund_of=target.id,
        )
        validate_charge(candidate, ledger)
    except (ChargeError, ValueError) as exc:
        raise Problem(409, "refund-refused", str(exc)) from exc
    stored = await repository.insert_charge(conn, new)
    if stored is None:
        raise Problem(409, "refund-refused", "This refund was made already.")
    return stored


async def refund_pass_night(
    conn: asyncpg.Connection, claim: Reservation, *, at: dt.datetime, reason: str
) -> StoredCharge | None:
    """Refund a pass its share of a night the operator cancelled (a blackout, a suspension).

    The share is the pass charge over the pass's nights, half-up, and never more than is
    left unrefunded of the charge; one refund per pass and night.
    """
    if claim.pass_id is None:
        return None
    charge_id = await conn.fetchval(_PASS_CHARGE, claim.pass_id)
    if charge_id is None:
        return None
    rows = await repository.charge_with_refunds(conn, charge_id)
    if await conn.fetchval(_NIGHT_REFUNDED, charge_id, claim.pass_id, claim.night):
        return None
    charged = next(c for c in rows if c.id == charge_id)
    left = charged.amount_fen + sum(c.amount_fen for c in rows if c.id != charge_id)
    nights = await conn.fetchval(_PASS_NIGHTS, claim.pass_id)
    share = min(round_half_up(charged.amount_fen, max(nights, 1)), left)
    if share <= 0:
        return None
    return await refund(
        conn, charge_id, share, at=at, reason=reason, created_by=None, reservation_id=claim.id
    )
