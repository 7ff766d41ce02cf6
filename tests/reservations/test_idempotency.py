"""Idempotency-Key on POST /reservations: replay, mismatch, in flight, scope, expiry, faults."""

from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg
import pydantic
import pytest
from litestar.testing import AsyncTestClient

from parking.idempotency import purge_expired_keys
from parking.settings import Settings
from tests.conftest import make_settings
from tests.factories import (
    at,
    booking_body,
    booking_headers,
    make_resident,
    make_user,
    post_booking,
)
from tests.helpers import assert_problem


async def _state(conn: asyncpg.Connection) -> tuple[int, int, int]:
    """Reservations, outbox rows and stored keys."""
    return (
        await conn.fetchval("SELECT count(*) FROM reservations"),
        await conn.fetchval("SELECT count(*) FROM outbox"),
        await conn.fetchval("SELECT count(*) FROM idempotency_keys"),
    )


async def test_the_same_key_and_body_replays_the_first_answer_byte_for_byte(
    client: AsyncTestClient, conn, place, resident, night
) -> None:
    headers = booking_headers(resident, "key-1")
    first = await client.post(
        "/reservations", json=booking_body(place, resident, night), headers=headers
    )
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    state = await _state(conn)

    again = await client.post(
        "/reservations", json=booking_body(place, resident, night), headers=headers
    )
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == first.headers["content-type"]
    assert await _state(conn) == state  # no second reservation, no new message
    assert state[0] == 1


async def test_the_same_key_with_a_quoted_value_is_the_same_key(
    client, conn, place, resident, night
) -> None:
    first = await post_booking(client, place, resident, night, key="k-7")
    again = await post_booking(client, place, resident, night, key='"k-7"')
    assert again.status_code == 201 and again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"


async def test_defaults_written_out_are_the_same_request(
    client, conn, place, resident, night
) -> None:
    headers = booking_headers(resident)
    first = await client.post(
        "/reservations", json=booking_body(place, resident, night), headers=headers
    )
    explicit = {**booking_body(place, resident, night), "space_id": None, "needs": []}
    again = await client.post("/reservations", json=explicit, headers=headers)
    assert again.status_code == 201 and again.content == first.content


async def test_the_same_key_with_another_body_is_a_mismatch(
    client, conn, place, resident, night, settings
) -> None:
    headers = booking_headers(resident)
    first = await client.post(
        "/reservations", json=booking_body(place, resident, night), headers=headers
    )
    assert first.status_code == 201
    state = await _state(conn)
    other = {**booking_body(place, resident, night), "arrive": at(night, 21).isoformat()}
    assert_problem(
        await client.post("/reservations", json=other, headers=headers), 422, "idempotency-mismatch"
    )
    assert await _state(conn) == state


async def test_a_duplicate_still_in_flight_is_refused(
    client, conn, place, resident, night, db_dsn
) -> None:
    key = "in-flight-key"
    # Another connection holds the key's lock, as the first request's transaction would.
    holder = await asyncpg.connect(db_dsn)
    try:
        async with holder.transaction():
            await holder.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended('idem:' || $1 || ':' || $2, 0))",
                str(resident.id),
                key,
            )
            response = await post_booking(client, place, resident, night, key=key)
            assert_problem(response, 409, "idempotency-in-flight")
            assert response.headers["retry-after"] == "1"
            assert await _state(conn) == (0, 0, 0)
    finally:
        await holder.close()
    # Once the first is over, the key is free (nothing was stored for the refused one).
    response = await post_booking(client, place, resident, night, key=key)
    assert response.status_code == 201, response.text


async def test_keys_belong_to_their_user(client, conn, place, night, settings) -> None:
    one, two = await make_resident(conn, settings), await make_resident(conn, settings)
    a = await post_booking(client, place, one, night, key="shared")
    b = await post_booking(client, place, two, night, key="shared")
    assert a.status_code == b.status_code == 201
    assert "idempotent-replayed" not in b.headers
    assert a.json()["id"] != b.json()["id"]
    assert await conn.fetchval("SELECT count(*) FROM reservations") == 2


async def test_a_refusal_is_the_first_answer_and_is_replayed(
    client, conn, resident, night, full_building
) -> None:
    small, taken_id = full_building

    headers = booking_headers(resident, "full-building")
    refused = await client.post(
        "/reservations", json=booking_body(small, resident, night), headers=headers
    )
    assert_problem(refused, 409, "no-capacity")
    stored = await conn.fetchrow(
        "SELECT response_status, response_body FROM idempotency_keys WHERE user_id = $1",
        resident.id,
    )
    assert stored["response_status"] == 409 and stored["response_body"]["type"] == "no-capacity"

    # The space comes free, but the key's answer stays the first one.
    await conn.execute("UPDATE reservations SET status = 'cancelled' WHERE id = $1", taken_id)
    again = await client.post(
        "/reservations", json=booking_body(small, resident, night), headers=headers
    )
    assert again.status_code == 409 and again.content == refused.content
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"].startswith("application/problem+json")
    assert (
        await conn.fetchval("SELECT count(*) FROM reservations WHERE user_id = $1", resident.id)
        == 0
    )
    # A new key is a new attempt.
    fresh = await post_booking(client, small, resident, night)
    assert fresh.status_code == 201, fresh.text


