"""Pure night allocation (`shared/allocator/FORMAT.md`): instance and solution models, the
OR-Tools solver, a first-come-first-served baseline and a solver-agnostic validator.
Nothing here touches a database or the clock.
"""

from __future__ import annotations

from allocator.greedy import first_come_first_served
from allocator.instance import Instance, InstanceError, Solution, load_instance, load_solution
from allocator.solver import solve
from allocator.validate import InvalidSolution, Violation, check, validate

__all__ = [
    "Instance",
    "InstanceError",
    "InvalidSolution",
    "Solution",
    "Violation",
    "check",
    "first_come_first_served",
    "load_instance",
    "load_solution",
    "solve",
    "validate",
]
