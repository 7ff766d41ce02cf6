"""SQL for accounts. Functions take the connection first; the caller owns the transaction."""

from __future__ import annotations

import asyncpg

from parking.accounts.schemas import User

__all__ = [
    "change_account",
    "find_login",
    "find_login_by_id",
    "get_user",
    "insert_user",
    "list_users",
]

_USER_COLUMNS = "id, email, role, display_name, phone, is_active, created_at"

_INSERT = f"""
INSERT INTO users (email, password_hash, role, display_name, phone)
VALUES ($1, $2, $3, $4, $5)
RETURNING {_USER_COLUMNS}
"""
_FIND_LOGIN = """
SELECT id, role, password_hash, is_active, token_generation FROM users WHERE email = $1
"""
_FIND_LOGIN_BY_ID = """
SELECT id, role, password_hash, is_active, token_generation FROM users WHERE id = $1
"""
_GET = f"SELECT {_USER_COLUMNS} FROM users WHERE id = $1"
# Any change of access moves the generation on: the account's earlier tokens stop working.
_CHANGE = f"""
UPDATE users
SET is_active = coalesce($2, is_active),
    password_hash = coalesce($3, password_hash),
    token_generation = token_generation + 1
WHERE id = $1
RETURNING {_USER_COLUMNS}, token_generation
"""
_LIST = f"""
SELECT {_USER_COLUMNS} FROM users WHERE ($1::text IS NULL OR role = $1)
ORDER BY id LIMIT $2 OFFSET $3
"""
_COUNT = "SELECT count(*) FROM users WHERE ($1::text IS NULL OR role = $1)"


async def insert_user(
    conn: asyncpg.Connection,
    *,
    email: str,
    password_hash: str,
    role: str,
    display_name: str = "",
    phone: str | None = None,
) -> User:
    row = await conn.fetchrow(_INSERT, email.lower(), password_hash, role, display_name, phone)
    return User.model_validate(dict(row))


async def find_login(conn: asyncpg.Connection, email: str) -> asyncpg.Record | None:
    """The fields needed to check a password; stays inside the accounts package."""
    return await conn.fetchrow(_FIND_LOGIN, email.lower())


async def find_login_by_id(conn: asyncpg.Connection, user_id: int) -> asyncpg.Record | None:
    """``find_login`` by id, for a signed-in user who proves their password again."""
    return await conn.fetchrow(_FIND_LOGIN_BY_ID, user_id)


async def get_user(conn: asyncpg.Connection, user_id: int) -> User | None:
    row = await conn.fetchrow(_GET, user_id)
    return User.model_validate(dict(row)) if row else None


async def list_users(
    conn: asyncpg.Connection, role: str | None = None, *, limit: int = 50, offset: int = 0
) -> tuple[list[User], int]:
    """One page of the accounts (of ``role``), oldest first, and how many there are."""
    rows = await conn.fetch(_LIST, role, limit, offset)
    total = await conn.fetchval(_COUNT, role)
    return [User.model_validate(dict(r)) for r in rows], total


async def change_account(
    conn: asyncpg.Connection,
    user_id: int,
    *,
    is_active: bool | None = None,
    password_hash: str | None = None,
) -> tuple[User, int] | None:
    """Set what is given; every token issued before stops working. The account and its
    new credentials generation; None: no such account."""
    row = await conn.fetchrow(_CHANGE, user_id, is_active, password_hash)
    return (User.model_validate(dict(row)), row["token_generation"]) if row else None
