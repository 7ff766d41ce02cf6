"""First-come-first-served baseline: arrival order decides, nearest free space is taken."""

from __future__ import annotations

from allocator import check, first_come_first_served, load_instance
from tests.allocator.nights import at, night, request, space


def test_earlier_arrival_wins_over_list_order_and_weight() -> None:
    instance = load_instance(
        night(
            [space("S1")],
            [
                request("LATE", arrive=at("21:00"), weight=3),
                request("EARLY", arrive=at("20:00")),
            ],
        )
    )
    solution = first_come_first_served(instance)
    check(instance, solution)
    assert [(a.request, a.space) for a in solution.assignments] == [("EARLY", "S1")]
    assert solution.unassigned == ["LATE"]
    assert solution.status == "feasible"


def test_takes_the_nearest_free_space_and_reuses_it_after_turnover() -> None:
    instance = load_instance(
        night(
            [space("FAR", lat=22.5680), space("NEAR", lat=22.5653)],
            [
                request("R1", arrive=at("19:00"), depart=at("21:00")),
                request("R2", arrive=at("21:10"), depart=at("23:00")),
                request("R3", arrive=at("21:05"), depart=at("23:00")),
            ],
            turnover=10,
        )
    )
    solution = first_come_first_served(instance)
    check(instance, solution)
    assert {(a.request, a.space) for a in solution.assignments} == {
        ("R1", "NEAR"),
        ("R3", "FAR"),
        ("R2", "NEAR"),
    }
