"""The validator accepts a correct solution and rejects each broken rule on its own."""

from __future__ import annotations

from typing import Any

import pytest

from allocator import InvalidSolution, check, load_instance, validate
from allocator.geo import haversine_m, round_walk_m
from allocator.instance import Instance, Solution
from tests.allocator.nights import at, night, request, space


def base_instance() -> Instance:
    """S1 plain, S2 EV and dearer, S3 only till 23:00; R1 overnight, R2 evening, R3 EV."""
    return load_instance(
        night(
            [
                space("S1"),
                space("S2", features=["ev"], price_fen=1400, lat=22.5655),
                space("S3", available=[[at("19:00"), at("23:00")]]),
            ],
            [
                request("R1"),
                request("R2", arrive=at("19:00"), depart=at("21:00"), max_price_fen=1000),
                request("R3", needs=["ev"], weight=2),
            ],
        )
    )


def walk(instance: Instance, request_id: str, space_id: str) -> int:
    r = next(x for x in instance.requests if x.id == request_id)
    s = next(x for x in instance.spaces if x.id == space_id)
    return round_walk_m(haversine_m(r.lat, r.lon, s.lat, s.lon))


def solution(instance: Instance, pairs: list[tuple[str, str]], **overrides: Any) -> Solution:
    """A solution for `pairs` with a correct objective, unless overridden."""
    assigned = {r for r, _ in pairs}
    weight = sum(r.weight for r in instance.requests if r.id in assigned)
    walk_m = sum(walk(instance, r, s) for r, s in pairs)
    doc: dict[str, Any] = {
        "status": "feasible",
        "assignments": [{"request": r, "space": s} for r, s in pairs],
        "unassigned": [r.id for r in instance.requests if r.id not in assigned],
        "objective": {"served_weight": weight, "walk_m": walk_m},
        "bound": {"served_weight": weight, "walk_m": walk_m},
        "solve_seconds": 0.0,
    }
    doc.update(overrides)
    return Solution.model_validate(doc)


def rules(instance: Instance, sol: Solution) -> set[str]:
    return {v.rule for v in validate(instance, sol)}


GOOD = [("R1", "S1"), ("R2", "S3"), ("R3", "S2")]


def test_correct_solution_has_no_violations() -> None:
    instance = base_instance()
    sol = solution(instance, GOOD, status="optimal")
    assert validate(instance, sol) == []
    check(instance, sol)


def test_check_raises_with_every_violation() -> None:
    instance = base_instance()
    sol = solution(instance, [("R1", "S3"), ("R2", "S3"), ("R3", "S2")])
    with pytest.raises(InvalidSolution) as caught:
        check(instance, sol)
    assert {v.rule for v in caught.value.violations} == {"window", "overlap"}


def test_missing_request_is_caught() -> None:
    instance = base_instance()
    sol = solution(instance, GOOD[:2], unassigned=[])
    assert rules(instance, sol) == {"request-missing"}


def test_request_listed_twice_is_caught() -> None:
    instance = base_instance()
    sol = solution(instance, GOOD, unassigned=["R1"])
    assert rules(instance, sol) == {"request-repeated"}


def test_unknown_request_and_space_are_caught() -> None:
    instance = base_instance()
    sol = solution(instance, GOOD, unassigned=["R99"])
    assert rules(instance, sol) == {"unknown-request"}
    broken = solution(instance, GOOD)
    broken = broken.model_copy(
        update={
            "assignments": [
                *broken.assignments[:2],
                broken.assignments[2].model_copy(update={"space": "S99"}),
            ]
        }
    )
    assert "unknown-space" in rules(instance, broken)


def test_stay_outside_windows_is_caught() -> None:
    instance = base_instance()  # R1 stays overnight; S3 closes at 23:00
    sol = solution(instance, [("R1", "S3"), ("R3", "S2")])
    assert rules(instance, sol) == {"window"}


def test_stay_across_a_break_is_caught() -> None:
    split = [[at("19:00"), at("23:00")], [at("23:30"), at("08:00", next_day=True)]]
    instance = load_instance(night([space("S1", available=split)], [request("R1")]))
    assert rules(instance, solution(instance, [("R1", "S1")])) == {"window"}


def test_walk_too_far_is_caught() -> None:
    instance = load_instance(night([space("S1", lat=22.60)], [request("R1")]))
    assert rules(instance, solution(instance, [("R1", "S1")])) == {"walk"}


def test_price_above_ceiling_is_caught() -> None:
    instance = base_instance()  # R2 pays at most 1000; S2 costs 1400
    sol = solution(instance, [("R2", "S2")])
    assert rules(instance, sol) == {"price"}


def test_missing_feature_is_caught() -> None:
    instance = base_instance()  # R3 needs ev; S1 has none
    sol = solution(instance, [("R3", "S1")])
    assert rules(instance, sol) == {"needs"}


def test_turnover_overlap_is_caught_and_boundary_is_fine() -> None:
    requests = [
        request("R1", arrive=at("19:00"), depart=at("21:00")),
        request("R2", arrive=at("21:10"), depart=at("23:00")),
        request("R3", arrive=at("21:09"), depart=at("23:00")),
    ]
    instance = load_instance(night([space("S1")], requests, turnover=10))
    assert rules(instance, solution(instance, [("R1", "S1"), ("R2", "S1")])) == set()
    assert rules(instance, solution(instance, [("R1", "S1"), ("R3", "S1")])) == {"overlap"}


def test_overlap_hidden_behind_a_long_stay_is_caught() -> None:
    requests = [
        request("R1", arrive=at("19:00"), depart=at("07:00", next_day=True)),
        request("R2", arrive=at("20:00"), depart=at("21:00")),
        request("R3", arrive=at("22:00"), depart=at("23:00")),
    ]
    instance = load_instance(night([space("S1")], requests))
    found = validate(instance, solution(instance, [("R1", "S1"), ("R2", "S1"), ("R3", "S1")]))
    assert [v.rule for v in found] == ["overlap", "overlap"]


def test_wrong_objective_is_caught() -> None:
    instance = base_instance()
    good = solution(instance, GOOD)
    off_by_one = {
        "served_weight": good.objective.served_weight,
        "walk_m": good.objective.walk_m + 1,
    }
    assert rules(instance, solution(instance, GOOD, objective=off_by_one, bound=off_by_one)) == {
        "objective"
    }


def test_optimal_with_a_different_bound_is_caught() -> None:
    instance = base_instance()
    good = solution(instance, GOOD)
    looser = {"served_weight": good.objective.served_weight + 1, "walk_m": 0}
    assert rules(instance, solution(instance, GOOD, status="optimal", bound=looser)) == {"bound"}
    assert rules(instance, solution(instance, GOOD, status="feasible", bound=looser)) == set()


def test_bound_worse_than_objective_is_caught() -> None:
    instance = base_instance()
    good = solution(instance, GOOD)
    lower = {"served_weight": good.objective.served_weight - 1, "walk_m": 0}
    assert rules(instance, solution(instance, GOOD, bound=lower)) == {"bound"}
    longer = {"served_weight": good.objective.served_weight, "walk_m": good.objective.walk_m + 5}
    assert rules(instance, solution(instance, GOOD, bound=longer)) == {"bound"}
