"""Test data written straight into the database, so a test depends on no endpoint but its own.

Buildings with spaces, features and a nightly window; managers; verified residents with
vehicles; reservation, pass and outbox rows; bearer tokens signed with the test settings;
local times of a night. Every account it makes can also log in with ``tests.helpers.PASSWORD``.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from litestar.testing import AsyncTestClient

from parking.plates import parse_plate
from parking.security import build_jwt_auth, hash_password
from parking.settings import Settings
from tests.conftest import make_settings
from tests.helpers import PASSWORD, unique_email

__all__ = [
    "TZ",
    "Building",
    "Resident",
    "User",
    "add_blackout",
    "add_building",
    "add_plan",
    "add_space",
    "add_window",
    "at",
    "booking_body",
    "booking_headers",
    "insert_allocation_request",
    "insert_pass",
    "insert_reservation",
    "local",
    "local_today",
    "make_building",
    "make_manager",
    "make_resident",
    "make_user",
    "night_in",
    "outbox_rows",
    "post_booking",
    "random_plate",
    "token_headers",
    "tomorrow",
    "user_id_of",
]

# The local zone of the test settings: a night is the local date it starts on.
TZ = ZoneInfo("Asia/Shanghai")
_serials = itertools.count(random.randint(10_000, 50_000))


def random_plate() -> str:
    """A valid, distinct ordinary plate (粤B + five digits)."""
    return f"粤B{next(_serials) % 100_000:05d}"


# ---------------------------------------------------------------- local times of a night


def local_today() -> dt.date:
    return dt.datetime.now(TZ).date()


def night_in(days: int) -> dt.date:
    """The night that starts ``days`` local days from today (negative: in the past)."""
    return local_today() + dt.timedelta(days=days)


def tomorrow() -> dt.date:
    """A night whose window lies wholly in the future."""
    return night_in(1)


def at(night: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """Local ``hour:minute`` of the night that starts on ``night`` (hours < 12: next day)."""
    day = night if hour >= 12 else night + dt.timedelta(days=1)
    return local(day, hour, minute)


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """Local wall-clock ``hour:minute`` on ``day`` itself."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TZ)


def _night_of(start: dt.datetime) -> dt.date:
    local_start = start.astimezone(TZ)
    return local_start.date() - dt.timedelta(days=1 if local_start.hour < 12 else 0)


# ---------------------------------------------------------------- accounts and tokens


@dataclass(frozen=True)
class User:
    id: int
    email: str


@functools.cache
def _password_hash() -> str:
    # Hashed once per run: users are written in SQL, yet still log in through /auth/token.
    return hash_password(PASSWORD)


async def make_user(conn: asyncpg.Connection, role: str) -> User:
    email = unique_email(role)
    user_id = await conn.fetchval(
        "INSERT INTO users (email, password_hash, role) VALUES ($1, $2, $3) RETURNING id",
        email,
        _password_hash(),
        role,
    )
    return User(user_id, email)


async def make_manager(conn: asyncpg.Connection) -> User:
    return await make_user(conn, "manager")


async def user_id_of(conn: asyncpg.Connection, email: str) -> int:
    return await conn.fetchval("SELECT id FROM users WHERE email = $1", email)


def token_headers(settings: Settings, user_id: int, role: str) -> dict[str, str]:
    """Bearer headers signed with ``settings``' secret, as /auth/token would issue them."""
    token = build_jwt_auth(settings).create_token(
        identifier=str(user_id), token_extras={"role": role}
    )
    return {"Authorization": f"Bearer {token}"}


def booking_body(building: Building, resident: Resident, night: dt.date, **extra: object) -> dict:
    """A POST /reservations body for ``resident``'s first car; times in ``extra`` as ISO text."""
    return {
        "building_id": building.id,
        "night": night.isoformat(),
        "vehicle_id": resident.vehicle_id,
        **{k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in extra.items()},
    }


def booking_headers(resident: Resident, key: str | None = None) -> dict[str, str]:
    """``resident``'s bearer headers with an Idempotency-Key (a fresh one unless given)."""
    return {**resident.headers, "Idempotency-Key": key or uuid.uuid4().hex}


