"""Resident use cases: compounds and the whitelist import, verification, and vehicles.

Other packages ask here whether someone is a verified resident (``require_verified``),
where they live (``home_of``) and whether a vehicle is theirs (``vehicle_of``).
"""

from __future__ import annotations

import logging

import asyncpg

from parking.errors import Problem
from parking.plates import InvalidPlate, mask_phone, mask_plate, parse_plate
from parking.residents import repository
from parking.residents.schemas import (
    Compound,
    CompoundPatch,
    ImportMode,
    ImportReport,
    NewCompound,
    Residency,
    Vehicle,
    VerificationRequest,
    normalize_phone,
)
from parking.residents.whitelist_csv import LineError, parse_whitelist_csv, plan_new_compounds

__all__ = [
    "MAX_REPORTED_ERRORS",
    "add_vehicle",
    "create_compound",
    "home_of",
    "import_whitelist",
    "list_vehicles",
    "remove_vehicle",
    "require_verified",
    "residency_of",
    "update_compound",
    "vehicle_of",
    "verify",
]

log = logging.getLogger(__name__)

MAX_REPORTED_ERRORS = 1000
"""A file can hold many thousand bad lines; the answer lists the first ones and the count."""


async def create_compound(conn: asyncpg.Connection, new: NewCompound) -> Compound:
    return await repository.insert_compound(conn, new.name, new.lat, new.lon)


async def update_compound(
    conn: asyncpg.Connection, compound_id: int, patch: CompoundPatch
) -> Compound:
    updated = await repository.update_compound(
        conn, compound_id, name=patch.name, lat=patch.lat, lon=patch.lon
    )
    if updated is None:
        raise Problem(404, "not-found", "There is no such compound.")
    return updated


async def import_whitelist(conn: asyncpg.Connection, data: bytes, mode: ImportMode) -> ImportReport:
    """Apply the office's file, all or nothing: any bad line is a 422 listing every one."""
    parsed = parse_whitelist_csv(data)
    if mode == "replace" and not parsed.lines and not parsed.errors:
        # An empty list would unverify everyone; that is never what an office means.
        _refuse([LineError.of(1, "replace-empty")])

    await repository.lock_whitelist_imports(conn)
    names = sorted({entry.compound for entry in parsed.lines})
    existing = await repository.compound_ids_by_name(conn, names)
    new_compounds, errors = plan_new_compounds(parsed.lines, existing.keys())
    if parsed.errors or errors:
        _refuse(parsed.errors + errors)
    created = await repository.insert_compounds(conn, new_compounds) if new_compounds else 0
    ids = await repository.compound_ids_by_name(conn, names)

    entries = [(ids[e.compound], e.unit, e.phone) for e in parsed.lines]
    added = await repository.insert_whitelist(conn, entries)
    removed = unverified = 0
    if mode == "replace":
        removed, unverified = await repository.delete_whitelist_except(conn, entries)
    report = ImportReport(
        mode=mode,
        entries=len(entries),
        added=added,
        unchanged=len(entries) - added,
        removed=removed,
        unverified=unverified,
        compounds_created=created,
    )
    log.info("whitelist import: %s", report.model_dump_json())
    return report


def _refuse(errors: list[LineError]) -> None:
    errors = sorted(errors, key=lambda e: e.line)
    raise Problem(
        422,
        "whitelist-invalid",
        f"{len(errors)} line(s) of the file are not valid; nothing was imported.",
        extra={
            "errors": [
                {
                    "line": e.line,
                    "message": e.message,
                    "faults": [{"code": f.code, "params": f.params} for f in e.faults],
                }
                for e in errors[:MAX_REPORTED_ERRORS]
            ],
            "error_count": len(errors),
        },
    )


async def residency_of(conn: asyncpg.Connection, user_id: int) -> Residency | None:
    return await repository.get_residency(conn, user_id)


async def require_verified(conn: asyncpg.Connection, user_id: int) -> Residency:
    """The caller's residency, or a 403 ``not-verified`` problem."""
    residency = await repository.get_residency(conn, user_id)
    if residency is None:
        raise Problem(
            403,
            "not-verified",
            "Only residents verified against the residence whitelist may do this; "
            "verify at POST /residents/me/verification.",
        )
    return residency


async def home_of(conn: asyncpg.Connection, user_id: int) -> tuple[float, float] | None:
    """(lat, lon) of a verified resident's compound, None if not verified."""
    residency = await repository.get_residency(conn, user_id)
    return (residency.lat, residency.lon) if residency else None


