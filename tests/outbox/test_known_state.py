"""Outbox messages built from what the caller already holds say what reading it again says,
and several messages written in one statement each get their own key's next version."""

from __future__ import annotations

import datetime as dt

import asyncpg

from parking import sync
from parking.reservations.model import get_reservation
from parking.settings import Settings
from parking.windows import Window, load_windows
from tests.factories import (
    at,
    insert_reservation,
    make_building,
    make_resident,
    outbox_rows,
    tomorrow,
)


def _without_version(payload: dict) -> dict:
    return {k: v for k, v in payload.items() if k != "version"}


async def test_availability_from_known_windows_is_the_same_message(
    conn: asyncpg.Connection, settings: Settings
) -> None:
    place = await make_building(conn, spaces=3)
    resident = await make_resident(conn, settings)
    night = tomorrow()
    await insert_reservation(
        conn, space_id=place.space_ids[0], resident=resident, start=at(night, 20), end=at(night, 7)
    )
    windows = await load_windows(conn, [place.id], [night], settings.tz)
    await sync.emit_availability(conn, place.id, [night], settings.tz)
    await sync.emit_availability(
        conn, place.id, [night], settings.tz, windows={night: windows[place.id, night]}
    )
    loaded, known = await outbox_rows(conn, "availability")
    assert _without_version(loaded["payload"]) == _without_version(known["payload"])
    assert (known["payload"]["capacity"], known["payload"]["free"]) == (3, 2)
    assert (loaded["version"], known["version"]) == (1, 2)
    assert known["payload"]["version"] == 2


async def test_known_windows_that_lack_a_night_are_loaded(
    conn: asyncpg.Connection, settings: Settings
) -> None:
    place = await make_building(conn, spaces=2)
    night = tomorrow()
    # Windows for another night only: the asked night's must come from the database.
    other = {night + dt.timedelta(days=1): (Window(at(night, 19), at(night, 20)),)}
    await sync.emit_availability(conn, place.id, [night], settings.tz, windows=other)
    (row,) = await outbox_rows(conn, "availability")
    assert row["payload"]["window"] == {
        "start": at(night, 19).isoformat(),
        "end": at(night, 7).isoformat(),
    }


async def test_reservation_message_from_the_known_row_is_the_same_message(
    conn: asyncpg.Connection, settings: Settings
) -> None:
    place = await make_building(conn, spaces=2)
    resident = await make_resident(conn, settings)
    night = tomorrow()
    reservation_id = await insert_reservation(
        conn, space_id=place.space_ids[1], resident=resident, start=at(night, 21), end=at(night, 6)
    )
    reservation = await get_reservation(conn, reservation_id)
    place_id = await conn.fetchval(
        "SELECT district_place_id FROM buildings WHERE id = $1", place.id
    )
    await sync.emit_reservation(conn, reservation_id, settings.tz)
    await sync.emit_reservation(conn, reservation_id, settings.tz, known=(reservation, place_id))
    read, known = await outbox_rows(conn, "reservation")
    assert _without_version(read["payload"]) == _without_version(known["payload"])
    assert known["payload"]["start"] == at(night, 21).isoformat()
    assert (read["version"], known["version"]) == (1, 2)


async def test_several_nights_in_one_statement_each_get_their_own_next_version(
    conn: asyncpg.Connection, settings: Settings
) -> None:
    place = await make_building(conn, spaces=2)
    first = tomorrow()
    nights = [first + dt.timedelta(days=i) for i in range(3)]
    await sync.emit_availability(conn, place.id, nights[:1], settings.tz)
    await sync.emit_availability(conn, place.id, nights, settings.tz)
    rows = await outbox_rows(conn, "availability")
    assert [(r["payload"]["night"], r["version"]) for r in rows] == [
        (nights[0].isoformat(), 1),
        (nights[0].isoformat(), 2),
        (nights[1].isoformat(), 1),
        (nights[2].isoformat(), 1),
    ]
    assert all(r["payload"]["version"] == r["version"] for r in rows)
    versions = await conn.fetch(
        "SELECT entity_key, version FROM entity_versions WHERE entity_kind = 'availability'"
        " ORDER BY entity_key"
    )
    assert [v["version"] for v in versions] == [2, 1, 1]
