"""The relay: what each answer of the platform means, coalescing, several relays at once,
an outage, resends and reordering, and sync switched off."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid

import asyncpg
import httpx
import pytest
from litestar.testing import AsyncTestClient

from integrations.district.relay import BATCH, relay_once, retry_after_s
from integrations.district.repository import OutboxMessage
from integrations.district.simulator import PlatformSimulator
from parking import sync
from parking.app import create_app
from parking.db import create_pool
from parking.settings import Settings
from tests.district.conftest import drain, make_all_due, operator_state, platform_state
from tests.factories import (
    TZ,
    at,
    insert_reservation,
    local_today,
    make_building,
    make_manager,
    token_headers,
    tomorrow,
)


async def _place_id(conn: asyncpg.Connection, building_id: int) -> str:
    return await conn.fetchval("SELECT district_place_id FROM buildings WHERE id = $1", building_id)


async def _statuses(conn: asyncpg.Connection) -> dict[str, int]:
    rows = await conn.fetch("SELECT status, count(*) AS n FROM outbox GROUP BY status")
    return {r["status"]: r["n"] for r in rows}


async def _publish(conn: asyncpg.Connection, building_id: int, settings: Settings) -> None:
    await sync.emit_place(conn, building_id, TZ)
    await sync.emit_rates(conn, building_id, TZ)
    await sync.emit_availability(conn, building_id, sync.horizon(local_today(), settings), TZ)


async def test_a_managers_change_reaches_the_platform(
    conn: asyncpg.Connection,
    pool: asyncpg.Pool,
    district_settings: Settings,
    sim: PlatformSimulator,
) -> None:
    manager = await make_manager(conn)
    building = await make_building(conn, manager_id=manager.id)
    place_id = await _place_id(conn, building.id)
    headers = token_headers(district_settings, manager.id, "manager")
    async with AsyncTestClient(create_app(district_settings)) as client:
        answer = await client.patch(
            f"/buildings/{building.id}", json={"name": "Shuibei P2 (renamed)"}, headers=headers
        )
        assert answer.status_code == 200, answer.text
        answer = await client.patch(
            f"/buildings/{building.id}", json={"status": "suspended"}, headers=headers
        )
        assert answer.status_code == 200, answer.text
    assert await drain(pool, district_settings) > 0
    held = sim.state()
    assert held["places"][place_id]["name"] == "Shuibei P2 (renamed)"
    assert held["places"][place_id]["status"] == "suspended"
    night = sync.horizon(dt.datetime.now(TZ).date(), district_settings)[1]
    assert held["availability"][f"{place_id}/{night}"]["free"] == 0
    # The first Place message was replaced by the second before it was sent.
    assert await _statuses(conn) == {"delivered": 1 + 8, "superseded": 1}


async def test_the_platform_down_then_back_gets_every_message_and_the_same_state(
    conn: asyncpg.Connection,
    pool: asyncpg.Pool,
    district_settings: Settings,
    sim: PlatformSimulator,
) -> None:
    buildings = [await make_building(conn, spaces=3) for _ in range(3)]
    for b in buildings:
        await _publish(conn, b.id, district_settings)
    sim.set_switches({"down_until": time.time() + 3600})
    await relay_once(pool, district_settings)
    rows = await conn.fetch("SELECT status, attempts, last_error FROM outbox")
    assert {r["status"] for r in rows} == {"pending"}
    assert all(r["attempts"] == 1 and r["last_error"] for r in rows)

    # While it is down, more happens: bookings and a cancellation.
    night = tomorrow()
    for b in buildings:
        rid = await insert_reservation(
            conn, space_id=b.space_ids[0], start=at(night, 20), end=at(night, 23)
        )
        await sync.emit_reservation(conn, rid, TZ)
        await sync.emit_availability(conn, b.id, [night], TZ)
    await conn.execute(
        "UPDATE reservations SET status = 'cancelled', fee_fen = 0 WHERE id = $1", rid
    )
    await sync.emit_reservation(conn, rid, TZ)
    await sync.emit_availability(conn, buildings[-1].id, [night], TZ)

    # Back, flaky at first: a third of the requests fail, some are throttled.
    sim.set_switches(
        {
            "down_until": 0,
            "fail_fraction": 0.3,
            "throttle_status": 503,
            "throttle_fraction": 0.2,
            "retry_after": "0",
        }
    )
    for _ in range(50):
        await make_all_due(conn)
        await drain(pool, district_settings)
        if "pending" not in await _statuses(conn):
            break
    assert set(await _statuses(conn)) <= {"delivered", "superseded"}
    sim.set_switches({"fail_fraction": 0, "throttle_fraction": 0})
    assert platform_state(sim) == await operator_state(pool, district_settings)


async def test_availability_coalesces_to_the_newest_message(
    conn: asyncpg.Connection,
    pool: asyncpg.Pool,
    district_settings: Settings,
    sim: PlatformSimulator,
) -> None:
    building = await make_building(conn, spaces=6)
    place_id = await _place_id(conn, building.id)
    night = tomorrow()
    for i in range(5):  # a busy night: five bookings, five availability messages
        await insert_reservation(
            conn, space_id=building.space_ids[i], start=at(night, 20), end=at(night, 23)
        )
        await sync.emit_availability(conn, building.id, [night], TZ)
    assert await relay_once(pool, district_settings) == 5
    assert await _statuses(conn) == {"delivered": 1, "superseded": 4}
    sent = [e for e in sim.log if e["kind"] == "availability"]
    assert [e["version"] for e in sent] == [5]
    assert sim.state()["availability"][f"{place_id}/{night}"]["free"] == 1


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(400, "dead"), (401, "dead"), (404, "dead"), (422, "dead"), (500, "pending"),
     (502, "pending"), (503, "pending"), (429, "pending"), (204, "delivered")],
)  # fmt: skip
async def test_each_answer_of_the_platform_means_what_the_protocol_says(
    status: int, outcome: str
) -> None:
    from integrations.district.relay import outcome_of

    message = OutboxMessage(
        id=1, message_id=uuid.uuid4(), entity_kind="place", entity_key="b-1", version=1,
        payload={}, attempts=3,
    )  # fmt: skip
    response = httpx.Response(status, json={"type": "x"}, headers={"Retry-After": "7"})
    result = outcome_of(message, response, dt.datetime.now(dt.UTC))
    assert result.status == outcome
    if status in (429, 503):
        assert result.delay_s == 7
    elif outcome == "pending":
        assert 0 <= result.delay_s <= 8  # full jitter below 2**attempts
    stale = httpx.Response(409, json={"type": "stale-version"})
    assert outcome_of(message, stale, dt.datetime.now(dt.UTC)).status == "delivered"
    other = httpx.Response(409, json={"type": "conflict"})
    assert outcome_of(message, other, dt.datetime.now(dt.UTC)).status == "dead"


def test_retry_after_is_seconds_or_an_http_date() -> None:
    now = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
    assert retry_after_s("120", now) == 120
    assert retry_after_s("Sat, 28 Nov 2026 12:01:30 GMT", now) == 90
    assert retry_after_s("Sat, 28 Nov 2026 11:00:00 GMT", now) == 0
    assert retry_after_s("soon", now) is None
    assert retry_after_s(None, now) is None


async def test_429_waits_as_long_as_retry_after_says(
    conn: asyncpg.Connection,
    pool: asyncpg.Pool,
    district_settings: Settings,
    sim: PlatformSimulator,
) -> None:
    building = await make_building(conn)
    await sync.emit_place(conn, building.id, TZ)
    sim.set_switches({"throttle_status": 429, "throttle_fraction": 1.0, "retry_after": "120"})
    await relay_once(pool, district_settings)
    row = await conn.fetchrow(
        "SELECT status, attempts, next_attempt_at - now() AS wait, last_error FROM outbox"
    )
    assert row["status"] == "pending" and row["attempts"] == 1
    assert dt.timedelta(seconds=110) < row["wait"] <= dt.timedelta(seconds=120)
    assert row["last_error"].startswith("429")
    assert await relay_once(pool, district_settings) == 0  # not due yet


async def test_a_refused_message_is_a_dead_letter_kept_and_listed(
    conn: asyncpg.Connection,
    pool: asyncpg.Pool,
    district_settings: Settings,
    sim: PlatformSimulator,
) -> None:
    building = await make_building(conn)
    await sync.emit_place(conn, building.id, TZ)
    # A message the platform cannot accept (no name): 422, which retrying will not change.
    await sync.emit_payload(conn, "place", "b-broken", {"place_id": "b-broken"})
    await drain(pool, district_settings)
    dead = await conn.fetchrow("SELECT entity_key, last_error FROM outbox WHERE status = 'dead'")
    assert dead["entity_key"] == "b-broken" and dead["last_error"].startswith("422")
    assert await _statuses(conn) == {"delivered": 1, "dead": 1}


async def test_a_wrong_secret_is_refused_by_the_platform_and_kept_as_dead(
    conn: asyncpg.Connection, pool: asyncpg.Pool, district_settings: Settings
) -> None:
    building = await make_building(conn)
    await sync.emit_place(conn, building.id, TZ)
    wrong = district_settings.model_copy(update={"district_secret": _other_secret()})
    await relay_once(pool, wrong)
    assert (await conn.fetchrow("SELECT status, last_error FROM outbox"))["last_error"][:3] == "401"


def _other_secret():
    import base64

    from pydantic import SecretStr

    return SecretStr("whsec_" + base64.b64encode(b"not the platform's secret").decode())


async def test_a_resend_and_an_older_version_arriving_late_change_nothing(
    conn: asyncpg.Connection,
    pool: asyncpg.Pool,
    district_settings: Settings,
    sim: PlatformSimulator,
) -> None:
    from integrations.district.client import DistrictClient
    from integrations.district.relay import _deliver
    from integrations.district.repository import OutboxMessage

    building = await make_building(conn)
    place_id = await _place_id(conn, building.id)
    await sync.emit_place(conn, building.id, TZ)
    await conn.execute("UPDATE buildings SET name = 'Newer name' WHERE id = $1", building.id)
    await sync.emit_place(conn, building.id, TZ)
    columns = "id, message_id, entity_kind, entity_key, version, payload, attempts"
    rows = await conn.fetch(f"SELECT {columns} FROM outbox ORDER BY version")
    older, newer = (OutboxMessage.model_validate(dict(r)) for r in rows)
    await drain(pool, district_settings)  # sends version 2 (version 1 is superseded)
    async with DistrictClient.from_settings(district_settings) as client:
        # Reordered: version 1 arrives after version 2 (say, a slow retry elsewhere).
        late = await _deliver(client, older)
    assert (late.status, late.error) == ("delivered", "409 stale-version")
    # A crash between sending version 2 and marking it: it is sent again.
    await conn.execute("UPDATE outbox SET status = 'pending' WHERE id = $1", newer.id)
    assert await relay_once(pool, district_settings) == 1
    assert sim.deliveries[str(newer.message_id)] == 2
    held = sim.state()["places"][place_id]
    assert (held["name"], held["version"]) == ("Newer name", 2)
    assert await _statuses(conn) == {"delivered": 1, "superseded": 1}


async def test_several_relays_at_once_never_send_a_message_twice(
    conn: asyncpg.Connection,
    db_dsn: str,
    district_settings: Settings,
    sim: PlatformSimulator,
) -> None:
    buildings = [await make_building(conn, spaces=1) for _ in range(40)]
    for b in buildings:
        await _publish(conn, b.id, district_settings)
    total = await conn.fetchval("SELECT count(*) FROM outbox")
    assert total > BATCH
    sim.set_switches({"stall_s": 0.05, "stall_fraction": 1.0})
    # Four relays, each with a pool of its own, as four worker processes would have.
    pools = [await create_pool(db_dsn, min_size=1, max_size=2) for _ in range(4)]

    async def relay(p: asyncpg.Pool) -> None:
        while await relay_once(p, district_settings):
            pass

    try:
        await asyncio.gather(*(relay(p) for p in pools))
    finally:
        for p in pools:
            await p.close()
    assert await _statuses(conn) == {"delivered": total}
    assert max(sim.deliveries.values()) == 1
    assert len(sim.deliveries) == total


async def test_sync_is_off_without_a_district_url(
    conn: asyncpg.Connection, pool: asyncpg.Pool, settings: Settings
) -> None:
    building = await make_building(conn)
    await sync.emit_place(conn, building.id, TZ)
    assert settings.district_url is None
    assert await relay_once(pool, settings) == 0
    assert await _statuses(conn) == {"pending": 1}


async def test_the_relay_loop_is_woken_by_a_commit_not_by_its_poll(
    conn: asyncpg.Connection,
    pool: asyncpg.Pool,
    district_settings: Settings,
    sim: PlatformSimulator,
) -> None:
    from integrations.district.relay import run_relay

    building = await make_building(conn)
    place_id = await _place_id(conn, building.id)
    stop = asyncio.Event()
    # An hour between polls: only the NOTIFY of the outbox trigger can make it send.
    loop = asyncio.create_task(run_relay(pool, district_settings, stop=stop, poll_s=3600))
    try:
        await asyncio.sleep(0.2)  # let it listen and find nothing
        assert sim.state()["places"] == {}
        async with conn.transaction():
            await sync.emit_place(conn, building.id, TZ)
        # A liveness bound (the test fails instead of hanging), not a speed assertion.
        async with asyncio.timeout(30):
            # The simulator lives in another thread: nothing to await but its state.
            while place_id not in sim.state()["places"]:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
    finally:
        stop.set()
        await loop
    assert await _statuses(conn) == {"delivered": 1}


async def test_housekeeping_forgets_inbound_answers_after_24_hours(
    conn: asyncpg.Connection, pool: asyncpg.Pool, district_settings: Settings
) -> None:
    from integrations.district.suspensions import housekeeping

    await conn.execute(
        "INSERT INTO district_inbound (webhook_id, path, response_status, received_at) VALUES"
        " ('old', '/x', 204, now() - interval '25 hours'),"
        " ('young', '/x', 204, now() - interval '23 hours')"
    )
    assert await housekeeping(pool, district_settings) == "suspension_steps=0 purged_answers=1"
    assert await conn.fetchval("SELECT array_agg(webhook_id) FROM district_inbound") == ["young"]
