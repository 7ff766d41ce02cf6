"""The pages count against the same rate limits as the API: sign-ins per client address."""

from __future__ import annotations

import asyncpg
from litestar.testing import AsyncTestClient

from parking.app import create_app
from parking.settings import Settings
from tests.conftest import make_settings
from tests.helpers import PASSWORD, make_account
from tests.web.conftest import WebForm


async def test_sign_ins_through_the_page_and_the_api_share_one_limit(
    conn: asyncpg.Connection, settings: Settings
) -> None:
    email = await make_account(conn, "resident")
    limited = make_settings(settings.database_url, rate_limit_auth=3, rate_limit_window_s=600)
    async with AsyncTestClient(app=create_app(limited)) as client:
        web = WebForm(client)
        api = await client.post("/auth/token", json={"email": email, "password": PASSWORD})
        assert api.status_code == 200
        for _ in range(2):
            page = await web.post(
                "/app/login", "/app/login", {"email": email, "password": "wrong-pw"}
            )
            assert page.status_code == 401
        refused = await web.post("/app/login", "/app/login", {"email": email, "password": PASSWORD})
        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith("text/html")
        assert "操作过于频繁" in refused.text and int(refused.headers["retry-after"]) > 0
        assert "parking_session=" not in refused.headers.get("set-cookie", "")
