"""Plan versions through the API: create, schedule a switch, list, withdraw; the Rates
message each change queues and the one a version sends when it takes effect; a switch
never reprices a night already priced, nor any night before it."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parking import prices
from parking.clock import utc_now
from pricing.plans import default_switch_date, plan_in_force
from pricing.service import announce_rates
from tests.factories import (
    TZ,
    add_plan,
    insert_pass,
    make_building,
    make_manager,
    make_resident,
    night_in,
    outbox_rows,
    post_booking,
    token_headers,
)
from tests.helpers import assert_problem


@pytest.fixture
async def managed(conn, settings):
    """A per-use building (1000 fen) and its manager's headers."""
    manager = await make_manager(conn)
    building = await make_building(conn, manager_id=manager.id, spaces=2)
    return building, token_headers(settings, manager.id, "manager")


def _rates(rows: list[asyncpg.Record]) -> list[dict]:
    return [r["payload"] for r in rows]


async def test_a_new_version_defaults_to_next_month_and_the_history_lists_it(
    client, conn, managed
) -> None:
    building, headers = managed
    url = f"/buildings/{building.id}/plans"
    created = await client.post(
        url,
        json={"mode": "monthly", "monthly_fee_fen": 30000, "overstay_fen_per_hour": 1000},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    first_of_next = default_switch_date(night_in(0))
    assert (body["version"], body["mode"], body["effective_from"], body["status"]) == (
        2,
        "monthly",
        first_of_next.isoformat(),
        "scheduled",
    )
    assert body["effective_from_at"] == f"{first_of_next.isoformat()}T00:00:00+08:00"
    history = (await client.get(url, headers=headers)).json()
    assert [(p["version"], p["status"]) for p in history] == [(1, "in_force"), (2, "scheduled")]
    stored = await conn.fetchrow(
        "SELECT created_by, monthly_fee_fen FROM price_plans"
        " WHERE building_id = $1 AND version = 2",
        building.id,
    )
    assert stored["monthly_fee_fen"] == 30000 and stored["created_by"] is not None


@pytest.mark.parametrize(
    ("offset", "problem"),
    [(-1, "effective-date-in-past"), (0, "effective-date-too-soon")],
)
async def test_a_version_from_the_past_or_tonight_is_refused(
    client, conn, managed, offset, problem
) -> None:
    building, headers = managed
    response = await client.post(
        f"/buildings/{building.id}/plans",
        json={
            "mode": "per_use",
            "per_use_fee_fen": 2000,
            "effective_from": night_in(offset).isoformat(),
        },
        headers=headers,
    )
    assert_problem(response, 422, problem)
    assert await conn.fetchval("SELECT count(*) FROM price_plans") == 1
    assert await outbox_rows(conn, "rates") == []


@pytest.mark.parametrize(
    "body",
    [
        {"mode": "per_use"},  # the active mode's fee is required
        {"mode": "monthly", "per_use_fee_fen": 1000},
        {"mode": "per_use", "per_use_fee_fen": -1},
        {"mode": "hourly", "per_use_fee_fen": 1},
        {"mode": "per_use", "per_use_fee_fen": 1, "colour": "red"},
        {"mode": "per_use", "per_use_fee_fen": 1000.0},  # money is integer fen, never a float
        {"mode": "per_use", "per_use_fee_fen": "1000"},
        # Fees above 1,000,000 CNY: three started hours of this overstay, or a few such
        # passes in a month's revenue, would overflow the ledger's bigint at a car's exit.
        {"mode": "per_use", "per_use_fee_fen": 1000, "overstay_fen_per_hour": 5 * 10**18},
        {"mode": "monthly", "monthly_fee_fen": 10**18},
        {"mode": "per_use", "per_use_fee_fen": 100_000_001},
    ],
)
async def test_an_invalid_plan_is_422_and_writes_nothing(client, conn, managed, body) -> None:
    building, headers = managed
    response = await client.post(f"/buildings/{building.id}/plans", json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["type"] in ("plan-invalid", "validation-error")
    assert await conn.fetchval("SELECT count(*) FROM price_plans") == 1


async def test_a_switch_to_a_fee_above_a_million_cny_is_422(client, conn, managed) -> None:
    building, headers = managed
    response = await client.post(
        f"/buildings/{building.id}/plans/switch",
        json={"mode": "monthly", "monthly_fee_fen": 100_000_001},
        headers=headers,
    )
    assert_problem(response, 422, "validation-error")
    assert await conn.fetchval("SELECT count(*) FROM price_plans") == 1


async def test_a_switch_keeps_the_other_terms_and_queues_rates(client, conn, managed) -> None:
    building, headers = managed
    await add_plan(conn, building.id, no_show_fee_fen=500, overstay_fen_per_hour=1000)
    switch_date = night_in(3)
    response = await client.post(
        f"/buildings/{building.id}/plans/switch",
        json={
            "mode": "monthly",
            "monthly_fee_fen": 30000,
            "effective_from": switch_date.isoformat(),
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["version"], body["mode"], body["per_use_fee_fen"], body["monthly_fee_fen"]) == (
        3,
        "monthly",
        1000,
        30000,
    )
    assert (body["no_show_fee_fen"], body["overstay_fen_per_hour"]) == (500, 1000)
    # The platform holds the place's current plan: still the per-use version tonight.
    (rates,) = _rates(await outbox_rows(conn, "rates"))
    place_id = await conn.fetchval(
        "SELECT district_place_id FROM buildings WHERE id = $1", building.id
    )
    assert rates == {
        "place_id": place_id,
        "mode": "per_use",
        "currency": "CNY",
        "per_use_fee_fen": 1000,
        "monthly_fee_fen": None,
        "overstay_fen_per_hour": 1000,
        "effective_from": "2000-01-01T00:00:00+08:00",
        "version": 1,
    }

    # When the switch takes effect the sweep sends it, once, however often it runs.
    at_switch = dt.datetime.combine(switch_date, dt.time(0, 5), tzinfo=TZ)
    assert await announce_rates(conn, at_switch, TZ) == 1
    assert await announce_rates(conn, at_switch, TZ) == 0
    latest = _rates(await outbox_rows(conn, "rates"))[-1]
    assert (latest["mode"], latest["monthly_fee_fen"], latest["version"]) == ("monthly", 30000, 2)
    assert latest["effective_from"] == f"{switch_date.isoformat()}T00:00:00+08:00"


@pytest.mark.parametrize("route", ["/plans", "/plans/switch"])
async def test_a_new_version_sent_again_under_its_key_is_made_once(
    client, conn, managed, route
) -> None:
    building, headers = managed
    url = f"/buildings/{building.id}{route}"
    body = {"mode": "per_use", "per_use_fee_fen": 1200}
    once = {**headers, "Idempotency-Key": f"new-version-{route}"}
    first = await client.post(url, json=body, headers=once)
    again = await client.post(url, json=body, headers=once)
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    count = "SELECT count(*) FROM price_plans WHERE building_id = $1"
    assert await conn.fetchval(count, building.id) == 2
    assert len(await outbox_rows(conn, "rates")) == 1
    # The key of one version is not another's.
    assert_problem(
        await client.post(url, json={**body, "per_use_fee_fen": 900}, headers=once),
        422,
        "idempotency-mismatch",
    )
    # Without a key, every call makes a version, as before keys were taken.
    for _ in range(2):
        assert (await client.post(url, json=body, headers=headers)).status_code == 201
    assert await conn.fetchval(count, building.id) == 4


async def test_a_scheduled_version_is_withdrawn_once_and_not_after_it_took_effect(
    client, conn, managed
) -> None:
    building, headers = managed
    url = f"/buildings/{building.id}/plans"
    scheduled = await client.post(
        url,
        json={
            "mode": "per_use",
            "per_use_fee_fen": 1500,
            "effective_from": night_in(5).isoformat(),
        },
        headers=headers,
    )
    assert scheduled.status_code == 201, scheduled.text
    withdrawn = await client.post(f"{url}/2/withdraw", headers=headers)
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn"
    again = await client.post(f"{url}/2/withdraw", headers=headers)
    assert again.json() == withdrawn.json()
    assert_problem(await client.post(f"{url}/1/withdraw", headers=headers), 409, "plan-in-force")
    assert_problem(await client.post(f"{url}/9/withdraw", headers=headers), 404, "not-found")
    # A withdrawn version prices nothing: night 5 is still at 1000 fen.
    plan = await prices.plan_for_night(conn, building.id, night_in(5))
    assert (plan.version, plan.per_use_fee_fen) == (1, 1000)
    # Two Rates messages: the version scheduled, the withdrawal (each the current plan).
    assert len(await outbox_rows(conn, "rates")) == 2


async def test_a_version_passes_were_sold_under_cannot_be_withdrawn(client, conn, managed) -> None:
    building, headers = managed
    month = default_switch_date(night_in(0))
    created = await client.post(
        f"/buildings/{building.id}/plans",
        json={"mode": "monthly", "monthly_fee_fen": 30000},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    resident = await make_resident(conn)
    pass_id = await insert_pass(conn, building_id=building.id, resident=resident, month=month)
    plan_id = await conn.fetchval(
        "SELECT id FROM price_plans WHERE building_id = $1 AND version = 2", building.id
    )
    await conn.execute("UPDATE passes SET plan_id = $2 WHERE id = $1", pass_id, plan_id)
    response = await client.post(f"/buildings/{building.id}/plans/2/withdraw", headers=headers)
    assert_problem(response, 409, "plan-has-passes")


async def test_plan_rows_are_immutable(conn, managed) -> None:
    building, _ = managed
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="immutable"):
        async with conn.transaction():
            await conn.execute(
                "UPDATE price_plans SET per_use_fee_fen = 1 WHERE building_id = $1", building.id
            )
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="immutable"):
        async with conn.transaction():
            await conn.execute("DELETE FROM price_plans WHERE building_id = $1", building.id)


async def test_another_manager_is_404_and_a_resident_403_on_every_plan_route(
    client, conn, managed, settings
) -> None:
    building, _ = managed
    other = await make_manager(conn)
    other_headers = token_headers(settings, other.id, "manager")
    resident = await make_resident(conn)
    b = f"/buildings/{building.id}"
    routes = [
        ("GET", f"{b}/plans", None),
        ("POST", f"{b}/plans", {"mode": "per_use", "per_use_fee_fen": 1}),
        ("POST", f"{b}/plans/switch", {"mode": "monthly", "monthly_fee_fen": 1}),
        ("POST", f"{b}/plans/1/withdraw", None),
        ("GET", f"{b}/revenue?from=2026-01&to=2026-02", None),
        ("GET", f"{b}/advice?from=2026-01-01&to=2026-01-02", None),
    ]
    for method, path, body in routes:
        denied = await client.request(method, path, json=body, headers=other_headers)
        assert_problem(denied, 404, "not-found")
        forbidden = await client.request(method, path, json=body, headers=resident.headers)
        assert_problem(forbidden, 403, "forbidden")
    assert await conn.fetchval("SELECT count(*) FROM price_plans") == 1


async def test_a_switch_never_reprices_a_night_already_booked(client, conn, managed) -> None:
    building, headers = managed
    resident = await make_resident(conn)
    booked = await post_booking(client, building, resident, night_in(4))
    assert booked.status_code == 201, booked.text
    assert booked.json()["fee_fen"] == 1000
    response = await client.post(
        f"/buildings/{building.id}/plans",
        json={
            "mode": "per_use",
            "per_use_fee_fen": 2000,
            "effective_from": night_in(2).isoformat(),
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    stored = await conn.fetchrow(
        "SELECT r.fee_fen, p.version FROM reservations r JOIN price_plans p ON p.id = r.plan_id"
        " WHERE r.id = $1",
        booked.json()["id"],
    )
    assert (stored["fee_fen"], stored["version"]) == (1000, 1)
    other = await make_resident(conn)
    before = await post_booking(client, building, other, night_in(1))
    after = await post_booking(client, building, other, night_in(4))
    assert (before.json()["fee_fen"], after.json()["fee_fen"]) == (1000, 2000)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    versions=st.lists(
        st.tuples(
            st.integers(0, 60), st.sampled_from(["per_use", "monthly"]), st.integers(0, 5000)
        ),
        min_size=1,
        max_size=5,
    ),
    switch_day=st.integers(1, 60),
)
async def test_a_stored_version_never_changes_a_night_before_it(conn, versions, switch_day) -> None:
    """The stored lookup, before and after a version from ``switch_day`` is added, gives the
    same plan for every night before it, and agrees with the pure ``plan_in_force``."""
    base = dt.date(2027, 1, 1)
    building = await make_building(conn, spaces=1)
    for offset, mode, fee in versions:
        await add_plan(
            conn,
            building.id,
            mode=mode,
            per_use_fee_fen=fee,
            monthly_fee_fen=fee * 30,
            effective_from=base + dt.timedelta(days=offset),
        )
    nights = [base + dt.timedelta(days=d) for d in range(-1, 62)]
    before = {n: await prices.plans_in_force(conn, [building.id], n) for n in nights}
    all_plans = await prices.plans_of(conn, building.id)
    for night in nights:
        assert before[night][building.id] == plan_in_force(all_plans, night)
    await add_plan(
        conn,
        building.id,
        per_use_fee_fen=99_999,
        effective_from=base + dt.timedelta(days=switch_day),
    )
    all_plans = await prices.plans_of(conn, building.id)
    for night in nights:
        after = await prices.plans_in_force(conn, [building.id], night)
        if night < base + dt.timedelta(days=switch_day):
            assert after == before[night]
        assert after[building.id] == plan_in_force(all_plans, night)


async def test_a_new_building_has_version_one_from_tonight_and_its_rates(
    client, conn, managed
) -> None:
    _, headers = managed
    response = await client.post(
        "/buildings",
        json={
            "district_place_id": "b-new-plan",
            "name": "New",
            "lat": 22.5,
            "lon": 114.1,
            "flat_fee_fen": 800,
            "monthly_pass_fen": 25000,
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["flat_fee_fen"], body["monthly_pass_fen"], body["plan_version"]) == (
        800,
        25000,
        1,
    )
    plan = await conn.fetchrow(
        "SELECT mode, per_use_fee_fen, monthly_fee_fen, effective_from FROM price_plans"
        " WHERE building_id = $1",
        body["id"],
    )
    today = utc_now().astimezone(TZ).date()
    assert tuple(plan) == ("monthly", 800, 25000, today)
    (rates,) = _rates(await outbox_rows(conn, "rates"))
    assert (rates["place_id"], rates["mode"], rates["monthly_fee_fen"]) == (
        "b-new-plan",
        "monthly",
        25000,
    )
    # The deprecated interim columns are never left holding a price.
    columns = await conn.fetchrow(
        "SELECT flat_fee_fen, monthly_pass_fen FROM buildings WHERE id = $1", body["id"]
    )
    assert tuple(columns) == (None, None)


async def _buy_pass(client, resident, building_id: int, month: dt.date):
    return await client.post(
        "/passes",
        json={
            "building_id": building_id,
            "vehicle_id": resident.vehicle_id,
            "month": f"{month:%Y-%m}",
        },
        headers={**resident.headers, "Idempotency-Key": f"pass-{building_id}-{month}"},
    )


async def test_switching_decides_which_months_sell_passes(client, conn, settings) -> None:
    manager = await make_manager(conn)
    headers = token_headers(settings, manager.id, "manager")
    this_month = night_in(0).replace(day=1)
    next_month = default_switch_date(night_in(0))
    resident = await make_resident(conn)

    # Per use -> monthly from next month: passes for next month only.
    per_use = await make_building(conn, manager_id=manager.id, spaces=2)
    switched = await client.post(
        f"/buildings/{per_use.id}/plans/switch",
        json={"mode": "monthly", "monthly_fee_fen": 30000},
        headers=headers,
    )
    assert switched.status_code == 201, switched.text
    assert_problem(await _buy_pass(client, resident, per_use.id, this_month), 409, "not-bookable")
    bought = await _buy_pass(client, resident, per_use.id, next_month)
    assert bought.status_code == 201, bought.text
    assert bought.json()["price_fen"] == 30000

    # Monthly -> per use from next month: this month's passes still sell and run to its
    # end; no pass starts on or after the switch.
    monthly = await make_building(conn, manager_id=manager.id, spaces=2, monthly_pass_fen=25000)
    switched = await client.post(
        f"/buildings/{monthly.id}/plans/switch", json={"mode": "per_use"}, headers=headers
    )
    assert switched.status_code == 201, switched.text
    assert switched.json()["per_use_fee_fen"] == 1000
    other = await make_resident(conn)
    assert_problem(await _buy_pass(client, other, monthly.id, next_month), 409, "not-bookable")
    current = await _buy_pass(client, other, monthly.id, this_month)
    assert current.status_code == 201, current.text
    last = max(n["night"] for n in current.json()["nights"])
    assert last == (next_month - dt.timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    ("columns", "plan"),
    [
        ("", ("per_use", 1000, None)),  # the columns' old default: 10 CNY per use
        (", flat_fee_fen, monthly_pass_fen) VALUES ('b-raw', 'Raw', 1, 1, 800, 25000",
         ("monthly", 800, 25000)),
    ],
)  # fmt: skip
async def test_raw_sql_writers_of_the_deprecated_columns_get_a_version_one(
    conn, columns, plan
) -> None:
    insert = (
        f"INSERT INTO buildings (district_place_id, name, lat, lon{columns}) RETURNING id"
        if columns
        else "INSERT INTO buildings (district_place_id, name, lat, lon)"
        " VALUES ('b-raw', 'Raw', 1, 1) RETURNING id"
    )
    building_id = await conn.fetchval(insert)
    row = await conn.fetchrow(
        "SELECT version, mode, per_use_fee_fen, monthly_fee_fen, effective_from"
        " FROM price_plans WHERE building_id = $1",
        building_id,
    )
    assert tuple(row) == (1, *plan, dt.date(2000, 1, 1))
    columns_now = await conn.fetchrow(
        "SELECT flat_fee_fen, monthly_pass_fen FROM buildings WHERE id = $1", building_id
    )
    assert tuple(columns_now) == (None, None)
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="plan versions"):
        async with conn.transaction():
            await conn.execute("UPDATE buildings SET flat_fee_fen = 1 WHERE id = $1", building_id)
