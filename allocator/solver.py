"""Night allocation with OR-Tools: maximise served weight, then minimise walk (FORMAT.md).

Guarantees: the answer is always valid; `optimal` only when every part was proven; the
bound is always a proven one. Model, in whole minutes and whole metres:

- Pools. Spaces with the same building, place, features, price and windows are
  interchangeable; a pool has capacity = its number of spaces.
- Variables. x[r, p] in {0, 1} for every request r and pool p eligible for it
  (`eligibility.prepare`): r parks somewhere in p.
- Constraints. Each request at most once: sum_p x[r, p] <= 1. Capacity: for every maximal
  clique K of the interval graph of p's candidates, with stays extended by the turnover
  as half-open [arrive, depart + turnover), sum_{r in K} x[r, p] <= capacity(p).
  Interval graphs are perfect, so these cliques are exactly the condition for the stays
  put on p to fit on its spaces; spaces then follow by greedy colouring by arrival.
  Cliques no larger than the capacity can never bind and are dropped.
- Objective. Maximise sum (weight[r] * BIG - walk_m[r, p]) x[r, p], with BIG one more
  than the largest total walk possible, which is the lexicographic order in one number.

Solving. Requests linked by no binding clique are independent: one whose candidates bind
nowhere takes its nearest pool; the rest split into connected components. A component
in which every candidate lies in at most one binding clique has a network matrix and is
solved exactly as a min-cost flow (source -> request -> clique -> sink). Other components
go to CP-SAT with a greedy hint; its objective bound gives the reported bound.
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow
from ortools.sat.python import cp_model

from allocator.eligibility import IntArray, Prepared, prepare
from allocator.instance import Assignment, Instance, Objective, Solution

__all__ = ["solve"]


@dataclass
class _Cliques:
    """Binding cliques: clique k holds candidates members[start[k]:start[k+1]] of pool[k]."""

    pool: list[int]
    members: IntArray
    start: IntArray


@dataclass
class _Part:
    """A piece of the answer: chosen candidate per request, and its proven bound."""

    chosen: dict[int, int]  # request index -> candidate index
    bound_weight: int
    bound_walk_m: int
    proven: bool


def _binding_cliques(prep: Prepared) -> _Cliques:
    cand = prep.candidates
    by_pool = np.argsort(cand.pool, kind="stable")
    pools_sorted = cand.pool[by_pool]
    boundaries = np.flatnonzero(np.diff(pools_sorted)) + 1
    pool_of_clique: list[int] = []
    member_parts: list[IntArray] = []
    for group in np.split(by_pool, boundaries):
        if group.size == 0:
            continue
        pool_index = int(cand.pool[group[0]])
        capacity = prep.pools[pool_index].capacity
        if group.size <= capacity:
            continue
        arrive = prep.arrive_min[cand.request[group]]
        end_ext = prep.end_ext_min[cand.request[group]]
        starts = np.unique(arrive)
        ends = np.sort(end_ext)
        # A maximal clique lives just after a start s when no other start comes before
        # the first end after s (an end at the same minute as a start comes first).
        next_end = ends[np.searchsorted(ends, starts, side="right")]
        next_start = np.append(starts[1:], np.iinfo(np.int64).max)
        for s in starts[next_start >= next_end]:
            members = group[(arrive <= s) & (end_ext > s)]
            if members.size > capacity:
                pool_of_clique.append(pool_index)
                member_parts.append(members)
    sizes = np.array([m.size for m in member_parts], dtype=np.int64)
    start = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    members = (
        np.concatenate(member_parts).astype(np.int64)
        if member_parts
        else np.zeros(0, dtype=np.int64)
    )
    return _Cliques(pool=pool_of_clique, members=members, start=start)


def _components(n_requests: int, prep: Prepared, cliques: _Cliques) -> list[list[int]]:
    """Requests joined through binding cliques (union-find); singletons left out."""
    parent = list(range(n_requests))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    requests_of = prep.candidates.request
    bound = np.zeros(n_requests, dtype=bool)
    for k in range(len(cliques.pool)):
        reqs = requests_of[cliques.members[cliques.start[k] : cliques.start[k + 1]]]
        bound[reqs] = True
        root = find(int(reqs[0]))
        for r in reqs[1:].tolist():
            other = find(r)
            if other != root:
                parent[other] = root
    groups: dict[int, list[int]] = {}
    for r in np.flatnonzero(bound).tolist():
        groups.setdefault(find(r), []).append(r)
    return list(groups.values())


def _candidate_ranges(prep: Prepared, n_requests: int) -> tuple[IntArray, IntArray]:
    """Candidates of request r are first[r]:last[r] (sorted by walk)."""
    req = prep.candidates.request
    first = np.searchsorted(req, np.arange(n_requests), side="left")
    last = np.searchsorted(req, np.arange(n_requests), side="right")
    return first.astype(np.int64), last.astype(np.int64)


def _cliques_of_candidates(n_cand: int, cliques: _Cliques) -> list[list[int]]:
    of: list[list[int]] = [[] for _ in range(n_cand)]
    for k in range(len(cliques.pool)):
        for c in cliques.members[cliques.start[k] : cliques.start[k + 1]].tolist():
            of[c].append(k)
    return of


def _big(prep: Prepared, requests: list[int], first: IntArray, last: IntArray) -> int:
    walk = prep.candidates.walk_m
    # Candidates are sorted by walk, so the last one of a request is its longest.
    return 1 + sum(int(walk[last[r] - 1]) for r in requests)


def _solve_flows(
    prep: Prepared,
    components: list[list[int]],
    first: IntArray,
    last: IntArray,
    of: list[list[int]],
    cliques: _Cliques,
) -> list[_Part]:
    """All network-matrix components in one min-cost flow; exact."""
    if not components:
        return []
    cand = prep.candidates
    flow = min_cost_flow.SimpleMinCostFlow()
    source, sink = 0, 1
    next_node = 2
    request_node: dict[int, int] = {}
    clique_node: dict[int, int] = {}
    arcs: list[tuple[int, int]] = []  # (arc id, candidate)
    total = sum(len(c) for c in components)
    for component in components:
        big = _big(prep, component, first, last)
        for r in component:
            request_node[r] = next_node
            next_node += 1
            flow.add_arc_with_capacity_and_unit_cost(source, request_node[r], 1, 0)
            took_free = False
            for c in range(int(first[r]), int(last[r])):
                cost = int(cand.walk_m[c]) - int(prep.weight[r]) * big
                if of[c]:
                    k = of[c][0]
                    if k not in clique_node:
                        clique_node[k] = next_node
                        next_node += 1
                        flow.add_arc_with_capacity_and_unit_cost(
                            next_node - 1, sink, prep.pools[cliques.pool[k]].capacity, 0
                        )
                    arc = flow.add_arc_with_capacity_and_unit_cost(
                        request_node[r], clique_node[k], 1, cost
                    )
                elif not took_free:
                    # Free candidates never bind; the nearest one dominates the others.
                    took_free = True
                    arc = flow.add_arc_with_capacity_and_unit_cost(request_node[r], sink, 1, cost)
                else:
                    continue
                arcs.append((arc, c))
    flow.add_arc_with_capacity_and_unit_cost(source, sink, total, 0)
    flow.set_node_supply(source, total)
    flow.set_node_supply(sink, -total)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    chosen: dict[int, int] = {}
    for arc, c in arcs:
        if flow.flow(arc):
            chosen[int(cand.request[c])] = c
    parts = []
    for component in components:
        mine = {r: chosen[r] for r in component if r in chosen}
        weight = sum(int(prep.weight[r]) for r in mine)
        walk = sum(int(cand.walk_m[c]) for c in mine.values())
        parts.append(_Part(mine, weight, walk, proven=True))
    return parts


def _greedy_hint(
    prep: Prepared,
    component: list[int],
    first: IntArray,
    last: IntArray,
    of: list[list[int]],
    cliques: _Cliques,
) -> dict[int, int]:
    """Heaviest, least flexible requests first, each to its nearest pool with room."""
    cand = prep.candidates
    used: dict[int, int] = {}
    chosen: dict[int, int] = {}
    order = sorted(
        component,
        key=lambda r: (-int(prep.weight[r]), int(last[r] - first[r]), int(cand.walk_m[first[r]])),
    )
    for r in order:
        for c in range(int(first[r]), int(last[r])):
            if all(used.get(k, 0) < prep.pools[cliques.pool[k]].capacity for k in of[c]):
                for k in of[c]:
                    used[k] = used.get(k, 0) + 1
                chosen[r] = c
                break
    return chosen


def _solve_cpsat(
    prep: Prepared,
    component: list[int],
    first: IntArray,
    last: IntArray,
    of: list[list[int]],
    cliques: _Cliques,
    *,
    time_limit_s: float,
    workers: int,
    seed: int,
) -> _Part:
    cand = prep.candidates
    hint = _greedy_hint(prep, component, first, last, of, cliques)
    big = _big(prep, component, first, last)
    model = cp_model.CpModel()
    x: dict[int, cp_model.IntVar] = {}
    terms = []
    chosen_by_hint = set(hint.values())
    clique_ids: set[int] = set()
    for r in component:
        row = []
        for c in range(int(first[r]), int(last[r])):
            var = model.new_bool_var(f"x{c}")
            x[c] = var
            row.append(var)
            terms.append((int(prep.weight[r]) * big - int(cand.walk_m[c])) * var)
            model.add_hint(var, c in chosen_by_hint)
            clique_ids.update(of[c])
        model.add_at_most_one(row)
    for k in sorted(clique_ids):
        members = cliques.members[cliques.start[k] : cliques.start[k + 1]].tolist()
        model.add(sum(x[c] for c in members) <= prep.pools[cliques.pool[k]].capacity)
    model.maximize(sum(terms))

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, time_limit_s)
    solver.parameters.num_workers = max(1, workers)
    solver.parameters.random_seed = seed
    status = solver.solve(model)

    total_weight = sum(int(prep.weight[r]) for r in component)
    hint_value = sum(int(prep.weight[r]) * big - int(cand.walk_m[c]) for r, c in hint.items())
    chosen = hint
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) and solver.objective_value >= hint_value:
        chosen = {}
        for r in component:
            for c in range(int(first[r]), int(last[r])):
                if solver.boolean_value(x[c]):
                    chosen[r] = c
    weight = sum(int(prep.weight[r]) for r in chosen)
    walk = sum(int(cand.walk_m[c]) for c in chosen.values())
    if status == cp_model.OPTIMAL:
        return _Part(chosen, weight, walk, proven=True)
    if status == cp_model.FEASIBLE:
        bound_value = math.floor(solver.best_objective_bound + 1e-6)
        # Any answer of weight W and walk L < BIG has W*BIG - L <= bound_value.
        bound_weight = min(total_weight, (bound_value + big - 1) // big)
        bound_walk = max(0, bound_weight * big - bound_value)
        if bound_weight == weight:
            bound_walk = min(bound_walk, walk)
        return _Part(chosen, bound_weight, bound_walk, proven=False)
    # No answer from CP-SAT in time: only the trivial bound is known.
    return _Part(chosen, total_weight, 0, proven=False)


def _colour(prep: Prepared, chosen: dict[int, int]) -> list[tuple[int, int]]:
    """Concrete spaces by interval colouring, pool by pool, in order of arrival."""
    cand = prep.candidates
    per_pool: dict[int, list[int]] = {}
    for r, c in chosen.items():
        per_pool.setdefault(int(cand.pool[c]), []).append(r)
    placed: list[tuple[int, int]] = []
    for pool_index, requests in per_pool.items():
        pool = prep.pools[pool_index]
        requests.sort(key=lambda r: (int(prep.arrive_min[r]), r))
        free_from = [(-(2**62), space) for space in pool.space_indices]
        heapq.heapify(free_from)
        for r in requests:
            ready_min, space = heapq.heappop(free_from)
            if ready_min > int(prep.arrive_min[r]):
                raise AssertionError("clique constraints violated: pool cannot host its stays")
            placed.append((r, space))
            heapq.heappush(free_from, (int(prep.end_ext_min[r]), space))
    return placed


def solve(instance: Instance, *, time_limit_s: float, workers: int, seed: int) -> Solution:
    """Best assignment found within `time_limit_s`, with a proven bound (see module doc)."""
    started = time.perf_counter()
    n = len(instance.requests)
    prep = prepare(instance)
    first, last = _candidate_ranges(prep, n)
    cliques = _binding_cliques(prep)
    of = _cliques_of_candidates(prep.candidates.request.size, cliques)
    components = _components(n, prep, cliques)
    in_component = {r for component in components for r in component}

    parts: list[_Part] = []
    free: dict[int, int] = {}
    for r in range(n):
        if r not in in_component and last[r] > first[r]:
            free[r] = int(first[r])  # nearest pool; nothing it touches can bind
    parts.append(
        _Part(
            free,
            sum(int(prep.weight[r]) for r in free),
            sum(int(prep.candidates.walk_m[c]) for c in free.values()),
            proven=True,
        )
    )

    def is_network(component: list[int]) -> bool:
        return all(len(of[c]) <= 1 for r in component for c in range(first[r], last[r]))

    network = [c for c in components if is_network(c)]
    hard = sorted((c for c in components if not is_network(c)), key=len)
    parts.extend(_solve_flows(prep, network, first, last, of, cliques))

    remaining_size = sum(len(c) for c in hard)
    for component in hard:
        left_s = time_limit_s - (time.perf_counter() - started)
        share_s = left_s * len(component) / remaining_size
        remaining_size -= len(component)
        parts.append(
            _solve_cpsat(
                prep,
                component,
                first,
                last,
                of,
                cliques,
                time_limit_s=share_s,
                workers=workers,
                seed=seed,
            )
        )

    chosen: dict[int, int] = {}
    for part in parts:
        chosen.update(part.chosen)
    placed = _colour(prep, chosen)
    space_ids = [space.id for space in instance.spaces]
    request_ids = [request.id for request in instance.requests]
    served = {r for r, _ in placed}
    objective = Objective(
        served_weight=sum(int(prep.weight[r]) for r in served),
        walk_m=sum(int(prep.candidates.walk_m[c]) for c in chosen.values()),
    )
    proven = all(part.proven for part in parts)
    bound = (
        objective
        if proven
        else Objective(
            served_weight=sum(p.bound_weight for p in parts),
            walk_m=sum(p.bound_walk_m for p in parts),
        )
    )
    return Solution(
        status="optimal" if proven else "feasible",
        assignments=[
            Assignment(request=request_ids[r], space=space_ids[s]) for r, s in sorted(placed)
        ],
        unassigned=[request_ids[r] for r in range(n) if r not in served],
        objective=objective,
        bound=bound,
        solve_seconds=round(time.perf_counter() - started, 3),
    )
