"""The district sync page: the last delivery, the backlog and the dead letters of a manager's
own buildings (all of them for an admin), no personal data, and an admin's replay."""

from __future__ import annotations

import re

import asyncpg
from litestar.testing import AsyncTestClient
from playwright.async_api import Page

from parking import sync
from parking.app import create_app
from parking.demo import DEMO_ACCOUNTS, seed_demo
from tests.conftest import make_settings
from tests.factories import User, make_building, make_user
from tests.helpers import PASSWORD
from tests.web.conftest import WebForm, screenshot, sign_in

PLATE = "粤B12345"
PHONE = "13800138001"


async def _sign_in(web: WebForm, email: str) -> None:
    answer = await web.post("/app/login", "/app/login", {"email": email, "password": PASSWORD})
    assert answer.status_code == 303, answer.text


async def _place_of(conn: asyncpg.Connection, manager: User) -> str:
    building = await make_building(conn, spaces=1, manager_id=manager.id)
    return await conn.fetchval("SELECT district_place_id FROM buildings WHERE id = $1", building.id)


async def _message(
    conn: asyncpg.Connection,
    kind: str,
    key: str,
    payload: dict,
    *,
    status: str = "pending",
    age_min: int = 0,
    error: str | None = None,
    attempts: int = 0,
) -> int:
    """An outbox message as the relay leaves it: queued ``age_min`` minutes ago."""
    await sync.emit_payload(conn, kind, key, payload)
    return await conn.fetchval(
        """UPDATE outbox SET status = $2, last_error = $3, attempts = $4,
                  created_at = now() - make_interval(mins => $5),
                  delivered_at = CASE WHEN $2 = 'delivered'
                                      THEN now() - make_interval(mins => $5) END
           WHERE id = (SELECT max(id) FROM outbox WHERE entity_key = $1) RETURNING id""",
        key,
        status,
        error,
        attempts,
        age_min,
    )


async def _outbox_of_two_managers(conn: asyncpg.Connection) -> dict[str, object]:
    mine_manager = await make_user(conn, "manager")
    mine = await _place_of(conn, mine_manager)
    theirs = await _place_of(conn, await make_user(conn, "manager"))
    await conn.execute("DELETE FROM outbox")  # the factories' own messages aside
    ids = {
        "delivered": await _message(
            conn, "rates", mine, {"place_id": mine}, status="delivered", age_min=5
        ),
        "old": await _message(conn, "place", mine, {"place_id": mine}, age_min=95),
        "new": await _message(conn, "availability", f"{mine}/2026-12-01", {"place_id": mine}),
        "dead": await _message(
            conn,
            "reservation",
            "r-41",
            {"place_id": mine, "plate": PLATE, "reservation_id": "r-41"},
            status="dead",
            attempts=8,
            error=f"422 plate {PLATE} refused; contact {PHONE}",
        ),
        "their_pending": await _message(conn, "place", theirs, {"place_id": theirs}, age_min=300),
        "their_dead": await _message(
            conn,
            "place",
            f"{theirs}-x",
            {"place_id": theirs},
            status="dead",
            attempts=3,
            error="500 server error",
        ),
    }
    return {"manager": mine_manager, "ids": ids}


def _dead_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-dead="(\d+)"', html)]


