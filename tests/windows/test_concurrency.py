"""A blackout and a booking racing for the same night: never both, never a booking in a blackout."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

from tests.factories import add_building, add_space, add_window, local, local_today, make_resident
from tests.helpers import login_headers
from tests.windows.test_api import manager_with_building

ROUNDS = 12
# Each side starts 0 to 15 ms after the other in turn, so that both win some races.
STEP_S = 0.005


async def _later(delay_s: float, request):
    await asyncio.sleep(delay_s)
    return await request


async def test_a_blackout_and_a_booking_of_the_same_night_never_both_win(client, conn) -> None:
    headers, building = await manager_with_building(client, conn)
    await add_space(conn, building)
    await add_window(conn, building, dt.time(19), dt.time(8), dt.date(2026, 1, 1))
    driver = await make_resident(conn, plates=("粤B6K123",))
    resident = await login_headers(client, driver.email)
    vehicle = driver.vehicle_id
    await add_building(conn)  # an unrelated building, so ids are not all equal by chance
    today = local_today()

    outcomes = []
    for i in range(ROUNDS):
        night = today + dt.timedelta(days=2 + i)
        blackout = {
            "start": local(night, 18).isoformat(),
            "end": local(night + dt.timedelta(days=1), 9).isoformat(),
        }
        booking = {"building_id": building, "night": night.isoformat(), "vehicle_id": vehicle}
        black, book = await asyncio.gather(
            _later(
                STEP_S * ((i + 2) % 4),
                client.post(f"/buildings/{building}/blackouts", json=blackout, headers=headers),
            ),
            _later(
                STEP_S * (i % 4),
                client.post(
                    "/reservations",
                    json=booking,
                    headers={**resident, "Idempotency-Key": uuid.uuid4().hex},
                ),
            ),
        )
        outcomes.append((black.status_code, book.status_code))
        # The booking that loses finds no window left (422) or no space (409).
        assert (black.status_code, book.status_code) in {(201, 422), (201, 409), (409, 201)}, (
            black.text,
            book.text,
        )
        if black.status_code == 409:
            assert black.json()["type"] == "window-conflicts"
            assert black.json()["reservation_ids"] == [book.json()["id"]]

    stranded = await conn.fetchval(
        "SELECT count(*) FROM reservations r JOIN blackouts b ON b.building_id = r.building_id"
        " WHERE r.status IN ('held', 'confirmed', 'checked_in') AND r.stay && b.period"
    )
    assert stranded == 0
    blackouts = await conn.fetchval("SELECT count(*) FROM blackouts")
    bookings = await conn.fetchval("SELECT count(*) FROM reservations")
    assert blackouts + bookings == ROUNDS, outcomes
