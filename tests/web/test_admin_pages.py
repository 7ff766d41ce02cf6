"""The admin pages through HTTP: each form changes what its API endpoint changes.

Accounts (``POST /admin/users``), compounds (``POST /admin/compounds``), the whitelist
import (``POST /admin/whitelist/import``: the same file gives the same outcome on both) and
the holiday calendar (``PUT``/``DELETE /admin/calendar/{year}``). Refused input changes
nothing, and no phone is ever shown in full.
"""

from __future__ import annotations

import datetime as dt
import html
import re

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from parking.accounts.schemas import NewAccount
from parking.accounts.service import create_account
from parking.app import create_app
from parking.calendar.service import package_years
from parking.demo import seed_demo
from parking.plates import mask_phone
from parking.residents.whitelist_csv import FAULTS
from parking.web.i18n import TEXT
from tests.factories import add_building, add_space, add_window, insert_reservation, local
from tests.helpers import PASSWORD, login_headers, make_account, token_for
from tests.web.conftest import WebForm

ACCOUNTS = "/app/admin/accounts"
WHITELIST = "/app/admin/whitelist"
HOLIDAYS = "/app/admin/holidays"

_ENTRIES = """
SELECT c.name, w.unit, w.phone
FROM residence_whitelist w JOIN compounds c ON c.id = w.compound_id
ORDER BY c.name, w.unit, w.phone
"""
_DAYS = """
SELECT day, kind, name, source FROM calendar_days
WHERE day >= make_date($1, 1, 1) AND day < make_date($1 + 1, 1, 1) ORDER BY day
"""
# Any run of 6 to 15 digits outside a longer number: a phone shown in full.
_FULL_PHONE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
# A form's CSRF token and key are random, not personal data: left out of the search.
_FORM_TOKENS = re.compile(r'name="(_csrf_token|_form_key)" value="[^"]*"')


def _full_phone(html: str) -> re.Match[str] | None:
    """A run of digits shaped like a mobile number anywhere a reader could see it."""
    return _FULL_PHONE.search(_FORM_TOKENS.sub("", html))


@pytest.fixture
async def admin(web: WebForm, conn: asyncpg.Connection) -> str:
    """An admin signed in to the pages of this test's client; the admin's email."""
    email = await make_account(conn, "admin")
    answer = await web.post("/app/login", "/app/login", {"email": email, "password": PASSWORD})
    assert answer.status_code == 303, answer.text
    return email


@pytest.fixture
async def compounds(conn: asyncpg.Connection) -> dict[str, int]:
    rows = await conn.fetch(
        "INSERT INTO compounds (name, lat, lon) VALUES"
        " ('贝丽花园', 22.5655, 114.1287), ('深华丽园', 22.5668, 114.1321) RETURNING name, id"
    )
    return {r["name"]: r["id"] for r in rows}


async def _import_page(web: WebForm, body: str, mode: str = "merge"):
    token = await web.token(WHITELIST)
    return await web.client.post(
        f"{WHITELIST}/import",
        data={"_csrf_token": token, "mode": mode},
        files={"file": ("whitelist.csv", body.encode("utf-8"), "text/csv")},
        follow_redirects=False,
    )


async def _import_api(client: AsyncTestClient, headers: dict[str, str], body: str, mode: str):
    return await client.post(
        f"/admin/whitelist/import?mode={mode}",
        content=body.encode("utf-8"),
        headers={**headers, "content-type": "text/csv"},
    )


# --- accounts ------------------------------------------------------------------------------


async def test_accounts_are_listed_by_role_with_phones_masked(
    client: AsyncTestClient, conn: asyncpg.Connection, admin: str
) -> None:
    manager = await create_account(
        conn,
        NewAccount(
            email="wanshan@example.com",
            password=PASSWORD,
            role="manager",
            display_name="万山物业",
            phone="13912345678",
        ),
    )
    resident = await make_account(conn, "resident")

    everyone = await client.get(ACCOUNTS)
    assert everyone.status_code == 200
    assert manager.email in everyone.text and resident in everyone.text and admin in everyone.text
    assert "139****5678" in everyone.text
    assert "13912345678" not in everyone.text

    managers = await client.get(f"{ACCOUNTS}?role=manager")
    assert "万山物业" in managers.text and manager.email in managers.text
    assert resident not in managers.text and admin not in managers.text


