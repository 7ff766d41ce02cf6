"""Solver-agnostic check of a solution against an instance, straight from FORMAT.md.

It shares nothing with the solver but `geo.haversine_m`, the format's own definition of
distance, so a solver bug cannot hide behind the same bug here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from allocator.geo import haversine_m, round_walk_m
from allocator.instance import Instance, Request, Solution, Space

__all__ = ["InvalidSolution", "Violation", "check", "validate"]


@dataclass(frozen=True)
class Violation:
    """One broken rule; `rule` is a stable code tests and callers can match on."""

    rule: str
    message: str


class InvalidSolution(ValueError):
    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        super().__init__("; ".join(f"{v.rule}: {v.message}" for v in violations))


def _inside_a_window(request: Request, space: Space) -> bool:
    return any(start <= request.arrive and request.depart <= end for start, end in space.available)


def validate(instance: Instance, solution: Solution) -> list[Violation]:
    """Every rule the solution breaks; an empty list means it is valid."""
    found: list[Violation] = []
    requests = {r.id: r for r in instance.requests}
    spaces = {s.id: s for s in instance.spaces}

    mentioned = Counter(a.request for a in solution.assignments) + Counter(solution.unassigned)
    for request_id, count in mentioned.items():
        if request_id not in requests:
            found.append(Violation("unknown-request", f"{request_id} is not in the instance"))
        elif count > 1:
            found.append(Violation("request-repeated", f"{request_id} appears {count} times"))
    for request_id in requests:
        if request_id not in mentioned:
            found.append(Violation("request-missing", f"{request_id} appears nowhere"))

    stays: dict[str, list[Request]] = {}
    served_weight = 0
    walk_m = 0
    for assignment in solution.assignments:
        request = requests.get(assignment.request)
        space = spaces.get(assignment.space)
        if space is None:
            found.append(Violation("unknown-space", f"{assignment.request} -> {assignment.space}"))
        if request is None or space is None:
            continue
        where = f"{request.id} -> {space.id}"
        if not _inside_a_window(request, space):
            found.append(Violation("window", f"{where}: stay not inside one available interval"))
        distance_m = haversine_m(request.lat, request.lon, space.lat, space.lon)
        if distance_m > request.max_walk_m:
            found.append(Violation("walk", f"{where}: {distance_m:.1f} m > {request.max_walk_m} m"))
        if space.price_fen > request.max_price_fen:
            found.append(
                Violation("price", f"{where}: {space.price_fen} > {request.max_price_fen} fen")
            )
        missing = sorted(set(request.needs) - set(space.features))
        if missing:
            found.append(Violation("needs", f"{where}: space lacks {missing}"))
        stays.setdefault(space.id, []).append(request)
        served_weight += request.weight
        walk_m += round_walk_m(distance_m)

    turnover = instance.turnover_minutes * 60
    for space_id, on_space in stays.items():
        on_space.sort(key=lambda r: (r.arrive, r.depart))
        # Compare each stay with the latest-ending one before it: if that one is clear,
        # every earlier one is too.
        latest = on_space[0]
        for later in on_space[1:]:
            if (later.arrive - latest.depart).total_seconds() < turnover:
                found.append(
                    Violation(
                        "overlap",
                        f"{space_id}: {latest.id} and {later.id} overlap with the "
                        f"{instance.turnover_minutes} min turnover",
                    )
                )
            if later.depart > latest.depart:
                latest = later

    reported = solution.objective
    if (reported.served_weight, reported.walk_m) != (served_weight, walk_m):
        found.append(
            Violation(
                "objective",
                f"reported ({reported.served_weight}, {reported.walk_m}) but assignments give "
                f"({served_weight}, {walk_m})",
            )
        )
    bound = solution.bound
    if solution.status == "optimal" and bound != reported:
        found.append(Violation("bound", "status optimal but bound differs from objective"))
    if (bound.served_weight, -bound.walk_m) < (reported.served_weight, -reported.walk_m):
        found.append(Violation("bound", "bound is lexicographically worse than the objective"))
    return found


def check(instance: Instance, solution: Solution) -> None:
    """Raise `InvalidSolution` listing every violation, if any."""
    violations = validate(instance, solution)
    if violations:
        raise InvalidSolution(violations)
