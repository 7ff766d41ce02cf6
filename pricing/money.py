"""Integer fen arithmetic: the one rounding rule (half-up to the fen) and the fen type.

Money never passes through a float here; every function takes and returns ``int`` fen.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictInt

__all__ = ["Fen", "round_half_up"]

# Strict so that 10.0 or "10" from a request is refused rather than silently turned into fen.
Fen = Annotated[StrictInt, Field(ge=0)]
"""A non-negative amount in fen (1 CNY = 100 fen)."""


def round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to the nearest integer, halves away from zero.

    Halves go away from zero (2.5 -> 3, -2.5 -> -3) so that a refund of a prorated
    amount is exactly the negative of the charge it mirrors.
    """
    for value in (numerator, denominator):
        # bool is an int subclass; a float would defeat the point of integer fen.
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"round_half_up takes integers, got {value!r}")
    if denominator <= 0:
        raise ValueError(f"denominator must be positive, got {denominator}")
    magnitude = (2 * abs(numerator) + denominator) // (2 * denominator)
    return magnitude if numerator >= 0 else -magnitude
