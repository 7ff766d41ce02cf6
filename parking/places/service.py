"""Building and space use cases: who may change what, and the district messages each change owes.

Every change writes its outbox rows (``parking.sync``) in the caller's transaction, so the
platform learns of exactly the changes that were committed.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import asyncpg

from parking import prices, sync
from parking.clock import utc_now
from parking.errors import Problem
from parking.places import repository
from parking.places.access import require_building
from parking.places.schemas import (
    Building,
    BuildingPatch,
    NewBuilding,
    NewSpaces,
    Space,
    SpacePatch,
)
from parking.security import AuthUser
from parking.settings import Settings
from pricing.plans import LOCAL_TZ, PlanMode
from pricing.service import create_first_plan

__all__ = [
    "create_building",
    "create_spaces",
    "delete_space",
    "get_building",
    "list_buildings",
    "list_spaces",
    "update_building",
    "update_space",
]


async def _priced(
    conn: asyncpg.Connection, buildings: list[Building], tz: ZoneInfo
) -> list[Building]:
    """The buildings with the fees of the plan version in force tonight."""
    today = utc_now().astimezone(tz).date()
    in_force = await prices.plans_in_force(conn, [b.id for b in buildings], today)
    priced = []
    for building in buildings:
        plan = in_force.get(building.id)
        if plan is not None:
            monthly = plan.monthly_fee_fen if plan.mode is PlanMode.MONTHLY else None
            building = building.model_copy(
                update={
                    "flat_fee_fen": plan.per_use_fee_fen,
                    "monthly_pass_fen": monthly,
                    "plan_version": plan.version,
                }
            )
        priced.append(building)
    return priced


async def _building_or_404(
    conn: asyncpg.Connection, building_id: int, tz: ZoneInfo = LOCAL_TZ
) -> Building:
    building = await repository.get_building(conn, building_id)
    if building is None:  # require_building saw it in this transaction; kept for clarity
        raise Problem(404, "not-found", f"There is no building {building_id} you manage.")
    return (await _priced(conn, [building], tz))[0]


async def _publish_spaces(conn: asyncpg.Connection, building_id: int, settings: Settings) -> None:
    """The place (shared count, features) and its availability over the published nights."""
    await sync.emit_place(conn, building_id, settings.tz)
    today = utc_now().astimezone(settings.tz).date()
    await sync.emit_availability(conn, building_id, sync.horizon(today, settings), settings.tz)


async def create_building(
    conn: asyncpg.Connection, user: AuthUser, new: NewBuilding, settings: Settings
) -> Building:
    """A manager's building is their own; an admin names the manager account that runs it."""
    if user.role == "manager":
        if new.manager_id not in (None, user.id):
            # Acting for another account is a matter of permission, not of input.
            raise Problem(
                403, "manager-not-allowed", "A manager creates buildings for their own account."
            )
        manager_id = user.id
    else:
        if new.manager_id is None:
            raise Problem(422, "manager-required", "Give manager_id: the manager who runs it.")
        if not await repository.is_manager(conn, new.manager_id):
            raise Problem(
                422, "manager-invalid", f"Account {new.manager_id} is not a manager account."
            )
        manager_id = new.manager_id
    building_id = await repository.insert_building(
        conn,
        district_place_id=new.district_place_id,
        manager_id=manager_id,
        name=new.name,
        address=new.address,
        lat=new.lat,
        lon=new.lon,
    )
    await sync.emit_place(conn, building_id, settings.tz)
    # Its fees are the plan's version 1 (in force from tonight), which also queues Rates.
    await create_first_plan(
        conn,
        building_id,
        per_use_fee_fen=new.flat_fee_fen,
        monthly_fee_fen=new.monthly_pass_fen,
        created_by=user.id,
        now=utc_now(),
        tz=settings.tz,
    )
    return await _building_or_404(conn, building_id, settings.tz)


async def list_buildings(
    conn: asyncpg.Connection, user: AuthUser, manager_id: int | None, tz: ZoneInfo = LOCAL_TZ
) -> list[Building]:
    """A manager sees their own buildings; an admin all, or one manager's."""
    if user.role == "manager":
        if manager_id not in (None, user.id):
            return []  # another manager's buildings do not exist for this caller
        manager_id = user.id
    return await _priced(conn, await repository.list_buildings(conn, manager_id), tz)