async def test_a_manager_sees_the_backlog_and_dead_letters_of_own_buildings_masked(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    made = await _outbox_of_two_managers(conn)
    ids = made["ids"]
    await _sign_in(web, made["manager"].email)
    page = await client.get("/app/sync")
    assert page.status_code == 200
    html = page.text
    assert 'data-waiting="2"' in html and "2 条等待中" in html
    age = int(re.search(r'data-age="(\d+)"', html).group(1))
    assert 95 <= age < 100  # the older of the two, not the other manager's 300
    assert "1 小时 3" in html
    last = re.search(r'id="last-delivery">.*?</section>', html, re.S).group(0)
    assert "价格" in last  # rates
    assert _dead_ids(html) == [ids["dead"]]
    row = re.search(rf'data-dead="{ids["dead"]}".*?</tr>', html, re.S).group(0)
    assert "预约" in row and ">8<" in row and "r-41" in row
    assert "粤B***45" in row and "138****8001" in row
    assert PLATE not in html and PHONE not in html
    assert "未配置" in html  # the test settings name no platform
    assert "/replay" not in html  # replaying is an admin's


async def test_an_admin_sees_all_and_replays_a_dead_letter(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    ids = (await _outbox_of_two_managers(conn))["ids"]
    admin = await make_user(conn, "admin")
    await _sign_in(web, admin.email)
    html = (await client.get("/app/sync")).text
    assert 'data-waiting="3"' in html
    assert int(re.search(r'data-age="(\d+)"', html).group(1)) >= 300
    assert _dead_ids(html) == [ids["their_dead"], ids["dead"]]
    assert PLATE not in html and PHONE not in html

    dead = ids["dead"]
    answer = await web.post("/app/sync", f"/app/sync/dead/{dead}/replay", {})
    assert answer.status_code == 303 and answer.headers["location"] == "/app/sync?done=replayed"
    rows = await conn.fetch(
        "SELECT id, version, status FROM outbox WHERE entity_key = 'r-41' ORDER BY id"
    )
    assert [(r["version"], r["status"]) for r in rows] == [(1, "superseded"), (2, "pending")]
    after = (await client.get(answer.headers["location"])).text
    assert "已作为新消息重新排队" in after
    assert _dead_ids(after) == [ids["their_dead"]]
    assert 'data-waiting="4"' in after

    again = await web.post("/app/sync", f"/app/sync/dead/{dead}/replay", {})
    assert again.status_code == 409 and "已不是发送失败状态" in again.text
    missing = await web.post("/app/sync", "/app/sync/dead/999999/replay", {})
    assert missing.status_code == 404
    assert await conn.fetchval("SELECT count(*) FROM outbox WHERE entity_key = 'r-41'") == 2


async def test_a_manager_may_not_replay(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    made = await _outbox_of_two_managers(conn)
    await _sign_in(web, made["manager"].email)
    dead = made["ids"]["dead"]
    answer = await web.post("/app/sync", f"/app/sync/dead/{dead}/replay", {})
    assert answer.status_code == 403
    assert await conn.fetchval("SELECT status FROM outbox WHERE id = $1", dead) == "dead"


async def test_the_configured_platform_is_shown(conn: asyncpg.Connection, db_dsn: str) -> None:
    admin = await make_user(conn, "admin")
    await conn.execute("DELETE FROM outbox")
    configured = make_settings(db_dsn, district_url="http://district.example:8100")
    async with AsyncTestClient(app=create_app(configured)) as client:
        await _sign_in(WebForm(client), admin.email)
        html = (await client.get("/app/sync")).text
    assert "http://district.example:8100" in html and "未配置" not in html
    assert "尚未送达任何消息" in html and "没有等待的消息" in html and "没有发送失败的消息" in html


async def test_the_sync_page_on_a_desk(desk: Page, conn: asyncpg.Connection) -> None:
    await seed_demo(conn)
    await conn.execute("DELETE FROM outbox")
    places = await conn.fetch("SELECT district_place_id FROM buildings ORDER BY id")
    first, second = places[0][0], places[1][0]
    await _message(conn, "availability", f"{first}/2026-11-27", {"place_id": first},
                   status="delivered", age_min=2)  # fmt: skip
    await _message(conn, "availability", f"{first}/2026-11-28", {"place_id": first}, age_min=14)
    await _message(conn, "rates", second, {"place_id": second}, age_min=3)
    await _message(
        conn,
        "reservation",
        "r-1207",
        {"place_id": first, "plate": PLATE},
        status="dead",
        attempts=8,
        error=f"422 unprocessable: plate {PLATE} is not valid on the platform",
    )
    await _message(
        conn,
        "place",
        second,
        {"place_id": second},
        status="dead",
        attempts=8,
        error="timeout after 10 s (ConnectTimeout)",
    )
    admin = next(a for a in DEMO_ACCOUNTS if a.role == "admin")
    await sign_in(desk, admin.email, admin.password)
    await desk.goto("/app/sync")
    assert await desk.inner_text("h1") == "区平台同步"
    assert await desk.locator("tr[data-dead]").count() == 2
    assert PLATE not in await desk.content()
    await screenshot(desk, "sync")
