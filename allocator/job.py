"""The night job: at a night's cutoff, allocate its pending requests to the free spaces.

Guarantees:

* One run per night at a time, across processes: a PostgreSQL advisory lock on the night,
  held by the run's transaction (a second worker is told ``busy`` at once and writes
  nothing).
* All or nothing: the reservations (confirmed, source ``allocation``, fee quoted under the
  plan in force), their outbox rows, every request's decision and the run record commit
  in one transaction. PostgreSQL's exclusion constraints keep the reservations from
  overlapping any other claim, including one committed while the solver ran (that request
  is then ``not_allocated``). The write locks the buildings it serves (KEY SHARE, as a
  booking does) and reads their windows and suspensions again: a schedule change or
  suspension committed while the solver ran refuses what it covers, and one made later
  waits for the run and then sees its reservations.
* Harmless to repeat: a run decides only the requests still pending, so a second run of a
  decided night finds nothing and writes nothing (``nothing_pending``).

Supply is every shared space of an active building: its windows on the night
(``parking.windows``: rules minus blackouts; windows that begin on the next day are not
offered, as their price cannot be quoted for this night), minus its active claims
(``parking.occupancy``: bookings and pass nights) widened by the turnover on both sides
and minus the district's suspensions of the building (scheduled ones too, as bookings
are refused for them), rounded inwards to whole minutes. A building whose plan sells no
single nights offers nothing. Demand is the pending requests whose resident is still
verified (home: their compound), whose vehicle still exists and is not held elsewhere
for the stay, and whose stay has not ended; the others are ``not_allocated`` without
entering the instance (reason ``set_aside``; one the allocation could not place is
``refused``). Each request's weight follows ``allocator.fairness`` from the resident's
decided requests of the nights before, where only a ``refused`` one is a refusal.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import time
from dataclasses import dataclass, field
from typing import Literal
from zoneinfo import ZoneInfo

import asyncpg
from pydantic import BaseModel

from allocator import repository
from allocator.fairness import DEFAULT_MAX_BONUS, NightOutcome, fairness_weight, refusal_streak
from allocator.instance import INSTANCE_FORMAT, Instance, Objective, Request, Solution, Space
from allocator.repository import Decision, NewAllocation, PendingRequest, RunRecord
from allocator.solver import solve
from allocator.validate import check
from parking import prices, sync
from parking.clock import utc_now
from parking.idempotency import canonical_json
from parking.occupancy import active_claims
from parking.requests.service import cutoff_at
from parking.settings import Settings
from parking.windows import CalendarMissing, Window, load_window_results, subtract
from pricing.plans import NoPlanInForce, NotBookable, PricePlan, plan_in_force
from pricing.quote import quote

__all__ = [
    "RETRY_AFTER_FAILURE",
    "NightRun",
    "RunOutcome",
    "instance_sha256",
    "run_due_nights",
    "run_night",
]

log = logging.getLogger(__name__)

RunOutcome = Literal["completed", "busy", "nothing_pending", "failed"]

_MINUTE = dt.timedelta(minutes=1)
# After a failed run, the worker leaves the night alone this long before trying again.
RETRY_AFTER_FAILURE = dt.timedelta(minutes=5)
# outcomes_before's answers; a set-aside night is not a refusal (allocator.fairness).
_OUTCOMES = {
    "allocated": NightOutcome.SERVED,
    "refused": NightOutcome.REFUSED,
    "set_aside": NightOutcome.SET_ASIDE,
}


class NightRun(BaseModel):
    """What one attempt at a night did.

    ``completed``: the night's pending requests were decided and the run recorded;
    ``busy``: another run held the night; ``nothing_pending``: nothing to decide, nothing
    written; ``failed``: nothing decided, the failure recorded as a run.
    """

    night: dt.date
    outcome: RunOutcome
    run_id: int | None = None
    status: Literal["optimal", "feasible"] | None = None
    instance_sha256: str | None = None
    requests: int = 0
    spaces: int = 0
    served: int = 0
    not_allocated: int = 0
    objective: Objective | None = None
    bound: Objective | None = None
    build_ms: int | None = None
    solve_ms: int | None = None
    write_ms: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class _Solver:
    time_limit_s: float
    workers: int
    seed: int


@dataclass
class _Built:
    """The instance and what the write needs to turn its answer into reservations."""

    instance: Instance
    requests: dict[int, PendingRequest]
    weights: dict[int, int]
    excluded: list[int]
    space_building: dict[int, int] = field(default_factory=dict)
    place_ids: dict[int, str] = field(default_factory=dict)
    plans: dict[int, PricePlan] = field(default_factory=dict)
    offered: dict[int, tuple[Window, ...]] = field(default_factory=dict)
    windows: dict[int, tuple[Window, ...]] = field(default_factory=dict)


def instance_sha256(instance: Instance) -> str:
    """sha256 of the instance's canonical JSON (sorted keys, no spaces, UTF-8)."""
    return hashlib.sha256(canonical_json(instance.model_dump(mode="json"))).hexdigest()


