"""Night-to-night fairness: a resident's weight grows with the nights in a row they were refused.

The rule, pure and documented so the night job and the tests apply the same one:

* A resident's **refusal streak** for night N is the number of consecutive nights
  N-1, N-2, ... on each of which they had a request that the allocation refused: it
  went to the solver and was not served, or lost its space to a change committed while
  the solver ran. The streak ends at the first earlier night on which they were served,
  withdrew, made no request (a night they did not ask for is not a night they were
  denied), or had their request set aside before solving (resident no longer verified,
  vehicle removed, car already held elsewhere over the stay, stay over). A set-aside
  night ends the streak rather than being skipped: nobody competed for a space with the
  request that night, so, like a withdrawn one, it is a night the resident was not
  denied, and a car parked elsewhere must not earn priority for the next night.
* Their request's **weight** for night N is ``base + min(streak, max_bonus)``.

Why it works: the allocator first maximises the total weight served, so among
requests with the same options the one refused longest wins the contested space.
With ``k`` residents competing for the same single space every night, nobody is
refused more than ``k - 1`` nights in a row while ``k - 1 <= max_bonus``.

Why a cap: weights change the primary objective from "serve the most people" to
"serve the most weight"; a request of weight 4 may displace up to three requests
of weight 1 that could share its space. ``DEFAULT_MAX_BONUS = 2`` keeps weights
within 1..3, enough to rotate up to three residents per contested space.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from enum import StrEnum

__all__ = ["DEFAULT_MAX_BONUS", "NightOutcome", "fairness_weight", "refusal_streak"]

DEFAULT_MAX_BONUS = 2


class NightOutcome(StrEnum):
    """What became of a resident's request on one night."""

    SERVED = "served"
    REFUSED = "refused"  # the allocation could not place it (not_allocated, refused)
    SET_ASIDE = "set_aside"  # never put to the allocation (not_allocated, set_aside)
    WITHDRAWN = "withdrawn"


def refusal_streak(night: dt.date, outcomes: Mapping[dt.date, NightOutcome]) -> int:
    """Consecutive nights before ``night`` on which the resident was refused."""
    streak = 0
    day = night - dt.timedelta(days=1)
    while outcomes.get(day) is NightOutcome.REFUSED:
        streak += 1
        day -= dt.timedelta(days=1)
    return streak


def fairness_weight(streak: int, *, base: int = 1, max_bonus: int = DEFAULT_MAX_BONUS) -> int:
    """The request's weight: ``base`` plus one per night refused in a row, up to ``max_bonus``."""
    if streak < 0 or base < 1 or max_bonus < 0:
        raise ValueError("streak and max_bonus must be >= 0 and base >= 1")
    return base + min(streak, max_bonus)
