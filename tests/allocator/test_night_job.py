"""The night job end to end on a real database: what it reads, what it writes, and that it
is safe to repeat and to run from several workers at once."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import subprocess
import sys

import asyncpg
import pytest

from allocator import repository
from allocator.job import RETRY_AFTER_FAILURE, run_due_nights, run_night
from parking.requests.service import cutoff_at
from parking.settings import Settings
from parking.sweeps import mark_no_shows
from tests.conftest import REPO_ROOT
from tests.factories import (
    add_blackout,
    add_plan,
    at,
    insert_allocation_request,
    insert_pass,
    insert_reservation,
    make_building,
    make_resident,
    night_in,
    outbox_rows,
)
from tests.helpers import parking


def _after_cutoff(night: dt.date, settings: Settings) -> dt.datetime:
    return cutoff_at(night, settings) + dt.timedelta(minutes=1)


async def _requests(conn: asyncpg.Connection, night: dt.date) -> dict[int, asyncpg.Record]:
    rows = await conn.fetch(
        "SELECT id, status, not_allocated_reason, weight, reservation_id, run_id"
        " FROM allocation_requests WHERE night = $1",
        night,
    )
    return {r["id"]: r for r in rows}


async def _allocated(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, user_id, space_id, lower(stay) AS start, upper(stay) AS end, status,"
        " fee_fen, kind FROM reservations WHERE source = 'allocation' ORDER BY id"
    )


async def _overlapping_active_pairs(conn: asyncpg.Connection) -> int:
    return await conn.fetchval(
        """SELECT count(*) FROM reservations a JOIN reservations b
           ON a.space_id = b.space_id AND a.id < b.id AND a.stay && b.stay
           WHERE a.status IN ('held', 'confirmed', 'checked_in')
             AND b.status IN ('held', 'confirmed', 'checked_in')"""
    )


async def _two_requests_for_two_spaces(conn, settings):
    """Tomorrow night, a building of two spaces and two residents' requests for it: the
    building, the night, and a time after its cutoff."""
    night = night_in(1)
    building = await make_building(conn, spaces=2)
    for _ in range(2):
        await insert_allocation_request(conn, await make_resident(conn), night)
    return building, night, _after_cutoff(night, settings)


async def _built_and_solved(job_conn, night, settings, now):
    """The night job's first steps on ``job_conn``: its pending requests, the instance
    built from the database, and the solution (the write is the caller's)."""
    from allocator import job

    pending = await repository.pending_requests(job_conn, night)
    built = await job._build(job_conn, night, pending, settings, now)
    return (
        pending,
        built,
        job._solve(built.instance, job._Solver(time_limit_s=5, workers=1, seed=0)),
    )


async def test_serves_what_fits_around_bookings_and_pass_nights(
    conn: asyncpg.Connection, pool: asyncpg.Pool, settings: Settings
) -> None:
    night = night_in(1)
    building = await make_building(conn, spaces=3)
    booked, passed, free = building.space_ids
    other = await make_resident(conn)
    await insert_reservation(
        conn, space_id=booked, resident=other, start=at(night, 19), end=at(night, 23)
    )
    holder = await make_resident(conn)
    pass_id = await insert_pass(
        conn, building_id=building.id, resident=holder, month=night.replace(day=1)
    )
    await insert_reservation(
        conn,
        space_id=passed,
        resident=holder,
        pass_id=pass_id,
        start=at(night, 19),
        end=at(night, 7),
    )
    late, whole_a, whole_b = [await make_resident(conn) for _ in range(3)]
    late_id = await insert_allocation_request(conn, late, night, arrive=at(night, 23, 30))
    whole_ids = [
        await insert_allocation_request(conn, whole_a, night),
        await insert_allocation_request(conn, whole_b, night),
    ]

    result = await run_night(pool, night, settings, now=_after_cutoff(night, settings))

    assert result.outcome == "completed"
    assert (result.status, result.requests, result.served, result.not_allocated) == (
        "optimal",
        3,
        2,
        1,
    )
    assert result.objective is not None and result.objective.served_weight == 2
    decided = await _requests(conn, night)
    # Only the booked space's evening is left for the late arrival (23:00 + 10 min
    # turnover), so serving two needs it there and the free space for one of the others.
    assert decided[late_id]["status"] == "allocated"
    assert sorted(decided[i]["status"] for i in whole_ids) == ["allocated", "not_allocated"]
    written = {r["id"]: r for r in await _allocated(conn)}
    assert len(written) == 2
    late_reservation = written[decided[late_id]["reservation_id"]]
    assert late_reservation["space_id"] == booked
    assert late_reservation["start"] == at(night, 23, 30)
    served_whole = next(i for i in whole_ids if decided[i]["status"] == "allocated")
    assert written[decided[served_whole]["reservation_id"]]["space_id"] == free
    assert {(r["status"], r["kind"], r["fee_fen"]) for r in written.values()} == {
        ("confirmed", "booking", 1000)
    }
    assert await _overlapping_active_pairs(conn) == 0
    # The platform learns of each reservation and of the night's availability.
    messages = await outbox_rows(conn)
    reservation_keys = {m["entity_key"] for m in messages if m["entity_kind"] == "reservation"}
    assert reservation_keys == {f"r-{rid}" for rid in written}
    availability = [m for m in messages if m["entity_kind"] == "availability"]
    assert [m["payload"]["free"] for m in availability] == [0]
    assert availability[0]["entity_key"].endswith(night.isoformat())
    run = await conn.fetchrow("SELECT * FROM allocation_runs")
    assert run["id"] == result.run_id
    assert (run["status"], run["requests"], run["served"], run["not_allocated"]) == (
        "optimal",
        3,
        2,
        1,
    )
    assert (run["served_weight"], run["bound_served_weight"]) == (2, 2)
    assert re.fullmatch(r"[0-9a-f]{64}", run["instance_sha256"])
    assert run["instance_sha256"] == result.instance_sha256
    assert min(run["build_ms"], run["solve_ms"], run["write_ms"]) >= 0
    assert {r["run_id"] for r in decided.values()} == {run["id"]}


async def test_blackouts_and_nights_without_single_sales_offer_nothing(
    conn: asyncpg.Connection, pool: asyncpg.Pool, settings: Settings
) -> None:
    night = night_in(1)
    dark = await make_building(conn, spaces=1)
    await add_blackout(conn, dark.id, at(night, 19), at(night, 22))
    await make_building(conn, spaces=1, fee_fen=None, monthly_pass_fen=30_000)
    whole, late = await make_resident(conn), await make_resident(conn)
    whole_id = await insert_allocation_request(conn, whole, night)
    late_id = await insert_allocation_request(conn, late, night, arrive=at(night, 22))

    result = await run_night(pool, night, settings, now=_after_cutoff(night, settings))

    assert result.spaces == 1  # the pass-only building offers none
    decided = await _requests(conn, night)
    assert decided[whole_id]["status"] == "not_allocated"
    assert decided[late_id]["status"] == "allocated"
    [written] = await _allocated(conn)
    assert written["space_id"] == dark.space_ids[0]


async def test_refuses_without_solving_what_cannot_be_served(
    conn: asyncpg.Connection, pool: asyncpg.Pool, settings: Settings
) -> None:
    """A car booked elsewhere that night, a resident no longer verified, a stay over."""
    night = night_in(1)
    building = await make_building(conn, spaces=4)
    elsewhere = await make_building(conn, spaces=1)
    busy, unverified, over, fine = [await make_resident(conn) for _ in range(4)]
    await insert_reservation(
        conn,
        space_id=elsewhere.space_ids[0],
        resident=busy,
        start=at(night, 20),
        end=at(night, 6),
    )
    ids = {
        "busy": await insert_allocation_request(conn, busy, night),
        "unverified": await insert_allocation_request(conn, unverified, night),
        "over": await insert_allocation_request(
            conn, over, night, arrive=at(night, 19), depart=at(night, 20)
        ),
        "fine": await insert_allocation_request(conn, fine, night),
    }
    await conn.execute("DELETE FROM residencies WHERE user_id = $1", unverified.id)

    result = await run_night(pool, night, settings, now=at(night, 21))

    decided = await _requests(conn, night)
    assert {
        name: (decided[i]["status"], decided[i]["not_allocated_reason"]) for name, i in ids.items()
    } == {
        "busy": ("not_allocated", "set_aside"),
        "unverified": ("not_allocated", "set_aside"),
        "over": ("not_allocated", "set_aside"),
        "fine": ("allocated", None),
    }
    assert (result.requests, result.served) == (4, 1)
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM reservations WHERE space_id = ANY($1::bigint[])",
            building.space_ids,
        )
        == 1
    )


