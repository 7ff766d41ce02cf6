"""Every error is RFC 9457 problem details with a stable type."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest
from litestar import Litestar, get
from litestar.testing import AsyncTestClient

from parking.app import create_app
from parking.errors import Problem, exception_handlers, problem_details_plugin
from parking.migrate import apply_migrations
from tests.conftest import create_database, drop_database, make_settings
from tests.factories import booking_body, booking_headers, make_building, make_resident
from tests.helpers import PASSWORD, assert_problem


async def test_unknown_route_is_a_problem(client: AsyncTestClient) -> None:
    body = assert_problem(await client.get("/no/such/route"), 404, "not-found")
    assert body["instance"] == "/no/such/route"


async def test_wrong_method_is_a_problem(client: AsyncTestClient) -> None:
    assert_problem(await client.delete("/health"), 405, "method-not-allowed")


async def test_validation_errors_name_each_field(client: AsyncTestClient) -> None:
    response = await client.post(
        "/auth/register", json={"email": "no-at-sign", "password": "short"}
    )
    body = assert_problem(response, 422, "validation-error")
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"email", "password"}


async def test_malformed_json_is_a_problem(client: AsyncTestClient) -> None:
    response = await client.post(
        "/auth/register", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] in ("bad-request", "validation-error")


async def test_constraint_violation_is_a_409_problem(client: AsyncTestClient) -> None:
    body = {"email": "dup@example.com", "password": PASSWORD}
    await client.post("/auth/register", json=body)
    problem = assert_problem(await client.post("/auth/register", json=body), 409, "email-taken")
    assert problem["constraint"] == "users_email_key"


@get("/boom")
async def _boom() -> None:
    raise RuntimeError("secret internals")


@get("/fk")
async def _fk() -> None:
    raise asyncpg.ForeignKeyViolationError("insert or update violates foreign key")


@get("/teapot")
async def _teapot() -> None:
    raise Problem(409, "no-capacity", "No space is free for that stay.", extra={"building_id": 7})


def _bare_app() -> Litestar:
    """An app with only the error mapping, to reach paths the real routes never take."""
    return Litestar(
        route_handlers=[_boom, _fk, _teapot],
        plugins=[problem_details_plugin()],
        exception_handlers=exception_handlers(),
    )


async def test_crash_is_a_500_problem_without_internals() -> None:
    async with AsyncTestClient(app=_bare_app()) as client:
        body = assert_problem(await client.get("/boom"), 500, "internal-error")
        assert "secret internals" not in str(body)


async def test_any_integrity_error_maps_to_409() -> None:
    async with AsyncTestClient(app=_bare_app()) as client:
        assert_problem(await client.get("/fk"), 409, "conflict")


async def test_raised_problem_keeps_type_and_extra() -> None:
    async with AsyncTestClient(app=_bare_app()) as client:
        body = assert_problem(await client.get("/teapot"), 409, "no-capacity")
        assert body["building_id"] == 7


async def test_ready_reports_an_unreachable_database(pg_server_dsn: str) -> None:
    name, dsn = await create_database(pg_server_dsn, None)
    try:
        conn = await asyncpg.connect(dsn)
        await apply_migrations(conn)
        await conn.close()
        async with AsyncTestClient(app=create_app(make_settings(dsn))) as client:
            ready = await client.get("/ready")
            assert ready.status_code == 200
            assert ready.json()["database"] == "ok"
            await drop_database(pg_server_dsn, name)  # the database goes away under the running app
            body = assert_problem(await client.get("/ready"), 503, "database-unreachable")
            assert "unreachable" in body["type"]
            assert (await client.get("/health")).status_code == 200
            # Endpoints that need the database answer 503, not a crash.
            login = await client.post(
                "/auth/token", json={"email": "a@example.com", "password": "x"}
            )
            assert_problem(login, 503, "database-unavailable")
    finally:
        await drop_database(pg_server_dsn, name)


async def test_ready_reports_pending_migrations(empty_db_dsn: str) -> None:
    async with AsyncTestClient(app=create_app(make_settings(empty_db_dsn))) as client:
        body = assert_problem(await client.get("/ready"), 503, "migrations-not-current")
        assert "pending" in body["detail"]


@pytest.mark.parametrize("path", ["/", "/health", "/schema/openapi.json", "/schema"])
async def test_public_paths_need_no_token(client: AsyncTestClient, path: str) -> None:
    assert (await client.get(path)).status_code == 200


async def test_openapi_is_3_1_and_ui_assets_are_local(client: AsyncTestClient) -> None:
    spec = (await client.get("/schema/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
    assert "/auth/token" in spec["paths"]
    page = (await client.get("/schema")).text
    assert "/static/swagger-ui/swagger-ui-bundle.js" in page
    assert "cdn." not in page
    asset = await client.get("/static/swagger-ui/swagger-ui-bundle.js")
    assert asset.status_code == 200
    assert len(asset.content) > 100_000


async def test_a_night_at_the_end_of_the_calendar_is_a_422_not_a_crash(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    # Its morning is past the last date Python knows: date arithmetic overflows.
    building = await make_building(conn, spaces=1)
    resident = await make_resident(conn)
    last = dt.date(9999, 12, 31)
    answers = [
        await client.get(f"/places?night={last}", headers=resident.headers),
        await client.post(
            "/reservations",
            json=booking_body(building, resident, last),
            headers=booking_headers(resident),
        ),
        await client.post(
            "/allocation-requests",
            json={"night": last.isoformat(), "vehicle_id": resident.vehicle_id},
            headers=booking_headers(resident),
        ),
    ]
    for answer in answers:
        assert_problem(answer, 422, "validation-error")
    assert await conn.fetchval("SELECT count(*) FROM reservations") == 0
    assert await conn.fetchval("SELECT count(*) FROM allocation_requests") == 0
