"""Night allocation with OR-Tools: maximise served weight, then minimise walk (FORMAT.md).

Guarantees: the answer is always valid; `optimal` only when every part was proven; the
bound is always a proven one. Model, in whole minutes and whole metres:

- Pools. Spaces with the same building, place, features, price and windows are
  interchangeable; a pool's capacity is its number of spaces.
- Variables. x[r, p] in {0, 1} for every request r and pool p eligible for it
  (`eligibility.prepare`): r parks somewhere in p.
- Constraints. Each request at most once: sum_p x[r, p] <= 1. Capacity: for every maximal
  clique K of the interval graph of p's candidates, with stays extended by the turnover
  as half-open [arrive, depart + turnover), sum_{r in K} x[r, p] <= capacity(p).
  Interval graphs are perfect, so these cliques are exactly the condition for the stays
  put on p to fit on its spaces; spaces then follow by greedy colouring by arrival.
  Cliques no larger than the capacity never bind and are dropped. A stay lies in a
  contiguous run of its pool's cliques, so the LP states them as a running occupancy
  o[p, k] = o[p, k-1] + (stays entering clique k) - (stays leaving), 0 <= o <= capacity.
- Objective. Maximise sum (weight[r] * BIG - walk_m[r, p]) x[r, p], BIG being one more than
  the largest total walk possible: the lexicographic order as one integer.

Solving. A candidate in no binding clique ("free") can always be taken, so a request's
candidates farther than its nearest free one are dominated and dropped (repeated while
cliques shrink); a request whose nearest candidate is free simply takes it. The rest
split into components joined by binding cliques. A component where every candidate lies
in at most one binding clique has a network matrix: one exact min-cost flow. Others get
the LP relaxation, which on generated nights is integral or nearly so (where CP-SAT on
the same model spent 3 s in presolve at 1k requests):
- GLOP (simplex) while its expected time fits: an integral vertex is proven optimal;
- PDLP (first-order, multi-threaded) beyond: its duals give a rigorous bound by weak
  duality, its iterate rounded at one half gives the start.
The LP's picks are repaired greedily into a valid answer, then CP-SAT re-solves the
requests the LP left unsettled (and a growing ring of neighbours, or spatial chunks of
them when many) against the room the others leave, until the answer meets the bound or
time runs out. If no LP finishes, a min-cost flow over a relaxation (each candidate
kept in one of its cliques) gives the bound and a start that is repaired greedily.
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow
from ortools.linear_solver import pywraplp
from ortools.sat.python import cp_model

from allocator.eligibility import IntArray, Prepared, prepare
from allocator.instance import Assignment, Instance, Objective, Solution

__all__ = ["solve"]

# Beyond this many candidate pairs CP-SAT spends its budget in presolve (measured: 3 s
# at 25k pairs), so the exact repair of a fractional LP stays below it.
_CPSAT_MAX_CANDIDATES = 20_000
_INTEGRAL_TOLERANCE = 1e-6


@dataclass
class _Structure:
    """Binding cliques: active candidate c lies in cliques lo[c] .. hi[c]-1 (none: free)."""

    active: np.ndarray
    lo: IntArray
    hi: IntArray
    clique_pool: IntArray
    clique_capacity: IntArray
    clique_size: IntArray


@dataclass
class _Part:
    """Chosen candidate per request and the proven bound on this part's combined objective."""

    chosen: dict[int, int]
    bound_weight: int
    bound_walk_m: int
    proven: bool


