"""The authorization matrix: every role against every endpoint against someone else's object.

A victim manager owns a building (spaces, a rule, a blackout); a victim resident has a
vehicle, a reservation and a pass there. Every other caller (anonymous, another
resident, another manager, an admin where the object is not an admin's to manage) is
refused on every endpoint that names one of those objects, and nothing in the
database changes. A guard test makes sure every route of the app is in the matrix or
explicitly acts only on the caller's own data.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from parking.app import create_app
from parking.settings import Settings
from tests.factories import (
    at,
    insert_allocation_request,
    insert_pass,
    insert_reservation,
    make_building,
    make_manager,
    make_resident,
    make_user,
    night_in,
    token_headers,
)

# Routes anyone may call, and routes that only ever act on the caller's own data (their
# lists are checked below for leaks).
PUBLIC = {
    ("GET", "/"),
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/metrics"),  # PARKING_METRICS_TOKEN, when set, guards it
    ("POST", "/auth/register"),
    ("POST", "/auth/token"),
}
OWN_SCOPE = {
    ("GET", "/allocation-requests"),
    ("GET", "/auth/me"),
    ("POST", "/auth/password"),
    ("GET", "/charges"),
    ("GET", "/charges/statement"),
    ("GET", "/buildings"),
    ("GET", "/places"),
    ("GET", "/passes"),
    ("GET", "/reservations"),
    ("GET", "/residents/compounds"),
    ("GET", "/residents/me"),
    ("POST", "/residents/me/verification"),
    ("GET", "/vehicles"),
    ("POST", "/vehicles"),
}

DENIED = {401, 403, 404}


@dataclass
class World:
    victim_manager: int
    victim_resident: int
    building: int
    space: int
    rule: int
    blackout: int
    vehicle: int
    plate: str
    reservation: int
    pass_id: int
    night: dt.date
    compound: int
    headers: dict[str, dict[str, str]]
    allocation_request: int = 0
    charge: int = 0


async def _world(conn: asyncpg.Connection, settings: Settings) -> World:
    victim_manager = (await make_manager(conn)).id
    building = await make_building(
        conn, manager_id=victim_manager, spaces=3, monthly_pass_fen=30000
    )
    victim = await make_resident(conn)
    night = night_in(2)
    start = at(night, 20)
    reservation = await insert_reservation(
        conn,
        space_id=building.space_ids[0],
        resident=victim,
        start=start,
        end=start + dt.timedelta(hours=10),
    )
    month = night.replace(day=1) + dt.timedelta(days=32)
    month = month.replace(day=1)
    pass_id = await insert_pass(conn, building_id=building.id, resident=victim, month=month)
    await insert_reservation(
        conn,
        space_id=building.space_ids[1],
        resident=victim,
        pass_id=pass_id,
        start=at(month, 19),
        end=at(month, 19) + dt.timedelta(hours=12),
    )
    rule = await conn.fetchval("SELECT id FROM off_peak_rules WHERE building_id = $1", building.id)
    blackout = await conn.fetchval(
        """INSERT INTO blackouts (building_id, period, reason)
           VALUES ($1, tstzrange($2, $3), 'event') RETURNING id""",
        building.id,
        start + dt.timedelta(days=5),
        start + dt.timedelta(days=5, hours=3),
    )
    compound = await conn.fetchval("SELECT id FROM compounds ORDER BY id LIMIT 1")
    allocation_request = await insert_allocation_request(conn, victim, night)
    charge = await conn.fetchval(
        """INSERT INTO charges (kind, amount_fen, user_id, building_id, pass_id, occurred_at)
           VALUES ('pass', 30000, $1, $2, $3, now()) RETURNING id""",
        victim.user_id,
        building.id,
        pass_id,
    )

    attacker = await make_resident(conn)
    other_manager = (await make_manager(conn)).id
    await make_building(conn, manager_id=other_manager)
    admin = (await make_user(conn, "admin")).id
    headers = {
        "anonymous": {},
        "resident": token_headers(settings, attacker.user_id, "resident"),
        "manager": token_headers(settings, other_manager, "manager"),
        "admin": token_headers(settings, admin, "admin"),
    }
    return World(
        victim_manager=victim_manager,
        victim_resident=victim.user_id,
        building=building.id,
        space=building.space_ids[2],
        rule=rule,
        blackout=blackout,
        vehicle=victim.vehicle_id,
        plate=victim.plate,
        reservation=reservation,
        pass_id=pass_id,
        night=night,
        compound=compound,
        headers=headers,
        allocation_request=allocation_request,
        charge=charge,
    )


# (method, route, who is refused, body). Building routes: admins manage every building,
# so the refused are everyone but an admin. Resident-owned objects: everyone but their
# owner, admins included. Admin routes: everyone but an admin.
EVERYONE_BUT_ADMIN = ("anonymous", "resident", "manager")
EVERYONE = ("anonymous", "resident", "manager", "admin")


def _matrix(w: World) -> list[tuple[str, str, tuple[str, ...], Any]]:
    b = f"/buildings/{w.building}"
    later = dt.datetime.combine(w.night, dt.time(21)).isoformat() + "+08:00"
    much_later = dt.datetime.combine(w.night, dt.time(23)).isoformat() + "+08:00"
    booking = {"building_id": w.building, "night": w.night.isoformat(), "vehicle_id": w.vehicle}
    return [
        ("GET", b, EVERYONE_BUT_ADMIN, None),
        ("PATCH", b, EVERYONE_BUT_ADMIN, {"name": "Taken over"}),
        ("GET", f"{b}/spaces", EVERYONE_BUT_ADMIN, None),
        ("POST", f"{b}/spaces", EVERYONE_BUT_ADMIN, {"label": "X-1"}),
        ("PATCH", f"{b}/spaces/{w.space}", EVERYONE_BUT_ADMIN, {"shared": False}),
        ("DELETE", f"{b}/spaces/{w.space}", EVERYONE_BUT_ADMIN, None),
        ("GET", f"{b}/off-peak-rules", EVERYONE_BUT_ADMIN, None),
        (
            "POST",
            f"{b}/off-peak-rules",
            EVERYONE_BUT_ADMIN,
            {"start_time": "19:00", "end_time": "08:00", "valid_from": "2026-01-01"},
        ),
        ("DELETE", f"{b}/off-peak-rules/{w.rule}", EVERYONE_BUT_ADMIN, None),
        ("GET", f"{b}/blackouts", EVERYONE_BUT_ADMIN, None),
        ("POST", f"{b}/blackouts", EVERYONE_BUT_ADMIN, {"start": later, "end": much_later}),
        ("DELETE", f"{b}/blackouts/{w.blackout}", EVERYONE_BUT_ADMIN, None),
        ("GET", f"{b}/windows", EVERYONE_BUT_ADMIN, None),
        ("POST", f"{b}/gate-key", EVERYONE_BUT_ADMIN, None),
        ("GET", f"{b}/reservations", EVERYONE_BUT_ADMIN, None),
        ("GET", f"{b}/passes", EVERYONE_BUT_ADMIN, None),
        ("GET", f"{b}/sessions", EVERYONE_BUT_ADMIN, None),
        (
            "POST",
            "/gate/entries",
            EVERYONE_BUT_ADMIN,
            {"building_id": w.building, "plate": w.plate},
        ),
        ("POST", "/gate/exits", EVERYONE_BUT_ADMIN, {"building_id": w.building, "plate": w.plate}),
        (
            "POST",
            "/buildings",
            EVERYONE_BUT_ADMIN,
            {
                "district_place_id": "b-hijack",
                "name": "Hijack",
                "lat": 22.5,
                "lon": 114.1,
                "manager_id": w.victim_manager,
            },
        ),
        ("GET", f"/reservations/{w.reservation}", EVERYONE, None),
        ("POST", f"/reservations/{w.reservation}/cancel", EVERYONE, None),
        ("POST", f"/reservations/{w.reservation}/confirm", EVERYONE, None),
        ("POST", "/reservations", EVERYONE, booking),
        ("GET", f"/passes/{w.pass_id}", EVERYONE, None),
        (
            "POST",
            f"/passes/{w.pass_id}/nights/{w.night.isoformat()}/release",
            EVERYONE,
            None,
        ),
        (
            "POST",
            "/passes",
            EVERYONE,
            {
                "building_id": w.building,
                "vehicle_id": w.vehicle,
                "month": w.night.strftime("%Y-%m"),
            },
        ),
        ("DELETE", f"/vehicles/{w.vehicle}", EVERYONE, None),
        ("GET", f"/allocation-requests/{w.allocation_request}", EVERYONE, None),
        ("POST", f"/allocation-requests/{w.allocation_request}/withdraw", EVERYONE, None),
        (
            "POST",
            "/allocation-requests",
            EVERYONE,
            {"night": w.night.isoformat(), "vehicle_id": w.vehicle, "max_price_fen": 2000},
        ),
        ("GET", f"{b}/plans", EVERYONE_BUT_ADMIN, None),
        ("POST", f"{b}/plans", EVERYONE_BUT_ADMIN, {"mode": "per_use", "per_use_fee_fen": 1}),
        ("POST", f"{b}/plans/switch", EVERYONE_BUT_ADMIN, {"mode": "per_use"}),
        ("POST", f"{b}/plans/1/withdraw", EVERYONE_BUT_ADMIN, None),
        ("GET", f"{b}/revenue?from=2026-01&to=2026-12", EVERYONE_BUT_ADMIN, None),
        ("GET", f"{b}/advice?from=2026-01-01&to=2026-01-31", EVERYONE_BUT_ADMIN, None),
        (
            "POST",
            f"/admin/charges/{w.charge}/refunds",
            EVERYONE_BUT_ADMIN,
            {"amount_fen": 100, "reason": "goodwill"},
        ),
        ("GET", "/admin/users", EVERYONE_BUT_ADMIN[:3], None),
        (
            "POST",
            "/admin/users",
            EVERYONE_BUT_ADMIN,
            {"email": "new-admin@example.com", "password": "long-enough-pass", "role": "admin"},
        ),
        ("PATCH", f"/admin/users/{w.victim_manager}", EVERYONE_BUT_ADMIN, {"is_active": False}),
        ("GET", "/admin/calendar", EVERYONE_BUT_ADMIN, None),
        ("GET", "/admin/calendar/2026", EVERYONE_BUT_ADMIN, None),
        ("PUT", "/admin/calendar/2026", EVERYONE_BUT_ADMIN, []),
        ("DELETE", "/admin/calendar/2026", EVERYONE_BUT_ADMIN, None),
        ("GET", "/admin/compounds", EVERYONE_BUT_ADMIN, None),
        ("POST", "/admin/compounds", EVERYONE_BUT_ADMIN, {"name": "X", "lat": 22.5, "lon": 114.1}),
        ("PATCH", f"/admin/compounds/{w.compound}", EVERYONE_BUT_ADMIN, {"name": "Renamed"}),
        ("GET", "/admin/whitelist", EVERYONE_BUT_ADMIN, None),
        ("POST", "/admin/whitelist/import", EVERYONE_BUT_ADMIN, "csv"),
        # The platform's endpoints take a signature, never a bearer token: all refused.
        ("POST", "/integrations/district/reservations", EVERYONE, {"place_id": "b-x"}),
        ("POST", "/integrations/district/reservations/dp-1/cancel", EVERYONE, {}),
        ("POST", "/integrations/district/events", EVERYONE, {"type": "reconcile.requested"}),
        ("GET", "/admin/district/outbox", EVERYONE_BUT_ADMIN, None),
        ("POST", "/admin/district/outbox/1/replay", EVERYONE_BUT_ADMIN, None),
    ]


# A snapshot of every row of every table, to prove a refused request changed nothing.
_TABLES = """
SELECT tablename FROM pg_tables
WHERE schemaname = 'public'
  -- The caller's own record of a refused request is not a change of anyone's object;
  -- that no refused request left a success to replay is checked on its own.
  AND tablename <> 'idempotency_keys'
