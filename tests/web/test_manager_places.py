"""The manager's building pages over HTTP: the list, one building's spaces, and its windows
and calendar. Each form is checked against the API doing the same on a twin building: the
same rows and the same district messages; refusals change nothing; another manager's
building is 404."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from parking.settings import Settings
from tests.factories import (
    TZ,
    Building,
    User,
    add_blackout,
    add_space,
    add_window,
    at,
    insert_pass,
    insert_reservation,
    local,
    local_today,
    make_building,
    make_resident,
    make_user,
    night_in,
    token_headers,
    tomorrow,
)
from tests.helpers import PASSWORD
from tests.web.conftest import WebForm


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[dt.datetime], None]:
    """Sets the instant the manager pages read as now."""

    def set_now(now: dt.datetime) -> None:
        monkeypatch.setattr("parking.web.manager.utc_now", lambda: now.astimezone(dt.UTC))

    return set_now


@pytest.fixture
def afternoon(clock: Callable[[dt.datetime], None]) -> dt.date:
    """Today at 15:00 for the manager pages: tonight is the coming night, whole."""
    today = local_today()
    clock(local(today, 15))
    return today


async def _sign_in(web: WebForm, email: str) -> None:
    answer = await web.post("/app/login", "/app/login", {"email": email, "password": PASSWORD})
    assert answer.status_code == 303, answer.text


async def _manager(web: WebForm, conn: asyncpg.Connection) -> User:
    manager = await make_user(conn, "manager")
    await _sign_in(web, manager.email)
    return manager


def _notice(html: str) -> str:
    found = re.search(r'<div class="notice ok" role="status">(.*?)</div>', html)
    return found.group(1) if found else ""


async def _place_id(conn: asyncpg.Connection, building_id: int) -> str:
    return await conn.fetchval("SELECT district_place_id FROM buildings WHERE id = $1", building_id)


async def _state(conn: asyncpg.Connection, building_id: int) -> dict[str, Any]:
    """What the pages and the API may change of a building, without its ids and names."""
    place = await _place_id(conn, building_id)
    spaces = await conn.fetch(
        "SELECT label, level, features, shared FROM spaces WHERE building_id = $1 ORDER BY label",
        building_id,
    )
    rules = await conn.fetch(
        "SELECT day_class, weekdays, start_time, end_time, valid_from, valid_until"
        " FROM off_peak_rules WHERE building_id = $1 ORDER BY id",
        building_id,
    )
    blackouts = await conn.fetch(
        "SELECT period, reason FROM blackouts WHERE building_id = $1 ORDER BY id", building_id
    )
    outbox = await conn.fetch(
        "SELECT entity_kind, entity_key, version, payload FROM outbox"
        " WHERE payload->>'place_id' = $1 ORDER BY id",
        place,
    )

    def message(row: asyncpg.Record) -> tuple[Any, ...]:
        payload = {k: v for k, v in row["payload"].items() if k not in ("place_id", "name")}
        return row["entity_kind"], row["entity_key"].replace(place, "P"), row["version"], payload

    return {
        "status": await conn.fetchval("SELECT status FROM buildings WHERE id = $1", building_id),
        "spaces": [tuple(r) for r in spaces],
        "rules": [tuple(r) for r in rules],
        "blackouts": [tuple(r) for r in blackouts],
        "outbox": [message(r) for r in outbox],
    }


async def _counts(conn: asyncpg.Connection) -> list[int]:
    tables = ("spaces", "off_peak_rules", "blackouts", "outbox", "reservations")
    counts = [await conn.fetchval(f"SELECT count(*) FROM {t}") for t in tables]
    return [*counts, await conn.fetchval("SELECT count(*) FROM buildings WHERE status = 'active'")]


# ------------------------------------------------------------------ the list


async def test_the_list_shows_own_buildings_with_shared_spaces_and_tonight_free(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection, afternoon: dt.date
) -> None:
    manager = await _manager(web, conn)
    own = await make_building(conn, spaces=3, manager_id=manager.id)
    await add_space(conn, own.id, "B9-unshared")
    await conn.execute("UPDATE spaces SET shared = false WHERE label = 'B9-unshared'")
    other = await make_building(conn, spaces=2, manager_id=(await make_user(conn, "manager")).id)
    tonight = local_today()
    # One space is taken for part of tonight: it is not free for the whole night.
    await insert_reservation(
        conn,
        space_id=own.space_ids[0],
        start=at(tonight, 21),
        end=at(tonight, 23),
        resident=await make_resident(conn),
    )
    page = await client.get("/app/buildings")
    assert page.status_code == 200
    html = page.text
    assert own.name in html and other.name not in html
    item = re.search(rf'data-building="{own.id}".*?</li>', html, re.S).group(0)
    assert re.search(r'class="shared">3 / 4<', item)
    assert re.search(r'class="tonight">2<', item)
    assert "开放中" in item


async def test_the_list_tells_a_missing_holiday_calendar_from_not_sharing(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection, afternoon: dt.date
) -> None:
    manager = await _manager(web, conn)
    building = await make_building(conn, spaces=2, manager_id=manager.id)
    # Working days only: tonight's windows need this year's holiday calendar, not entered.
    await conn.execute("DELETE FROM off_peak_rules WHERE building_id = $1", building.id)
    await add_window(conn, building.id, day_class="working_days")
    year = local_today().year
    await conn.execute("DELETE FROM calendar_years WHERE year = $1", year)
    html = (await client.get("/app/buildings")).text
    item = re.search(rf'data-building="{building.id}".*?</li>', html, re.S).group(0)
    tonight = re.search(r'class="tonight">(.*?)</dd>', item, re.S).group(1)
    assert f"缺 {year} 年节假日" in tonight
    assert "今晚不共享" not in tonight


async def test_after_midnight_the_list_and_calendar_show_the_night_under_way(
    client: AsyncTestClient,
    web: WebForm,
    conn: asyncpg.Connection,
    clock: Callable[[dt.datetime], None],
) -> None:
    manager = await _manager(web, conn)
    building = await make_building(conn, spaces=3, manager_id=manager.id)  # 19:00-07:00
    a, b, c = building.space_ids
    last, coming = night_in(1), night_in(2)
    resident, other = await make_resident(conn), await make_resident(conn)
    # Last night: a was left at 23:00, b is taken until 06:00.
    await insert_reservation(
        conn, space_id=a, start=at(last, 20), end=at(last, 23), resident=resident
    )
    await insert_reservation(
        conn, space_id=b, start=at(last, 0, 30), end=at(last, 6), resident=other
    )
    # The coming night: a and c are booked.
    await insert_reservation(
        conn, space_id=a, start=at(coming, 21), end=at(coming, 6), resident=resident
    )
    await insert_reservation(
        conn, space_id=c, start=at(coming, 22), end=at(coming, 6), resident=other
    )

    async def listed() -> str:
        html = (await client.get("/app/buildings")).text
        item = re.search(rf'data-building="{building.id}".*?</li>', html, re.S).group(0)
        return re.search(r'class="tonight">(.*?)</dd>', item, re.S).group(1)

    # 01:30: last night is under way; a and c are free for the rest of it.
    clock(at(last, 1, 30))
    shown = await listed()
    assert shown.startswith("2 ") and "昨晚时段，至 07:00" in shown
    nights = _nights((await client.get(f"/app/buildings/{building.id}/calendar")).text)
    assert min(nights) == last.isoformat() and len(nights) == 30
    assert nights[last.isoformat()] == (3, 1, True, False)  # b all night, a till 23:00
    # 07:00: last night's window has closed; the list and calendar are the coming night's.
    clock(at(last, 7))
    assert await listed() == "1"
    nights = _nights((await client.get(f"/app/buildings/{building.id}/calendar")).text)
    assert min(nights) == coming.isoformat()
    assert nights[coming.isoformat()] == (3, 1, True, False)


async def test_an_admin_sees_every_building(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    first = await make_building(conn, manager_id=(await make_user(conn, "manager")).id)
    second = await make_building(conn, manager_id=(await make_user(conn, "manager")).id)
    admin = await make_user(conn, "admin")
    await _sign_in(web, admin.email)
    html = (await client.get("/app/buildings")).text
    assert first.name in html and second.name in html
    assert (await client.get(f"/app/buildings/{first.id}/calendar")).status_code == 200


# ------------------------------------------------------------------ forms as the API


@dataclass
class Twin:
    id: int
    space_ids: list[int]
    rule_id: int
    blackout_id: int | None


@dataclass(frozen=True)
class Case:
    """One form, its API twin, and the page it returns to with its notice."""

    name: str
    page: Callable[[Twin], tuple[str, dict[str, Any]]]
    api: Callable[[Twin], tuple[str, str, Any]]
    back: str
    notice: str
    setup: Callable[[asyncpg.Connection, Building], Awaitable[None]] | None = None


def _rule_form() -> dict[str, Any]:
    return {
        "start_time": "08:00",
        "end_time": "12:00",
        "day_class": "every_day",
        "weekdays": ["6", "7"],
        "valid_from": tomorrow().isoformat(),
        "valid_until": night_in(20).isoformat(),
    }


def _rule_json() -> dict[str, Any]:
    return {
        "start_time": "08:00",
        "end_time": "12:00",
        "day_class": "every_day",
        "weekdays": [6, 7],
        "valid_from": tomorrow().isoformat(),
        "valid_until": night_in(20).isoformat(),
    }


async def _with_blackout(conn: asyncpg.Connection, building: Building) -> None:
    await add_blackout(conn, building.id, at(night_in(3), 19), at(night_in(3), 23))


CASES = [
    Case(
        "add spaces",
        lambda b: (f"/app/buildings/{b.id}/spaces", {"labels": "C-1, C-2", "features": "ev"}),
        lambda b: (
            "POST",
            f"/buildings/{b.id}/spaces",
            {"labels": ["C-1", "C-2"], "features": ["ev"]},
        ),
        "",
        "车位已添加",
    ),
    Case(
        "add a numbered run, not shared",
        lambda b: (
            f"/app/buildings/{b.id}/spaces",
            {
                "count": "3",
                "prefix": "D-",
                "start": "7",
                "digits": "2",
                "level": "B2",
                "shared": "false",
            },
        ),
        lambda b: (
            "POST",
            f"/buildings/{b.id}/spaces",
            {"count": 3, "prefix": "D-", "start": 7, "digits": 2, "level": "B2", "shared": False},
        ),
        "",
        "车位已添加",
    ),
    Case(
        "change a space",
        lambda b: (
            f"/app/buildings/{b.id}/spaces/{b.space_ids[0]}",
            {"features": ["large", "ev"], "shared": "false"},
        ),
        lambda b: (
            "PATCH",
            f"/buildings/{b.id}/spaces/{b.space_ids[0]}",
            {"features": ["ev", "large"], "shared": False},
        ),
        "",
        "车位已更新",
    ),
    Case(
        "remove a space",
        lambda b: (f"/app/buildings/{b.id}/spaces/{b.space_ids[1]}/delete", {}),
        lambda b: ("DELETE", f"/buildings/{b.id}/spaces/{b.space_ids[1]}", None),
        "",
        "车位已删除",
    ),
    Case(
        "suspend the building",
        lambda b: (f"/app/buildings/{b.id}/status", {"status": "suspended"}),
        lambda b: ("PATCH", f"/buildings/{b.id}", {"status": "suspended"}),
        "",
        "楼宇状态已更新",
    ),
    Case(
        "add a window",
        lambda b: (f"/app/buildings/{b.id}/rules", _rule_form()),
        lambda b: ("POST", f"/buildings/{b.id}/off-peak-rules", _rule_json()),
        "/calendar",
        "共享时段已添加",
    ),
    Case(
        "delete a window",
        lambda b: (f"/app/buildings/{b.id}/rules/{b.rule_id}/delete", {}),
        lambda b: ("DELETE", f"/buildings/{b.id}/off-peak-rules/{b.rule_id}", None),
        "/calendar",
        "共享时段已删除",
    ),
    Case(
        "add a blackout",
        lambda b: (
            f"/app/buildings/{b.id}/blackouts",
            {
                "start": at(night_in(2), 19).strftime("%Y-%m-%dT%H:%M"),
                "end": at(night_in(2), 23).strftime("%Y-%m-%dT%H:%M"),
                "reason": "年会 annual dinner",
            },
        ),
        lambda b: (
            "POST",
            f"/buildings/{b.id}/blackouts",
            {
                "start": at(night_in(2), 19).isoformat(),
                "end": at(night_in(2), 23).isoformat(),
                "reason": "年会 annual dinner",
            },
        ),
        "/calendar",
        "停用时段已添加",
    ),
    Case(
        "lift a blackout",
        lambda b: (f"/app/buildings/{b.id}/blackouts/{b.blackout_id}/delete", {}),
        lambda b: ("DELETE", f"/buildings/{b.id}/blackouts/{b.blackout_id}", None),
        "/calendar",
        "停用时段已取消",
        _with_blackout,
    ),
]


async def _twin(conn: asyncpg.Connection, manager: User, case: Case) -> Twin:
    building = await make_building(conn, spaces=2, manager_id=manager.id)
    if case.setup is not None:
        await case.setup(conn, building)
    rule_id = await conn.fetchval(
        "SELECT id FROM off_peak_rules WHERE building_id = $1", building.id
    )
    blackout_id = await conn.fetchval(
        "SELECT id FROM blackouts WHERE building_id = $1", building.id
    )
    return Twin(building.id, building.space_ids, rule_id, blackout_id)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_each_form_changes_what_the_api_changes(
    case: Case,
    client: AsyncTestClient,
    web: WebForm,
    conn: asyncpg.Connection,
    settings: Settings,
) -> None:
    manager = await _manager(web, conn)
    by_page = await _twin(conn, manager, case)
    by_api = await _twin(conn, manager, case)
    assert await _state(conn, by_page.id) == await _state(conn, by_api.id)
    before = await _state(conn, by_page.id)

    action, form = case.page(by_page)
    answer = await web.post(f"/app/buildings/{by_page.id}{case.back}", action, form)
    assert answer.status_code == 303, answer.text
    back = f"/app/buildings/{by_page.id}{case.back}"
    assert answer.headers["location"].startswith(back + "?done=")
    assert case.notice in _notice((await client.get(answer.headers["location"])).text)

    method, path, body = case.api(by_api)
    headers = token_headers(settings, manager.id, "manager")
    api = await client.request(method, path, json=body, headers=headers)
    assert api.status_code < 300, api.text

    after = await _state(conn, by_page.id)
    assert after != before
    assert after == await _state(conn, by_api.id)


# ------------------------------------------------------------------ refusals


async def test_refused_forms_show_the_problem_and_change_nothing(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    manager = await _manager(web, conn)
    building = await make_building(conn, spaces=2, manager_id=manager.id)
    resident = await make_resident(conn)
    night = tomorrow()
    await insert_reservation(
        conn,
        space_id=building.space_ids[0],
        start=at(night, 20),
        end=at(night, 23),
        resident=resident,
    )
    rule_id = await conn.fetchval(
        "SELECT id FROM off_peak_rules WHERE building_id = $1", building.id
    )
    page = f"/app/buildings/{building.id}"
    calendar = f"{page}/calendar"
    refusals = [
        (page, f"{page}/spaces", {"labels": "B1-001"}, 409, "该楼宇已有这个车位编号"),
        (page, f"{page}/spaces", {"level": "B1"}, 422, "请检查填写的内容"),
        (page, f"{page}/spaces", {"labels": "X-1", "features": "wings"}, 422, "features"),
        (page, f"{page}/status", {"status": "closed"}, 422, "status"),
        (page, f"{page}/spaces/{building.space_ids[0]}/delete", {}, 409, "进行中的预约"),
        (page, f"{page}/spaces/{building.space_ids[0]}", {"shared": "false"}, 409, "进行中的预约"),
        (page, f"{page}/spaces/999999", {"shared": "false"}, 404, "没有找到"),
        (calendar, f"{page}/rules", {**_rule_form(), "start_time": "25:00"}, 422, "start_time"),
        (
            calendar,
            f"{page}/rules",
            {**_rule_form(), "valid_until": local_today().isoformat()},
            422,
            "valid_until",
        ),
        # Every weekday unticked is no weekday, as the API's empty list, not every day.
        (calendar, f"{page}/rules", {**_rule_form(), "weekdays": []}, 422, "weekdays"),
        (calendar, f"{page}/rules/{rule_id}/delete", {}, 409, "落在共享时段之外"),
        (
            calendar,
            f"{page}/blackouts",
            {"start": "2026-12-02T06:00", "end": "2026-12-01T20:00"},
            422,
            "end must be after start",
        ),
        (calendar, f"{page}/blackouts", {"start": "soon", "end": "later"}, 422, "start"),
        (
            calendar,
            f"{page}/blackouts",
            {
                "start": at(night, 19).strftime("%Y-%m-%dT%H:%M"),
                "end": at(night, 22).strftime("%Y-%m-%dT%H:%M"),
            },
            409,
            "落在共享时段之外",
        ),
        (calendar, f"{page}/blackouts/999999/delete", {}, 404, "没有找到"),
    ]
    before = await _counts(conn)
    state = await _state(conn, building.id)
    for form_page, action, form, status, words in refusals:
        answer = await web.post(form_page, action, form)
        assert answer.status_code == status, (action, form, answer.status_code)
        assert words in answer.text, (action, form)
        assert 'class="notice error"' in answer.text
        assert building.name in answer.text  # the page again, with its forms
    assert await _counts(conn) == before
    assert await _state(conn, building.id) == state
    # The blackout refused without cancelling: the booking stands.
    assert await conn.fetchval("SELECT status FROM reservations") == "confirmed"


async def test_a_blackout_may_cancel_the_bookings_it_strands(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    manager = await _manager(web, conn)
    building = await make_building(conn, spaces=1, manager_id=manager.id)
    night = tomorrow()
    booking = await insert_reservation(
        conn,
        space_id=building.space_ids[0],
        start=at(night, 20),
        end=at(night, 23),
        resident=await make_resident(conn),
    )
    answer = await web.post(
        f"/app/buildings/{building.id}/calendar",
        f"/app/buildings/{building.id}/blackouts",
        {
            "start": at(night, 19).strftime("%Y-%m-%dT%H:%M"),
            "end": at(night, 22).strftime("%Y-%m-%dT%H:%M"),
            "cancel_reservations": "true",
        },
    )
    assert answer.status_code == 303, answer.text
    status = await conn.fetchval("SELECT status FROM reservations WHERE id = $1", booking)
    assert status == "cancelled"
    period = await conn.fetchval("SELECT period FROM blackouts WHERE building_id = $1", building.id)
    assert (period.lower, period.upper) == (at(night, 19), at(night, 22))


async def test_another_managers_building_is_404_on_every_page_and_form(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    await _manager(web, conn)
    theirs = await make_building(conn, spaces=2, manager_id=(await make_user(conn, "manager")).id)
    blackout = await add_blackout(conn, theirs.id, at(night_in(3), 19), at(night_in(3), 23))
    rule_id = await conn.fetchval("SELECT id FROM off_peak_rules WHERE building_id = $1", theirs.id)
    base = f"/app/buildings/{theirs.id}"
    for path in (base, f"{base}/calendar"):
        answer = await client.get(path)
        assert answer.status_code == 404, path
        assert theirs.name not in answer.text
    space = theirs.space_ids[0]
    forms = [
        (f"{base}/status", {"status": "suspended"}),
        (f"{base}/spaces", {"labels": "Z-1"}),
        (f"{base}/spaces/{space}", {"shared": "false"}),
        (f"{base}/spaces/{space}/delete", {}),
        (f"{base}/rules", _rule_form()),
        (f"{base}/rules/{rule_id}/delete", {}),
        (f"{base}/blackouts", {"start": "2030-01-01T20:00", "end": "2030-01-01T22:00"}),
        (f"{base}/blackouts/{blackout}/delete", {}),
    ]
    before = await _counts(conn)
    for action, form in forms:
        answer = await web.post("/app/buildings", action, form)
        assert answer.status_code == 404, action
        assert theirs.name not in answer.text
    assert await _counts(conn) == before


# ------------------------------------------------------------------ the calendar


def _nights(html: str) -> dict[str, tuple[int, int, bool, bool]]:
    """night -> (capacity, free, sharing, blackout) as the calendar shows them."""
    found = {}
    for match in re.finditer(
        r'<div class="day([^"]*)"\s+data-night="([^"]+)" data-capacity="(\d+)" data-free="(\d+)"',
        html,
    ):
        classes, night, capacity, free = match.groups()
        found[night] = (int(capacity), int(free), "off" not in classes, "blackout" in classes)
    return found


async def test_the_calendar_counts_capacity_and_free_spaces_by_hand(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection, afternoon: dt.date
) -> None:
    manager = await _manager(web, conn)
    # Three shared spaces (and one not shared), shared 19:00-07:00 every night.
    building = await make_building(conn, spaces=3, manager_id=manager.id)
    await add_space(conn, building.id, "B9-private")
    await conn.execute("UPDATE spaces SET shared = false WHERE label = 'B9-private'")
    a, b, c = building.space_ids
    resident = await make_resident(conn)
    n1, n2, n3, n4 = night_in(1), night_in(2), night_in(3), night_in(4)
    # n1: a booking on a (20-23) and a cancelled one on b: 3 shared, 2 free.
    await insert_reservation(conn, space_id=a, start=at(n1, 20), end=at(n1, 23), resident=resident)
    await insert_reservation(
        conn, space_id=b, start=at(n1, 20), end=at(n1, 23), resident=resident, status="cancelled"
    )
    # n2: a pass night on b and a booking on c: 3 shared, 1 free.
    month = n2.replace(day=1)
    pass_id = await insert_pass(conn, building_id=building.id, month=month, resident=resident)
    await insert_reservation(
        conn, space_id=b, start=at(n2, 19), end=at(n2, 7), resident=resident, pass_id=pass_id
    )
    other = await make_resident(conn)
    await insert_reservation(conn, space_id=c, start=at(n2, 22), end=at(n2, 6), resident=other)
    # n3: a blackout over the whole window: no sharing, 0 and 0, marked.
    await add_blackout(conn, building.id, at(n3, 18), at(n3, 8))
    # n4: a blackout until 21:00 leaves 21:00-07:00; a booking 22-06 on a: 3 shared, 2 free.
    await add_blackout(conn, building.id, at(n4, 19), at(n4, 21))
    await insert_reservation(conn, space_id=a, start=at(n4, 22), end=at(n4, 6), resident=other)

    page = await client.get(f"/app/buildings/{building.id}/calendar")
    assert page.status_code == 200
    nights = _nights(page.text)
    assert len(nights) == 30
    assert min(nights) == local_today().isoformat()
    assert nights[n1.isoformat()] == (3, 2, True, False)
    assert nights[n2.isoformat()] == (3, 1, True, False)
    assert nights[n3.isoformat()] == (0, 0, False, True)
    assert nights[n4.isoformat()] == (3, 2, True, True)
    assert nights[night_in(5).isoformat()] == (3, 3, True, False)
    n4_cell = re.search(rf'data-night="{n4.isoformat()}".*?</div>\s*</div>', page.text, re.S)
    assert "21:00–07:00" in n4_cell.group(0)
    # The rule and the blackouts are listed, in local time.
    assert "19:00–07:00" in page.text
    assert at(n4, 19).astimezone(TZ).strftime("%Y-%m-%d %H:%M") in page.text


async def test_a_night_without_a_window_is_marked_not_sharing(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    manager = await _manager(web, conn)
    building = await make_building(conn, spaces=2, manager_id=manager.id)
    # Only Saturdays and Sundays.
    await conn.execute("DELETE FROM off_peak_rules WHERE building_id = $1", building.id)
    await add_window(conn, building.id, weekdays=(6, 7))
    nights = _nights((await client.get(f"/app/buildings/{building.id}/calendar")).text)
    for night, (capacity, free, sharing, blackout) in nights.items():
        weekend = dt.date.fromisoformat(night).isoweekday() >= 6
        assert (capacity, free, sharing, blackout) == (
            (2, 2, True, False) if weekend else (0, 0, False, False)
        )


async def test_labels_sent_as_repeated_fields_are_each_a_label(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    manager = await _manager(web, conn)
    building = await make_building(conn, spaces=1, manager_id=manager.id)
    page = f"/app/buildings/{building.id}"
    answer = await web.post(page, f"{page}/spaces", {"labels": ["E-1", "E-2, E-3"]})
    assert answer.status_code == 303, answer.text
    labels = await conn.fetch(
        "SELECT label FROM spaces WHERE building_id = $1 ORDER BY label", building.id
    )
    assert [r["label"] for r in labels] == ["B1-001", "E-1", "E-2", "E-3"]


async def test_a_suspended_building_has_nothing_free_as_the_platform_is_told(
    client: AsyncTestClient,
    web: WebForm,
    conn: asyncpg.Connection,
    settings: Settings,
    afternoon: dt.date,
) -> None:
    manager = await _manager(web, conn)
    building = await make_building(conn, spaces=2, manager_id=manager.id)
    answer = await web.post(
        f"/app/buildings/{building.id}", f"/app/buildings/{building.id}/status",
        {"status": "suspended"},
    )  # fmt: skip
    assert answer.status_code == 303
    calendar = (await client.get(f"/app/buildings/{building.id}/calendar")).text
    nights = _nights(calendar)
    assert len(nights) == 30
    assert set(nights.values()) == {(2, 0, True, False)}
    # The availability the platform was sent for tonight says the same.
    place = await _place_id(conn, building.id)
    sent = await conn.fetchval(
        "SELECT payload FROM outbox WHERE entity_key = $1 ORDER BY id DESC LIMIT 1",
        f"{place}/{local_today().isoformat()}",
    )
    assert (sent["capacity"], sent["free"]) == (2, 0)
    listed = (await client.get("/app/buildings")).text
    item = re.search(rf'data-building="{building.id}".*?</li>', listed, re.S).group(0)
    assert re.search(r'class="tonight">0<', item)


async def test_the_pages_speak_english_too(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    manager = await _manager(web, conn)
    building = await make_building(conn, spaces=1, manager_id=manager.id)
    client.cookies.set("lang", "en")
    assert "Free tonight" in (await client.get("/app/buildings")).text
    assert "Add spaces" in (await client.get(f"/app/buildings/{building.id}")).text
    html = (await client.get(f"/app/buildings/{building.id}/calendar")).text
    assert "Weekly sharing windows" in html and "Blackouts" in html
    assert local(local_today(), 0).date().isoformat() in html
