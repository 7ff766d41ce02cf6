"""/metrics: latency per route template, bookings by outcome, the outbox backlog and the
allocation runs read from the database at scrape time, and the optional scrape token."""

from __future__ import annotations

import datetime as dt
import re

import asyncpg
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from parking.app import create_app
from parking.clock import utc_now
from parking.settings import Settings
from tests.conftest import make_settings
from tests.factories import make_building, make_resident, post_booking, tomorrow
from tests.helpers import assert_problem


async def _scrape(client: AsyncTestClient, **headers: str) -> dict[tuple[str, tuple], float]:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


async def test_latency_is_labelled_by_route_template_and_bookings_by_outcome(
    client: AsyncTestClient, conn: asyncpg.Connection, settings: Settings
) -> None:
    building = await make_building(conn, spaces=1)
    first = await make_resident(conn, settings)
    second = await make_resident(conn, settings)
    booked = await post_booking(client, building, first, tomorrow(), key="k-1")
    assert booked.status_code == 201
    replay = await post_booking(client, building, first, tomorrow(), key="k-1")
    assert replay.headers["idempotent-replayed"] == "true"
    full = await post_booking(client, building, second, tomorrow())
    assert full.json()["type"] == "no-capacity"
    reservation_id = booked.json()["id"]
    assert (await client.get(f"/reservations/{reservation_id}", headers=first.headers)).is_success

    samples = await _scrape(client)
    count = "parking_http_request_duration_seconds_count"
    assert _value(samples, count, method="POST", route="/reservations", status="201") == 2
    assert _value(samples, count, method="POST", route="/reservations", status="409") == 1
    assert (
        _value(samples, count, method="GET", route="/reservations/{reservation_id}", status="200")
        == 1
    )
    assert _value(samples, "parking_bookings_total", outcome="booked") == 1
    assert _value(samples, "parking_bookings_total", outcome="replayed") == 1
    assert _value(samples, "parking_bookings_total", outcome="no-capacity") == 1
    # Route labels are the app's templates: no id, plate or raw path in any of them.
    templates = {re.sub(r":\w+\}", "}", route.path) for route in client.app.routes}
    routes = {dict(labels)["route"] for _, labels in samples if "route" in dict(labels)}
    assert routes <= templates
    assert not any(first.plate in str(labels) for _, labels in samples)


async def test_outbox_backlog_and_its_oldest_message_age_come_from_the_database(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    samples = await _scrape(client)
    assert _value(samples, "parking_outbox_pending_messages") == 0
    assert _value(samples, "parking_outbox_oldest_pending_age_seconds") == 0
    assert _value(samples, "parking_metrics_database_up") == 1

    await conn.execute(
        "INSERT INTO outbox (entity_kind, entity_key, version, payload, created_at)"
        " VALUES ('place', 'p-metrics', 1, '{}', now() - interval '90 seconds'),"
        "        ('place', 'p-metrics', 2, '{}', now() - interval '10 seconds')"
    )
    await conn.execute(
        "INSERT INTO outbox (entity_kind, entity_key, version, payload, status, created_at)"
        " VALUES ('place', 'p-metrics', 3, '{}', 'delivered', now() - interval '1 day')"
    )
    pending = await conn.fetchval("SELECT count(*) FROM outbox WHERE status = 'pending'")
    samples = await _scrape(client)
    assert _value(samples, "parking_outbox_pending_messages") == pending >= 2
    assert 90 <= _value(samples, "parking_outbox_oldest_pending_age_seconds") < 3600


async def test_allocation_runs_show_their_phases_and_objective(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    now = utc_now()
    for status, weight, finished in (("optimal", 40, 1), ("feasible", 55, 0)):
        await conn.execute(
            """INSERT INTO allocation_runs
                 (night, status, requests, spaces, served, not_allocated, served_weight, walk_m,
                  bound_served_weight, build_ms, solve_ms, write_ms, time_limit_s, workers,
                  seed, started_at, finished_at)
               VALUES ($1, $2, 30, 20, 20, 10, $3, 5400, 56, 120, 2500, 80, 60, 2, 0,
                       $4, $4)""",
            tomorrow(),
            status,
            weight,
            now - dt.timedelta(minutes=finished),
        )
    samples = await _scrape(client)
    assert _value(samples, "parking_allocation_runs", status="optimal") == 1
    assert _value(samples, "parking_allocation_runs", status="feasible") == 1
    # The newest run is the feasible one.
    assert _value(samples, "parking_allocation_last_run_phase_seconds", phase="solve") == 2.5
    assert _value(samples, "parking_allocation_last_run_phase_seconds", phase="build") == 0.12
    assert _value(samples, "parking_allocation_last_run_objective", term="served_weight") == 55
    assert _value(samples, "parking_allocation_last_run_objective", term="walk_m") == 5400
    assert (
        _value(samples, "parking_allocation_last_run_objective", term="bound_served_weight") == 56
    )
    finished = _value(samples, "parking_allocation_last_run_finished_timestamp_seconds")
    assert finished == now.timestamp()


async def test_a_scrape_token_when_configured_is_required(settings: Settings) -> None:
    guarded = make_settings(settings.database_url, metrics_token="scrape-secret")
    async with AsyncTestClient(app=create_app(guarded)) as client:
        assert_problem(await client.get("/metrics"), 401, "unauthorized")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert_problem(wrong, 401, "unauthorized")
        await _scrape(client, Authorization="Bearer scrape-secret")


async def test_a_scrape_answers_when_the_database_does_not(
    client: AsyncTestClient, pg_server_dsn: str, database: tuple[str, str]
) -> None:
    name = database[0]
    admin = await asyncpg.connect(pg_server_dsn)
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = $1",
            name,
        )
        samples = await _scrape(client)
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()
    assert _value(samples, "parking_metrics_database_up") == 0


async def test_a_failed_run_does_not_blank_the_figures_of_the_last_run_that_decided(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    now = utc_now()
    await conn.execute(
        """INSERT INTO allocation_runs
             (night, status, requests, spaces, served, not_allocated, served_weight, walk_m,
              bound_served_weight, build_ms, solve_ms, write_ms, time_limit_s, workers, seed,
              started_at, finished_at)
           VALUES ($1, 'optimal', 30, 20, 20, 10, 40, 5400, 40, 120, 2500, 80, 60, 2, 0,
                   $2, $2)""",
        tomorrow(),
        now - dt.timedelta(minutes=10),
    )
    # The next night's run failed before building anything: no figures of its own.
    await conn.execute(
        """INSERT INTO allocation_runs (night, status, time_limit_s, workers, seed, error,
                                        started_at, finished_at)
           VALUES ($1, 'failed', 60, 2, 0, 'OSError: down', $2, $2)""",
        tomorrow() + dt.timedelta(days=1),
        now,
    )
    samples = await _scrape(client)
    assert _value(samples, "parking_allocation_runs", status="failed") == 1
    assert _value(samples, "parking_allocation_last_run_objective", term="served") == 20
    assert _value(samples, "parking_allocation_last_run_objective", term="requests") == 30
    assert _value(samples, "parking_allocation_last_run_phase_seconds", phase="solve") == 2.5
    finished = _value(samples, "parking_allocation_last_run_finished_timestamp_seconds")
    assert finished == (now - dt.timedelta(minutes=10)).timestamp()