ORDER BY tablename
"""


async def _snapshot(conn: asyncpg.Connection) -> dict[str, str]:
    tables = [r["tablename"] for r in await conn.fetch(_TABLES)]
    snapshot = {}
    for table in tables:
        rows = "string_agg(t::text, '|' ORDER BY t::text)"
        snapshot[table] = await conn.fetchval(
            f"SELECT md5(coalesce({rows}, '')) FROM \"{table}\" t"
        )
    return snapshot


async def _send(client: AsyncTestClient, method: str, path: str, headers, body) -> Any:
    if body == "csv":
        return await client.request(
            method,
            path,
            content=b"compound,unit,phone\nX,1-1,13900000000\n",
            headers={**headers, "Content-Type": "text/csv"},
        )
    extra = {"Idempotency-Key": uuid.uuid4().hex} if method == "POST" else {}
    if body is None:
        return await client.request(method, path, headers={**headers, **extra})
    return await client.request(method, path, json=body, headers={**headers, **extra})


async def test_every_role_is_refused_someone_elses_objects(
    conn: asyncpg.Connection, settings: Settings
) -> None:
    world = await _world(conn, settings)
    before = await _snapshot(conn)
    failures = []
    async with AsyncTestClient(create_app(settings)) as client:
        for method, path, refused, body in _matrix(world):
            for role in refused:
                response = await _send(client, method, path, world.headers[role], body)
                if response.status_code not in DENIED:
                    failures.append(
                        f"{role} {method} {path}: {response.status_code} {response.text[:120]}"
                    )
                elif not response.headers["content-type"].startswith("application/problem+json"):
                    failures.append(f"{role} {method} {path}: not a problem document")
    assert "\n".join(failures) == ""
    assert await _snapshot(conn) == before
    assert (
        await conn.fetchval("SELECT count(*) FROM idempotency_keys WHERE response_status < 400")
        == 0
    )


async def test_lists_show_only_the_callers_own_objects(
    conn: asyncpg.Connection, settings: Settings
) -> None:
    world = await _world(conn, settings)
    async with AsyncTestClient(create_app(settings)) as client:
        resident = world.headers["resident"]
        manager = world.headers["manager"]
        reservations = (await client.get("/reservations", headers=resident)).json()
        passes = (await client.get("/passes", headers=resident)).json()
        vehicles = (await client.get("/vehicles", headers=resident)).json()
        buildings = (await client.get("/buildings", headers=manager)).json()
        requests = (await client.get("/allocation-requests", headers=resident)).json()
        charges = (await client.get("/charges", headers=resident)).json()

    def ids(answer: Any) -> set[int]:
        items = answer["items"] if isinstance(answer, dict) else answer
        return {item["id"] for item in items}

    assert world.reservation not in ids(reservations)
    assert world.pass_id not in ids(passes)
    assert world.vehicle not in ids(vehicles)
    assert world.building not in ids(buildings)
    assert world.allocation_request not in ids(requests)
    assert world.charge not in ids(charges)
    assert ids(vehicles)  # the caller's own vehicle is listed: the lists are not just empty


def test_every_route_is_in_the_matrix_or_acts_on_the_callers_own_data(settings: Settings) -> None:
    app = create_app(settings)
    world = World(0, 0, 1, 2, 3, 4, 5, "", 6, 7, dt.date(2026, 1, 1), 8, {}, 9)
    covered = set()
    for method, path, _, _ in _matrix(world):
        covered.add((method, path.partition("?")[0]))
    routes = set()
    for route in app.routes:
        # The web pages have their own matrix: tests/web/test_page_authorization.py.
        if route.path.startswith(("/static", "/schema", "/app")):
            continue
        for method in getattr(route, "methods", ()):
            if method in ("HEAD", "OPTIONS"):
                continue
            routes.add((method, route.path))

    def concrete(path: str) -> str:
        values = {
            "building_id": "1", "space_id": "2", "rule_id": "3", "blackout_id": "4",
            "vehicle_id": "5", "reservation_id": "6", "pass_id": "7", "night": "2026-01-01",
            "compound_id": "8", "year": "2026", "request_id": "9",
            "platform_reservation_id": "dp-1", "outbox_id": "1", "version": "1",
            "charge_id": "0", "user_id": "0",
        }  # fmt: skip
        return re.sub(r"\{(\w+):\w+\}", lambda m: values[m.group(1)], path)

    unchecked = sorted(
        (method, path)
        for method, path in routes
        if (method, concrete(path)) not in covered
        and (method, path) not in PUBLIC
        and (method, path) not in OWN_SCOPE
    )
    assert unchecked == [], "add these routes to the authorization matrix"
