"""What the platform asks of the operator: book, cancel, and events (PROTOCOL.md).

Platform bookings go through the same exclusion constraint and the same candidate loop
as local ones (speculative inserts that back out of a conflict), so the last free space
goes to exactly one of them. A refused request is a problem that changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import asyncpg

from integrations.district import suspensions
from integrations.district.schemas import (
    Event,
    GateEventData,
    PlatformBooking,
    ReconcileData,
    SuspensionData,
)
from integrations.district.webhooks import Answer, parse
from parking import occupancy, prices, sync
from parking.errors import Problem
from parking.gate import service as gate
from parking.plates import InvalidPlate, mask_plate, parse_plate
from parking.reservations.repository import plate_busy, set_fee
from parking.reservations.states import transition
from parking.settings import Settings
from parking.windows import load_windows
from pricing import repository as pricing_repository
from pricing.plans import NoPlanInForce, NotBookable, PlanMode
from pricing.quote import cancellation_fee, quote

__all__ = ["book", "cancel", "handle_event", "reservation_message"]

log = logging.getLogger(__name__)

_CANDIDATES = 20

# Two deliveries of one booking (other webhook-ids) queue behind each other here.
_LOCK_BOOKING = "SELECT pg_advisory_xact_lock(hashtextextended('district-booking:' || $1, 0))"
_BY_PLATFORM_ID = """
SELECT r.id, r.status, r.plate, r.source, lower(r.stay) AS start, upper(r.stay) AS "end",
       r.building_id, r.night, r.plan_id, b.district_place_id
FROM reservations r JOIN buildings b ON b.id = r.building_id
WHERE r.platform_reservation_id = $1
"""
# KEY SHARE, as a local booking takes it: a suspension (FOR UPDATE) and this booking
# are ordered.
_BUILDING = """
SELECT id, name, status FROM buildings WHERE district_place_id = $1 FOR KEY SHARE
"""
_BUILDING_OF_PLACE = "SELECT id FROM buildings WHERE district_place_id = $1"
_SUSPENDED = """
SELECT EXISTS (SELECT 1 FROM place_suspensions
               WHERE building_id = $1 AND period && tstzrange($2, $3))
"""
# A speculative insertion, as local bookings make (see parking.reservations.repository).
_INSERT = """
INSERT INTO reservations (kind, plate, building_id, space_id, night, stay, status, source,
                          platform_reservation_id, fee_fen, plan_id)
VALUES ('booking', $1, $2, $3, $4, tstzrange($5, $6), 'confirmed', 'platform', $7, $8, $9)
ON CONFLICT DO NOTHING
RETURNING id
"""
_MESSAGE = """
SELECT r.id, r.platform_reservation_id, b.district_place_id, r.plate,
       lower(r.stay) AS start, upper(r.stay) AS "end", r.status, r.fee_fen,
       coalesce(v.version, 0) AS version
FROM reservations r
JOIN buildings b ON b.id = r.building_id
LEFT JOIN entity_versions v ON v.entity_kind = 'reservation' AND v.entity_key = 'r-' || r.id
WHERE r.id = $1
"""
_PLATFORM_STATUS = {"held": "confirmed", "expired": "cancelled", "released": "cancelled"}


async def reservation_message(conn: asyncpg.Connection, reservation_id: int, tz) -> dict[str, Any]:
    """The reservation as the protocol's Reservation, at the version last queued for it."""
    row = await conn.fetchrow(_MESSAGE, reservation_id)
    return {
        "reservation_id": sync.reservation_key(row["id"]),
        "platform_reservation_id": row["platform_reservation_id"],
        "place_id": row["district_place_id"],
        "plate": row["plate"],
        "start": row["start"].astimezone(tz).isoformat(),
        "end": row["end"].astimezone(tz).isoformat(),
        "status": _PLATFORM_STATUS.get(row["status"], row["status"]),
        "fee_fen": row["fee_fen"],
        "version": row["version"],
    }


def _plate(raw: str) -> str:
    try:
        return parse_plate(raw).plate
    except InvalidPlate as exc:
        raise Problem(422, "invalid-plate", str(exc)) from exc


