"""The charge ledger in PostgreSQL: each event charges once in its own transaction, the
table refuses changes and wrong signs, refunds never exceed what they correct."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parking.gate.service import record_entry, record_exit
from parking.passes.schemas import NewPass
from parking.passes.service import buy_pass
from parking.reservations.model import get_reservation
from parking.reservations.service import cancel_by_operator
from parking.sweeps import mark_no_shows
from pricing import ledger
from pricing.charges import ChargeKind
from pricing.repository import NewCharge, insert_charge
from tests.factories import (
    TZ,
    add_plan,
    at,
    insert_pass,
    insert_reservation,
    make_building,
    make_resident,
    make_user,
    night_in,
    outbox_rows,
    post_booking,
    token_headers,
)
from tests.helpers import assert_problem

KINDS = [kind.value for kind in ChargeKind]


async def _charges(conn: asyncpg.Connection, **where: int) -> list[asyncpg.Record]:
    clause = " AND ".join(f"{name} = ${i}" for i, name in enumerate(where, start=1)) or "true"
    return await conn.fetch(f"SELECT * FROM charges WHERE {clause} ORDER BY id", *where.values())


async def _seed_terms_building(conn: asyncpg.Connection, **terms: int):
    """A building whose plan in force is the seed's: 10 CNY per use, 10 CNY per started
    hour after a 15-minute grace (plus ``terms``); shared 19:00-07:00."""
    building = await make_building(conn, spaces=2)
    await add_plan(
        conn,
        building.id,
        per_use_fee_fen=1000,
        overstay_fen_per_hour=1000,
        overstay_grace_minutes=15,
        **terms,
    )
    return building


async def _charged_booking(conn, hours_ago: int = 0):
    """Last night's booking of a new resident in a new building, charged 1000 fen
    ``hours_ago``: the reservation's id and the charge's."""
    building = await make_building(conn, spaces=1)
    resident = await make_resident(conn)
    reservation = await insert_reservation(
        conn,
        space_id=building.space_ids[0],
        resident=resident,
        start=at(night_in(-1), 20),
        end=at(night_in(-1), 7),
    )
    charge_id = await conn.fetchval(
        """INSERT INTO charges (kind, amount_fen, user_id, building_id, reservation_id, occurred_at)
           VALUES ('per_use', 1000, $1, $2, $3, now() - make_interval(hours => $4))
           RETURNING id""",
        resident.id,
        building.id,
        reservation,
        hours_ago,
    )
    return reservation, charge_id


async def test_a_completed_stay_pays_its_booked_fee_and_a_late_exit_its_overstay(conn) -> None:
    building = await _seed_terms_building(conn)
    resident = await make_resident(conn)
    night = night_in(-2)  # the whole stay, and the late exit, in the past
    reservation = await insert_reservation(
        conn,
        space_id=building.space_ids[0],
        resident=resident,
        start=at(night, 20),
        end=at(night, 7),
        fee_fen=1000,
    )
    now = dt.datetime.now(TZ)
    await record_entry(conn, building.id, resident.plate, at(night, 20, 5), now=now, tz=TZ)
    session = await record_exit(conn, building.id, resident.plate, at(night, 9, 30), now=now, tz=TZ)

    per_use = await _charges(conn, reservation_id=reservation)
    assert [(c["kind"], c["amount_fen"], c["user_id"], c["night"]) for c in per_use] == [
        ("per_use", 1000, resident.id, night)
    ]
    # By hand: window end 07:00, exit 09:30 is 2 h 30 min late, past the 15-minute grace:
    # 3 started hours x 1000 fen.
    overstay = await _charges(conn, session_id=session.id)
    assert [(c["kind"], c["amount_fen"], c["plan_version"]) for c in overstay] == [
        ("overstay", 3000, 2)
    ]
    assert overstay[0]["occurred_at"] == at(night, 9, 30)

    # The same event again charges nothing more.
    completed = await get_reservation(conn, reservation)
    assert completed is not None
    await ledger.on_reservation_end(conn, completed, at=now)
    assert len(await _charges(conn, reservation_id=reservation)) == 1


@pytest.mark.parametrize(
    ("exit_time", "owed"),
    [((7, 15), 0), ((7, 16), 1000), ((8, 1), 2000), ((9, 0), 2000)],
)
async def test_overstay_at_exit_follows_the_seed_plan_by_hand(conn, exit_time, owed) -> None:
    # Seed plan: grace 15 minutes is a threshold, then every started hour from 07:00.
    building = await _seed_terms_building(conn)
    resident = await make_resident(conn)
    night = night_in(-2)
    await insert_reservation(
        conn,
        space_id=building.space_ids[0],
        resident=resident,
        start=at(night, 20),
        end=at(night, 7),
    )
    now = dt.datetime.now(TZ)
    await record_entry(conn, building.id, resident.plate, at(night, 21), now=now, tz=TZ)
    session = await record_exit(
        conn, building.id, resident.plate, at(night, *exit_time), now=now, tz=TZ
    )
    rows = await _charges(conn, session_id=session.id)
    assert [c["amount_fen"] for c in rows] == ([owed] if owed else [])


async def test_a_no_show_pays_the_no_show_fee_instead_once(conn) -> None:
    building = await _seed_terms_building(conn, no_show_fee_fen=500)
    resident = await make_resident(conn)
    night = night_in(-1)
    reservation = await insert_reservation(
        conn,
        space_id=building.space_ids[0],
        resident=resident,
        start=at(night, 20),
        end=at(night, 7),
    )
    now = at(night, 23)
    assert await mark_no_shows(conn, now, 60, TZ) == 1
    assert await mark_no_shows(conn, now, 60, TZ) == 0
    rows = await _charges(conn, reservation_id=reservation)
    assert [(c["kind"], c["amount_fen"]) for c in rows] == [("no_show", 500)]
    assert await conn.fetchval("SELECT fee_fen FROM reservations WHERE id = $1", reservation) == 500
    # The platform's message carries the fee the no-show owes.
    (message,) = [
        m for m in await outbox_rows(conn, "reservation") if m["entity_key"] == f"r-{reservation}"
    ]
    assert (message["payload"]["status"], message["payload"]["fee_fen"]) == ("no_show", 500)


async def test_a_no_show_under_a_plan_without_a_fee_writes_no_row(conn) -> None:
    building = await make_building(conn, spaces=1)
    resident = await make_resident(conn)
    night = night_in(-1)
    reservation = await insert_reservation(
        conn,
        space_id=building.space_ids[0],
        resident=resident,
        start=at(night, 20),
        end=at(night, 7),
    )
    assert await mark_no_shows(conn, at(night, 23), 60, TZ) == 1
    assert await _charges(conn, reservation_id=reservation) == []


async def test_a_late_cancellation_is_charged_and_a_free_one_is_not(client, conn) -> None:
    # Free until three days before arrival: a booking for tomorrow is already late.
    late = await _seed_terms_building(
        conn, free_cancel_minutes=3 * 24 * 60, late_cancel_fee_fen=300
    )
    free = await make_building(conn, spaces=1)
    resident = await make_resident(conn)
    for building, owed in ((late, 300), (free, 0)):
        booked = await post_booking(client, building, resident, night_in(1 if owed else 2))
        assert booked.status_code == 201, booked.text
        reservation_id = booked.json()["id"]
        cancelled = await client.post(
            f"/reservations/{reservation_id}/cancel", headers=resident.headers
        )
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["fee_fen"] == owed
        rows = await _charges(conn, reservation_id=reservation_id)
        assert [(c["kind"], c["amount_fen"]) for c in rows] == (
            [("late_cancel", owed)] if owed else []
        )


async def test_a_pass_is_charged_its_price_and_an_operator_cancelled_night_refunded(
    client, conn
) -> None:
    building = await make_building(conn, spaces=2, monthly_pass_fen=30000)
    resident = await make_resident(conn)
    today = night_in(0)
    month = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    bought = await client.post(
        "/passes",
        json={
            "building_id": building.id,
            "vehicle_id": resident.vehicle_id,
            "month": f"{month:%Y-%m}",
        },
        headers={**resident.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert bought.status_code == 201, bought.text
    pass_id = bought.json()["id"]
    (charge,) = await _charges(conn, pass_id=pass_id)
    assert (charge["kind"], charge["amount_fen"], charge["user_id"]) == ("pass", 30000, resident.id)

    nights = await conn.fetch(
        "SELECT id, night FROM reservations WHERE pass_id = $1 ORDER BY night", pass_id
    )
    first = nights[0]["id"]
    cancelled = await cancel_by_operator(
        conn, [first], reason="blackout", at=dt.datetime.now(TZ), tz=TZ
    )
    assert [r.id for r in cancelled] == [first]
    refund = await _charges(conn, reservation_id=first)
    # By hand: 30000 fen over the month's nights, half-up (31 nights: 967.74 -> 968).
    share = (2 * 30000 + len(nights)) // (2 * len(nights))
    assert [(c["kind"], c["amount_fen"], c["refund_of"]) for c in refund] == [
        ("refund", -share, charge["id"])
    ]
    # The same night again refunds nothing more.
    again = await get_reservation(conn, first)
    assert again is not None
    assert await ledger.refund_pass_night(conn, again, at=dt.datetime.now(TZ), reason="x") is None


async def test_the_ledger_refuses_updates_and_deletes(conn) -> None:
    _, charge_id = await _charged_booking(conn)
    for statement in (
        "UPDATE charges SET amount_fen = 1 WHERE id = $1",
        "DELETE FROM charges WHERE id = $1",
    ):
        with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="append-only"):
            async with conn.transaction():
                await conn.execute(statement, charge_id)
    assert await conn.fetchval("SELECT amount_fen FROM charges WHERE id = $1", charge_id) == 1000


async def test_an_event_charged_twice_writes_one_row(conn) -> None:
    building = await make_building(conn, spaces=1)
    resident = await make_resident(conn)
    reservation = await insert_reservation(
        conn,
        space_id=building.space_ids[0],
        resident=resident,
        start=at(night_in(-1), 20),
        end=at(night_in(-1), 7),
    )
    new = NewCharge(
        kind=ChargeKind.PER_USE,
        amount_fen=1000,
        user_id=resident.id,
        building_id=building.id,
        reservation_id=reservation,
        occurred_at=dt.datetime.now(TZ),
    )
    assert await insert_charge(conn, new) is not None
    assert await insert_charge(conn, new) is None
    assert len(await _charges(conn, reservation_id=reservation)) == 1


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(kind=st.sampled_from(KINDS), amount=st.integers(-(10**9), 10**9))
async def test_no_charge_is_negative_except_a_refund(conn, kind, amount) -> None:
    """The table's CHECK, whatever the code above it does: a refund is negative, every other
    kind is not."""
    building = await make_building(conn, spaces=1)
    resident = await make_resident(conn)
    start = at(night_in(-1), 20)
    reservation = await insert_reservation(
        conn,
        space_id=building.space_ids[0],
        resident=resident,
        start=start,
        end=start + dt.timedelta(hours=8),
    )
    pass_id = await insert_pass(
        conn, building_id=building.id, resident=resident, month=night_in(-1).replace(day=1)
    )
    session = await conn.fetchval(
        "INSERT INTO gate_sessions (building_id, plate, entered_at)"
        " VALUES ($1, $2, now()) RETURNING id",
        building.id,
        resident.plate,
    )
    target = await conn.fetchval(
        """INSERT INTO charges (kind, amount_fen, user_id, building_id, reservation_id, occurred_at)
           VALUES ('per_use', 1000, $1, $2, $3, now()) RETURNING id""",
        resident.id,
        building.id,
        reservation,
    )
    tie = {"pass": ("pass_id", pass_id), "overstay": ("session_id", session)}.get(
        kind, ("reservation_id", reservation)
    )
    refund_of = target if kind == "refund" else None
    allowed = amount < 0 if kind == "refund" else amount >= 0
    try:
        async with conn.transaction():
            await conn.execute(
                f"""INSERT INTO charges (kind, amount_fen, user_id, building_id, {tie[0]},
                                         refund_of, occurred_at)
                    VALUES ($1, $2, $3, $4, $5, $6, now())
                    ON CONFLICT DO NOTHING""",
                kind,
                amount,
                resident.id,
                building.id,
                tie[1],
                refund_of,
            )
    except asyncpg.CheckViolationError:
        assert not allowed
    else:
        assert allowed
    negatives = await conn.fetchval(
        "SELECT count(*) FROM charges WHERE amount_fen < 0 AND kind <> 'refund'"
    )
    assert negatives == 0


async def test_an_admin_refunds_part_of_a_charge_never_more_than_it(client, conn, settings) -> None:
    reservation, charge_id = await _charged_booking(conn, hours_ago=1)
    admin = await make_user(conn, "admin")
    headers = {**token_headers(settings, admin.id, "admin"), "Idempotency-Key": "refund-1"}
    url = f"/admin/charges/{charge_id}/refunds"
    first = await client.post(
        url, json={"amount_fen": 600, "reason": "gate fault"}, headers=headers
    )
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["kind"], body["amount_fen"], body["refund_of"]) == ("refund", -600, charge_id)
    replay = await client.post(
        url, json={"amount_fen": 600, "reason": "gate fault"}, headers=headers
    )
    assert replay.json() == body and replay.headers["Idempotent-Replayed"] == "true"

    headers["Idempotency-Key"] = "refund-2"
    too_much = await client.post(url, json={"amount_fen": 401, "reason": "again"}, headers=headers)
    assert_problem(too_much, 409, "refund-refused")
    headers["Idempotency-Key"] = "refund-3"
    of_refund = await client.post(
        f"/admin/charges/{body['id']}/refunds",
        json={"amount_fen": 1, "reason": "x"},
        headers=headers,
    )
    assert_problem(of_refund, 409, "refund-refused")
    headers["Idempotency-Key"] = "refund-4"
    assert_problem(
        await client.post(
            "/admin/charges/999999/refunds", json={"amount_fen": 1, "reason": "x"}, headers=headers
        ),
        404,
        "not-found",
    )
    for bad in (
        {"amount_fen": 0, "reason": "x"},
        {"amount_fen": -5, "reason": "x"},
        {"amount_fen": 5},
    ):
        headers["Idempotency-Key"] = uuid.uuid4().hex
        assert_problem(await client.post(url, json=bad, headers=headers), 422, "validation-error")
    rows = await _charges(conn, reservation_id=reservation)
    assert [c["amount_fen"] for c in rows] == [1000, -600]


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(day=st.integers(0, 30), hour=st.integers(0, 23), fee=st.integers(1, 100_000))
async def test_a_pass_bought_any_time_in_its_month_is_charged_at_most_the_monthly_fee(
    conn, settings, day, hour, fee
) -> None:
    """Proration in storage: whenever in the month a pass is bought, its ledger row is its
    price, ``pass_price`` of the nights left, and never above the monthly fee."""
    building = await make_building(conn, spaces=1, monthly_pass_fen=fee)
    resident = await make_resident(conn)
    month = (night_in(0).replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    last = (month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    bought_on = min(month + dt.timedelta(days=day), last)
    now = dt.datetime.combine(bought_on, dt.time(hour), tzinfo=TZ)
    detail = await buy_pass(
        conn,
        resident.id,
        NewPass(building_id=building.id, vehicle_id=resident.vehicle_id, month=f"{month:%Y-%m}"),
        now=now,
        settings=settings,
    )
    rows = await _charges(conn, pass_id=detail.id)
    nights_in_month = last.day
    left = len({n.night for n in detail.nights})
    by_hand = (2 * fee * left + nights_in_month) // (2 * nights_in_month)
    assert detail.price_fen == by_hand <= fee
    # A price that rounds to 0 fen (a tiny fee, one night left) writes no row.
    assert [c["amount_fen"] for c in rows] == ([by_hand] if by_hand else [])


async def test_an_admin_refunds_a_booking_charge_in_parts_up_to_its_amount(
    client, conn, settings
) -> None:
    reservation, charge_id = await _charged_booking(conn, hours_ago=1)
    admin = await make_user(conn, "admin")
    url = f"/admin/charges/{charge_id}/refunds"
    answers = []
    for amount in (600, 400, 1):
        headers = {
            **token_headers(settings, admin.id, "admin"),
            "Idempotency-Key": uuid.uuid4().hex,
        }
        answers.append(
            await client.post(
                url, json={"amount_fen": amount, "reason": "gate fault"}, headers=headers
            )
        )
    assert [a.status_code for a in answers[:2]] == [201, 201], answers[1].text
    # Nothing is left of the charge: a third refund is refused.
    assert_problem(answers[2], 409, "refund-refused")
    rows = await _charges(conn, reservation_id=reservation)
    assert [c["amount_fen"] for c in rows] == [1000, -600, -400]


async def test_a_pass_night_after_a_switch_pays_overstay_under_the_passs_version(conn) -> None:
    # Monthly at 1000 fen per started hour of overstay until 14 June 2025, then per use at
    # 5000 fen an hour; the June pass was sold under the monthly version and runs to the
    # end of June on its terms.
    building = await make_building(conn, spaces=1, fee_fen=None, monthly_pass_fen=30000)
    monthly = await add_plan(
        conn,
        building.id,
        mode="monthly",
        per_use_fee_fen=None,
        monthly_fee_fen=30000,
        overstay_fen_per_hour=1000,
        effective_from=dt.date(2025, 1, 1),
    )
    await add_plan(
        conn,
        building.id,
        per_use_fee_fen=1000,
        overstay_fen_per_hour=5000,
        effective_from=dt.date(2025, 6, 15),
    )
    resident = await make_resident(conn)
    pass_id = await insert_pass(
        conn, building_id=building.id, resident=resident, month=dt.date(2025, 6, 1)
    )
    await conn.execute("UPDATE passes SET plan_id = $2 WHERE id = $1", pass_id, monthly)
    night = dt.date(2025, 6, 20)
    await insert_reservation(
        conn,
        space_id=building.space_ids[0],
        resident=resident,
        start=at(night, 19),
        end=at(night, 7),
        pass_id=pass_id,
    )
    now = dt.datetime.now(TZ)
    await record_entry(conn, building.id, resident.plate, at(night, 20), now=now, tz=TZ)
    session = await record_exit(conn, building.id, resident.plate, at(night, 8, 30), now=now, tz=TZ)
    # By hand: window end 07:00, exit 08:30, no grace: 2 started hours x 1000 fen.
    overstay = await _charges(conn, session_id=session.id)
    assert [(c["kind"], c["amount_fen"], c["plan_version"]) for c in overstay] == [
        ("overstay", 2000, 2)
    ]
