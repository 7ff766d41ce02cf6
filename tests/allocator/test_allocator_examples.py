"""Every shared example reaches exactly its expected objective, proven, and validates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from allocator import check, first_come_first_served, load_instance, solve
from tests.allocator.nights import night, request, shared_dir, space

EXPECTED_PATH = shared_dir() / "allocator" / "examples" / "expected.json"
# Read at collection: without the shared examples this module fails loudly, never skips.
EXPECTED = json.loads(EXPECTED_PATH.read_text())


def test_examples_are_present(examples_dir: Path) -> None:
    names = {p.stem for p in examples_dir.glob("*.json")} - {"expected"}
    assert names, "no examples found"
    assert names == set(EXPECTED), "every example needs an expected objective and vice versa"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_reaches_expected_objective(name: str, examples_dir: Path) -> None:
    instance = load_instance(json.loads((examples_dir / f"{name}.json").read_text()))
    solution = solve(instance, time_limit_s=10, workers=2, seed=0)
    check(instance, solution)
    assert solution.status == "optimal"
    assert solution.objective.model_dump() == EXPECTED[name]
    assert solution.bound == solution.objective


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_greedy_baseline_is_valid_and_never_better(name: str, examples_dir: Path) -> None:
    instance = load_instance(json.loads((examples_dir / f"{name}.json").read_text()))
    greedy = first_come_first_served(instance)
    check(instance, greedy)
    assert greedy.status == "feasible"
    best = EXPECTED[name]
    assert (greedy.objective.served_weight, -greedy.objective.walk_m) <= (
        best["served_weight"],
        -best["walk_m"],
    )


def test_empty_and_unservable_nights_are_optimal_and_valid() -> None:
    for doc in (
        night([], []),
        night([space("S1")], []),
        night([], [request("R1")]),
        night([space("S1", available=[])], [request("R1")]),
    ):
        instance = load_instance(doc)
        for answer in (
            solve(instance, time_limit_s=5, workers=1, seed=0),
            first_come_first_served(instance),
        ):
            check(instance, answer)
            assert answer.objective.served_weight == 0
        assert solve(instance, time_limit_s=5, workers=1, seed=0).status == "optimal"
