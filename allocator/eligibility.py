"""Whole-minute, integer-metre view of an instance: pools of interchangeable spaces and,
for every request, the pools it may use (FORMAT.md rules 1-4) with its rounded walk.

Guarantee: a (request, pool) pair is listed exactly when every space of the pool is
eligible for the request by the same `geo.haversine_m` the validator uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from allocator.geo import EARTH_RADIUS_M, haversine_m, haversine_m_array, round_walk_m
from allocator.instance import Instance

__all__ = ["Candidates", "Pool", "Prepared", "minutes", "prepare"]

IntArray = npt.NDArray[np.int64]

# Float disagreements between numpy and math are a few ulp; anything this close to a
# decision boundary is decided again by the scalar reference.
_BOUNDARY_SLACK = 1e-6


def minutes(instant: datetime) -> int:
    """Whole minutes since the epoch; instances are validated to whole minutes."""
    return int(instant.timestamp()) // 60


@dataclass(frozen=True)
class Pool:
    """Spaces that no request can tell apart: same building, place, features, price, windows."""

    space_indices: tuple[int, ...]
    lat: float
    lon: float
    price_fen: int
    features: frozenset[str]
    windows_min: tuple[tuple[int, int], ...]

    @property
    def capacity(self) -> int:
        return len(self.space_indices)


@dataclass(frozen=True)
class Candidates:
    """Eligible (request, pool) pairs, sorted by request then walk then pool."""

    request: IntArray
    pool: IntArray
    walk_m: IntArray


@dataclass(frozen=True)
class Prepared:
    arrive_min: IntArray
    depart_min: IntArray
    # End of the stay plus turnover: stays conflict iff their [arrive, end_ext) overlap.
    end_ext_min: IntArray
    weight: IntArray
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    pools: list[Pool]
    candidates: Candidates


def _pools(instance: Instance) -> list[Pool]:
    grouped: dict[tuple[object, ...], list[int]] = {}
    for index, space in enumerate(instance.spaces):
        windows = tuple((minutes(start), minutes(end)) for start, end in space.available)
        if not windows:
            continue
        key = (
            space.building_id,
            space.lat,
            space.lon,
            frozenset(space.features),
            space.price_fen,
            windows,
        )
        grouped.setdefault(key, []).append(index)
    pools = []
    for key, indices in grouped.items():
        _, lat, lon, features, price_fen, windows = key
        pools.append(
            Pool(
                space_indices=tuple(indices),
                lat=float(lat),  # type: ignore[arg-type]
                lon=float(lon),  # type: ignore[arg-type]
                price_fen=int(price_fen),  # type: ignore[call-overload]
                features=features,  # type: ignore[arg-type]
                windows_min=windows,  # type: ignore[arg-type]
            )
        )
    return pools


def prepare(instance: Instance) -> Prepared:
    """Pools and candidate pairs; cost grows with pairs within walking range, not n x m."""
    requests = instance.requests
    n = len(requests)
    arrive = np.fromiter((minutes(r.arrive) for r in requests), np.int64, n)
    depart = np.fromiter((minutes(r.depart) for r in requests), np.int64, n)
    weight = np.fromiter((r.weight for r in requests), np.int64, n)
    lat = np.fromiter((r.lat for r in requests), np.float64, n)
    lon = np.fromiter((r.lon for r in requests), np.float64, n)
    max_walk = np.fromiter((r.max_walk_m for r in requests), np.float64, n)
    max_price = np.fromiter((r.max_price_fen for r in requests), np.int64, n)
    needs_groups: dict[frozenset[str], int] = {}
    need_group = np.fromiter(
        (needs_groups.setdefault(frozenset(r.needs), len(needs_groups)) for r in requests),
        np.int64,
        n,
    )
    pools = _pools(instance)

    # Latitude alone bounds the great-circle distance from below, so a sorted-latitude
    # band is a cheap exact pre-filter (the coarse grid) before any haversine.
    order = np.argsort(lat, kind="stable")
    lat_sorted = lat[order]
    metres_per_degree = EARTH_RADIUS_M * math.pi / 180.0
    band_deg = (float(max_walk.max()) if n else 0.0) / metres_per_degree + 1e-9

    by_place: dict[tuple[float, float], list[int]] = {}
    for pool_index, pool in enumerate(pools):
        by_place.setdefault((pool.lat, pool.lon), []).append(pool_index)

    parts_request: list[IntArray] = []
    parts_pool: list[IntArray] = []
    parts_walk: list[IntArray] = []
    for (place_lat, place_lon), pool_indices in by_place.items():
        lo = int(np.searchsorted(lat_sorted, place_lat - band_deg, side="left"))
        hi = int(np.searchsorted(lat_sorted, place_lat + band_deg, side="right"))
        if lo >= hi:
            continue
        near = order[lo:hi]
        distance = haversine_m_array(lat[near], lon[near], place_lat, place_lon)
        keep = distance <= max_walk[near] + _BOUNDARY_SLACK
        near, distance = near[keep], distance[keep]
        if near.size == 0:
            continue
        walk = np.floor(distance + 0.5).astype(np.int64)
        ambiguous = (np.abs(distance - max_walk[near]) <= _BOUNDARY_SLACK) | (
            np.abs(distance - np.floor(distance) - 0.5) <= _BOUNDARY_SLACK
        )
        if ambiguous.any():
            within = np.ones(near.size, dtype=bool)
            for k in np.flatnonzero(ambiguous):
                r = requests[int(near[k])]
                exact = haversine_m(r.lat, r.lon, place_lat, place_lon)
                within[k] = exact <= r.max_walk_m
                walk[k] = round_walk_m(exact)
            near, walk = near[within], walk[within]
        for pool_index in pool_indices:
            pool = pools[pool_index]
            group_ok = np.array([needs <= pool.features for needs in needs_groups], dtype=bool)
            ok = (max_price[near] >= pool.price_fen) & group_ok[need_group[near]]
            inside = np.zeros(near.size, dtype=bool)
            a, d = arrive[near], depart[near]
            for start, end in pool.windows_min:
                inside |= (a >= start) & (d <= end)
            ok &= inside
            if ok.any():
                parts_request.append(near[ok])
                parts_pool.append(np.full(int(ok.sum()), pool_index, dtype=np.int64))
                parts_walk.append(walk[ok])

    if parts_request:
        cand_request = np.concatenate(parts_request)
        cand_pool = np.concatenate(parts_pool)
        cand_walk = np.concatenate(parts_walk)
        sort = np.lexsort((cand_pool, cand_walk, cand_request))
        cand_request, cand_pool, cand_walk = cand_request[sort], cand_pool[sort], cand_walk[sort]
    else:
        cand_request = cand_pool = cand_walk = np.zeros(0, dtype=np.int64)
    return Prepared(
        arrive_min=arrive,
        depart_min=depart,
        end_ext_min=depart + instance.turnover_minutes,
        weight=weight,
        lat=lat,
        lon=lon,
        pools=pools,
        candidates=Candidates(request=cand_request, pool=cand_pool, walk_m=cand_walk),
    )
