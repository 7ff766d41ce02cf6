"""SQL of the district sync: the outbox as the relay and the operator see it, the answers
kept for inbound webhook ids, and the platform's suspensions. The caller owns the
transaction."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

import asyncpg
from pydantic import BaseModel

__all__ = [
    "OutboxMessage",
    "Outcome",
    "claim_due",
    "list_messages",
    "mark",
]

OutboxStatus = Literal["pending", "delivered", "dead", "superseded"]

# Due messages, oldest due first, locked to the end of the relay's transaction. SKIP
# LOCKED: another relay's batch is skipped, not waited for, so no message is ever sent
# by two relays at once; a relay that dies mid-batch releases its locks and the batch
# is sent again (a resend, which versions make harmless). Every message carries its
# entity's whole state, so a claimed message that a newer one of the same entity
# (pending or already delivered) replaces is marked superseded instead of sent: a busy
# night sends its newest availability, not one message per booking.
_CLAIM = """
WITH due AS (
    SELECT id FROM outbox
    WHERE status = 'pending' AND next_attempt_at <= now()
    ORDER BY next_attempt_at, id
    LIMIT $1
    FOR UPDATE SKIP LOCKED
), stale AS (
    UPDATE outbox o SET status = 'superseded'
    FROM due
    WHERE o.id = due.id
      AND EXISTS (SELECT 1 FROM outbox n
                  WHERE n.entity_kind = o.entity_kind AND n.entity_key = o.entity_key
                    AND n.version > o.version AND n.status IN ('pending', 'delivered'))
    RETURNING o.id
)
SELECT o.id, o.message_id, o.entity_kind, o.entity_key, o.version, o.payload, o.attempts,
       o.id IN (SELECT id FROM stale) AS superseded
FROM outbox o JOIN due USING (id)
ORDER BY o.id
"""

# Outcomes of one batch: $1 ids, $2 new statuses, $3 delays in seconds (retries), $4 errors.
_MARK = """
UPDATE outbox o
SET status = m.status,
    attempts = o.attempts + 1,
    next_attempt_at = CASE WHEN m.status = 'pending'
                           THEN now() + make_interval(secs => m.delay_s)
                           ELSE o.next_attempt_at END,
    last_error = m.error,
    delivered_at = CASE WHEN m.status = 'delivered' THEN now() ELSE o.delivered_at END
FROM unnest($1::bigint[], $2::text[], $3::float8[], $4::text[]) AS m (id, status, delay_s, error)
WHERE o.id = m.id
"""

_LIST = """
SELECT id, message_id, entity_kind, entity_key, version, payload, status, attempts,
       next_attempt_at, last_error, created_at, delivered_at
FROM outbox
WHERE ($1::text IS NULL OR status = $1)
ORDER BY id DESC
LIMIT $2
"""

_GET = """
SELECT id, message_id, entity_kind, entity_key, version, payload, status, attempts,
       next_attempt_at, last_error, created_at, delivered_at
FROM outbox WHERE id = $1 FOR UPDATE
"""
_DEAD_IDS = "SELECT id FROM outbox WHERE status = 'dead' ORDER BY id"
_NEWEST_VERSION = """
SELECT max(version) FROM outbox WHERE entity_kind = $1 AND entity_key = $2
"""
_RETIRE = """
UPDATE outbox SET status = 'superseded', last_error = coalesce(last_error, '') || $2
WHERE id = $1
"""
_BACKLOG = """
SELECT count(*) AS pending, min(created_at) AS oldest FROM outbox WHERE status = 'pending'
"""


class OutboxMessage(BaseModel):
    id: int
    message_id: uuid.UUID
    entity_kind: str
    entity_key: str
    version: int
    payload: dict[str, Any]
    attempts: int


class OutboxEntry(OutboxMessage):
    status: OutboxStatus
    next_attempt_at: dt.datetime
    last_error: str | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None


class Outcome(BaseModel):
    """What became of one attempt: delivered, pending again after ``delay_s``, or dead."""

    id: int
    status: Literal["pending", "delivered", "dead"]
    delay_s: float = 0.0
    error: str | None = None


async def claim_due(conn: asyncpg.Connection, limit: int) -> tuple[list[OutboxMessage], int]:
    """Up to ``limit`` due messages locked for sending, and how many more were claimed and
    superseded instead."""
    rows = await conn.fetch(_CLAIM, limit)
    to_send = [OutboxMessage.model_validate(dict(r)) for r in rows if not r["superseded"]]
    return to_send, len(rows) - len(to_send)


async def mark(conn: asyncpg.Connection, outcomes: list[Outcome]) -> None:
    if outcomes:
        await conn.execute(
            _MARK,
            [o.id for o in outcomes],
            [o.status for o in outcomes],
            [o.delay_s for o in outcomes],
            [o.error for o in outcomes],
        )


async def list_messages(
    conn: asyncpg.Connection, status: OutboxStatus | None, limit: int
) -> list[OutboxEntry]:
    rows = await conn.fetch(_LIST, status, limit)
    return [OutboxEntry.model_validate(dict(r)) for r in rows]


async def get_message(conn: asyncpg.Connection, outbox_id: int) -> OutboxEntry | None:
    """The message, locked (a replay and a relay never act on it at once)."""
    row = await conn.fetchrow(_GET, outbox_id)
    return OutboxEntry.model_validate(dict(row)) if row else None


async def dead_ids(conn: asyncpg.Connection) -> list[int]:
    return [r["id"] for r in await conn.fetch(_DEAD_IDS)]


async def newest_version(conn: asyncpg.Connection, kind: str, key: str) -> int:
    return await conn.fetchval(_NEWEST_VERSION, kind, key)


async def retire(conn: asyncpg.Connection, outbox_id: int, note: str) -> None:
    """A dead message that a newer one replaces: kept, no longer listed as dead."""
    await conn.execute(_RETIRE, outbox_id, note)


async def backlog(conn: asyncpg.Connection) -> tuple[int, dt.datetime | None]:
    row = await conn.fetchrow(_BACKLOG)
    return row["pending"], row["oldest"]