def _structure(prep: Prepared, active: np.ndarray) -> _Structure:
    cand = prep.candidates
    n_cand = cand.request.size
    lo = np.zeros(n_cand, dtype=np.int64)
    hi = np.zeros(n_cand, dtype=np.int64)
    clique_pool: list[IntArray] = []
    clique_size: list[IntArray] = []
    n_cliques = 0
    idx = np.flatnonzero(active)
    by_pool = idx[np.argsort(cand.pool[idx], kind="stable")]
    cuts = np.flatnonzero(np.diff(cand.pool[by_pool])) + 1
    for group in np.split(by_pool, cuts):
        if group.size == 0:
            continue
        pool_index = int(cand.pool[group[0]])
        capacity = prep.pools[pool_index].capacity
        if group.size <= capacity:
            continue
        arrive = prep.arrive_min[cand.request[group]]
        end_ext = prep.end_ext_min[cand.request[group]]
        starts = np.unique(arrive)
        arrive_sorted = np.sort(arrive)
        end_sorted = np.sort(end_ext)
        # A maximal clique lives just after a start s when no other start comes before
        # the first end after s (an end at the same minute as a start comes first).
        next_end = end_sorted[np.searchsorted(end_sorted, starts, side="right")]
        next_start = np.append(starts[1:], np.iinfo(np.int64).max)
        points = starts[next_start >= next_end]
        size = np.searchsorted(arrive_sorted, points, side="right") - np.searchsorted(
            end_sorted, points, side="right"
        )
        binding = points[size > capacity]
        if binding.size == 0:
            continue
        lo[group] = n_cliques + np.searchsorted(binding, arrive, side="left")
        hi[group] = n_cliques + np.searchsorted(binding, end_ext, side="left")
        clique_pool.append(np.full(binding.size, pool_index, dtype=np.int64))
        clique_size.append(size[size > capacity])
        n_cliques += binding.size
    pools = np.concatenate(clique_pool) if clique_pool else np.zeros(0, dtype=np.int64)
    capacity_of_pool = np.array([p.capacity for p in prep.pools], dtype=np.int64)
    return _Structure(
        active=active,
        lo=lo,
        hi=hi,
        clique_pool=pools,
        clique_capacity=capacity_of_pool[pools] if pools.size else pools,
        clique_size=np.concatenate(clique_size) if clique_size else pools,
    )


def _reduce(prep: Prepared, n_requests: int) -> _Structure:
    """Drop candidates dominated by a nearer free one, until the cliques stop shrinking."""
    cand = prep.candidates
    index = np.arange(cand.request.size)
    active = np.ones(cand.request.size, dtype=bool)
    while True:
        st = _structure(prep, active)
        free = active & (st.lo == st.hi)
        first_free = np.full(n_requests, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first_free, cand.request[free], index[free])
        reduced = active & (index <= first_free[cand.request])
        if np.array_equal(reduced, active):
            return st
        active = reduced


def _components(n_requests: int, prep: Prepared, st: _Structure, bound: IntArray) -> IntArray:
    """Component label per request (meaningful for requests with bound candidates)."""
    n_cliques = st.clique_pool.size
    request = prep.candidates.request[bound]
    u = [request, n_requests + st.lo[bound]]
    # Consecutive cliques of a pool are joined when some stay spans both.
    spans = np.zeros(n_cliques + 1, dtype=np.int64)
    long_ = bound[st.hi[bound] - st.lo[bound] >= 2]
    np.add.at(spans, st.lo[long_], 1)
    np.add.at(spans, st.hi[long_] - 1, -1)
    joined = np.flatnonzero(np.cumsum(spans)[:n_cliques] > 0)
    u_all = np.concatenate([u[0], n_requests + joined])
    v_all = np.concatenate([u[1], n_requests + joined + 1])
    label = np.arange(n_requests + n_cliques, dtype=np.int64)
    # Hook-and-jump connected components, all in numpy.
    while True:
        lu, lv = label[u_all], label[v_all]
        low = np.minimum(lu, lv)
        new = label.copy()
        np.minimum.at(new, lu, low)
        np.minimum.at(new, lv, low)
        while True:
            jumped = new[new]
            if np.array_equal(jumped, new):
                break
            new = jumped
        if np.array_equal(new, label):
            return label[:n_requests]
        label = new


def _part_of(prep: Prepared, chosen: dict[int, int], proven: bool) -> _Part:
    weight = sum(int(prep.weight[r]) for r in chosen)
    walk = sum(int(prep.candidates.walk_m[c]) for c in chosen.values())
    return _Part(chosen, weight, walk, proven)