async def test_a_rerun_finds_nothing_and_writes_nothing(
    conn: asyncpg.Connection, pool: asyncpg.Pool, settings: Settings
) -> None:
    night = night_in(1)
    await make_building(conn, spaces=1)
    for _ in range(3):
        await insert_allocation_request(conn, await make_resident(conn), night)
    now = _after_cutoff(night, settings)
    first = await run_night(pool, night, settings, now=now)
    assert (first.outcome, first.served) == ("completed", 1)
    tables = ("reservations", "outbox", "allocation_runs", "entity_versions")
    before = {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in tables}
    decided = await _requests(conn, night)

    again = await run_night(pool, night, settings, now=now + dt.timedelta(minutes=5))
    due = await run_due_nights(pool, settings, now + dt.timedelta(minutes=5))

    assert again.outcome == "nothing_pending"
    assert due == []
    assert {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in tables} == before
    assert await _requests(conn, night) == decided


async def test_two_concurrent_runs_of_a_night_write_once(
    conn: asyncpg.Connection, pool: asyncpg.Pool, settings: Settings
) -> None:
    night = night_in(1)
    await make_building(conn, spaces=3)
    for _ in range(5):
        await insert_allocation_request(conn, await make_resident(conn), night)
    now = _after_cutoff(night, settings)

    results = await asyncio.gather(
        run_night(pool, night, settings, now=now), run_night(pool, night, settings, now=now)
    )

    outcomes = sorted(r.outcome for r in results)
    assert outcomes in (["busy", "completed"], ["completed", "nothing_pending"])
    assert await conn.fetchval("SELECT count(*) FROM allocation_runs") == 1
    assert len(await _allocated(conn)) == 3
    assert await _overlapping_active_pairs(conn) == 0


