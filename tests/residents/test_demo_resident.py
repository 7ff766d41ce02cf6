"""The demo seed makes its resident verified, with a car, however often it runs."""

from __future__ import annotations

import asyncpg

from parking.demo import seed_demo
from parking.residents import service

_RESIDENT = """
SELECT u.id, v.plate, v.new_energy
FROM users u JOIN vehicles v ON v.user_id = u.id
WHERE u.email = 'resident@demo.parking'
"""


async def test_demo_resident_is_verified_and_has_a_car(conn: asyncpg.Connection) -> None:
    await seed_demo(conn)
    await seed_demo(conn)
    rows = await conn.fetch(_RESIDENT)
    assert [(r["plate"], r["new_energy"]) for r in rows] == [("粤B12345", False)]
    residency = await service.require_verified(conn, rows[0]["id"])
    assert (residency.compound_name, residency.unit) == ("贝丽花园", "3栋 502")
    assert await conn.fetchval("SELECT count(*) FROM residencies") == 1