def _flow(
    prep: Prepared,
    st: _Structure,
    candidates: IntArray,
    clique_of: IntArray,
    big: int,
) -> dict[int, int]:
    """Exact min-cost flow when each candidate sits in at most one (given) clique.

    source -> request (1) -> clique (1, cost) -> sink (capacity); free candidates go to
    the sink directly; a bypass arc lets requests stay unserved.
    """
    cand = prep.candidates
    requests, request_node = np.unique(cand.request[candidates], return_inverse=True)
    cliques, clique_node = np.unique(clique_of[clique_of >= 0], return_inverse=True)
    source, sink = 0, 1
    request_base = 2
    clique_base = request_base + requests.size
    heads = np.full(candidates.size, sink, dtype=np.int64)
    heads[clique_of >= 0] = clique_base + clique_node
    cost = cand.walk_m[candidates] - prep.weight[cand.request[candidates]] * big
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(
        request_base + request_node, heads, np.ones(candidates.size, dtype=np.int64), cost
    )
    flow.add_arcs_with_capacity_and_unit_cost(
        np.zeros(requests.size, dtype=np.int64),
        request_base + np.arange(requests.size),
        np.ones(requests.size, dtype=np.int64),
        np.zeros(requests.size, dtype=np.int64),
    )
    flow.add_arcs_with_capacity_and_unit_cost(
        clique_base + np.arange(cliques.size),
        np.full(cliques.size, sink, dtype=np.int64),
        st.clique_capacity[cliques],
        np.zeros(cliques.size, dtype=np.int64),
    )
    flow.add_arc_with_capacity_and_unit_cost(source, sink, int(requests.size), 0)
    flow.set_node_supply(source, int(requests.size))
    flow.set_node_supply(sink, -int(requests.size))
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    used = candidates[flow.flows(arcs) > 0]
    return {int(cand.request[c]): int(c) for c in used}


def _repair(
    prep: Prepared,
    st: _Structure,
    requests: list[int],
    candidates_of: dict[int, list[int]],
    preferred: dict[int, int],
) -> dict[int, int]:
    """A valid choice: keep preferred picks while their cliques have room, then fill."""
    cand = prep.candidates
    used: dict[int, int] = {}
    capacity = st.clique_capacity
    lo, hi = st.lo, st.hi
    chosen: dict[int, int] = {}

    def take(r: int, c: int) -> bool:
        ks = range(int(lo[c]), int(hi[c]))
        if all(used.get(k, 0) < capacity[k] for k in ks):
            for k in ks:
                used[k] = used.get(k, 0) + 1
            chosen[r] = c
            return True
        return False

    for r in sorted(
        preferred, key=lambda r: (-int(prep.weight[r]), int(cand.walk_m[preferred[r]]))
    ):
        take(r, preferred[r])
    rest = [r for r in requests if r not in chosen]
    rest.sort(key=lambda r: (-int(prep.weight[r]), len(candidates_of[r])))
    for r in rest:
        for c in candidates_of[r]:
            if take(r, c):
                break
    return chosen


@dataclass
class _LpResult:
    """A solved relaxation: its optimum (a bound), x, and row duals."""

    value: int
    x: dict[int, float]
    request_dual: dict[int, float]
    clique_price: dict[int, float]


def _lp_seconds(n_candidates: int) -> float:
    """GLOP's time on this model, fitted on the 2-core benchmark machine (10k: 12 s, 20k: 45 s)."""
    return 12.0 * (n_candidates / 260_000) ** 1.9