async def _night_of_stay(
    conn: asyncpg.Connection, building_id: int, start: dt.datetime, end: dt.datetime, tz
):
    """The night whose window holds the stay, with that night's windows; else 422."""
    local_day = start.astimezone(tz).date()
    nights = [local_day - dt.timedelta(days=1), local_day]
    windows = await load_windows(conn, [building_id], nights, tz)
    for night in nights:
        for window in windows[building_id, night]:
            if window.contains(start, end):
                return night, window, windows[building_id, night]
    raise Problem(
        422,
        "outside-window",
        "The stay does not lie within one of the place's windows.",
    )


async def book(
    conn: asyncpg.Connection, booking: PlatformBooking, settings: Settings, now: dt.datetime
) -> Answer:
    """201 and the new reservation; 200 and its current state for the same booking again."""
    tz = settings.tz
    await conn.execute(_LOCK_BOOKING, booking.platform_reservation_id)
    existing = await conn.fetchrow(_BY_PLATFORM_ID, booking.platform_reservation_id)
    if existing is not None:
        try:
            plate = parse_plate(booking.plate).plate
        except InvalidPlate:
            plate = None
        same = (
            existing["district_place_id"] == booking.place_id
            and existing["plate"] == plate
            and existing["start"] == booking.start
            and existing["end"] == booking.end
        )
        if not same:
            raise Problem(
                422,
                "idempotency-mismatch",
                "This platform_reservation_id was booked with other details.",
            )
        return 200, await reservation_message(conn, existing["id"], tz)

    plate = _plate(booking.plate)
    if not booking.start < booking.end:
        raise Problem(422, "outside-window", "The stay must end after it starts.")
    building = await conn.fetchrow(_BUILDING, booking.place_id)
    if building is None:
        raise Problem(422, "unknown-place", f"There is no place {booking.place_id}.")
    if building["status"] != "active" or await conn.fetchval(
        _SUSPENDED, building["id"], booking.start, booking.end
    ):
        raise Problem(409, "place-suspended", f"{building['name']} is not taking bookings then.")
    night, window, windows = await _night_of_stay(
        conn, building["id"], booking.start, booking.end, tz
    )
    if booking.end <= now:
        raise Problem(422, "in-the-past", "The stay would end before now.")
    try:
        plan = await prices.plan_for_night(conn, building["id"], night)
    except NoPlanInForce as exc:  # as a local booking answers it
        raise Problem(409, "not-bookable", str(exc)) from exc
    if plan.mode == PlanMode.MONTHLY:
        raise Problem(
            409, "not-bookable", "This place sells monthly passes on the operator's own channels."
        )
    try:
        fee_fen = quote(
            plan, night, window.start, window.end, booking.start, booking.end, tz
        ).total_fen
    except NotBookable as exc:
        raise Problem(409, "not-bookable", str(exc)) from exc

    reservation_id = await _insert_any_space(
        conn, building, plate, night, booking, fee_fen, plan.plan_id
    )
    # Reservation before availability: the order every writer keeps.
    await sync.emit_reservation(conn, reservation_id, tz)
    await sync.emit_availability(conn, building["id"], [night], tz, windows={night: windows})
    log.info(
        "platform booking %s: reservation %d for %s",
        booking.platform_reservation_id,
        reservation_id,
        mask_plate(plate),
    )
    return 201, await reservation_message(conn, reservation_id, tz)


async def _insert_any_space(
    conn: asyncpg.Connection,
    building: asyncpg.Record,
    plate: str,
    night: dt.date,
    booking: PlatformBooking,
    fee_fen: int,
    plan_id: int | None,
) -> int:
    tried: set[int] = set()
    for _ in range(2):  # the first list, then one fresh look, as local bookings do
        candidates = await occupancy.free_space_ids(
            conn, building["id"], booking.start, booking.end, limit=_CANDIDATES
        )
        for space_id in candidates:
            if space_id in tried:
                continue
            tried.add(space_id)
            reservation_id = await conn.fetchval(
                _INSERT,
                plate,
                building["id"],
                space_id,
                night,
                booking.start,
                booking.end,
                booking.platform_reservation_id,
                fee_fen,
                plan_id,
            )
            if reservation_id is not None:
                return reservation_id
            if await plate_busy(conn, plate, booking.start, booking.end):
                raise Problem(409, "vehicle-busy", "This vehicle already has a reservation then.")
        if not candidates:
            break
    raise Problem(409, "no-capacity", f"{building['name']} has no free space for that stay.")


