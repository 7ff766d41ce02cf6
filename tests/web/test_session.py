"""The pages' cookie session: renewed while in use, ended when its token expires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import jwt
from litestar.testing import AsyncTestClient

from parking.app import create_app
from parking.web.session import SESSION_COOKIE
from tests.factories import make_user
from tests.helpers import PASSWORD, login_headers
from tests.web.conftest import WebForm


def _token(client: AsyncTestClient, user_id: int, role: str, expires_in: timedelta) -> str:
    """A token as the app signs them, expiring ``expires_in`` from now (or in the past)."""
    jwt_auth = client.app.state.jwt_auth
    now = datetime.now(UTC)
    payload = {
        "sub": str(user_id),
        "iat": int((now - timedelta(minutes=1)).timestamp()),
        "exp": int((now + expires_in).timestamp()),
        "extras": {"role": role},
    }
    return jwt.encode(payload, jwt_auth.token_secret, algorithm=jwt_auth.algorithm)


def _session_cookies(answer) -> list[str]:
    return [v for k, v in answer.headers.multi_items() if k == "set-cookie" and SESSION_COOKIE in v]


async def test_a_token_past_half_its_life_is_renewed(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    user = await make_user(conn, "resident")
    client.cookies.set(SESSION_COOKIE, _token(client, user.id, "resident", timedelta(minutes=10)))
    answer = await client.get("/app/login")
    renewed = _session_cookies(answer)
    assert len(renewed) == 1 and "Max-Age=3600" in renewed[0], renewed
    fresh = renewed[0].split(";")[0].split("=", 1)[1]
    decoded = client.app.state.jwt_auth.token_cls.decode(
        fresh, client.app.state.jwt_auth.token_secret, client.app.state.jwt_auth.algorithm
    )
    assert decoded.sub == str(user.id) and decoded.extras["role"] == "resident"


async def test_a_young_token_is_left_alone(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    user = await make_user(conn, "resident")
    client.cookies.set(SESSION_COOKIE, _token(client, user.id, "resident", timedelta(minutes=59)))
    assert _session_cookies(await client.get("/app/login")) == []


async def test_an_expired_or_forged_token_signs_nobody_in(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    user = await make_user(conn, "admin")
    for value in (
        _token(client, user.id, "admin", timedelta(seconds=-120)),
        "not-a-token",
        _token(client, user.id, "admin", timedelta(minutes=30))[:-4] + "AAAA",
    ):
        client.cookies.set(SESSION_COOKIE, value)
        answer = await client.get("/app/admin/accounts", follow_redirects=False)
        assert answer.status_code == 303, value
        assert answer.headers["location"].startswith("/app/login?next=")
        assert _session_cookies(answer) == []


async def test_an_unknown_page_is_a_404_page_in_the_readers_language(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    user = await make_user(conn, "resident")
    client.cookies.set(SESSION_COOKIE, _token(client, user.id, "resident", timedelta(minutes=59)))
    answer = await client.get("/app/no-such-page")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "出错了" in answer.text
    client.cookies.set("lang", "en")
    assert "Something went wrong" in (await client.get("/app/no-such-page")).text


async def test_a_wrong_method_or_path_under_the_pages_is_a_page(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    user = await make_user(conn, "manager")
    client.cookies.set(SESSION_COOKIE, _token(client, user.id, "manager", timedelta(minutes=59)))
    # A form's action opened from the address bar: the path takes only POST.
    answer = await client.get("/app/buildings/1/spaces")
    assert answer.status_code == 405
    assert answer.headers["content-type"].startswith("text/html") and "出错了" in answer.text
    answer = await client.get("/app/buildings/abc")
    assert answer.status_code in (404, 422)
    assert answer.headers["content-type"].startswith("text/html")
    # The API's own answers stay problem details.
    assert (
        (await client.delete("/health"))
        .headers["content-type"]
        .startswith("application/problem+json")
    )


async def test_a_new_password_from_the_page_keeps_this_session_and_ends_the_others(
    client: AsyncTestClient, conn: asyncpg.Connection, settings
) -> None:
    user = await make_user(conn, "manager")
    web = WebForm(client)
    login = {"email": user.email, "password": PASSWORD}
    assert (await web.post("/app/login", "/app/login", login)).status_code == 303
    api = await login_headers(client, user.email)
    async with AsyncTestClient(app=create_app(settings)) as other:
        assert (await WebForm(other).post("/app/login", "/app/login", login)).status_code == 303
        page = (await client.get("/app/buildings")).text
        assert 'href="/app/password"' in page  # every signed-in page links to it

        wrong = await web.post(
            "/app/password",
            "/app/password",
            {"current_password": "not-it", "new_password": "a-new-password-2026"},
        )
        assert wrong.status_code == 403 and "当前密码不正确" in wrong.text
        assert (await other.get("/app/buildings")).status_code == 200  # nothing changed

        answer = await web.post(
            "/app/password",
            "/app/password",
            {"current_password": PASSWORD, "new_password": "a-new-password-2026"},
        )
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/app/password?done=changed"
        assert len(_session_cookies(answer)) == 1
        # This browser goes on with its new cookie; the other one and the API token end.
        done = await client.get(answer.headers["location"])
        assert done.status_code == 200 and "新密码已设置" in done.text
        gone = await other.get("/app/buildings", follow_redirects=False)
        assert gone.status_code == 303 and gone.headers["location"].startswith("/app/login")
        assert (await client.get("/auth/me", headers=api)).status_code == 401