async def test_a_night_another_run_holds_is_left_alone(
    conn: asyncpg.Connection, pool: asyncpg.Pool, settings: Settings
) -> None:
    night = night_in(1)
    await make_building(conn, spaces=1)
    request_id = await insert_allocation_request(conn, await make_resident(conn), night)
    now = _after_cutoff(night, settings)
    holder = await pool.acquire()
    try:
        async with holder.transaction():
            assert await repository.try_lock_night(holder, night)
            held = await run_night(pool, night, settings, now=now)
            other_night = await run_night(pool, night + dt.timedelta(days=1), settings, now=now)
    finally:
        await pool.release(holder)
    assert held.outcome == "busy"
    assert other_night.outcome == "nothing_pending"  # the lock is the night's alone
    assert (await _requests(conn, night))[request_id]["status"] == "pending"
    assert await _allocated(conn) == []

    released = await run_night(pool, night, settings, now=now)
    assert (released.outcome, released.served) == ("completed", 1)


async def test_two_processes_allocating_one_night_write_once(
    conn: asyncpg.Connection, db_dsn: str
) -> None:
    night = night_in(1)
    await make_building(conn, spaces=2)
    for _ in range(4):
        await insert_allocation_request(conn, await make_resident(conn), night)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARKING_")}
    env["PARKING_DATABASE_URL"] = db_dsn

    def race() -> list[tuple[int, str]]:
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "parking", "allocate", "--night", night.isoformat()],
                cwd=REPO_ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [p.communicate(timeout=120) for p in processes]
        return [(p.returncode, "".join(o)) for p, o in zip(processes, outputs, strict=True)]

    finished = await asyncio.to_thread(race)

    winners = [out for _, out in finished if "2 of 4 requests allocated" in out]
    assert len(winners) == 1, finished
    [(code, loser)] = [(c, out) for c, out in finished if out not in winners]
    # The other either found the night held (and says so, exit 1) or already decided.
    assert (code, "another run is allocating it" in loser) == (1, True) or (
        code,
        "nothing to do" in loser,
    ) == (0, True), finished
    assert await conn.fetchval("SELECT count(*) FROM allocation_runs") == 1
    assert len(await _allocated(conn)) == 2


