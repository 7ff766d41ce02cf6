"""Reconciliation: read back what the platform holds and re-send whatever differs.

Our current state is computed by the same code that writes the outbox (``parking.sync``),
in a transaction that is then rolled back, so "what we would send now" has one
definition. Every entity the platform lacks, holds at a lower version than we last sent,
or holds with other content is queued again at a new version (above the platform's, if
the platform's is higher) and the relay is run until nothing more is due. Entities: every
place, its rates (when plans are published), availability of tonight and the horizon
nights, and the reservations of those nights.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any

import asyncpg

from integrations.district.client import DistrictClient
from integrations.district.relay import relay_once
from parking import sync
from parking.clock import utc_now
from parking.settings import Settings

__all__ = ["Fix", "Report", "reconcile", "resend_state"]

log = logging.getLogger(__name__)

_BUILDINGS = "SELECT id FROM buildings WHERE $1::bigint[] IS NULL OR id = ANY($1) ORDER BY id"
_RESERVATIONS = """
SELECT id FROM reservations
WHERE kind = 'booking' AND night = ANY($2::date[])
  AND ($1::bigint[] IS NULL OR building_id = ANY($1))
ORDER BY id
"""
_MAX_OUTBOX = "SELECT coalesce(max(id), 0) FROM outbox"
_WRITTEN_SINCE = """
SELECT entity_kind, entity_key, version, payload FROM outbox WHERE id > $1 ORDER BY id
"""
_LOCK_VERSION = """
SELECT version FROM entity_versions WHERE entity_kind = $1 AND entity_key = $2 FOR UPDATE
"""
_RAISE_VERSION = """
UPDATE entity_versions SET version = greatest(version, $3)
WHERE entity_kind = $1 AND entity_key = $2
"""
_PENDING = "SELECT count(*) FROM outbox WHERE status = 'pending'"


@dataclasses.dataclass(frozen=True)
class Fix:
    kind: str
    key: str
    reason: str
    """missing, behind (an older version), differs (same or newer version, other content),
    or ahead (the platform holds a version we never sent: ours is raised above it)."""


@dataclasses.dataclass
class Report:
    enabled: bool = True
    checked: int = 0
    fixed: list[Fix] = dataclasses.field(default_factory=list)
    unknown: list[str] = dataclasses.field(default_factory=list)
    """Reservations the platform holds that this operator does not know."""
    delivered: int = 0
    pending: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)

    def __str__(self) -> str:
        if not self.enabled:
            return "sync off"
        return (
            f"checked={self.checked} fixed={len(self.fixed)} unknown={len(self.unknown)}"
            f" delivered={self.delivered} pending={self.pending}"
        )

    def lines(self) -> list[str]:
        if not self.enabled:
            return ["district sync is off (PARKING_DISTRICT_URL is unset)"]
        lines = [f"checked {self.checked} entities; re-sent {len(self.fixed)}"]
        lines += [f"  {f.kind} {f.key}: {f.reason}" for f in self.fixed]
        lines += [f"  unknown to us, held by the platform: reservation {k}" for k in self.unknown]
        lines += [f"  error: {e}" for e in self.errors]
        lines.append(f"relayed {self.delivered} messages; {self.pending} still pending")
        return lines


async def resend_state(
    conn: asyncpg.Connection, building_ids: list[int] | None, settings: Settings, now: dt.datetime
) -> None:
    """Queue the whole current state of these buildings (None: all), each entity at a new
    version: place, rates, availability of tonight and the horizon, their reservations."""
    tz = settings.tz
    nights = sync.horizon(now.astimezone(tz).date(), settings)
    ids = [r["id"] for r in await conn.fetch(_BUILDINGS, building_ids)]
    # Reservations before availability, the order every writer locks their versions in: a
    # cancel or check-in running meanwhile would otherwise deadlock with this.
    for row in await conn.fetch(_RESERVATIONS, building_ids, nights):
        await sync.emit_reservation(conn, row["id"], tz)
    emit_rates = getattr(sync, "emit_rates", None)
    for building_id in ids:
        await sync.emit_place(conn, building_id, tz)
        if emit_rates is not None:
            await emit_rates(conn, building_id, tz)
        await sync.emit_availability(conn, building_id, nights, tz)


class _Computed(Exception):
    def __init__(self, rows: list[asyncpg.Record]) -> None:
        self.rows = rows


async def _current_state(
    pool: asyncpg.Pool, settings: Settings, now: dt.datetime
) -> dict[tuple[str, str], tuple[int, dict[str, Any]]]:
    """(kind, key) -> (the version last queued, the payload we would send now)."""
    async with pool.acquire() as conn:
        try:
            # Repeatable read: the messages written since the first read are this
            # transaction's own, never another's committed meanwhile.
            async with conn.transaction(isolation="repeatable_read"):
                before = await conn.fetchval(_MAX_OUTBOX)
                await resend_state(conn, None, settings, now)
                raise _Computed(await conn.fetch(_WRITTEN_SINCE, before))
        except _Computed as computed:
            rows = computed.rows
    return {(r["entity_kind"], r["entity_key"]): (r["version"] - 1, r["payload"]) for r in rows}


def _content(payload: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if payload is None else {k: v for k, v in payload.items() if k != "version"}


async def _platform_state(
    client: DistrictClient, ours: dict[tuple[str, str], Any], nights: list[dt.date]
) -> tuple[dict[tuple[str, str], dict[str, Any]], list[str]]:
    """What the platform holds of the entities we know, and reservations it holds we do not."""
    op = f"/v1/operators/{client.operator_id}"
    held: dict[tuple[str, str], dict[str, Any]] = {}
    places = await client.get_json(f"{op}/places") or {"items": []}
    for place in places["items"]:
        held["place", place["place_id"]] = place
    for kind, key in ours:
        if kind == "rates":
            found = await client.get_json(f"{op}/places/{key}/rates")
        elif kind == "availability":
            place_id, night = key.rsplit("/", 1)
            found = await client.get_json(f"{op}/places/{place_id}/availability/{night}")
        else:
            continue
        if found is not None:
            held[kind, key] = found
    unknown = []
    for night in nights:
        listed = await client.get_json(f"{op}/reservations", {"night": night.isoformat()})
        for item in (listed or {"items": []})["items"]:
            held["reservation", item["reservation_id"]] = item
            if ("reservation", item["reservation_id"]) not in ours:
                unknown.append(item["reservation_id"])
    return held, unknown


def _differences(ours, held) -> list[tuple[Fix, int]]:
    fixes = []
    for (kind, key), (version, payload) in ours.items():
        theirs = held.get((kind, key))
        if theirs is None:
            fixes.append((Fix(kind, key, "missing"), 0))
        elif theirs.get("version", 0) > version:
            fixes.append((Fix(kind, key, "ahead"), theirs["version"]))
        elif _content(theirs) != _content(payload):
            reason = "behind" if theirs.get("version", 0) < version else "differs"
            fixes.append((Fix(kind, key, reason), theirs.get("version", 0)))
        elif theirs.get("version", 0) < version:
            fixes.append((Fix(kind, key, "behind"), theirs["version"]))
    return fixes


async def _queue(pool, ours, fixes: list[tuple[Fix, int]]) -> list[Fix]:
    """Queue the fixes whose entity has not changed since it was computed (a change made
    meanwhile queued its own newer message); the fixes queued."""
    queued = []
    async with pool.acquire() as conn, conn.transaction():
        for fix, platform_version in fixes:
            version, payload = ours[fix.kind, fix.key]
            current = await conn.fetchval(_LOCK_VERSION, fix.kind, fix.key)
            if (current or 0) != version:
                continue
            await conn.execute(_RAISE_VERSION, fix.kind, fix.key, platform_version)
            await sync.emit_payload(conn, fix.kind, fix.key, payload)
            queued.append(fix)
    return queued


async def reconcile(pool: asyncpg.Pool, settings: Settings) -> Report:
    """Compare with the platform, re-send what differs, relay it; what was fixed."""
    if settings.district_url is None:
        return Report(enabled=False)
    now = utc_now()
    report = Report()
    nights = sync.horizon(now.astimezone(settings.tz).date(), settings)
    ours = await _current_state(pool, settings, now)
    report.checked = len(ours)
    async with DistrictClient.from_settings(settings) as client:
        held, report.unknown = await _platform_state(client, ours, nights)
        report.fixed = await _queue(pool, ours, _differences(ours, held))
        for _ in range(1000):  # until nothing is due; messages in backoff stay pending
            handled = await relay_once(pool, settings, client)
            if handled == 0:
                break
            report.delivered += handled
    async with pool.acquire() as conn:
        report.pending = await conn.fetchval(_PENDING)
    for fix in report.fixed:
        log.info("reconcile re-sent %s %s (%s)", fix.kind, fix.key, fix.reason)
    return report
