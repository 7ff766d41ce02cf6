"""Outbox hooks: what the district platform must learn of, written in the caller's transaction.

Each message carries the entity's next version (``entity_versions``); the row
lock taken to bump it orders concurrent changes of one entity, so a higher
version always describes a later state. Payloads follow
shared/district-platform/PROTOCOL.md (Place, Availability, Reservation).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from parking.occupancy import Interval, free_space_counts
from parking.settings import Settings
from parking.windows import envelope, load_windows

__all__ = [
    "availability_key",
    "emit_availability",
    "emit_place",
    "emit_reservation",
    "horizon",
    "reservation_key",
]

_BUMP = """
INSERT INTO entity_versions (entity_kind, entity_key, version) VALUES ($1, $2, 1)
ON CONFLICT (entity_kind, entity_key) DO UPDATE SET version = entity_versions.version + 1
RETURNING version
"""
_INSERT = """
INSERT INTO outbox (entity_kind, entity_key, version, payload) VALUES ($1, $2, $3, $4)
"""
_PLACE = """
SELECT b.district_place_id, b.name, b.address, b.lat, b.lon, b.status,
       count(s.id) FILTER (WHERE s.shared) AS shared_spaces,
       count(s.id) FILTER (WHERE s.shared AND 'ev' = ANY (s.features)) AS ev,
       count(s.id) FILTER (WHERE s.shared AND 'large' = ANY (s.features)) AS large,
       count(s.id) FILTER (WHERE s.shared AND 'accessible' = ANY (s.features)) AS accessible
FROM buildings b LEFT JOIN spaces s ON s.building_id = b.id
WHERE b.id = $1
GROUP BY b.id
"""
_SENT_BEFORE = """
SELECT EXISTS (SELECT 1 FROM entity_versions WHERE entity_kind = 'reservation' AND entity_key = $1)
"""
_PLACE_STATE = "SELECT district_place_id, status FROM buildings WHERE id = $1"
_SHARED = "SELECT count(*) FROM spaces WHERE building_id = $1 AND shared"
_RESERVATION = """
SELECT r.id, r.kind, r.platform_reservation_id, b.district_place_id, r.plate,
       lower(r.stay) AS start, upper(r.stay) AS "end", r.status, r.fee_fen
FROM reservations r JOIN buildings b ON b.id = r.building_id
WHERE r.id = $1
"""

# What the platform calls our statuses; a hold it never saw ends as a cancellation.
_PLATFORM_STATUS = {
    "confirmed": "confirmed",
    "checked_in": "checked_in",
    "completed": "completed",
    "no_show": "no_show",
    "cancelled": "cancelled",
    "expired": "cancelled",
}
# Ends of a reservation that may never have been sent (a hold that lapsed or was dropped).
_ENDS_OF_HOLDS = ("cancelled", "expired")


def reservation_key(reservation_id: int) -> str:
    """The reservation's id on the platform."""
    return f"r-{reservation_id}"


def availability_key(place_id: str, night: dt.date) -> str:
    return f"{place_id}/{night.isoformat()}"


def horizon(today: dt.date, settings: Settings) -> list[dt.date]:
    """Tonight and the following nights whose availability the platform is sent."""
    return [today + dt.timedelta(days=i) for i in range(settings.availability_horizon_nights + 1)]


async def _write(conn: asyncpg.Connection, kind: str, key: str, payload: dict[str, Any]) -> None:
    version = await conn.fetchval(_BUMP, kind, key)
    await conn.execute(_INSERT, kind, key, version, {**payload, "version": version})


async def emit_place(conn: asyncpg.Connection, building_id: int, tz: ZoneInfo) -> None:
    row = await conn.fetchrow(_PLACE, building_id)
    features = {name: row[name] for name in ("ev", "large", "accessible") if row[name]}
    payload = {
        "place_id": row["district_place_id"],
        "name": row["name"],
        "address": row["address"],
        "lat": row["lat"],
        "lon": row["lon"],
        "timezone": tz.key,
        "shared_spaces": row["shared_spaces"],
        "features": features,
        "status": row["status"],
    }
    await _write(conn, "place", row["district_place_id"], payload)


async def emit_availability(
    conn: asyncpg.Connection, building_id: int, nights: Iterable[dt.date], tz: ZoneInfo
) -> None:
    """One Availability message per night: capacity, and spaces free for the whole window."""
    nights = sorted(set(nights))
    if not nights:
        return
    place = await conn.fetchrow(_PLACE_STATE, building_id)
    place_id = place["district_place_id"]
    # A suspended place takes no new bookings: nothing is free, whatever stands empty.
    suspended = place["status"] == "suspended"
    windows = await load_windows(conn, [building_id], nights, tz)
    shared = await conn.fetchval(_SHARED, building_id)
    for night in nights:
        hull = envelope(windows[(building_id, night)])
        if hull is None:
            window, capacity, free = None, 0, 0
        else:
            counts = await free_space_counts(conn, [Interval(building_id, hull.start, hull.end)])
            window = {
                "start": hull.start.astimezone(tz).isoformat(),
                "end": hull.end.astimezone(tz).isoformat(),
            }
            capacity, free = shared, 0 if suspended else counts[building_id]
        payload = {
            "place_id": place_id,
            "night": night.isoformat(),
            "window": window,
            "capacity": capacity,
            "free": free,
        }
        await _write(conn, "availability", availability_key(place_id, night), payload)


async def emit_reservation(conn: asyncpg.Connection, reservation_id: int, tz: ZoneInfo) -> None:
    """The reservation's current state, if it is one the platform knows of.

    Pass nights are not reservations on the platform (they show in availability),
    and a hold is not sent until it is confirmed.
    """
    row = await conn.fetchrow(_RESERVATION, reservation_id)
    if row["kind"] != "booking" or row["status"] not in _PLATFORM_STATUS:
        return
    key = reservation_key(row["id"])
    if row["status"] in _ENDS_OF_HOLDS and not await conn.fetchval(_SENT_BEFORE, key):
        return  # the platform never heard of it
    payload = {
        "reservation_id": key,
        "platform_reservation_id": row["platform_reservation_id"],
        "place_id": row["district_place_id"],
        "plate": row["plate"],
        "start": row["start"].astimezone(tz).isoformat(),
        "end": row["end"].astimezone(tz).isoformat(),
        "status": _PLATFORM_STATUS[row["status"]],
        "fee_fen": row["fee_fen"],
    }
    await _write(conn, "reservation", key, payload)
