"""Registration, tokens, expiry and role guards through the HTTP API."""

from __future__ import annotations

import time

import asyncpg
import jwt
from litestar.testing import AsyncTestClient

from tests.conftest import TEST_SECRET
from tests.helpers import PASSWORD, assert_problem, auth_headers, make_account, token_for


async def test_register_then_token_then_me(client: AsyncTestClient) -> None:
    response = await client.post(
        "/auth/register",
        json={"email": "Li.Na@Example.com", "password": PASSWORD, "display_name": "李娜"},
    )
    assert response.status_code == 201, response.text
    user = response.json()
    assert user["role"] == "resident"
    assert user["email"] == "li.na@example.com"
    assert "password" not in str(user)

    token = await token_for(client, "li.na@example.com")
    me = await client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["id"] == user["id"]


async def test_register_twice_is_a_conflict(client: AsyncTestClient) -> None:
    body = {"email": "twice@example.com", "password": PASSWORD}
    assert (await client.post("/auth/register", json=body)).status_code == 201
    assert_problem(await client.post("/auth/register", json=body), 409, "email-taken")


async def test_register_cannot_choose_a_role(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    body = {"email": "sneaky@example.com", "password": PASSWORD, "role": "admin"}
    assert_problem(await client.post("/auth/register", json=body), 422, "validation-error")
    assert await conn.fetchval("SELECT count(*) FROM users") == 0


async def test_wrong_password_is_refused(client: AsyncTestClient, conn: asyncpg.Connection) -> None:
    email = await make_account(conn, "resident")
    response = await client.post("/auth/token", json={"email": email, "password": "not-it-at-all"})
    assert_problem(response, 401, "invalid-credentials")
    unknown = await client.post(
        "/auth/token", json={"email": "nobody@example.com", "password": "x"}
    )
    assert_problem(unknown, 401, "invalid-credentials")


async def test_no_token_is_401(client: AsyncTestClient) -> None:
    assert_problem(await client.get("/auth/me"), 401, "unauthorized")
    assert_problem(await client.get("/admin/users"), 401, "unauthorized")


async def test_expired_token_is_refused(client: AsyncTestClient, conn: asyncpg.Connection) -> None:
    email = await make_account(conn, "resident")
    user_id = await conn.fetchval("SELECT id FROM users WHERE email = $1", email)
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "iat": now - 7200,
        "exp": now - 60,
        "extras": {"role": "resident"},
    }
    expired = jwt.encode(claims, TEST_SECRET, algorithm="HS256")
    response = await client.get("/auth/me", headers={"Authorization": f"Bearer {expired}"})
    assert_problem(response, 401, "unauthorized")
    # The same claims with a future expiry are accepted: it was the expiry that was refused.
    fresh = jwt.encode({**claims, "exp": now + 600}, TEST_SECRET, algorithm="HS256")
    assert (
        await client.get("/auth/me", headers={"Authorization": f"Bearer {fresh}"})
    ).status_code == 200


async def test_token_signed_with_another_key_is_refused(client: AsyncTestClient) -> None:
    now = int(time.time())
    forged = jwt.encode(
        {"sub": "1", "iat": now, "exp": now + 600, "extras": {"role": "admin"}},
        "some-other-key-entirely-some-other-key",
        algorithm="HS256",
    )
    response = await client.get("/admin/users", headers={"Authorization": f"Bearer {forged}"})
    assert_problem(response, 401, "unauthorized")


async def test_token_expiry_matches_settings(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    email = await make_account(conn, "resident")
    response = await client.post("/auth/token", json={"email": email, "password": PASSWORD})
    body = response.json()
    claims = jwt.decode(body["access_token"], TEST_SECRET, algorithms=["HS256"])
    assert body["expires_in"] == 3600
    assert 3590 <= claims["exp"] - int(time.time()) <= 3600


async def test_wrong_role_is_403(client: AsyncTestClient, conn: asyncpg.Connection) -> None:
    for role in ("resident", "manager"):
        headers = await auth_headers(client, conn, role)
        assert_problem(await client.get("/admin/users", headers=headers), 403, "forbidden")
        created = await client.post(
            "/admin/users",
            headers=headers,
            json={"email": f"x-{role}@example.com", "password": PASSWORD, "role": "admin"},
        )
        assert_problem(created, 403, "forbidden")
    assert await conn.fetchval("SELECT count(*) FROM users WHERE role = 'admin'") == 0


async def test_admin_creates_a_manager(client: AsyncTestClient, conn: asyncpg.Connection) -> None:
    headers = await auth_headers(client, conn, "admin")
    response = await client.post(
        "/admin/users",
        headers=headers,
        json={"email": "mgr@example.com", "password": PASSWORD, "role": "manager"},
    )
    assert response.status_code == 201, response.text
    listed = await client.get("/admin/users", params={"role": "manager"}, headers=headers)
    assert [u["email"] for u in listed.json()["items"]] == ["mgr@example.com"]
    token = await token_for(client, "mgr@example.com")
    me = await client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["role"] == "manager"


async def test_accounts_are_listed_a_page_at_a_time(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    headers = await auth_headers(client, conn, "admin")
    residents = [await make_account(conn, "resident") for _ in range(5)]
    first = await client.get(
        "/admin/users", params={"role": "resident", "limit": 2}, headers=headers
    )
    assert first.status_code == 200, first.text
    page = first.json()
    assert (page["limit"], page["offset"], page["total"]) == (2, 0, 5)
    assert [u["email"] for u in page["items"]] == residents[:2]
    last = await client.get(
        "/admin/users", params={"role": "resident", "limit": 2, "offset": 4}, headers=headers
    )
    assert [u["email"] for u in last.json()["items"]] == residents[4:]
    everyone = (await client.get("/admin/users", headers=headers)).json()
    assert everyone["total"] == 6 and everyone["limit"] == 50  # the admin too
    for params in ({"limit": 0}, {"limit": 201}, {"offset": -1}):
        assert_problem(
            await client.get("/admin/users", params=params, headers=headers),
            422,
            "validation-error",
        )
