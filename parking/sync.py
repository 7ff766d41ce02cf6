"""Outbox hooks: what the district platform must learn of, written in the caller's transaction.

Each message carries the entity's next version (``entity_versions``); the row
lock taken to bump it orders concurrent changes of one entity, so a higher
version always describes a later state. Payloads follow
shared/district-platform/PROTOCOL.md (Place, Rates, Availability, Reservation).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import asyncpg

from parking.clock import utc_now
from parking.occupancy import free_count_sql
from parking.settings import Settings
from parking.windows import Window, envelope, load_windows

if TYPE_CHECKING:
    from parking.reservations.model import Reservation
    from pricing.plans import PricePlan

__all__ = [
    "availability_key",
    "emit_availability",
    "emit_payload",
    "emit_place",
    "emit_rates",
    "emit_reservation",
    "horizon",
    "reservation_key",
]


def _write_sql(messages: str) -> str:
    """One statement queueing the messages that the query ``messages`` gives (columns
    entity_key, payload, n), of the kind $1: each key's version bumped (its row locked to
    the end of the transaction, which orders concurrent changes of one entity), then its
    message with that version. Keys are distinct and locked in the order of n."""
    return f"""
WITH m AS ({messages}), v AS (
    INSERT INTO entity_versions (entity_kind, entity_key, version)
    SELECT $1, entity_key, 1 FROM m ORDER BY n
    ON CONFLICT (entity_kind, entity_key) DO UPDATE SET version = entity_versions.version + 1
    RETURNING entity_key, version
)
INSERT INTO outbox (entity_kind, entity_key, version, payload)
SELECT $1, m.entity_key, v.version, m.payload || jsonb_build_object('version', v.version)
FROM m JOIN v USING (entity_key)
ORDER BY m.n
"""


# Messages given whole: keys $2, payloads $3.
_WRITE = _write_sql(
    "SELECT * FROM unnest($2::text[], $3::jsonb[]) WITH ORDINALITY AS m (entity_key, payload, n)"
)
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
_PLACE_ID = "SELECT district_place_id FROM buildings WHERE id = $1"
_SENT_BEFORE = """
SELECT EXISTS (SELECT 1 FROM entity_versions WHERE entity_kind = 'reservation' AND entity_key = $1)
"""
# Availability of building $2 on nights $3, whose windows span $4 .. $5 (NULL: no
# window) and read $6 (JSON, NULL: none), computed and queued in one statement. The key
# is availability_key's; a suspended place has nothing free, whatever stands empty.
_AVAILABILITY = _write_sql(f"""
    SELECT p.district_place_id || '/' || to_char(q.night, 'YYYY-MM-DD') AS entity_key,
           jsonb_build_object(
               'place_id', p.district_place_id,
               'night', to_char(q.night, 'YYYY-MM-DD'),
               'window', q.window_json,
               'capacity', CASE WHEN q.starts IS NULL THEN 0 ELSE p.shared END,
               'free', CASE WHEN q.starts IS NULL OR p.status = 'suspended' THEN 0
                            ELSE {free_count_sql("p.id", "q.starts", "q.ends", "'{}'::text[]")}
                       END
           ) AS payload,
           q.n
    FROM (SELECT b.id, b.district_place_id, b.status,
                 (SELECT count(*) FROM spaces WHERE building_id = b.id AND shared) AS shared
          FROM buildings b WHERE b.id = $2) AS p
    CROSS JOIN unnest($3::date[], $4::timestamptz[], $5::timestamptz[], $6::jsonb[])
               WITH ORDINALITY AS q (night, starts, ends, window_json, n)
""")
_RESERVATION = """
SELECT r.id, r.kind, r.platform_reservation_id, b.district_place_id, r.plate,
       lower(r.stay) AS start, upper(r.stay) AS "end", r.status, r.fee_fen
FROM reservations r JOIN buildings b ON b.id = r.building_id
WHERE r.id = $1
"""

# What the message says of a reservation, besides its place.
_STATE_FIELDS = ("kind", "platform_reservation_id", "plate", "start", "end", "status", "fee_fen")

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


async def _write(
    conn: asyncpg.Connection, kind: str, messages: Sequence[tuple[str, dict[str, Any]]]
) -> None:
    """Queue (key, payload) messages of one kind, each with its key's next version."""
    if messages:
        await conn.execute(_WRITE, kind, [k for k, _ in messages], [p for _, p in messages])


