"""Demo data: the Shuibei case, where office and jewellery-park parking opened at night.

Seeding is idempotent: running it again changes nothing and prints the same accounts.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from parking.accounts.schemas import NewAccount
from parking.accounts.service import create_account
from parking.plates import parse_plate

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
INSERT INTO buildings (district_place_id, manager_id, name, address, lat, lon, flat_fee_fen)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (district_place_id) DO NOTHING
RETURNING id
"""
# The Shuibei deal: 10 CNY per night's entry, shared every night from 19:00 to 08:00.
_DEMO_FLAT_FEE_FEN = 1000
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
                _INSERT_BUILDING,
                place_id,
                ids["manager"],
                name,
                address,
                lat,
                lon,
                _DEMO_FLAT_FEE_FEN,
            )
            if building_id is not None:
                await conn.execute(_INSERT_SPACES, building_id, spaces, ev)
            await conn.execute(_INSERT_WINDOW, place_id)
        for name, lat, lon in _COMPOUNDS:
            await conn.fetchval(_INSERT_COMPOUND, name, lat, lon)
        await conn.executemany(_INSERT_WHITELIST, _WHITELIST)
        await conn.execute(_VERIFY_RESIDENT, ids["resident"], *_DEMO_RESIDENCE)
        plate = parse_plate(_DEMO_PLATE)
        await conn.execute(_INSERT_VEHICLE, ids["resident"], plate.plate, plate.new_energy)
    return DEMO_ACCOUNTS