async def cancel(
    conn: asyncpg.Connection,
    platform_reservation_id: str,
    settings: Settings,
    now: dt.datetime,
) -> Answer:
    """200 and the cancelled reservation with its fee (the plan's free-cancellation period)."""
    tz = settings.tz
    await conn.execute(_LOCK_BOOKING, platform_reservation_id)
    found = await conn.fetchrow(_BY_PLATFORM_ID, platform_reservation_id)
    if found is None or found["source"] != "platform":
        raise Problem(404, "not-found", f"No platform reservation {platform_reservation_id}.")
    status = found["status"]
    if status in ("cancelled", "expired"):
        return 200, await reservation_message(conn, found["id"], tz)
    if status not in ("held", "confirmed") or found["end"] <= now:
        raise Problem(
            409,
            "not-cancellable",
            f"A {status.replace('_', '-')} reservation cannot be cancelled.",
            extra={"reservation_status": status},
        )
    fee_fen = 0
    if status == "confirmed":
        # The terms the booking was sold under, not those of a version scheduled since.
        plan = None
        if found["plan_id"] is not None:
            plan = await pricing_repository.plan_by_id(conn, found["plan_id"])
        if plan is None:
            plan = await prices.plan_for_night(conn, found["building_id"], found["night"])
        fee_fen = cancellation_fee(plan, found["start"], now)
    await set_fee(conn, found["id"], fee_fen, now)  # before the transition: its message has it
    await transition(conn, found["id"], "cancelled", at=now, tz=tz)
    return 200, await reservation_message(conn, found["id"], tz)


async def _building_of(conn: asyncpg.Connection, place_id: str) -> int:
    building_id = await conn.fetchval(_BUILDING_OF_PLACE, place_id)
    if building_id is None:
        raise Problem(422, "unknown-place", f"There is no place {place_id}.")
    return building_id


async def handle_event(
    conn: asyncpg.Connection, event: Event, settings: Settings, now: dt.datetime
) -> Answer:
    """204 for every event, known or not; 422 for a known type with unusable data."""
    tz = settings.tz
    if event.type in ("gate.entered", "gate.exited"):
        data = parse(GateEventData, event.data or {})
        building_id = await _building_of(conn, data.place_id)
        try:
            async with conn.transaction():
                if event.type == "gate.entered":
                    await gate.record_entry(
                        conn, building_id, data.plate, event.occurred_at, now=now, tz=tz,
                        source="platform",
                    )  # fmt: skip
                else:
                    await gate.record_exit(
                        conn, building_id, data.plate, event.occurred_at, now=now, tz=tz
                    )
        except Problem as problem:
            if problem.status_code == 422:
                raise
            # An exit without an entry, say: nothing to record, and nothing to retry.
            log.info("gate event %s ignored: %s", event.type, problem.detail)
    elif event.type == "place.suspended":
        data = parse(SuspensionData, event.data or {})
        if not data.start < data.end:
            raise Problem(422, "validation-error", "A suspension must end after it starts.")
        building_id = await _building_of(conn, data.place_id)
        await suspensions.suspend(
            conn, building_id, data.start, data.end, data.reason, now=now, settings=settings
        )
    elif event.type == "reconcile.requested":
        data = parse(ReconcileData, event.data or {})
        building_ids = None if data.place_id is None else [
            await _building_of(conn, data.place_id)
        ]  # fmt: skip
        from integrations.district.reconcile import resend_state

        await resend_state(conn, building_ids, settings, now)
    else:
        log.info("district event of unknown type %r ignored", event.type)
    return 204, None
