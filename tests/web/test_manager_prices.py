"""The manager's price, advice and report pages over HTTP: what they show, and that their
forms change the plan exactly as the API does (Rates message included) or change nothing."""

from __future__ import annotations

import datetime as dt
import re

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from parking.demo import DEMO_ACCOUNTS, seed_demo
from pricing import ledger
from pricing.plans import default_switch_date
from tests.factories import (
    add_plan,
    add_window,
    make_building,
    make_manager,
    make_user,
    night_in,
    outbox_rows,
    token_headers,
)
from tests.helpers import PASSWORD
from tests.web.conftest import WebForm

PLAN_COLUMNS = (
    "version, mode, per_use_fee_fen, monthly_fee_fen, overstay_fen_per_hour,"
    " overstay_grace_minutes, no_show_fee_fen, free_cancel_minutes, late_cancel_fee_fen,"
    " effective_from, withdrawn_at IS NOT NULL AS withdrawn"
)


async def _sign_in(web: WebForm, email: str, password: str = PASSWORD) -> None:
    answer = await web.post("/app/login", "/app/login", {"email": email, "password": password})
    assert answer.status_code == 303, answer.text


async def _plans(conn: asyncpg.Connection, building_id: int) -> list[dict]:
    rows = await conn.fetch(
        f"SELECT {PLAN_COLUMNS} FROM price_plans WHERE building_id = $1 ORDER BY version",
        building_id,
    )
    return [dict(r) for r in rows]


def _quote(html: str, name: str) -> str:
    """The fen of a quote on the prices page ('' when the night is not sold singly)."""
    found = re.search(rf'data-quote="{name}">.*?data-fen="(\d*)"', html, re.S)
    assert found, f"no {name} quote on the page"
    return found.group(1)


@pytest.fixture
async def managed(conn: asyncpg.Connection, web: WebForm, settings):
    """Two monthly buildings (300 CNY passes, no single nights) of a signed-in manager: one
    for the pages, one for the API; and the manager's API headers."""
    manager = await make_manager(conn)
    page = await make_building(
        conn, manager_id=manager.id, fee_fen=None, monthly_pass_fen=30000, spaces=3
    )
    api = await make_building(
        conn, manager_id=manager.id, fee_fen=None, monthly_pass_fen=30000, spaces=3
    )
    await _sign_in(web, manager.email)
    return page, api, token_headers(settings, manager.id, "manager")


async def test_the_prices_page_shows_the_plan_quotes_and_history(
    client: AsyncTestClient, conn: asyncpg.Connection, web: WebForm
) -> None:
    manager = await make_manager(conn)
    building = await make_building(conn, manager_id=manager.id)
    await add_plan(
        conn,
        building.id,
        per_use_fee_fen=1200,
        overstay_fen_per_hour=1000,
        overstay_grace_minutes=15,
        no_show_fee_fen=500,
        free_cancel_minutes=60,
        late_cancel_fee_fen=300,
        effective_from=night_in(-3),
    )
    await add_plan(conn, building.id, per_use_fee_fen=1500, effective_from=night_in(40))
    await add_plan(conn, building.id, per_use_fee_fen=900, effective_from=night_in(-1))
    await conn.execute(
        "UPDATE price_plans SET withdrawn_at = now() - interval '2 days'"
        " WHERE building_id = $1 AND version = 4",
        building.id,
    )
    await _sign_in(web, manager.email)
    page = await client.get(f"/app/buildings/{building.id}/prices")
    assert page.status_code == 200, page.text
    html = page.text
    assert building.name in html and f'href="/app/buildings/{building.id}/reports"' in html
    in_force = html.split('id="in-force"')[1].split("</section>")[0]
    for words in (
        "按次收费",
        "¥12.00",
        "每小时 ¥10.00，宽限 15 分钟",
        "¥5.00",
        "60 分钟以上取消免费",
    ):
        assert words in in_force, words
    assert _quote(html, "tonight") == "1200"
    # Version 3 starts after the first of next month (at most 31 nights away).
    assert _quote(html, "next-month") == "1200"
    assert _quote(html, "next-pass") == ""  # a per-use plan sells no passes
    statuses = dict(re.findall(r'data-version="(\d+)" data-status="(\w+)"', html))
    assert statuses == {"1": "superseded", "2": "in_force", "3": "scheduled", "4": "withdrawn"}
    assert 'data-scheduled="3"' in html and night_in(40).isoformat() in html
    # Only the scheduled version offers a withdrawal.
    assert re.findall(r"/prices/versions/(\d+)/withdraw", html) == ["3"]


