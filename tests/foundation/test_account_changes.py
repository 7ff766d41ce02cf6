"""An admin deactivates, reactivates or sets a new password for an account: every token the
account held stops working at once, on the API, the pages and the gate alike."""

from __future__ import annotations

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from tests.factories import make_building, random_plate
from tests.helpers import PASSWORD, assert_problem, login_headers, make_account

NEW_PASSWORD = "a-new-password-2026"


async def _id(conn: asyncpg.Connection, email: str) -> int:
    return await conn.fetchval("SELECT id FROM users WHERE email = $1", email)


async def _token(client: AsyncTestClient, email: str, password: str = PASSWORD):
    return await client.post("/auth/token", json={"email": email, "password": password})


@pytest.fixture
async def admin(client: AsyncTestClient, conn: asyncpg.Connection) -> dict[str, str]:
    return await login_headers(client, await make_account(conn, "admin"))


async def test_a_deactivated_account_is_signed_out_at_once_and_cannot_sign_in(
    client: AsyncTestClient, conn: asyncpg.Connection, admin: dict[str, str]
) -> None:
    email = await make_account(conn, "manager")
    manager = await login_headers(client, email)
    assert (await client.get("/auth/me", headers=manager)).status_code == 200
    user_id = await _id(conn, email)

    answer = await client.patch(f"/admin/users/{user_id}", json={"is_active": False}, headers=admin)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["id"], answer.json()["is_active"]) == (user_id, False)
    # The token issued before is refused everywhere, well before it would expire.
    assert_problem(await client.get("/auth/me", headers=manager), 401, "unauthorized")
    assert_problem(await client.get("/buildings", headers=manager), 401, "unauthorized")
    # Signing in is refused as a wrong password is: nothing is told about the account.
    assert_problem(await _token(client, email), 401, "invalid-credentials")

    again = await client.patch(f"/admin/users/{user_id}", json={"is_active": True}, headers=admin)
    assert again.status_code == 200 and again.json()["is_active"] is True
    # Reactivating does not bring old tokens back; signing in again does.
    assert_problem(await client.get("/auth/me", headers=manager), 401, "unauthorized")
    fresh = await login_headers(client, email)
    assert (await client.get("/auth/me", headers=fresh)).json()["id"] == user_id


async def test_a_new_password_ends_the_sessions_before_it(
    client: AsyncTestClient, conn: asyncpg.Connection, admin: dict[str, str]
) -> None:
    email = await make_account(conn, "resident")
    resident = await login_headers(client, email)
    user_id = await _id(conn, email)
    answer = await client.patch(
        f"/admin/users/{user_id}", json={"password": NEW_PASSWORD}, headers=admin
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["is_active"] is True and "password" not in answer.text
    assert_problem(await client.get("/auth/me", headers=resident), 401, "unauthorized")
    assert_problem(await _token(client, email), 401, "invalid-credentials")
    signed_in = await _token(client, email, NEW_PASSWORD)
    assert signed_in.status_code == 200, signed_in.text
    headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    assert (await client.get("/auth/me", headers=headers)).status_code == 200


async def test_a_deactivated_managers_bearer_token_no_longer_opens_the_gate(
    client: AsyncTestClient, conn: asyncpg.Connection, admin: dict[str, str]
) -> None:
    email = await make_account(conn, "manager")
    user_id = await _id(conn, email)
    building = await make_building(conn, manager_id=user_id)
    manager = await login_headers(client, email)
    body = {"building_id": building.id, "plate": random_plate()}
    entered = await client.post("/gate/entries", json=body, headers=manager)
    assert entered.status_code == 201, entered.text
    await client.patch(f"/admin/users/{user_id}", json={"is_active": False}, headers=admin)
    body = {"building_id": building.id, "plate": random_plate()}
    assert_problem(
        await client.post("/gate/entries", json=body, headers=manager), 401, "unauthorized"
    )
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM gate_sessions WHERE building_id = $1", building.id
        )
        == 1
    )


async def test_refused_changes_change_nothing(
    client: AsyncTestClient, conn: asyncpg.Connection, admin: dict[str, str]
) -> None:
    me = (await client.get("/auth/me", headers=admin)).json()["id"]
    email = await make_account(conn, "manager")
    user_id = await _id(conn, email)
    manager = await login_headers(client, email)

    async def state() -> list[tuple]:
        rows = await conn.fetch(
            "SELECT id, is_active, password_hash, token_generation FROM users ORDER BY id"
        )
        return [tuple(r) for r in rows]

    before = await state()
    # An admin cannot lock themselves out.
    own = await client.patch(f"/admin/users/{me}", json={"is_active": False}, headers=admin)
    assert_problem(own, 409, "own-account")
    assert_problem(
        await client.patch("/admin/users/999999", json={"is_active": False}, headers=admin),
        404,
        "not-found",
    )
    for body in ({}, {"password": "short"}, {"is_active": "maybe"}, {"role": "admin"}):
        assert_problem(
            await client.patch(f"/admin/users/{user_id}", json=body, headers=admin),
            422,
            "validation-error",
        )
    # Only an admin changes accounts.
    assert_problem(
        await client.patch(f"/admin/users/{user_id}", json={"is_active": False}, headers=manager),
        403,
        "forbidden",
    )
    assert await state() == before
    assert (await client.get("/auth/me", headers=admin)).status_code == 200
    assert (await client.get("/auth/me", headers=manager)).status_code == 200


async def test_a_user_sets_a_new_password_and_their_other_sessions_end(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    email = await make_account(conn, "manager")
    here, elsewhere = await login_headers(client, email), await login_headers(client, email)
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    answer = await client.post("/auth/password", json=body, headers=here)
    assert answer.status_code == 200, answer.text
    fresh = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    assert (await client.get("/auth/me", headers=fresh)).status_code == 200
    for old in (here, elsewhere):
        assert_problem(await client.get("/auth/me", headers=old), 401, "unauthorized")
    assert_problem(await _token(client, email), 401, "invalid-credentials")
    assert (await _token(client, email, NEW_PASSWORD)).status_code == 200


async def test_a_wrong_current_password_or_a_bad_new_one_changes_nothing(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    email = await make_account(conn, "resident")
    headers = await login_headers(client, email)
    before = await conn.fetchrow(
        "SELECT password_hash, token_generation FROM users WHERE email = $1", email
    )
    wrong = {"current_password": "not-the-password", "new_password": NEW_PASSWORD}
    assert_problem(
        await client.post("/auth/password", json=wrong, headers=headers), 403, "wrong-password"
    )
    for body in (
        {"current_password": PASSWORD, "new_password": "short"},
        {"current_password": PASSWORD},
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "role": "admin"},
    ):
        assert_problem(
            await client.post("/auth/password", json=body, headers=headers),
            422,
            "validation-error",
        )
    right = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert_problem(await client.post("/auth/password", json=right), 401, "unauthorized")
    after = await conn.fetchrow(
        "SELECT password_hash, token_generation FROM users WHERE email = $1", email
    )
    assert after == before
    assert (await client.get("/auth/me", headers=headers)).status_code == 200
