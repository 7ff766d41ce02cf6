"""Sweeps: stale holds expire, missed arrivals become no-shows after the grace time only,
pass nights are left alone, concurrent sweeps change each row once, and the CLI."""

from __future__ import annotations

import asyncio
import datetime as dt

from parking.db import connect
from parking.sweeps import expire_holds, mark_no_shows
from tests.factories import (
    TZ,
    insert_pass,
    insert_reservation,
    make_building,
    make_resident,
    make_user,
    outbox_rows,
    random_plate,
)
from tests.helpers import parking

NOW = dt.datetime(2026, 11, 27, 21, 0, tzinfo=TZ)


async def _statuses(conn) -> dict[int, str]:
    return dict(await conn.fetch("SELECT id, status FROM reservations"))


async def _reservation_messages(conn) -> dict[int, int]:
    """Outbox messages per reservation id."""
    counts: dict[int, int] = {}
    for row in await outbox_rows(conn, "reservation"):
        key = int(row["entity_key"].removeprefix("r-"))
        counts[key] = counts.get(key, 0) + 1
    return counts


async def _availability_messages(conn) -> int:
    return len(await outbox_rows(conn, "availability"))


async def _held(conn, building, space_index: int, expires: dt.datetime) -> int:
    return await insert_reservation(
        conn,
        space_id=building.space_ids[space_index],
        plate=random_plate(),
        start=NOW + dt.timedelta(hours=1),
        end=NOW + dt.timedelta(hours=9),
        status="held",
        hold_expires_at=expires,
    )


async def test_holds_past_their_expiry_expire_and_others_stay(conn):
    building = await make_building(conn, spaces=3)
    stale = [await _held(conn, building, i, NOW - dt.timedelta(minutes=1 + i)) for i in (0, 1)]
    fresh = await _held(conn, building, 2, NOW + dt.timedelta(minutes=5))

    assert await expire_holds(conn, NOW, TZ) == 2
    statuses = await _statuses(conn)
    assert statuses == {stale[0]: "expired", stale[1]: "expired", fresh: "held"}
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM reservations WHERE status = 'expired' AND ended_at = $1", NOW
        )
        == 2
    )
    # The platform never saw these holds, so only the night's availability is re-sent,
    # once per hold that freed a space.
    assert await _reservation_messages(conn) == {}
    assert await _availability_messages(conn) == 2
    assert await expire_holds(conn, NOW, TZ) == 0  # nothing left to do
    assert await _availability_messages(conn) == 2


async def test_no_shows_only_after_the_grace_time_and_never_for_pass_nights(conn):
    building = await make_building(conn, spaces=4)
    resident = await make_resident(conn)

    def booking(space: int, start: dt.datetime, status: str = "confirmed"):
        return insert_reservation(
            conn,
            space_id=building.space_ids[space],
            plate=random_plate(),
            start=start,
            end=NOW + dt.timedelta(hours=9),
            status=status,
        )

    missed = await booking(0, NOW - dt.timedelta(minutes=61))
    within_grace = await booking(1, NOW - dt.timedelta(minutes=59))
    arrived = await booking(2, NOW - dt.timedelta(hours=2), status="checked_in")
    pass_id = await insert_pass(
        conn, building_id=building.id, resident=resident, month=dt.date(2026, 11, 1), price_fen=0
    )
    pass_night = await insert_reservation(
        conn,
        space_id=building.space_ids[3],
        plate=resident.plate,
        pass_id=pass_id,
        night=NOW.date(),
        start=NOW - dt.timedelta(hours=3),
        end=NOW + dt.timedelta(hours=9),
    )

    assert await mark_no_shows(conn, NOW, 60, TZ) == 1
    assert await _statuses(conn) == {
        missed: "no_show",
        within_grace: "confirmed",
        arrived: "checked_in",
        pass_night: "confirmed",
    }
    assert await _reservation_messages(conn) == {missed: 1}
    # Two minutes later the second one is past its grace too.
    assert await mark_no_shows(conn, NOW + dt.timedelta(minutes=2), 60, TZ) == 1
    assert (await _statuses(conn))[within_grace] == "no_show"


async def _stale_rows(conn, status: str, count: int) -> list[int]:
    """``count`` bookings on one space, one hour after another, all due for a sweep."""
    building = await make_building(conn, spaces=1)
    return [
        await insert_reservation(
            conn,
            space_id=building.space_ids[0],
            plate=random_plate(),
            start=NOW - dt.timedelta(hours=count + 2 - h),
            end=NOW - dt.timedelta(hours=count + 1 - h),
            night=(NOW - dt.timedelta(hours=count + 2 - h)).date(),
            status=status,
            hold_expires_at=NOW - dt.timedelta(minutes=1) if status == "held" else None,
        )
        for h in range(count)
    ]


async def _two_at_once(db_dsn, sweep) -> list[int]:
    first, second = await connect(db_dsn), await connect(db_dsn)
    try:
        return list(await asyncio.gather(sweep(first), sweep(second)))
    finally:
        await first.close()
        await second.close()


async def test_two_no_show_sweeps_at_once_change_every_row_exactly_once(conn, db_dsn):
    ids = await _stale_rows(conn, "confirmed", 150)
    counts = await _two_at_once(db_dsn, lambda c: mark_no_shows(c, NOW, 60, TZ, batch_size=7))
    assert sum(counts) == 150
    assert set((await _statuses(conn)).values()) == {"no_show"}
    # One status message per booking: none was changed twice.
    assert await _reservation_messages(conn) == dict.fromkeys(ids, 1)


async def test_two_hold_sweeps_at_once_change_every_row_exactly_once(conn, db_dsn):
    await _stale_rows(conn, "held", 150)
    counts = await _two_at_once(db_dsn, lambda c: expire_holds(c, NOW, TZ, batch_size=7))
    assert sum(counts) == 150
    assert set((await _statuses(conn)).values()) == {"expired"}
    # Each expiry re-sends its night's availability once: 150 messages, not more.
    assert await _availability_messages(conn) == 150


async def test_the_sweep_command_runs_every_sweep_and_prints_the_counts(conn, db_dsn):
    building = await make_building(conn, spaces=3)
    stale = await _held(conn, building, 0, NOW - dt.timedelta(minutes=1))
    missed = await insert_reservation(
        conn,
        space_id=building.space_ids[1],
        plate=random_plate(),
        start=NOW - dt.timedelta(hours=2),
        end=NOW + dt.timedelta(hours=6),
    )
    user_id = (await make_user(conn, "resident")).id
    await conn.execute(
        "INSERT INTO idempotency_keys (user_id, key, request_hash, response_status,"
        " response_body, created_at) VALUES ($1, 'k', 'h', 201, '{}', $2)",
        user_id,
        NOW - dt.timedelta(hours=25),
    )

    done = parking("sweep", "--now", NOW.isoformat(), dsn=db_dsn)
    assert done.returncode == 0, done.stderr
    assert "expired holds: 1" in done.stdout
    assert "no-shows: 1" in done.stdout
    assert "purged idempotency keys: 1" in done.stdout
    assert await _statuses(conn) == {stale: "expired", missed: "no_show"}
    assert await conn.fetchval("SELECT count(*) FROM idempotency_keys") == 0

    bad = parking("sweep", "--now", "yesterday", dsn=db_dsn)
    assert bad.returncode != 0 and "ISO 8601" in bad.stderr
