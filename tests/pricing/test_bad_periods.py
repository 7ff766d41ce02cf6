"""Months and nights at the calendar's ends are refused as problems, not server errors."""

from __future__ import annotations

from tests.factories import make_building, make_manager, make_resident, token_headers
from tests.helpers import assert_problem


async def test_the_last_month_of_the_calendar_is_a_problem(client, conn, settings) -> None:
    manager = await make_manager(conn)
    building = await make_building(conn, manager_id=manager.id, spaces=1)
    resident = await make_resident(conn, settings)
    headers = token_headers(settings, manager.id, "manager")
    for url, caller in [
        ("/charges/statement?month=9999-12", resident.headers),
        ("/charges?month=9999-12", resident.headers),
        (f"/buildings/{building.id}/revenue?from=9999-06&to=9999-12", headers),
    ]:
        assert_problem(await client.get(url, headers=caller), 422, "invalid-month")


async def test_revenue_covers_at_most_ten_years_at_once(client, conn, settings) -> None:
    manager = await make_manager(conn)
    building = await make_building(conn, manager_id=manager.id, spaces=1)
    headers = token_headers(settings, manager.id, "manager")
    url = f"/buildings/{building.id}/revenue"
    ten_years = await client.get(f"{url}?from=2017-01&to=2026-12", headers=headers)
    assert ten_years.status_code == 200, ten_years.text
    assert len(ten_years.json()["months"]) == 120
    too_long = await client.get(f"{url}?from=2016-12&to=2026-12", headers=headers)
    assert_problem(too_long, 422, "invalid-period")


async def test_advice_on_nights_before_any_plan_is_a_problem(client, conn, settings) -> None:
    manager = await make_manager(conn)
    building = await make_building(conn, manager_id=manager.id, spaces=1)
    headers = token_headers(settings, manager.id, "manager")
    # The calendar's first nights (their windows' arithmetic leaves the calendar) and
    # nights before the building's first version (2000-01-01) have no plan to advise on.
    for first, last in [("0001-01-01", "0001-01-02"), ("1999-12-01", "1999-12-31")]:
        response = await client.get(
            f"/buildings/{building.id}/advice?from={first}&to={last}", headers=headers
        )
        assert_problem(response, 422, "no-plan-in-force")
