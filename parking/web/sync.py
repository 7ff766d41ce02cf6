"""The district sync page: what the platform has been sent, what waits, and the dead letters.

A manager sees the messages of their own buildings (every message's payload names its
place); an admin sees all and may replay a dead letter through the same use case as
``POST /admin/district/outbox/{id}/replay`` and ``parking outbox replay``. Nothing personal
leaves the outbox for the page: payloads are not shown, and errors are masked.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import asyncpg
from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.plugins.problem_details import ProblemDetailsException
from litestar.response import Redirect, Template
from pydantic import BaseModel

from integrations.district import outbox
from parking.clock import utc_now
from parking.db import DbConnection
from parking.logs import mask_sensitive
from parking.web.pages import attempt, notice, page_role, redirect, render, signed_in
from parking.web.session import WEB_PREFIX

__all__ = ["ROUTES", "SyncPages", "SyncReplayPages", "SyncState", "sync_state"]

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]

DEAD_SHOWN = 100
KINDS = {
    "place": "sync.kind.place",
    "rates": "sync.kind.rates",
    "availability": "sync.kind.availability",
    "reservation": "sync.kind.reservation",
}

# $1: the manager whose buildings' messages count (NULL: everyone's, for an admin). Every
# message kind carries its place's district id in payload.place_id (parking.sync).
_SCOPE = """($1::bigint IS NULL OR o.payload->>'place_id' IN (
    SELECT district_place_id FROM buildings WHERE manager_id = $1))"""
_LAST_DELIVERY = f"""
SELECT o.entity_kind, o.delivered_at FROM outbox o
WHERE o.status = 'delivered' AND {_SCOPE}
ORDER BY o.delivered_at DESC LIMIT 1
"""
_BACKLOG = f"""
SELECT count(*) AS waiting, min(o.created_at) AS oldest FROM outbox o
WHERE o.status = 'pending' AND {_SCOPE}
"""
# Uses the partial index outbox_dead.
_DEAD = f"""
SELECT o.id, o.entity_kind, o.entity_key, o.version, o.attempts, o.last_error, o.created_at,
       b.name AS place_name
FROM outbox o LEFT JOIN buildings b ON b.district_place_id = o.payload->>'place_id'
WHERE o.status = 'dead' AND {_SCOPE}
ORDER BY o.id DESC LIMIT $2
"""


class DeadLetter(BaseModel):
    id: int
    entity_kind: str
    entity_key: str
    version: int
    attempts: int
    last_error: str
    created_at: dt.datetime
    place_name: str | None


class SyncState(BaseModel):
    last_kind: str | None
    last_delivered_at: dt.datetime | None
    waiting: int
    oldest_waiting_at: dt.datetime | None
    dead: list[DeadLetter]


async def sync_state(conn: asyncpg.Connection, manager_id: int | None) -> SyncState:
    """The sync state of one manager's buildings, or of all (``manager_id`` None)."""
    last = await conn.fetchrow(_LAST_DELIVERY, manager_id)
    backlog = await conn.fetchrow(_BACKLOG, manager_id)
    dead = [
        DeadLetter.model_validate({**dict(r), "last_error": mask_sensitive(r["last_error"] or "")})
        for r in await conn.fetch(_DEAD, manager_id, DEAD_SHOWN)
    ]
    return SyncState(
        last_kind=last["entity_kind"] if last else None,
        last_delivered_at=last["delivered_at"] if last else None,
        waiting=backlog["waiting"],
        oldest_waiting_at=backlog["oldest"],
        dead=dead,
    )


def _age_minutes(since: dt.datetime | None) -> int | None:
    return None if since is None else max(0, int((utc_now() - since).total_seconds() // 60))


_DONE = {"replayed": "sync.done.replayed", "retired": "sync.done.retired"}


async def _sync_page(
    request: Request[Any, Any, Any],
    conn: asyncpg.Connection,
    *,
    problem: ProblemDetailsException | None = None,
    done: str | None = None,
) -> Template:
    user = signed_in(request)
    settings = request.app.state.settings
    state = await sync_state(conn, None if user.role == "admin" else user.id)
    return render(
        request,
        "sync/sync.html",
        problem=problem,
        done=notice(request, _DONE, done),
        state=state,
        age=_age_minutes(state.oldest_waiting_at),
        district_url=settings.district_url,
        may_replay=user.role == "admin",
        kinds=KINDS,
        tz=settings.tz,
    )


class SyncPages(Controller):
    path = f"{WEB_PREFIX}/sync"
    include_in_schema = False
    guards = [page_role("manager", "admin")]

    @get("/")
    async def sync(
        self,
        request: Request[Any, Any, Any],
        conn: DbConnection,
        done: FromQuery[str | None] = None,
    ) -> Template:
        return await _sync_page(request, conn, done=done)


class SyncReplayPages(Controller):
    """Replaying is the admins' alone, as in the API."""

    path = f"{WEB_PREFIX}/sync"
    include_in_schema = False
    guards = [page_role("admin")]

    @post("/dead/{outbox_id:int}/replay")
    async def replay(
        self,
        request: Request[Any, Any, Any],
        conn: DbConnection,
        outbox_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        result, problem = await attempt(conn, lambda: outbox.replay(conn, outbox_id))
        if problem is not None or result is None:
            return await _sync_page(request, conn, problem=problem)
        return redirect(f"{WEB_PREFIX}/sync?done={result.result}")


ROUTES: list[Any] = [SyncPages, SyncReplayPages]