def _solve_lp(
    prep: Prepared,
    st: _Structure,
    requests: list[int],
    candidates_of: dict[int, list[int]],
    big: int,
    time_limit_s: float,
    *,
    first_order: bool = False,
    workers: int = 1,
) -> _LpResult | None:
    """The compact relaxation over `requests`, or None if unfinished in time.

    GLOP (dual simplex) gives a vertex, often integral, and its optimum is the bound.
    With `first_order`, PDLP on `workers` threads scales to large components; its
    iterate is only near-optimal, so the bound is recomputed from its duals by weak
    duality (`_lagrangian_bound`) and holds however loose the tolerance.
    """
    cand = prep.candidates
    n_cliques = st.clique_pool.size
    lp = pywraplp.Solver.CreateSolver("PDLP" if first_order else "GLOP")
    if first_order:
        lp.SetSolverSpecificParametersAsString(
            f"num_threads: {max(1, workers)} termination_criteria {{ "
            "simple_optimality_criteria { eps_optimal_relative: 1e-4 "
            "eps_optimal_absolute: 1e-4 } }"
        )
    lp.SetTimeLimit(max(1, int(time_limit_s * 1000)))
    objective = lp.Objective()
    x: dict[int, pywraplp.Variable] = {}
    request_rows: dict[int, pywraplp.Constraint] = {}
    entering: dict[int, list[int]] = {}
    leaving: dict[int, list[int]] = {}
    touched: set[int] = set()
    for r in requests:
        row = lp.Constraint(0, 1)
        request_rows[r] = row
        weight_big = int(prep.weight[r]) * big
        for c in candidates_of[r]:
            var = lp.NumVar(0, 1, "")
            x[c] = var
            row.SetCoefficient(var, 1)
            objective.SetCoefficient(var, weight_big - int(cand.walk_m[c]))
            lo, hi = int(st.lo[c]), int(st.hi[c])
            if hi > lo:
                entering.setdefault(lo, []).append(c)
                touched.update(range(lo, hi))
                # The clique after a stay's run, if of the same pool, sees it leave.
                if hi < n_cliques and st.clique_pool[hi] == cand.pool[c]:
                    leaving.setdefault(hi, []).append(c)
    occupancy: dict[int, pywraplp.Variable] = {}
    for k in sorted(touched):
        occupancy[k] = lp.NumVar(0, int(st.clique_capacity[k]), "")
    clique_rows: dict[int, pywraplp.Constraint] = {}
    for k, var in occupancy.items():
        row = lp.Constraint(0, 0)
        clique_rows[k] = row
        row.SetCoefficient(var, -1)
        previous = occupancy.get(k - 1)
        if previous is not None and st.clique_pool[k - 1] == st.clique_pool[k]:
            row.SetCoefficient(previous, 1)
        for c in entering.get(k, ()):
            row.SetCoefficient(x[c], 1)
        for c in leaving.get(k, ()):
            row.SetCoefficient(x[c], -1)
    objective.SetMaximization()
    status = lp.Solve()
    if status != pywraplp.Solver.OPTIMAL:
        return None
    # Occupancy row k carries dual pi_k; a stay in cliques lo..hi-1 pays pi_lo - pi_hi,
    # so clique k's price is pi_k - pi_{k+1} (pi past the pool's last clique is 0).
    pi = {k: row.dual_value() for k, row in clique_rows.items()}
    price = {}
    for k, value in pi.items():
        same_pool_next = k + 1 < n_cliques and st.clique_pool[k + 1] == st.clique_pool[k]
        price[k] = value - (pi.get(k + 1, 0.0) if same_pool_next else 0.0)
    result = _LpResult(
        # GLOP's vertex optimum is exact up to its tolerances: round to the integer grid.
        value=math.floor(objective.Value() + 0.5),
        x={c: var.solution_value() for c, var in x.items()},
        request_dual={r: row.dual_value() for r, row in request_rows.items()},
        clique_price=price,
    )
    if first_order:
        result.value = _lagrangian_bound(
            prep, st, requests, candidates_of, big, result.request_dual, result.clique_price
        )
    return result


