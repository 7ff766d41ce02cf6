"""Rate limits: bookings per user, sign-ins per client address, the district's inbound paths;
the standard headers; counts held in Redis and shared by replicas; in-process without
Redis and when Redis fails, so bookings go on."""

from __future__ import annotations

import re

import asyncpg
from litestar.testing import AsyncTestClient

from parking import ratelimit
from parking.app import create_app
from parking.ratelimit import default_rules
from parking.settings import Settings
from tests.conftest import make_settings
from tests.factories import make_building, make_resident, make_user, post_booking, tomorrow
from tests.helpers import PASSWORD, assert_problem
from tests.operations.support import free_port


def _limited(settings: Settings, **overrides: object) -> Settings:
    return make_settings(settings.database_url, **overrides)


async def test_bookings_are_limited_per_user_with_the_standard_headers(
    conn: asyncpg.Connection, settings: Settings
) -> None:
    building = await make_building(conn, spaces=5)
    first = await make_resident(conn, settings, vehicles=3)
    second = await make_resident(conn, settings)
    night = tomorrow()
    app = create_app(_limited(settings, rate_limit_booking=2, rate_limit_window_s=600))
    async with AsyncTestClient(app=app) as client:
        answers = [
            await post_booking(client, building, first, night, vehicle_id=vehicle)
            for vehicle in first.vehicle_ids
        ]
        other = await post_booking(client, building, second, night)

    assert [a.status_code for a in answers[:2]] == [201, 201]
    assert [a.headers["ratelimit-remaining"] for a in answers[:2]] == ["1", "0"]
    for answer in answers:
        assert answer.headers["ratelimit-limit"] == "2"
        assert answer.headers["ratelimit-policy"] == "2;w=600"
        assert 0 < int(answer.headers["ratelimit-reset"]) <= 600
    refused = assert_problem(answers[2], 429, "rate-limited")
    assert refused["limit"] == 2 and refused["window_s"] == 600
    assert answers[2].headers["retry-after"] == answers[2].headers["ratelimit-reset"]
    assert answers[2].headers["ratelimit-remaining"] == "0"
    # Another resident has a count of their own; the refused booking changed nothing.
    assert other.status_code == 201, other.text
    assert other.headers["ratelimit-remaining"] == "1"
    assert await conn.fetchval("SELECT count(*) FROM reservations") == 3
    assert await conn.fetchval("SELECT count(*) FROM idempotency_keys") == 3


async def test_a_refused_validation_error_still_counts_and_shows_the_headers(
    conn: asyncpg.Connection, settings: Settings
) -> None:
    resident = await make_resident(conn, settings)
    app = create_app(_limited(settings, rate_limit_booking=1))
    async with AsyncTestClient(app=app) as client:
        bad = await client.post(
            "/reservations",
            json={"night": "nope"},
            headers={**resident.headers, "Idempotency-Key": "k"},
        )
        again = await client.post(
            "/reservations",
            json={"night": "nope"},
            headers={**resident.headers, "Idempotency-Key": "k"},
        )
    assert_problem(bad, 422, "validation-error")
    assert bad.headers["ratelimit-remaining"] == "0"
    assert_problem(again, 429, "rate-limited")


def test_a_new_window_never_reports_more_than_its_length(monkeypatch) -> None:
    # At this clock reading (now + 600) - now is 600.0000000000x in floating point, which
    # the RateLimit-Reset header rounded up to 601.
    monkeypatch.setattr(ratelimit.time, "monotonic", lambda: 7906.02674611629)
    assert ratelimit._MemoryCounters().hit("k", 600).reset_s <= 600


async def test_passes_and_allocation_requests_count_as_bookings(
    conn: asyncpg.Connection, settings: Settings
) -> None:
    # Every way a resident claims a space draws on one count per user.
    resident = await make_resident(conn, settings)
    app = create_app(_limited(settings, rate_limit_booking=2, rate_limit_window_s=600))
    async with AsyncTestClient(app=app) as client:
        answers = [
            await client.post(
                path,
                json={"night": "nope"},
                headers={**resident.headers, "Idempotency-Key": f"key-{k}"},
            )
            for k, path in enumerate(["/passes", "/allocation-requests", "/reservations"])
        ]
    assert [a.headers["ratelimit-remaining"] for a in answers[:2]] == ["1", "0"]
    assert all(a.status_code == 422 for a in answers[:2])
    assert_problem(answers[2], 429, "rate-limited")


