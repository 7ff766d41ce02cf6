"""The fairness rule, alone and driving the real solver over a run of nights."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from allocator.fairness import NightOutcome, fairness_weight, refusal_streak
from allocator.instance import Instance
from allocator.solver import solve

R, S, W = NightOutcome.REFUSED, NightOutcome.SERVED, NightOutcome.WITHDRAWN
A = NightOutcome.SET_ASIDE
NIGHT = dt.date(2026, 11, 28)


def _before(*outcomes: NightOutcome | None) -> dict[dt.date, NightOutcome]:
    """Outcomes of the nights before NIGHT, most recent first (None: no request)."""
    return {NIGHT - dt.timedelta(days=i + 1): o for i, o in enumerate(outcomes) if o is not None}


@pytest.mark.parametrize(
    ("history", "streak"),
    [
        ((), 0),
        ((R,), 1),
        ((R, R, R), 3),
        ((R, S, R), 1),  # served two nights ago: the row is broken
        ((S, R, R), 0),
        ((R, None, R), 1),  # a night without a request breaks the row
        ((W, R), 0),  # withdrawing is not being refused
        ((A, R), 0),  # set aside before solving (car parked elsewhere...) is not either
        ((R, A, R), 1),  # and it ends the row rather than being skipped
    ],
)
def test_refusal_streak(history: tuple, streak: int) -> None:
    assert refusal_streak(NIGHT, _before(*history)) == streak


def test_outcomes_on_or_after_the_night_do_not_count() -> None:
    outcomes = {NIGHT: R, NIGHT + dt.timedelta(days=1): R}
    assert refusal_streak(NIGHT, outcomes) == 0


@given(st.integers(0, 50), st.integers(1, 5), st.integers(0, 5))
def test_weight_grows_by_one_per_night_up_to_the_cap(streak: int, base: int, cap: int) -> None:
    weight = fairness_weight(streak, base=base, max_bonus=cap)
    assert base <= weight <= base + cap
    assert weight == base + min(streak, cap)
    assert fairness_weight(streak + 1, base=base, max_bonus=cap) >= weight


def test_weight_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        fairness_weight(-1)
    with pytest.raises(ValueError):
        fairness_weight(0, base=0)


def _night(day: dt.date, weights: dict[str, int]) -> Instance:
    """One space and identical requests from every resident: only weight can decide."""
    start = dt.datetime.combine(day, dt.time(19), tzinfo=dt.timezone(dt.timedelta(hours=8)))
    end = start + dt.timedelta(hours=13)
    return Instance.model_validate(
        {
            "format": "shared-parking-night/1",
            "night": day.isoformat(),
            "turnover_minutes": 10,
            "spaces": [
                {
                    "id": "S1",
                    "building_id": "B1",
                    "lat": 22.565,
                    "lon": 114.128,
                    "features": [],
                    "price_fen": 1000,
                    "available": [[start.isoformat(), end.isoformat()]],
                }
            ],
            "requests": [
                {
                    "id": resident,
                    "lat": 22.5652,
                    "lon": 114.1282,
                    "arrive": (start + dt.timedelta(hours=1)).isoformat(),
                    "depart": (end - dt.timedelta(hours=1)).isoformat(),
                    "max_walk_m": 800,
                    "max_price_fen": 1500,
                    "needs": [],
                    "weight": weight,
                }
                for resident, weight in weights.items()
            ],
        }
    )


def _run_nights(residents: list[str], nights: int, *, fair: bool) -> dict[str, list[NightOutcome]]:
    history: dict[str, dict[dt.date, NightOutcome]] = {r: {} for r in residents}
    for i in range(nights):
        day = NIGHT + dt.timedelta(days=i)
        weights = {
            r: fairness_weight(refusal_streak(day, history[r])) if fair else 1 for r in residents
        }
        solution = solve(_night(day, weights), time_limit_s=10, workers=1, seed=0)
        served = {a.request for a in solution.assignments}
        assert len(served) == 1
        for r in residents:
            history[r][day] = S if r in served else R
    return {r: [history[r][d] for d in sorted(history[r])] for r in residents}


def _longest_refusal_run(outcomes: list[NightOutcome]) -> int:
    longest = run = 0
    for outcome in outcomes:
        run = run + 1 if outcome is R else 0
        longest = max(longest, run)
    return longest


def test_with_the_rule_three_residents_take_turns() -> None:
    outcomes = _run_nights(["A", "B", "C"], nights=9, fair=True)
    for resident, nights in outcomes.items():
        assert _longest_refusal_run(nights) <= 2, (resident, nights)
    assert Counter(n.count(S) for n in outcomes.values()) == Counter({3: 3})


def test_without_the_rule_nothing_stops_the_same_resident_being_refused() -> None:
    # The contrast that shows the rule matters: with equal weights the objective is
    # indifferent, and nothing in it moves the space to whoever was refused before.
    outcomes = _run_nights(["A", "B", "C"], nights=6, fair=False)
    assert max(_longest_refusal_run(n) for n in outcomes.values()) >= 3