def _reduced_values(
    prep: Prepared,
    st: _Structure,
    requests: list[int],
    candidates_of: dict[int, list[int]],
    big: int,
    request_dual: dict[int, float],
    clique_price: dict[int, float],
) -> tuple[IntArray, np.ndarray, float]:
    """Candidates, their value minus the prices they pay, and the prices' own total.

    Prices are clipped at zero: u_r >= 0 per request, v_k >= 0 per clique.
    """
    cand = prep.candidates
    n_cliques = st.clique_pool.size
    v = np.zeros(n_cliques + 1)
    for k, price in clique_price.items():
        v[k] = max(0.0, price)
    prefix = np.concatenate(([0.0], np.cumsum(v[:n_cliques])))
    cs = np.array([c for r in requests for c in candidates_of[r]], dtype=np.int64)
    owner = cand.request[cs]
    u = np.zeros(prep.weight.size)
    for r in requests:
        u[r] = max(0.0, request_dual.get(r, 0.0))
    value = (prep.weight[owner] * big - cand.walk_m[cs]).astype(np.float64)
    reduced = value - u[owner] - (prefix[st.hi[cs]] - prefix[st.lo[cs]])
    paid = float(u[requests].sum()) + float((st.clique_capacity * v[:n_cliques]).sum())
    return cs, reduced, paid


def _lagrangian_bound(
    prep: Prepared,
    st: _Structure,
    requests: list[int],
    candidates_of: dict[int, list[int]],
    big: int,
    request_dual: dict[int, float],
    clique_price: dict[int, float],
) -> int:
    """A rigorous bound on sum(w*BIG - walk) x from any prices, by weak duality.

    With 0 <= x <= 1, any u_r >= 0 per request and v_k >= 0 per clique give
    sum u + sum capacity*v + sum_c max(0, value_c - u_r - sum_{k in run(c)} v_k).
    """
    _, reduced, paid = _reduced_values(
        prep, st, requests, candidates_of, big, request_dual, clique_price
    )
    # Float sums of integers below 2**53 are exact to far under one unit.
    return math.floor(paid + float(np.maximum(reduced, 0.0).sum()) + 1e-3)


def _value(prep: Prepared, chosen: dict[int, int], big: int) -> int:
    cand = prep.candidates
    return sum(int(prep.weight[r]) * big - int(cand.walk_m[c]) for r, c in chosen.items())


def _lexicographic(
    prep: Prepared, chosen: dict[int, int], bound_value: int, big: int, total_weight: int
) -> _Part:
    part = _part_of(prep, chosen, proven=False)
    if _value(prep, chosen, big) >= bound_value:
        return _Part(chosen, part.bound_weight, part.bound_walk_m, proven=True)
    # Any answer of weight W and walk L < BIG has W*BIG - L <= bound_value.
    bound_weight = min(total_weight, (bound_value + big - 1) // big)
    bound_walk = max(0, bound_weight * big - bound_value)
    return _Part(chosen, bound_weight, bound_walk, proven=False)


def _resolve(
    prep: Prepared,
    st: _Structure,
    candidates_of: dict[int, list[int]],
    big: int,
    chosen: dict[int, int],
    room_used: dict[int, int],
    free: set[int],
    *,
    time_limit_s: float,
    workers: int,
    seed: int,
) -> tuple[dict[int, int], set[int]]:
    """CP-SAT over the `free` requests only, the others fixed; returns (chosen, cliques).

    `room_used` counts, per clique, every chosen stay; it is kept up to date.
    """
    cand = prep.candidates
    for r in free:
        c = chosen.get(r)
        if c is not None:
            for k in range(int(st.lo[c]), int(st.hi[c])):
                room_used[k] -= 1
    model = cp_model.CpModel()
    x: dict[int, cp_model.IntVar] = {}
    members: dict[int, list[int]] = {}
    terms = []
    for r in sorted(free):
        row = []
        for c in candidates_of[r]:
            x[c] = model.new_bool_var("")
            row.append(x[c])
            terms.append((int(prep.weight[r]) * big - int(cand.walk_m[c])) * x[c])
            model.add_hint(x[c], chosen.get(r) == c)
            for k in range(int(st.lo[c]), int(st.hi[c])):
                members.setdefault(k, []).append(c)
        model.add_at_most_one(row)
    for k, cs in members.items():
        model.add(sum(x[c] for c in cs) <= int(st.clique_capacity[k]) - room_used.get(k, 0))
    model.maximize(sum(terms))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.01, time_limit_s)
    solver.parameters.num_workers = max(1, workers)
    solver.parameters.random_seed = seed
    before = {r: chosen[r] for r in free if r in chosen}
    status = solver.solve(model)
    after = before
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        found = {int(cand.request[c]): c for c, var in x.items() if solver.boolean_value(var)}
        if _value(prep, found, big) > _value(prep, before, big):
            after = found
    chosen = {r: c for r, c in chosen.items() if r not in free}
    chosen.update(after)
    for c in after.values():
        for k in range(int(st.lo[c]), int(st.hi[c])):
            room_used[k] = room_used.get(k, 0) + 1
    return chosen, set(members)


