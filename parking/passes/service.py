"""Pass use cases: buy a month's pass (a concrete space every shared night, all or
nothing), read passes, release a night back to others before it starts."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Awaitable, Callable
from zoneinfo import ZoneInfo

import asyncpg

from parking import sync
from parking.errors import Problem
from parking.occupancy import free_space_ids
from parking.passes import repository
from parking.passes.schemas import BuildingPass, NewPass, PassDetail, PassNight, PassSummary
from parking.places.access import require_building
from parking.plates import mask_plate
from parking.prices import plans_of
from parking.reservations.repository import plate_busy
from parking.reservations.states import transition
from parking.residents.service import require_verified, vehicle_of
from parking.security import AuthUser
from parking.settings import Settings
from parking.windows import Window, load_windows
from pricing import ledger
from pricing.plans import NotBookable, pass_plan
from pricing.quote import pass_price

__all__ = [
    "buy_pass",
    "get_pass",
    "list_building_passes",
    "list_passes",
    "parse_month",
    "release_night",
]


PASS_MONTHS_AHEAD = 12
"""How many months after this one a pass may be bought for: plans and the holiday
calendar are not known much further ahead."""


def parse_month(text: str) -> dt.date:
    """The first day of a ``YYYY-MM`` month; 422 ``invalid-month`` otherwise."""
    try:
        year, month = (int(part) for part in text.split("-"))
        return dt.date(year, month, 1)
    except ValueError as exc:
        raise Problem(422, "invalid-month", f"{text!r} is not a month (YYYY-MM).") from exc


def _month_nights(month: dt.date) -> list[dt.date]:
    days = calendar.monthrange(month.year, month.month)[1]
    return [month + dt.timedelta(days=i) for i in range(days)]


def _local_night(night: PassNight, tz: ZoneInfo) -> PassNight:
    return night.model_copy(
        update={"start": night.start.astimezone(tz), "end": night.end.astimezone(tz)}
    )


async def _detail(conn: asyncpg.Connection, summary: PassSummary, tz: ZoneInfo) -> PassDetail:
    nights = [_local_night(n, tz) for n in await repository.nights_of(conn, summary.id)]
    return PassDetail(**summary.model_dump(), nights=nights).model_copy(
        update={"created_at": summary.created_at.astimezone(tz)}
    )


async def _own(
    conn: asyncpg.Connection, user_id: int, pass_id: int, *, lock: bool = False
) -> PassSummary:
    found = await repository.get_own_pass(conn, pass_id, user_id, lock=lock)
    if found is None:
        raise Problem(404, "not-found", f"You have no pass {pass_id}.")
    return found


class _VehicleBusy(Exception):
    """The car has another reservation overlapping a night of the pass."""


async def _claim_space(
    conn: asyncpg.Connection,
    building_id: int,
    plate: str,
    stay: Window,
    preferred: int | None,
    insert: Callable[[int], Awaitable[int | None]],
) -> int | None:
    """Insert the night's claim on a free space (``preferred`` first); its space or None.

    Candidates come from ``occupancy``; a concurrent booking may take one between the
    query and the insert, so the next is tried (then one fresh query). Raises
    ``_VehicleBusy`` when the car itself is taken for the stay.
    """
    tried: set[int] = set()
    for attempt in range(2):
        candidates: list[int] = []
        if preferred is not None and attempt == 0:
            candidates += await free_space_ids(
                conn, building_id, stay.start, stay.end, space_id=preferred
            )
        candidates += await free_space_ids(conn, building_id, stay.start, stay.end)
        fresh = [c for c in dict.fromkeys(candidates) if c not in tried]
        if not fresh:
            return None
        for space_id in fresh:
            tried.add(space_id)
            if await insert(space_id) is not None:
                return space_id
            if await plate_busy(conn, plate, stay.start, stay.end):
                raise _VehicleBusy
    return None


async def buy_pass(
    conn: asyncpg.Connection, user_id: int, new: NewPass, *, now: dt.datetime, settings: Settings
) -> PassDetail:
    """A pass for the vehicle at the building for the month, holding a concrete space on
    each shared night left in it (the same space from night to night where it is free).

    All or nothing: a night without a free space is 409 ``no-capacity`` naming every such
    night, and nothing is written.
    """
    tz = settings.tz
    await require_verified(conn, user_id)
    vehicle = await vehicle_of(conn, user_id, new.vehicle_id)
    month = parse_month(new.month)
    today = now.astimezone(tz).date()
    if (month.year - today.year) * 12 + month.month - today.month > PASS_MONTHS_AHEAD:
        raise Problem(
            422,
            "invalid-month",
            f"Passes are sold for this month and the next {PASS_MONTHS_AHEAD}, "
            f"not yet for {new.month}.",
        )
    building = await repository.get_building(conn, new.building_id)
    if building is None:
        raise Problem(404, "not-found", f"There is no building {new.building_id}.")
    if building.status != "active":
        raise Problem(409, "place-suspended", "This building is suspended and sells no passes.")
    try:
        plan = pass_plan(await plans_of(conn, building.id), month, bought_on=today)
    except NotBookable as exc:
        raise Problem(
            409, "not-bookable", f"This building sells no pass for {new.month}: {exc}."
        ) from exc

    month_nights = _month_nights(month)
    windows = await load_windows(conn, [building.id], month_nights, tz)
    shared = [n for n in month_nights if windows[building.id, n]]
    # What is left of each shared night from now on: a window already over is gone,
    # one under way is held from now.
    stays: dict[dt.date, list[Window]] = {}
    for night in shared:
        if night < today:
            continue
        night_windows = windows[building.id, night]
        left = [Window(max(w.start, now), w.end) for w in night_windows if w.end > now]
        if left:
            stays[night] = left
    if not stays:
        raise Problem(
            409,
            "no-shared-nights",
            f"The building shares no more nights in {new.month}.",
        )
    price = pass_price(plan, month, len(shared), len(stays))

    await repository.lock_purchases(conn, building.id)
    try:
        async with conn.transaction():  # a savepoint, so the refusal can be answered cleanly
            pass_id = await repository.insert_pass(
                conn,
                user_id=user_id,
                vehicle_id=vehicle.id,
                plate=vehicle.plate,
                building_id=building.id,
                month=month,
                price_fen=price,
                plan_id=plan.plan_id,
            )
    except asyncpg.UniqueViolationError as exc:
        raise Problem(
            409,
            "pass-exists",
            f"This vehicle already has a pass at this building for {new.month}.",
        ) from exc

    full: list[dt.date] = []
    busy: list[dt.date] = []
    previous: int | None = None
    for night, night_stays in stays.items():
        for stay in night_stays:

            async def insert(
                space_id: int, night: dt.date = night, stay: Window = stay
            ) -> int | None:
                return await repository.insert_night(
                    conn,
                    pass_id=pass_id,
                    user_id=user_id,
                    vehicle_id=vehicle.id,
                    plate=vehicle.plate,
                    building_id=building.id,
                    space_id=space_id,
                    night=night,
                    start=stay.start,
                    end=stay.end,
                )

            try:
                space_id = await _claim_space(
                    conn, building.id, vehicle.plate, stay, previous, insert
                )
            except _VehicleBusy:
                busy.append(night)
                break
            if space_id is None:
                full.append(night)
                break
            previous = space_id
    if busy:
        raise Problem(
            409,
            "vehicle-busy",
            "This vehicle already has a reservation on some nights of the month.",
            extra={"nights": [n.isoformat() for n in busy]},
        )
    if full:
        raise Problem(
            409,
            "no-capacity",
            "The building has no free space on some nights of the month.",
            extra={"nights": [n.isoformat() for n in full]},
        )

    await ledger.charge_pass(
        conn,
        pass_id=pass_id,
        user_id=user_id,
        building_id=building.id,
        amount_fen=price,
        plan=plan,
        month=month,
        at=now,
    )
    published = sorted(set(stays) & set(sync.horizon(today, settings)))
    if published:
        await sync.emit_availability(conn, building.id, published, tz)
    return await _detail(conn, await _own(conn, user_id, pass_id), tz)


async def list_passes(conn: asyncpg.Connection, user_id: int, tz: ZoneInfo) -> list[PassSummary]:
    return [
        p.model_copy(update={"created_at": p.created_at.astimezone(tz)})
        for p in await repository.list_own_passes(conn, user_id)
    ]


async def get_pass(
    conn: asyncpg.Connection, user_id: int, pass_id: int, tz: ZoneInfo
) -> PassDetail:
    return await _detail(conn, await _own(conn, user_id, pass_id), tz)


async def release_night(
    conn: asyncpg.Connection,
    user_id: int,
    pass_id: int,
    night: dt.date,
    *,
    now: dt.datetime,
    tz: ZoneInfo,
) -> PassDetail:
    """Give the night's space back: it becomes bookable by others. Releasing a night
    already released answers the pass as it is."""
    await _own(conn, user_id, pass_id, lock=True)
    claims = await repository.lock_night(conn, pass_id, night)
    if not claims:
        raise Problem(404, "not-found", f"Pass {pass_id} holds no space on {night.isoformat()}.")
    held = [c for c in claims if c.status == "confirmed"]
    used = any(c.status in ("checked_in", "completed") for c in claims)
    if used or (held and claims[0].start <= now):
        raise Problem(
            409,
            "too-late",
            "A night can be released only before its window starts.",
            extra={"starts_at": claims[0].start.astimezone(tz).isoformat()},
        )
    # Nothing held (released before, or cancelled by the operator): the pass as it is.
    for claim in held:
        await transition(conn, claim.id, "released", at=now, tz=tz)
    return await _detail(conn, await _own(conn, user_id, pass_id), tz)


async def list_building_passes(
    conn: asyncpg.Connection,
    user: AuthUser,
    building_id: int,
    month_text: str | None,
    *,
    limit: int,
    offset: int,
    tz: ZoneInfo,
) -> list[BuildingPass]:
    """The building's passes, newest month first, plates masked."""
    await require_building(conn, user, building_id)
    month = parse_month(month_text) if month_text is not None else None
    passes = await repository.list_building_passes(
        conn, building_id, month, limit=limit, offset=offset
    )
    return [
        p.model_copy(
            update={"plate": mask_plate(p.plate), "created_at": p.created_at.astimezone(tz)}
        )
        for p in passes
    ]