async def test_a_missing_holiday_calendar_is_said_on_every_quote(
    client: AsyncTestClient, conn: asyncpg.Connection, web: WebForm, managed
) -> None:
    page_building, _, _ = managed  # passes only, 300 CNY
    # Working days only: every night needs the holiday calendar of its year, not entered.
    await conn.execute("DELETE FROM off_peak_rules WHERE building_id = $1", page_building.id)
    await add_window(conn, page_building.id, day_class="working_days")
    for year in {night_in(0).year, default_switch_date(night_in(0)).year}:
        await conn.execute("DELETE FROM calendar_years WHERE year = $1", year)
    html = (await client.get(f"/app/buildings/{page_building.id}/prices")).text
    for name in ("tonight", "next-month", "next-pass"):
        quote = re.search(rf'data-quote="{name}">.*?</div>\s*</div>', html, re.S)
        assert quote and "缺少当年节假日日历" in quote.group(0), name
    assert _quote(html, "next-pass") == ""


async def test_a_switch_from_the_page_is_the_apis_switch_and_changes_next_months_quote(
    client: AsyncTestClient, conn: asyncpg.Connection, web: WebForm, managed
) -> None:
    page_building, api_building, headers = managed
    prices = f"/app/buildings/{page_building.id}/prices"
    before = (await client.get(prices)).text
    assert _quote(before, "next-month") == ""  # passes only
    assert _quote(before, "next-pass") == "30000"
    rates_before = len(await outbox_rows(conn, "rates"))

    answer = await web.post(
        prices, f"{prices}/switch", {"mode": "per_use", "per_use_fee_fen": "1000"}
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"{prices}?done=switch"
    api = await client.post(
        f"/buildings/{api_building.id}/plans/switch",
        json={"mode": "per_use", "per_use_fee_fen": 1000},
        headers=headers,
    )
    assert api.status_code == 201, api.text
    assert await _plans(conn, page_building.id) == await _plans(conn, api_building.id)
    (_, new) = await _plans(conn, page_building.id)
    assert (new["mode"], new["per_use_fee_fen"], new["effective_from"]) == (
        "per_use",
        1000,
        default_switch_date(night_in(0)),
    )
    # Each change queued the place's Rates, as the API's did.
    assert len(await outbox_rows(conn, "rates")) == rates_before + 2

    after = await client.get(answer.headers["location"])
    assert "已排定切换" in after.text
    assert _quote(after.text, "tonight") == ""  # tonight keeps its price
    assert _quote(after.text, "next-month") == "1000"
    assert _quote(after.text, "next-pass") == ""  # no new pass starts after the switch


async def test_a_new_version_from_the_page_is_the_apis_new_version(
    client: AsyncTestClient, conn: asyncpg.Connection, web: WebForm, managed
) -> None:
    page_building, api_building, headers = managed
    prices = f"/app/buildings/{page_building.id}/prices"
    terms = {
        "mode": "per_use",
        "per_use_fee_fen": 800,
        "monthly_fee_fen": 25000,
        "overstay_fen_per_hour": 500,
        "overstay_grace_minutes": 10,
        "no_show_fee_fen": 400,
        "free_cancel_minutes": 30,
        "late_cancel_fee_fen": 200,
        "effective_from": night_in(5).isoformat(),
    }
    answer = await web.post(prices, f"{prices}/versions", {k: str(v) for k, v in terms.items()})
    assert answer.status_code == 303, answer.text
    api = await client.post(f"/buildings/{api_building.id}/plans", json=terms, headers=headers)
    assert api.status_code == 201, api.text
    assert await _plans(conn, page_building.id) == await _plans(conn, api_building.id)
    assert len(await outbox_rows(conn, "rates")) == 2
    page = await client.get(answer.headers["location"])
    assert re.search(r'data-version="2" data-status="scheduled"', page.text)


async def test_withdrawing_a_scheduled_version_from_the_page(
    client: AsyncTestClient, conn: asyncpg.Connection, web: WebForm, managed
) -> None:
    page_building, _, _ = managed
    prices = f"/app/buildings/{page_building.id}/prices"
    switched = await web.post(
        prices, f"{prices}/switch", {"mode": "per_use", "per_use_fee_fen": "1000"}
    )
    assert switched.status_code == 303
    answer = await web.post(prices, f"{prices}/versions/2/withdraw", {})
    assert answer.status_code == 303 and answer.headers["location"] == f"{prices}?done=withdraw"
    assert [p["withdrawn"] for p in await _plans(conn, page_building.id)] == [False, True]
    assert len(await outbox_rows(conn, "rates")) == 2
    page = (await client.get(answer.headers["location"])).text
    assert 'data-version="2" data-status="withdrawn"' in page
    assert _quote(page, "next-month") == ""  # back to passes only

    # The version in force cannot be withdrawn: the page says why and nothing changes.
    refused = await web.post(prices, f"{prices}/versions/1/withdraw", {})
    assert refused.status_code == 409
    assert 'data-problem="plan-in-force"' in refused.text and "不能撤回" in refused.text
    assert [p["withdrawn"] for p in await _plans(conn, page_building.id)] == [False, True]


@pytest.mark.parametrize(
    ("action", "form", "status", "problem", "words"),
    [
        (
            "switch",
            {"mode": "per_use", "per_use_fee_fen": "10.5"},
            422,
            "validation-error",
            "per_use_fee_fen",
        ),
        (
            "versions",
            {"mode": "per_use", "per_use_fee_fen": "10.5"},
            422,
            "validation-error",
            "per_use_fee_fen",
        ),
        (
            "switch",
            {"mode": "per_use", "per_use_fee_fen": "1000", "effective_from": "2020-01-01"},
            422,
            "effective-date-in-past",
            "生效日期不能早于今天",
        ),
        (
            "versions",
            {"mode": "per_use", "per_use_fee_fen": "1000", "effective_from": "2020-01-01"},
            422,
            "effective-date-in-past",
            "生效日期不能早于今天",
        ),
        ("versions", {"mode": "per_use"}, 422, "plan-invalid", "价格方案不完整或有误"),
        (
            "switch",
            {"mode": "per_use", "per_use_fee_fen": "-1"},
            422,
            "validation-error",
            "per_use_fee_fen",
        ),
        ("switch", {"mode": "hourly"}, 422, "validation-error", "mode"),
    ],
)
async def test_bad_input_is_shown_and_changes_nothing(
    client: AsyncTestClient,
    conn: asyncpg.Connection,
    web: WebForm,
    managed,
    action: str,
    form: dict[str, str],
    status: int,
    problem: str,
    words: str,
) -> None:
    page_building, _, _ = managed
    prices = f"/app/buildings/{page_building.id}/prices"
    before = await _plans(conn, page_building.id)
    answer = await web.post(prices, f"{prices}/{action}", form)
    assert answer.status_code == status, answer.text
    assert f'data-problem="{problem}"' in answer.text
    assert words in answer.text
    # The form keeps what was typed, so it can be corrected.
    for field, value in form.items():
        if field != "mode":
            assert re.search(rf'name="{field}"[^>]*value="{re.escape(value)}"', answer.text)
    assert await _plans(conn, page_building.id) == before
    assert await outbox_rows(conn, "rates") == []


async def test_another_managers_building_is_404_on_every_page(
    client: AsyncTestClient, conn: asyncpg.Connection, web: WebForm, managed
) -> None:
    page_building, _, _ = managed
    other = await make_manager(conn)
    theirs = await make_building(conn, manager_id=other.id)
    await add_plan(conn, theirs.id, per_use_fee_fen=2000, effective_from=night_in(30))
    base = f"/app/buildings/{theirs.id}"
    for path in (f"{base}/prices", f"{base}/prices/advice", f"{base}/reports"):
        answer = await client.get(path)
        assert answer.status_code == 404, path
        assert "没有找到" in answer.text and theirs.name not in answer.text
    mine = f"/app/buildings/{page_building.id}/prices"
    for action, form in (
        ("switch", {"mode": "monthly", "monthly_fee_fen": "1"}),
        ("versions", {"mode": "per_use", "per_use_fee_fen": "1"}),
        ("versions/2/withdraw", {}),
    ):
        answer = await web.post(mine, f"{base}/prices/{action}", form)
        assert answer.status_code == 404, action
    assert [p["withdrawn"] for p in await _plans(conn, theirs.id)] == [False, False]
    assert len(await _plans(conn, theirs.id)) == 2
    assert await outbox_rows(conn, "rates") == []


async def test_an_admin_sees_any_building_and_others_are_refused_everywhere(
    client: AsyncTestClient, conn: asyncpg.Connection, web: WebForm
) -> None:
    manager = await make_manager(conn)
    building = await make_building(conn, manager_id=manager.id)
    await add_plan(conn, building.id, per_use_fee_fen=2000, effective_from=night_in(30))
    base = f"/app/buildings/{building.id}"
    pages = (f"{base}/prices", f"{base}/prices/advice", f"{base}/reports")
    forms = (
        (f"{base}/prices/switch", {"mode": "monthly", "monthly_fee_fen": "1"}),
        (f"{base}/prices/versions", {"mode": "per_use", "per_use_fee_fen": "1"}),
        (f"{base}/prices/versions/2/withdraw", {}),
    )
    before = await _plans(conn, building.id)

    admin = await make_user(conn, "admin")
    await _sign_in(web, admin.email)
    for path in pages:
        assert (await client.get(path)).status_code in (200, 422), path  # 422: no advice yet

    resident = await make_user(conn, "resident")
    await _sign_in(web, resident.email)
    for path in pages:
        assert (await client.get(path)).status_code == 403, path
    for action, form in forms:
        assert (await web.post("/app/login", action, form)).status_code == 403, action

    client.cookies.clear()
    for path in pages:
        answer = await client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/app/login")
    for action, form in forms:
        answer = await web.post("/app/login", action, form)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/app/login")
    assert await _plans(conn, building.id) == before
    assert await outbox_rows(conn, "rates") == []


async def test_the_pages_speak_english_too(
    client: AsyncTestClient, conn: asyncpg.Connection, web: WebForm, managed
) -> None:
    page_building, _, _ = managed
    client.cookies.set("lang", "en")
    prices = (await client.get(f"/app/buildings/{page_building.id}/prices")).text
    assert "The plan in force tonight" in prices and "Passes only, no single nights" in prices
    reports = (await client.get(f"/app/buildings/{page_building.id}/reports")).text
    assert "Utilization per month" in reports and "Revenue per month, by kind" in reports


@pytest.fixture
async def demo(conn: asyncpg.Connection, web: WebForm):
    """The demo seeded, its manager signed in; P2's id (the story building)."""
    await seed_demo(conn)
    manager = next(a for a in DEMO_ACCOUNTS if a.role == "manager")
    await _sign_in(web, manager.email, manager.password)
    return await conn.fetchval("SELECT id FROM buildings WHERE district_place_id = 'b-wanshan-p2'")


async def test_the_reports_numbers_are_the_revenue_apis(
    client: AsyncTestClient, conn: asyncpg.Connection, settings, demo: int
) -> None:
    # A refund in November 2026, so one month has a negative kind.
    pass_charge = await conn.fetchval(
        "SELECT id FROM charges WHERE building_id = $1 AND kind = 'pass' ORDER BY id LIMIT 1", demo
    )
    admin_id = await conn.fetchval("SELECT id FROM users WHERE email = 'admin@demo.parking'")
    await ledger.refund(
        conn,
        pass_charge,
        5000,
        at=dt.datetime(2026, 11, 20, 4, tzinfo=dt.UTC),
        reason="left early",
        created_by=admin_id,
    )
    manager_id = await conn.fetchval("SELECT id FROM users WHERE email = 'manager@demo.parking'")
    headers = token_headers(settings, manager_id, "manager")

    page = await client.get(f"/app/buildings/{demo}/reports?from=2026-01&to=2026-12")
    assert page.status_code == 200, page.text
    api = await client.get(
        f"/buildings/{demo}/revenue", params={"from": "2026-01", "to": "2026-12"}, headers=headers
    )
    assert api.status_code == 200, api.text
    shown = {
        (month, kind): int(fen)
        for month, row in re.findall(r'<tr data-month="([\d-]+)">(.*?)</tr>', page.text, re.S)
        for kind, fen in re.findall(r'data-kind="(\w+)" data-fen="(-?\d+)"', row)
    }
    expected = {}
    for month in api.json()["months"]:
        for kind, fen in month["by_kind"].items():
            expected[month["month"], kind] = fen
        expected[month["month"], "total"] = month["total_fen"]
    assert shown == expected
    assert expected["2026-09", "pass"] == 40 * 30000  # the October passes, bought in September
    assert expected["2026-11", "refund"] == -5000

    # Utilization per month: October is the advisor's figure for October.
    advice = await client.get(
        f"/buildings/{demo}/advice",
        params={"from": "2026-10-01", "to": "2026-10-31"},
        headers=headers,
    )
    october = re.search(r'<tr data-month="2026-10">.*?data-bp="(\d+)"', page.text, re.S)
    assert october and int(october.group(1)) == advice.json()["recorded"]["utilization_bp"]
    assert int(october.group(1)) == 728  # 40 x 8 x 11 h of 120 x 31 x 13 h
    # The charts: one utilization bar per month, and revenue bars with a legend.
    utilization = page.text.split('id="utilization-chart"')[1].split("</svg>")[0]
    assert utilization.count('class="bar"') == 12
    assert "每月车位利用率" in utilization and "月卡" in page.text


async def test_the_reports_default_to_the_last_twelve_months(
    client: AsyncTestClient, conn: asyncpg.Connection, web: WebForm, managed
) -> None:
    page_building, _, _ = managed
    page = await client.get(f"/app/buildings/{page_building.id}/reports")
    assert page.status_code == 200, page.text
    months = re.findall(r'<tr data-month="([\d-]+)">', page.text.split('id="revenue"')[1])
    this_month = night_in(0).replace(day=1)
    assert len(months) == 12 and months[-1] == f"{this_month:%Y-%m}"
    too_long = await client.get(
        f"/app/buildings/{page_building.id}/reports?from=2020-01&to=2026-01"
    )
    assert too_long.status_code == 422 and 'data-problem="invalid-period"' in too_long.text
    backwards = await client.get(
        f"/app/buildings/{page_building.id}/reports?from=2026-05&to=2026-01"
    )
    assert backwards.status_code == 422


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("to=0001-03", "invalid-month"),  # the default twelve months would start before year 1
        ("from=9999-01&to=9999-12", "invalid-month"),  # its end is past the calendar
        ("to=9999-12", "invalid-month"),
        ("from=0001-01&to=9999-11", "invalid-period"),
        ("from=2026-13", "invalid-month"),
        ("to=2026-13", "invalid-month"),
    ],
)
async def test_a_period_at_the_calendars_edges_is_a_clear_422(
    client: AsyncTestClient, conn: asyncpg.Connection, web: WebForm, managed, query, problem
) -> None:
    page_building, _, _ = managed
    answer = await client.get(f"/app/buildings/{page_building.id}/reports?{query}")
    assert answer.status_code == 422, answer.text
    assert f'data-problem="{problem}"' in answer.text
    assert page_building.name in answer.text  # the reports page again, with its period picker
    assert 'name="from" value="None"' not in answer.text


