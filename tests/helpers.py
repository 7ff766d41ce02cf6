"""Small helpers the tests share: accounts and tokens through the real API."""

from __future__ import annotations

import uuid

import asyncpg
from litestar.testing import AsyncTestClient

from parking.accounts.schemas import NewAccount
from parking.accounts.service import create_account

PASSWORD = "correct-horse-battery"


def unique_email(role: str) -> str:
    return f"{role}-{uuid.uuid4().hex[:10]}@example.com"


async def make_account(conn: asyncpg.Connection, role: str) -> str:
    """Create an account of ``role`` directly in the database; returns its email."""
    email = unique_email(role)
    await create_account(conn, NewAccount(email=email, password=PASSWORD, role=role))
    return email


async def token_for(client: AsyncTestClient, email: str, password: str = PASSWORD) -> str:
    response = await client.post("/auth/token", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


async def auth_headers(
    client: AsyncTestClient, conn: asyncpg.Connection, role: str
) -> dict[str, str]:
    email = await make_account(conn, role)
    return {"Authorization": f"Bearer {await token_for(client, email)}"}


def assert_problem(response, status: int, type_: str) -> dict:
    """The response is an RFC 9457 problem of this status and type, with the documented fields."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["type"] == type_
    assert body["title"]
    assert body["detail"]
    assert body["instance"]
    return body


async def make_verified_resident(
    conn: asyncpg.Connection,
    *,
    plates: tuple[str, ...] = (),
    compound: str = "测试花园 Test Gardens",
    lat: float = 22.5655,
    lon: float = 114.1287,
) -> tuple[str, int]:
    """A resident verified for a whitelist entry of its own, with ``plates`` registered.

    Returns (email, user id); the plates are stored normalised, as the API would.
    """
    from parking.plates import parse_plate

    email = await make_account(conn, "resident")
    user_id = await conn.fetchval("SELECT id FROM users WHERE email = $1", email)
    compound_id = await conn.fetchval(
        "INSERT INTO compounds (name, lat, lon) VALUES ($1, $2, $3)"
        " ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
        compound,
        lat,
        lon,
    )
    phone = f"139{user_id:08d}"
    whitelist_id = await conn.fetchval(
        "INSERT INTO residence_whitelist (compound_id, unit, phone) VALUES ($1, $2, $3)"
        " RETURNING id",
        compound_id,
        f"{user_id}栋 101",
        phone,
    )
    await conn.execute("UPDATE users SET phone = $2 WHERE id = $1", user_id, phone)
    await conn.execute(
        "INSERT INTO residencies (user_id, whitelist_id) VALUES ($1, $2)", user_id, whitelist_id
    )
    for raw in plates:
        plate = parse_plate(raw)
        await conn.execute(
            "INSERT INTO vehicles (user_id, plate, new_energy) VALUES ($1, $2, $3)",
            user_id,
            plate.plate,
            plate.new_energy,
        )
    return email, user_id
