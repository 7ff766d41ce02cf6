"""The resident's pages in a phone's browser: book tonight from the search, see it, cancel it;
and the screenshots of each resident page, on the demo's data."""

from __future__ import annotations

import datetime as dt

import asyncpg
from playwright.async_api import Dialog, Page

from parking.demo import DEMO_ACCOUNTS, seed_demo
from tests.factories import (
    Resident,
    at,
    insert_allocation_request,
    insert_reservation,
    night_in,
    tomorrow,
)
from tests.web.conftest import screenshot, sign_in

DEMO_RESIDENT = next(a for a in DEMO_ACCOUNTS if a.role == "resident")


async def _demo_resident(conn: asyncpg.Connection) -> Resident:
    await seed_demo(conn)
    row = await conn.fetchrow(
        "SELECT u.id, v.id AS vehicle_id, v.plate FROM users u JOIN vehicles v ON v.user_id = u.id"
        " WHERE u.email = $1",
        DEMO_RESIDENT.email,
    )
    return Resident(row["id"], DEMO_RESIDENT.email, [row["vehicle_id"]], [row["plate"]], {})


async def _accept(dialog: Dialog) -> None:
    # data-confirm asks before cancelling; a person says yes.
    await dialog.accept()


async def test_a_resident_books_tonight_sees_it_and_cancels_it_on_a_phone(
    phone: Page, conn: asyncpg.Connection
) -> None:
    resident = await _demo_resident(conn)
    await sign_in(phone, DEMO_RESIDENT.email, DEMO_RESIDENT.password)
    assert phone.url.endswith("/app/search")
    results = phone.locator("li.result")
    assert await results.count() == 3
    first = results.first
    name = await first.locator(".name").inner_text()
    assert "¥10.00" in await first.inner_text()
    await screenshot(phone, "resident-search")

    await first.locator("form.book button[type=submit]").click()
    await phone.wait_for_url("**/app/reservations?done=booked")
    assert "预约成功" in await phone.locator(".notice.ok").inner_text()
    booked = phone.locator("li.reservation")
    assert await booked.count() == 1
    assert name in await booked.inner_text() and "已确认" in await booked.inner_text()
    row = await conn.fetchrow(
        "SELECT id, status, night FROM reservations WHERE user_id = $1", resident.id
    )
    assert row["status"] == "confirmed"
    assert row["night"] == night_in(0)  # tonight
    await screenshot(phone, "resident-reservations")

    phone.on("dialog", _accept)
    await booked.locator("button.danger").click()
    await phone.wait_for_url("**/app/reservations?done=cancelled")
    assert await phone.locator("li.reservation").count() == 0
    past = phone.locator(f'tr[data-reservation="{row["id"]}"]')
    assert "已取消" in await past.inner_text()
    assert (
        await conn.fetchval("SELECT status FROM reservations WHERE id = $1", row["id"])
        == "cancelled"
    )


async def test_the_resident_pages_on_a_phone(phone: Page, conn: asyncpg.Connection) -> None:
    """Screenshots of the night requests, the charges and the account, with some history."""
    resident = await _demo_resident(conn)
    spaces = await conn.fetch(
        "SELECT s.id, s.building_id FROM spaces s JOIN buildings b ON b.id = s.building_id"
        " WHERE b.district_place_id = 'b-jewelry-hq' ORDER BY s.label LIMIT 4"
    )
    # Three nights parked (each charged its per-use fee) and one cancelled late.
    for i, days in enumerate((-6, -4, -2, -1)):
        night = night_in(days)
        late = i == 3
        reservation = await insert_reservation(
            conn,
            space_id=spaces[i]["id"],
            start=at(night, 20),
            end=at(night, 7),
            resident=resident,
            status="cancelled" if late else "completed",
            fee_fen=500 if late else 1000,
        )
        await conn.execute(
            "INSERT INTO charges (kind, amount_fen, user_id, building_id, reservation_id, night,"
            " occurred_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            "late_cancel" if late else "per_use",
            500 if late else 1000,
            resident.id,
            spaces[i]["building_id"],
            reservation,
            night,
            min(at(night, 19) if late else at(night, 7), dt.datetime.now(dt.UTC)),
        )
    # A night request waiting for tomorrow's cutoff, one allocated, one refused.
    await insert_allocation_request(conn, resident, tomorrow(), max_price_fen=1500)
    allocated = await insert_allocation_request(conn, resident, night_in(-2))
    await conn.execute(
        "UPDATE allocation_requests SET status = 'allocated', reservation_id = $2,"
        " decided_at = now(), weight = 1 WHERE id = $1",
        allocated,
        await conn.fetchval(
            "SELECT id FROM reservations WHERE user_id = $1 AND night = $2",
            resident.id,
            night_in(-2),
        ),
    )
    refused = await insert_allocation_request(conn, resident, night_in(-3))
    await conn.execute(
        "UPDATE allocation_requests SET status = 'not_allocated',"
        " not_allocated_reason = 'refused', decided_at = now(), weight = 1 WHERE id = $1",
        refused,
    )

    await sign_in(phone, DEMO_RESIDENT.email, DEMO_RESIDENT.password)
    await phone.goto("/app/allocation-requests")
    assert await phone.locator("li.request").count() == 3
    assert await phone.locator('li.request[data-status="pending"] button.danger').count() == 1
    await screenshot(phone, "resident-allocation")

    await phone.goto("/app/charges")
    lines = await phone.locator("table.lines tbody tr").count()
    total = await phone.locator("[data-total]").get_attribute("data-total")
    count, expected = await conn.fetchrow(
        "SELECT count(*), coalesce(sum(amount_fen), 0) FROM charges WHERE user_id = $1"
        " AND date_trunc('month', occurred_at AT TIME ZONE 'Asia/Shanghai')"
        "   = date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai')",
        resident.id,
    )
    assert lines == count and int(total or 0) == expected
    await screenshot(phone, "resident-charges")

    await phone.goto("/app/account")
    assert "粤B12345" in await phone.locator("#vehicles").inner_text()
    assert "贝丽花园" in await phone.locator("#residence").inner_text()
    await screenshot(phone, "resident-account")


async def test_every_resident_page_fits_a_phone_in_both_languages(
    phone: Page, conn: asyncpg.Connection
) -> None:
    await _demo_resident(conn)
    await sign_in(phone, DEMO_RESIDENT.email, DEMO_RESIDENT.password)
    for lang in ("zh", "en"):
        await phone.goto(f"/app/lang/{lang}")
        for path in (
            "/app/search",
            "/app/reservations",
            "/app/allocation-requests",
            "/app/charges",
            "/app/account",
        ):
            await phone.goto(path)
            assert await phone.locator("main h1").count() == 1, path
            width = await phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, (lang, path, width)
