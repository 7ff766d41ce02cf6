"""Outbox hooks: each change queues what the platform must learn, at a growing version."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest

from parking import sync
from parking.errors import Problem
from parking.reservations.states import transition
from parking.settings import Settings
from tests.factories import (
    at,
    insert_reservation,
    make_building,
    make_resident,
    outbox_rows,
    tomorrow,
)


async def _book(conn, place, resident, night, space_index=0, status="confirmed"):
    return await insert_reservation(
        conn,
        space_id=place.space_ids[space_index],
        resident=resident,
        start=at(night, 20),
        end=at(night, 7),
        status=status,
        hold_expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
        if status == "held"
        else None,
    )


async def test_place_message_counts_shared_spaces_and_features(
    conn: asyncpg.Connection, settings: Settings
) -> None:
    place = await make_building(conn, spaces=4, features=[["ev"], ["ev", "large"]])
    await conn.execute("UPDATE spaces SET shared = false WHERE id = $1", place.space_ids[3])
    await sync.emit_place(conn, place.id, settings.tz)
    await sync.emit_place(conn, place.id, settings.tz)
    first, second = await outbox_rows(conn, "place")
    assert first["payload"]["shared_spaces"] == 3
    assert first["payload"]["features"] == {"ev": 2, "large": 1}
    assert first["payload"]["timezone"] == "Asia/Shanghai"
    assert (first["version"], second["version"]) == (1, 2)
    assert second["payload"]["version"] == 2
    assert first["entity_key"] == first["payload"]["place_id"]


async def test_availability_counts_spaces_free_for_the_whole_window(
    conn: asyncpg.Connection, settings: Settings
) -> None:
    place = await make_building(conn, spaces=3)
    resident = await make_resident(conn, settings)
    night = tomorrow()
    await _book(conn, place, resident, night)
    no_window_night = dt.date(2000, 1, 3)  # before the rule's valid_from
    await sync.emit_availability(conn, place.id, [night, no_window_night], settings.tz)
    rows = {r["payload"]["night"]: r["payload"] for r in await outbox_rows(conn, "availability")}
    tonight = rows[night.isoformat()]
    assert (tonight["capacity"], tonight["free"]) == (3, 2)
    assert tonight["window"] == {
        "start": at(night, 19).isoformat(),
        "end": at(night, 7).isoformat(),
    }
    assert rows[no_window_night.isoformat()] | {"version": 0} == {
        "place_id": tonight["place_id"],
        "night": no_window_night.isoformat(),
        "window": None,
        "capacity": 0,
        "free": 0,
        "version": 0,
    }


async def test_reservation_messages_follow_its_states(
    conn: asyncpg.Connection, settings: Settings
) -> None:
    place = await make_building(conn, spaces=2)
    resident = await make_resident(conn, settings)
    night = tomorrow()
    reservation_id = await _book(conn, place, resident, night)
    now = dt.datetime.now(dt.UTC)
    await sync.emit_reservation(conn, reservation_id, settings.tz)
    checked_in = await transition(conn, reservation_id, "checked_in", at=now, tz=settings.tz)
    assert checked_in.checked_in_at == now
    done = await transition(conn, reservation_id, "completed", at=now, tz=settings.tz)
    assert done.ended_at == now
    messages = await outbox_rows(conn, "reservation")
    assert [(m["version"], m["payload"]["status"]) for m in messages] == [
        (1, "confirmed"),
        (2, "checked_in"),
        (3, "completed"),
    ]
    assert messages[0]["payload"]["plate"] == resident.plates[0]
    assert messages[0]["entity_key"] == f"r-{reservation_id}"
    # Completion frees the space, so the night's availability is republished.
    assert len(await outbox_rows(conn, "availability")) == 1


@pytest.mark.parametrize(
    ("start", "target"),
    [
        ("confirmed", "expired"),
        ("held", "checked_in"),
        ("cancelled", "confirmed"),
        ("confirmed", "released"),  # only pass nights are released
    ],
)
async def test_a_transition_not_allowed_changes_nothing(
    conn: asyncpg.Connection, settings: Settings, start: str, target: str
) -> None:
    place = await make_building(conn, spaces=1)
    resident = await make_resident(conn, settings)
    night = tomorrow()
    status = "held" if start == "held" else "confirmed"
    reservation_id = await _book(conn, place, resident, night, status=status)
    if start == "cancelled":
        await conn.execute(
            "UPDATE reservations SET status = 'cancelled' WHERE id = $1", reservation_id
        )
    with pytest.raises(Problem) as raised:
        await transition(conn, reservation_id, target, at=dt.datetime.now(dt.UTC), tz=settings.tz)
    assert raised.value.status_code == 409
    assert raised.value.type_ == "invalid-transition"
    assert (
        await conn.fetchval("SELECT status FROM reservations WHERE id = $1", reservation_id)
        == start
    )
    assert await outbox_rows(conn, "reservation") == []


async def test_a_lapsed_hold_the_platform_never_saw_is_not_sent(
    conn: asyncpg.Connection, settings: Settings
) -> None:
    place = await make_building(conn, spaces=1)
    resident = await make_resident(conn, settings)
    reservation_id = await _book(conn, place, resident, tomorrow(), status="held")
    await sync.emit_reservation(conn, reservation_id, settings.tz)  # held: not sent
    await transition(conn, reservation_id, "expired", at=dt.datetime.now(dt.UTC), tz=settings.tz)
    assert await outbox_rows(conn, "reservation") == []
    # ... but the space it held is free again, which the platform does learn.
    assert len(await outbox_rows(conn, "availability")) == 1


def test_horizon_is_tonight_and_the_configured_nights_after(settings: Settings) -> None:
    nights = sync.horizon(
        dt.date(2026, 12, 30), settings.model_copy(update={"availability_horizon_nights": 3})
    )
    assert nights == [
        dt.date(2026, 12, 30),
        dt.date(2026, 12, 31),
        dt.date(2027, 1, 1),
        dt.date(2027, 1, 2),
    ]


async def test_a_suspended_place_has_nothing_free(
    conn: asyncpg.Connection, settings: Settings
) -> None:
    place = await make_building(conn, spaces=2, status="suspended")
    night = tomorrow()
    await sync.emit_availability(conn, place.id, [night], settings.tz)
    (message,) = await outbox_rows(conn, "availability")
    assert (message["payload"]["capacity"], message["payload"]["free"]) == (2, 0)
