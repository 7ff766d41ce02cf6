"""The search's candidate query is answered by the buildings_location index, and its box
holds every point within the radius."""

from __future__ import annotations

import math

import asyncpg
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.geo import EARTH_RADIUS_M, haversine_m
from parking.places import repository
from parking.places.search import bounding_box


async def test_the_bounding_box_query_uses_the_gist_index(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "INSERT INTO buildings (district_place_id, name, lat, lon)"
        " SELECT 'b-' || n, 'B' || n, 22.5 + n * 1e-4, 114.1 + n * 1e-4"
        " FROM generate_series(1, 2000) AS n"
    )
    await conn.execute("ANALYZE buildings")
    south, west, north, east = bounding_box(22.55, 114.15, 800)
    rows = await conn.fetch("EXPLAIN " + repository._CANDIDATES_IN_BOX, west, south, east, north)
    plan = "\n".join(r[0] for r in rows)
    assert "buildings_location" in plan
    found = await repository.candidates_in_box(conn, south, west, north, east)
    assert found and all(south <= c.lat <= north and west <= c.lon <= east for c in found)


def _destination(lat: float, lon: float, bearing: float, distance_m: float):
    """The point ``distance_m`` from (lat, lon) on the great circle leaving at ``bearing``."""
    angle = distance_m / EARTH_RADIUS_M
    phi1, lam1 = math.radians(lat), math.radians(lon)
    phi2 = math.asin(
        math.sin(phi1) * math.cos(angle) + math.cos(phi1) * math.sin(angle) * math.cos(bearing)
    )
    lam2 = lam1 + math.atan2(
        math.sin(bearing) * math.sin(angle) * math.cos(phi1),
        math.cos(angle) - math.sin(phi1) * math.sin(phi2),
    )
    return math.degrees(phi2), math.degrees(lam2)


@settings(max_examples=500, deadline=None)
@given(
    lat=st.floats(-80, 80),
    lon=st.floats(-170, 170),
    radius=st.integers(1, 5000),
    bearing=st.floats(0, 2 * math.pi),
    fraction=st.floats(0, 1),
)
def test_every_point_within_the_radius_lies_in_the_box(
    lat: float, lon: float, radius: int, bearing: float, fraction: float
) -> None:
    south, west, north, east = bounding_box(lat, lon, radius)
    p_lat, p_lon = _destination(lat, lon, bearing, radius * fraction)
    assert haversine_m(lat, lon, p_lat, p_lon) <= radius + 1e-6
    # Float error of the trigonometry: far below a millimetre.
    eps = 1e-9
    assert south - eps <= p_lat <= north + eps and west - eps <= p_lon <= east + eps
