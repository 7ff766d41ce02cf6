"""After booking: holds and confirmation, cancelling, reading one's own, and operator cancels."""

from __future__ import annotations

import datetime as dt

import asyncpg
from litestar.testing import AsyncTestClient

from parking.app import create_app
from parking.reservations.service import cancel_by_operator
from tests.conftest import make_settings
from tests.factories import (
    at,
    make_building,
    make_resident,
    post_booking,
)
from tests.helpers import assert_problem


async def _book(client, place, resident, night, **extra) -> dict:
    response = await post_booking(client, place, resident, night, **extra)
    assert response.status_code == 201, response.text
    return response.json()


async def _messages(conn: asyncpg.Connection) -> list[str]:
    return [
        r["entity_kind"] for r in await conn.fetch("SELECT entity_kind FROM outbox ORDER BY id")
    ]


async def _status(conn: asyncpg.Connection, reservation_id: int) -> str:
    return await conn.fetchval("SELECT status FROM reservations WHERE id = $1", reservation_id)


async def test_with_holds_a_booking_is_held_until_confirmed(
    conn, db_dsn, place, resident, night
) -> None:
    settings = make_settings(db_dsn, hold_minutes=15)
    async with AsyncTestClient(app=create_app(settings)) as client:
        before = dt.datetime.now(dt.UTC)
        held = await _book(client, place, resident, night)
        assert held["status"] == "held"
        expires = dt.datetime.fromisoformat(held["hold_expires_at"])
        assert (
            before + dt.timedelta(minutes=15)
            <= expires
            <= dt.datetime.now(dt.UTC) + dt.timedelta(minutes=15)
        )
        assert (
            await conn.fetchval(
                "SELECT hold_expires_at FROM reservations WHERE id = $1", held["id"]
            )
            == expires
        )

        await conn.execute("DELETE FROM outbox")
        confirmed = await client.post(
            f"/reservations/{held['id']}/confirm", headers=resident.headers
        )
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json()["status"] == "confirmed"
        assert await _status(conn, held["id"]) == "confirmed"
        assert await _messages(conn) == [
            "reservation"
        ]  # the space stays taken: availability is unchanged

        again = await client.post(f"/reservations/{held['id']}/confirm", headers=resident.headers)
        assert again.status_code == 200 and again.json()["status"] == "confirmed"
        assert await _messages(conn) == ["reservation"]


async def test_a_hold_that_ran_out_cannot_be_confirmed(
    conn, db_dsn, place, resident, night
) -> None:
    settings = make_settings(db_dsn, hold_minutes=15)
    async with AsyncTestClient(app=create_app(settings)) as client:
        held = await _book(client, place, resident, night)
        await conn.execute(
            "UPDATE reservations SET hold_expires_at = now() - interval '1 minute' WHERE id = $1",
            held["id"],
        )
        response = await client.post(
            f"/reservations/{held['id']}/confirm", headers=resident.headers
        )
        assert_problem(response, 409, "hold-expired")
        assert await _status(conn, held["id"]) == "held"


async def test_without_holds_confirm_leaves_a_booking_confirmed(
    client, conn, place, resident, night
) -> None:
    booked = await _book(client, place, resident, night)
    assert booked["status"] == "confirmed" and booked["hold_expires_at"] is None
    response = await client.post(f"/reservations/{booked['id']}/confirm", headers=resident.headers)
    assert response.status_code == 200 and response.json()["status"] == "confirmed"


