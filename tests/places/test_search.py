"""Search: distance and radius, filters, free counts, stays inside windows, pages, prices."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from allocator.geo import haversine_m, round_walk_m
from tests.factories import (
    TZ,
    add_window,
    at,
    insert_reservation,
    local_today,
    make_resident,
    tomorrow,
)
from tests.helpers import assert_problem
from tests.places.support import ORIGIN, add_spaces, create_building, login, offset


@pytest.fixture
async def manager(client: AsyncTestClient, conn: asyncpg.Connection) -> dict[str, str]:
    return (await login(client, conn, "manager"))[1]


@pytest.fixture
async def resident(client: AsyncTestClient, conn: asyncpg.Connection) -> dict[str, str]:
    return (await login(client, conn, "resident"))[1]


async def _place(
    client: AsyncTestClient,
    conn: asyncpg.Connection,
    headers: dict[str, str],
    north_m: float = 0,
    east_m: float = 0,
    *,
    spaces: int = 1,
    features: tuple[str, ...] = (),
    window: tuple[dt.time, dt.time] | None = (dt.time(19), dt.time(8)),
    **fields: object,
) -> dict:
    lat, lon = offset(north_m, east_m)
    building = await create_building(client, headers, lat=lat, lon=lon, **fields)
    if spaces:
        created = await add_spaces(
            client, headers, building["id"], count=spaces, prefix="S", features=list(features)
        )
        building["space_ids"] = [s["id"] for s in created]
    if window is not None:
        await add_window(conn, building["id"], *window)
    return building


async def _search(client: AsyncTestClient, headers: dict[str, str], **params: object):
    query = {"night": tomorrow().isoformat(), "lat": ORIGIN[0], "lon": ORIGIN[1]}
    query.update({k: v for k, v in params.items()})
    query = {k: v for k, v in query.items() if v is not None}
    return await client.get("/places", params=query, headers=headers)


async def _found(client, headers, **params) -> list[dict]:
    response = await _search(client, headers, **params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_nearest_first_within_the_radius(client, conn, manager, resident) -> None:
    near = await _place(client, conn, manager, 100, 0)
    middle = await _place(client, conn, manager, 0, 300)
    far = await _place(client, conn, manager, -600, 0)
    await _place(client, conn, manager, 0, -900)  # outside the default 800 m
    response = await _search(client, resident)
    assert response.status_code == 200, response.text
    page = response.json()
    assert [i["building_id"] for i in page["items"]] == [near["id"], middle["id"], far["id"]]
    assert page["total"] == 3 and page["next_cursor"] is None and page["radius_m"] == 800
    assert page["point"] == {"lat": ORIGIN[0], "lon": ORIGIN[1], "source": "query"}
    for item, building in zip(page["items"], (near, middle, far), strict=True):
        expected = round_walk_m(haversine_m(ORIGIN[0], ORIGIN[1], building["lat"], building["lon"]))
        assert item["walk_m"] == expected
        assert item["district_place_id"] == building["district_place_id"]
        assert (item["name"], item["address"]) == (building["name"], building["address"])
    assert [i["walk_m"] for i in page["items"]] == [100, 300, 600]
    assert [i["building_id"] for i in await _found(client, resident, radius_m=350)] == [
        near["id"],
        middle["id"],
    ]
    assert len(await _found(client, resident, radius_m=1000)) == 4


async def test_only_active_places_with_windows_and_shared_spaces(
    client, conn, manager, resident
) -> None:
    shown = await _place(client, conn, manager, 50, 0)
    suspended = await _place(client, conn, manager, 60, 0)
    await client.patch(
        f"/buildings/{suspended['id']}", json={"status": "suspended"}, headers=manager
    )
    await _place(client, conn, manager, 70, 0, window=None)  # shares no night
    await _place(client, conn, manager, 80, 0, spaces=0)
    unshared = await _place(client, conn, manager, 90, 0)
    await client.patch(
        f"/buildings/{unshared['id']}/spaces/{unshared['space_ids'][0]}",
        json={"shared": False},
        headers=manager,
    )
    # A rule that starts after the night shares nothing that night.
    later = await _place(client, conn, manager, 95, 0, window=None)
    await add_window(
        conn, later["id"], dt.time(19), dt.time(8), valid_from=tomorrow() + dt.timedelta(days=1)
    )
    assert [i["building_id"] for i in await _found(client, resident)] == [shown["id"]]


async def test_ev_and_large_filters(client, conn, manager, resident) -> None:
    plain = await _place(client, conn, manager, 100, 0, spaces=3)
    ev = await _place(client, conn, manager, 200, 0, spaces=2, features=("ev",))
    large = await _place(client, conn, manager, 300, 0, spaces=1, features=("large",))
    both = await _place(client, conn, manager, 400, 0, spaces=1, features=("ev", "large"))
    every = {i["building_id"]: i["free"] for i in await _found(client, resident)}
    assert every == {plain["id"]: 3, ev["id"]: 2, large["id"]: 1, both["id"]: 1}
    with_ev = {i["building_id"]: i["free"] for i in await _found(client, resident, ev="true")}
    assert with_ev == {ev["id"]: 2, both["id"]: 1}
    with_large = [i["building_id"] for i in await _found(client, resident, large="true")]
    assert with_large == [large["id"], both["id"]]
    assert [i["building_id"] for i in await _found(client, resident, ev="true", large="true")] == [
        both["id"]
    ]


async def test_free_counts_follow_reservations(client, conn, manager, resident) -> None:
    night = tomorrow()
    b = await _place(client, conn, manager, 100, 0, spaces=4)
    full = await _place(client, conn, manager, 200, 0, spaces=1)
    s1, s2, s3, _ = b["space_ids"]
    await insert_reservation(conn, space_id=s1, start=at(night, 20), end=at(night, 23))
    await insert_reservation(
        conn, space_id=s2, start=at(night, 23), end=at(night, 7), status="held"
    )
    await insert_reservation(
        conn, space_id=s3, start=at(night, 20), end=at(night, 23), status="cancelled"
    )
    await insert_reservation(
        conn,
        space_id=full["space_ids"][0],
        start=at(night, 19),
        end=at(night, 8),
        status="checked_in",
    )
    # Whole window: s1 and s2 are taken for part of it, so two spaces are free throughout.
    [item] = await _found(client, resident)
    assert (item["building_id"], item["free"]) == (b["id"], 2)
    # Only the evening: s2's night-time claim does not touch it.
    [evening] = await _found(
        client, resident, arrive=at(night, 19).isoformat(), depart=at(night, 20).isoformat()
    )
    assert evening["free"] == 4
    [late] = await _found(
        client, resident, arrive=at(night, 20).isoformat(), depart=at(night, 22).isoformat()
    )
    assert late["free"] == 3
    # Another night is untouched by these reservations.
    other_night = (night + dt.timedelta(days=1)).isoformat()
    others = await _found(client, resident, night=other_night)
    assert {i["building_id"]: i["free"] for i in others} == {b["id"]: 4, full["id"]: 1}


async def test_a_stay_must_lie_inside_one_window(client, conn, manager, resident) -> None:
    night = tomorrow()
    evening = await _place(client, conn, manager, 100, 0, window=(dt.time(19), dt.time(8)))
    late = await _place(client, conn, manager, 200, 0, window=(dt.time(22), dt.time(6)))

    def ids(items: list[dict]) -> list[int]:
        return [i["building_id"] for i in items]

    both = await _found(client, resident)
    assert ids(both) == [evening["id"], late["id"]]
    assert _same_instants(both[0]["window"], at(night, 19), at(night, 8))
    assert _same_instants(
        {"start": both[1]["arrive"], "end": both[1]["depart"]},
        at(night, 22),
        at(night, 6),
    )
    at_20 = await _found(
        client, resident, arrive=at(night, 20).isoformat(), depart=at(night, 23).isoformat()
    )
    assert ids(at_20) == [evening["id"]]
    assert _same_instants(
        {"start": at_20[0]["arrive"], "end": at_20[0]["depart"]}, at(night, 20), at(night, 23)
    )
    # Before the window opens, or past its end: no place matches.
    assert (
        await _found(
            client,
            resident,
            arrive=at(night, 17).isoformat(),
            depart=at(night, 20).isoformat(),
        )
        == []
    )
    assert (
        await _found(
            client,
            resident,
            arrive=at(night, 23).isoformat(),
            depart=at(night, 9).isoformat(),
        )
        == []
    )
    # Only an arrival: the stay runs to the end of the window it falls in.
    arrive_only = await _found(client, resident, arrive=at(night, 23).isoformat())
    assert ids(arrive_only) == [evening["id"], late["id"]]
    assert _same_instants(
        {"start": arrive_only[1]["arrive"], "end": arrive_only[1]["depart"]},
        at(night, 23),
        at(night, 6),
    )
    # Only a departure: from the start of its window.
    depart_only = await _found(client, resident, depart=at(night, 7).isoformat())
    assert ids(depart_only) == [evening["id"]]


async def test_a_window_whose_evening_is_blacked_out_is_priced_on_its_night(
    client, conn, manager, resident
) -> None:
    night = tomorrow()
    place = await _place(client, conn, manager, 100, 0, window=(dt.time(19), dt.time(8)))
    await conn.execute(
        "INSERT INTO blackouts (building_id, period) VALUES ($1, tstzrange($2, $3))",
        place["id"],
        at(night, 18),
        at(night, 2),
    )
    [item] = await _found(client, resident)
    assert item["building_id"] == place["id"]
    assert _same_instants(item["window"], at(night, 2), at(night, 8))
    assert (item["price_fen"], item["bookable"]) == (1000, True)


def _same_instants(window: dict, start: dt.datetime, end: dt.datetime) -> bool:
    return (
        dt.datetime.fromisoformat(window["start"]) == start
        and dt.datetime.fromisoformat(window["end"]) == end
    )


async def test_price_is_the_buildings_fee_under_its_plan(client, conn, manager, resident) -> None:
    await _place(client, conn, manager, 100, 0, flat_fee_fen=1500)
    await _place(client, conn, manager, 200, 0, flat_fee_fen=1000, monthly_pass_fen=30000)
    items = await _found(client, resident)
    assert [(i["price_fen"], i["bookable"]) for i in items] == [(1500, True), (1000, True)]


async def test_pages_are_stable_and_complete(client, conn, manager, resident) -> None:
    # 23 places; three pairs stand at the same distance, so ties fall back to the id.
    placed = []
    for n in range(20):
        placed.append(await _place(client, conn, manager, 30 * (n + 1), 0))
    for n in (2, 7, 11):
        placed.append(await _place(client, conn, manager, -30 * (n + 1), 0))
    expected = [
        b["id"]
        for b in sorted(
            placed,
            key=lambda b: (
                round_walk_m(haversine_m(ORIGIN[0], ORIGIN[1], b["lat"], b["lon"])),
                b["id"],
            ),
        )
    ]
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        response = await _search(client, resident, limit=7, cursor=cursor)
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["total"] == 23
        seen.extend(i["building_id"] for i in page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected and pages == 4
    by_offset: list[int] = []
    for start in range(0, 23, 10):
        by_offset.extend(
            i["building_id"] for i in await _found(client, resident, limit=10, offset=start)
        )
    assert by_offset == expected
    # A place added behind the cursor does not shift the pages that follow it.
    first = (await _search(client, resident, limit=5)).json()
    await _place(client, conn, manager, 1, 0)
    second = (await _search(client, resident, limit=5, cursor=first["next_cursor"])).json()
    assert [i["building_id"] for i in second["items"]] == expected[5:10]


async def test_the_default_point_is_the_residents_compound(client, conn, manager) -> None:
    home = offset(2000, 0)
    headers = (await make_resident(conn, compound="北丽园", lat=home[0], lon=home[1])).headers
    near_home = await _place(client, conn, manager, 2100, 0)
    await _place(client, conn, manager, 0, 0)
    response = await _search(client, headers, lat=None, lon=None)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["point"] == {"lat": home[0], "lon": home[1], "source": "home"}
    assert [(i["building_id"], i["walk_m"]) for i in page["items"]] == [(near_home["id"], 100)]


async def test_without_a_home_a_point_is_required(client, conn, resident, manager) -> None:
    assert_problem(await _search(client, resident, lat=None, lon=None), 422, "location-required")
    # Managers and admins search too, from a point they give.
    assert (await _search(client, manager)).status_code == 200


@pytest.mark.parametrize(
    ("params", "type_"),
    [
        ({"radius_m": 0}, "validation-error"),
        ({"radius_m": 5001}, "validation-error"),
        ({"limit": 0}, "validation-error"),
        ({"limit": 101}, "validation-error"),
        ({"lat": 91}, "validation-error"),
        ({"lon": -181}, "validation-error"),
        ({"night": "tomorrow"}, "validation-error"),
        ({"offset": -1}, "validation-error"),
        ({"ev": "maybe"}, "validation-error"),
        ({"arrive": "20:00"}, "validation-error"),
        ({"lon": None}, "location-incomplete"),
        ({"arrive": "2026-12-01T20:00:00"}, "time-zone-required"),
        (
            {"arrive": "2026-12-01T22:00:00+08:00", "depart": "2026-12-01T21:00:00+08:00"},
            "invalid-interval",
        ),
        ({"cursor": "not-a-cursor!"}, "invalid-cursor"),
        ({"cursor": "MTAwOjE", "offset": 5}, "pagination-conflict"),
        ({"night": "2020-01-01"}, "night-in-past"),
    ],
)
async def test_bad_input_is_422(client, conn, resident, params, type_) -> None:
    assert_problem(await _search(client, resident, **params), 422, type_)


async def test_search_needs_a_signed_in_user(client) -> None:
    response = await client.get("/places", params={"lat": ORIGIN[0], "lon": ORIGIN[1]})
    assert response.status_code == 401


async def test_default_night_is_today(client, conn, manager, resident) -> None:
    response = await _search(client, resident, night=None)
    assert response.status_code == 200
    assert response.json()["night"] == local_today().isoformat()


async def test_tonight_counts_from_now(client, conn, manager, resident) -> None:
    """The part of tonight's window that is over is not offered, and what ended in it
    does not count against the rest."""
    now = dt.datetime.now(TZ).replace(second=0, microsecond=0)
    opened = now - dt.timedelta(hours=1)
    closes = now + dt.timedelta(hours=2)
    b = await _place(client, conn, manager, 100, 0, spaces=2, window=(opened.time(), closes.time()))
    # Left twenty minutes ago: that space is free for the rest of the window.
    await insert_reservation(
        conn, space_id=b["space_ids"][0], start=opened, end=now - dt.timedelta(minutes=20)
    )
    before = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    [item] = await _found(client, resident, night=opened.date().isoformat())
    after = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    assert before <= dt.datetime.fromisoformat(item["arrive"]) <= after
    assert _same_instants(item["window"], opened, closes)
    assert item["free"] == 2


async def test_times_are_local_with_their_offset(client, conn, manager, resident) -> None:
    await _place(client, conn, manager, 100, 0)
    (item,) = await _found(client, resident)
    night = tomorrow()
    assert item["window"] == {"start": at(night, 19).isoformat(), "end": at(night, 8).isoformat()}
    assert (item["arrive"], item["depart"]) == (at(night, 19).isoformat(), at(night, 8).isoformat())
    assert item["arrive"].endswith("+08:00")
