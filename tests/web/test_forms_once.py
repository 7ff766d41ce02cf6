"""A form sent twice does its work once: every form carries a key of its own, and the same
form sent again with the same values is answered as done without being done again."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import asyncpg
from litestar.testing import AsyncTestClient

from tests.factories import make_building, make_manager, make_resident, make_user, tomorrow
from tests.helpers import PASSWORD
from tests.web.conftest import WebForm

SWITCH = {"mode": "per_use", "per_use_fee_fen": "1000"}


async def _sign_in(web: WebForm, email: str) -> None:
    answer = await web.post("/app/login", "/app/login", {"email": email, "password": PASSWORD})
    assert answer.status_code == 303, answer.text


async def _versions(conn: asyncpg.Connection, building_id: int) -> list[tuple[str, int | None]]:
    rows = await conn.fetch(
        "SELECT mode, per_use_fee_fen FROM price_plans WHERE building_id = $1 ORDER BY version",
        building_id,
    )
    return [(r["mode"], r["per_use_fee_fen"]) for r in rows]


async def _rates(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT count(*) FROM outbox WHERE entity_kind = 'rates'")


async def _manager_prices(conn: asyncpg.Connection, web: WebForm) -> tuple[int, str]:
    manager = await make_manager(conn)
    building = await make_building(conn, manager_id=manager.id, fee_fen=None, monthly_pass_fen=1)
    await _sign_in(web, manager.email)
    return building.id, f"/app/buildings/{building.id}/prices"


def _keys(html: str) -> list[str]:
    return re.findall(r'name="_form_key" value="([A-Za-z0-9_-]{22})"', html)


async def test_every_form_carries_a_key_of_its_own_new_each_time_it_is_shown(
    client: AsyncTestClient, conn: asyncpg.Connection, web: WebForm
) -> None:
    building_id, prices = await _manager_prices(conn, web)
    for path in (prices, f"/app/buildings/{building_id}", f"/app/buildings/{building_id}/calendar"):
        html = (await client.get(path)).text
        forms = re.findall(r'<form method="post"', html)
        keys = _keys(html)
        # Every posting form but the sign-out one (which changes nothing twice) has a key.
        assert len(keys) == len(forms) - 1 >= 2, path
        assert len(set(keys)) == len(keys), path
        again = _keys((await client.get(path)).text)
        assert not set(again) & set(keys), path


async def test_a_price_switch_sent_twice_makes_one_version(
    conn: asyncpg.Connection, web: WebForm
) -> None:
    building_id, prices = await _manager_prices(conn, web)
    shown = await web.shown(prices, f"{prices}/switch")
    assert set(shown) == {"_csrf_token", "_form_key"}
    rates = await _rates(conn)
    first = await web.send(f"{prices}/switch", SWITCH, shown)
    second = await web.send(f"{prices}/switch", SWITCH, shown)
    for answer in (first, second):
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == f"{prices}?done=switch"
    assert await _versions(conn, building_id) == [("monthly", None), ("per_use", 1000)]
    assert await _rates(conn) == rates + 1
    # The form shown again is another intent: it switches again, as the API would.
    third = await web.post(prices, f"{prices}/switch", SWITCH)
    assert third.status_code == 303, third.text
    assert len(await _versions(conn, building_id)) == 3


async def test_the_same_form_sent_twice_at_once_makes_one_version(
    conn: asyncpg.Connection, web: WebForm
) -> None:
    building_id, prices = await _manager_prices(conn, web)
    shown = await web.shown(prices, f"{prices}/switch")
    answers = await asyncio.gather(
        web.send(f"{prices}/switch", SWITCH, shown), web.send(f"{prices}/switch", SWITCH, shown)
    )
    assert [a.status_code for a in answers] == [303, 303], [a.text for a in answers]
    assert await _versions(conn, building_id) == [("monthly", None), ("per_use", 1000)]


async def test_a_refused_form_is_checked_again_and_a_changed_one_runs(
    conn: asyncpg.Connection, web: WebForm
) -> None:
    building_id, prices = await _manager_prices(conn, web)
    shown = await web.shown(prices, f"{prices}/switch")
    for _ in range(2):
        refused = await web.send(f"{prices}/switch", {"mode": "per_use"}, shown)
        assert refused.status_code == 422, refused.text
    assert await _versions(conn, building_id) == [("monthly", None)]
    done = await web.send(f"{prices}/switch", SWITCH, shown)
    assert done.status_code == 303, done.text
    # The form kept open and changed is a new request under the same key: it runs.
    changed = await web.send(f"{prices}/switch", {**SWITCH, "per_use_fee_fen": "1200"}, shown)
    assert changed.status_code == 303, changed.text
    assert await _versions(conn, building_id) == [
        ("monthly", None),
        ("per_use", 1000),
        ("per_use", 1200),
    ]


async def test_a_booking_sent_twice_books_once_and_both_answers_say_booked(
    client: AsyncTestClient, conn: asyncpg.Connection, web: WebForm
) -> None:
    resident = await make_resident(conn)
    building = await make_building(conn, spaces=2)
    await _sign_in(web, resident.email)
    night = tomorrow()
    form = {
        "building_id": str(building.id),
        "night": night.isoformat(),
        "vehicle_id": str(resident.vehicle_id),
        "arrive": f"{night.isoformat()}T21:00",
        "depart": f"{(night + dt.timedelta(days=1)).isoformat()}T06:30",
    }
    shown = await web.shown(f"/app/search?night={night}", "/app/reservations")
    answers = [await web.send("/app/reservations", form, shown) for _ in range(2)]
    # Without the key, the second would be refused: the car is already booked that night.
    assert [a.headers.get("location") for a in answers] == ["/app/reservations?done=booked"] * 2
    assert (
        await conn.fetchval("SELECT count(*) FROM reservations WHERE user_id = $1", resident.id)
        == 1
    )
    assert await conn.fetchval("SELECT count(*) FROM outbox WHERE entity_kind = 'reservation'") == 1


async def test_another_reader_cannot_replay_a_form_key(
    client: AsyncTestClient, conn: asyncpg.Connection, web: WebForm
) -> None:
    building_id, prices = await _manager_prices(conn, web)
    shown = await web.shown(prices, f"{prices}/switch")
    assert (await web.send(f"{prices}/switch", SWITCH, shown)).status_code == 303
    # A second manager of the same building (an admin) sending the same key and values
    # acts in their own name: the key is the first reader's, so this switches again.
    admin = await make_user(conn, "admin")
    assert (await web.post(prices, "/app/logout", {})).status_code == 303
    await _sign_in(web, admin.email)
    token = await web.token(prices)
    answer = await web.send(
        f"{prices}/switch", SWITCH, {"_csrf_token": token, "_form_key": shown["_form_key"]}
    )
    assert answer.status_code == 303, answer.text
    assert len(await _versions(conn, building_id)) == 3


async def test_a_key_no_form_would_carry_is_ignored_not_an_error(
    conn: asyncpg.Connection, web: WebForm
) -> None:
    building_id, prices = await _manager_prices(conn, web)
    shown = await web.shown(prices, f"{prices}/switch")
    odd = {**shown, "_form_key": "k" * 300}
    for _ in range(2):
        answer = await web.send(f"{prices}/switch", SWITCH, odd)
        assert answer.status_code == 303, answer.text
    # Without a usable key the form is done each time it is sent, as before keys.
    assert len(await _versions(conn, building_id)) == 3
