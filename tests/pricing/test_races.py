"""Plan changes racing the sales they govern: a withdrawal and a pass sold under the
version being withdrawn never both happen."""

from __future__ import annotations

import asyncio

import asyncpg

from parking.clock import utc_now
from parking.db import connect
from parking.passes.schemas import NewPass
from parking.passes.service import buy_pass
from parking.security import AuthUser
from pricing import service
from pricing.plans import default_switch_date
from tests.factories import TZ, add_plan, make_building, make_manager, make_resident, night_in


async def _waiting_on_a_lock(conn: asyncpg.Connection, pid: int, task: asyncio.Task) -> None:
    """Until ``task`` is done or its backend ``pid`` waits on a lock (no time limit: the
    test's own timeout bounds it)."""
    while not task.done():
        if await conn.fetchval(
            "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pid
        ):
            return
        await asyncio.sleep(0.01)


async def test_a_pass_bought_while_its_version_is_withdrawn_is_priced_by_the_one_left(
    conn, db_dsn, settings
) -> None:
    manager = await make_manager(conn)
    building = await make_building(
        conn, manager_id=manager.id, fee_fen=None, monthly_pass_fen=30000, spaces=2
    )
    next_month = default_switch_date(night_in(0))
    await add_plan(
        conn,
        building.id,
        mode="monthly",
        per_use_fee_fen=None,
        monthly_fee_fen=20000,
        effective_from=next_month,
    )
    resident = await make_resident(conn)
    withdrawer = await connect(db_dsn)
    buyer = await connect(db_dsn)
    try:
        withdrawal = withdrawer.transaction()
        await withdrawal.start()
        await service.withdraw_plan(
            withdrawer, AuthUser(manager.id, "manager"), building.id, 2, now=utc_now(), tz=TZ
        )
        buyer_pid = buyer.get_server_pid()

        async def buy():
            async with buyer.transaction():
                return await buy_pass(
                    buyer,
                    resident.id,
                    NewPass(
                        building_id=building.id,
                        vehicle_id=resident.vehicle_id,
                        month=f"{next_month:%Y-%m}",
                    ),
                    now=utc_now(),
                    settings=settings,
                )

        purchase = asyncio.create_task(buy())
        await _waiting_on_a_lock(conn, buyer_pid, purchase)
        await withdrawal.commit()
        bought = await purchase
    finally:
        await withdrawer.close()
        await buyer.close()

    # The withdrawal came first, so version 1 (30000 fen) priced the pass.
    row = await conn.fetchrow(
        "SELECT p.price_fen, pl.version, pl.withdrawn_at IS NOT NULL AS withdrawn"
        " FROM passes p JOIN price_plans pl ON pl.id = p.plan_id WHERE p.id = $1",
        bought.id,
    )
    assert (row["version"], row["withdrawn"]) == (1, False)
    assert row["price_fen"] == 30000
    charged = await conn.fetchval(
        "SELECT amount_fen FROM charges WHERE pass_id = $1 AND kind = 'pass'", bought.id
    )
    assert charged == 30000


async def test_a_version_taking_effect_is_announced_while_bookings_priced_by_it_are_written(
    conn, db_dsn
) -> None:
    building = await make_building(conn, spaces=1)  # version 1, never announced
    plan_id = await conn.fetchval(
        "SELECT id FROM price_plans WHERE building_id = $1 AND version = 1", building.id
    )
    booking = await connect(db_dsn)
    try:
        async with booking.transaction():
            # What an uncommitted booking priced by the version holds: its foreign key's
            # KEY SHARE lock on the version's row.
            await booking.execute("SELECT 1 FROM price_plans WHERE id = $1 FOR KEY SHARE", plan_id)
            assert await service.announce_rates(conn, utc_now(), TZ) == 1
    finally:
        await booking.close()
    assert (
        await conn.fetchval("SELECT count(*) FROM rates_announcements WHERE plan_id = $1", plan_id)
        == 1
    )
