"""The admin pages in a desk browser: a whitelist file through the file input, the holiday
calendar and the accounts, on the demo data; saves their screenshots."""

from __future__ import annotations

import re

import asyncpg
from playwright.async_api import Page

from parking.demo import DEMO_ACCOUNTS, seed_demo
from tests.web.conftest import screenshot, sign_in

WHITELIST_FILE = (
    "compound,unit,phone,lat,lon\n"
    "贝丽花园,3栋 502,13800138001,,\n"
    "贝丽花园,6栋 1102,138 0013 8006,,\n"
    "深华丽园,C座 2201,+86 139 0013 9003,,\n"
    "翠竹苑,2栋 301,13600136001,22.5601,114.1288\n"
)


async def test_an_admin_imports_a_whitelist_and_opens_holidays_and_accounts(
    desk: Page, conn: asyncpg.Connection
) -> None:
    await seed_demo(conn)
    admin = next(a for a in DEMO_ACCOUNTS if a.role == "admin")
    await sign_in(desk, admin.email, admin.password)
    assert desk.url.endswith("/app/admin/accounts")

    # Accounts: open one for a building manager.
    form = desk.locator("#new-account")
    await form.locator("select[name=role]").select_option("manager")
    await form.locator("input[name=email]").fill("tianbei@demo.parking")
    await form.locator("input[name=display_name]").fill("田贝商务中心物业 Tianbei estate office")
    await form.locator("input[name=phone]").fill("13700137001")
    await form.locator("input[name=password]").fill("initial-pass-1")
    await form.locator("button[type=submit]").click()
    await desk.wait_for_url(re.compile(r"done=created"))
    assert "账号已创建" in await desk.inner_text(".notice.ok")
    await desk.click("nav.subtabs >> text=楼宇管理员")
    await desk.wait_for_url(re.compile(r"role=manager"))
    rows = desk.locator("table.accounts tbody tr")
    assert await rows.count() == 2
    assert "137****7001" in await rows.nth(1).inner_text()
    await screenshot(desk, "admin-accounts")

    # The whitelist: a small file through the file input, and the report.
    await desk.click("nav.tabs >> text=住户白名单")
    await desk.locator("#import-merge input[type=file]").set_input_files(
        files=[
            {
                "name": "whitelist.csv",
                "mimeType": "text/csv",
                "buffer": WHITELIST_FILE.encode("utf-8"),
            }
        ]
    )
    await desk.click("#import-merge button[type=submit]")
    await desk.wait_for_url(re.compile(r"done=imported"))
    report = desk.locator("#import-report")
    assert await report.locator('[data-count="added"]').inner_text() == "3"
    assert await report.locator('[data-count="unchanged"]').inner_text() == "1"
    assert await report.locator('[data-count="compounds_created"]').inner_text() == "1"
    assert await desk.locator("#entries tbody tr").count() == 8
    assert "13800138006" not in await desk.content()
    await screenshot(desk, "admin-whitelist")

    # The holiday calendar: the years, then this year's exception days.
    await desk.click("nav.tabs >> text=节假日")
    year = await conn.fetchval("SELECT max(year) FROM calendar_years")
    await desk.click(f'tr[data-year="{year}"] a')
    await desk.wait_for_url(re.compile(rf"/app/admin/holidays/{year}$"))
    assert await desk.inner_text("h1") == f"{year} 年节假日"
    assert await desk.locator("#days tbody tr").count() == await conn.fetchval(
        "SELECT count(*) FROM calendar_days WHERE extract(year FROM day) = $1", year
    )
    await screenshot(desk, "admin-holidays")


async def test_the_admin_pages_fit_a_phone_and_their_tables_scroll_inside(
    phone: Page, conn: asyncpg.Connection
) -> None:
    await seed_demo(conn)
    admin = next(a for a in DEMO_ACCOUNTS if a.role == "admin")
    await sign_in(phone, admin.email, admin.password)
    year = await conn.fetchval("SELECT max(year) FROM calendar_years")
    for lang in ("zh", "en"):
        await phone.goto(f"/app/lang/{lang}")
        for path in (
            "/app/admin/accounts",
            "/app/admin/whitelist",
            "/app/admin/holidays",
            f"/app/admin/holidays/{year}",
        ):
            await phone.goto(path)
            assert await phone.locator("main table").count() > 0, path
            width = await phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, (lang, path, width)