async def test_the_advice_page_shows_the_advisors_comparison_of_last_month(
    client: AsyncTestClient, conn: asyncpg.Connection, settings, demo: int
) -> None:
    page = await client.get(f"/app/buildings/{demo}/prices/advice?from=2026-10-01&to=2026-10-31")
    assert page.status_code == 200, page.text
    manager_id = await conn.fetchval("SELECT id FROM users WHERE email = 'manager@demo.parking'")
    api = await client.get(
        f"/buildings/{demo}/advice",
        params={"from": "2026-10-01", "to": "2026-10-31"},
        headers=token_headers(settings, manager_id, "manager"),
    )
    advice = api.json()
    assert f'data-recommendation="{advice["recommendation"]}"' in page.text
    for key in ("recorded", "what_if"):
        card = page.text.split(f'data-outcome="{key}"')[1].split("</section>")[0]
        assert f'data-fen="{advice[key]["revenue_fen"]}"' in card
        assert f'data-bp="{advice[key]["utilization_bp"]}"' in card
    for assumption in advice["assumptions"]:
        assert assumption.replace("'", "&#39;") in page.text or assumption in page.text
    # A period that is not over yet is refused with the advisor's words, not a crash.
    future = await client.get(
        f"/app/buildings/{demo}/prices/advice?from=2026-10-01&to={night_in(3).isoformat()}"
    )
    assert future.status_code == 422 and 'data-problem="invalid-period"' in future.text


