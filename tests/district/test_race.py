"""A platform booking and local bookings racing for the last free space: exactly one wins.

The operator's app is served over HTTP from its own thread; the simulator (another
thread) sends the platform's booking while residents' bookings go in at the same time.
"""

from __future__ import annotations

import asyncio

import asyncpg
import httpx

from integrations.district.simulator import PlatformSimulator
from parking.settings import Settings
from tests.district.conftest import booking
from tests.factories import (
    at,
    booking_body,
    booking_headers,
    make_building,
    make_resident,
    random_plate,
    tomorrow,
)

ROUNDS = 6
LOCAL_RACERS = 4


async def test_an_inbound_booking_racing_local_ones_for_the_last_space_exactly_one_wins(
    conn: asyncpg.Connection,
    district_settings: Settings,
    sim: PlatformSimulator,
    served: str,
) -> None:
    night = tomorrow()
    winners = {"platform": 0, "local": 0}
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        for round_ in range(ROUNDS):
            # New cars each round: a car that won a round is busy that night.
            residents = [await make_resident(conn, district_settings) for _ in range(LOCAL_RACERS)]
            building = await make_building(conn, spaces=3)
            place_id = await conn.fetchval(
                "SELECT district_place_id FROM buildings WHERE id = $1", building.id
            )
            # Two of the three spaces are taken: one is left.
            for space_id in building.space_ids[:2]:
                await conn.execute(
                    "INSERT INTO reservations (plate, building_id, space_id, night, stay, status,"
                    " source) VALUES ($1, $2, $3, $4, tstzrange($5, $6), 'confirmed', 'platform')",
                    f"粤B9{round_}{space_id % 1000:03d}",
                    building.id,
                    space_id,
                    night,
                    at(night, 19),
                    at(night, 7),
                )
            platform = asyncio.to_thread(
                sim.book, booking(place_id, random_plate(), at(night, 20), at(night, 23))
            )
            locals_ = [
                http.post(
                    "/reservations",
                    json=booking_body(
                        building, r, night, arrive=at(night, 20), depart=at(night, 23)
                    ),
                    headers=booking_headers(r),
                )
                for r in residents
            ]
            answers = await asyncio.gather(platform, *locals_)
            platform_status = answers[0]["status"]
            local_statuses = [a.status_code for a in answers[1:]]
            statuses = [platform_status, *local_statuses]
            assert statuses.count(201) == 1, statuses
            assert all(s in (201, 409) for s in statuses), statuses
            winners["platform" if platform_status == 201 else "local"] += 1
            active = await conn.fetchval(
                "SELECT count(*) FROM reservations WHERE building_id = $1 AND status = 'confirmed'",
                building.id,
            )
            assert active == 3
    assert sum(winners.values()) == ROUNDS