async def test_hand_run_prints_a_summary(
    conn: asyncpg.Connection, db_dsn: str, settings: Settings
) -> None:
    night = night_in(2)
    await make_building(conn, spaces=1)
    for _ in range(2):
        await insert_allocation_request(conn, await make_resident(conn), night)

    result = await asyncio.to_thread(
        parking, "allocate", "--night", night.isoformat(), "--time-limit", "5", "--workers", "1",
        dsn=db_dsn,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "optimal: 1 of 2 requests allocated, 1 not allocated, 1 spaces offered" in (
        result.stdout
    )
    assert "served weight 1 (bound 1)" in result.stdout
    assert "before its cutoff" in result.stderr
    run = await conn.fetchrow("SELECT time_limit_s, workers FROM allocation_runs")
    assert (run["time_limit_s"], run["workers"]) == (5.0, 1)
    again = await asyncio.to_thread(parking, "allocate", "--night", night.isoformat(), dsn=db_dsn)
    assert again.returncode == 0 and "nothing to do" in again.stdout


@pytest.mark.parametrize("bad", ["2026-13-01", "tomorrow"])
def test_hand_run_refuses_a_bad_night(db_dsn: str, bad: str) -> None:
    result = parking("allocate", "--night", bad, dsn=db_dsn)
    assert result.returncode == 2
    assert "--night" in result.stderr


async def test_due_nights_are_those_past_their_cutoff(
    conn: asyncpg.Connection, pool: asyncpg.Pool, settings: Settings
) -> None:
    first, second = night_in(1), night_in(2)
    await make_building(conn, spaces=2)
    resident = await make_resident(conn)
    first_id = await insert_allocation_request(conn, resident, first)
    second_id = await insert_allocation_request(conn, resident, second)
    now = _after_cutoff(first, settings)

    before = await run_due_nights(pool, settings, now - dt.timedelta(minutes=2))
    runs = await run_due_nights(pool, settings, now)

    assert before == []
    assert [(r.night, r.outcome) for r in runs] == [(first, "completed")]
    assert (await _requests(conn, first))[first_id]["status"] == "allocated"
    assert (await _requests(conn, second))[second_id]["status"] == "pending"


async def test_a_night_that_cannot_be_built_is_recorded_as_failed(
    conn: asyncpg.Connection, pool: asyncpg.Pool, settings: Settings
) -> None:
    """A stay off the whole minute (never written by the API) breaks the instance."""
    night = night_in(1)
    await make_building(conn, spaces=1)
    request_id = await insert_allocation_request(
        conn, await make_resident(conn), night, arrive=at(night, 20) + dt.timedelta(seconds=30)
    )

    result = await run_night(pool, night, settings, now=_after_cutoff(night, settings))

    assert result.outcome == "failed"
    assert result.error is not None and "whole minute" in result.error
    run = await conn.fetchrow("SELECT id, status, error FROM allocation_runs")
    assert (run["id"], run["status"]) == (result.run_id, "failed")
    assert (await _requests(conn, night))[request_id]["status"] == "pending"
    assert await _allocated(conn) == []
    # The worker leaves it alone for a while, then tries again.
    now = _after_cutoff(night, settings)
    assert await run_due_nights(pool, settings, now) == []
    await conn.execute(
        "UPDATE allocation_runs SET started_at = started_at - $1::interval,"
        " finished_at = finished_at - $1::interval",
        RETRY_AFTER_FAILURE + dt.timedelta(seconds=1),
    )
    [retried] = await run_due_nights(pool, settings, now)
    assert retried.outcome == "failed"
    assert await conn.fetchval("SELECT count(*) FROM allocation_runs") == 2


async def test_nobody_is_refused_night_after_night_for_a_contested_space(
    conn: asyncpg.Connection, pool: asyncpg.Pool, settings: Settings
) -> None:
    """Three neighbours ask for the same single space with the same options six nights
    running: the fairness weight rotates it, so each is served twice and nobody is
    refused more than two nights in a row."""
    await make_building(conn, spaces=1)
    neighbours = [await make_resident(conn) for _ in range(3)]
    served_by_night = []
    weights = []
    for day in range(1, 7):
        night = night_in(day)
        ids = {await insert_allocation_request(conn, r, night): r.id for r in neighbours}
        result = await run_night(pool, night, settings, now=_after_cutoff(night, settings))
        assert (result.outcome, result.served) == ("completed", 1)
        decided = await _requests(conn, night)
        [served] = [ids[i] for i, row in decided.items() if row["status"] == "allocated"]
        served_by_night.append(served)
        weights.append({ids[i]: row["weight"] for i, row in decided.items()})

    assert sorted(served_by_night.count(r.id) for r in neighbours) == [2, 2, 2]
    for r in neighbours:
        streak = longest = 0
        for served in served_by_night:
            streak = 0 if served == r.id else streak + 1
            longest = max(longest, streak)
        assert longest <= 2
    # The one served each night from the third on had been refused the two nights before.
    for night_index in range(2, 6):
        winner = served_by_night[night_index]
        assert weights[night_index][winner] == 3
        assert winner not in served_by_night[night_index - 2 : night_index]


async def test_a_request_set_aside_before_solving_is_no_refusal_for_fairness(
    conn: asyncpg.Connection, pool: asyncpg.Pool, settings: Settings
) -> None:
    """Night 1: one resident's car is already booked (set aside before solving), two
    neighbours contest the one free space (one is refused by the allocation). Night 2: only
    the refused neighbour gains weight; the set-aside night ends a streak as a night
    withdrawn does."""
    night_1, night_2 = night_in(1), night_in(2)
    building = await make_building(conn, spaces=2)
    parked, first, second = [await make_resident(conn) for _ in range(3)]
    await insert_reservation(
        conn,
        space_id=building.space_ids[0],
        resident=parked,
        start=at(night_1, 19),
        end=at(night_1, 7),
    )
    ids_1 = {
        await insert_allocation_request(conn, r, night_1): r.id for r in (parked, first, second)
    }
    await run_night(pool, night_1, settings, now=_after_cutoff(night_1, settings))
    decided_1 = {ids_1[i]: row for i, row in (await _requests(conn, night_1)).items()}
    assert (decided_1[parked.id]["status"], decided_1[parked.id]["not_allocated_reason"]) == (
        "not_allocated",
        "set_aside",
    )
    [refused] = [
        uid for uid in (first.id, second.id) if decided_1[uid]["not_allocated_reason"] == "refused"
    ]
    [served] = [uid for uid in (first.id, second.id) if uid != refused]

    ids_2 = {
        await insert_allocation_request(conn, r, night_2): r.id for r in (parked, first, second)
    }
    await run_night(pool, night_2, settings, now=_after_cutoff(night_2, settings))
    decided_2 = {ids_2[i]: row for i, row in (await _requests(conn, night_2)).items()}
    assert {uid: row["weight"] for uid, row in decided_2.items()} == {
        parked.id: 1,
        refused: 2,
        served: 1,
    }


async def test_a_space_booked_while_the_solver_ran_is_not_given_twice(
    conn: asyncpg.Connection, pool: asyncpg.Pool, settings: Settings
) -> None:
    """The job's steps one by one, with a booking committed between solve and write: the
    exclusion constraint keeps it, and the request it displaced is not_allocated."""
    from allocator import job

    _, night, now = await _two_requests_for_two_spaces(conn, settings)

    async with pool.acquire() as job_conn, job_conn.transaction():
        pending, built, solution = await _built_and_solved(job_conn, night, settings, now)
        assert len(solution.assignments) == 2
        taken = solution.assignments[0]
        walk_in = await make_resident(conn)
        await insert_reservation(
            conn,
            space_id=int(taken.space),
            resident=walk_in,
            start=at(night, 19),
            end=at(night, 7),
        )
        decisions = await job._write(job_conn, built, solution, pending, settings, now)

    by_request = {d.request_id: d.status for d in decisions}
    assert by_request[int(taken.request)] == "not_allocated"
    assert sorted(by_request.values()) == ["allocated", "not_allocated"]
    # Losing the space to a claim made meanwhile is a refusal by the allocation.
    assert {d.request_id: d.reason for d in decisions}[int(taken.request)] == "refused"
    assert len(await _allocated(conn)) == 1
    assert await _overlapping_active_pairs(conn) == 0


async def test_an_allocation_keeps_the_plan_version_that_priced_it(
    conn: asyncpg.Connection, pool: asyncpg.Pool, settings: Settings
) -> None:
    night = night_in(1)
    building = await make_building(conn, spaces=1)
    pricing_plan = await conn.fetchval(
        "SELECT id FROM price_plans WHERE building_id = $1", building.id
    )
    resident = await make_resident(conn)
    await insert_allocation_request(conn, resident, night)
    result = await run_night(pool, night, settings, now=_after_cutoff(night, settings))
    assert result.served == 1

    # After the run the manager adds a version for the same night with a no-show fee; a
    # booking made before it keeps its own version's terms, and so must the allocation.
    await add_plan(conn, building.id, effective_from=night, no_show_fee_fen=5000)
    late = at(night, 19) + dt.timedelta(minutes=settings.arrival_grace_minutes + 1)
    assert await mark_no_shows(conn, late, settings.arrival_grace_minutes, settings.tz) == 1

    row = await conn.fetchrow(
        "SELECT plan_id, status, fee_fen FROM reservations WHERE source = 'allocation'"
    )
    assert (row["plan_id"], row["status"], row["fee_fen"]) == (pricing_plan, "no_show", 0)
    assert await conn.fetchval("SELECT count(*) FROM charges WHERE kind = 'no_show'") == 0


async def test_a_district_suspension_over_the_night_is_not_offered(
    conn: asyncpg.Connection, pool: asyncpg.Pool, settings: Settings
) -> None:
    """A suspension the platform scheduled (the building still active at the cutoff) is
    subtracted like a blackout: a booking for that time is refused, and an allocation there
    would be cancelled when the period begins."""
    night = night_in(1)
    building = await make_building(conn, spaces=2)  # room for both but for the suspension
    await conn.execute(
        "INSERT INTO place_suspensions (building_id, period) VALUES ($1, tstzrange($2, $3))",
        building.id,
        at(night, 21),
        at(night, 23),
    )
    whole, late = await make_resident(conn), await make_resident(conn)
    whole_id = await insert_allocation_request(conn, whole, night)
    late_id = await insert_allocation_request(conn, late, night, arrive=at(night, 23, 30))

    result = await run_night(pool, night, settings, now=_after_cutoff(night, settings))

    assert result.outcome == "completed"
    decided = await _requests(conn, night)
    assert (decided[whole_id]["status"], decided[late_id]["status"]) == (
        "not_allocated",
        "allocated",
    )
    overlapping = await conn.fetchval(
        """SELECT count(*) FROM reservations r JOIN place_suspensions p
           ON p.building_id = r.building_id AND p.period && r.stay"""
    )
    assert overlapping == 0


async def test_a_blackout_committed_while_the_solver_ran_gets_no_allocation(
    conn: asyncpg.Connection, pool: asyncpg.Pool, settings: Settings
) -> None:
    """The job's steps one by one, with a blackout over the night committed between solve
    and write: its check for reservations it would strand found none yet, so the write
    must see it (under the building's lock, as a booking does) and refuse the stay."""
    from allocator import job

    building, night, now = await _two_requests_for_two_spaces(conn, settings)

    async with pool.acquire() as job_conn, job_conn.transaction():
        pending, built, solution = await _built_and_solved(job_conn, night, settings, now)
        assert len(solution.assignments) == 2
        await add_blackout(conn, building.id, at(night, 18), at(night, 9))
        decisions = await job._write(job_conn, built, solution, pending, settings, now)

    assert [d.status for d in decisions] == ["not_allocated", "not_allocated"]
    assert await _allocated(conn) == []