async def post_booking(
    client: AsyncTestClient,
    building: Building,
    resident: Resident,
    night: dt.date,
    *,
    key: str | None = None,
    **extra: object,
) -> httpx.Response:
    """POST /reservations for ``resident``'s first car under Idempotency-Key ``key`` (a fresh
    one unless given); ``extra`` goes into the body."""
    return await client.post(
        "/reservations",
        json=booking_body(building, resident, night, **extra),
        headers=booking_headers(resident, key),
    )


@functools.cache
def _signing_settings() -> Settings:
    # Only the secret and the token lifetime matter for signing; no database is opened.
    return make_settings("postgresql://unused@127.0.0.1/unused")


# ---------------------------------------------------------------- buildings


@dataclass(frozen=True)
class Building:
    id: int
    name: str
    manager_id: int | None
    space_ids: list[int]
    labels: dict[int, str] = field(default_factory=dict)


_building_numbers = itertools.count(1)


async def add_space(
    conn: asyncpg.Connection,
    building_id: int,
    label: str = "B1-001",
    features: Sequence[str] = (),
) -> int:
    return await conn.fetchval(
        "INSERT INTO spaces (building_id, label, features) VALUES ($1, $2, $3) RETURNING id",
        building_id,
        label,
        list(features),
    )


async def add_window(
    conn: asyncpg.Connection,
    building_id: int,
    start: dt.time = dt.time(19),
    end: dt.time = dt.time(7),
    valid_from: dt.date = dt.date(2020, 1, 1),
    valid_until: dt.date | None = None,
    *,
    day_class: str = "every_day",
    weekdays: Sequence[int] = (1, 2, 3, 4, 5, 6, 7),
) -> int:
    """An off-peak rule; the default one (every day) needs no holiday calendar."""
    return await conn.fetchval(
        "INSERT INTO off_peak_rules"
        " (building_id, day_class, weekdays, start_time, end_time, valid_from, valid_until)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        building_id,
        day_class,
        list(weekdays),
        start,
        end,
        valid_from,
        valid_until,
    )


async def add_blackout(
    conn: asyncpg.Connection, building_id: int, start: dt.datetime, end: dt.datetime
) -> int:
    return await conn.fetchval(
        "INSERT INTO blackouts (building_id, period) VALUES ($1, tstzrange($2, $3)) RETURNING id",
        building_id,
        start,
        end,
    )


async def add_building(
    conn: asyncpg.Connection,
    manager_id: int | None = None,
    *,
    status: str = "active",
    fee_fen: int | None = 1000,
    monthly_pass_fen: int | None = None,
    name: str | None = None,
) -> int:
    """A building alone, without spaces or windows; returns its id. Its price plan is one
    version in force since 2000: monthly when ``monthly_pass_fen`` is set, else per use."""
    building_id = await conn.fetchval(
        """INSERT INTO buildings (district_place_id, manager_id, name, lat, lon, status,
                                  flat_fee_fen, monthly_pass_fen)  -- deprecated: no plan
           VALUES ($1, $2, $3, 22.56, 114.13, $4, NULL, NULL) RETURNING id""",
        f"b-{uuid.uuid4().hex[:10]}",
        manager_id,
        name or f"Building {next(_building_numbers)}",
        status,
    )
    await add_plan(
        conn,
        building_id,
        mode="per_use" if monthly_pass_fen is None else "monthly",
        per_use_fee_fen=fee_fen,
        monthly_fee_fen=monthly_pass_fen,
    )
    return building_id


async def make_building(
    conn: asyncpg.Connection,
    *,
    spaces: int = 2,
    features: Sequence[Sequence[str]] = (),
    start: dt.time = dt.time(19),
    end: dt.time = dt.time(7),
    valid_from: dt.date = dt.date(2020, 1, 1),
    fee_fen: int | None = 1000,
    monthly_pass_fen: int | None = None,
    status: str = "active",
    manager_id: int | None = None,
) -> Building:
    """A building sharing ``spaces`` spaces (``features[i]`` on the i-th) every night from
    ``start`` to ``end``."""
    name = f"Building {next(_building_numbers)}"
    building_id = await add_building(
        conn,
        manager_id,
        status=status,
        fee_fen=fee_fen,
        monthly_pass_fen=monthly_pass_fen,
        name=name,
    )
    building = Building(building_id, name, manager_id, [])
    for i in range(spaces):
        label = f"B1-{i + 1:03d}"
        space_features = features[i] if i < len(features) else ()
        space_id = await add_space(conn, building.id, label, space_features)
        building.space_ids.append(space_id)
        building.labels[space_id] = label
    await add_window(conn, building.id, start, end, valid_from)
    return building


