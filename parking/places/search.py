"""Search: active places with free shared spaces near a point for a night, nearest first.

Index-backed: the radius's bounding box on the GiST index ``buildings_location``, then the
exact great-circle distance (``allocator.geo``); windows, free counts and nothing else are
read for all candidates at once, and prices only for the page returned.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
from collections.abc import Collection
from dataclasses import dataclass

import asyncpg

from allocator.geo import EARTH_RADIUS_M, haversine_m, round_walk_m
from parking.errors import Problem
from parking.occupancy import Interval, free_space_counts
from parking.places import repository
from parking.places.repository import Candidate
from parking.places.schemas import SearchItem, SearchPage, SearchPoint, WindowOut
from parking.prices import plans_by_building
from parking.residents.service import home_of
from parking.security import AuthUser
from parking.windows import Window, envelope, load_windows
from pricing.plans import NoPlanInForce, NotBookable, PricePlan, plan_in_force
from pricing.quote import quote

__all__ = ["MAX_LIMIT", "MAX_RADIUS_M", "SearchQuery", "bounding_box", "search_places"]

MAX_RADIUS_M = 5000
MAX_LIMIT = 100


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """The search as asked; ``None`` means: use the default."""

    night: dt.date | None = None
    arrive: dt.datetime | None = None
    depart: dt.datetime | None = None
    lat: float | None = None
    lon: float | None = None
    radius_m: int = 800
    ev: bool = False
    large: bool = False
    limit: int = 20
    cursor: str | None = None
    offset: int | None = None

    @property
    def needs(self) -> tuple[str, ...]:
        return tuple(f for f, wanted in (("ev", self.ev), ("large", self.large)) if wanted)


@dataclass(frozen=True, slots=True)
class _Match:
    candidate: Candidate
    walk_m: int
    window: Window
    arrive: dt.datetime
    depart: dt.datetime
    free: int = 0


def bounding_box(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """(south, west, north, east) in degrees of every point within ``radius_m`` great-circle
    metres of (lat, lon); whole longitudes near a pole. Not for circles across 180°."""
    angle = radius_m / EARTH_RADIUS_M
    south = max(-90.0, lat - math.degrees(angle))
    north = min(90.0, lat + math.degrees(angle))
    ratio = math.sin(angle) / max(math.cos(math.radians(lat)), 1e-12)
    if ratio >= 1.0 or south == -90.0 or north == 90.0:
        return south, -180.0, north, 180.0
    # The widest point of a circle on the sphere is not on its centre's parallel, hence asin.
    dlon = math.degrees(math.asin(ratio))
    return south, max(-180.0, lon - dlon), north, min(180.0, lon + dlon)


def _encode_cursor(walk_m: int, building_id: int) -> str:
    return base64.urlsafe_b64encode(f"{walk_m}:{building_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        walk, building = raw.split(":")
        return int(walk), int(building)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise Problem(422, "invalid-cursor", "The cursor is not one this search returned.") from exc


def _require_aware(name: str, value: dt.datetime | None) -> None:
    if value is not None and value.utcoffset() is None:
        raise Problem(
            422, "time-zone-required", f"{name} needs a UTC offset (ISO 8601, e.g. +08:00)."
        )


def _check(query: SearchQuery, today: dt.date) -> None:
    _require_aware("arrive", query.arrive)
    _require_aware("depart", query.depart)
    if query.arrive and query.depart and query.depart <= query.arrive:
        raise Problem(422, "invalid-interval", "depart must be after arrive.")
    if (query.lat is None) != (query.lon is None):
        raise Problem(422, "location-incomplete", "Give both lat and lon, or neither.")
    if query.cursor is not None and query.offset is not None:
        raise Problem(422, "pagination-conflict", "Give cursor or offset, not both.")
    if query.night is not None and query.night < today - dt.timedelta(days=1):
        raise Problem(422, "night-in-past", f"Night {query.night} is over.")


def _stay(
    windows: tuple[Window, ...], query: SearchQuery, now: dt.datetime
) -> tuple[Window, dt.datetime, dt.datetime] | None:
    """The window and stay a building offers for the query, or None when it offers none."""
    if not windows:
        return None
    arrive, depart = query.arrive, query.depart
    if arrive is None and depart is None:
        whole = envelope(windows)
        assert whole is not None
        # Tonight's part that is already over cannot be sold: count from now.
        start = max(whole.start, now.replace(second=0, microsecond=0))
        return (whole, start, whole.end) if start < whole.end else None
    for window in windows:
        if arrive is not None and depart is not None:
            if window.contains(arrive, depart):
                return window, arrive, depart
        elif arrive is not None:
            if window.start <= arrive < window.end:
                return window, arrive, window.end
        elif depart is not None and window.start < depart <= window.end:
            return window, window.start, depart
    return None


async def _point(conn: asyncpg.Connection, user: AuthUser, query: SearchQuery) -> SearchPoint:
    if query.lat is not None and query.lon is not None:
        return SearchPoint(lat=query.lat, lon=query.lon, source="query")
    home = await home_of(conn, user.id)
    if home is None:
        raise Problem(
            422,
            "location-required",
            "Give lat and lon: there is no verified home compound to search from.",
        )
    return SearchPoint(lat=home[0], lon=home[1], source="home")


def _price(plans: list[PricePlan], match: _Match, night: dt.date, tz: dt.tzinfo) -> int | None:
    try:
        plan = plan_in_force(plans, night)
        priced = quote(
            plan, night, match.window.start, match.window.end, match.arrive, match.depart, tz
        )
    except (NotBookable, NoPlanInForce):
        return None
    return priced.total_fen


def _page(matches: list[_Match], query: SearchQuery) -> tuple[list[_Match], str | None]:
    if query.cursor is not None:
        after = _decode_cursor(query.cursor)
        rest = [m for m in matches if (m.walk_m, m.candidate.id) > after]
    else:
        rest = matches[query.offset or 0 :]
    page = rest[: query.limit]
    more = len(rest) > query.limit
    last = page[-1] if page else None
    cursor = _encode_cursor(last.walk_m, last.candidate.id) if more and last else None
    return page, cursor


async def search_places(
    conn: asyncpg.Connection,
    user: AuthUser,
    query: SearchQuery,
    tz: dt.tzinfo,
    now: dt.datetime,
) -> SearchPage:
    """Places within ``radius_m`` of the point with a free space for the stay, nearest first
    (then by id), with free counts and the night's price."""
    today = now.astimezone(tz).date()
    _check(query, today)
    night = query.night or today
    point = await _point(conn, user, query)
    # walk_m is rounded, so a place up to half a metre beyond the radius still qualifies.
    south, west, north, east = bounding_box(point.lat, point.lon, query.radius_m + 1)
    candidates = await repository.candidates_in_box(conn, south, west, north, east)
    near: list[tuple[Candidate, int]] = []
    for c in candidates:
        walk_m = round_walk_m(haversine_m(point.lat, point.lon, c.lat, c.lon))
        if walk_m <= query.radius_m:
            near.append((c, walk_m))
    matches = await _with_free_spaces(conn, near, night, query, tz, now)
    matches.sort(key=lambda m: (m.walk_m, m.candidate.id))
    page, next_cursor = _page(matches, query)
    plans = await plans_by_building(conn, [m.candidate.id for m in page])
    items = []
    for m in page:
        price_fen = _price(plans.get(m.candidate.id, []), m, night, tz)
        items.append(
            SearchItem(
                building_id=m.candidate.id,
                district_place_id=m.candidate.district_place_id,
                name=m.candidate.name,
                address=m.candidate.address,
                lat=m.candidate.lat,
                lon=m.candidate.lon,
                walk_m=m.walk_m,
                free=m.free,
                # Local times with their offset, as the reservation answers give them.
                window=WindowOut(
                    start=m.window.start.astimezone(tz), end=m.window.end.astimezone(tz)
                ),
                arrive=m.arrive.astimezone(tz),
                depart=m.depart.astimezone(tz),
                price_fen=price_fen,
                bookable=price_fen is not None,
            )
        )
    return SearchPage(
        night=night,
        point=point,
        radius_m=query.radius_m,
        total=len(matches),
        items=items,
        next_cursor=next_cursor,
    )


async def _with_free_spaces(
    conn: asyncpg.Connection,
    near: Collection[tuple[Candidate, int]],
    night: dt.date,
    query: SearchQuery,
    tz: dt.tzinfo,
    now: dt.datetime,
) -> list[_Match]:
    if not near:
        return []
    windows = await load_windows(conn, [c.id for c, _ in near], [night], tz)
    offered: list[_Match] = []
    for c, walk_m in near:
        stay = _stay(windows[(c.id, night)], query, now)
        if stay is not None:
            offered.append(_Match(c, walk_m, *stay))
    free = await free_space_counts(
        conn, [Interval(m.candidate.id, m.arrive, m.depart) for m in offered], query.needs
    )
    return [
        _Match(m.candidate, m.walk_m, m.window, m.arrive, m.depart, free[m.candidate.id])
        for m in offered
        if free[m.candidate.id] > 0
    ]
