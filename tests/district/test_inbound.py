"""What the platform sends the operator: bookings, cancellations, events, each signed and
answered once per webhook-id."""

from __future__ import annotations

import time
import uuid

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from parking.settings import Settings
from tests.district.conftest import booking, post_signed, signed
from tests.factories import at, insert_reservation, make_building, random_plate, tomorrow
from tests.helpers import assert_problem

BOOK = "/integrations/district/reservations"
EVENTS = "/integrations/district/events"


async def _place(conn: asyncpg.Connection, building_id: int) -> str:
    return await conn.fetchval("SELECT district_place_id FROM buildings WHERE id = $1", building_id)


async def _count(conn: asyncpg.Connection, table: str) -> int:
    return await conn.fetchval(f"SELECT count(*) FROM {table}")


async def test_a_platform_booking_is_made_once_and_answered_the_same_again(
    conn: asyncpg.Connection, district_client: AsyncTestClient
) -> None:
    building = await make_building(conn, spaces=2)
    place_id = await _place(conn, building.id)
    night = tomorrow()
    body = booking(place_id, "粤b 12345", at(night, 20), at(night, 6, 30), "dp-5531")
    first = await post_signed(district_client, BOOK, body)
    assert first.status_code == 201, first.text
    made = first.json()
    assert made["platform_reservation_id"] == "dp-5531"
    assert made["place_id"] == place_id and made["plate"] == "粤B12345"
    assert made["status"] == "confirmed" and made["fee_fen"] == 1000
    assert made["start"] == at(night, 20).isoformat() and made["version"] == 1
    row = await conn.fetchrow("SELECT source, user_id, night FROM reservations")
    assert dict(row) == {"source": "platform", "user_id": None, "night": night}
    # The same booking again (a new webhook-id): 200 and the same reservation.
    again = await post_signed(district_client, BOOK, body)
    assert again.status_code == 200 and again.json() == made
    assert await _count(conn, "reservations") == 1
    kinds = [r["entity_kind"] for r in await conn.fetch("SELECT entity_kind FROM outbox")]
    assert sorted(kinds) == ["availability", "reservation"]


async def test_the_same_platform_id_with_other_details_is_refused(
    conn: asyncpg.Connection, district_client: AsyncTestClient
) -> None:
    building = await make_building(conn)
    place_id = await _place(conn, building.id)
    night = tomorrow()
    body = booking(place_id, random_plate(), at(night, 20), at(night, 23), "dp-1")
    assert (await post_signed(district_client, BOOK, body)).status_code == 201
    other = {**body, "end": at(night, 23, 30).isoformat()}
    assert_problem(await post_signed(district_client, BOOK, other), 422, "idempotency-mismatch")
    assert await _count(conn, "reservations") == 1


async def test_a_full_place_answers_no_capacity_and_creates_nothing(
    conn: asyncpg.Connection, district_client: AsyncTestClient
) -> None:
    building = await make_building(conn, spaces=1)
    night = tomorrow()
    await insert_reservation(
        conn, space_id=building.space_ids[0], start=at(night, 19), end=at(night, 7)
    )
    outbox_before = await _count(conn, "outbox")
    body = booking(await _place(conn, building.id), random_plate(), at(night, 20), at(night, 23))
    assert_problem(await post_signed(district_client, BOOK, body), 409, "no-capacity")
    assert await _count(conn, "reservations") == 1
    assert await _count(conn, "outbox") == outbox_before