async def test_accounts_are_listed_fifty_to_a_page(
    client: AsyncTestClient, conn: asyncpg.Connection, admin: str
) -> None:
    await conn.execute(
        "INSERT INTO users (email, password_hash, role)"
        " SELECT 'r' || n || '@example.com', 'x', 'resident' FROM generate_series(1, 55) AS n"
    )
    first = (await client.get(f"{ACCOUNTS}?role=resident")).text
    assert len(re.findall(r'<tr data-user="', first)) == 50
    assert "第 1–50 条，共 55 条" in first and "r1@example.com" in first
    assert f'href="{ACCOUNTS}?role=resident&amp;offset=50"' in first
    second = (await client.get(f"{ACCOUNTS}?role=resident&offset=50")).text
    assert len(re.findall(r'<tr data-user="', second)) == 5
    assert "第 51–55 条，共 55 条" in second and "r55@example.com" in second
    assert f'href="{ACCOUNTS}?role=resident"' in second  # back to the first page
    assert (await client.get(f"{ACCOUNTS}?offset=-1")).status_code == 422


async def test_creating_a_manager_makes_the_account_the_api_makes(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection, admin: str
) -> None:
    answer = await web.post(
        ACCOUNTS,
        ACCOUNTS,
        {
            "role": "manager",
            "email": "New.Manager@Example.com",
            "display_name": " 田贝物业 ",
            "phone": "13700001111",
            "password": "initial-pass-1",
        },
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"{ACCOUNTS}?done=created"
    row = await conn.fetchrow(
        "SELECT role, display_name, phone, is_active FROM users WHERE email = $1",
        "new.manager@example.com",
    )
    assert dict(row) == {
        "role": "manager",
        "display_name": "田贝物业",
        "phone": "13700001111",
        "is_active": True,
    }
    # The new manager signs in with the initial password, as with an API-made account.
    assert await token_for(client, "new.manager@example.com", "initial-pass-1")
    page = await client.get(answer.headers["location"])
    assert "账号已创建" in page.text and "137****1111" in page.text


async def test_a_refused_account_is_shown_and_changes_nothing(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection, admin: str
) -> None:
    before = await conn.fetchval("SELECT count(*) FROM users")
    short = await web.post(
        ACCOUNTS,
        ACCOUNTS,
        {"role": "manager", "email": "m@example.com", "password": "short", "phone": "13700002222"},
    )
    assert short.status_code == 422
    assert "password" in short.text and 'value="m@example.com"' in short.text
    assert "13700002222" not in short.text  # the typed phone is not echoed in full

    taken = await web.post(
        ACCOUNTS, ACCOUNTS, {"role": "admin", "email": admin, "password": "long-enough-pw"}
    )
    assert taken.status_code == 409 and "该邮箱已注册" in taken.text

    bad_role = await web.post(
        ACCOUNTS, ACCOUNTS, {"role": "owner", "email": "o@example.com", "password": "long-enough"}
    )
    assert bad_role.status_code == 422 and "role" in bad_role.text
    assert await conn.fetchval("SELECT count(*) FROM users") == before


# --- compounds and the whitelist -------------------------------------------------------------


async def test_deactivating_a_manager_ends_their_page_session_and_reactivating_lets_them_in(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection, admin: str, settings
) -> None:
    email = await make_account(conn, "manager")
    user_id = await conn.fetchval("SELECT id FROM users WHERE email = $1", email)
    admin_id = await conn.fetchval("SELECT id FROM users WHERE email = $1", admin)
    async with AsyncTestClient(app=create_app(settings)) as other:
        theirs = WebForm(other)
        signed = await theirs.post(
            "/app/login", "/app/login", {"email": email, "password": PASSWORD}
        )
        assert signed.status_code == 303, signed.text
        assert (await other.get("/app/buildings")).status_code == 200

        page = (await client.get(ACCOUNTS)).text
        # No one can deactivate themselves: the admin's own row offers no such button.
        own = re.search(rf'<tr data-user="{admin_id}">.*?</tr>', page, re.S).group(0)
        assert "/active" not in own and "当前账号" in own
        row = re.search(rf'<tr data-user="{user_id}">.*?</tr>', page, re.S).group(0)
        assert f"停用 {email}？" in html.unescape(row)  # asked before it is done

        answer = await web.post(ACCOUNTS, f"{ACCOUNTS}/{user_id}/active", {"is_active": "false"})
        assert (
            answer.status_code == 303
            and answer.headers["location"] == f"{ACCOUNTS}?done=deactivated"
        )
        assert await conn.fetchval("SELECT is_active FROM users WHERE id = $1", user_id) is False
        assert "账号已停用" in (await client.get(answer.headers["location"])).text
        # Their next page view signs them out; signing in again is refused.
        gone = await other.get("/app/buildings", follow_redirects=False)
        assert gone.status_code == 303 and gone.headers["location"].startswith("/app/login")
        again = await theirs.post(
            "/app/login", "/app/login", {"email": email, "password": PASSWORD}
        )
        assert again.status_code == 401

        back = await web.post(ACCOUNTS, f"{ACCOUNTS}/{user_id}/active", {"is_active": "true"})
        assert back.headers["location"] == f"{ACCOUNTS}?done=activated"
        signed = await theirs.post(
            "/app/login", "/app/login", {"email": email, "password": PASSWORD}
        )
        assert signed.status_code == 303, signed.text


async def test_a_new_password_from_the_page_ends_earlier_sessions(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection, admin: str, settings
) -> None:
    email = await make_account(conn, "resident")
    user_id = await conn.fetchval("SELECT id FROM users WHERE email = $1", email)
    old = await login_headers(client, email)
    refused = await web.post(ACCOUNTS, f"{ACCOUNTS}/{user_id}/password", {"password": "short"})
    assert refused.status_code == 422
    assert (await client.get("/auth/me", headers=old)).status_code == 200  # nothing changed
    answer = await web.post(
        ACCOUNTS, f"{ACCOUNTS}/{user_id}/password", {"password": "a-new-password-2026"}
    )
    assert answer.headers["location"] == f"{ACCOUNTS}?done=password"
    assert (await client.get("/auth/me", headers=old)).status_code == 401
    assert await token_for(client, email, "a-new-password-2026")
    # An admin cannot deactivate themselves from the page either: the API's 409, in Chinese.
    admin_id = await conn.fetchval("SELECT id FROM users WHERE email = $1", admin)
    own = await web.post(ACCOUNTS, f"{ACCOUNTS}/{admin_id}/active", {"is_active": "false"})
    assert own.status_code == 409 and "管理员不能停用自己的账号" in own.text
    assert await conn.fetchval("SELECT is_active FROM users WHERE id = $1", admin_id) is True


async def test_adding_a_compound_and_refusing_a_bad_or_taken_one(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection, admin: str
) -> None:
    answer = await web.post(
        WHITELIST,
        f"{WHITELIST}/compounds",
        {"name": " 贝丽  花园 ", "lat": "22.5655", "lon": "114.1287"},
    )
    assert answer.status_code == 303, answer.text
    row = await conn.fetchrow("SELECT id, name, lat, lon FROM compounds")
    assert (row["name"], row["lat"], row["lon"]) == ("贝丽 花园", 22.5655, 114.1287)
    assert answer.headers["location"] == f"{WHITELIST}?done=compound&compound={row['id']}"
    page = await client.get(answer.headers["location"])
    assert "小区已新增" in page.text and "贝丽 花园" in page.text

    far = await web.post(
        WHITELIST, f"{WHITELIST}/compounds", {"name": "深华丽园", "lat": "95", "lon": "114.13"}
    )
    assert far.status_code == 422 and "lat" in far.text
    assert 'value="深华丽园"' in far.text  # the form comes back as typed
    taken = await web.post(
        WHITELIST, f"{WHITELIST}/compounds", {"name": "贝丽 花园", "lat": "22.5", "lon": "114.1"}
    )
    assert taken.status_code == 409 and "已有同名小区" in taken.text
    assert await conn.fetchval("SELECT count(*) FROM compounds") == 1


async def test_a_compounds_whitelist_is_shown_a_hundred_to_a_page(
    client: AsyncTestClient, conn: asyncpg.Connection, admin: str, compounds: dict[str, int]
) -> None:
    compound = compounds["贝丽花园"]
    await conn.execute(
        "INSERT INTO residence_whitelist (compound_id, unit, phone)"
        " SELECT $1, n || '栋', '137' || lpad(n::text, 8, '0') FROM generate_series(1, 120) AS n",
        compound,
    )
    first = (await client.get(f"{WHITELIST}?compound={compound}")).text
    assert "第 1–100 条，共 120 条" in first
    assert f'href="{WHITELIST}?compound={compound}&amp;offset=100"' in first
    second = (await client.get(f"{WHITELIST}?compound={compound}&offset=100")).text
    assert "第 101–120 条，共 120 条" in second
    assert f'href="{WHITELIST}?compound={compound}"' in second


async def test_whitelist_entries_show_verification_and_never_a_full_phone(
    client: AsyncTestClient, conn: asyncpg.Connection, admin: str
) -> None:
    await seed_demo(conn)
    phones = [r["phone"] for r in await conn.fetch("SELECT phone FROM residence_whitelist")]
    phones += [
        r["phone"] for r in await conn.fetch("SELECT phone FROM users WHERE phone IS NOT NULL")
    ]
    assert phones

    page = await client.get(WHITELIST)
    assert page.status_code == 200
    assert "贝丽花园" in page.text and "3栋 502" in page.text
    assert mask_phone("13800138001") in page.text
    assert page.text.count('class="badge ok">已认证') == 1  # the demo resident
    assert page.text.count("data-entry=") == 5

    beili = await conn.fetchval("SELECT id FROM compounds WHERE name = '深华丽园'")
    one = await client.get(f"{WHITELIST}?compound={beili}")
    assert one.text.count("data-entry=") == 2 and "3栋 502" not in one.text
    assert (await client.get(f"{WHITELIST}?compound=999999")).status_code == 404
    # The filter's "all compounds" choice: every entry again, not a refusal.
    every = await client.get(f"{WHITELIST}?compound=")
    assert every.status_code == 200 and every.text.count("data-entry=") == 5
    for bad in ("abc", "²", "1.5"):
        refused = await client.get(f"{WHITELIST}?compound={bad}")
        assert refused.status_code == 422 and "<code>compound</code>" in refused.text, bad
    huge = await client.get(f"{WHITELIST}?compound={'9' * 30}")
    assert huge.status_code == 404

    for path in (WHITELIST, ACCOUNTS, f"{ACCOUNTS}?role=resident"):
        text = (await client.get(path)).text
        assert not any(phone in text for phone in phones), path
        assert not _full_phone(text), path


@pytest.mark.usefixtures("compounds")
async def test_a_good_file_is_imported_as_the_api_would(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection, admin: str
) -> None:
    await conn.execute(
        "INSERT INTO residence_whitelist (compound_id, unit, phone)"
        " SELECT id, '3栋 502', '13800138001' FROM compounds WHERE name = '贝丽花园'"
    )
    body = (
        "compound,unit,phone,lat,lon\n"
        "贝丽花园,3栋 502,13800138001,,\n"  # already on the list
        "贝丽花园,3栋  1201 ,138-0013-8002,,\n"
        "深华丽园,A座 1502,+86 139 0013 9001,,\n"
        "翠竹苑,2栋 301,13600136001,22.5601,114.1288\n"  # a new compound, with its place
    )
    answer = await _import_page(web, body)
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert location.startswith(f"{WHITELIST}?done=imported&")
    assert not _FULL_PHONE.search(location)

    page = await client.get(location)
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', page.text))
    assert counts == {"entries": "4", "added": "3", "unchanged": "1", "compounds_created": "1"}
    assert "白名单已导入" in page.text
    assert [tuple(r) for r in await conn.fetch(_ENTRIES)] == [
        ("深华丽园", "A座 1502", "13900139001"),
        ("翠竹苑", "2栋 301", "13600136001"),
        ("贝丽花园", "3栋 1201", "13800138002"),
        ("贝丽花园", "3栋 502", "13800138001"),
    ]
    # The API, given the same file as the whole list, finds exactly these entries there.
    api = await _import_api(client, await login_headers(client, admin), body, "replace")
    assert api.status_code == 200, api.text
    assert api.json() | {"mode": "merge"} == {
        "mode": "merge",
        "entries": 4,
        "added": 0,
        "unchanged": 4,
        "removed": 0,
        "unverified": 0,
        "compounds_created": 0,
    }


@pytest.mark.usefixtures("compounds")
async def test_a_file_with_duplicate_and_bad_lines_is_refused_line_by_line_like_the_api(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection, admin: str
) -> None:
    body = (
        "compound,unit,phone\n"
        "贝丽花园,3栋 502,13800138001\n"
        "贝丽花园,,13800138002\n"
        "贝丽花园,5栋 803,not-a-phone\n"
        "无名小区,1栋 101,13800138004\n"
        "贝丽花园,3栋 502,13800138001\n"
        "深华丽园,B座 703,13900139002\n"
    )
    page = await _import_page(web, body)
    assert page.status_code == 422
    assert 'data-problem="whitelist-invalid"' in page.text and "未导入任何内容" in page.text

    api = await _import_api(client, await login_headers(client, admin), body, "merge")
    assert api.status_code == 422
    errors = api.json()["errors"]
    assert [e["line"] for e in errors] == [3, 4, 5, 6]
    assert "same entry as line 2" in errors[-1]["message"]
    # Each line's faults in the reader's words: Chinese by default, the API's in English.
    shown = re.findall(r"<li><code>第 (\d+) 行</code>: (.*?)</li>", page.text)
    assert [(line, html.unescape(text)) for line, text in shown] == [
        ("3", "单元为空。"),
        ("4", "手机号应为 6 到 15 位数字（可含空格、短横线和 +86）。"),
        ("5", "小区「无名小区」不存在：请先创建，或在这一行填写它的 lat 和 lon。"),
        ("6", "与第 2 行重复。"),
    ]
    client.cookies.set("lang", "en")
    english = await _import_page(web, body)
    shown = re.findall(r"<li><code>Line (\d+)</code>: (.*?)</li>", english.text)
    assert [(line, html.unescape(text)) for line, text in shown] == [
        (str(e["line"]), e["message"]) for e in errors
    ]
    client.cookies.delete("lang")
    # Neither wrote the good lines, nor created the unknown compound.
    assert await conn.fetchval("SELECT count(*) FROM residence_whitelist") == 0
    assert await conn.fetchval("SELECT count(*) FROM compounds") == 2
    assert not _full_phone(page.text)


async def test_an_empty_or_missing_file_is_reported_and_changes_nothing(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection, admin: str
) -> None:
    empty = await _import_page(web, "")
    assert empty.status_code == 422 and "第 1 行" in empty.text
    token = await web.token(WHITELIST)
    not_utf8 = await client.post(
        f"{WHITELIST}/import",
        data={"_csrf_token": token, "mode": "merge"},
        files={"file": ("w.csv", "compound,unit,phone\n贝丽,1,13800138001\n".encode("gbk"))},
        follow_redirects=False,
    )
    assert not_utf8.status_code == 422 and "UTF-8" in not_utf8.text
    no_file = await client.post(
        f"{WHITELIST}/import",
        data={"_csrf_token": token, "mode": "replace"},
        files={"other": ("x.txt", b"")},
        follow_redirects=False,
    )
    assert no_file.status_code == 422 and "第 1 行" in no_file.text
    assert await conn.fetchval("SELECT count(*) FROM residence_whitelist") == 0


# --- the holiday calendar --------------------------------------------------------------------


async def test_the_years_and_one_years_exception_days(
    client: AsyncTestClient, conn: asyncpg.Connection, admin: str
) -> None:
    years = await client.get(HOLIDAYS)
    assert years.status_code == 200
    seeded = await conn.fetch("SELECT year FROM calendar_years ORDER BY year")
    assert seeded and all(f'data-year="{r["year"]}"' in years.text for r in seeded)
    year = seeded[-1]["year"]
    assert (await client.get(f"{HOLIDAYS}?year={year}", follow_redirects=False)).headers[
        "location"
    ] == f"{HOLIDAYS}/{year}"

    page = await client.get(f"{HOLIDAYS}/{year}")
    days = await conn.fetch(_DAYS, year)
    assert days and page.text.count("data-day=") == len(days)
    assert "chinesecalendar 数据包" in page.text
    first = days[0]
    assert f'data-day="{first["day"].isoformat()}"' in page.text and first["name"] in page.text
    assert (await client.get(f"{HOLIDAYS}/1999")).status_code in (400, 422)


async def test_entering_a_year_puts_what_the_api_puts(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection, admin: str
) -> None:
    lines = (
        "2031-01-01 holiday 元旦\n\n2031-10-01   holiday   国庆节 假期\n2031-09-28 workday 国庆节\n"
    )
    answer = await web.post(f"{HOLIDAYS}/2031", f"{HOLIDAYS}/2031", {"days": lines})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"{HOLIDAYS}/2031?done=saved"
    assert await conn.fetchval("SELECT source FROM calendar_years WHERE year = 2031") == "admin"
    api = await client.get("/admin/calendar/2031", headers=await login_headers(client, admin))
    assert api.json()["days"] == [
        {"day": "2031-01-01", "kind": "holiday", "name": "元旦"},
        {"day": "2031-09-28", "kind": "workday", "name": "国庆节"},
        {"day": "2031-10-01", "kind": "holiday", "name": "国庆节 假期"},
    ]
    page = await client.get(answer.headers["location"])
    assert "这一年的日历已保存" in page.text and page.text.count("data-day=") == 3

    # Entering it again replaces the whole year, as PUT does.
    again = await web.post(f"{HOLIDAYS}/2031", f"{HOLIDAYS}/2031", {"days": "2031-05-01 holiday"})
    assert again.status_code == 303
    assert [(r["day"].isoformat(), r["kind"]) for r in await conn.fetch(_DAYS, 2031)] == [
        ("2031-05-01", "holiday")
    ]


async def test_a_bad_year_is_shown_by_line_or_day_and_changes_nothing(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection, admin: str
) -> None:
    await web.post(f"{HOLIDAYS}/2031", f"{HOLIDAYS}/2031", {"days": "2031-05-01 holiday 劳动节"})
    before = [tuple(r) for r in await conn.fetch(_DAYS, 2031)]
    typed = "2031-01-01 holiday\n2031-13-01 holiday\n2031-02-02 rest\n2031-03-03"
    bad = await web.post(f"{HOLIDAYS}/2031", f"{HOLIDAYS}/2031", {"days": typed})
    assert bad.status_code == 422
    shown = re.findall(r"<li><code>第 (\d+) 行</code>: (.*?)</li>", bad.text)
    assert [(line, html.unescape(words)) for line, words in shown] == [
        ("2", "日期应写成 YYYY-MM-DD，例如 2026-10-01。"),
        ("3", "类型应为 holiday（休息日）或 workday（调休上班日）。"),
        ("4", "类型应为 holiday（休息日）或 workday（调休上班日）。"),  # no kind given
    ]
    assert html.escape(typed) in bad.text  # the lines come back to be corrected

    weekday = await web.post(
        f"{HOLIDAYS}/2031", f"{HOLIDAYS}/2031", {"days": "2031-01-06 workday 调休"}
    )
    assert weekday.status_code == 422 and "调休上班日必须是周六或周日" in weekday.text
    assert "2031-01-06" in weekday.text
    other_year = await web.post(
        f"{HOLIDAYS}/2031", f"{HOLIDAYS}/2031", {"days": "2032-01-01 holiday"}
    )
    assert other_year.status_code == 422 and 'data-problem="day-outside-year"' in other_year.text
    twice = await web.post(
        f"{HOLIDAYS}/2031", f"{HOLIDAYS}/2031", {"days": "2031-01-01 holiday\n2031-01-01 holiday"}
    )
    assert twice.status_code == 422 and 'data-problem="duplicate-day"' in twice.text
    assert [tuple(r) for r in await conn.fetch(_DAYS, 2031)] == before


async def test_filling_from_the_package_and_removing_a_year(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection, admin: str
) -> None:
    year = max(package_years())
    await conn.execute("DELETE FROM calendar_years WHERE year = $1", year)
    await conn.execute(
        "DELETE FROM calendar_days WHERE day >= make_date($1, 1, 1)"
        " AND day < make_date($1 + 1, 1, 1)",
        year,
    )
    listed = await client.get(HOLIDAYS)
    assert f'href="{HOLIDAYS}/{year}?fill=package"' in listed.text

    filled = await client.get(f"{HOLIDAYS}/{year}?fill=package")
    text = re.search(r'<textarea name="days"[^>]*>(.*?)</textarea>', filled.text, re.S)
    assert text is not None
    lines = html.unescape(text.group(1)).splitlines()
    expected = package_years()[year]
    assert len(lines) == len(expected)
    assert lines[0] == f"{expected[0][0].isoformat()} {expected[0][1]} {expected[0][2]}"
    assert await conn.fetchval("SELECT count(*) FROM calendar_years WHERE year = $1", year) == 0

    saved = await web.post(f"{HOLIDAYS}/{year}", f"{HOLIDAYS}/{year}", {"days": "\n".join(lines)})
    assert saved.status_code == 303, saved.text
    stored = [(r["day"], r["kind"], r["name"]) for r in await conn.fetch(_DAYS, year)]
    assert stored == expected

    page = await client.get(f"{HOLIDAYS}/{year}")
    assert 'id="remove-year"' in page.text and "data-confirm=" in page.text
    removed = await web.post(f"{HOLIDAYS}/{year}", f"{HOLIDAYS}/{year}/remove", {})
    assert removed.status_code == 303 and removed.headers["location"] == f"{HOLIDAYS}?done=removed"
    assert await conn.fetchval("SELECT count(*) FROM calendar_years WHERE year = $1", year) == 0
    assert await conn.fetchval("SELECT count(*) FROM calendar_days WHERE source = 'admin'") == 0


async def test_renaming_or_moving_a_compound_as_patch_does(
    client: AsyncTestClient,
    web: WebForm,
    conn: asyncpg.Connection,
    admin: str,
    compounds: dict[str, int],
) -> None:
    beili = compounds["贝丽花园"]
    action = f"{WHITELIST}/compounds/{beili}"
    moved = await web.post(WHITELIST, action, {"name": "贝丽花园", "lat": "22.57", "lon": ""})
    assert moved.status_code == 303, moved.text
    assert moved.headers["location"] == f"{WHITELIST}?done=compound_saved&compound={beili}"
    row = await conn.fetchrow("SELECT name, lat, lon FROM compounds WHERE id = $1", beili)
    assert tuple(row) == ("贝丽花园", 22.57, 114.1287)

    taken = await web.post(WHITELIST, action, {"name": "深华丽园", "lat": "22.58"})
    assert taken.status_code == 409 and "已有同名小区" in taken.text
    # The refused edit comes back open with what was typed, to correct.
    edit = re.search(rf'<tr data-compound="{beili}">.*?</tr>', taken.text, re.S)
    assert edit and '<details class="compound-edit" open>' in edit.group(0)
    assert 'name="name" value="深华丽园"' in edit.group(0)
    assert 'name="lat" value="22.58"' in edit.group(0)
    nothing = await web.post(WHITELIST, action, {"name": "", "lat": "", "lon": ""})
    assert nothing.status_code == 422
    missing = await web.post(WHITELIST, f"{WHITELIST}/compounds/999999", {"name": "新名"})
    assert missing.status_code == 404
    assert tuple(
        await conn.fetchrow("SELECT name, lat, lon FROM compounds WHERE id = $1", beili)
    ) == ("贝丽花园", 22.57, 114.1287)


async def test_the_admin_pages_in_english(client: AsyncTestClient, admin: str) -> None:
    client.cookies.set("lang", "en")
    year = max(package_years())
    for path, heading in (
        (ACCOUNTS, "Accounts"),
        (WHITELIST, "Compounds and resident whitelist"),
        (HOLIDAYS, "Holiday calendar"),
        (f"{HOLIDAYS}/{year}", f"Holidays of {year}"),
    ):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert f"<h1>{heading}</h1>" in page.text, path
        assert not re.search(r">\s*admin\.[a-z_.]+", page.text), path  # no key shown as is


async def test_a_correction_that_strands_bookings_needs_the_box_and_an_in_use_year_stays(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection, admin: str
) -> None:
    assert (await web.post(f"{HOLIDAYS}/2027", f"{HOLIDAYS}/2027", {"days": ""})).status_code == 303
    building = await add_building(conn)
    space = await add_space(conn, building)
    await add_window(
        conn, building, dt.time(19), dt.time(8), dt.date(2027, 1, 1), day_class="working_days"
    )
    monday = dt.date(2027, 3, 1)
    booked = await insert_reservation(
        conn, space_id=space, night=monday, start=local(monday, 20), end=local(monday, 23)
    )
    status = "SELECT status FROM reservations WHERE id = $1"
    correction = {"days": "2027-03-01 holiday 示例"}

    refused = await web.post(f"{HOLIDAYS}/2027", f"{HOLIDAYS}/2027", correction)
    assert refused.status_code == 409 and 'data-problem="window-conflicts"' in refused.text
    assert "2027-03-01 holiday 示例" in refused.text  # kept in the textarea
    assert not await conn.fetchval("SELECT count(*) FROM calendar_days WHERE day = '2027-03-01'")
    assert await conn.fetchval(status, booked) == "confirmed"

    in_use = await web.post(f"{HOLIDAYS}/2027", f"{HOLIDAYS}/2027/remove", {})
    assert in_use.status_code == 409 and 'data-problem="calendar-in-use"' in in_use.text
    assert await conn.fetchval("SELECT count(*) FROM calendar_years WHERE year = 2027") == 1

    cancelled = await web.post(
        f"{HOLIDAYS}/2027", f"{HOLIDAYS}/2027", {**correction, "cancel_reservations": "on"}
    )
    assert cancelled.status_code == 303, cancelled.text
    assert await conn.fetchval("SELECT kind FROM calendar_days WHERE day = '2027-03-01'") == (
        "holiday"
    )
    assert await conn.fetchval(status, booked) == "cancelled"


def test_every_fault_of_an_imported_file_has_words_in_both_languages() -> None:
    for code, english in FAULTS.items():
        zh, en = TEXT[f"admin.fault.{code}"]
        assert zh and en, code
        fields = sorted(re.findall(r"\{(\w+)", english))
        assert sorted(re.findall(r"\{(\w+)", en)) == fields, code
    for column in ("compound", "unit", "phone", "lat", "lon"):
        assert f"admin.fault.column.{column}" in TEXT