async def test_the_advice_form_as_a_browser_sends_it(
    client: AsyncTestClient, conn: asyncpg.Connection, demo: int
) -> None:
    advice = f"/app/buildings/{demo}/prices/advice"
    # The what-if fees left empty, as the form's placeholders invite: the plan's fees.
    empty = {"from": "2026-10-01", "to": "2026-10-31", "per_use_fee_fen": "", "monthly_fee_fen": ""}
    page = await client.get(advice, params=empty)
    assert page.status_code == 200, page.text
    assert 'data-recommendation="per_use"' in page.text
    given = await client.get(advice, params={**empty, "per_use_fee_fen": "1200"})
    assert given.status_code == 200 and "按 ¥12.00 估算" in given.text
    # What is not a date or a whole fen is shown on the advice page, with what was typed.
    for field, typed in (
        ("per_use_fee_fen", "10.5"),
        ("per_use_fee_fen", "-1"),
        ("monthly_fee_fen", "100000001"),
        ("from", "garbage"),
        ("to", "2026-13-01"),
    ):
        refused = await client.get(advice, params={**empty, field: typed})
        assert refused.status_code == 422, (field, typed)
        assert 'data-problem="validation-error"' in refused.text, (field, typed)
        assert f"<code>{field}</code>" in refused.text, (field, typed)
        assert re.search(rf'name="{field}"[^>]*value="{re.escape(typed)}"', refused.text)
        assert "data-recommendation" not in refused.text


async def test_the_advice_page_defaults_to_the_last_full_month(
    client: AsyncTestClient, conn: asyncpg.Connection, web: WebForm, managed
) -> None:
    page_building, _, _ = managed
    page = await client.get(f"/app/buildings/{page_building.id}/prices/advice")
    this_month = night_in(0).replace(day=1)
    last_month_end = this_month - dt.timedelta(days=1)
    assert f'name="from" value="{last_month_end.replace(day=1).isoformat()}"' in page.text
    assert f'name="to" value="{last_month_end.isoformat()}"' in page.text
    # A monthly plan selling no single nights has no per-use fee to compare with: the
    # advisor's refusal is shown, and a what-if fee given on the page answers it.
    assert page.status_code == 422 and 'data-problem="advice-impossible"' in page.text
    assert "give what_if_fee_fen" in page.text
    assert "请填写假设费用" in page.text  # the cause in the reader's words too
    asked = await client.get(
        f"/app/buildings/{page_building.id}/prices/advice", params={"per_use_fee_fen": "1000"}
    )
    assert asked.status_code == 200, asked.text
    assert 'data-recommendation="' in asked.text and "按 ¥10.00 估算" in asked.text
