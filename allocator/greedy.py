"""First-come-first-served baseline for benchmarks: what a night looks like without the solver.

Requests are served in order of `arrive` (ties: list order), as drivers turning up at the
gate would be; each takes a free eligible space at the shortest walk. The answer is valid,
never claimed optimal, and its bound is the trivial one (all eligible weight, no walk).
"""

from __future__ import annotations

import heapq
import time

import numpy as np

from allocator.eligibility import prepare
from allocator.instance import Assignment, Instance, Objective, Solution

__all__ = ["first_come_first_served"]


def first_come_first_served(instance: Instance) -> Solution:
    started = time.perf_counter()
    prep = prepare(instance)
    cand = prep.candidates
    n = len(instance.requests)
    first = np.searchsorted(cand.request, np.arange(n), side="left")
    last = np.searchsorted(cand.request, np.arange(n), side="right")
    # Arrival order means a space is free for a newcomer iff its latest end is past.
    free_from = [[(-(2**62), space) for space in pool.space_indices] for pool in prep.pools]
    placed: dict[int, tuple[int, int]] = {}  # request -> (space, walk_m)
    for r in sorted(range(n), key=lambda i: (int(prep.arrive_min[i]), i)):
        arrive_min = int(prep.arrive_min[r])
        for c in range(int(first[r]), int(last[r])):
            heap = free_from[int(cand.pool[c])]
            if heap[0][0] <= arrive_min:
                _, space = heapq.heapreplace(heap, (int(prep.end_ext_min[r]), heap[0][1]))
                placed[r] = (space, int(cand.walk_m[c]))
                break
    eligible_weight = sum(int(prep.weight[r]) for r in range(n) if last[r] > first[r])
    return Solution(
        status="feasible",
        assignments=[
            Assignment(request=instance.requests[r].id, space=instance.spaces[s].id)
            for r, (s, _) in sorted(placed.items())
        ],
        unassigned=[instance.requests[r].id for r in range(n) if r not in placed],
        objective=Objective(
            served_weight=sum(int(prep.weight[r]) for r in placed),
            walk_m=sum(walk for _, walk in placed.values()),
        ),
        bound=Objective(served_weight=eligible_weight, walk_m=0),
        solve_seconds=round(time.perf_counter() - started, 3),
    )
