"""Reconciliation against the simulator, and the commands of the district sync."""

from __future__ import annotations

import os
import subprocess
import sys

import asyncpg

from integrations.district.reconcile import reconcile
from integrations.district.simulator import PlatformSimulator
from parking import sync
from parking.settings import Settings
from tests.conftest import REPO_ROOT
from tests.district.conftest import (
    OPERATOR,
    SECRET,
    drain,
    operator_state,
    platform_state,
)
from tests.factories import TZ, at, insert_reservation, local_today, make_building, tomorrow


async def _world(conn: asyncpg.Connection, settings: Settings) -> tuple[str, int]:
    """Two places, their availability, a reservation; the first place's id and the booking."""
    buildings = [await make_building(conn, spaces=2) for _ in range(2)]
    for b in buildings:
        await sync.emit_place(conn, b.id, TZ)
        await sync.emit_rates(conn, b.id, TZ)
        await sync.emit_availability(conn, b.id, sync.horizon(local_today(), settings), TZ)
    night = tomorrow()
    rid = await insert_reservation(
        conn, space_id=buildings[0].space_ids[0], start=at(night, 20), end=at(night, 23)
    )
    await sync.emit_reservation(conn, rid, TZ)
    await sync.emit_availability(conn, buildings[0].id, [night], TZ)
    place_id = await conn.fetchval(
        "SELECT district_place_id FROM buildings WHERE id = $1", buildings[0].id
    )
    return place_id, rid


async def test_reconcile_resends_what_the_platform_lost_or_holds_wrongly(
    conn: asyncpg.Connection,
    pool: asyncpg.Pool,
    district_settings: Settings,
    sim: PlatformSimulator,
) -> None:
    place_id, rid = await _world(conn, district_settings)
    await drain(pool, district_settings)
    assert platform_state(sim) == await operator_state(pool, district_settings)
    night = tomorrow().isoformat()
    # The platform loses a place, holds a wrong free count, an old reservation state, and
    # a place at a version we never sent (its database was restored from elsewhere).
    with sim._lock:
        del sim.places[place_id]
        sim.availability[f"{place_id}/{night}"]["free"] = 2
        sim.rates[place_id] = {**sim.rates[place_id], "per_use_fee_fen": 1}
        sim.reservations[f"r-{rid}"] = {**sim.reservations[f"r-{rid}"], "status": "no_show"}
        other = next(p for p in sim.places)
        sim.places[other] = {**sim.places[other], "name": "Stale", "version": 50}
    report = await reconcile(pool, district_settings)
    fixed = {(f.kind, f.key): f.reason for f in report.fixed}
    assert fixed == {
        ("place", place_id): "missing",
        ("availability", f"{place_id}/{night}"): "differs",
        ("rates", place_id): "differs",
        ("reservation", f"r-{rid}"): "differs",
        ("place", other): "ahead",
    }
    assert report.pending == 0 and report.unknown == []
    assert platform_state(sim) == await operator_state(pool, district_settings)
    assert sim.state()["places"][other]["version"] == 51
    again = await reconcile(pool, district_settings)
    assert again.fixed == [] and again.checked == report.checked


async def test_reconcile_reports_reservations_only_the_platform_holds(
    conn: asyncpg.Connection,
    pool: asyncpg.Pool,
    district_settings: Settings,
    sim: PlatformSimulator,
) -> None:
    _, rid = await _world(conn, district_settings)
    await drain(pool, district_settings)
    with sim._lock:
        ghost = {**sim.reservations[f"r-{rid}"], "reservation_id": "r-999999"}
        sim.reservations["r-999999"] = ghost
    report = await reconcile(pool, district_settings)
    assert report.unknown == ["r-999999"]
    assert report.fixed == []
    assert any("r-999999" in line for line in report.lines())