async def test_an_expired_key_is_fresh(client, conn, place, resident, night, settings) -> None:
    headers = booking_headers(resident, "old-key")
    first = await client.post(
        "/reservations", json=booking_body(place, resident, night), headers=headers
    )
    assert first.status_code == 201
    await conn.execute(
        "UPDATE idempotency_keys SET created_at = now() - make_interval(hours => $1 + 1)",
        settings.idempotency_ttl_hours,
    )
    await conn.execute("UPDATE reservations SET status = 'cancelled'")
    again = await client.post(
        "/reservations", json=booking_body(place, resident, night), headers=headers
    )
    assert again.status_code == 201, again.text
    assert "idempotent-replayed" not in again.headers
    assert again.json()["id"] != first.json()["id"]
    assert await conn.fetchval("SELECT count(*) FROM idempotency_keys") == 1


async def test_the_key_header_is_required_and_bounded(client, conn, place, resident, night) -> None:
    body = booking_body(place, resident, night)
    assert_problem(
        await client.post("/reservations", json=body, headers=resident.headers),
        400,
        "idempotency-key-missing",
    )
    for bad in ("", '""', "k" * 256):
        response = await client.post(
            "/reservations", json=body, headers={**resident.headers, "Idempotency-Key": bad}
        )
        assert_problem(response, 422, "idempotency-key-invalid")
    assert await _state(conn) == (0, 0, 0)
    longest = await client.post(
        "/reservations", json=body, headers=booking_headers(resident, "k" * 255)
    )
    assert longest.status_code == 201, longest.text


async def test_a_crash_stores_nothing_and_frees_the_key(
    client, conn, place, resident, night
) -> None:
    # A real fault inside the use case: the database refuses the insert.
    await conn.execute(
        """CREATE FUNCTION fail_insert() RETURNS trigger LANGUAGE plpgsql
           AS $$ BEGIN RAISE EXCEPTION 'disk on fire'; END $$;
           CREATE TRIGGER fail_insert BEFORE INSERT ON reservations
           FOR EACH ROW EXECUTE FUNCTION fail_insert();"""
    )
    headers = booking_headers(resident, "crash")
    crashed = await client.post(
        "/reservations", json=booking_body(place, resident, night), headers=headers
    )
    assert_problem(crashed, 500, "internal-error")
    assert await _state(conn) == (0, 0, 0)
    await conn.execute("DROP TRIGGER fail_insert ON reservations")
    retried = await client.post(
        "/reservations", json=booking_body(place, resident, night), headers=headers
    )
    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers


async def test_purge_removes_only_expired_keys(conn: asyncpg.Connection) -> None:
    user_id = (await make_user(conn, "resident")).id
    now = dt.datetime.now(dt.UTC)
    for key, age_hours in (("old", 30), ("edge", 24), ("young", 23)):
        await conn.execute(
            """INSERT INTO idempotency_keys (user_id, key, request_hash, response_status,
                                             response_body, created_at)
               VALUES ($1, $2, 'h', 201, '{}', $3)""",
            user_id,
            key,
            now - dt.timedelta(hours=age_hours),
        )
    assert await purge_expired_keys(conn, now, 24) == 2
    assert [r["key"] for r in await conn.fetch("SELECT key FROM idempotency_keys")] == ["young"]


def test_keys_are_kept_at_least_a_day(db_dsn: str) -> None:
    with pytest.raises(pydantic.ValidationError):
        make_settings(db_dsn, idempotency_ttl_hours=23)
    assert make_settings(db_dsn).idempotency_ttl_hours == 24


async def test_a_longer_ttl_keeps_keys_longer(conn, place, resident, night, db_dsn) -> None:
    settings: Settings = make_settings(db_dsn, idempotency_ttl_hours=48)
    async with AsyncTestClient(app=_app(settings)) as client:
        headers = booking_headers(resident, "two-days")
        first = await client.post(
            "/reservations", json=booking_body(place, resident, night), headers=headers
        )
        await conn.execute("UPDATE idempotency_keys SET created_at = now() - interval '30 hours'")
        again = await client.post(
            "/reservations", json=booking_body(place, resident, night), headers=headers
        )
        assert again.content == first.content
        assert again.headers["idempotent-replayed"] == "true"


def _app(settings: Settings):
    from parking.app import create_app

    return create_app(settings)


async def test_simultaneous_duplicates_book_once(client, conn, place, resident, night) -> None:
    headers = booking_headers(resident, "double-click")
    answers = await asyncio.gather(
        *(
            client.post("/reservations", json=booking_body(place, resident, night), headers=headers)
            for _ in range(10)
        )
    )
    created = [a for a in answers if a.status_code == 201]
    assert created
    assert all(a.content == created[0].content for a in created)
    for other in answers:
        if other.status_code != 201:
            assert_problem(other, 409, "idempotency-in-flight")
    assert await conn.fetchval("SELECT count(*) FROM reservations") == 1
