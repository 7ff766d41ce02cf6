"""Residents' charges and monthly statements, managers' revenue by kind: each answer sums
exactly the stored ledger rows it covers."""

from __future__ import annotations

import datetime as dt

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pricing.charges import ChargeKind
from tests.factories import (
    TZ,
    at,
    insert_reservation,
    local,
    make_building,
    make_manager,
    make_resident,
    token_headers,
)
from tests.helpers import assert_problem

_INSERT = """
INSERT INTO charges (kind, amount_fen, user_id, building_id, reservation_id, refund_of,
                     occurred_at, night)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING id
"""


async def _stay(conn: asyncpg.Connection, building, resident, night: dt.date) -> int:
    return await insert_reservation(
        conn,
        space_id=building.space_ids[0],
        resident=resident,
        start=at(night, 20),
        end=at(night, 7),
        status="completed",
    )


async def _charge(conn, kind, amount, resident, building, reservation, occurred, refund_of=None):
    return await conn.fetchval(
        _INSERT,
        kind,
        amount,
        resident.id,
        building.id,
        reservation,
        refund_of,
        occurred,
        occurred.astimezone(TZ).date(),
    )


async def test_a_statement_lists_the_months_charges_by_recording_time(client, conn) -> None:
    building = await make_building(conn, spaces=1)
    resident = await make_resident(conn)
    other = await make_resident(conn)
    first = await _stay(conn, building, resident, dt.date(2026, 10, 30))
    second = await _stay(conn, building, resident, dt.date(2026, 10, 31))
    # A November refund of an October charge is on November's statement.
    charged = await _charge(
        conn, "per_use", 1000, resident, building, first, local(dt.date(2026, 10, 31), 7)
    )
    await _charge(conn, "no_show", 2000, resident, building, second, local(dt.date(2026, 11, 1), 9))
    await _charge(
        conn, "refund", -400, resident, building, first, local(dt.date(2026, 11, 2), 10), charged
    )
    # Just before local midnight of 1 November is still October.
    await _charge(
        conn, "late_cancel", 300, other, building, second, local(dt.date(2026, 10, 31), 23, 59)
    )

    october = await client.get("/charges/statement?month=2026-10", headers=resident.headers)
    assert october.status_code == 200, october.text
    assert october.json()["total_fen"] == 1000
    assert [line["kind"] for line in october.json()["lines"]] == ["per_use"]
    november = (
        await client.get("/charges/statement?month=2026-11", headers=resident.headers)
    ).json()
    assert [(line["kind"], line["amount_fen"]) for line in november["lines"]] == [
        ("no_show", 2000),
        ("refund", -400),
    ]
    assert november["total_fen"] == 1600
    assert november["lines"][1]["description"].endswith(f"of charge {charged}")

    listed = (await client.get("/charges", headers=resident.headers)).json()
    assert [c["amount_fen"] for c in listed] == [1000, 2000, -400]
    only_november = (await client.get("/charges?month=2026-11", headers=resident.headers)).json()
    assert [c["amount_fen"] for c in only_november] == [2000, -400]
    assert_problem(
        await client.get("/charges/statement?month=2026-13", headers=resident.headers),
        422,
        "invalid-month",
    )
    empty = await client.get("/charges/statement?month=2025-01", headers=resident.headers)
    assert (empty.json()["lines"], empty.json()["total_fen"]) == ([], 0)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["per_use", "no_show", "late_cancel", "refund"]),
            st.integers(1, 50_000),
            st.integers(0, 60 * 24 * 59),  # minutes into October and November 2026
        ),
        min_size=1,
        max_size=12,
    )
)
async def test_a_statement_sums_to_its_stored_ledger_rows(client, conn, rows) -> None:
    building = await make_building(conn, spaces=1)
    resident = await make_resident(conn)
    base = local(dt.date(2026, 10, 1), 0)
    reservation = await _stay(conn, building, resident, dt.date(2026, 9, 30))
    target = await _charge(
        conn, "per_use", 10**9, resident, building, reservation, base - dt.timedelta(days=1)
    )
    for i, (kind, amount, minutes) in enumerate(rows):
        # Each row its own reservation, so the once-per-event indexes never merge two.
        stay = await insert_reservation(
            conn,
            space_id=building.space_ids[0],
            resident=resident,
            start=at(dt.date(2026, 1, 1), 20) + dt.timedelta(days=i),
            end=at(dt.date(2026, 1, 1), 22) + dt.timedelta(days=i),
            status="completed",
        )
        occurred = base + dt.timedelta(minutes=minutes)
        if kind == "refund":
            await _charge(conn, "refund", -amount, resident, building, stay, occurred, target)
        else:
            await _charge(conn, kind, amount, resident, building, stay, occurred)
    for month in (dt.date(2026, 10, 1), dt.date(2026, 11, 1)):
        answer = await client.get(
            f"/charges/statement?month={month:%Y-%m}", headers=resident.headers
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        stored = await conn.fetch(
            """SELECT amount_fen FROM charges
               WHERE user_id = $1 AND occurred_at >= $2 AND occurred_at < $3""",
            resident.id,
            local(month, 0),
            local((month + dt.timedelta(days=32)).replace(day=1), 0),
        )
        assert body["total_fen"] == sum(r["amount_fen"] for r in stored)
        assert sum(line["amount_fen"] for line in body["lines"]) == body["total_fen"]
        assert len(body["lines"]) == len(stored)


async def test_revenue_per_month_by_kind_sums_the_buildings_rows(client, conn, settings) -> None:
    manager = await make_manager(conn)
    building = await make_building(conn, spaces=1, manager_id=manager.id)
    elsewhere = await make_building(conn, spaces=1)
    resident = await make_resident(conn)
    stays = [await _stay(conn, building, resident, dt.date(2026, 10, d)) for d in (1, 2, 3)]
    foreign = await _stay(conn, elsewhere, resident, dt.date(2026, 10, 1))
    per_use = await _charge(
        conn, "per_use", 1000, resident, building, stays[0], local(dt.date(2026, 10, 2), 7)
    )
    await _charge(
        conn, "no_show", 500, resident, building, stays[1], local(dt.date(2026, 10, 3), 7)
    )
    await _charge(
        conn, "refund", -1000, resident, building, stays[0], local(dt.date(2026, 11, 5), 9), per_use
    )
    await _charge(
        conn, "per_use", 1000, resident, building, stays[2], local(dt.date(2026, 11, 4), 7)
    )
    await _charge(
        conn, "per_use", 7777, resident, elsewhere, foreign, local(dt.date(2026, 10, 2), 7)
    )

    headers = token_headers(settings, manager.id, "manager")
    response = await client.get(
        f"/buildings/{building.id}/revenue?from=2026-09&to=2026-11", headers=headers
    )
    assert response.status_code == 200, response.text
    months = {m["month"]: m for m in response.json()["months"]}
    assert list(months) == ["2026-09", "2026-10", "2026-11"]
    assert months["2026-09"]["total_fen"] == 0
    assert set(months["2026-10"]["by_kind"]) == {k.value for k in ChargeKind}
    assert (months["2026-10"]["by_kind"]["per_use"], months["2026-10"]["by_kind"]["no_show"]) == (
        1000,
        500,
    )
    assert (months["2026-10"]["total_fen"], months["2026-10"]["charges"]) == (1500, 2)
    assert (months["2026-11"]["by_kind"]["refund"], months["2026-11"]["total_fen"]) == (-1000, 0)
    assert_problem(
        await client.get(
            f"/buildings/{building.id}/revenue?from=2026-11&to=2026-09", headers=headers
        ),
        422,
        "invalid-period",
    )