def _parking(*args: str, dsn: str, url: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARKING_")}
    env.update(
        PARKING_DATABASE_URL=dsn,
        PARKING_DISTRICT_OPERATOR_ID=OPERATOR,
        PARKING_DISTRICT_SECRET=SECRET,
    )
    if url is not None:
        env["PARKING_DISTRICT_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "parking", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=120,
    )


async def test_the_commands_relay_list_replay_and_reconcile(
    conn: asyncpg.Connection, db_dsn: str, sim: PlatformSimulator
) -> None:
    building = await make_building(conn)
    await sync.emit_place(conn, building.id, TZ)
    await sync.emit_payload(conn, "place", "b-broken", {"place_id": "b-broken"})

    off = _parking("relay", "--once", dsn=db_dsn, url=None)
    assert off.returncode == 0 and "sync is off" in off.stdout
    relayed = _parking("relay", "--once", dsn=db_dsn, url=sim.url)
    assert relayed.returncode == 0, relayed.stderr
    assert "handled 2 messages" in relayed.stdout

    listed = _parking("outbox", "list", "--status", "dead", dsn=db_dsn, url=sim.url)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.strip().splitlines()
    assert len(lines) == 1 and "b-broken" in lines[0] and "422" in lines[0]
    dead_id = int(lines[0].split()[0])
    old_message = await conn.fetchval("SELECT message_id FROM outbox WHERE id = $1", dead_id)

    replayed = _parking("outbox", "replay", str(dead_id), dsn=db_dsn, url=sim.url)
    assert replayed.returncode == 0, replayed.stderr
    assert f"{dead_id}: replayed (place b-broken version 2)" in replayed.stdout
    new = await conn.fetchrow(
        "SELECT message_id, status FROM outbox WHERE entity_key = 'b-broken' AND version = 2"
    )
    assert new["status"] == "pending" and new["message_id"] != old_message
    assert await conn.fetchval("SELECT status FROM outbox WHERE id = $1", dead_id) == "superseded"
    none_dead = _parking("outbox", "replay", "--all-dead", dsn=db_dsn, url=sim.url)
    assert none_dead.stdout.strip() == "no dead letters"
    not_dead = _parking("outbox", "replay", str(dead_id), dsn=db_dsn, url=sim.url)
    assert not_dead.returncode != 0 and "only dead letters" in not_dead.stderr

    reconciled = _parking("reconcile", dsn=db_dsn, url=sim.url)
    assert reconciled.returncode == 0, reconciled.stderr
    assert "checked" in reconciled.stdout and "re-sent" in reconciled.stdout


async def test_resending_state_takes_the_reservation_before_the_availability_like_every_writer(
    conn: asyncpg.Connection, pool: asyncpg.Pool, district_settings: Settings
) -> None:
    """A cancel (reservation's version, then its night's availability) and a resend of the
    place's state at once: both commit, neither is a deadlock victim."""
    import asyncio

    from integrations.district.reconcile import resend_state
    from parking.clock import utc_now

    building = await make_building(conn, spaces=2)
    night = tomorrow()
    rid = await insert_reservation(
        conn, space_id=building.space_ids[0], start=at(night, 20), end=at(night, 23)
    )
    await sync.emit_reservation(conn, rid, TZ)
    await sync.emit_availability(conn, building.id, [night], TZ)
    async with pool.acquire() as writer, pool.acquire() as resender:
        resender_pid = await resender.fetchval("SELECT pg_backend_pid()")
        async with writer.transaction():
            await sync.emit_reservation(writer, rid, TZ)  # the cancel's first message
            resend_tx = resender.transaction()
            await resend_tx.start()
            resending = asyncio.ensure_future(
                resend_state(resender, [building.id], district_settings, utc_now())
            )
            # Until the resend waits for a lock the writer holds.
            while not await conn.fetchval(
                "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1",
                resender_pid,
            ):
                assert not resending.done(), resending.exception()
                await asyncio.sleep(0.01)
            await sync.emit_availability(writer, building.id, [night], TZ)
        await resending
        await resend_tx.commit()
    versions = await conn.fetch(
        "SELECT entity_kind, max(version) AS v FROM outbox WHERE entity_kind <> 'place'"
        " AND (entity_key = $1 OR entity_key = $2) GROUP BY 1 ORDER BY 1",
        f"r-{rid}",
        sync.availability_key(
            await conn.fetchval(
                "SELECT district_place_id FROM buildings WHERE id = $1", building.id
            ),
            night,
        ),
    )
    assert [(r["entity_kind"], r["v"]) for r in versions] == [
        ("availability", 3),
        ("reservation", 3),
    ]


async def test_reconcile_with_the_platform_unreachable_fails_with_a_message(
    conn: asyncpg.Connection, db_dsn: str
) -> None:
    import socket

    building = await make_building(conn)
    await sync.emit_place(conn, building.id, TZ)
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    answer = _parking("reconcile", dsn=db_dsn, url=closed)
    assert answer.returncode == 1
    assert "the district platform could not be read" in answer.stderr
    assert "Traceback" not in answer.stderr
    assert await conn.fetchval("SELECT count(*) FROM outbox") == 1  # nothing queued