async def get_building(
    conn: asyncpg.Connection, user: AuthUser, building_id: int, tz: ZoneInfo = LOCAL_TZ
) -> Building:
    await require_building(conn, user, building_id)
    return await _building_or_404(conn, building_id, tz)


async def update_building(
    conn: asyncpg.Connection,
    user: AuthUser,
    building_id: int,
    patch: BuildingPatch,
    settings: Settings,
) -> Building:
    """Change the editable fields; suspending stops new bookings and keeps existing ones."""
    await require_building(conn, user, building_id, lock=True)
    current = await _building_or_404(conn, building_id, settings.tz)
    changed = {k: v for k, v in patch.changes().items() if getattr(current, k) != v}
    if not changed:
        return current
    await repository.update_building(conn, current.model_copy(update=changed))
    await sync.emit_place(conn, building_id, settings.tz)
    if "status" in changed:
        # Suspended places offer nothing; the availability messages say so (and the reverse).
        today = utc_now().astimezone(settings.tz).date()
        await sync.emit_availability(conn, building_id, sync.horizon(today, settings), settings.tz)
    return await _building_or_404(conn, building_id, settings.tz)


async def list_spaces(conn: asyncpg.Connection, user: AuthUser, building_id: int) -> list[Space]:
    await require_building(conn, user, building_id)
    return await repository.list_spaces(conn, building_id)


async def create_spaces(
    conn: asyncpg.Connection,
    user: AuthUser,
    building_id: int,
    new: NewSpaces,
    settings: Settings,
) -> list[Space]:
    """Create one space or a batch, all or none (a taken label refuses the whole batch)."""
    # The building's lock orders space changes against each other and against bookings.
    await require_building(conn, user, building_id, lock=True)
    spaces = await repository.insert_spaces(
        conn,
        building_id,
        new.all_labels(),
        level=new.level,
        features=new.features,
        shared=new.shared,
    )
    if new.shared:
        await _publish_spaces(conn, building_id, settings)
    return spaces


async def _space_or_404(conn: asyncpg.Connection, building_id: int, space_id: int) -> Space:
    space = await repository.get_space(conn, building_id, space_id)
    if space is None:
        raise Problem(404, "not-found", f"Building {building_id} has no space {space_id}.")
    return space


async def _refuse_if_in_use(conn: asyncpg.Connection, space: Space, doing: str) -> None:
    ids = await repository.active_reservation_ids(conn, space.id, utc_now())
    if ids:
        raise Problem(
            409,
            "space-in-use",
            f"Space {space.label} is held by active reservations; cannot {doing} it. "
            "Cancel or move them first.",
            extra={"reservation_ids": ids},
        )


async def update_space(
    conn: asyncpg.Connection,
    user: AuthUser,
    building_id: int,
    space_id: int,
    patch: SpacePatch,
    settings: Settings,
) -> Space:
    """Change a space; unsharing one that active reservations hold is refused (409).

    Removing a feature a reservation was booked for is allowed: the reservation keeps
    its space, and later searches and bookings see the change.
    """
    await require_building(conn, user, building_id, lock=True)
    space = await _space_or_404(conn, building_id, space_id)
    changed = {k: v for k, v in patch.changes().items() if getattr(space, k) != v}
    if not changed:
        return space
    if changed.get("shared") is False:
        await _refuse_if_in_use(conn, space, "unshare")
    updated = await repository.update_space(conn, space.model_copy(update=changed))
    if "shared" in changed or ("features" in changed and updated.shared):
        await _publish_spaces(conn, building_id, settings)
    return updated


async def delete_space(
    conn: asyncpg.Connection,
    user: AuthUser,
    building_id: int,
    space_id: int,
    settings: Settings,
) -> None:
    """Delete a space that was never reserved; one with history can only be unshared."""
    await require_building(conn, user, building_id, lock=True)
    space = await _space_or_404(conn, building_id, space_id)
    await _refuse_if_in_use(conn, space, "delete")
    if await repository.has_reservations(conn, space.id):
        raise Problem(
            409,
            "space-has-history",
            f"Space {space.label} has reservations on record, which must keep it; "
            "unshare it instead.",
        )
    await repository.delete_space(conn, space.id)
    if space.shared:
        await _publish_spaces(conn, building_id, settings)