@pytest.mark.parametrize(
    ("case", "status", "type_"),
    [
        ("unknown place", 422, "unknown-place"),
        ("bad plate", 422, "invalid-plate"),
        ("end before start", 422, "outside-window"),
        ("outside the window", 422, "outside-window"),
        ("missing field", 422, "validation-error"),
        ("suspended", 409, "place-suspended"),
        ("monthly", 409, "not-bookable"),
    ],
)
async def test_bookings_the_place_cannot_take_are_refused(
    conn: asyncpg.Connection, district_client: AsyncTestClient, case: str, status: int, type_: str
) -> None:
    building = await make_building(
        conn,
        status="suspended" if case == "suspended" else "active",
        monthly_pass_fen=30_000 if case == "monthly" else None,
    )
    night = tomorrow()
    body = booking(await _place(conn, building.id), random_plate(), at(night, 20), at(night, 23))
    if case == "unknown place":
        body["place_id"] = "b-nowhere"
    elif case == "bad plate":
        body["plate"] = "NOT-A-PLATE"
    elif case == "end before start":
        body["end"] = at(night, 19, 30).isoformat()
    elif case == "outside the window":
        body["start"], body["end"] = at(night, 14).isoformat(), at(night, 18).isoformat()
    elif case == "missing field":
        del body["plate"]
    assert_problem(await post_signed(district_client, BOOK, body), status, type_)
    assert await _count(conn, "reservations") == 0


async def test_requests_not_signed_for_us_are_401_and_change_nothing(
    conn: asyncpg.Connection, district_client: AsyncTestClient
) -> None:
    building = await make_building(conn)
    night = tomorrow()
    body = booking(await _place(conn, building.id), random_plate(), at(night, 20), at(night, 23))
    import base64

    wrong_secret = "whsec_" + base64.b64encode(b"somebody else's secret").decode()
    cases = {
        "bad signature": {"secret": wrong_secret},
        "old timestamp": {"timestamp": int(time.time()) - 301},
        "future timestamp": {"timestamp": int(time.time()) + 301},
        "other operator": {"operator": "op-other"},
    }
    for why, kwargs in cases.items():
        answer = await post_signed(district_client, BOOK, body, **kwargs)
        assert answer.status_code == 401, why
        assert_problem(answer, 401, "unauthorized")
    raw, headers = signed(body)
    del headers["webhook-signature"]
    assert (await district_client.post(BOOK, content=raw, headers=headers)).status_code == 401
    # Tampered after signing.
    raw, headers = signed(body)
    tampered = raw.replace(b"20:00", b"21:00")
    assert (await district_client.post(BOOK, content=tampered, headers=headers)).status_code == 401
    assert await _count(conn, "reservations") == 0
    assert await _count(conn, "district_inbound") == 0


async def test_a_replayed_webhook_id_gets_the_first_answer_and_no_second_effect(
    conn: asyncpg.Connection, district_client: AsyncTestClient
) -> None:
    building = await make_building(conn, spaces=1)
    place_id = await _place(conn, building.id)
    night = tomorrow()
    first_body = booking(place_id, random_plate(), at(night, 20), at(night, 23))
    webhook_id = f"msg_{uuid.uuid4().hex}"
    first = await post_signed(district_client, BOOK, first_body, webhook_id=webhook_id)
    assert first.status_code == 201
    # A retry of the same message, signed anew (a later timestamp): the first answer.
    replay = await post_signed(district_client, BOOK, first_body, webhook_id=webhook_id)
    assert replay.status_code == 201 and replay.json() == first.json()
    # The same id with another body is still the same message: nothing new happens.
    other = booking(place_id, random_plate(), at(night, 20), at(night, 23))
    replay = await post_signed(district_client, BOOK, other, webhook_id=webhook_id)
    assert replay.status_code == 201 and replay.json() == first.json()
    assert await _count(conn, "reservations") == 1
    # A refusal is final too: replayed as it was, even once the space is free again.
    refused_id = f"msg_{uuid.uuid4().hex}"
    refused = await post_signed(district_client, BOOK, other, webhook_id=refused_id)
    assert_problem(refused, 409, "no-capacity")
    await conn.execute("UPDATE reservations SET status = 'cancelled'")
    again = await post_signed(district_client, BOOK, other, webhook_id=refused_id)
    assert again.status_code == 409 and again.json() == refused.json()
    assert await _count(conn, "reservations") == 1