def _polish(
    prep: Prepared,
    st: _Structure,
    component: list[int],
    candidates_of: dict[int, list[int]],
    big: int,
    chosen: dict[int, int],
    unsettled: set[int],
    bound_value: int,
    *,
    time_limit_s: float,
    workers: int,
    seed: int,
) -> dict[int, int]:
    """Re-solve exactly the requests the LP left unsettled, the rest held fixed.

    Few unsettled requests: one CP-SAT model, grown by the requests sharing its cliques
    until the answer meets the bound, time runs out or it gets too big. Many: CP-SAT over
    spatial chunks of them in turn.
    """
    started = time.perf_counter()
    room_used: dict[int, int] = {}
    for c in chosen.values():
        for k in range(int(st.lo[c]), int(st.hi[c])):
            room_used[k] = room_used.get(k, 0) + 1

    def left_s() -> float:
        return time_limit_s - (time.perf_counter() - started)

    def size(requests: set[int] | list[int]) -> int:
        return sum(len(candidates_of[r]) for r in requests)

    def chunked(ordered: list[int]) -> list[set[int]]:
        """Consecutive runs of ``ordered``, each within a quarter of CP-SAT's candidate budget."""
        chunks: list[set[int]] = [set()]
        for r in ordered:
            if size(chunks[-1]) + len(candidates_of[r]) > _CPSAT_MAX_CANDIDATES // 4:
                chunks.append(set())
            chunks[-1].add(r)
        return chunks

    if size(unsettled) > _CPSAT_MAX_CANDIDATES:
        ordered = sorted(unsettled, key=lambda r: (float(prep.lat[r]), float(prep.lon[r])))
        chunks = chunked(ordered)
        for i, chunk in enumerate(chunks):
            if left_s() < 0.05:
                break
            chosen, _ = _resolve(
                prep,
                st,
                candidates_of,
                big,
                chosen,
                room_used,
                chunk,
                time_limit_s=left_s() / (len(chunks) - i),
                workers=workers,
                seed=seed,
            )
        return chosen

    requests_in: dict[int, set[int]] = {}
    free = set(unsettled)
    while left_s() > 0.05 and size(free) <= _CPSAT_MAX_CANDIDATES:
        chosen, cliques = _resolve(
            prep,
            st,
            candidates_of,
            big,
            chosen,
            room_used,
            free,
            time_limit_s=left_s(),
            workers=workers,
            seed=seed,
        )
        if _value(prep, chosen, big) >= bound_value:
            break
        if not requests_in:
            for r in component:
                for c in candidates_of[r]:
                    for k in range(int(st.lo[c]), int(st.hi[c])):
                        requests_in.setdefault(k, set()).add(r)
        grown = free | {r for k in cliques for r in requests_in[k]}
        if grown == free:
            break
        free = grown
    if _value(prep, chosen, big) >= bound_value:
        return chosen
    # Time left: sweep CP-SAT over spatial chunks of the whole component, each against
    # the room the others leave (a large-neighbourhood search); mostly shortens walks.
    ordered = sorted(component, key=lambda r: (round(float(prep.lat[r]) / 0.005), prep.lon[r]))
    for chunk in chunked(ordered):
        if left_s() < 0.2:
            break
        chosen, _ = _resolve(
            prep,
            st,
            candidates_of,
            big,
            chosen,
            room_used,
            chunk,
            time_limit_s=min(left_s(), 2.0),
            workers=workers,
            seed=seed,
        )
    return chosen


