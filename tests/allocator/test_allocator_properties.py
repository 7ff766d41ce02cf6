"""Property tests: every answer validates, and the solver's optimum matches independent ones.

Two independent references: brute force over all assignments (tiny nights) and a plain
per-space CP-SAT model with pairwise conflicts, solved lexicographically in two phases
(small nights, where pools of identical spaces and several cliques occur).
"""

from __future__ import annotations

import itertools
from types import ModuleType
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model

from allocator import check, first_come_first_served, load_instance, solve
from allocator.geo import haversine_m, round_walk_m
from allocator.instance import Instance
from tests.allocator.nights import night

HALF_HOURS = 26  # 19:00 to 08:00 next day
WINDOWS = {
    "full": [(0, 26)],
    "split": [(0, 8), (9, 26)],
    "evening": [(0, 8)],
    "late": [(4, 26)],
    "held-morning": [(0, 20)],
}
PLACES = [(22.5650, 114.1280), (22.5670, 114.1290), (22.5620, 114.1250)]


def clock(half_hours: int) -> str:
    minutes = 19 * 60 + 30 * half_hours
    day = 28 + minutes // (24 * 60)
    minutes %= 24 * 60
    return f"2026-11-{day}T{minutes // 60:02d}:{minutes % 60:02d}:00+08:00"


@st.composite
def nights(draw: st.DrawFn, max_space_kinds: int, max_requests: int) -> dict[str, Any]:
    spaces: list[dict[str, Any]] = []
    for kind in range(draw(st.integers(1, max_space_kinds))):
        lat, lon = draw(st.sampled_from(PLACES))
        windows = WINDOWS[draw(st.sampled_from(sorted(WINDOWS)))]
        features = draw(st.sampled_from([[], ["ev"], ["ev", "large"]]))
        price_fen = draw(st.sampled_from([800, 1000, 1200]))
        # Copies of one kind are interchangeable and make pools with capacity > 1.
        for copy in range(draw(st.integers(1, 2))):
            spaces.append(
                {
                    "id": f"S{kind}-{copy}",
                    "building_id": f"B{PLACES.index((lat, lon))}",
                    "lat": lat,
                    "lon": lon,
                    "features": features,
                    "price_fen": price_fen,
                    "available": [[clock(a), clock(b)] for a, b in windows],
                }
            )
    requests: list[dict[str, Any]] = []
    for i in range(draw(st.integers(1, max_requests))):
        arrive = draw(st.integers(0, HALF_HOURS - 1))
        depart = draw(st.integers(arrive + 1, HALF_HOURS))
        lat, lon = draw(st.sampled_from(PLACES))
        requests.append(
            {
                "id": f"R{i}",
                "lat": lat + draw(st.sampled_from([0.0, 0.0005, -0.001])),
                "lon": lon,
                "arrive": clock(arrive),
                "depart": clock(depart),
                "max_walk_m": draw(st.sampled_from([100, 400, 1500])),
                "max_price_fen": draw(st.sampled_from([800, 1000, 1500])),
                "needs": draw(st.sampled_from([[], [], ["ev"]])),
                "weight": draw(st.integers(1, 3)),
            }
        )
    return night(spaces, requests, turnover=draw(st.sampled_from([0, 10, 30])))


def eligible(instance: Instance) -> dict[str, list[tuple[str, int]]]:
    """FORMAT.md rules 1-4, written out again for the references."""
    options: dict[str, list[tuple[str, int]]] = {}
    for r in instance.requests:
        options[r.id] = []
        for s in instance.spaces:
            distance_m = haversine_m(r.lat, r.lon, s.lat, s.lon)
            if (
                any(a <= r.arrive and r.depart <= b for a, b in s.available)
                and distance_m <= r.max_walk_m
                and s.price_fen <= r.max_price_fen
                and set(r.needs) <= set(s.features)
            ):
                options[r.id].append((s.id, round_walk_m(distance_m)))
    return options


def conflicts(instance: Instance) -> set[tuple[str, str]]:
    gap_s = instance.turnover_minutes * 60
    found = set()
    for a, b in itertools.combinations(instance.requests, 2):
        apart = (b.arrive - a.depart).total_seconds() >= gap_s or (
            a.arrive - b.depart
        ).total_seconds() >= gap_s
        if not apart:
            found.update({(a.id, b.id), (b.id, a.id)})
    return found


