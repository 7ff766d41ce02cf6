"""Demo data: the Shuibei case, where office and jewellery-park parking opened at night.

The jewellery park's P2 tells the story of the seed: it sold a 300 CNY monthly night
pass until October 2026 (40 holders, each parking 8 nights), and switched to 10 CNY per
use on 1 November 2026; ``parking advise`` on October shows why. Seeding is idempotent:
running it again changes nothing and prints the same accounts.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

import asyncpg

from parking.accounts.schemas import NewAccount
from parking.accounts.service import create_account
from parking.plates import parse_plate
from parking.security import hash_password

__all__ = ["DEMO_ACCOUNTS", "DemoAccount", "seed_demo"]


@dataclass(frozen=True, slots=True)
class DemoAccount:
    role: str
    email: str
    password: str
    display_name: str
    phone: str | None = None


DEMO_ACCOUNTS = (
    DemoAccount("admin", "admin@demo.parking", "demo-admin-pass", "社区办公室 Community office"),
    DemoAccount(
        "manager", "manager@demo.parking", "demo-manager-pass", "万山物业 Wanshan estate office"
    ),
    DemoAccount(
        "resident", "resident@demo.parking", "demo-resident-pass", "李女士 Ms Li", "13800138001"
    ),
)

# (district place id, name, address, lat, lon, shared spaces, of which EV)
_BUILDINGS = (
    (
        "b-wanshan-p2",
        "水贝万山珠宝园 P2 Shuibei Wanshan Jewelry Park P2",
        "深圳市罗湖区水贝二路",
        22.5661,
        114.1302,
        120,
        12,
    ),
    (
        "b-jewelry-hq",
        "水贝珠宝总部大厦 Shuibei Jewelry HQ Tower",
        "深圳市罗湖区田贝四路",
        22.5672,
        114.1279,
        40,
        4,
    ),
    (
        "b-tianbei-ctr",
        "田贝商务中心 Tianbei Business Centre",
        "深圳市罗湖区文锦北路",
        22.5639,
        114.1318,
        30,
        0,
    ),
)

_COMPOUNDS = (
    ("贝丽花园", 22.5655, 114.1287),
    ("深华丽园", 22.5668, 114.1321),
)

# (compound, building/unit, phone): the community office's whitelist.
_WHITELIST = (
    ("贝丽花园", "3栋 502", "13800138001"),
    ("贝丽花园", "3栋 1201", "13800138002"),
    ("贝丽花园", "5栋 803", "13800138003"),
    ("深华丽园", "A座 1502", "13900139001"),
    ("深华丽园", "B座 703", "13900139002"),
)

_FIND_USER = "SELECT id FROM users WHERE email = $1"
_INSERT_BUILDING = """
INSERT INTO buildings (district_place_id, manager_id, name, address, lat, lon,
                       flat_fee_fen, monthly_pass_fen)  -- deprecated; the plans come below
VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL)
ON CONFLICT (district_place_id) DO NOTHING
RETURNING id
"""
# The Shuibei deal: 10 CNY per night's entry, shared every night from 19:00 to 08:00,
# 10 CNY per started hour after 08:15.
_DEMO_FLAT_FEE_FEN = 1000
_DEMO_MONTHLY_FEE_FEN = 30000
_STORY_PLACE_ID = "b-wanshan-p2"
_HISTORY_MONTH = dt.date(2026, 10, 1)
_SWITCH_TO_PER_USE = dt.date(2026, 11, 1)
_PASS_HOLDERS = 40
_NIGHTS_PARKED = 8
# (version, mode, per-use fee, monthly fee, effective from) per building: the story's
# building sold passes first, the others were per use from the start.
_PLANS = {
    _STORY_PLACE_ID: (
        (1, "monthly", None, _DEMO_MONTHLY_FEE_FEN, dt.date(2026, 1, 1)),
        (2, "per_use", _DEMO_FLAT_FEE_FEN, _DEMO_MONTHLY_FEE_FEN, _SWITCH_TO_PER_USE),
    ),
}
_DEFAULT_PLANS = ((1, "per_use", _DEMO_FLAT_FEE_FEN, None, dt.date(2026, 1, 1)),)
_INSERT_PLAN = """
INSERT INTO price_plans (building_id, version, mode, per_use_fee_fen, monthly_fee_fen,
                         overstay_fen_per_hour, overstay_grace_minutes, effective_from)
SELECT id, $2, $3, $4, $5, 1000, 15, $6 FROM buildings WHERE district_place_id = $1
ON CONFLICT (building_id, version) DO NOTHING
"""
_HAS_HISTORY = """
SELECT EXISTS (SELECT 1 FROM passes p JOIN buildings b ON b.id = p.building_id
               WHERE b.district_place_id = $1 AND p.month = $2)