async def emit_payload(
    conn: asyncpg.Connection, kind: str, key: str, payload: dict[str, Any]
) -> None:
    """Queue ``payload`` as a new message of the entity at its next version (a replay of a
    dead letter: a new message, a new webhook-id)."""
    await _write(conn, kind, [(key, payload)])


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
    await _write(conn, "place", [(row["district_place_id"], payload)])


async def emit_rates(
    conn: asyncpg.Connection, building_id: int, tz: ZoneInfo, plan: PricePlan | None = None
) -> None:
    """The place's Rates: ``plan``, else the version in force tonight (the platform holds
    one price plan per place, its current one; a scheduled version is sent when it takes
    effect). A building with no version in force sends nothing."""
    if plan is None:
        from parking.prices import plans_in_force  # prices reads pricing, which uses sync

        today = utc_now().astimezone(tz).date()
        plan = (await plans_in_force(conn, [building_id], today)).get(building_id)
        if plan is None:
            return
    place_id = await conn.fetchval(_PLACE_ID, building_id)
    payload = {
        "place_id": place_id,
        "mode": plan.mode.value,
        "currency": "CNY",
        "per_use_fee_fen": plan.per_use_fee_fen,
        "monthly_fee_fen": plan.monthly_fee_fen,
        "overstay_fen_per_hour": plan.overstay_fen_per_hour,
        "effective_from": plan.effective_from_at(tz).isoformat(),
    }
    await _write(conn, "rates", [(place_id, payload)])


async def emit_availability(
    conn: asyncpg.Connection,
    building_id: int,
    nights: Iterable[dt.date],
    tz: ZoneInfo,
    *,
    windows: Mapping[dt.date, Sequence[Window]] | None = None,
) -> None:
    """One Availability message per night: capacity, and spaces free for the whole window.

    ``windows``: the building's windows of these nights when the caller has just loaded
    them in this transaction (a booking has), so they are not loaded again.
    """
    nights = sorted(set(nights))
    if not nights:
        return
    if windows is None or not set(nights) <= windows.keys():
        loaded = await load_windows(conn, [building_id], nights, tz)
        windows = {night: loaded[building_id, night] for night in nights}
    hulls = [envelope(windows[night]) for night in nights]
    shown = [
        None
        if hull is None
        else {
            "start": hull.start.astimezone(tz).isoformat(),
            "end": hull.end.astimezone(tz).isoformat(),
        }
        for hull in hulls
    ]
    starts = [None if hull is None else hull.start for hull in hulls]
    ends = [None if hull is None else hull.end for hull in hulls]
    await conn.execute(_AVAILABILITY, "availability", building_id, nights, starts, ends, shown)


async def emit_reservation(
    conn: asyncpg.Connection,
    reservation_id: int,
    tz: ZoneInfo,
    *,
    known: tuple[Reservation, str] | None = None,
) -> None:
    """The reservation's current state, if it is one the platform knows of.

    Pass nights are not reservations on the platform (they show in availability),
    and a hold is not sent until it is confirmed. ``known``: the reservation as this
    transaction just wrote it and its building's place id, so it is not read again.
    """
    if known is None:
        row = await conn.fetchrow(_RESERVATION, reservation_id)
        state = {name: row[name] for name in _STATE_FIELDS}
        place_id = row["district_place_id"]
    else:
        reservation, place_id = known
        assert reservation.id == reservation_id
        state = {name: getattr(reservation, name) for name in _STATE_FIELDS}
    if state["kind"] != "booking" or state["status"] not in _PLATFORM_STATUS:
        return
    key = reservation_key(reservation_id)
    if state["status"] in _ENDS_OF_HOLDS and not await conn.fetchval(_SENT_BEFORE, key):
        return  # the platform never heard of it
    payload = {
        "reservation_id": key,
        "platform_reservation_id": state["platform_reservation_id"],
        "place_id": place_id,
        "plate": state["plate"],
        "start": state["start"].astimezone(tz).isoformat(),
        "end": state["end"].astimezone(tz).isoformat(),
        "status": _PLATFORM_STATUS[state["status"]],
        "fee_fen": state["fee_fen"],
    }
    await _write(conn, "reservation", [(key, payload)])