async def test_sign_ins_are_limited_per_client_address(
    conn: asyncpg.Connection, settings: Settings
) -> None:
    user = await make_user(conn, "resident")
    app = create_app(_limited(settings, rate_limit_auth=3))
    async with AsyncTestClient(app=app) as client:
        body = {"email": user.email, "password": PASSWORD}
        answers = [await client.post("/auth/token", json=body) for _ in range(4)]
        # Other routes are not limited.
        health = await client.get("/health")
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert_problem(answers[3], 429, "rate-limited")
    assert "ratelimit-limit" not in health.headers


async def test_password_guesses_count_against_the_sign_in_limit(
    conn: asyncpg.Connection, settings: Settings
) -> None:
    user = await make_user(conn, "resident")
    app = create_app(_limited(settings, rate_limit_auth=3))
    async with AsyncTestClient(app=app) as client:
        token = await client.post("/auth/token", json={"email": user.email, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        guess = {"current_password": "a-guess", "new_password": "whatever-it-is"}
        answers = [
            await client.post("/auth/password", json=guess, headers=headers) for _ in range(3)
        ]
    assert [a.status_code for a in answers] == [403, 403, 429]
    (auth,) = [r for r in default_rules(settings) if r.name == "auth"]
    assert auth.matches("POST", "/app/password") and auth.matches("POST", "/auth/password")


def test_the_district_rule_covers_every_inbound_path_and_nothing_else(settings: Settings) -> None:
    (district,) = [r for r in default_rules(settings) if r.name == "district"]
    assert district.per == "client"
    for path in (
        "/integrations/district/reservations",
        "/integrations/district/reservations/p-1/cancel",
        "/integrations/district/events",
    ):
        assert district.matches("POST", path)
    assert not district.matches("POST", "/reservations")
    off = _limited(settings, rate_limit_district=0)
    assert "district" not in {r.name for r in default_rules(off)}


async def test_counts_live_in_redis_and_are_shared_by_replicas(
    conn: asyncpg.Connection, settings: Settings, redis_url: str, redis_prefix: str
) -> None:
    building = await make_building(conn, spaces=5)
    resident = await make_resident(conn, settings, vehicles=3)
    shared = _limited(
        settings,
        redis_url=redis_url,
        redis_prefix=f"{redis_prefix}-{free_port()}",
        rate_limit_booking=2,
    )
    night = tomorrow()
    async with (
        AsyncTestClient(app=create_app(shared)) as one,
        AsyncTestClient(app=create_app(shared)) as two,
    ):
        a = await post_booking(one, building, resident, night, vehicle_id=resident.vehicle_ids[0])
        b = await post_booking(two, building, resident, night, vehicle_id=resident.vehicle_ids[1])
        c = await post_booking(one, building, resident, night, vehicle_id=resident.vehicle_ids[2])
    assert (a.status_code, b.status_code) == (201, 201)
    assert b.headers["ratelimit-remaining"] == "0"
    assert_problem(c, 429, "rate-limited")


async def test_without_a_reachable_redis_bookings_go_on_and_are_counted_in_process(
    conn: asyncpg.Connection, settings: Settings
) -> None:
    building = await make_building(conn, spaces=5)
    resident = await make_resident(conn, settings, vehicles=3)
    nobody_listens = f"redis://127.0.0.1:{free_port()}/0"
    app = create_app(_limited(settings, redis_url=nobody_listens, rate_limit_booking=2))
    night = tomorrow()
    async with AsyncTestClient(app=app) as client:
        answers = [
            await post_booking(client, building, resident, night, vehicle_id=vehicle)
            for vehicle in resident.vehicle_ids
        ]
    assert [a.status_code for a in answers] == [201, 201, 429]
    assert [a.headers["ratelimit-remaining"] for a in answers] == ["1", "0", "0"]
    assert all(re.fullmatch(r"\d+", a.headers["ratelimit-reset"]) for a in answers)


async def test_the_district_platforms_calls_are_limited_per_client_address(
    settings: Settings,
) -> None:
    app = create_app(_limited(settings, rate_limit_district=3))
    async with AsyncTestClient(app=app) as client:
        answers = [
            await client.post("/integrations/district/events", content=b"{}") for _ in range(4)
        ]
        cancel = await client.post("/integrations/district/reservations/p-1/cancel", content=b"{}")
    # Unsigned calls are refused by the signature check, yet still counted: the limit
    # protects that check too.
    assert [a.status_code for a in answers[:3]] == [401, 401, 401]
    assert [a.headers["ratelimit-remaining"] for a in answers[:3]] == ["2", "1", "0"]
    assert_problem(answers[3], 429, "rate-limited")
    assert_problem(cancel, 429, "rate-limited")
