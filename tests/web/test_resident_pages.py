"""The resident pages over HTTP: each form changes the database as the API would, refused
input is shown with its problem and changes nothing, and a resident sees only their own."""

from __future__ import annotations

import datetime as dt
import re
from typing import get_args

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from parking.requests.schemas import AllocationRequestStatus, NotAllocatedReason
from parking.reservations.model import ReservationStatus
from parking.web.i18n import TEXT
from parking.web.resident import _DONE, NEEDS
from pricing.charges import ChargeKind
from tests.conftest import REPO_ROOT
from tests.factories import (
    Resident,
    add_plan,
    add_space,
    add_window,
    at,
    insert_allocation_request,
    insert_reservation,
    local_today,
    make_building,
    make_resident,
    make_user,
    night_in,
    random_plate,
    tomorrow,
)
from tests.helpers import PASSWORD
from tests.web.conftest import WebForm


async def _sign_in(web: WebForm, email: str) -> None:
    answer = await web.post("/app/login", "/app/login", {"email": email, "password": PASSWORD})
    assert answer.status_code == 303, answer.text


def _zh(key: str, **values: object) -> str:
    words = TEXT[key][0]
    return words.format(**values) if values else words


async def _count(conn: asyncpg.Connection, table: str, user_id: int) -> int:
    return await conn.fetchval(f"SELECT count(*) FROM {table} WHERE user_id = $1", user_id)


# ---------------------------------------------------------------- account


async def _whitelisted(conn: asyncpg.Connection) -> tuple[int, str, str]:
    """A compound with one whitelist entry: (compound id, unit, phone)."""
    compound_id = await conn.fetchval(
        "INSERT INTO compounds (name, lat, lon) VALUES ('贝丽花园', 22.5655, 114.1287) RETURNING id"
    )
    await conn.execute(
        "INSERT INTO residence_whitelist (compound_id, unit, phone)"
        " VALUES ($1, '3栋 502', '13800138001')",
        compound_id,
    )
    return compound_id, "3栋 502", "13800138001"


