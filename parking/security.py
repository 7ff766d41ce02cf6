"""Who is calling: password hashing, JWT bearer tokens, and role guards.

Tokens carry the user id, the role and the generation of the account's credentials;
they expire after ``token_ttl_minutes``. Every request checks the account: a token of an
account deactivated, or issued before its password was set anew, is refused at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal, TypeAlias

import asyncpg
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.security.jwt import JWTAuth, Token
from pwdlib import PasswordHash

from parking.errors import Problem
from parking.settings import Settings

__all__ = [
    "FIRST_GENERATION",
    "AuthRequest",
    "AuthUser",
    "Role",
    "account_user",
    "build_jwt_auth",
    "decode_token",
    "hash_password",
    "issue_token",
    "optional_bearer_user",
    "requires_role",
    "verify_password",
]

Role = Literal["resident", "manager", "admin"]
ROLES: tuple[Role, ...] = ("resident", "manager", "admin")

# Argon2id with the library's recommended parameters.
_hasher = PasswordHash.recommended()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    return _hasher.verify(password, password_hash)


@dataclass(frozen=True, slots=True)
class AuthUser:
    """The caller, as the token describes them."""

    id: int
    role: Role
    generation: int = 0
    """The generation of the account's credentials the token was issued under."""


FIRST_GENERATION = 0
"""A new account's credentials generation (``users.token_generation``'s default), and the
generation of tokens issued before generations were kept, which name none."""

# The account still stands behind a token: active, and its credentials of that generation.
_ACCOUNT_ALLOWS = "SELECT is_active AND token_generation = $2 FROM users WHERE id = $1"


def issue_token(
    jwt_auth: JWTAuth[AuthUser, Token], user_id: int, role: Role, generation: int
) -> str:
    """A token for the account under its current credentials' generation."""
    return jwt_auth.create_token(
        identifier=str(user_id), token_extras={"role": role, "gen": generation}
    )


async def account_user(token: Token, pool: asyncpg.Pool) -> AuthUser | None:
    """The caller of a decoded token while their account still allows it, else None."""
    user = _auth_user(token)
    if user is None or not await pool.fetchval(_ACCOUNT_ALLOWS, user.id, user.generation):
        return None
    return user


async def _user_from_token(
    token: Token, connection: ASGIConnection[Any, Any, Any, Any]
) -> AuthUser | None:
    return await account_user(token, connection.app.state.pool)


def _auth_user(token: Token) -> AuthUser | None:
    role = token.extras.get("role")
    generation = token.extras.get("gen", FIRST_GENERATION)
    if role not in ROLES or type(generation) is not int:
        return None
    try:
        return AuthUser(id=int(token.sub), role=role, generation=generation)
    except ValueError:
        return None


def decode_token(jwt_auth: JWTAuth[AuthUser, Token], encoded: str | None) -> Token | None:
    """The valid, unexpired token ``encoded`` (a bearer's, or the pages' cookie), else None."""
    if not encoded or not encoded.strip():
        return None
    try:
        return jwt_auth.token_cls.decode(
            encoded_token=encoded.strip(),
            secret=jwt_auth.token_secret,
            algorithm=jwt_auth.algorithm,
            audience=jwt_auth.accepted_audiences,
            issuer=jwt_auth.accepted_issuers,
            require_claims=jwt_auth.require_claims,
            verify_exp=jwt_auth.verify_expiry,
            verify_nbf=jwt_auth.verify_not_before,
            strict_audience=jwt_auth.strict_audience,
        )
    except NotAuthorizedException:
        return None


async def optional_bearer_user(
    jwt_auth: JWTAuth[AuthUser, Token], pool: asyncpg.Pool, authorization: str | None
) -> AuthUser | None:
    """The caller of a valid ``Authorization: Bearer`` token, else None (no or bad token).

    For routes excluded from the JWT middleware that also accept another credential.
    """
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = decode_token(jwt_auth, encoded)
    return None if token is None else await account_user(token, pool)


# What a handler declares to read the signed-in caller as ``request.user``.
AuthRequest: TypeAlias = Request[AuthUser, Any, Any]


def build_jwt_auth(settings: Settings) -> JWTAuth[AuthUser, Token]:
    return JWTAuth[AuthUser, Token](
        retrieve_user_handler=_user_from_token,
        token_secret=settings.secret_key.get_secret_value(),
        default_token_expiration=timedelta(minutes=settings.token_ttl_minutes),
        # Routes open to everyone; everything else needs a bearer token.
        exclude=[
            "^/$",
            "^/health$",
            "^/ready$",
            "^/metrics$",  # its own scrape token when PARKING_METRICS_TOKEN is set
            "^/schema",
            "^/static/",
            "^/auth/register$",
            "^/auth/token$",
            # The gate takes a gate key or a bearer token: see ``optional_bearer_user``.
            "^/gate/",
            # The district platform signs its requests instead: see integrations.district.webhooks.
            "^/integrations/district/",
            # The web pages sign in with a cookie instead: see parking.web.session.
            "^/app(/|$)",
        ],
    )


def requires_role(*roles: Role):
    """A guard for a router or controller layer: the caller's role must be one of ``roles``."""
    allowed = frozenset(roles)

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        user = connection.user
        if not isinstance(user, AuthUser) or user.role not in allowed:
            raise Problem(403, "forbidden", "Your role may not do this.")

    guard.__name__ = f"requires_{'_or_'.join(sorted(allowed))}"
    return guard
