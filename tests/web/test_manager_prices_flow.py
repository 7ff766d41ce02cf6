"""The manager's price flow in a browser: switch a building to per use from next month and
see next month's quote change, then read the advice and the reports of the demo's history."""

from __future__ import annotations

import asyncpg
from playwright.async_api import Page

from parking.demo import DEMO_ACCOUNTS, seed_demo
from tests.factories import make_building
from tests.web.conftest import screenshot, sign_in

MANAGER = next(a for a in DEMO_ACCOUNTS if a.role == "manager")


async def test_a_manager_switches_to_per_use_and_reads_advice_and_reports(
    desk: Page, conn: asyncpg.Connection
) -> None:
    await seed_demo(conn)
    manager_id = await conn.fetchval("SELECT id FROM users WHERE email = $1", MANAGER.email)
    p2 = await conn.fetchval("SELECT id FROM buildings WHERE district_place_id = 'b-wanshan-p2'")
    # A building still selling only 300 CNY monthly night passes.
    tower = await make_building(
        conn, manager_id=manager_id, fee_fen=None, monthly_pass_fen=30000, spaces=60
    )
    await conn.execute(
        "UPDATE buildings SET name = '田贝四路商务楼 Tianbei Road 4 Offices' WHERE id = $1",
        tower.id,
    )

    await sign_in(desk, MANAGER.email, MANAGER.password)
    await desk.goto(f"/app/buildings/{tower.id}/prices")
    next_month = desk.locator("[data-quote=next-month] .price")
    assert await next_month.get_attribute("data-fen") == ""
    before = await next_month.inner_text()
    assert before == "只售月卡，不按次出售"

    switch = desk.locator("section#switch form")
    await switch.locator("select[name=mode]").select_option("per_use")
    await switch.locator("input[name=per_use_fee_fen]").fill("1000")
    await switch.locator("button[type=submit]").click()
    await desk.wait_for_load_state()
    assert await desk.inner_text(".notice.ok[role=status]") == "已排定切换。"
    after = desk.locator("[data-quote=next-month] .price")
    assert await after.get_attribute("data-fen") == "1000"
    assert await after.inner_text() == "¥10.00" != before
    assert await desk.locator("[data-quote=tonight] .price").get_attribute("data-fen") == ""
    await screenshot(desk, "manager-prices")

    await desk.click("text=按次还是月卡？查看定价建议 →")
    await desk.wait_for_url(f"**/app/buildings/{tower.id}/prices/advice")
    # The demo's story building: October under 300 CNY passes, the advisor's month, asked
    # through the form with its what-if fees left to the plan.
    await desk.goto(f"/app/buildings/{p2}/prices/advice")
    await desk.fill("input[name=from]", "2026-10-01")
    await desk.fill("input[name=to]", "2026-10-31")
    await desk.click("form[action$='/advice'] button[type=submit]")
    await desk.wait_for_url("**/advice?from=2026-10-01&to=2026-10-31&*")
    assert await desk.get_attribute("[data-recommendation]", "data-recommendation") == "per_use"
    assert "改为按次收费" in await desk.inner_text(".recommendation .verdict")
    await screenshot(desk, "manager-advice")

    await desk.click("nav.subtabs a[href$='/reports']")
    await desk.wait_for_load_state()
    # The period picker: the demo's year (by default the last twelve months).
    await desk.fill("input[name=from]", "2025-12")
    await desk.fill("input[name=to]", "2026-11")
    await desk.click("form[action$='/reports'] button[type=submit]")
    await desk.wait_for_url("**/reports?from=2025-12&to=2026-11")
    chart = desk.locator("svg#utilization-chart")
    await chart.wait_for(state="visible")
    assert await chart.locator("title").first.text_content() == "每月车位利用率"
    assert await chart.get_attribute("aria-label") == "每月车位利用率"
    assert await chart.locator("rect.bar").count() == 12
    october = chart.locator("rect.bar", has=desk.locator("title", has_text="2026-10"))
    assert float(await october.get_attribute("height")) > 0
    assert await desk.locator("svg#revenue-chart rect.bar").count() > 0
    await screenshot(desk, "manager-reports")