async def test_cancel_follows_the_protocol(
    conn: asyncpg.Connection, district_client: AsyncTestClient
) -> None:
    building = await make_building(conn, spaces=2)
    place_id = await _place(conn, building.id)
    night = tomorrow()
    made = await post_signed(
        district_client,
        BOOK,
        booking(place_id, random_plate(), at(night, 20), at(night, 23), "dp-c"),
    )
    assert made.status_code == 201
    cancel = "/integrations/district/reservations/dp-c/cancel"
    answer = await post_signed(district_client, cancel, {"reason": "plans changed"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "cancelled" and answer.json()["fee_fen"] == 0
    again = await post_signed(district_client, cancel, {"reason": "again"})
    assert again.status_code == 200 and again.json()["status"] == "cancelled"
    unknown = "/integrations/district/reservations/dp-nobody/cancel"
    assert_problem(await post_signed(district_client, unknown, {}), 404, "not-found")
    # A local booking cannot be cancelled from the platform.
    await insert_reservation(
        conn, space_id=building.space_ids[1], start=at(night, 20), end=at(night, 23)
    )
    # Checked in: too late.
    second = booking(place_id, random_plate(), at(night, 20), at(night, 23), "dp-in")
    assert (await post_signed(district_client, BOOK, second)).status_code == 201
    await conn.execute(
        "UPDATE reservations SET status = 'checked_in' WHERE platform_reservation_id = 'dp-in'"
    )
    late = "/integrations/district/reservations/dp-in/cancel"
    assert_problem(await post_signed(district_client, late, {}), 409, "not-cancellable")
    messages = await conn.fetch(
        "SELECT payload FROM outbox WHERE entity_kind = 'reservation' ORDER BY id"
    )
    assert [m["payload"]["status"] for m in messages] == ["confirmed", "cancelled", "confirmed"]


async def test_gate_events_check_in_and_complete_the_reservation(
    conn: asyncpg.Connection, district_client: AsyncTestClient
) -> None:
    building = await make_building(conn)
    place_id = await _place(conn, building.id)
    night = tomorrow()
    plate = random_plate()
    rid = await insert_reservation(
        conn, space_id=building.space_ids[0], start=at(night, 20), end=at(night, 23), plate=plate
    )
    # Times in the past are what the gate saw; move the stay to now so the gate's clock
    # check passes.
    await conn.execute(
        "UPDATE reservations SET stay = tstzrange(now() - interval '10 minutes',"
        " now() + interval '2 hours') WHERE id = $1",
        rid,
    )
    entered = {"type": "gate.entered", "data": {"place_id": place_id, "plate": plate}}
    assert (await post_signed(district_client, EVENTS, entered)).status_code == 204
    row = await conn.fetchrow("SELECT status FROM reservations WHERE id = $1", rid)
    assert row["status"] == "checked_in"
    session = await conn.fetchrow("SELECT source, reservation_id, exited_at FROM gate_sessions")
    assert dict(session) == {"source": "platform", "reservation_id": rid, "exited_at": None}
    exited = {"type": "gate.exited", "data": {"place_id": place_id, "plate": plate}}
    assert (await post_signed(district_client, EVENTS, exited)).status_code == 204
    assert await conn.fetchval("SELECT status FROM reservations WHERE id = $1", rid) == "completed"
    # An exit with no car inside: nothing to do, still 204.
    assert (await post_signed(district_client, EVENTS, exited)).status_code == 204
    assert await _count(conn, "gate_sessions") == 1


async def test_unknown_event_types_are_204_and_ignored(
    conn: asyncpg.Connection, district_client: AsyncTestClient
) -> None:
    answer = await post_signed(district_client, EVENTS, {"type": "place.renamed", "data": {}})
    assert answer.status_code == 204
    bad = {"type": "gate.entered", "data": {"place_id": "b-x"}}
    assert_problem(await post_signed(district_client, EVENTS, bad), 422, "validation-error")


async def test_reconcile_requested_resends_the_places_state_at_higher_versions(
    conn: asyncpg.Connection, district_client: AsyncTestClient, district_settings: Settings
) -> None:
    building = await make_building(conn)
    place_id = await _place(conn, building.id)
    night = tomorrow()
    made = await post_signed(
        district_client, BOOK, booking(place_id, random_plate(), at(night, 20), at(night, 23))
    )
    before = {
        (r["entity_kind"], r["entity_key"]): r["version"]
        for r in await conn.fetch("SELECT entity_kind, entity_key, version FROM entity_versions")
    }
    event = {"type": "reconcile.requested", "data": {"place_id": place_id}}
    assert (await post_signed(district_client, EVENTS, event)).status_code == 204
    after = await conn.fetch(
        "SELECT entity_kind, entity_key, max(version) AS v FROM outbox GROUP BY 1, 2"
    )
    got = {(r["entity_kind"], r["entity_key"]): r["v"] for r in after}
    assert ("place", place_id) in got
    assert got["reservation", made.json()["reservation_id"]] == 2
    nights = district_settings.availability_horizon_nights + 1
    assert sum(1 for kind, _ in got if kind == "availability") == nights
    assert all(got[k] > v for k, v in before.items())


async def test_duplicate_deliveries_from_the_platform_have_one_effect(
    conn: asyncpg.Connection, sim, served: str
) -> None:
    building = await make_building(conn, spaces=2)
    place_id = await _place(conn, building.id)
    night = tomorrow()
    sim.set_switches({"duplicate_fraction": 1.0})
    made = sim.book(booking(place_id, random_plate(), at(night, 20), at(night, 23), "dp-dup"))
    assert made["deliveries"] == 2 and made["statuses"] == [201, 201]
    cancelled = sim.cancel("dp-dup", "duplicate test")
    assert cancelled["statuses"] == [200, 200]
    assert cancelled["body"]["status"] == "cancelled"
    assert await _count(conn, "reservations") == 1
    rows = await conn.fetch("SELECT payload FROM outbox WHERE entity_kind = 'reservation'")
    assert [r["payload"]["status"] for r in rows] == ["confirmed", "cancelled"]


async def test_dead_letters_are_shown_to_admins_and_replayed(
    conn: asyncpg.Connection, district_client: AsyncTestClient, district_settings: Settings
) -> None:
    from parking import sync
    from tests.factories import make_user, token_headers

    await sync.emit_payload(conn, "place", "b-broken", {"place_id": "b-broken"})
    dead_id = await conn.fetchval(
        "UPDATE outbox SET status = 'dead', last_error = '422 name missing' RETURNING id"
    )
    admin = await make_user(conn, "admin")
    headers = token_headers(district_settings, admin.id, "admin")
    listed = await district_client.get("/admin/district/outbox", headers=headers)
    assert listed.status_code == 200
    [entry] = listed.json()
    assert entry["id"] == dead_id and entry["last_error"] == "422 name missing"
    assert entry["status"] == "dead" and entry["entity_key"] == "b-broken"
    replayed = await district_client.post(
        f"/admin/district/outbox/{dead_id}/replay", headers=headers
    )
    assert replayed.status_code == 200
    assert replayed.json() == {
        "id": dead_id, "result": "replayed", "entity_kind": "place", "entity_key": "b-broken",
        "version": 2,
    }  # fmt: skip
    assert (await district_client.get("/admin/district/outbox", headers=headers)).json() == []
    again = await district_client.post(f"/admin/district/outbox/{dead_id}/replay", headers=headers)
    assert_problem(again, 409, "not-dead")


async def test_a_dead_letter_a_newer_message_replaces_is_retired_not_resent(
    conn: asyncpg.Connection,
) -> None:
    from integrations.district.outbox import replay
    from parking import sync

    await sync.emit_payload(conn, "place", "b-1", {"place_id": "b-1", "name": "old"})
    dead_id = await conn.fetchval("UPDATE outbox SET status = 'dead' RETURNING id")
    await sync.emit_payload(conn, "place", "b-1", {"place_id": "b-1", "name": "new"})
    result = await replay(conn, dead_id)
    assert (result.result, result.version) == ("retired", 2)
    rows = await conn.fetch("SELECT version, status FROM outbox ORDER BY id")
    assert [tuple(r) for r in rows] == [(1, "superseded"), (2, "pending")]


async def test_a_5xx_or_429_answer_is_not_kept_so_a_retry_runs_afresh(
    conn: asyncpg.Connection, district_settings: Settings
) -> None:
    from types import SimpleNamespace

    from integrations.district.webhooks import once_per_webhook
    from parking.errors import Problem

    raw, headers = signed({"type": "anything"}, webhook_id="msg-retry")

    class SignedRequest:  # what once_per_webhook reads of a request
        def __init__(self) -> None:
            self.headers = headers
            self.url = SimpleNamespace(path="/integrations/district/events")
            self.app = SimpleNamespace(state=SimpleNamespace(settings=district_settings))

        async def body(self) -> bytes:
            return raw

    for status in (503, 429):

        async def overloaded(body: bytes, status: int = status):
            raise Problem(status, "service-unavailable", "Try again.")

        async with conn.transaction():
            with pytest.raises(Problem):
                await once_per_webhook(conn, SignedRequest(), overloaded)
        assert await _count(conn, "district_inbound") == 0

    async def fine(body: bytes):
        return 204, None

    async with conn.transaction():
        answer = await once_per_webhook(conn, SignedRequest(), fine)
    assert answer.status_code == 204
    stored = await conn.fetchrow("SELECT webhook_id, response_status FROM district_inbound")
    assert dict(stored) == {"webhook_id": "msg-retry", "response_status": 204}


async def test_a_platform_cancel_is_charged_under_the_version_that_priced_the_booking(
    conn: asyncpg.Connection, district_client: AsyncTestClient
) -> None:
    from tests.factories import add_plan, night_in

    building = await make_building(conn)
    place_id = await _place(conn, building.id)
    night = night_in(3)
    body = booking(place_id, random_plate(), at(night, 20), at(night, 23), "dp-v1")
    made = await post_signed(district_client, BOOK, body)
    assert made.status_code == 201, made.text
    version_1 = await conn.fetchval(
        "SELECT id FROM price_plans WHERE building_id = $1 AND version = 1", building.id
    )
    assert await conn.fetchval("SELECT plan_id FROM reservations") == version_1
    # A version scheduled afterwards for that night, with a cancellation fee, changes
    # nothing for the booking already sold (free to cancel under version 1).
    await add_plan(
        conn, building.id, effective_from=night, free_cancel_minutes=7 * 24 * 60,
        late_cancel_fee_fen=500,
    )  # fmt: skip
    cancel = "/integrations/district/reservations/dp-v1/cancel"
    answer = await post_signed(district_client, cancel, {"reason": "plans changed"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "cancelled" and answer.json()["fee_fen"] == 0
    assert await conn.fetchval("SELECT count(*) FROM charges") == 0


async def test_a_booking_for_a_night_no_plan_prices_is_not_bookable(
    conn: asyncpg.Connection, district_client: AsyncTestClient
) -> None:
    from tests.factories import add_plan, night_in

    building = await make_building(conn)
    # Version 1 withdrawn; version 2 only from three nights on: tomorrow has no price.
    await conn.execute(
        "UPDATE price_plans SET withdrawn_at = now() WHERE building_id = $1", building.id
    )
    await add_plan(conn, building.id, effective_from=night_in(3))
    night = tomorrow()
    body = booking(await _place(conn, building.id), random_plate(), at(night, 20), at(night, 23))
    assert_problem(await post_signed(district_client, BOOK, body), 409, "not-bookable")
    assert await _count(conn, "reservations") == 0
    assert await _count(conn, "outbox") == 0
