"""Account use cases: register, issue tokens, create accounts of any role."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import asyncpg

from parking.accounts import repository
from parking.accounts.schemas import (
    AccountChange,
    NewAccount,
    PasswordChange,
    Registration,
    User,
)
from parking.errors import Problem
from parking.security import AuthUser, Role, hash_password, verify_password

__all__ = [
    "SignedIn",
    "authenticate",
    "change_account",
    "change_own_password",
    "create_account",
    "register_resident",
]

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


@dataclass(frozen=True, slots=True)
class SignedIn:
    """Who a correct email and password belong to, and their credentials' generation."""

    user_id: int
    role: Role
    generation: int


async def authenticate(conn: asyncpg.Connection, email: str, password: str) -> SignedIn:
    """The account of a correct email and password, else a 401 problem (a deactivated
    account is refused as a wrong password is: the answer tells nothing about it)."""
    row = await repository.find_login(conn, email)
    ok = await asyncio.to_thread(
        verify_password, password, row["password_hash"] if row else _DUMMY_HASH
    )
    if row is None or not ok or not row["is_active"]:
        raise Problem(401, "invalid-credentials", "Email or password is wrong.")
    return SignedIn(row["id"], row["role"], row["token_generation"])


async def change_account(
    conn: asyncpg.Connection, admin: AuthUser, user_id: int, change: AccountChange
) -> User:
    """An admin deactivates or reactivates an account, or sets a new password for it.

    Either way, every token the account held stops working at once. An admin cannot
    deactivate themselves, so the service always keeps one admin able to sign in.
    """
    if user_id == admin.id and change.is_active is False:
        raise Problem(409, "own-account", "An admin cannot deactivate their own account.")
    password_hash = None
    if change.password is not None:
        password_hash = await asyncio.to_thread(hash_password, change.password)
    changed = await repository.change_account(
        conn, user_id, is_active=change.is_active, password_hash=password_hash
    )
    if changed is None:
        raise Problem(404, "not-found", f"There is no account {user_id}.")
    return changed[0]


async def change_own_password(
    conn: asyncpg.Connection, user: AuthUser, change: PasswordChange
) -> SignedIn:
    """A signed-in user sets a new password, proving the current one. Every other session
    of the account ends; the answer carries the new generation for a fresh token."""
    row = await repository.find_login_by_id(conn, user.id)
    ok = await asyncio.to_thread(
        verify_password, change.current_password, row["password_hash"] if row else _DUMMY_HASH
    )
    if row is None or not row["is_active"]:
        raise Problem(401, "unauthorized", "The account behind this token no longer signs in.")
    if not ok:
        raise Problem(403, "wrong-password", "The current password is wrong.")
    password_hash = await asyncio.to_thread(hash_password, change.new_password)
    changed = await repository.change_account(conn, user.id, password_hash=password_hash)
    assert changed is not None  # the row was just read in this transaction
    return SignedIn(user.id, row["role"], changed[1])