async def test_cancelling_ones_own_booking_frees_the_space(
    client, conn, resident, night, settings
) -> None:
    small = await make_building(conn, spaces=1)
    booked = await _book(client, small, resident, night)
    await conn.execute("DELETE FROM outbox")

    response = await client.post(f"/reservations/{booked['id']}/cancel", headers=resident.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "cancelled"
    assert body["fee_fen"] == 0  # cancelled in the free period of the plan
    row = await conn.fetchrow(
        "SELECT status, fee_fen, ended_at FROM reservations WHERE id = $1", booked["id"]
    )
    assert row["status"] == "cancelled" and row["fee_fen"] == 0 and row["ended_at"] is not None
    assert await _messages(conn) == ["reservation", "availability"]

    # Twice: the current state, nothing more.
    again = await client.post(f"/reservations/{booked['id']}/cancel", headers=resident.headers)
    assert again.status_code == 200 and again.json()["status"] == "cancelled"
    assert await _messages(conn) == ["reservation", "availability"]

    other = await make_resident(conn, settings)
    assert (await _book(client, small, other, night))["space_id"] == small.space_ids[0]


async def test_someone_elses_booking_is_not_found(
    client, conn, place, resident, night, settings
) -> None:
    booked = await _book(client, place, resident, night)
    other = await make_resident(conn, settings)
    for response in (
        await client.post(f"/reservations/{booked['id']}/cancel", headers=other.headers),
        await client.post(f"/reservations/{booked['id']}/confirm", headers=other.headers),
        await client.get(f"/reservations/{booked['id']}", headers=other.headers),
    ):
        assert_problem(response, 404, "not-found")
    assert await _status(conn, booked["id"]) == "confirmed"
    assert_problem(
        await client.get("/reservations/999999", headers=resident.headers), 404, "not-found"
    )


async def test_a_checked_in_booking_cannot_be_cancelled(
    client, conn, place, resident, night
) -> None:
    booked = await _book(client, place, resident, night)
    await conn.execute("UPDATE reservations SET status = 'checked_in' WHERE id = $1", booked["id"])
    await conn.execute("DELETE FROM outbox")
    response = await client.post(f"/reservations/{booked['id']}/cancel", headers=resident.headers)
    body = assert_problem(response, 409, "not-cancellable")
    assert body["reservation_status"] == "checked_in"
    assert await _status(conn, booked["id"]) == "checked_in"
    assert await _messages(conn) == []


async def test_residents_read_their_own_reservations(
    client, conn, place, resident, night, settings
) -> None:
    first = await _book(client, place, resident, night, depart=at(night, 22).isoformat())
    second = await _book(client, place, resident, night, arrive=at(night, 23).isoformat())
    later = await _book(client, place, resident, night + dt.timedelta(days=1))
    await client.post(f"/reservations/{first['id']}/cancel", headers=resident.headers)
    other = await make_resident(conn, settings)
    await _book(client, place, other, night)

    one = await client.get(f"/reservations/{second['id']}", headers=resident.headers)
    assert one.status_code == 200 and one.json() == second

    listing = (await client.get("/reservations", headers=resident.headers)).json()
    assert listing["total"] == 3
    assert [r["id"] for r in listing["items"]] == [later["id"], second["id"], first["id"]]

    tonight = (
        await client.get(f"/reservations?night={night.isoformat()}", headers=resident.headers)
    ).json()
    assert [r["id"] for r in tonight["items"]] == [second["id"], first["id"]]
    cancelled = (
        await client.get("/reservations?status=cancelled", headers=resident.headers)
    ).json()
    assert [r["id"] for r in cancelled["items"]] == [first["id"]]

    page = (await client.get("/reservations?limit=2&offset=2", headers=resident.headers)).json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 2)
    assert [r["id"] for r in page["items"]] == [first["id"]]
    bad = await client.get("/reservations?limit=0", headers=resident.headers)
    assert bad.status_code in (400, 422)


async def test_operator_cancels_are_free_and_skip_what_cannot_be_cancelled(
    client, conn, resident, night, settings
) -> None:
    four = await make_building(conn, spaces=4)
    residents = [resident] + [await make_resident(conn, settings) for _ in range(3)]
    booked = [await _book(client, four, r, night) for r in residents]
    ids = [b["id"] for b in booked]
    await conn.execute("UPDATE reservations SET status = 'checked_in' WHERE id = $1", ids[1])
    await conn.execute(
        """UPDATE reservations SET status = 'held', hold_expires_at = now() + interval '5 minutes'
           WHERE id = $1""",
        ids[2],
    )
    await conn.execute("DELETE FROM outbox")

    now = dt.datetime.now(dt.UTC)
    async with conn.transaction():
        cancelled = await cancel_by_operator(
            conn,
            [ids[3], ids[0], ids[1], ids[2], 999999],
            reason="blackout",
            at=now,
            tz=settings.tz,
        )
    assert [r.id for r in cancelled] == sorted([ids[0], ids[2], ids[3]])
    rows = {
        r["id"]: (r["status"], r["fee_fen"])
        for r in await conn.fetch("SELECT id, status, fee_fen FROM reservations")
    }
    assert rows[ids[0]] == rows[ids[2]] == rows[ids[3]] == ("cancelled", 0)
    assert rows[ids[1]] == ("checked_in", 1000)
    assert (await _messages(conn)).count("reservation") == 3

    # A stay already over is left as it is.
    ended = await _book(client, four, await make_resident(conn, settings), night)
    async with conn.transaction():
        later = now + dt.timedelta(days=3)
        assert (
            await cancel_by_operator(conn, [ended["id"]], reason="x", at=later, tz=settings.tz)
            == []
        )
    assert await _status(conn, ended["id"]) == "confirmed"


async def test_a_cancelled_booking_cannot_be_confirmed(
    client, conn, place, resident, night
) -> None:
    booked = await _book(client, place, resident, night)
    await client.post(f"/reservations/{booked['id']}/cancel", headers=resident.headers)
    response = await client.post(f"/reservations/{booked['id']}/confirm", headers=resident.headers)
    body = assert_problem(response, 409, "not-confirmable")
    assert body["reservation_status"] == "cancelled"
    assert await _status(conn, booked["id"]) == "cancelled"


async def test_a_stay_that_is_over_cannot_be_cancelled(
    client, conn, place, resident, night
) -> None:
    booked = await _book(client, place, resident, night)
    await conn.execute(
        """UPDATE reservations
           SET stay = tstzrange(now() - interval '10 hours', now() - interval '1 hour')
           WHERE id = $1""",
        booked["id"],
    )
    response = await client.post(f"/reservations/{booked['id']}/cancel", headers=resident.headers)
    assert_problem(response, 409, "not-cancellable")
    assert await _status(conn, booked["id"]) == "confirmed"
