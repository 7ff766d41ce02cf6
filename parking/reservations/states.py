"""The one way a reservation changes state: allowed transitions, time stamps, outbox rows.

held -> confirmed | cancelled | expired; confirmed -> cancelled | checked_in |
no_show | released (pass nights only); checked_in -> completed. Anything else is
a 409 ``invalid-transition`` and changes nothing. What an ending owes (the per-use fee,
the no-show fee, a late cancellation) is charged here, in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import asyncpg

from parking import sync
from parking.errors import Problem
from parking.occupancy import ACTIVE_STATUSES
from parking.reservations.model import (
    COLUMNS,
    Reservation,
    ReservationStatus,
    get_reservation,
    reservation_from_row,
)
from pricing import ledger

__all__ = ["ALLOWED", "transition"]

ALLOWED: dict[str, frozenset[str]] = {
    "held": frozenset({"confirmed", "cancelled", "expired"}),
    "confirmed": frozenset({"cancelled", "checked_in", "no_show", "released"}),
    "checked_in": frozenset({"completed"}),
}

_ENDING = ("cancelled", "completed", "no_show", "expired", "released")

_TRANSITION = f"""
UPDATE reservations
SET status = $2,
    updated_at = $3,
    checked_in_at = CASE WHEN $2 = 'checked_in' THEN $3 ELSE checked_in_at END,
    ended_at = CASE WHEN $2 = ANY($5::text[]) THEN $3 ELSE ended_at END
-- The status test makes a concurrent change of the same reservation lose cleanly.
WHERE id = $1 AND status = ANY($4::text[])
RETURNING {COLUMNS}
"""


async def transition(
    conn: asyncpg.Connection,
    reservation_id: int,
    to_status: ReservationStatus,
    *,
    at: dt.datetime,
    tz: ZoneInfo,
) -> Reservation:
    """Move the reservation to ``to_status`` at ``at`` and queue what the platform must learn."""
    current = await get_reservation(conn, reservation_id, lock=True)
    if current is None:
        raise Problem(404, "not-found", f"There is no reservation {reservation_id}.")
    if to_status not in ALLOWED.get(current.status, frozenset()):
        raise Problem(
            409,
            "invalid-transition",
            f"A {current.status} reservation cannot become {to_status}.",
            extra={"reservation_status": current.status},
        )
    if to_status == "released" and current.kind != "pass_night":
        raise Problem(409, "invalid-transition", "Only a pass night can be released.")
    from_statuses = [s for s, targets in ALLOWED.items() if to_status in targets]
    row = await conn.fetchrow(
        _TRANSITION, reservation_id, to_status, at, from_statuses, list(_ENDING)
    )
    assert row is not None  # the row lock above keeps the status as read
    # Before the message, which carries the fee the ending set (a no-show's).
    changed = await ledger.on_reservation_end(conn, reservation_from_row(row), at=at)
    await sync.emit_reservation(conn, changed.id, tz)
    if current.status in ACTIVE_STATUSES and to_status not in ACTIVE_STATUSES:
        await sync.emit_availability(conn, changed.building_id, [changed.night], tz)
    return changed
