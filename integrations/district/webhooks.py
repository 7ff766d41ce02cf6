"""Inbound webhooks: who may call (signature and operator id), and one effect per webhook-id.

Each request is verified first (401 otherwise, nothing stored). Its webhook-id is then
locked for the rest of the request's transaction, so a duplicate arriving meanwhile
waits and gets the first answer. A final answer (2xx, or a 4xx problem other than 429)
is stored with the effect it reports, in the same transaction, and replayed to every
retry of that id; 5xx and crashes store nothing, so a retry runs afresh. Answers are
kept at least ``ANSWER_TTL_HOURS`` and then purged.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
from litestar import Request, Response
from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python

from integrations.district.signing import InvalidSignature, parse_secrets, verify
from parking.errors import PROBLEM_MEDIA_TYPE, Problem
from parking.idempotency import canonical_json
from parking.settings import Settings

__all__ = ["ANSWER_TTL_HOURS", "authenticate", "once_per_webhook", "parse", "purge_answers"]

ANSWER_TTL_HOURS = 24

_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('district-webhook:' || $1, 0))"
# A statement of its own after the lock, so it sees an answer committed just before.
_GET = "SELECT response_status, response_body FROM district_inbound WHERE webhook_id = $1"
_INSERT = """
INSERT INTO district_inbound (webhook_id, path, response_status, response_body)
VALUES ($1, $2, $3, $4)
"""
_SAVEPOINT = "SAVEPOINT district_webhook"
_ROLLBACK_TO_SAVEPOINT = "ROLLBACK TO SAVEPOINT district_webhook"
_PURGE = """
DELETE FROM district_inbound WHERE received_at <= $1::timestamptz - make_interval(hours => $2)
"""

Answer = tuple[int, Any]
M = TypeVar("M", bound=BaseModel)


def authenticate(settings: Settings, headers: Any, body: bytes) -> str:
    """The webhook-id of a request signed with our shared secret by our operator id."""
    unauthorized = Problem(
        401, "unauthorized", "The request is not signed for this operator.", title="Unauthorized"
    )
    if settings.district_secret is None:
        raise unauthorized
    if headers.get("x-operator-id") != settings.district_operator_id:
        raise unauthorized
    try:
        return verify(
            parse_secrets(settings.district_secret.get_secret_value()), headers, body, time.time()
        )
    except InvalidSignature as exc:
        raise unauthorized from exc


def parse(model: type[M], body: bytes | Any) -> M:
    """The body as ``model``, or 422 listing what is wrong."""
    try:
        if isinstance(body, bytes | str):
            return model.model_validate_json(body)
        return model.model_validate(body)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        raise Problem(
            422,
            "validation-error",
            "The request is not valid; see errors.",
            extra={"errors": errors},
        ) from exc


def _response(status: int, body: Any) -> Response[bytes]:
    return Response(
        content=b"" if body is None else canonical_json(body),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE if status >= 400 else "application/json",
    )


async def once_per_webhook(
    conn: asyncpg.Connection,
    request: Request[Any, Any, Any],
    run: Callable[[bytes], Awaitable[Answer]],
) -> Response[bytes]:
    """Authenticate, then ``run(body)`` once per webhook-id; its answer or the stored one.

    ``conn`` is the request's transaction; ``run`` returns (status, JSON body or None).
    """
    body = await request.body()
    settings: Settings = request.app.state.settings
    webhook_id = authenticate(settings, request.headers, body)
    await conn.execute(_LOCK, webhook_id)
    stored = await conn.fetchrow(_GET, webhook_id)
    if stored is not None:
        return _response(stored["response_status"], stored["response_body"])
    await conn.execute(_SAVEPOINT)
    try:
        status, answer = await run(body)
        answer = to_jsonable_python(answer)
    except Problem as problem:
        if not 400 <= problem.status_code < 500 or problem.status_code == 429:
            raise
        await conn.execute(_ROLLBACK_TO_SAVEPOINT)
        problem.instance = problem.instance or request.url.path
        status, answer = (
            problem.status_code,
            to_jsonable_python(problem.to_response(request).content),
        )
    await conn.execute(_INSERT, webhook_id, request.url.path, status, answer)
    return _response(status, answer)


async def purge_answers(conn: asyncpg.Connection, now: dt.datetime) -> int:
    """Forget answers older than ``ANSWER_TTL_HOURS``; how many."""
    result = await conn.execute(_PURGE, now, ANSWER_TTL_HOURS)
    return int(result.split()[-1])
