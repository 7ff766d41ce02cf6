"""Who is looking at a page: the web pages sign in with a cookie holding an access token.

The token is the same JWT the API hands out (same key, role and lifetime); the cookie is
HttpOnly and SameSite=Lax, and ``Secure`` when ``PARKING_COOKIE_SECURE`` is set. While a
person keeps using the pages, a token past half its lifetime is replaced by a fresh one,
so a session ends only after ``token_ttl_minutes`` without a page view. Forms carry a
CSRF token besides (``parking.web.csrf_config``).

The middleware runs before rate limiting, so page bookings count against the same
per-user limit as API bookings.
"""

from __future__ import annotations

import time
from http.cookies import SimpleCookie
from typing import Any

from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.security.jwt import JWTAuth, Token
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from parking.security import AuthUser, Role, account_user, decode_token, issue_token
from parking.settings import Settings

__all__ = [
    "SESSION_COOKIE",
    "WEB_PREFIX",
    "add_page_headers",
    "session_cookie",
    "session_middleware",
]

SESSION_COOKIE = "parking_session"
WEB_PREFIX = "/app"


def session_cookie(
    jwt_auth: JWTAuth[AuthUser, Token],
    settings: Settings,
    user_id: int,
    role: Role,
    generation: int,
) -> Cookie:
    """The cookie that signs ``user_id`` in to the pages, for the token's lifetime."""
    token = issue_token(jwt_auth, user_id, role, generation)
    return _cookie(token, settings, int(jwt_auth.default_token_expiration.total_seconds()))


def logout_cookie(settings: Settings) -> Cookie:
    return _cookie("", settings, 0)


def _cookie(value: str, settings: Settings, max_age: int) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=value,
        max_age=max_age,
        path=WEB_PREFIX,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )


def _cookie_value(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed header carries no session
                return None
            if SESSION_COOKIE in jar:
                return jar[SESSION_COOKIE].value
    return None


# What every page answers with: no framing, no inline or foreign scripts, no caching of
# pages that carry personal data, and no referrer beyond this site.
PAGE_HEADERS: tuple[tuple[str, str], ...] = (
    (
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'",
    ),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("cache-control", "no-store"),
)


async def add_page_headers(message: Message, scope: Scope) -> None:
    """``before_send`` hook: ``PAGE_HEADERS`` on every answer of a page, errors included
    (an error raised in a middleware is answered outside every middleware)."""
    if message["type"] != "http.response.start":
        return
    path = scope.get("path", "")
    if path == WEB_PREFIX or path.startswith(WEB_PREFIX + "/"):
        headers = MutableScopeHeaders.from_message(message)
        for name, value in PAGE_HEADERS:
            if name not in headers:
                headers[name] = value


def session_middleware(jwt_auth: JWTAuth[AuthUser, Token], settings: Settings):
    """App middleware: on ``/app`` paths, ``scope["user"]`` is the cookie's user or None,
    and a token past half its life is renewed."""
    ttl = jwt_auth.default_token_expiration.total_seconds()

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            path = scope.get("path", "")
            if scope["type"] != "http" or not (
                path == WEB_PREFIX or path.startswith(WEB_PREFIX + "/")
            ):
                await app(scope, receive, send)
                return
            token = decode_token(jwt_auth, _cookie_value(scope))
            # The account is asked on every page view: a deactivated one is signed out.
            pool = scope["app"].state.pool
            user = None if token is None else await account_user(token, pool)
            scope["user"] = user  # type: ignore[typeddict-unknown-key]
            fresh = None
            if user is not None and token is not None:
                if token.exp.timestamp() - time.time() <= ttl / 2:
                    fresh = session_cookie(jwt_auth, settings, user.id, user.role, user.generation)

            if fresh is None:
                await app(scope, receive, send)
                return

            async def send_renewed(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = MutableScopeHeaders.from_message(message)
                    if not any(
                        v.startswith(f"{SESSION_COOKIE}=") for v in headers.getall("set-cookie", [])
                    ):
                        headers.add("set-cookie", fresh.to_header(header=""))
                await send(message)

            await app(scope, receive, send_renewed)

        return middleware

    return factory


def user_of(scope: Any) -> AuthUser | None:
    user = scope.get("user")
    return user if isinstance(user, AuthUser) else None
