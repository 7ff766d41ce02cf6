"""The advisor on stored use: the demo's October 2026 at P2 (a 300 CNY monthly pass, 40
holders parking 8 nights each) against 10 CNY per use, through the API and
``parking seed-demo`` then ``parking advise``, with the amounts worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from parking.demo import seed_demo
from tests.factories import (
    at,
    insert_reservation,
    make_building,
    make_manager,
    make_resident,
    night_in,
    token_headers,
)
from tests.helpers import assert_problem, parking

# By hand. P2: 120 shared spaces, window 19:00-08:00 (780 minutes), 31 nights:
# 120 x 780 x 31 = 2 901 600 shared space-minutes. 40 passes x 30 000 fen = 1 200 000 fen;
# 40 x 8 = 320 nights parked, 20:00-07:00 (660 minutes): 211 200 occupied space-minutes,
# 211 200 / 2 901 600 = 7.2787 % -> 728 bp.
# Per use at 1000 fen: holders paid 1 200 000 / 320 = 3750 fen a night, a drop of
# 2750 / 3750 = 11/15; empty space-nights 120 x 31 - 320 = 3400; extra entries
# floor(3400 x 1/2 x 11/15) = floor(1246.67) = 1246; entries 320 + 1246 = 1566,
# revenue 1 566 000 fen; occupied 660 x 1566 = 1 033 560, / 2 901 600 = 35.620 % -> 3562 bp.
RECORDED = {"mode": "monthly", "revenue_fen": 1_200_000, "entries": 320}
WHAT_IF = {"mode": "per_use", "revenue_fen": 1_566_000, "entries": 1566}


async def _demo_manager_headers(client) -> dict[str, str]:
    response = await client.post(
        "/auth/token", json={"email": "manager@demo.parking", "password": "demo-manager-pass"}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_the_demo_tells_the_seed_story_through_the_api(client, conn) -> None:
    await seed_demo(conn)
    await seed_demo(conn)  # idempotent: the history is written once
    assert await conn.fetchval("SELECT count(*) FROM passes") == 40
    building_id = await conn.fetchval(
        "SELECT id FROM buildings WHERE district_place_id = 'b-wanshan-p2'"
    )
    headers = await _demo_manager_headers(client)
    response = await client.get(
        f"/buildings/{building_id}/advice?from=2026-10-01&to=2026-10-31", headers=headers
    )
    assert response.status_code == 200, response.text
    advice = response.json()
    for outcome, expected in (("recorded", RECORDED), ("what_if", WHAT_IF)):
        assert {k: advice[outcome][k] for k in expected} == expected
    assert (advice["recorded"]["occupied_space_minutes"], advice["recorded"]["utilization_bp"]) == (
        211_200,
        728,
    )
    assert (advice["what_if"]["occupied_space_minutes"], advice["what_if"]["utilization_bp"]) == (
        1_033_560,
        3562,
    )
    # The monthly plan sold no single nights: the what-if fee is tonight's per-use fee.
    assert (advice["what_if_fee_fen"], advice["recommendation"]) == (1000, "per_use")
    assert any("factor 1/2" in text for text in advice["assumptions"])

    # A higher what-if fee given explicitly changes the estimate.
    dearer = await client.get(
        f"/buildings/{building_id}/advice?from=2026-10-01&to=2026-10-31&per_use_fee_fen=5000",
        headers=headers,
    )
    assert dearer.json()["what_if_fee_fen"] == 5000
    # Revenue of October: the 40 pass charges.
    revenue = await client.get(
        f"/buildings/{building_id}/revenue?from=2026-09&to=2026-10", headers=headers
    )
    by_month = {m["month"]: m for m in revenue.json()["months"]}
    assert by_month["2026-09"]["by_kind"]["pass"] == 1_200_000  # bought on 25 September


async def test_advice_refuses_a_period_that_is_not_past_or_spans_a_switch(
    client, conn, settings
) -> None:
    await seed_demo(conn)
    building_id = await conn.fetchval(
        "SELECT id FROM buildings WHERE district_place_id = 'b-wanshan-p2'"
    )
    headers = await _demo_manager_headers(client)
    url = f"/buildings/{building_id}/advice"
    today = night_in(0)
    for first, last, problem in (
        ("2026-10-15", "2026-11-05", "advice-impossible"),  # monthly, then per use
        ("2026-10-31", "2026-10-01", "invalid-period"),
        (today.isoformat(), today.isoformat(), "invalid-period"),
    ):
        response = await client.get(f"{url}?from={first}&to={last}", headers=headers)
        assert_problem(response, 422, problem)


async def test_a_per_use_period_is_compared_with_a_monthly_pass(client, conn, settings) -> None:
    # Per use recorded: a resident who spent 3 x 1000 fen in a month buys a 2500 pass.
    manager = await make_manager(conn)
    building = await make_building(conn, manager_id=manager.id, spaces=2)
    heavy, light = await make_resident(conn), await make_resident(conn)
    nights = [dt.date(2026, 10, d) for d in (5, 6, 7)]
    for night in nights:
        await insert_reservation(
            conn,
            space_id=building.space_ids[0],
            resident=heavy,
            start=at(night, 20),
            end=at(night, 6),
            status="completed",
        )
    await insert_reservation(
        conn,
        space_id=building.space_ids[1],
        resident=light,
        start=at(nights[0], 20),
        end=at(nights[0], 6),
        status="completed",
    )
    headers = token_headers(settings, manager.id, "manager")
    response = await client.get(
        f"/buildings/{building.id}/advice?from=2026-10-01&to=2026-10-31&monthly_fee_fen=2500",
        headers=headers,
    )
    assert response.status_code == 200, response.text
    advice = response.json()
    # By hand: recorded 4 entries x 1000 = 4000 fen; monthly: one buyer (spent 3000 >= 2500),
    # 2500 fen for 3 entries. Less revenue and less use: keep per use.
    assert (advice["recorded"]["revenue_fen"], advice["recorded"]["entries"]) == (4000, 4)
    assert (advice["what_if"]["revenue_fen"], advice["what_if"]["entries"]) == (2500, 3)
    assert advice["recommendation"] == "keep"


@pytest.mark.parametrize("building", ["b-wanshan-p2", "ID"])
async def test_parking_advise_prints_the_story_after_seed_demo(conn, db_dsn, building) -> None:
    seeded = parking("seed-demo", dsn=db_dsn)
    assert seeded.returncode == 0, seeded.stderr
    if building == "ID":
        building = str(
            await conn.fetchval("SELECT id FROM buildings WHERE district_place_id = 'b-wanshan-p2'")
        )
    done = parking("advise", building, "--from", "2026-10-01", "--to", "2026-10-31", dsn=db_dsn)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "recorded: monthly  revenue 12000.00 CNY, 320 entries, 7.28 % filled" in out
    assert "what-if: per_use  revenue 15660.00 CNY, 1566 entries, 35.62 % filled" in out
    assert "what-if fee: 10.00 CNY" in out
    assert "recommendation: per_use" in out
    as_json = parking(
        "advise", building, "--from", "2026-10-01", "--to", "2026-10-31", "--json", dsn=db_dsn
    )
    assert '"recommendation": "per_use"' in as_json.stdout


def test_parking_advise_names_an_unknown_building(db_dsn) -> None:
    done = parking("advise", "b-nowhere", "--from", "2026-10-01", "--to", "2026-10-31", dsn=db_dsn)
    assert done.returncode != 0
    assert "no building b-nowhere" in done.stderr
