"""Signing in to the pages: the cookie session, CSRF, the language, and the sign-in page."""

from __future__ import annotations

import asyncio

import asyncpg
from litestar.testing import AsyncTestClient
from playwright.async_api import Page, Route

from tests.helpers import PASSWORD, make_account
from tests.web.conftest import WebForm, screenshot


async def test_a_page_asks_a_stranger_to_sign_in_and_returns_there(client: AsyncTestClient) -> None:
    answer = await client.get("/app/reservations?night=2026-12-01", follow_redirects=False)
    assert answer.status_code == 303
    assert (
        answer.headers["location"] == "/app/login?next=%2Fapp%2Freservations%3Fnight%3D2026-12-01"
    )


async def test_signing_in_sets_an_httponly_session_and_goes_to_the_role_home(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    email = await make_account(conn, "manager")
    answer = await web.post("/app/login", "/app/login", {"email": email, "password": PASSWORD})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/app/buildings"
    cookie = next(
        v for k, v in answer.headers.multi_items() if k == "set-cookie" and "parking_session=" in v
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/app" in cookie
    # The next page knows who this is: the sign-in form offers a sign-out button.
    assert "/app/logout" in (await client.get("/app/login")).text


async def test_a_return_path_is_kept_but_never_another_site(
    web: WebForm, conn: asyncpg.Connection
) -> None:
    email = await make_account(conn, "resident")
    ok = await web.post(
        "/app/login", "/app/login", {"email": email, "password": PASSWORD, "next": "/app/charges"}
    )
    assert ok.headers["location"] == "/app/charges"
    for target in ("//evil.example/app/", "https://evil.example/", "/auth/me", "/app\\..\\x"):
        answer = await web.post(
            "/app/login", "/app/login", {"email": email, "password": PASSWORD, "next": target}
        )
        assert answer.headers["location"] == "/app/search", target


async def test_a_wrong_password_is_refused_in_chinese_and_signs_nobody_in(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    email = await make_account(conn, "resident")
    answer = await web.post(
        "/app/login", "/app/login", {"email": email, "password": "wrong-password"}
    )
    assert answer.status_code == 401
    assert "邮箱或密码不正确" in answer.text
    assert "parking_session=" not in answer.headers.get("set-cookie", "")
    assert "/app/logout" not in answer.text


async def test_a_form_without_its_csrf_token_is_refused(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    email = await make_account(conn, "resident")
    await client.get("/app/login")  # the CSRF cookie, but no token in the form
    answer = await client.post(
        "/app/login", data={"email": email, "password": PASSWORD}, follow_redirects=False
    )
    assert answer.status_code == 403
    assert "parking_session=" not in answer.headers.get("set-cookie", "")
    assert "页面已过期" in answer.text


async def test_the_api_does_not_take_the_pages_cookie(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    email = await make_account(conn, "resident")
    signed_in = await web.post("/app/login", "/app/login", {"email": email, "password": PASSWORD})
    assert signed_in.status_code == 303
    assert (await client.get("/auth/me")).status_code == 401


async def test_signing_out_ends_the_session(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    email = await make_account(conn, "resident")
    await web.post("/app/login", "/app/login", {"email": email, "password": PASSWORD})
    out = await web.post("/app/login", "/app/logout", {})
    assert out.status_code == 303 and out.headers["location"] == "/app/login"
    answer = await client.get("/app/charges", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/app/login")


async def test_registering_signs_the_new_resident_in(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    answer = await web.post(
        "/app/register",
        "/app/register",
        {
            "email": "new-neighbour@example.com",
            "password": "long-enough-pw",
            "phone": "13900001111",
        },
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/app/account"
    assert (
        await conn.fetchval("SELECT role FROM users WHERE email = 'new-neighbour@example.com'")
        == "resident"
    )
    again = await web.post(
        "/app/register",
        "/app/register",
        {"email": "new-neighbour@example.com", "password": "long-enough-pw"},
    )
    assert again.status_code == 409 and "该邮箱已注册" in again.text
    short = await web.post(
        "/app/register", "/app/register", {"email": "x@example.com", "password": "short"}
    )
    assert short.status_code == 422 and "password" in short.text
    assert await conn.fetchval("SELECT count(*) FROM users WHERE email = 'x@example.com'") == 0


async def test_every_page_answer_forbids_framing_caching_and_foreign_scripts(
    client: AsyncTestClient,
) -> None:
    for answer in (
        await client.get("/app/login"),
        await client.get("/app/charges", follow_redirects=False),  # a redirect
        await client.post("/app/login", data={}),  # refused: no CSRF token
    ):
        csp = answer.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in (await client.get("/health")).headers


async def test_a_browser_opens_the_pages_from_the_root(client: AsyncTestClient) -> None:
    html = await client.get("/", headers={"accept": "text/html"}, follow_redirects=False)
    assert html.status_code == 303 and html.headers["location"] == "/app/"
    assert (await client.get("/")).json()["pages"] == "/app/"


async def test_the_sign_in_page_in_chinese_then_english(phone: Page) -> None:
    await phone.goto("/")
    assert phone.url.endswith("/app/login")
    assert await phone.inner_text("h1") == "登录"
    assert await phone.locator("html").get_attribute("lang") == "zh-CN"
    await screenshot(phone, "sign-in")
    await phone.click("a.lang")
    assert await phone.inner_text("h1") == "Sign in"
    await phone.goto("/app/register")
    assert await phone.inner_text("h1") == "Register as a resident"
    # Nothing is fetched from another host: every asset is the app's own.
    hosts = set()
    phone.on("request", lambda r: hosts.add(r.url.split("/")[2]))
    await phone.goto("/app/login")
    assert hosts and all(h.startswith("127.0.0.1:") for h in hosts), hosts


async def test_a_second_tap_while_a_form_is_on_its_way_sends_nothing(
    phone: Page, conn: asyncpg.Connection
) -> None:
    email = await make_account(conn, "resident")
    await phone.goto("/app/login")
    await phone.fill("input[name=email]", email)
    await phone.fill("input[name=password]", PASSWORD)
    posts: list[str] = []

    async def slow_network(route: Route) -> None:
        if route.request.method == "POST":
            posts.append(route.request.url)
            await asyncio.sleep(1.0)  # a slow mobile network: the answer is still on its way
        await route.continue_()

    await phone.route("**/app/login", slow_network)
    # Two taps from the page itself: the second comes while the first post is held.
    await phone.evaluate(
        """() => new Promise((done) => {
            const button = document.querySelector("button[type=submit].primary");
            button.click();
            setTimeout(() => { button.click(); done(); }, 300);
        })"""
    )
    await phone.wait_for_url("**/app/search")
    assert len(posts) == 1, posts