# ---------------------------------------------------------------- residents


@dataclass(frozen=True)
class Resident:
    id: int
    email: str
    vehicle_ids: list[int]
    plates: list[str]
    headers: dict[str, str]

    @property
    def user_id(self) -> int:
        return self.id

    @property
    def vehicle_id(self) -> int:
        return self.vehicle_ids[0]

    @property
    def plate(self) -> str:
        return self.plates[0]


async def make_resident(
    conn: asyncpg.Connection,
    settings: Settings | None = None,
    *,
    vehicles: int = 1,
    plates: Sequence[str] | None = None,
    verified: bool = True,
    compound: str = "测试花园 Test Gardens",
    lat: float = 22.5655,
    lon: float = 114.1287,
) -> Resident:
    """A resident, verified for a whitelist entry of its own unless told otherwise, with
    ``plates`` registered (stored normalised, as the API would) or else ``vehicles`` cars.

    ``headers`` are a bearer token signed with ``settings`` (default: the suite's secret).
    """
    user = await make_user(conn, "resident")
    if verified:
        compound_id = await conn.fetchval(
            "INSERT INTO compounds (name, lat, lon) VALUES ($1, $2, $3)"
            " ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
            compound,
            lat,
            lon,
        )
        phone = f"139{user.id:08d}"
        whitelist_id = await conn.fetchval(
            "INSERT INTO residence_whitelist (compound_id, unit, phone) VALUES ($1, $2, $3)"
            " RETURNING id",
            compound_id,
            f"{user.id}栋 101",
            phone,
        )
        await conn.execute("UPDATE users SET phone = $2 WHERE id = $1", user.id, phone)
        await conn.execute(
            "INSERT INTO residencies (user_id, whitelist_id) VALUES ($1, $2)",
            user.id,
            whitelist_id,
        )
    raw_plates = list(plates) if plates is not None else [random_plate() for _ in range(vehicles)]
    vehicle_ids, stored = [], []
    for raw in raw_plates:
        plate = parse_plate(raw)
        vehicle_ids.append(
            await conn.fetchval(
                "INSERT INTO vehicles (user_id, plate, new_energy) VALUES ($1, $2, $3)"
                " RETURNING id",
                user.id,
                plate.plate,
                plate.new_energy,
            )
        )
        stored.append(plate.plate)
    headers = token_headers(settings or _signing_settings(), user.id, "resident")
    return Resident(user.id, user.email, vehicle_ids, stored, headers)


# ---------------------------------------------------------------- reservations, passes, outbox


async def insert_reservation(
    conn: asyncpg.Connection,
    *,
    space_id: int,
    start: dt.datetime,
    end: dt.datetime,
    resident: Resident | None = None,
    plate: str | None = None,
    night: dt.date | None = None,
    status: str = "confirmed",
    hold_expires_at: dt.datetime | None = None,
    user_id: int | None = None,
    vehicle_id: int | None = None,
    pass_id: int | None = None,
    fee_fen: int = 1000,
) -> int:
    """A reservation row as the booking flow leaves it: ``resident``'s first car (or the
    given user, vehicle and plate), a night of pass ``pass_id``, or without a user one
    booked on the district platform. A hold expires at ``end`` unless told."""
    if resident is not None:
        user_id, vehicle_id = resident.id, resident.vehicle_id
        plate = plate or resident.plate
    if status == "held" and hold_expires_at is None:
        hold_expires_at = end
    if pass_id is not None:
        kind, source = "pass_night", "pass"
    else:
        kind, source = "booking", "app" if user_id is not None else "platform"
    return await conn.fetchval(
        """
        INSERT INTO reservations (kind, pass_id, user_id, vehicle_id, plate, building_id,
                                  space_id, night, stay, status, hold_expires_at, source,
                                  fee_fen)
        SELECT $1, $2, $3, $4, $5, building_id, id, $6, tstzrange($7, $8), $9, $10, $11, $12
        FROM spaces WHERE id = $13
        RETURNING id
        """,
        kind,
        pass_id,
        user_id,
        vehicle_id,
        plate or random_plate(),
        night or _night_of(start),
        start,
        end,
        status,
        hold_expires_at,
        source,
        0 if pass_id is not None else fee_fen,
        space_id,
    )