"""
# Pass holders who cannot log in (their password hash is of a random secret).
_INSERT_HOLDERS = """
INSERT INTO users (email, password_hash, role, display_name)
SELECT 'holder' || lpad(n::text, 2, '0') || '@demo.parking', $1, 'resident', 'Pass holder ' || n
FROM generate_series(1, $2) AS n
ON CONFLICT (email) DO NOTHING
"""
_INSERT_HOLDER_CARS = """
INSERT INTO vehicles (user_id, plate, new_energy)
SELECT u.id, '粤BP' || lpad(n::text, 4, '0'), false
FROM generate_series(1, $1) AS n
JOIN users u ON u.email = 'holder' || lpad(n::text, 2, '0') || '@demo.parking'
ON CONFLICT (plate) DO NOTHING
"""
# Holder n has the n-th space every night of the month, bought on the 25th before it,
# at the version-1 monthly fee; the ledger has its pass charge.
_INSERT_PASSES = """
WITH p AS (
    INSERT INTO passes (user_id, vehicle_id, plate, building_id, month, price_fen, plan_id,
                        created_at)
    SELECT v.user_id, v.id, v.plate, b.id, $2::date, pl.monthly_fee_fen, pl.id,
           ($2::date - 6 + time '10:00') AT TIME ZONE $3
    FROM generate_series(1, $4) AS n
    JOIN vehicles v ON v.plate = '粤BP' || lpad(n::text, 4, '0')
    JOIN buildings b ON b.district_place_id = $1
    JOIN price_plans pl ON pl.building_id = b.id AND pl.version = 1
    RETURNING id, user_id, building_id, month, price_fen, plan_id, created_at
)
INSERT INTO charges (kind, amount_fen, user_id, building_id, pass_id, plan_id, plan_version,
                     night, occurred_at)
SELECT 'pass', price_fen, user_id, building_id, id, plan_id, 1, month, created_at FROM p
"""
# Every night of the month a claim 19:00-08:00 on the holder's space; holder n parked on
# the nights n, n + 4, ... (mod the month), 20:00 to 07:00, and left the others empty.
_INSERT_PASS_NIGHTS = """
INSERT INTO reservations (kind, pass_id, user_id, vehicle_id, plate, building_id, space_id,
                          night, stay, status, source, checked_in_at, ended_at, created_at,
                          updated_at)
SELECT 'pass_night', p.id, p.user_id, p.vehicle_id, p.plate, p.building_id, s.id, d.night,
       tstzrange((d.night + time '19:00') AT TIME ZONE $3,
                 (d.night + 1 + time '08:00') AT TIME ZONE $3),
       CASE WHEN d.parked THEN 'completed' ELSE 'confirmed' END, 'pass',
       CASE WHEN d.parked THEN (d.night + time '20:00') AT TIME ZONE $3 END,
       CASE WHEN d.parked THEN (d.night + 1 + time '07:00') AT TIME ZONE $3 END,
       p.created_at, p.created_at
FROM passes p
JOIN buildings b ON b.id = p.building_id AND b.district_place_id = $1
CROSS JOIN LATERAL (SELECT substr(p.plate, 4)::int AS n) AS h
JOIN spaces s ON s.building_id = b.id AND s.label = 'B1-' || lpad(h.n::text, 3, '0')
CROSS JOIN LATERAL (
    SELECT $2::date + i AS night, (i - h.n + 62) % 31 % 4 = 0 AND (i - h.n + 62) % 31 < $4 * 4
           AS parked
    FROM generate_series(0, 30) AS i
) AS d
WHERE p.month = $2::date
"""
_INSERT_PASS_SESSIONS = """
INSERT INTO gate_sessions (building_id, plate, entered_at, exited_at, reservation_id)
SELECT r.building_id, r.plate, r.checked_in_at, r.ended_at, r.id
FROM reservations r JOIN buildings b ON b.id = r.building_id
WHERE b.district_place_id = $1 AND r.night BETWEEN $2::date AND $2::date + 30
  AND r.status = 'completed'
"""
# Only for a building that has no rule yet, so a manager's own rules are never doubled.
_INSERT_WINDOW = """
INSERT INTO off_peak_rules (building_id, day_class, start_time, end_time, valid_from)
SELECT b.id, 'every_day', '19:00', '08:00', '2026-01-01'
FROM buildings b
WHERE b.district_place_id = $1
  AND NOT EXISTS (SELECT 1 FROM off_peak_rules r WHERE r.building_id = b.id)
