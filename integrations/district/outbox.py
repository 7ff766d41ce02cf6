"""The outbox as an operator sees it: list messages (dead letters first of all) and replay.

A replay is a new message with a new webhook-id (PROTOCOL.md): the dead letter's content
queued again at the entity's next version. A dead letter that a newer message of its
entity already replaces is not sent again (it would undo the newer state); it is retired.
Either way the dead letter is kept, marked superseded, with a note of what became of it.
"""

from __future__ import annotations

from typing import Literal

import asyncpg
from pydantic import BaseModel

from integrations.district import repository
from integrations.district.repository import OutboxEntry, OutboxStatus
from parking import sync
from parking.errors import Problem

__all__ = ["Replay", "list_messages", "replay", "replay_all_dead"]


class Replay(BaseModel):
    id: int
    result: Literal["replayed", "retired"]
    entity_kind: str
    entity_key: str
    version: int
    """The new message's version (replayed) or the newer one that replaces it (retired)."""


async def list_messages(
    conn: asyncpg.Connection, status: OutboxStatus | None, limit: int
) -> list[OutboxEntry]:
    return await repository.list_messages(conn, status, limit)


async def replay(conn: asyncpg.Connection, outbox_id: int) -> Replay:
    message = await repository.get_message(conn, outbox_id)
    if message is None:
        raise Problem(404, "not-found", f"There is no outbox message {outbox_id}.")
    if message.status != "dead":
        raise Problem(
            409,
            "not-dead",
            f"Message {outbox_id} is {message.status}; only dead letters are replayed.",
            extra={"outbox_status": message.status},
        )
    newest = await repository.newest_version(conn, message.entity_kind, message.entity_key)
    if newest > message.version:
        await repository.retire(conn, message.id, f" (replaced by version {newest})")
        result, version = "retired", newest
    else:
        await sync.emit_payload(conn, message.entity_kind, message.entity_key, message.payload)
        version = await repository.newest_version(conn, message.entity_kind, message.entity_key)
        await repository.retire(conn, message.id, f" (replayed as version {version})")
        result = "replayed"
    return Replay(
        id=message.id,
        result=result,
        entity_kind=message.entity_kind,
        entity_key=message.entity_key,
        version=version,
    )


async def replay_all_dead(conn: asyncpg.Connection) -> list[Replay]:
    return [await replay(conn, outbox_id) for outbox_id in await repository.dead_ids(conn)]
