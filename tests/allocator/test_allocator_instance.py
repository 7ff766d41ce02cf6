"""Instance loading: valid files load; every invalid one names its field and id."""

from __future__ import annotations

import json

import pytest

from allocator import InstanceError, load_instance, load_solution
from allocator.geo import haversine_m, round_walk_m
from tests.allocator.nights import at, night, request, space


def problems_of(doc: object) -> list[str]:
    with pytest.raises(InstanceError) as caught:
        load_instance(doc)
    return caught.value.problems


def test_valid_night_loads_with_defaults() -> None:
    doc = night([space("S1")], [request("R1")])
    del doc["requests"][0]["weight"], doc["requests"][0]["needs"]
    instance = load_instance(doc)
    assert instance.requests[0].weight == 1
    assert instance.requests[0].needs == []
    assert load_instance(json.dumps(doc)) == instance


def test_depart_before_arrive_names_request_and_field() -> None:
    doc = night([space("S1")], [request("R1"), request("R7", depart=at("19:30"))])
    assert problems_of(doc) == ["requests[R7].depart: must be after arrive"]


def test_time_without_offset_is_refused() -> None:
    doc = night([space("S1")], [request("R2", arrive="2026-11-28T20:00:00")])
    [problem] = problems_of(doc)
    assert problem.startswith("requests[R2].arrive:")
    assert "timezone" in problem


def test_window_without_offset_names_the_space() -> None:
    doc = night([space("S3", available=[["2026-11-28T19:00:00", at("23:00")]])], [])
    [problem] = problems_of(doc)
    assert problem.startswith("spaces[S3].available[0]")


def test_overlapping_windows_are_refused() -> None:
    windows = [[at("19:00"), at("23:00")], [at("22:00"), at("08:00", next_day=True)]]
    doc = night([space("S4", available=windows)], [])
    assert problems_of(doc) == [
        "spaces[S4].available[1]: must start after available[0] ends (disjoint, in order)"
    ]


def test_unordered_and_empty_windows_are_refused() -> None:
    unordered = [[at("23:30"), at("08:00", next_day=True)], [at("19:00"), at("23:00")]]
    empty = [[at("23:00"), at("23:00")]]
    doc = night([space("S5", available=unordered), space("S6", available=empty)], [])
    assert problems_of(doc) == [
        "spaces[S5].available[1]: must start after available[0] ends (disjoint, in order)",
        "spaces[S6].available[0]: must end after it starts",
    ]


@pytest.mark.parametrize("weight", [0, -2, 1.5])
def test_weight_must_be_positive_integer(weight: object) -> None:
    [problem] = problems_of(night([], [request("R9", weight=weight)]))
    assert problem.startswith("requests[R9].weight:")


def test_duplicate_ids_are_named() -> None:
    doc = night([space("S1"), space("S1")], [request("R1"), request("R1")])
    assert problems_of(doc) == ["spaces[S1].id: duplicate id", "requests[R1].id: duplicate id"]


def test_wrong_format_string_is_refused() -> None:
    doc = night([], [])
    doc["format"] = "shared-parking-night/2"
    [problem] = problems_of(doc)
    assert problem.startswith("format:")


def test_seconds_are_refused_since_the_model_counts_minutes() -> None:
    doc = night([], [request("R1", arrive="2026-11-28T20:00:30+08:00")])
    assert problems_of(doc) == ["requests[R1].arrive: must be on a whole minute (no seconds)"]


def test_unknown_field_and_missing_field_are_named() -> None:
    broken = request("R3", max_walk=500)
    del broken["max_walk_m"]
    problems = problems_of(night([], [broken]))
    assert "requests[R3].max_walk_m: Field required" in problems
    assert any(p.startswith("requests[R3].max_walk:") for p in problems)


def test_item_without_id_is_named_by_position() -> None:
    nameless = request("R1")
    del nameless["id"]
    problems = problems_of(night([], [request("R0"), nameless]))
    assert problems == ["requests[#1].id: Field required"]


def test_negative_price_and_bad_latitude_are_refused() -> None:
    problems = problems_of(night([space("S1", price_fen=-1, lat=91.0)], []))
    assert {p.split(":")[0] for p in problems} == {"spaces[S1].price_fen", "spaces[S1].lat"}


def test_solution_round_trips() -> None:
    doc = {
        "format": "shared-parking-night-solution/1",
        "status": "optimal",
        "assignments": [{"request": "R1", "space": "S1"}],
        "unassigned": ["R2"],
        "objective": {"served_weight": 1, "walk_m": 173},
        "bound": {"served_weight": 1, "walk_m": 173},
        "solve_seconds": 0.02,
    }
    solution = load_solution(doc)
    assert json.loads(solution.model_dump_json()) == doc


def test_haversine_on_the_format_sphere() -> None:
    # One degree of latitude is R * pi / 180 on a sphere of radius 6 371 008.8 m.
    assert haversine_m(22.0, 114.0, 23.0, 114.0) == pytest.approx(111_195.08, abs=0.01)
    assert haversine_m(22.5, 114.1, 22.5, 114.1) == 0.0


def test_walk_rounds_halves_up() -> None:
    assert [round_walk_m(x) for x in (0.49, 0.5, 1.5, 2.5, 172.6)] == [0, 1, 2, 3, 173]
