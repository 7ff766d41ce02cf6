"""Gate use cases: issue a building's gate key, tell who may use the gate, record entries
and exits. A repeated gate read never makes a second session or a second check-in."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from zoneinfo import ZoneInfo

import asyncpg

from parking.errors import Problem
from parking.gate import repository
from parking.gate.schemas import GateSession, IssuedGateKey
from parking.places.access import require_building
from parking.plates import InvalidPlate, mask_plate, parse_plate
from parking.reservations.states import transition
from parking.security import AuthUser
from pricing import ledger

__all__ = [
    "FUTURE_TOLERANCE",
    "authorize_gate",
    "issue_gate_key",
    "list_sessions",
    "record_entry",
    "record_exit",
]

# Gate clocks drift; a time further ahead than this is a wrong clock, not a car.
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
_KEY_PREFIX = "gk_"


def _key_hash(key: str) -> str:
    # The key has 256 random bits, so a fast hash is as safe as a slow one and keeps
    # every gate read cheap.
    return hashlib.sha256(key.encode()).hexdigest()


async def issue_gate_key(
    conn: asyncpg.Connection, user: AuthUser, building_id: int, *, now: dt.datetime
) -> IssuedGateKey:
    """A new key for the building's gate; the previous one stops working at once."""
    await require_building(conn, user, building_id, lock=True)
    key = _KEY_PREFIX + secrets.token_urlsafe(32)
    await repository.set_gate_key_hash(conn, building_id, _key_hash(key))
    return IssuedGateKey(building_id=building_id, gate_key=key, issued_at=now)


async def authorize_gate(
    conn: asyncpg.Connection, building_id: int, *, gate_key: str | None, user: AuthUser | None
) -> None:
    """Pass when the caller holds the building's gate key, or manages it (or is an admin).

    No valid credential: 401. A key of another building: 403. A manager of another
    building: 404, a resident: 403 (as on every building endpoint).
    """
    key_building: int | None = None
    if gate_key:
        presented = _key_hash(gate_key)
        stored = await repository.gate_key_hash(conn, building_id)
        if stored is not None and hmac.compare_digest(stored, presented):
            return
        # Only to tell a key of another building (403) from no credential (401).
        key_building = await repository.building_of_key_hash(conn, presented)
    if user is not None:
        await require_building(conn, user, building_id)
        return
    if key_building is not None:
        raise Problem(403, "forbidden", "This gate key belongs to another building.")
    raise Problem(
        401,
        "unauthorized",
        "Send the building's gate key (X-Gate-Key) or a manager's bearer token.",
        headers={"WWW-Authenticate": "Bearer"},
    )


def _plate(raw: str) -> str:
    try:
        return parse_plate(raw).plate
    except InvalidPlate as exc:
        raise Problem(422, "invalid-plate", str(exc)) from exc


def _event_time(at: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    if at is None:
        return now
    if at - now > FUTURE_TOLERANCE:
        raise Problem(
            422,
            "time-in-future",
            "The gate time is more than 5 minutes ahead of the server's clock.",
        )
    return at


def _aware(at: dt.datetime | None, tz: ZoneInfo) -> dt.datetime | None:
    # A time without an offset in a query is the district's local time.
    return at.replace(tzinfo=tz) if at is not None and at.tzinfo is None else at


def _local(session: GateSession, tz: ZoneInfo) -> GateSession:
    return session.model_copy(
        update={
            "entered_at": session.entered_at.astimezone(tz),
            "exited_at": session.exited_at.astimezone(tz) if session.exited_at else None,
        }
    )


async def _locked_session(
    conn: asyncpg.Connection,
    building_id: int,
    raw_plate: str,
    at: dt.datetime | None,
    now: dt.datetime,
) -> tuple[str, dt.datetime, GateSession | None]:
    """The plate read, the event's time, and the car's open session at the building, with
    the plate locked so that its reads at this building are handled one at a time."""
    plate = _plate(raw_plate)
    at = _event_time(at, now)
    await repository.lock_plate(conn, building_id, plate)
    return plate, at, await repository.open_session(conn, building_id, plate)


async def record_entry(
    conn: asyncpg.Connection,
    building_id: int,
    raw_plate: str,
    at: dt.datetime | None,
    *,
    now: dt.datetime,
    tz: ZoneInfo,
    source: str = "gate",
) -> tuple[GateSession, bool]:
    """The car's session at the building, and whether this read created it.

    A car already inside keeps its session (a repeated read is not a second entry).
    Otherwise the confirmed reservation the entry matches is checked in and linked;
    with none, the session is recorded as unreserved for the manager to see.
    """
    plate, at, current = await _locked_session(conn, building_id, raw_plate, at, now)
    if current is not None:
        return _local(current, tz), False
    reservation_id = await repository.matching_reservation_id(
        conn, building_id, plate, at, at.astimezone(tz).date()
    )
    if reservation_id is not None:
        await transition(conn, reservation_id, "checked_in", at=at, tz=tz)
    session = await repository.insert_session(
        conn,
        building_id=building_id,
        plate=plate,
        entered_at=at,
        reservation_id=reservation_id,
        source=source,
    )
    return _local(session, tz), True


async def record_exit(
    conn: asyncpg.Connection,
    building_id: int,
    raw_plate: str,
    at: dt.datetime | None,
    *,
    now: dt.datetime,
    tz: ZoneInfo,
) -> GateSession:
    """Close the car's open session; a checked-in reservation it used is completed, and
    an exit past its window's end (beyond the plan's grace) is charged overstay."""
    plate, at, current = await _locked_session(conn, building_id, raw_plate, at, now)
    if current is None:
        raise Problem(
            404,
            "no-open-session",
            f"No car with plate {mask_plate(plate)} is inside building {building_id}.",
        )
    if at < current.entered_at:
        raise Problem(
            422,
            "exit-before-entry",
            "The exit time is before the car's entry.",
            extra={"entered_at": current.entered_at.astimezone(tz).isoformat()},
        )
    if current.reservation_id is not None and current.reservation_status == "checked_in":
        completed = await transition(conn, current.reservation_id, "completed", at=at, tz=tz)
        await ledger.charge_overstay(
            conn, session_id=current.id, reservation=completed, exit_at=at, tz=tz
        )
    return _local(await repository.close_session(conn, current.id, at), tz)


async def list_sessions(
    conn: asyncpg.Connection,
    user: AuthUser,
    building_id: int,
    *,
    entered_from: dt.datetime | None,
    entered_to: dt.datetime | None,
    unreserved: bool | None,
    limit: int,
    offset: int,
    tz: ZoneInfo,
) -> list[GateSession]:
    """The building's sessions, newest entry first, with plates masked."""
    await require_building(conn, user, building_id)
    sessions = await repository.list_sessions(
        conn,
        building_id,
        entered_from=_aware(entered_from, tz),
        entered_to=_aware(entered_to, tz),
        unreserved=unreserved,
        limit=limit,
        offset=offset,
    )
    return [_local(s, tz).model_copy(update={"plate": mask_plate(s.plate)}) for s in sessions]
