"""A building's recorded use of a past period, read with SQL, as ``pricing.advise`` takes it.

Shared space-minutes: the building's shared spaces (as they are now: sharing is not
kept as history) times the minutes of each night's windows. Occupied space-minutes: gate
sessions that used a reservation or a pass night, clipped to the windows. Per-use entries:
bookings that were checked in. Pass use: each active pass of a month the period touches,
its price, and the nights its holder checked in.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import asyncpg

from parking.windows import load_windows
from pricing.advisor import NightUse, PassUse, UsageSummary
from pricing.plans import PricePlan, month_start

__all__ = ["usage_summary"]

_SHARED_SPACES = "SELECT count(*) FROM spaces WHERE building_id = $1 AND shared"

# Minutes parked inside each window ($2 nights, $3 starts, $4 ends) by cars that came
# for a reservation; an open session counts to the window's end.
_OCCUPIED = """
SELECT w.night,
       coalesce(floor(sum(extract(epoch FROM
           least(coalesce(s.exited_at, w.ends), w.ends) - greatest(s.entered_at, w.starts)
       )) FILTER (WHERE s.id IS NOT NULL) / 60), 0)::bigint AS minutes
FROM unnest($2::date[], $3::timestamptz[], $4::timestamptz[]) AS w (night, starts, ends)
LEFT JOIN gate_sessions s
       ON s.building_id = $1 AND s.reservation_id IS NOT NULL
      AND s.entered_at < w.ends AND coalesce(s.exited_at, w.ends) > w.starts
GROUP BY w.night
"""

# A platform driver without an account here counts as their own resident (-reservation id).
_ENTRANTS = """
SELECT night, array_agg(coalesce(user_id, -id) ORDER BY id) AS entrants
FROM reservations
WHERE building_id = $1 AND kind = 'booking' AND night BETWEEN $2 AND $3
  AND status IN ('checked_in', 'completed')
GROUP BY night
"""

_PASSES = """
SELECT p.user_id, p.month, p.price_fen,
       coalesce(array_agg(DISTINCT r.night ORDER BY r.night)
                FILTER (WHERE r.status IN ('checked_in', 'completed')), '{}') AS nights
FROM passes p LEFT JOIN reservations r ON r.pass_id = p.id
WHERE p.building_id = $1 AND p.status = 'active' AND p.month BETWEEN $2 AND $3
GROUP BY p.id
ORDER BY p.id
"""


def _minutes(start: dt.datetime, end: dt.datetime) -> int:
    return int((end - start).total_seconds()) // 60


async def usage_summary(
    conn: asyncpg.Connection,
    building_id: int,
    first_night: dt.date,
    last_night: dt.date,
    plans: list[PricePlan],
    tz: ZoneInfo,
) -> UsageSummary | None:
    """The period's use, night by night; None when the building shared no night in it."""
    nights = [
        first_night + dt.timedelta(days=i) for i in range((last_night - first_night).days + 1)
    ]
    windows = await load_windows(conn, [building_id], nights, tz)
    spaces = await conn.fetchval(_SHARED_SPACES, building_id)
    shared = [(n, w) for n in nights for w in windows[building_id, n]]
    if not shared or not spaces:
        return None
    occupied = {
        r["night"]: r["minutes"]
        for r in await conn.fetch(
            _OCCUPIED,
            building_id,
            [n for n, _ in shared],
            [w.start for _, w in shared],
            [w.end for _, w in shared],
        )
    }
    entrants = {
        r["night"]: tuple(r["entrants"])
        for r in await conn.fetch(_ENTRANTS, building_id, first_night, last_night)
    }
    uses = []
    for night in sorted({n for n, _ in shared}):
        shared_minutes = spaces * sum(_minutes(w.start, w.end) for w in windows[building_id, night])
        uses.append(
            NightUse(
                night=night,
                shared_spaces=spaces,
                shared_space_minutes=shared_minutes,
                # Sessions on unshared spaces or overlapping claims cannot fill more than all.
                occupied_space_minutes=min(occupied.get(night, 0), shared_minutes),
                per_use_entrants=entrants.get(night, ())[:spaces],
            )
        )
    passes = [
        PassUse(
            resident_id=r["user_id"],
            month=r["month"],
            fee_paid_fen=r["price_fen"],
            nights_used=tuple(r["nights"]),
        )
        for r in await conn.fetch(
            _PASSES, building_id, month_start(first_night), month_start(last_night)
        )
    ]
    return UsageSummary(building_id=building_id, nights=tuple(uses), passes=passes, plans=plans)
