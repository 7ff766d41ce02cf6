"""Great-circle walking distance, the one definition used by solver, greedy and validator.

`haversine_m` is the reference (FORMAT.md: sphere of radius 6 371 008.8 m);
`haversine_m_array` is its numpy twin for bulk filtering, never for final decisions.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = ["EARTH_RADIUS_M", "haversine_m", "haversine_m_array", "round_walk_m"]

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Distance in metres between two points given in degrees."""
    phi1 = math.radians(lat1)
    phi2 = math.radians(lat2)
    dphi = phi2 - phi1
    dlam = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def haversine_m_array(
    lat1: npt.NDArray[np.float64], lon1: npt.NDArray[np.float64], lat2: float, lon2: float
) -> npt.NDArray[np.float64]:
    """Vectorised `haversine_m` from many points to one; may differ from it in the last ulp."""
    phi1 = np.radians(lat1)
    phi2 = math.radians(lat2)
    dphi = phi2 - phi1
    dlam = math.radians(lon2) - np.radians(lon1)
    h = np.sin(dphi / 2) ** 2 + np.cos(phi1) * math.cos(phi2) * np.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(h)))


def round_walk_m(distance_m: float) -> int:
    """Nearest whole metre, halves up (Python's round() would send 0.5 to even)."""
    return math.floor(distance_m + 0.5)