async def insert_pass(
    conn: asyncpg.Connection,
    *,
    building_id: int,
    month: dt.date,
    resident: Resident | None = None,
    user_id: int | None = None,
    vehicle_id: int | None = None,
    plate: str | None = None,
    price_fen: int = 30_000,
) -> int:
    """An active monthly pass row for ``resident``'s first car (or the given user, vehicle
    and plate), without its nights (claim those with ``insert_reservation(pass_id=...)``)."""
    if resident is not None:
        user_id, vehicle_id, plate = resident.id, resident.vehicle_id, resident.plate
    return await conn.fetchval(
        "INSERT INTO passes (user_id, vehicle_id, plate, building_id, month, price_fen)"
        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        user_id,
        vehicle_id,
        plate,
        building_id,
        month,
        price_fen,
    )


async def outbox_rows(conn: asyncpg.Connection, kind: str | None = None) -> list[asyncpg.Record]:
    """The outbox messages, oldest first, of one entity kind or of all."""
    return await conn.fetch(
        "SELECT entity_kind, entity_key, version, payload FROM outbox"
        " WHERE $1::text IS NULL OR entity_kind = $1 ORDER BY id",
        kind,
    )


async def insert_allocation_request(
    conn: asyncpg.Connection,
    resident: Resident,
    night: dt.date,
    *,
    arrive: dt.datetime | None = None,
    depart: dt.datetime | None = None,
    max_walk_m: int = 800,
    max_price_fen: int = 2000,
    needs: Sequence[str] = (),
) -> int:
    """A pending request of ``resident``'s first car for ``night``'s allocation, as the
    request API leaves it (default stay: 19:00 to 07:00)."""
    return await conn.fetchval(
        """INSERT INTO allocation_requests (user_id, vehicle_id, plate, night, stay, max_walk_m,
                                            max_price_fen, needs)
           VALUES ($1, $2, $3, $4, tstzrange($5, $6), $7, $8, $9) RETURNING id""",
        resident.id,
        resident.vehicle_id,
        resident.plate,
        night,
        arrive or at(night, 19),
        depart or at(night, 7),
        max_walk_m,
        max_price_fen,
        list(needs),
    )


async def add_plan(
    conn: asyncpg.Connection,
    building_id: int,
    *,
    mode: str = "per_use",
    per_use_fee_fen: int | None = 1000,
    monthly_fee_fen: int | None = None,
    effective_from: dt.date = dt.date(2000, 1, 1),
    version: int | None = None,
    **terms: int,
) -> int:
    """A price plan version of the building (the next version unless given); its row id.

    ``terms``: overstay_fen_per_hour, overstay_grace_minutes, no_show_fee_fen,
    free_cancel_minutes, late_cancel_fee_fen (default 0).
    """
    columns = "".join(f", {name}" for name in terms)
    values = "".join(f", ${i}" for i in range(7, 7 + len(terms)))
    return await conn.fetchval(
        f"""INSERT INTO price_plans (building_id, version, mode, per_use_fee_fen,
                                     monthly_fee_fen, effective_from{columns})
            VALUES ($1, coalesce($2, (SELECT coalesce(max(version), 0) + 1 FROM price_plans
                                      WHERE building_id = $1)),
                    $3, $4, $5, $6{values})
            RETURNING id""",
        building_id,
        version,
        mode,
        per_use_fee_fen,
        monthly_fee_fen,
        effective_from,
        *terms.values(),
    )
