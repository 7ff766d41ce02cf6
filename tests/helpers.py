"""Small helpers the tests share: accounts and tokens through the real API, and the
``parking`` command run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import asyncpg
from litestar.testing import AsyncTestClient

from parking.accounts.schemas import NewAccount
from parking.accounts.service import create_account
from tests.conftest import REPO_ROOT

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


async def login_headers(client: AsyncTestClient, email: str) -> dict[str, str]:
    """Bearer headers for ``email``, logged in through /auth/token."""
    return {"Authorization": f"Bearer {await token_for(client, email)}"}


async def auth_headers(
    client: AsyncTestClient, conn: asyncpg.Connection, role: str
) -> dict[str, str]:
    return await login_headers(client, await make_account(conn, role))


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


def parking(
    *args: str, dsn: str, input_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m parking ARGS`` in a process of its own against ``dsn``, with none of the
    developer's PARKING_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARKING_")}
    env["PARKING_DATABASE_URL"] = dsn
    return subprocess.run(
        [sys.executable, "-m", "parking", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        input=input_text,
        timeout=120,
    )
