"""Booking use cases: book a concrete space for a stay, confirm, cancel, list.

Every refusal is a problem that changes nothing. PostgreSQL's exclusion constraints
decide who gets a space: a booking that loses a race for one tries the next free
space of the building before answering 409 ``no-capacity``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import asyncpg
from litestar.pagination import OffsetPagination

from parking import occupancy, prices, sync
from parking.errors import Problem
from parking.places.access import require_building
from parking.reservations import repository
from parking.reservations.model import Reservation, ReservationStatus, get_reservation
from parking.reservations.repository import NewBooking
from parking.reservations.schemas import (
    BookingRequest,
    ManagedReservation,
    ReservationOut,
    ReservationView,
)
from parking.reservations.states import transition
from parking.residents.service import require_verified, vehicle_of
from parking.security import AuthUser
from parking.settings import Settings
from parking.windows import Window, night_windows
from pricing import ledger
from pricing import repository as pricing_repository
from pricing.plans import NoPlanInForce, NotBookable, PricePlan, plan_in_force
from pricing.quote import cancellation_fee, quote

__all__ = [
    "book",
    "cancel_by_operator",
    "cancel_own",
    "confirm_own",
    "get_own",
    "list_building",
    "list_own",
    "priced_by",
]

log = logging.getLogger(__name__)

# Candidates tried per query of free spaces; a lost race moves on to the next one.
_CANDIDATES = 20
_CANCELLABLE = ("held", "confirmed")


async def book(
    conn: asyncpg.Connection,
    user_id: int,
    request: BookingRequest,
    *,
    settings: Settings,
    now: dt.datetime,
) -> ReservationOut:
    """A concrete free space of the building for the stay, held or confirmed, or a problem."""
    tz = settings.tz
    await require_verified(conn, user_id)
    vehicle = await vehicle_of(conn, user_id, request.vehicle_id)
    building = await repository.building_for_booking(conn, request.building_id)
    if building is None:
        raise Problem(404, "not-found", f"There is no building {request.building_id}.")
    if building.status != "active":
        raise Problem(
            409, "place-suspended", f"{building.name} is not taking bookings at the moment."
        )
    windows = await night_windows(conn, building.id, request.night, tz)
    window, arrive, depart = _stay(windows, request, now, tz)
    if depart <= now:
        raise Problem(422, "in-the-past", "The stay would end before now.")
    # A stay already under way starts now: the time before cannot be used, and a space
    # that someone left earlier tonight is free for the rest of it.
    arrive = max(arrive, now)
    if await repository.suspended_during(conn, building.id, arrive, depart):
        # Refused as the platform's bookings are, not confirmed now and cancelled when
        # the period begins.
        raise Problem(409, "place-suspended", f"{building.name} is closed by the district then.")
    try:
        plan = plan_in_force(building.plans, request.night)
        fee_fen = quote(plan, request.night, window.start, window.end, arrive, depart, tz).total_fen
    except (NotBookable, NoPlanInForce) as exc:
        raise Problem(409, "not-bookable", str(exc)) from exc

    held = settings.hold_minutes is not None
    new = NewBooking(
        user_id=user_id,
        vehicle_id=vehicle.id,
        plate=vehicle.plate,
        building_id=building.id,
        building_name=building.name,
        space_id=0,  # chosen below
        night=request.night,
        start=arrive,
        end=depart,
        status="held" if held else "confirmed",
        hold_expires_at=now + dt.timedelta(minutes=settings.hold_minutes) if held else None,
        fee_fen=fee_fen,
        plan_id=plan.plan_id,
    )
    if request.space_id is not None:
        booked = await _book_named_space(conn, new, request.space_id, request.needs)
    else:
        booked = await _book_any_space(conn, new, request.needs)
    # Reservation before availability: the order every writer keeps, so none deadlock.
    # Both messages from what this transaction already holds: the row it inserted, and
    # the windows it read after locking the building (no change of them commits meanwhile).
    await sync.emit_reservation(conn, booked.id, tz, known=(booked, building.district_place_id))
    await sync.emit_availability(
        conn, booked.building_id, [booked.night], tz, windows={booked.night: windows}
    )
    return ReservationOut.of(booked, tz)


def _stay(
    windows: Sequence[Window], request: BookingRequest, now: dt.datetime, tz: ZoneInfo
) -> tuple[Window, dt.datetime, dt.datetime]:
    """The window the stay lies in, and the stay with omitted ends filled from it.

    Without times: the night's first window that has not ended yet (else its first).
    """
    night = request.night.isoformat()
    if not windows:
        raise Problem(
            422, "outside-window", f"The building does not share its spaces on night {night}."
        )
    arrive, depart = request.arrive, request.depart
    if arrive is not None and depart is not None and not arrive < depart:
        raise Problem(422, "outside-window", "The stay must end after it starts.")
    if arrive is None and depart is None:
        window = next((w for w in windows if w.end > now), windows[0])
    elif depart is None:
        window = next((w for w in windows if w.start <= arrive < w.end), None)
    elif arrive is None:
        window = next((w for w in windows if w.start < depart <= w.end), None)
    else:
        window = next((w for w in windows if w.contains(arrive, depart)), None)
    if window is None:
        raise Problem(
            422,
            "outside-window",
            f"The stay does not lie within one of the building's windows on night {night}.",
            extra={
                "windows": [
                    {
                        "start": w.start.astimezone(tz).isoformat(),
                        "end": w.end.astimezone(tz).isoformat(),
                    }
                    for w in windows
                ]
            },
        )
    return window, arrive or window.start, depart or window.end


async def _try_insert(conn: asyncpg.Connection, new: NewBooking) -> ReservationView | None:
    """The booking on ``new.space_id``, or None when that space is taken for the stay."""
    booked = await repository.insert_booking(conn, new)
    if booked is None and await repository.plate_busy(conn, new.plate, new.start, new.end):
        raise Problem(
            409, "vehicle-busy", "This vehicle already has a reservation that overlaps the stay."
        )
    return booked


async def _book_any_space(
    conn: asyncpg.Connection, new: NewBooking, needs: Sequence[str]
) -> ReservationView:
    tried: set[int] = set()
    # The first list, then one fresh look for spaces freed or missed meanwhile.
    for _ in range(2):
        candidates = await occupancy.free_space_ids(
            conn, new.building_id, new.start, new.end, needs, limit=_CANDIDATES
        )
        for space_id in candidates:
            if space_id in tried:
                continue
            tried.add(space_id)
            booked = await _try_insert(conn, new.model_copy(update={"space_id": space_id}))
            if booked is not None:
                return booked
        if not candidates:
            break  # nothing free at all: asking again would not change that
    raise Problem(
        409,
        "no-capacity",
        f"{new.building_name} has no free space"
        f"{' with ' + ', '.join(needs) if needs else ''} for that stay.",
    )


async def _book_named_space(
    conn: asyncpg.Connection, new: NewBooking, space_id: int, needs: Sequence[str]
) -> ReservationView:
    space = await repository.space_of_building(conn, new.building_id, space_id)
    if space is None or not space.shared:
        raise Problem(404, "not-found", f"{new.building_name} shares no space {space_id}.")
    missing = sorted(set(needs) - set(space.features))
    if missing:
        raise Problem(
            422,
            "space-unsuitable",
            f"Space {space_id} lacks {', '.join(missing)}.",
            extra={"missing": missing},
        )
    taken = Problem(409, "space-taken", f"Space {space_id} is taken for that stay.")
    # Asked first so that a space taken by a committed booking never waits on a lock.
    if not await occupancy.free_space_ids(
        conn, new.building_id, new.start, new.end, needs, space_id=space_id, limit=1
    ):
        raise taken
    booked = await _try_insert(conn, new.model_copy(update={"space_id": space_id}))
    if booked is None:
        raise taken
    return booked


async def _own(
    conn: asyncpg.Connection, user_id: int, reservation_id: int, *, lock: bool = False
) -> Reservation:
    current = await get_reservation(conn, reservation_id, lock=lock)
    if current is None or current.user_id != user_id:
        raise Problem(404, "not-found", f"You have no reservation {reservation_id}.")
    return current


async def _out(conn: asyncpg.Connection, reservation_id: int, tz: ZoneInfo) -> ReservationOut:
    view = await repository.get_view(conn, reservation_id)
    assert view is not None  # read in the same transaction that found it
    return ReservationOut.of(view, tz)


async def get_own(
    conn: asyncpg.Connection, user_id: int, reservation_id: int, tz: ZoneInfo
) -> ReservationOut:
    view = await repository.get_view(conn, reservation_id)
    if view is None or view.user_id != user_id:
        raise Problem(404, "not-found", f"You have no reservation {reservation_id}.")
    return ReservationOut.of(view, tz)


async def list_own(
    conn: asyncpg.Connection,
    user_id: int,
    *,
    night: dt.date | None,
    status: ReservationStatus | None,
    limit: int,
    offset: int,
    tz: ZoneInfo,
) -> OffsetPagination[ReservationOut]:
    views = await repository.list_for_user(
        conn, user_id, night=night, status=status, limit=limit, offset=offset
    )
    total = await repository.count_for_user(conn, user_id, night=night, status=status)
    return OffsetPagination(
        items=[ReservationOut.of(v, tz) for v in views], limit=limit, offset=offset, total=total
    )


async def confirm_own(
    conn: asyncpg.Connection, user_id: int, reservation_id: int, *, at: dt.datetime, tz: ZoneInfo
) -> ReservationOut:
    """Confirm a held booking before its hold runs out; a confirmed one stays as it is."""
    current = await _own(conn, user_id, reservation_id, lock=True)
    if current.status == "confirmed":
        return await _out(conn, current.id, tz)
    if current.status == "expired" or (
        current.status == "held"
        and current.hold_expires_at is not None
        and current.hold_expires_at <= at
    ):
        raise Problem(409, "hold-expired", "The hold ran out before it was confirmed; book again.")
    if current.status != "held":
        raise Problem(
            409,
            "not-confirmable",
            f"A {current.status.replace('_', '-')} reservation cannot be confirmed.",
            extra={"reservation_status": current.status},
        )
    await transition(conn, current.id, "confirmed", at=at, tz=tz)
    return await _out(conn, current.id, tz)


async def cancel_own(
    conn: asyncpg.Connection, user_id: int, reservation_id: int, *, at: dt.datetime, tz: ZoneInfo
) -> ReservationOut:
    """Cancel a held or confirmed booking; its fee becomes the plan's cancellation fee.

    Cancelling a cancelled booking again answers its current state.
    """
    current = await _own(conn, user_id, reservation_id, lock=True)
    if current.status == "cancelled":
        return await _out(conn, current.id, tz)
    if current.kind != "booking":
        raise Problem(
            409,
            "not-cancellable",
            "A pass night is released through its pass, not cancelled.",
            extra={"reservation_status": current.status},
        )
    if current.status not in _CANCELLABLE:
        raise Problem(
            409,
            "not-cancellable",
            f"A {current.status.replace('_', '-')} reservation cannot be cancelled.",
            extra={"reservation_status": current.status},
        )
    if current.end <= at:
        # Over: the gate or the no-show sweep settles it, not a cancellation.
        raise Problem(
            409,
            "not-cancellable",
            "The stay is already over.",
            extra={"reservation_status": current.status},
        )
    fee_fen = 0
    if current.status == "confirmed":
        # The terms the booking was sold under, not those of a version scheduled since.
        plan = await priced_by(conn, current)
        fee_fen = cancellation_fee(plan, current.start, at)
    # Before the transition, so the message it queues carries the fee.
    await repository.set_fee(conn, current.id, fee_fen, at)
    await transition(conn, current.id, "cancelled", at=at, tz=tz)
    return await _out(conn, current.id, tz)


async def priced_by(conn: asyncpg.Connection, reservation: Reservation) -> PricePlan:
    """The version that priced the reservation, else the one in force on its night."""
    if reservation.plan_id is not None:
        plan = await pricing_repository.plan_by_id(conn, reservation.plan_id)
        if plan is not None:
            return plan
    return await prices.plan_for_night(conn, reservation.building_id, reservation.night)


async def cancel_by_operator(
    conn: asyncpg.Connection,
    reservation_ids: Sequence[int],
    *,
    reason: str,
    at: dt.datetime,
    tz: ZoneInfo,
) -> list[Reservation]:
    """Cancel these reservations without fee (blackouts, suspensions); the ones cancelled.

    A pass night cancelled so is refunded its share of the pass (``ledger.refund_pass_night``).
    Skipped: unknown ids, reservations already ended or past their end at ``at``, and
    checked-in ones (the car is there; the gate completes them).
    """
    cancelled: list[Reservation] = []
    # Ascending ids: two operators cancelling overlapping sets lock rows in one order.
    for reservation_id in sorted(set(reservation_ids)):
        current = await get_reservation(conn, reservation_id, lock=True)
        if current is None or current.status not in _CANCELLABLE or current.end <= at:
            continue
        await repository.set_fee(conn, current.id, 0, at)
        cancelled.append(await transition(conn, current.id, "cancelled", at=at, tz=tz))
        if current.kind == "pass_night":
            await ledger.refund_pass_night(conn, current, at=at, reason=reason)
    if cancelled:
        log.info(
            "cancelled %d reservations by the operator (%s): %s",
            len(cancelled),
            reason,
            [r.id for r in cancelled],
        )
    return cancelled


async def list_building(
    conn: asyncpg.Connection,
    user: AuthUser,
    building_id: int,
    *,
    night: dt.date,
    status: ReservationStatus | None,
    limit: int,
    offset: int,
    tz: ZoneInfo,
) -> OffsetPagination[ManagedReservation]:
    """The reservations of a building the caller manages, for one night, plates masked."""
    await require_building(conn, user, building_id)
    views = await repository.list_for_building(
        conn, building_id, night=night, status=status, limit=limit, offset=offset
    )
    total = await repository.count_for_building(conn, building_id, night=night, status=status)
    return OffsetPagination(
        items=[ManagedReservation.of(v, tz) for v in views],
        limit=limit,
        offset=offset,
        total=total,
    )