async def verify(
    conn: asyncpg.Connection, user_id: int, request: VerificationRequest
) -> tuple[Residency, bool]:
    """Match the caller to a whitelist entry: (their residency, whether it is new)."""
    account = await repository.lock_user(conn, user_id)
    if account is None:
        raise Problem(401, "unauthorized", "The account behind this token no longer exists.")
    current = await repository.get_residency(conn, user_id)
    match = await repository.find_whitelist_entry(
        conn,
        compound_id=request.compound_id,
        compound=request.compound,
        unit=request.unit,
        phone=request.phone,
    )
    if current is not None:
        if match is not None and match[0] == current.whitelist_id:
            return current, False
        raise Problem(
            409, "already-verified", "This account is already verified for another residence."
        )
    if account["phone"] is not None and not _same_phone(account["phone"], request.phone):
        raise Problem(422, "phone-mismatch", "The phone must be the one on your account.")
    if match is None:
        # One answer whichever of compound, unit or phone is wrong: the whitelist is not
        # something to probe.
        raise Problem(
            422,
            "residence-not-found",
            "No residence matches this compound, unit and phone; check them against what "
            "the community office holds.",
        )
    whitelist_id, used_by = match
    if used_by is not None:
        raise Problem(409, "residence-taken", "Another account is verified for this residence.")
    await repository.insert_residency(conn, user_id, whitelist_id)
    if account["phone"] is None:
        await repository.set_phone_if_unset(conn, user_id, request.phone)
    log.info("resident %s verified (phone %s)", user_id, mask_phone(request.phone))
    residency = await repository.get_residency(conn, user_id)
    assert residency is not None  # inserted above, in this transaction
    return residency, True


def _same_phone(on_account: str, given: str) -> bool:
    try:
        return normalize_phone(on_account) == given
    except ValueError:
        return on_account == given


async def list_vehicles(conn: asyncpg.Connection, user_id: int) -> list[Vehicle]:
    await require_verified(conn, user_id)
    return await repository.list_vehicles(conn, user_id)


async def add_vehicle(
    conn: asyncpg.Connection, user_id: int, raw_plate: str, *, max_vehicles: int
) -> Vehicle:
    """Register a plate for a verified resident, within the per-resident limit."""
    # Locked first, so two adds at once count one after the other.
    if await repository.lock_user(conn, user_id) is None:
        raise Problem(401, "unauthorized", "The account behind this token no longer exists.")
    await require_verified(conn, user_id)
    try:
        plate = parse_plate(raw_plate)
    except InvalidPlate as exc:
        raise Problem(422, "invalid-plate", str(exc)) from exc
    if await repository.count_vehicles(conn, user_id) >= max_vehicles:
        raise Problem(
            409,
            "vehicle-limit",
            f"A resident may register at most {max_vehicles} vehicles; remove one first.",
            extra={"limit": max_vehicles},
        )
    vehicle = await repository.insert_vehicle(conn, user_id, plate.plate, plate.new_energy)
    log.info("resident %s added vehicle %s", user_id, mask_plate(vehicle.plate))
    return vehicle


async def vehicle_of(conn: asyncpg.Connection, user_id: int, vehicle_id: int) -> Vehicle:
    """The vehicle if it is this user's; otherwise 404 (another's vehicle is not revealed)."""
    vehicle = await repository.get_vehicle(conn, user_id, vehicle_id)
    if vehicle is None:
        raise Problem(404, "not-found", "You have no vehicle with this id.")
    return vehicle


async def remove_vehicle(
    conn: asyncpg.Connection, user_id: int, vehicle_id: int, *, timezone: str
) -> None:
    """Delete the caller's vehicle unless a reservation or pass still needs it.

    Not only for verified residents: whoever lost their verification may still remove
    their own plates.
    """
    vehicle = await repository.get_vehicle(conn, user_id, vehicle_id, lock=True)
    if vehicle is None:
        raise Problem(404, "not-found", "You have no vehicle with this id.")
    if await repository.vehicle_in_use(conn, vehicle_id, timezone):
        raise Problem(
            409,
            "vehicle-in-use",
            "This vehicle has an active reservation or pass; cancel it before removing the "
            "vehicle.",
        )
    await repository.delete_vehicle(conn, vehicle_id)
    log.info("resident %s removed vehicle %s", user_id, mask_plate(vehicle.plate))