"""
_INSERT_SPACES = """
INSERT INTO spaces (building_id, label, level, features)
SELECT $1, 'B1-' || lpad(n::text, 3, '0'), 'B1',
       CASE WHEN n <= $3 THEN ARRAY['ev'] ELSE ARRAY[]::text[] END
FROM generate_series(1, $2) AS n
ON CONFLICT (building_id, label) DO NOTHING
"""
_INSERT_COMPOUND = """
INSERT INTO compounds (name, lat, lon) VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE SET lat = EXCLUDED.lat, lon = EXCLUDED.lon
RETURNING id
"""
_INSERT_WHITELIST = """
INSERT INTO residence_whitelist (compound_id, unit, phone)
SELECT id, $2, $3 FROM compounds WHERE name = $1
ON CONFLICT (compound_id, unit, phone) DO NOTHING
"""
# The demo resident is verified for her whitelist entry and has one car.
_DEMO_RESIDENCE = ("贝丽花园", "3栋 502", "13800138001")
_DEMO_PLATE = "粤B12345"
_VERIFY_RESIDENT = """
INSERT INTO residencies (user_id, whitelist_id)
SELECT $1, w.id
FROM residence_whitelist w JOIN compounds c ON c.id = w.compound_id
WHERE c.name = $2 AND w.unit = $3 AND w.phone = $4
ON CONFLICT DO NOTHING
"""
_INSERT_VEHICLE = """
INSERT INTO vehicles (user_id, plate, new_energy) VALUES ($1, $2, $3)
ON CONFLICT (plate) DO NOTHING
"""


async def _account_id(conn: asyncpg.Connection, account: DemoAccount) -> int:
    existing = await conn.fetchval(_FIND_USER, account.email)
    if existing is not None:
        return existing
    user = await create_account(
        conn,
        NewAccount(
            email=account.email,
            password=account.password,
            role=account.role,
            display_name=account.display_name,
            phone=account.phone,
        ),
    )
    return user.id


async def seed_demo(conn: asyncpg.Connection) -> tuple[DemoAccount, ...]:
    """Seed accounts, buildings with their shared spaces, nightly window and fee, compounds,
    the whitelist, and the demo resident's verification and car."""
    async with conn.transaction():
        ids = {a.role: await _account_id(conn, a) for a in DEMO_ACCOUNTS}
        for place_id, name, address, lat, lon, spaces, ev in _BUILDINGS:
            building_id = await conn.fetchval(
                _INSERT_BUILDING, place_id, ids["manager"], name, address, lat, lon
            )
            if building_id is not None:
                await conn.execute(_INSERT_SPACES, building_id, spaces, ev)
            await conn.execute(_INSERT_WINDOW, place_id)
            for plan in _PLANS.get(place_id, _DEFAULT_PLANS):
                await conn.execute(_INSERT_PLAN, place_id, *plan)
        for name, lat, lon in _COMPOUNDS:
            await conn.fetchval(_INSERT_COMPOUND, name, lat, lon)
        await conn.executemany(_INSERT_WHITELIST, _WHITELIST)
        await conn.execute(_VERIFY_RESIDENT, ids["resident"], *_DEMO_RESIDENCE)
        plate = parse_plate(_DEMO_PLATE)
        await conn.execute(_INSERT_VEHICLE, ids["resident"], plate.plate, plate.new_energy)
        if not await conn.fetchval(_HAS_HISTORY, _STORY_PLACE_ID, _HISTORY_MONTH):
            await _seed_monthly_history(conn)
    return DEMO_ACCOUNTS


async def _seed_monthly_history(conn: asyncpg.Connection) -> None:
    """October 2026 at P2 under the monthly plan: 40 passes, each used 8 nights of 11 hours."""
    tz = "Asia/Shanghai"  # the demo's dates are Shuibei's, whatever the service's zone
    await conn.execute(_INSERT_HOLDERS, hash_password(secrets.token_urlsafe(16)), _PASS_HOLDERS)
    await conn.execute(_INSERT_HOLDER_CARS, _PASS_HOLDERS)
    await conn.execute(_INSERT_PASSES, _STORY_PLACE_ID, _HISTORY_MONTH, tz, _PASS_HOLDERS)
    await conn.execute(_INSERT_PASS_NIGHTS, _STORY_PLACE_ID, _HISTORY_MONTH, tz, _NIGHTS_PARKED)
    await conn.execute(_INSERT_PASS_SESSIONS, _STORY_PLACE_ID, _HISTORY_MONTH)
