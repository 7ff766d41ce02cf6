"""Who may open which page: every page under /app is in this matrix, by construction.

Each page controller declares ``page_role(...)``; this reads those guards off the app, and
then, for every route: a stranger is sent to sign in (a GET) or refused (a form post), and
every other role is refused with 403 and changes nothing. Whose objects a page shows
(another manager's building is 404) is checked beside each area's pages.
"""

from __future__ import annotations

import re

import asyncpg
from litestar.testing import AsyncTestClient

from parking.app import create_app
from parking.settings import Settings
from parking.web.session import WEB_PREFIX
from tests.helpers import PASSWORD, make_account
from tests.web.conftest import WebForm

# Pages anyone may open: signing in, registering, the language, the home redirect, and the
# catch-all 404 (which sends strangers to sign in).
PUBLIC_PAGES = {
    ("GET", "/app"),
    ("GET", "/app/login"),
    ("POST", "/app/login"),
    ("GET", "/app/register"),
    ("POST", "/app/register"),
    ("POST", "/app/logout"),
    ("GET", "/app/lang/{lang:str}"),
    ("GET", "/app/{rest:path}"),
}
ROLES = ("resident", "manager", "admin")


def _pages(settings: Settings) -> list[tuple[str, str, frozenset[str]]]:
    """(method, path, roles allowed) of every page route, from its guards."""
    app = create_app(settings)
    pages = []
    for route in app.routes:
        if not (route.path == WEB_PREFIX or route.path.startswith(WEB_PREFIX + "/")):
            continue
        for handler in getattr(route, "route_handlers", ()):
            for method in handler.http_methods:
                if method in ("HEAD", "OPTIONS") or (method, route.path) in PUBLIC_PAGES:
                    continue
                allowed: set[str] = set()
                for guard in handler.resolve_guards():
                    name = getattr(guard, "__name__", "")
                    if name.startswith("page_requires_"):
                        allowed |= set(name.removeprefix("page_requires_").split("_or_"))
                pages.append((method, route.path, frozenset(allowed)))
    return pages


def _concrete(path: str) -> str:
    return re.sub(r"\{(\w+):(\w+)\}", lambda m: "2026-01-01" if m.group(2) == "date" else "1", path)


def test_every_page_declares_who_may_open_it(settings: Settings) -> None:
    pages = _pages(settings)
    assert pages, "no page routes found"
    unguarded = sorted(
        (m, p) for m, p, allowed in pages if not allowed or not allowed <= set(ROLES)
    )
    assert unguarded == [], "give these pages a page_role(...) guard"


async def test_a_stranger_signs_in_first_and_other_roles_are_refused(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection, settings: Settings
) -> None:
    accounts = {role: await make_account(conn, role) for role in ROLES}
    pages = _pages(settings)
    tables = ["users", "buildings", "spaces", "reservations", "passes", "price_plans", "outbox"]

    async def counts() -> list[int]:
        return [await conn.fetchval(f"SELECT count(*) FROM {t}") for t in tables]

    before = await counts()
    for method, path, _ in pages:
        url = _concrete(path)
        if method == "GET":
            answer = await client.get(url, follow_redirects=False)
            assert answer.status_code == 303, (method, path, answer.status_code)
            assert answer.headers["location"].startswith("/app/login?next="), (method, path)
        else:
            answer = await web.post("/app/login", url, {})
            assert answer.status_code == 303, (method, path, answer.status_code)
            assert answer.headers["location"].startswith("/app/login"), (method, path)
    for role, email in accounts.items():
        signed_in = await web.post(
            "/app/login", "/app/login", {"email": email, "password": PASSWORD}
        )
        assert signed_in.status_code == 303
        for method, path, allowed in pages:
            if role in allowed:
                continue
            url = _concrete(path)
            if method == "GET":
                answer = await client.get(url, follow_redirects=False)
            else:
                answer = await web.post("/app/login", url, {})
            assert answer.status_code == 403, (role, method, path, answer.status_code)
    assert await counts() == before