def brute_force(instance: Instance) -> tuple[int, int]:
    options = eligible(instance)
    clash = conflicts(instance)
    weights = {r.id: r.weight for r in instance.requests}
    ids = [r.id for r in instance.requests]
    best = (0, 0)

    def place(i: int, on_space: dict[str, list[str]], weight: int, walk_m: int) -> None:
        nonlocal best
        if i == len(ids):
            best = max(best, (weight, -walk_m))
            return
        place(i + 1, on_space, weight, walk_m)
        r = ids[i]
        for space_id, w in options[r]:
            here = on_space.setdefault(space_id, [])
            if all((r, other) not in clash for other in here):
                here.append(r)
                place(i + 1, on_space, weight + weights[r], walk_m + w)
                here.pop()

    place(0, {}, 0, 0)
    return best[0], -best[1]


def per_space_cpsat(instance: Instance) -> tuple[int, int]:
    options = eligible(instance)
    clash = conflicts(instance)
    weights = {r.id: r.weight for r in instance.requests}
    model = cp_model.CpModel()
    x = {(r, s): model.new_bool_var(f"{r}@{s}") for r, opts in options.items() for s, _ in opts}
    walk = {(r, s): w for r, opts in options.items() for s, w in opts}
    for r in options:
        model.add_at_most_one(v for (rr, _), v in x.items() if rr == r)
    for (r1, s1), (r2, s2) in itertools.combinations(x, 2):
        if s1 == s2 and (r1, r2) in clash:
            model.add(x[r1, s1] + x[r2, s2] <= 1)
    served = sum(weights[r] * v for (r, _), v in x.items())
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    model.maximize(served)
    assert solver.solve(model) == cp_model.OPTIMAL
    best_weight = round(solver.objective_value)
    model.add(served >= best_weight)
    model.minimize(sum(walk[key] * v for key, v in x.items()))
    assert solver.solve(model) == cp_model.OPTIMAL
    return best_weight, round(solver.objective_value)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nights(max_space_kinds=3, max_requests=6))
def test_optimum_equals_brute_force(doc: dict[str, Any]) -> None:
    instance = load_instance(doc)
    solution = solve(instance, time_limit_s=10, workers=1, seed=0)
    check(instance, solution)
    assert solution.status == "optimal"
    objective = (solution.objective.served_weight, solution.objective.walk_m)
    assert objective == brute_force(instance)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nights(max_space_kinds=5, max_requests=25))
def test_optimum_equals_per_space_model(doc: dict[str, Any]) -> None:
    instance = load_instance(doc)
    solution = solve(instance, time_limit_s=10, workers=1, seed=0)
    check(instance, solution)
    assert solution.status == "optimal"
    objective = (solution.objective.served_weight, solution.objective.walk_m)
    assert objective == per_space_cpsat(instance)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nights(max_space_kinds=5, max_requests=25))
def test_greedy_answers_validate_and_never_beat_the_solver(doc: dict[str, Any]) -> None:
    instance = load_instance(doc)
    greedy = first_come_first_served(instance)
    check(instance, greedy)
    best = solve(instance, time_limit_s=10, workers=1, seed=0)
    assert (greedy.objective.served_weight, -greedy.objective.walk_m) <= (
        best.objective.served_weight,
        -best.objective.walk_m,
    )


# A bench night with a component that needs the LP (not just flows), solved in ~0.5 s.
LP_NIGHT = (1000, 1)


def test_generated_night_is_solved_optimally_and_validates(bench_module: ModuleType) -> None:
    instance = load_instance(bench_module.generate_night(*LP_NIGHT))
    solution = solve(instance, time_limit_s=20, workers=2, seed=0)
    check(instance, solution)
    assert solution.status == "optimal"
    greedy = first_come_first_served(instance)
    check(instance, greedy)
    assert greedy.objective.served_weight < solution.objective.served_weight


def test_too_short_a_time_limit_still_gives_a_valid_answer_and_true_bound(
    bench_module: ModuleType,
) -> None:
    instance = load_instance(bench_module.generate_night(*LP_NIGHT))
    optimum = solve(instance, time_limit_s=20, workers=2, seed=0)
    rushed = solve(instance, time_limit_s=0.001, workers=2, seed=0)
    check(instance, rushed)
    assert rushed.status == "feasible", "precondition: the time limit cut the solve short"
    # The bound is a proven one: never below the true optimum.
    assert (rushed.bound.served_weight, -rushed.bound.walk_m) >= (
        optimum.objective.served_weight,
        -optimum.objective.walk_m,
    )
    assert rushed.objective.served_weight >= 0.9 * optimum.objective.served_weight