def _ms(since: float) -> int:
    return round((time.perf_counter() - since) * 1000)


def _whole_minutes(window: Window) -> Window | None:
    """The whole minutes inside ``window`` (claims may end on any second)."""
    start = window.start.replace(second=0, microsecond=0)
    if start < window.start:
        start += _MINUTE
    end = window.end.replace(second=0, microsecond=0)
    return Window(start, end) if start < end else None


async def _weights(
    conn: asyncpg.Connection, night: dt.date, requests: list[PendingRequest]
) -> dict[int, int]:
    """Each request's fairness weight; only the last ``DEFAULT_MAX_BONUS`` nights can count."""
    history = await repository.outcomes_before(
        conn, sorted({r.user_id for r in requests}), night, DEFAULT_MAX_BONUS
    )
    weights = {}
    for r in requests:
        outcomes = {
            day: _OUTCOMES[status]
            for day, status in history.get(r.user_id, {}).items()
            if status in _OUTCOMES
        }
        weights[r.id] = fairness_weight(refusal_streak(night, outcomes))
    return weights


async def _build(
    conn: asyncpg.Connection,
    night: dt.date,
    pending: list[PendingRequest],
    settings: Settings,
    now: dt.datetime,
) -> _Built:
    tz = settings.tz
    turnover = dt.timedelta(minutes=settings.allocation_turnover_minutes)

    # Demand.
    usable = [
        r for r in pending if r.home_lat is not None and r.vehicle_id is not None and r.depart > now
    ]
    busy = await repository.busy_request_ids(conn, usable) if usable else set()
    usable = [r for r in usable if r.id not in busy]
    usable_ids = {r.id for r in usable}
    weights = await _weights(conn, night, pending)
    built = _Built(
        instance=Instance(
            format=INSTANCE_FORMAT, night=night, turnover_minutes=0, spaces=[], requests=[]
        ),
        requests={r.id: r for r in usable},
        weights=weights,
        excluded=[r.id for r in pending if r.id not in usable_ids],
    )

    # Supply.
    spaces = await repository.shared_spaces(conn)
    building_ids = sorted({s.building_id for s in spaces})
    windows = await load_window_results(conn, building_ids, [night], tz)
    plans = await prices.plans_by_building(conn, building_ids)
    prices_fen: dict[int, int] = {}
    for building_id in building_ids:
        found = windows[building_id, night]
        if isinstance(found, CalendarMissing):
            log.warning("night %s: building %s offers nothing: %s", night, building_id, found)
            continue
        offered = tuple(w for w in found if w.start.astimezone(tz).date() == night)
        if not offered or building_id not in plans:
            continue
        try:
            plan = plan_in_force(plans[building_id], night)
            first = offered[0]
            price = quote(plan, night, first.start, first.end, first.start, first.end, tz)
        except (NoPlanInForce, NotBookable):
            continue  # sells no single nights then
        prices_fen[building_id] = price.total_fen
        built.plans[building_id] = plan
        built.offered[building_id] = offered
        built.windows[building_id] = found
    if built.offered:
        since = min(w[0].start for w in built.offered.values()) - turnover
        until = max(w[-1].end for w in built.offered.values()) + turnover
        claims = await active_claims(conn, list(built.offered), since, until)
        suspended = await repository.suspension_periods(conn, list(built.offered), since, until)
    else:
        claims, suspended = {}, {}

    instance_spaces = []
    for s in spaces:
        if s.building_id not in built.offered:
            continue
        free = subtract(
            built.offered[s.building_id],
            [(start - turnover, end + turnover) for start, end in claims.get(s.id, [])]
            + suspended.get(s.building_id, []),
        )
        available = [w for w in (_whole_minutes(w) for w in free) if w is not None]
        if not available:
            continue
        built.space_building[s.id] = s.building_id
        built.place_ids[s.building_id] = s.district_place_id
        instance_spaces.append(
            Space(
                id=str(s.id),
                building_id=str(s.building_id),
                lat=s.lat,
                lon=s.lon,
                features=sorted(s.features),
                price_fen=prices_fen[s.building_id],
                available=[(w.start.astimezone(tz), w.end.astimezone(tz)) for w in available],
            )
        )
    instance_requests = [
        Request(
            id=str(r.id),
            lat=r.home_lat,
            lon=r.home_lon,
            arrive=r.arrive.astimezone(tz),
            depart=r.depart.astimezone(tz),
            max_walk_m=r.max_walk_m,
            max_price_fen=r.max_price_fen,
            needs=sorted(r.needs),
            weight=weights[r.id],
        )
        for r in usable
    ]
    built.instance = Instance(
        format=INSTANCE_FORMAT,
        night=night,
        turnover_minutes=settings.allocation_turnover_minutes,
        spaces=instance_spaces,
        requests=instance_requests,
    )
    return built