def _relaxed(
    prep: Prepared,
    st: _Structure,
    component: list[int],
    candidates_of: dict[int, list[int]],
    big: int,
) -> _Part:
    """Bound and answer without any LP: a min-cost flow over a relaxation, then repair.

    Each candidate keeps only its most crowded clique among the first, middle and last of
    its run; dropping constraints only raises the optimum, so the flow's value is a bound.
    """
    cs = np.array([c for r in component for c in candidates_of[r]], dtype=np.int64)
    lo, hi = st.lo[cs], st.hi[cs]
    options = np.stack([lo, (lo + hi - 1) // 2, hi - 1])
    options[:, hi == lo] = -1
    sizes = np.where(options >= 0, st.clique_size[np.maximum(options, 0)], -1)
    clique_of = options[np.argmax(sizes, axis=0), np.arange(cs.size)]
    relaxed = _flow(prep, st, cs, clique_of, big)
    chosen = _repair(prep, st, component, candidates_of, relaxed)
    total_weight = sum(int(prep.weight[r]) for r in component)
    return _lexicographic(prep, chosen, _value(prep, relaxed, big), big, total_weight)


def _solve_hard(
    prep: Prepared,
    st: _Structure,
    component: list[int],
    candidates_of: dict[int, list[int]],
    *,
    time_limit_s: float,
    workers: int,
    seed: int,
) -> _Part:
    started = time.perf_counter()
    cand = prep.candidates
    big = 1 + sum(int(cand.walk_m[candidates_of[r][-1]]) for r in component)
    total_weight = sum(int(prep.weight[r]) for r in component)
    n_candidates = sum(len(candidates_of[r]) for r in component)
    # The simplex is exact and often integral but grows ~n^1.9; past half the budget the
    # first-order method takes over (measured: 50k requests in 60 s against GLOP's ~4 min).
    first_order = _lp_seconds(n_candidates) > 0.5 * time_limit_s
    lp_share_s = 0.75 * time_limit_s if first_order else time_limit_s
    solved = _solve_lp(
        prep,
        st,
        component,
        candidates_of,
        big,
        lp_share_s,
        first_order=first_order,
        workers=workers,
    )
    if solved is None:
        return _relaxed(prep, st, component, candidates_of, big)
    bound_value = solved.value
    if first_order:
        # PDLP's iterate is near-optimal but blurred; the simplex over the candidates it
        # clearly uses is small and returns a vertex, usually integral, to start from
        # (measured at 50k requests: x > 0.02 keeps 12 % of the candidates and an LP
        # value within one unit of weight of the bound; x > 1e-3 did not finish in 29 s,
        # while at 20k it did, with 27 % less walk than x > 0.02).
        left_s = 0.9 * time_limit_s - (time.perf_counter() - started)
        for threshold in (1e-3, 0.02, 0.1, 0.3):
            kept = {r: [c for c in candidates_of[r] if solved.x[c] > threshold] for r in component}
            kept = {r: cs for r, cs in kept.items() if cs}
            if 2 * _lp_seconds(sum(len(cs) for cs in kept.values())) <= left_s:
                break
        vertex = _solve_lp(prep, st, list(kept), kept, big, max(0.1, left_s))
        if vertex is not None:
            solved = vertex
            first_order = False
    # At most one candidate per request can exceed one half.
    preferred = {int(cand.request[c]): c for c, v in solved.x.items() if v > 0.5}
    chosen = _repair(prep, st, component, candidates_of, preferred)
    margin = 0.05 if first_order else _INTEGRAL_TOLERANCE
    unsettled = {int(cand.request[c]) for c, v in solved.x.items() if margin < v < 1 - margin}
    unsettled.update(r for r in preferred if r not in chosen)
    left_s = time_limit_s - (time.perf_counter() - started)
    if unsettled and left_s > 0.1:
        chosen = _polish(
            prep,
            st,
            component,
            candidates_of,
            big,
            chosen,
            unsettled,
            bound_value,
            time_limit_s=left_s,
            workers=workers,
            seed=seed,
        )
    return _lexicographic(prep, chosen, bound_value, big, total_weight)


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


@dataclass
class _Decomposition:
    """Where each request goes: taken at once, one network flow, or a hard component."""

    st: _Structure
    free: dict[int, int]
    network: list[int]
    hard: list[list[int]]
    candidates_of: dict[int, list[int]]


def _decompose(prep: Prepared, n_requests: int) -> _Decomposition:
    cand = prep.candidates
    st = _reduce(prep, n_requests)
    active = np.flatnonzero(st.active)
    in_clique = active[st.hi[active] > st.lo[active]]
    is_bound = np.zeros(n_requests, dtype=bool)
    is_bound[cand.request[in_clique]] = True
    # A request with no candidate in a binding clique has exactly one active candidate
    # left, its nearest, and nothing it touches can overflow.
    free = {int(cand.request[c]): int(c) for c in active.tolist() if not is_bound[cand.request[c]]}
    label = _components(n_requests, prep, st, in_clique)
    groups: dict[int, list[int]] = {}
    candidates_of: dict[int, list[int]] = {}
    for c in active[is_bound[cand.request[active]]].tolist():
        r = int(cand.request[c])
        if r not in candidates_of:
            candidates_of[r] = []
            groups.setdefault(int(label[r]), []).append(r)
        candidates_of[r].append(c)
    width = st.hi - st.lo
    network: list[int] = []
    hard: list[list[int]] = []
    for component in groups.values():
        if all(width[c] <= 1 for r in component for c in candidates_of[r]):
            network.extend(c for r in component for c in candidates_of[r])
        else:
            hard.append(component)
    hard.sort(key=len)
    return _Decomposition(st, free, network, hard, candidates_of)


def solve(instance: Instance, *, time_limit_s: float, workers: int, seed: int) -> Solution:
    """Best assignment found within `time_limit_s`, with a proven bound (see module doc)."""
    started = time.perf_counter()
    prep = prepare(instance)
    cand = prep.candidates
    plan = _decompose(prep, len(instance.requests))
    parts = [_part_of(prep, plan.free, proven=True)]
    if plan.network:
        cs = np.array(plan.network, dtype=np.int64)
        n_network = len({int(cand.request[c]) for c in plan.network})
        big = 1 + int(cand.walk_m[cs].max()) * n_network
        clique_of = np.where(plan.st.hi[cs] > plan.st.lo[cs], plan.st.lo[cs], -1)
        parts.append(_part_of(prep, _flow(prep, plan.st, cs, clique_of, big), proven=True))
    remaining = sum(len(c) for c in plan.hard)
    for component in plan.hard:
        # Time is shared by size; what a small component leaves unused goes to the next.
        left_s = time_limit_s - (time.perf_counter() - started)
        share_s = max(0.1, left_s * len(component) / remaining)
        remaining -= len(component)
        parts.append(
            _solve_hard(
                prep,
                plan.st,
                component,
                plan.candidates_of,
                time_limit_s=share_s,
                workers=workers,
                seed=seed,
            )
        )
    return _assemble(instance, prep, parts, started)


def _assemble(instance: Instance, prep: Prepared, parts: list[_Part], started: float) -> Solution:
    """The solution file from the parts: spaces by colouring, bound summed over parts.

    Summing is sound: all parts reach their weight bounds only if each does, and then
    each walks at least its own walk bound.
    """
    cand = prep.candidates
    n = len(instance.requests)
    chosen: dict[int, int] = {}
    for part in parts:
        chosen.update(part.chosen)
    placed = _colour(prep, chosen)
    space_ids = [space.id for space in instance.spaces]
    request_ids = [request.id for request in instance.requests]
    objective = Objective(
        served_weight=sum(int(prep.weight[r]) for r in chosen),
        walk_m=sum(int(cand.walk_m[c]) for c in chosen.values()),
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
        unassigned=[request_ids[r] for r in range(n) if r not in chosen],
        objective=objective,
        bound=bound,
        solve_seconds=round(time.perf_counter() - started, 3),
    )
