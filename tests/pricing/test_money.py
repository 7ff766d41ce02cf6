"""round_half_up: the one rounding rule for fen."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pricing import round_half_up


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (5, 2, 3),  # 2.5 -> 3
        (-5, 2, -3),  # -2.5 -> -3: away from zero, so a refund mirrors its charge
        (1, 2, 1),
        (3, 2, 2),
        (4, 3, 1),  # 1.33 -> 1
        (5, 3, 2),  # 1.67 -> 2
        (1, 3, 0),
        (0, 7, 0),
        (7, 1, 7),
        (30000 * 1, 31, 968),  # 967.74 -> 968
        (30000 * 7, 30, 7000),
    ],
)
def test_round_half_up_table(numerator: int, denominator: int, expected: int) -> None:
    assert round_half_up(numerator, denominator) == expected


@pytest.mark.parametrize(("numerator", "denominator"), [(1.0, 2), (1, 2.0), (True, 2), ("1", 2)])
def test_round_half_up_refuses_anything_but_integers(
    numerator: object, denominator: object
) -> None:
    with pytest.raises(TypeError):
        round_half_up(numerator, denominator)  # type: ignore[arg-type]


@pytest.mark.parametrize("denominator", [0, -3])
def test_round_half_up_refuses_a_non_positive_denominator(denominator: int) -> None:
    with pytest.raises(ValueError, match="denominator"):
        round_half_up(7, denominator)


@given(st.integers(-(10**12), 10**12), st.integers(1, 10**6))
def test_round_half_up_is_the_nearest_integer_with_halves_away_from_zero(
    numerator: int, denominator: int
) -> None:
    rounded = round_half_up(numerator, denominator)
    distance_twice = abs(2 * (numerator - rounded * denominator))  # 2 * |n/d - r| * d
    assert distance_twice <= denominator
    if distance_twice == denominator:  # an exact half went away from zero
        assert abs(rounded * denominator) > abs(numerator)
    assert round_half_up(-numerator, denominator) == -rounded
