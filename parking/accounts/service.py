"""Account use cases: register, issue tokens, create accounts of any role."""

from __future__ import annotations

import asyncio

import asyncpg

from parking.accounts import repository
from parking.accounts.schemas import NewAccount, Registration, User
from parking.errors import Problem
from parking.security import hash_password, verify_password

__all__ = ["authenticate", "create_account", "register_resident"]

# Checked against when the email is unknown, so a miss costs as long as a hit.
_DUMMY_HASH = hash_password("not-a-real-password")


async def register_resident(conn: asyncpg.Connection, registration: Registration) -> User:
    return await create_account(conn, NewAccount(**registration.model_dump(), role="resident"))


async def create_account(conn: asyncpg.Connection, account: NewAccount) -> User:
    # Hashing is deliberately slow; keep it off the event loop.
    password_hash = await asyncio.to_thread(hash_password, account.password)
    return await repository.insert_user(
        conn,
        email=account.email,
        password_hash=password_hash,
        role=account.role,
        display_name=account.display_name,
        phone=account.phone,
    )


async def authenticate(conn: asyncpg.Connection, email: str, password: str) -> tuple[int, str]:
    """The user id and role for a correct email and password, else a 401 problem."""
    row = await repository.find_login(conn, email)
    ok = await asyncio.to_thread(
        verify_password, password, row["password_hash"] if row else _DUMMY_HASH
    )
    if row is None or not ok or not row["is_active"]:
        raise Problem(401, "invalid-credentials", "Email or password is wrong.")
    return row["id"], row["role"]
