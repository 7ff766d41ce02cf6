"""The manager's building pages in a browser: the list, one building, and its calendar on a
desk screen and on a phone, with the demo's buildings and a fortnight of bookings."""

from __future__ import annotations

import asyncpg
from playwright.async_api import Page

from parking.demo import DEMO_ACCOUNTS, seed_demo
from tests.factories import add_blackout, at, insert_reservation, night_in, random_plate
from tests.web.conftest import screenshot, sign_in

MANAGER = next(a for a in DEMO_ACCOUNTS if a.role == "manager")


async def _demo_with_bookings(conn: asyncpg.Connection) -> dict[str, int]:
    """The demo, with platform bookings over the next fortnight and a blackout."""
    await seed_demo(conn)
    ids = {
        r["district_place_id"]: r["id"]
        for r in await conn.fetch("SELECT id, district_place_id FROM buildings")
    }
    spaces = [
        r["id"]
        for r in await conn.fetch(
            "SELECT id FROM spaces WHERE building_id = $1 ORDER BY label", ids["b-jewelry-hq"]
        )
    ]
    for night_offset in range(14):
        night = night_in(night_offset)
        for space_id in spaces[: (night_offset * 7) % 17 + 3]:
            start = at(night, 19 + night_offset % 3) if night_offset else at(night, 23)
            await insert_reservation(
                conn, space_id=space_id, start=start, end=at(night, 7), plate=random_plate()
            )
    await add_blackout(conn, ids["b-jewelry-hq"], at(night_in(9), 19), at(night_in(9), 8))
    await conn.execute(
        "UPDATE blackouts SET reason = '消防检查 Fire safety inspection' WHERE building_id = $1",
        ids["b-jewelry-hq"],
    )
    return ids


async def test_a_manager_opens_buildings_a_building_and_its_calendar(
    desk: Page, conn: asyncpg.Connection
) -> None:
    ids = await _demo_with_bookings(conn)
    hq = ids["b-jewelry-hq"]
    await sign_in(desk, MANAGER.email, MANAGER.password)
    assert desk.url.endswith("/app/buildings")
    assert await desk.locator("li[data-building]").count() == 3
    await screenshot(desk, "manager-buildings")

    await desk.click(f"li[data-building='{hq}'] a.building-name")
    assert desk.url.endswith(f"/app/buildings/{hq}")
    assert await desk.locator("tr[data-space]").count() == 40
    # Add a space through the form, as a person does.
    await desk.fill("input[name=labels]", "B2-001")
    await desk.check("form[action$='/spaces'] input[name=features][value=ev]")
    await desk.click("form[action$='/spaces'] button.primary")
    assert "车位已添加" in await desk.inner_text(".notice.ok")
    assert await desk.locator("tr[data-space]").count() == 41
    await screenshot(desk, "manager-building")

    await desk.click("nav.subtabs a[href$='/calendar']")
    assert desk.url.endswith(f"/app/buildings/{hq}/calendar")
    assert await desk.locator(".calendar .day").count() == 30
    assert await desk.locator(".calendar .day.blackout").count() == 1
    await screenshot(desk, "manager-calendar")


async def test_the_calendar_on_a_phone(phone: Page, conn: asyncpg.Connection) -> None:
    ids = await _demo_with_bookings(conn)
    await sign_in(phone, MANAGER.email, MANAGER.password)
    await phone.goto(f"/app/buildings/{ids['b-jewelry-hq']}/calendar")
    assert await phone.locator(".calendar .day").count() == 30
    # One column: nothing wider than the phone's screen.
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    await screenshot(phone, "manager-calendar-phone")
    # Each night's figures stay inside its cell, also at P2's 120 free of 120.
    await phone.goto(f"/app/buildings/{ids['b-wanshan-p2']}/calendar")
    assert await phone.locator(".calendar .day[data-capacity='120']").count() > 0
    spilling = await phone.evaluate(
        "[...document.querySelectorAll('.calendar .day')]"
        ".filter(d => d.scrollWidth > d.clientWidth).map(d => d.dataset.night)"
    )
    assert spilling == [], spilling