async def test_an_unverified_resident_verifies_with_the_compound_list(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    compound_id, unit, phone = await _whitelisted(conn)
    user = await make_user(conn, "resident")
    await _sign_in(web, user.email)
    page = await client.get("/app/account")
    assert page.status_code == 200
    assert _zh("resident.account.not_verified") in page.text
    assert f'<option value="{compound_id}"' in page.text and "贝丽花园" in page.text

    wrong = await web.post(
        "/app/account",
        "/app/account/residence",
        {"compound_id": str(compound_id), "unit": unit, "phone": "13800138999"},
    )
    assert wrong.status_code == 422
    assert 'data-problem="residence-not-found"' in wrong.text
    assert _zh("error.residence-not-found") in wrong.text
    missing = await web.post(
        "/app/account", "/app/account/residence", {"compound_id": str(compound_id), "unit": unit}
    )
    assert missing.status_code == 422 and 'data-problem="validation-error"' in missing.text
    assert "<code>phone</code>" in missing.text
    assert await _count(conn, "residencies", user.id) == 0

    done = await web.post(
        "/app/account",
        "/app/account/residence",
        {"compound_id": str(compound_id), "unit": unit, "phone": "138-0013-8001"},
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/app/account?done=verified"
    assert await _count(conn, "residencies", user.id) == 1
    # As the API does, the phone given becomes the account's.
    assert await conn.fetchval("SELECT phone FROM users WHERE id = $1", user.id) == phone
    page = await client.get(done.headers["location"])
    assert _zh("resident.done.verified") in page.text and unit in page.text
    assert 'action="/app/account/residence"' not in page.text


async def test_vehicles_are_added_refused_and_removed(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    resident = await make_resident(conn, vehicles=0)
    await _sign_in(web, resident.email)
    added = await web.post("/app/account", "/app/vehicles", {"plate": " 粤b d12345 "})
    assert added.status_code == 303 and added.headers["location"].endswith("done=vehicle-added")
    # Stored normalised, new energy from the plate, as POST /vehicles stores it.
    row = await conn.fetchrow(
        "SELECT id, plate, new_energy FROM vehicles WHERE user_id = $1", resident.id
    )
    assert row["plate"] == "粤BD12345" and row["new_energy"] is True
    page = await client.get("/app/account")
    assert "粤BD12345" in page.text and f'action="/app/vehicles/{row["id"]}/remove"' in page.text

    bad = await web.post("/app/account", "/app/vehicles", {"plate": "not a plate"})
    # Refused by the request model's plate type, as POST /vehicles refuses it.
    assert bad.status_code == 422 and 'data-problem="validation-error"' in bad.text
    assert "<code>plate</code>" in bad.text
    assert 'value="not a plate"' in bad.text  # kept in the form to correct
    empty = await web.post("/app/account", "/app/vehicles", {"plate": ""})
    assert empty.status_code == 422 and 'data-problem="validation-error"' in empty.text
    other = await make_resident(conn)
    taken = await web.post("/app/account", "/app/vehicles", {"plate": other.plate})
    assert taken.status_code == 409 and _zh("error.plate-taken") in taken.text
    assert await _count(conn, "vehicles", resident.id) == 1

    # Another's vehicle is not there to remove; one in use is kept.
    theirs = await web.post("/app/account", f"/app/vehicles/{other.vehicle_id}/remove", {})
    assert theirs.status_code == 404
    building = await make_building(conn)
    await insert_reservation(
        conn,
        space_id=building.space_ids[0],
        start=at(tomorrow(), 20),
        end=at(tomorrow(), 7),
        user_id=resident.id,
        vehicle_id=row["id"],
        plate=row["plate"],
    )
    busy = await web.post("/app/account", f"/app/vehicles/{row['id']}/remove", {})
    assert busy.status_code == 409 and _zh("error.vehicle-in-use") in busy.text
    await conn.execute(
        "UPDATE reservations SET status = 'cancelled' WHERE vehicle_id = $1", row["id"]
    )
    removed = await web.post("/app/account", f"/app/vehicles/{row['id']}/remove", {})
    assert removed.status_code == 303 and removed.headers["location"].endswith("vehicle-removed")
    assert await _count(conn, "vehicles", resident.id) == 0
    assert await conn.fetchval("SELECT count(*) FROM vehicles WHERE id = $1", other.vehicle_id) == 1


async def test_an_unverified_resident_cannot_add_a_vehicle(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    user = await make_user(conn, "resident")
    await _sign_in(web, user.email)
    refused = await web.post("/app/account", "/app/vehicles", {"plate": random_plate()})
    assert refused.status_code == 403 and _zh("error.not-verified") in refused.text
    assert await _count(conn, "vehicles", user.id) == 0


# ---------------------------------------------------------------- search


async def test_search_lists_near_places_with_price_free_spaces_and_window(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    resident = await make_resident(conn)
    near = await make_building(conn, spaces=3, features=[["ev"]], fee_fen=1200)
    passes_only = await make_building(conn, spaces=1, fee_fen=None, monthly_pass_fen=30000)
    await _sign_in(web, resident.email)
    night = tomorrow()
    page = await client.get(f"/app/search?night={night}")
    assert page.status_code == 200
    item = re.search(rf'data-building="{near.id}".*?</li>', page.text, re.S)
    assert item, page.text
    assert "¥12.00" in item.group(0)
    assert _zh("resident.search.free", count=3) in item.group(0)
    assert _zh("resident.search.window", start="19:00", end="07:00") in item.group(0)
    assert re.search(r"步行 \d+ 米", item.group(0))
    assert 'action="/app/reservations"' in item.group(0)
    assert f'name="vehicle_id" value="{resident.vehicle_id}"' in item.group(0)
    assert f'value="{night.isoformat()}T19:00"' in item.group(0)  # the window by default
    pass_item = re.search(rf'data-building="{passes_only.id}".*?</li>', page.text, re.S)
    assert pass_item and _zh("resident.search.pass_only", amount="300.00") in pass_item.group(0)
    assert 'action="/app/reservations"' not in pass_item.group(0)

    # The EV filter keeps the place with a charger, counting only those spaces.
    ev = await client.get(f"/app/search?night={night}&ev=1")
    item = re.search(rf'data-building="{near.id}".*?</li>', ev.text, re.S)
    assert item and _zh("resident.search.free", count=1) in item.group(0)
    assert 'name="needs" value="ev"' in item.group(0)
    assert f'data-building="{passes_only.id}"' not in ev.text
    # A small radius leaves the place (some 600 m away) out.
    assert f'data-building="{near.id}"' not in (await client.get("/app/search?radius_m=300")).text


async def test_unverified_and_car_less_residents_are_pointed_to_their_account(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    await make_building(conn)
    user = await make_user(conn, "resident")
    await _sign_in(web, user.email)
    page = await client.get("/app/search")
    assert page.status_code == 200
    assert 'data-pointer="verify"' in page.text and _zh("resident.pointer.verify") in page.text
    assert 'href="/app/account"' in page.text and 'action="/app/reservations"' not in page.text
    allocation = await client.get("/app/allocation-requests")
    assert 'data-pointer="verify"' in allocation.text

    car_less = await make_resident(conn, vehicles=0)
    await _sign_in(web, car_less.email)
    page = await client.get("/app/search")
    assert 'data-pointer="vehicle"' in page.text and 'data-pointer="verify"' not in page.text
    assert "data-building=" in page.text and 'action="/app/reservations"' not in page.text


# ---------------------------------------------------------------- booking and cancelling


async def test_booking_from_the_search_writes_the_reservation_the_api_would(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    resident = await make_resident(conn, vehicles=2)
    building = await make_building(conn, spaces=2, features=[[], ["ev"]], fee_fen=1000)
    await _sign_in(web, resident.email)
    night = tomorrow()
    booked = await web.post(
        f"/app/search?night={night}",
        "/app/reservations",
        {
            "building_id": str(building.id),
            "night": night.isoformat(),
            "vehicle_id": str(resident.vehicle_ids[1]),
            "arrive": f"{night.isoformat()}T21:00",
            "depart": f"{(night + dt.timedelta(days=1)).isoformat()}T06:30",
            "needs": "ev",
        },
    )
    assert booked.status_code == 303, booked.text
    assert booked.headers["location"] == "/app/reservations?done=booked"
    row = await conn.fetchrow(
        "SELECT * FROM reservations WHERE user_id = $1 AND building_id = $2",
        resident.id,
        building.id,
    )
    assert row["status"] == "confirmed" and row["kind"] == "booking" and row["source"] == "app"
    assert row["vehicle_id"] == resident.vehicle_ids[1] and row["plate"] == resident.plates[1]
    assert row["space_id"] == building.space_ids[1]  # the one with a charger
    assert row["night"] == night and row["fee_fen"] == 1000
    assert row["stay"].lower == at(night, 21) and row["stay"].upper == at(night, 6, 30)
    # The platform learns of it, as from the API.
    assert await conn.fetchval("SELECT count(*) FROM outbox WHERE entity_kind = 'reservation'") == 1
    page = await client.get(booked.headers["location"])
    assert _zh("resident.done.booked") in page.text
    assert building.name in page.text and "B1-002" in page.text


async def test_refused_bookings_are_shown_on_the_search_page_and_change_nothing(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    resident = await make_resident(conn)
    other = await make_resident(conn)
    building = await make_building(conn, spaces=1)
    await _sign_in(web, resident.email)
    base = {"building_id": str(building.id), "vehicle_id": str(resident.vehicle_id)}

    past = await web.post(
        "/app/search", "/app/reservations", {**base, "night": night_in(-3).isoformat()}
    )
    assert past.status_code == 422 and 'data-problem="in-the-past"' in past.text
    assert _zh("error.in-the-past") in past.text
    assert _zh("resident.search.title") in past.text  # the search page, again
    missing = await web.post(
        "/app/search", "/app/reservations", {"building_id": base["building_id"]}
    )
    assert missing.status_code == 422 and 'data-problem="validation-error"' in missing.text
    assert "<code>night</code>" in missing.text and "<code>vehicle_id</code>" in missing.text
    theirs = await web.post(
        "/app/search",
        "/app/reservations",
        {**base, "vehicle_id": str(other.vehicle_id), "night": tomorrow().isoformat()},
    )
    assert theirs.status_code == 404
    outside = await web.post(
        "/app/search",
        "/app/reservations",
        {**base, "night": tomorrow().isoformat(), "arrive": f"{tomorrow()}T12:00"},
    )
    assert outside.status_code == 422 and _zh("error.outside-window") in outside.text
    assert await conn.fetchval("SELECT count(*) FROM reservations") == 0

    # The only space taken by another: no capacity, shown in English when chosen.
    await insert_reservation(
        conn,
        space_id=building.space_ids[0],
        start=at(tomorrow(), 19),
        end=at(tomorrow(), 7),
        resident=other,
    )
    client.cookies.set("lang", "en")
    full = await web.post(
        "/app/search",
        "/app/reservations",
        {**base, "night": tomorrow().isoformat(), "radius_m": "2000"},
    )
    assert full.status_code == 409 and 'data-problem="no-capacity"' in full.text
    # The search it came from, as it was.
    assert '<option value="2000" selected>' in full.text
    assert f'<option value="{tomorrow().isoformat()}" selected>' in full.text
    assert TEXT["error.no-capacity"][1] in full.text
    assert await _count(conn, "reservations", resident.id) == 0


async def test_reservations_are_listed_and_cancelled_with_the_late_fee_rule(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    resident = await make_resident(conn)
    building = await make_building(conn, spaces=2)
    await add_plan(
        conn,
        building.id,
        effective_from=dt.date(2000, 1, 2),
        free_cancel_minutes=120,
        late_cancel_fee_fen=500,
    )
    await _sign_in(web, resident.email)
    night = night_in(2)
    booked = await web.post(
        "/app/search",
        "/app/reservations",
        {
            "building_id": str(building.id),
            "night": night.isoformat(),
            "vehicle_id": str(resident.vehicle_id),
        },
    )
    assert booked.status_code == 303, booked.text
    reservation_id = await conn.fetchval(
        "SELECT id FROM reservations WHERE user_id = $1", resident.id
    )
    old = await insert_reservation(
        conn,
        space_id=building.space_ids[1],
        start=at(night_in(-5), 20),
        end=at(night_in(-5), 7),
        resident=resident,
        status="completed",
    )
    page = await client.get("/app/reservations")
    upcoming = re.search(
        rf'<li class="reservation" data-reservation="{reservation_id}".*?</li>', page.text, re.S
    )
    assert upcoming, page.text
    assert _zh("resident.status.confirmed") in upcoming.group(0)
    # Free until two hours before arrival (19:00), then the late fee, as cancel_own charges.
    assert _zh("resident.cancel.free_until", time=f"{night:%m-%d} 17:00", amount="5.00") in (
        upcoming.group(0)
    )
    assert f'action="/app/reservations/{reservation_id}/cancel"' in upcoming.group(0)
    assert "data-confirm=" in upcoming.group(0)
    assert re.search(rf'<tr data-reservation="{old}" data-status="completed">', page.text)

    cancelled = await web.post(
        "/app/reservations", f"/app/reservations/{reservation_id}/cancel", {}
    )
    assert cancelled.status_code == 303
    assert cancelled.headers["location"] == "/app/reservations?done=cancelled"
    row = await conn.fetchrow(
        "SELECT status, fee_fen FROM reservations WHERE id = $1", reservation_id
    )
    assert row["status"] == "cancelled" and row["fee_fen"] == 0  # early: free
    page = await client.get(cancelled.headers["location"])
    assert re.search(
        rf'<tr data-reservation="{reservation_id}" data-status="cancelled">', page.text
    )
    # Cancelling a completed stay is refused and shown.
    over = await web.post("/app/reservations", f"/app/reservations/{old}/cancel", {})
    assert over.status_code == 409 and _zh("error.not-cancellable") in over.text


async def test_a_late_cancellation_says_its_fee_and_charges_it(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    resident = await make_resident(conn)
    building = await make_building(conn, spaces=1)
    await add_plan(
        conn,
        building.id,
        effective_from=dt.date(2000, 1, 2),
        free_cancel_minutes=60 * 72,
        late_cancel_fee_fen=500,
    )
    await _sign_in(web, resident.email)
    booked = await web.post(
        "/app/search",
        "/app/reservations",
        {
            "building_id": str(building.id),
            "night": tomorrow().isoformat(),
            "vehicle_id": str(resident.vehicle_id),
        },
    )
    assert booked.status_code == 303, booked.text
    reservation_id = await conn.fetchval(
        "SELECT id FROM reservations WHERE user_id = $1", resident.id
    )
    page = await client.get("/app/reservations")
    assert _zh("resident.cancel.fee_now", amount="5.00") in page.text
    assert _zh("resident.cancel.confirm_fee", amount="5.00") in page.text
    await web.post("/app/reservations", f"/app/reservations/{reservation_id}/cancel", {})
    row = await conn.fetchrow(
        "SELECT status, fee_fen FROM reservations WHERE id = $1", reservation_id
    )
    assert row["status"] == "cancelled" and row["fee_fen"] == 500
    assert (
        await conn.fetchval(
            "SELECT amount_fen FROM charges WHERE reservation_id = $1 AND kind = 'late_cancel'",
            reservation_id,
        )
        == 500
    )


async def test_a_resident_neither_sees_nor_cancels_anothers_reservation(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    resident = await make_resident(conn)
    other = await make_resident(conn)
    building = await make_building(conn)
    theirs = await insert_reservation(
        conn,
        space_id=building.space_ids[0],
        start=at(tomorrow(), 19),
        end=at(tomorrow(), 7),
        resident=other,
    )
    await _sign_in(web, resident.email)
    page = await client.get("/app/reservations")
    assert f'data-reservation="{theirs}"' not in page.text and other.plate not in page.text
    refused = await web.post("/app/reservations", f"/app/reservations/{theirs}/cancel", {})
    assert refused.status_code == 404
    assert (
        await conn.fetchval("SELECT status FROM reservations WHERE id = $1", theirs) == "confirmed"
    )
    unknown = await web.post("/app/reservations", "/app/reservations/987654/cancel", {})
    assert unknown.status_code == 404


# ---------------------------------------------------------------- allocation requests


async def _ask(web: WebForm, resident: Resident, night: dt.date, **extra: str):
    return await web.post(
        "/app/allocation-requests",
        "/app/allocation-requests",
        {
            "night": night.isoformat(),
            "vehicle_id": str(resident.vehicle_id),
            "max_walk_m": "800",
            "max_price_yuan": "15",
            **extra,
        },
    )


async def test_an_allocation_request_is_put_refused_twice_and_withdrawn(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    resident = await make_resident(conn)
    await make_building(conn)
    await _sign_in(web, resident.email)
    page = await client.get("/app/allocation-requests")
    assert f'<option value="{tomorrow().isoformat()}"' in page.text
    night = tomorrow()
    asked = await _ask(web, resident, night, needs="ev")
    assert asked.status_code == 303, asked.text
    assert asked.headers["location"] == "/app/allocation-requests?done=requested"
    row = await conn.fetchrow("SELECT * FROM allocation_requests WHERE user_id = $1", resident.id)
    assert row["status"] == "pending" and row["night"] == night
    assert row["max_price_fen"] == 1500 and row["max_walk_m"] == 800 and row["needs"] == ["ev"]
    # The default stay: the time the place in reach shares, from the cutoff on.
    assert row["stay"].lower == at(night, 19) and row["stay"].upper == at(night, 7)

    again = await _ask(web, resident, night)
    assert again.status_code == 409 and _zh("error.request-exists") in again.text
    page = await client.get("/app/allocation-requests")
    item = re.search(rf'data-request="{row["id"]}" data-status="pending".*?</li>', page.text, re.S)
    assert item and f'action="/app/allocation-requests/{row["id"]}/withdraw"' in item.group(0)

    withdrawn = await web.post(
        "/app/allocation-requests", f"/app/allocation-requests/{row['id']}/withdraw", {}
    )
    assert withdrawn.status_code == 303 and withdrawn.headers["location"].endswith("withdrawn")
    assert (
        await conn.fetchval("SELECT status FROM allocation_requests WHERE id = $1", row["id"])
        == "withdrawn"
    )
    page = await client.get("/app/allocation-requests")
    assert f'data-request="{row["id"]}" data-status="withdrawn"' in page.text


async def test_refused_allocation_requests_change_nothing(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    resident = await make_resident(conn)
    other = await make_resident(conn)
    await make_building(conn)
    await _sign_in(web, resident.email)
    past = await _ask(web, resident, night_in(-1))
    assert past.status_code == 409 and _zh("error.past-cutoff") in past.text
    price = await _ask(web, resident, tomorrow(), max_price_yuan="cheap")
    assert price.status_code == 422 and "<code>max_price_fen</code>" in price.text
    assert 'value="cheap"' in price.text
    early = await _ask(web, resident, tomorrow(), arrive=f"{tomorrow()}T08:00")
    assert early.status_code == 422 and _zh("error.invalid-stay") in early.text
    theirs = await insert_allocation_request(conn, other, tomorrow())
    withdraw = await web.post(
        "/app/allocation-requests", f"/app/allocation-requests/{theirs}/withdraw", {}
    )
    assert withdraw.status_code == 404
    assert await _count(conn, "allocation_requests", resident.id) == 0
    assert (
        await conn.fetchval("SELECT status FROM allocation_requests WHERE id = $1", theirs)
        == "pending"
    )


async def test_each_requests_outcome_is_shown(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    resident = await make_resident(conn)
    building = await make_building(conn)
    await _sign_in(web, resident.email)
    allocated = await insert_allocation_request(conn, resident, night_in(-1))
    reservation = await insert_reservation(
        conn,
        space_id=building.space_ids[0],
        start=at(night_in(-1), 19),
        end=at(night_in(-1), 7),
        resident=resident,
        status="completed",
    )
    await conn.execute(
        "UPDATE allocation_requests SET status = 'allocated', reservation_id = $2,"
        " decided_at = now(), weight = 1 WHERE id = $1",
        allocated,
        reservation,
    )
    refused = await insert_allocation_request(conn, resident, night_in(-2))
    await conn.execute(
        "UPDATE allocation_requests SET status = 'not_allocated', not_allocated_reason = 'refused',"
        " decided_at = now(), weight = 1 WHERE id = $1",
        refused,
    )
    set_aside = await insert_allocation_request(conn, resident, night_in(-3))
    await conn.execute(
        "UPDATE allocation_requests SET status = 'not_allocated',"
        " not_allocated_reason = 'set_aside', decided_at = now() WHERE id = $1",
        set_aside,
    )
    page = await client.get("/app/allocation-requests")
    assert page.status_code == 200, page.text

    def item(request_id: int) -> str:
        found = re.search(rf'data-request="{request_id}".*?</li>', page.text, re.S)
        assert found, page.text
        return found.group(0)

    assert _zh(
        "resident.allocation.allocated", building=building.name, label="B1-001", amount="10.00"
    ) in item(allocated)
    assert _zh("resident.reason.refused") in item(refused)
    assert _zh("resident.reason.set_aside") in item(set_aside)
    assert "withdraw" not in item(allocated) + item(refused) + item(set_aside)


# ---------------------------------------------------------------- charges


async def test_the_months_statement_by_kind_with_its_total(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    resident = await make_resident(conn)
    building = await make_building(conn, spaces=3)
    month = local_today().replace(day=1)
    amounts = [("per_use", 1000), ("per_use", 1000), ("late_cancel", 500)]
    for i, (kind, amount) in enumerate(amounts):
        reservation = await insert_reservation(
            conn,
            space_id=building.space_ids[i],
            start=at(night_in(-3), 19),
            end=at(night_in(-3), 7),
            resident=resident if i == 0 else None,
            user_id=resident.id,
            status="completed" if kind == "per_use" else "cancelled",
            plate=random_plate(),
        )
        await conn.execute(
            "INSERT INTO charges (kind, amount_fen, user_id, building_id, reservation_id,"
            " night, occurred_at) VALUES ($1, $2, $3, $4, $5, $6, now())",
            kind,
            amount,
            resident.id,
            building.id,
            reservation,
            night_in(-3),
        )
    other = await make_resident(conn)
    # Another resident's charge this month counts on their statement, not on this one.
    theirs = await insert_reservation(
        conn,
        space_id=building.space_ids[0],
        start=at(night_in(-4), 19),
        end=at(night_in(-4), 7),
        resident=other,
        status="completed",
    )
    await conn.execute(
        "INSERT INTO charges (kind, amount_fen, user_id, building_id, reservation_id, night,"
        " occurred_at) VALUES ('per_use', 700, $1, $2, $3, $4, now())",
        other.id,
        building.id,
        theirs,
        night_in(-4),
    )
    await _sign_in(web, resident.email)
    page = await client.get("/app/charges")
    assert page.status_code == 200
    assert f'value="{month:%Y-%m}"' in page.text
    assert re.search(r'data-kind="per_use"><td>[^<]+</td><td class="num">¥20.00', page.text)
    assert re.search(r'data-kind="late_cancel"><td>[^<]+</td><td class="num">¥5.00', page.text)
    assert 'data-total="2500"' in page.text and "¥25.00" in page.text
    assert other.plate not in page.text

    earlier = month - dt.timedelta(days=1)
    empty = await client.get(f"/app/charges?month={earlier:%Y-%m}")
    assert empty.status_code == 200 and _zh("resident.charges.none") in empty.text
    assert "data-kind=" not in empty.text
    bad = await client.get("/app/charges?month=2026-13")
    assert bad.status_code == 422 and _zh("error.invalid-month") in bad.text


def test_every_status_kind_and_reason_has_words() -> None:
    keys = [f"resident.status.{s}" for s in get_args(ReservationStatus)]
    keys += [f"resident.request.{s}" for s in get_args(AllocationRequestStatus)]
    keys += [f"resident.reason.{r}" for r in get_args(NotAllocatedReason)]
    keys += [f"resident.charge.{k.value}" for k in ChargeKind]
    keys += [f"resident.need.{n}" for n in NEEDS]
    keys += [f"resident.weekday.{d}" for d in range(1, 8)]
    keys += list(_DONE.values())
    assert [k for k in keys if k not in TEXT] == []


async def test_a_place_selling_passes_sells_one_from_the_search(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    resident = await make_resident(conn)
    building = await make_building(conn, spaces=1, fee_fen=None, monthly_pass_fen=30000)
    await _sign_in(web, resident.email)
    night = night_in(0)
    month = f"{night:%Y-%m}"
    page = await client.get("/app/search")
    item = re.search(rf'data-building="{building.id}".*?</li>', page.text, re.S)
    assert item and 'action="/app/passes"' in item.group(0)
    assert f'name="month" value="{month}"' in item.group(0)

    form = {
        "building_id": str(building.id),
        "vehicle_id": str(resident.vehicle_id),
        "month": month,
        "night": night.isoformat(),
    }
    bought = await web.post("/app/search", "/app/passes", form)
    assert bought.status_code == 303, bought.text
    assert bought.headers["location"] == "/app/reservations?done=pass-bought"
    row = await conn.fetchrow(
        "SELECT id, price_fen, status FROM passes WHERE user_id = $1", resident.id
    )
    assert row["status"] == "active" and 0 < row["price_fen"] <= 30000
    assert (
        await conn.fetchval(
            "SELECT amount_fen FROM charges WHERE pass_id = $1 AND kind = 'pass'", row["id"]
        )
        == row["price_fen"]
    )
    listed = await client.get(bought.headers["location"])
    assert _zh("resident.done.pass_bought") in listed.text and building.name in listed.text

    again = await web.post("/app/search", "/app/passes", form)
    assert again.status_code == 409 and _zh("error.pass-exists") in again.text
    bad = await web.post("/app/search", "/app/passes", {**form, "month": "next month"})
    assert bad.status_code == 422 and "<code>month</code>" in bad.text
    assert await _count(conn, "passes", resident.id) == 1


async def test_bad_nights_and_prices_are_refused_as_4xx_pages_never_500(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    resident = await make_resident(conn)
    building = await make_building(conn)
    await _sign_in(web, resident.email)
    garbage = await client.get("/app/search?night=garbage")
    assert garbage.status_code == 422 and 'data-problem="validation-error"' in garbage.text
    assert "<code>night</code>" in garbage.text
    assert 'action="/app/search"' in garbage.text  # the search form, to choose again
    # The last day of the calendar: the services reach for the day after it.
    far = await client.get("/app/search?night=9999-12-31")
    assert far.status_code == 422 and "<code>night</code>" in far.text

    booked = await web.post(
        "/app/search",
        "/app/reservations",
        {
            "building_id": str(building.id),
            "night": "9999-12-31",
            "vehicle_id": str(resident.vehicle_id),
        },
    )
    assert booked.status_code == 422 and "<code>night</code>" in booked.text
    asked = await _ask(web, resident, dt.date(9999, 12, 31))
    assert asked.status_code == 422 and "<code>night</code>" in asked.text
    for price in ("1e999999", "1e400", "NaN", "-Infinity", "0.001"):
        refused = await _ask(web, resident, tomorrow(), max_price_yuan=price)
        assert refused.status_code == 422, (price, refused.status_code)
        assert "<code>max_price_fen</code>" in refused.text
    assert await _count(conn, "reservations", resident.id) == 0
    assert await _count(conn, "allocation_requests", resident.id) == 0


async def test_after_midnight_the_search_still_sells_the_rest_of_last_night(
    client: AsyncTestClient,
    web: WebForm,
    conn: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resident = await make_resident(conn)
    building = await make_building(conn, spaces=1, fee_fen=1000)
    await _sign_in(web, resident.email)
    night = tomorrow()  # a night wholly in the future, seen from its small hours
    small_hours = at(night, 1, 30)
    monkeypatch.setattr("parking.web.resident.utc_now", lambda: small_hours.astimezone(dt.UTC))
    page = await client.get("/app/search")
    assert page.status_code == 200
    last_night = re.search(rf'<option value="{night.isoformat()}"[^>]*>([^<]+)<', page.text)
    assert last_night and _zh("resident.night.last_night") in last_night.group(1)
    tonight = re.search(
        rf'<option value="{night + dt.timedelta(days=1)}" selected>([^<]+)<', page.text
    )
    assert tonight and _zh("resident.night.tonight") in tonight.group(1)

    rest = await client.get(f"/app/search?night={night}")
    item = re.search(rf'data-building="{building.id}".*?</li>', rest.text, re.S)
    assert item, rest.text
    assert f'value="{night + dt.timedelta(days=1)}T01:30"' in item.group(0)  # from now on
    booked = await web.post(
        f"/app/search?night={night}",
        "/app/reservations",
        {
            "building_id": str(building.id),
            "night": night.isoformat(),
            "vehicle_id": str(resident.vehicle_id),
        },
    )
    assert booked.status_code == 303, booked.text
    stay = await conn.fetchval("SELECT stay FROM reservations WHERE user_id = $1", resident.id)
    assert stay.lower == small_hours and stay.upper == at(night, 7)

    # By midday last night is over and no longer offered.
    monkeypatch.setattr(
        "parking.web.resident.utc_now", lambda: at(night + dt.timedelta(days=1), 13)
    )
    later = await client.get("/app/search")
    assert f'<option value="{night.isoformat()}"' not in later.text


async def test_a_place_without_a_price_that_night_says_so_rather_than_a_free_pass(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    resident = await make_resident(conn)
    # A place whose first plan takes effect the night after: none is in force on the
    # night searched.
    building_id = await conn.fetchval(
        "INSERT INTO buildings (district_place_id, name, lat, lon, status, flat_fee_fen)"
        " VALUES ('b-unpriced', 'Unpriced', 22.56, 114.13, 'active', NULL) RETURNING id"
    )
    await add_space(conn, building_id, "B1-001", ())
    await add_window(conn, building_id, dt.time(19), dt.time(7), dt.date(2020, 1, 1))
    await add_plan(conn, building_id, effective_from=night_in(2))
    await _sign_in(web, resident.email)
    page = await client.get(f"/app/search?night={tomorrow()}")
    item = re.search(rf'data-building="{building_id}".*?</li>', page.text, re.S)
    assert item, page.text
    assert _zh("resident.search.not_sold") in item.group(0)
    assert "¥0.00" not in item.group(0) and "<form" not in item.group(0)


async def test_the_pickers_show_the_night_and_radius_whose_results_are_listed(
    client: AsyncTestClient, web: WebForm, conn: asyncpg.Connection
) -> None:
    resident = await make_resident(conn)
    building = await make_building(conn)  # some 600 m from home
    await _sign_in(web, resident.email)
    far = night_in(20)
    page = await client.get(f"/app/search?night={far}")
    assert page.status_code == 200 and f'data-building="{building.id}"' in page.text
    assert f'<option value="{far.isoformat()}" selected>' in page.text
    assert page.text.count(" selected>") == 2  # that night, and the default 800 m

    for asked, shown in (("-5", "300"), ("650", "800"), ("9" * 30, "5000")):
        answer = await client.get(f"/app/search?night={tomorrow()}&radius_m={asked}")
        assert answer.status_code == 200, asked
        assert f'<option value="{shown}" selected>' in answer.text, asked
        listed = f'data-building="{building.id}"' in answer.text
        assert listed == (shown != "300"), asked


# Problems of the resident's use cases the pages never provoke: they come from API parameters
# the pages do not send (arrive without depart in a search, lat/lon, offset) or from an API
# only endpoint (releasing a pass night).
_API_ONLY = {
    "invalid-interval",
    "location-incomplete",
    "pagination-conflict",
    "time-zone-required",
    "too-late",
}


def test_every_problem_the_resident_pages_can_meet_has_words() -> None:
    """A refusal is shown in the reader's language, not as the service's English detail."""
    sources = [
        *(REPO_ROOT / "parking/reservations").glob("*.py"),
        *(REPO_ROOT / "parking/requests").glob("*.py"),
        *(REPO_ROOT / "parking/passes").glob("*.py"),
        REPO_ROOT / "parking/residents/service.py",
        REPO_ROOT / "parking/places/search.py",
        REPO_ROOT / "parking/windows.py",
    ]
    raised = {
        found.group(1)
        for source in sources
        for found in re.finditer(r'Problem\(\s*\d{3},\s*"([a-z0-9-]+)"', source.read_text())
    }
    assert "no-capacity" in raised and "invalid-transition" in raised  # the scan reads them
    assert sorted(t for t in raised - _API_ONLY if f"error.{t}" not in TEXT) == []
