"""The solver's slower paths on a generated night whose LP relaxation is fractional.

Time limits choose between these paths, so they are driven here directly: the exact
repair of a fractional LP, and the flow relaxation used when the LP cannot finish.
"""

from __future__ import annotations

import time
from types import ModuleType

import pytest

from allocator import check, load_instance, solve
from allocator import solver as solver_module
from allocator.eligibility import prepare
from allocator.instance import Instance

FRACTIONAL_NIGHT = (2000, 1)  # (requests, seed) of a bench night with a fractional LP


@pytest.fixture(scope="module")
def fractional_night(bench_module: ModuleType) -> Instance:
    return load_instance(bench_module.generate_night(*FRACTIONAL_NIGHT))


def lp_of_largest_component(instance: Instance):  # type: ignore[no-untyped-def]
    prep = prepare(instance)
    plan = solver_module._decompose(prep, len(instance.requests))
    component = plan.hard[-1]
    walk = prep.candidates.walk_m
    big = 1 + sum(int(walk[plan.candidates_of[r][-1]]) for r in component)
    solved = solver_module._solve_lp(prep, plan.st, component, plan.candidates_of, big, 60.0)
    assert solved is not None
    return prep, plan, component, big, solved


def test_fractional_lp_is_completed_to_a_proven_optimum(fractional_night: Instance) -> None:
    *_, (_, x) = lp_of_largest_component(fractional_night)
    assert any(1e-6 < v < 1 - 1e-6 for v in x.values()), "precondition: LP is fractional"
    solution = solve(fractional_night, time_limit_s=30, workers=2, seed=0)
    check(fractional_night, solution)
    assert solution.status == "optimal"
    assert solution.bound == solution.objective


def test_flow_relaxation_gives_a_valid_answer_and_a_true_bound(
    fractional_night: Instance,
) -> None:
    prep, plan, component, big, (lp_value, _) = lp_of_largest_component(fractional_night)
    part = solver_module._relaxed(prep, plan.st, component, plan.candidates_of, big)
    solution = solver_module._assemble(fractional_night, prep, [part], time.perf_counter())
    check(fractional_night, solution)
    lp_weight = (lp_value + big - 1) // big
    lp_walk = lp_weight * big - lp_value
    # A relaxation of the LP can only bound from above what the LP bounds.
    assert (part.bound_weight, -part.bound_walk_m) >= (lp_weight, -lp_walk)
    assert solution.objective.served_weight >= 0.9 * lp_weight
