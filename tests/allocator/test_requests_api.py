"""The residents' request pool over HTTP: submit, one per night, withdraw, the cutoff, and
the outcome the night job leaves."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import httpx
import pytest
from litestar.testing import AsyncTestClient

from allocator.job import run_night
from parking.requests.service import cutoff_at
from parking.settings import Settings
from tests.factories import (
    TZ,
    Resident,
    at,
    insert_allocation_request,
    local,
    make_building,
    make_resident,
    night_in,
)
from tests.helpers import assert_problem


async def _submit(
    client: AsyncTestClient,
    resident: Resident,
    night: dt.date,
    *,
    key: str | None = None,
    **extra: object,
) -> httpx.Response:
    body = {
        "night": night.isoformat(),
        "vehicle_id": resident.vehicle_id,
        "max_price_fen": 1500,
        **{k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in extra.items()},
    }
    headers = {**resident.headers, "Idempotency-Key": key or uuid.uuid4().hex}
    return await client.post("/allocation-requests", json=body, headers=headers)


async def _count(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT count(*) FROM allocation_requests")


async def test_a_request_is_pending_with_the_shared_window_by_default(
    client: AsyncTestClient, conn: asyncpg.Connection, settings: Settings
) -> None:
    night = night_in(2)
    await make_building(conn, spaces=1, start=dt.time(19), end=dt.time(7))
    await make_building(conn, spaces=1, start=dt.time(20), end=dt.time(8))
    await make_building(conn, spaces=0, start=dt.time(22), end=dt.time(5))  # shares no space
    resident = await make_resident(conn)

    response = await _submit(client, resident, night, needs=["ev", "ev"], max_walk_m=900)

    assert response.status_code == 201, response.text
    body = response.json()
    # The sharing buildings are within reach: the default stay is what both share.
    assert dt.datetime.fromisoformat(body["arrive"]) == at(night, 20)
    assert dt.datetime.fromisoformat(body["depart"]) == at(night, 7)
    assert body["arrive"].endswith("+08:00")
    assert dt.datetime.fromisoformat(body["cutoff_at"]) == dt.datetime.combine(
        night, dt.time(17), tzinfo=TZ
    )
    assert (body["status"], body["needs"], body["max_walk_m"], body["max_price_fen"]) == (
        "pending",
        ["ev"],
        900,
        1500,
    )
    assert (body["plate"], body["weight"], body["reservation"]) == (resident.plate, None, None)
    listed = await client.get(
        "/allocation-requests", params={"night": night.isoformat()}, headers=resident.headers
    )
    assert [r["id"] for r in listed.json()] == [body["id"]]
    one = await client.get(f"/allocation-requests/{body['id']}", headers=resident.headers)
    assert one.json() == body


async def test_given_times_are_kept(client: AsyncTestClient, conn: asyncpg.Connection) -> None:
    night = night_in(2)
    resident = await make_resident(conn)  # no building in reach: times must be given
    response = await _submit(client, resident, night, arrive=at(night, 22), depart=at(night, 6))
    assert response.status_code == 201, response.text
    assert dt.datetime.fromisoformat(response.json()["arrive"]) == at(night, 22)
    assert dt.datetime.fromisoformat(response.json()["depart"]) == at(night, 6)


async def test_one_request_per_night_until_it_is_withdrawn(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    night = night_in(2)
    await make_building(conn, spaces=1)
    resident = await make_resident(conn, vehicles=2)
    first = (await _submit(client, resident, night)).json()

    second = await _submit(client, resident, night, max_walk_m=700)
    other_night = await _submit(client, resident, night + dt.timedelta(days=1))

    assert assert_problem(second, 409, "request-exists")["request_id"] == first["id"]
    assert other_night.status_code == 201
    withdrawn = await client.post(
        f"/allocation-requests/{first['id']}/withdraw", headers=resident.headers
    )
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn"
    again = await client.post(
        f"/allocation-requests/{first['id']}/withdraw", headers=resident.headers
    )
    assert again.json() == withdrawn.json()
    renewed = await _submit(client, resident, night, max_walk_m=700)
    assert renewed.status_code == 201
    assert renewed.json()["max_walk_m"] == 700
    statuses = await conn.fetch(
        "SELECT status FROM allocation_requests WHERE night = $1 ORDER BY id", night
    )
    assert [r["status"] for r in statuses] == ["withdrawn", "pending"]


async def test_the_same_key_answers_the_first_result_again(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    night = night_in(2)
    await make_building(conn, spaces=1)
    resident = await make_resident(conn)
    first = await _submit(client, resident, night, key="k-1")
    replay = await _submit(client, resident, night, key="k-1")
    assert first.status_code == replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert await _count(conn) == 1
    missing = await client.post(
        "/allocation-requests",
        json={"night": night.isoformat(), "vehicle_id": resident.vehicle_id, "max_price_fen": 1},
        headers=resident.headers,
    )
    assert_problem(missing, 400, "idempotency-key-missing")


async def test_after_the_cutoff_nothing_is_taken_or_withdrawn(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    yesterday = night_in(-1)  # its cutoff, 17:00 yesterday, has passed whatever the time
    resident = await make_resident(conn)
    pending = await insert_allocation_request(conn, resident, yesterday)

    late = await _submit(client, resident, yesterday, arrive=at(yesterday, 20))
    withdraw = await client.post(
        f"/allocation-requests/{pending}/withdraw", headers=resident.headers
    )

    body = assert_problem(late, 409, "past-cutoff")
    assert body["cutoff_at"] == dt.datetime.combine(yesterday, dt.time(17), tzinfo=TZ).isoformat()
    assert_problem(withdraw, 409, "past-cutoff")
    assert await conn.fetchval("SELECT status FROM allocation_requests") == "pending"
    assert await _count(conn) == 1


async def test_the_cutoff_is_configurable(conn: asyncpg.Connection, settings: Settings) -> None:
    from parking.app import create_app

    night = night_in(2)
    early = settings.model_copy(update={"allocation_cutoff": dt.time(9, 30)})
    assert cutoff_at(night, early) == dt.datetime.combine(night, dt.time(9, 30), tzinfo=TZ)
    await make_building(conn, spaces=1)
    resident = await make_resident(conn)
    async with AsyncTestClient(app=create_app(early)) as client:
        response = await _submit(client, resident, night)
    assert response.json()["cutoff_at"] == f"{night.isoformat()}T09:30:00+08:00"


async def test_an_unverified_resident_is_refused(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    resident = await make_resident(conn, verified=False)
    response = await _submit(client, resident, night_in(2), arrive=at(night_in(2), 20))
    assert_problem(response, 403, "not-verified")
    assert await _count(conn) == 0


async def test_someone_elses_request_and_vehicle_are_not_found(
    client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    night = night_in(2)
    owner, other = await make_resident(conn), await make_resident(conn)
    request_id = await insert_allocation_request(conn, owner, night)

    seen = await client.get(f"/allocation-requests/{request_id}", headers=other.headers)
    withdrawn = await client.post(
        f"/allocation-requests/{request_id}/withdraw", headers=other.headers
    )
    listed = await client.get("/allocation-requests", headers=other.headers)
    borrowed = await client.post(
        "/allocation-requests",
        json={"night": night.isoformat(), "vehicle_id": owner.vehicle_id, "max_price_fen": 1},
        headers={**other.headers, "Idempotency-Key": "k"},
    )

    assert_problem(seen, 404, "not-found")
    assert_problem(withdrawn, 404, "not-found")
    assert listed.json() == []
    assert_problem(borrowed, 404, "not-found")
    assert await conn.fetchval("SELECT status FROM allocation_requests") == "pending"


@pytest.mark.parametrize(
    ("extra", "status", "type_"),
    [
        ({"max_walk_m": 5001}, 422, "validation-error"),
        ({"max_price_fen": -1}, 422, "validation-error"),
        ({"max_price_fen": 1500.0}, 422, "validation-error"),  # money is integer fen
        ({"max_price_fen": "1500"}, 422, "validation-error"),
        ({"needs": ["sunroof"]}, 422, "validation-error"),
        ({"arrive": "2026-11-28T20:00:00"}, 422, "validation-error"),  # no offset
        ({"unknown": 1}, 422, "validation-error"),
        ({"arrive": "20:00:30"}, 422, "invalid-stay"),
        ({"arrive": "23:00", "depart": "22:00"}, 422, "invalid-stay"),
        ({"arrive": "20:00", "depart": "next+2"}, 422, "invalid-stay"),
        ({"max_walk_m": 10}, 422, "no-window"),
    ],
)
async def test_bad_input_is_refused_and_changes_nothing(
    client: AsyncTestClient,
    conn: asyncpg.Connection,
    extra: dict[str, object],
    status: int,
    type_: str,
) -> None:
    night = night_in(2)
    await make_building(conn, spaces=1)
    resident = await make_resident(conn)

    def local_time(text: object) -> object:
        if text == "next+2":
            return at(night, 12) + dt.timedelta(days=2)
        if isinstance(text, str) and len(text) in (5, 8) and text[2] == ":":
            hour, minute, *second = (int(p) for p in text.split(":"))
            return at(night, hour, minute) + dt.timedelta(seconds=second[0] if second else 0)
        return text

    response = await _submit(
        client, resident, night, **{k: local_time(v) for k, v in extra.items()}
    )

    assert_problem(response, status, type_)
    assert await _count(conn) == 0


async def test_the_resident_sees_the_outcome(
    client: AsyncTestClient, conn: asyncpg.Connection, pool: asyncpg.Pool, settings: Settings
) -> None:
    night = night_in(2)
    building = await make_building(conn, spaces=1)
    winner, loser = await make_resident(conn), await make_resident(conn)
    won = (await _submit(client, winner, night)).json()
    # The loser cannot be served anyway: only the winner's request fits the price.
    lost = (await _submit(client, loser, night, max_price_fen=999)).json()

    result = await run_night(
        pool, night, settings, now=cutoff_at(night, settings) + dt.timedelta(minutes=1)
    )
    assert result.outcome == "completed"

    seen_won = (
        await client.get(f"/allocation-requests/{won['id']}", headers=winner.headers)
    ).json()
    seen_lost = (
        await client.get(f"/allocation-requests/{lost['id']}", headers=loser.headers)
    ).json()
    assert (seen_won["status"], seen_won["weight"]) == ("allocated", 1)
    assert seen_won["not_allocated_reason"] is None
    reservation = seen_won["reservation"]
    assert (reservation["building_id"], reservation["space_id"]) == (
        building.id,
        building.space_ids[0],
    )
    assert (reservation["status"], reservation["fee_fen"], reservation["plate"]) == (
        "confirmed",
        1000,
        winner.plate,
    )
    assert reservation["start"] == won["arrive"] and reservation["end"] == won["depart"]
    assert (seen_lost["status"], seen_lost["reservation"]) == ("not_allocated", None)
    assert seen_lost["not_allocated_reason"] == "refused"
    # The reservation is the resident's like any booking.
    mine = await client.get("/reservations", headers=winner.headers)
    assert [r["id"] for r in mine.json()["items"]] == [reservation["id"]]
    decided = await client.post(
        f"/allocation-requests/{won['id']}/withdraw", headers=winner.headers
    )
    assert_problem(decided, 409, "already-decided")


async def test_a_stay_cannot_start_before_the_cutoff_that_decides_it(
    client: AsyncTestClient, conn: asyncpg.Connection, settings: Settings
) -> None:
    # A building sharing from 08:00: a stay from 09:00 would be decided at 17:00 and be a
    # no-show (charged) the moment the night job wrote it.
    night = night_in(2)
    await make_building(conn, spaces=1, start=dt.time(8), end=dt.time(23))
    early, default = await make_resident(conn), await make_resident(conn)

    refused = await _submit(client, early, night, arrive=local(night, 9), depart=local(night, 20))
    body = (await _submit(client, default, night)).json()

    assert_problem(refused, 422, "invalid-stay")
    assert (
        await conn.fetchval("SELECT count(*) FROM allocation_requests WHERE user_id = $1", early.id)
        == 0
    )
    # Without times, the stay starts at the cutoff rather than the window's start.
    assert dt.datetime.fromisoformat(body["arrive"]) == cutoff_at(night, settings)
    assert dt.datetime.fromisoformat(body["depart"]) == at(night, 23)
