"""The solver's slower paths on a generated night whose LP relaxation is fractional.

Time limits choose between these paths, so they are driven here directly: the exact
repair of a fractional LP, the first-order LP whose bound comes from its duals, and the
flow relaxation used when no LP can finish.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import ModuleType

import pytest

from allocator import check, load_instance, solve
from allocator import solver as solver_module
from allocator.eligibility import Prepared, prepare
from allocator.instance import Instance

FRACTIONAL_NIGHT = (2000, 1)  # (requests, seed) of a bench night with a fractional LP


@dataclass
class Hard:
    instance: Instance
    prep: Prepared
    plan: solver_module._Decomposition
    component: list[int]
    big: int
    lp: solver_module._LpResult

    def lexicographic(self, value: int) -> tuple[int, int]:
        weight = (value + self.big - 1) // self.big
        return weight, -(weight * self.big - value)


@pytest.fixture(scope="module")
def hard(bench_module: ModuleType) -> Hard:
    instance = load_instance(bench_module.generate_night(*FRACTIONAL_NIGHT))
    prep = prepare(instance)
    plan = solver_module._decompose(prep, len(instance.requests))
    component = plan.hard[-1]
    walk = prep.candidates.walk_m
    big = 1 + sum(int(walk[plan.candidates_of[r][-1]]) for r in component)
    lp = solver_module._solve_lp(prep, plan.st, component, plan.candidates_of, big, 60.0)
    assert lp is not None
    return Hard(instance, prep, plan, component, big, lp)


def test_fractional_lp_is_completed_to_a_proven_optimum(hard: Hard) -> None:
    assert any(1e-6 < v < 1 - 1e-6 for v in hard.lp.x.values()), "precondition: fractional"
    solution = solve(hard.instance, time_limit_s=30, workers=2, seed=0)
    check(hard.instance, solution)
    assert solution.status == "optimal"
    assert solution.bound == solution.objective


def test_lagrangian_bound_from_lp_duals_equals_the_lp_optimum(hard: Hard) -> None:
    bound = solver_module._lagrangian_bound(
        hard.prep,
        hard.plan.st,
        hard.component,
        hard.plan.candidates_of,
        hard.big,
        hard.lp.request_dual,
        hard.lp.clique_price,
    )
    assert abs(bound - hard.lp.value) <= 1
    # Prices of zero leave every stay's value uncovered: the sum of all values.
    loose = solver_module._lagrangian_bound(
        hard.prep, hard.plan.st, hard.component, hard.plan.candidates_of, hard.big, {}, {}
    )
    assert loose > bound


def test_first_order_lp_bound_is_rigorous_and_close(hard: Hard) -> None:
    pdlp = solver_module._solve_lp(
        hard.prep,
        hard.plan.st,
        hard.component,
        hard.plan.candidates_of,
        hard.big,
        60.0,
        first_order=True,
        workers=2,
    )
    assert pdlp is not None
    # Weak duality: never below the exact LP optimum, whatever PDLP's tolerance.
    assert pdlp.value >= hard.lp.value
    assert hard.lexicographic(pdlp.value)[0] - hard.lexicographic(hard.lp.value)[0] <= 1


def test_flow_relaxation_gives_a_valid_answer_and_a_true_bound(hard: Hard) -> None:
    part = solver_module._relaxed(
        hard.prep, hard.plan.st, hard.component, hard.plan.candidates_of, hard.big
    )
    solution = solver_module._assemble(hard.instance, hard.prep, [part], time.perf_counter())
    check(hard.instance, solution)
    optimum = hard.lexicographic(hard.lp.value)
    # A relaxation of the LP can only bound from above what the LP bounds.
    assert (part.bound_weight, -part.bound_walk_m) >= optimum
    assert solution.objective.served_weight >= 0.9 * optimum[0]