def _solve(instance: Instance, solver: _Solver) -> Solution:
    solution = solve(
        instance, time_limit_s=solver.time_limit_s, workers=solver.workers, seed=solver.seed
    )
    # A wrong answer must never become reservations.
    check(instance, solution)
    return solution


async def _write(
    conn: asyncpg.Connection,
    built: _Built,
    solution: Solution,
    pending: list[PendingRequest],
    settings: Settings,
    now: dt.datetime,
) -> list[Decision]:
    """Reservations with their outbox rows for the served; every request's decision."""
    tz = settings.tz
    night = built.instance.night
    offered, suspended = await _offered_at_write(conn, built, solution, tz)
    allocations = []
    for a in sorted(solution.assignments, key=lambda a: int(a.request)):
        r = built.requests[int(a.request)]
        space_id = int(a.space)
        building_id = built.space_building[space_id]
        window = next(
            (w for w in offered.get(building_id, ()) if w.contains(r.arrive, r.depart)), None
        )
        closed = any(s < r.depart and r.arrive < e for s, e in suspended.get(building_id, ()))
        if window is None or closed:
            continue  # changed while the solver ran: not_allocated, counted as lost below
        fee = quote(
            built.plans[building_id], night, window.start, window.end, r.arrive, r.depart, tz
        )
        assert r.vehicle_id is not None  # requests without one are excluded
        allocations.append(
            NewAllocation(
                request_id=r.id,
                user_id=r.user_id,
                vehicle_id=r.vehicle_id,
                plate=r.plate,
                space_id=space_id,
                arrive=r.arrive,
                depart=r.depart,
                fee_fen=fee.total_fen,
                plan_id=built.plans[building_id].plan_id,
            )
        )
    written = await repository.insert_allocations(conn, night, allocations)
    # The solver's answer has no two stays overlapping on a space, so (space, start) names
    # one allocation.
    by_slot = {(a.space_id, a.arrive): a.request_id for a in allocations}
    reservation_of = {by_slot[res.space_id, res.start]: res for res in written}
    # Reservation messages before availability ones: the order every writer keeps.
    for res in written:
        place_id = built.place_ids[res.building_id]
        await sync.emit_reservation(conn, res.id, tz, known=(res, place_id))
    touched = sorted({res.building_id for res in written})
    for building_id in touched:
        await sync.emit_availability(
            conn, building_id, [night], tz, windows={night: built.windows[building_id]}
        )
    lost = len(solution.assignments) - len(written)
    if lost:
        log.warning(
            "night %s: %d allocations lost their space to a claim, a schedule change or a "
            "suspension made meanwhile",
            night,
            lost,
        )
    excluded = set(built.excluded)
    decisions = []
    for r in pending:
        res = reservation_of.get(r.id)
        if res is not None:
            decisions.append(
                Decision(
                    request_id=r.id,
                    status="allocated",
                    weight=built.weights[r.id],
                    reservation_id=res.id,
                )
            )
        else:
            decisions.append(
                Decision(
                    request_id=r.id,
                    status="not_allocated",
                    # Only a request the allocation could not place is a refusal (fairness).
                    reason="set_aside" if r.id in excluded else "refused",
                    weight=built.weights[r.id],
                )
            )
    return decisions


async def _offered_at_write(
    conn: asyncpg.Connection, built: _Built, solution: Solution, tz: ZoneInfo
) -> tuple[dict[int, list[Window]], dict[int, list[tuple[dt.datetime, dt.datetime]]]]:
    """Per building served, under the building's lock: the windows it offers now, and the
    district suspensions over them. A blackout, rule change or suspension committed while
    the solver ran counts (its own check found no reservation of this run to strand)."""
    night = built.instance.night
    served = sorted({built.space_building[int(a.space)] for a in solution.assignments})
    active = await repository.lock_active_buildings(conn, served)
    found = await load_window_results(conn, active, [night], tz) if active else {}
    offered: dict[int, list[Window]] = {}
    for building_id in sorted(active):
        windows = found[building_id, night]
        if isinstance(windows, CalendarMissing):
            continue
        built.windows[building_id] = windows  # what the Availability message says
        tonight = [w for w in windows if w.start.astimezone(tz).date() == night]
        if tonight:
            offered[building_id] = tonight
    if not offered:
        return offered, {}
    since = min(ws[0].start for ws in offered.values())
    until = max(ws[-1].end for ws in offered.values())
    return offered, await repository.suspension_periods(conn, list(offered), since, until)


async def _record_failure(
    pool: asyncpg.Pool, night: dt.date, solver: _Solver, started: dt.datetime, error: str
) -> int | None:
    try:
        async with pool.acquire() as conn, conn.transaction():
            return await repository.insert_run(
                conn,
                RunRecord(
                    night=night,
                    status="failed",
                    time_limit_s=solver.time_limit_s,
                    workers=solver.workers,
                    seed=solver.seed,
                    error=error[:2000],
                    started_at=started,
                    finished_at=max(started, utc_now()),
                ),
            )
    except Exception:  # the database itself may be what failed
        log.exception("night %s: the failed run could not be recorded", night)
        return None


async def run_night(
    pool: asyncpg.Pool,
    night: dt.date,
    settings: Settings,
    *,
    now: dt.datetime,
    time_limit_s: float | None = None,
    workers: int | None = None,
    seed: int | None = None,
) -> NightRun:
    """Decide the night's pending requests as of ``now`` (see the module docstring).

    Solver parameters default to the settings'. Never raises for a failure of the run
    itself: it is logged, recorded as a ``failed`` run, and answered as ``failed``.
    """
    solver = _Solver(
        time_limit_s=time_limit_s or settings.allocation_time_limit_s,
        workers=workers or settings.allocation_workers,
        seed=settings.allocation_seed if seed is None else seed,
    )
    started = utc_now()
    try:
        async with pool.acquire() as conn, conn.transaction():
            if not await repository.try_lock_night(conn, night):
                return NightRun(night=night, outcome="busy")
            pending = await repository.pending_requests(conn, night)
            if not pending:
                return NightRun(night=night, outcome="nothing_pending")
            clock = time.perf_counter()
            built = await _build(conn, night, pending, settings, now)
            digest = instance_sha256(built.instance)
            build_ms = _ms(clock)
            clock = time.perf_counter()
            # In a thread: the worker's other tasks (and this transaction's keepalive) go on.
            solution = await asyncio.to_thread(_solve, built.instance, solver)
            solve_ms = _ms(clock)
            clock = time.perf_counter()
            decisions = await _write(conn, built, solution, pending, settings, now)
            served = sum(d.status == "allocated" for d in decisions)
            record = RunRecord(
                night=night,
                status=solution.status,
                instance_sha256=digest,
                requests=len(pending),
                spaces=len(built.instance.spaces),
                served=served,
                not_allocated=len(pending) - served,
                served_weight=solution.objective.served_weight,
                walk_m=solution.objective.walk_m,
                bound_served_weight=solution.bound.served_weight,
                bound_walk_m=solution.bound.walk_m,
                build_ms=build_ms,
                solve_ms=solve_ms,
                write_ms=_ms(clock),
                time_limit_s=solver.time_limit_s,
                workers=solver.workers,
                seed=solver.seed,
                started_at=started,
                finished_at=max(started, utc_now()),
            )
            run_id = await repository.insert_run(conn, record)
            await repository.decide_requests(conn, run_id, now, decisions)
    except Exception as exc:
        log.exception("night %s: allocation failed", night)
        error = f"{type(exc).__name__}: {exc}"
        run_id = await _record_failure(pool, night, solver, started, error)
        return NightRun(night=night, outcome="failed", run_id=run_id, error=error)
    log.info(
        "night %s: run %s %s, %d of %d requests served (%d set aside before solving; "
        "weight %d, bound %d), build %d ms, solve %d ms, write %d ms",
        night,
        run_id,
        record.status,
        record.served,
        record.requests,
        len(built.excluded),
        solution.objective.served_weight,
        solution.bound.served_weight,
        record.build_ms,
        record.solve_ms,
        record.write_ms,
    )
    return NightRun(
        night=night,
        outcome="completed",
        run_id=run_id,
        status=solution.status,
        instance_sha256=digest,
        requests=record.requests,
        spaces=record.spaces,
        served=record.served,
        not_allocated=record.not_allocated,
        objective=solution.objective,
        bound=solution.bound,
        build_ms=record.build_ms,
        solve_ms=record.solve_ms,
        write_ms=record.write_ms,
    )


async def run_due_nights(
    pool: asyncpg.Pool, settings: Settings, now: dt.datetime
) -> list[NightRun]:
    """Run every night whose cutoff has passed at ``now`` and that still has pending
    requests (a night decided by a completed run has none), earliest first; a night whose
    run failed less than ``RETRY_AFTER_FAILURE`` ago waits.

    The worker calls this on a schedule; several workers may call it at once (each night
    is run by one of them, the others answer ``busy`` for it).
    """
    today = now.astimezone(settings.tz).date()
    async with pool.acquire() as conn:
        nights = await repository.nights_with_pending_requests(
            conn, today, utc_now() - RETRY_AFTER_FAILURE
        )
    due = [n for n in nights if cutoff_at(n, settings) <= now]
    return [await run_night(pool, n, settings, now=now) for n in due]
