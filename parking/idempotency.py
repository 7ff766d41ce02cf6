"""Idempotency-Key for POST endpoints (IETF httpapi Idempotency-Key draft, as Stripe does it).

Per user and key: the first final answer (2xx, or a 4xx problem) is stored in the
request's own transaction and replayed byte for byte for the same request; another
request under the key is 422 ``idempotency-mismatch``; a duplicate still running is
409 ``idempotency-in-flight``. 5xx answers and crashes store nothing, so a retry runs
afresh. Keys are kept at least ``idempotency_ttl_hours`` and then purged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from litestar import Request, Response
from pydantic_core import to_jsonable_python

from parking.errors import PROBLEM_MEDIA_TYPE, Problem

__all__ = [
    "IDEMPOTENCY_KEY_HEADER",
    "MAX_KEY_LENGTH",
    "REPLAYED_HEADER",
    "done_before",
    "idempotent",
    "purge_expired_keys",
    "remember",
    "request_hash",
]

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255

# Held to the end of the request's transaction: a second request with the same key
# while the first runs cannot take it, and is told so instead of waiting.
_TRY_LOCK = "SELECT pg_try_advisory_xact_lock(hashtextextended('idem:' || $1 || ':' || $2, 0))"
# The same lock, waited for: a page's form sent twice is answered once the first is done.
_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('idem:' || $1 || ':' || $2, 0))"
# A statement of its own, after the lock: its snapshot then includes the answer of a
# first request that committed just before the lock was taken (one statement would
# read with a snapshot from before it).
_GET = """
SELECT request_hash, response_status, response_body,
       created_at > now() - make_interval(hours => $3) AS fresh
FROM idempotency_keys
WHERE user_id = $1 AND key = $2
"""
_DELETE = "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2"
_INSERT = """
INSERT INTO idempotency_keys (user_id, key, request_hash, response_status, response_body)
VALUES ($1, $2, $3, $4, $5)
"""
_SAVEPOINT = "SAVEPOINT idempotent_run"
_ROLLBACK_TO_SAVEPOINT = "ROLLBACK TO SAVEPOINT idempotent_run"
_PURGE = """
DELETE FROM idempotency_keys
WHERE created_at <= $1::timestamptz - make_interval(hours => $2)
"""


def canonical_json(value: Any) -> bytes:
    """One byte sequence per JSON value: sorted keys, no spaces, UTF-8.

    Stored answers come back from jsonb with their keys reordered; writing the first
    answer and every replay in this form makes them identical byte for byte.
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _jsonable(value: Any) -> Any:
    # Pydantic models, dates and the like as the JSON the client receives.
    return to_jsonable_python(value)


def request_hash(method: str, path: str, body: Any) -> str:
    """sha256 over the method, the path and the canonical JSON of the validated body."""
    digest = hashlib.sha256()
    digest.update(method.upper().encode())
    digest.update(b"\n")
    digest.update(path.encode())
    digest.update(b"\n")
    digest.update(canonical_json(_jsonable(body)))
    return digest.hexdigest()


def parse_key(raw: str | None) -> str:
    """The key from its header value; 400 when missing, 422 when empty or too long.

    The draft sends the key as a structured-field string (``"abc"``); a bare token,
    as Stripe's clients send, is the same key without the quotes.
    """
    if raw is None:
        raise Problem(
            400,
            "idempotency-key-missing",
            f"This request needs an {IDEMPOTENCY_KEY_HEADER} header (a new unique value, "
            "such as a UUID, per intended action; the same value when retrying it).",
        )
    key = raw.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise Problem(
            422,
            "idempotency-key-invalid",
            f"The {IDEMPOTENCY_KEY_HEADER} must be 1 to {MAX_KEY_LENGTH} characters long.",
        )
    return key


def _answer(status: int, body: Any, *, replayed: bool) -> Response[bytes]:
    return Response(
        content=canonical_json(body),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE if status >= 400 else "application/json",
        headers={REPLAYED_HEADER: "true"} if replayed else None,
    )


async def idempotent(
    conn: asyncpg.Connection,
    request: Request[Any, Any, Any],
    *,
    user_id: int,
    key: str | None,
    body: Any,
    ttl_hours: int,
    run: Callable[[], Awaitable[Any]],
    status_code: int = 201,
) -> Response[bytes]:
    """Run ``run()`` once per (user, key) and answer with its result or the stored first answer.

    ``conn`` must be the request's transaction: the stored answer commits with the
    change it reports, or neither does. ``body`` is the validated request body
    (a pydantic model or JSON value); ``run`` returns what to answer with
    ``status_code`` (a pydantic model or JSON value).
    """
    key = parse_key(key)
    if not await conn.fetchval(_TRY_LOCK, str(user_id), key):
        raise Problem(
            409,
            "idempotency-in-flight",
            "A request with this Idempotency-Key is still being processed; retry shortly.",
            headers={"Retry-After": "1"},
        )
    fingerprint = request_hash(request.method, request.url.path, body)
    stored = await conn.fetchrow(_GET, user_id, key, ttl_hours)
    if stored is not None:
        if stored["fresh"]:
            if stored["request_hash"] != fingerprint:
                raise Problem(
                    422,
                    "idempotency-mismatch",
                    "This Idempotency-Key was used for a different request; use a new key.",
                )
            return _answer(stored["response_status"], stored["response_body"], replayed=True)
        await conn.execute(_DELETE, user_id, key)

    # A savepoint, so that a refused request leaves nothing but its stored answer. Not
    # released on success: the commit ends it, and a release would be one more round trip.
    await conn.execute(_SAVEPOINT)
    try:
        result = await run()
        status, answer = status_code, _jsonable(result)
    except Problem as problem:
        if not 400 <= problem.status_code < 500:
            raise
        await conn.execute(_ROLLBACK_TO_SAVEPOINT)
        problem.instance = problem.instance or request.url.path
        status, answer = problem.status_code, _jsonable(problem.to_response(request).content)
    await conn.execute(_INSERT, user_id, key, fingerprint, status, answer)
    return _answer(status, answer, replayed=False)


async def done_before(
    conn: asyncpg.Connection, user_id: int, key: str, fingerprint: str, ttl_hours: int
) -> bool:
    """Whether this user already did this request under ``key``, waiting for one still running.

    For the pages, whose forms carry a key of their own: a form sent again with the same
    values is a repeat; under the same key with other values (the form kept open and
    changed), the old answer is dropped and the new request runs. ``conn`` must be the
    request's transaction, which holds the key until it ends.
    """
    await conn.execute(_LOCK, str(user_id), key)
    stored = await conn.fetchrow(_GET, user_id, key, ttl_hours)
    if stored is None:
        return False
    if stored["fresh"] and stored["request_hash"] == fingerprint:
        return True
    await conn.execute(_DELETE, user_id, key)
    return False


async def remember(
    conn: asyncpg.Connection, user_id: int, key: str, fingerprint: str, status: int, answer: Any
) -> None:
    """Store that the request under ``key`` was done, in the transaction that did it."""
    await conn.execute(_INSERT, user_id, key, fingerprint, status, _jsonable(answer))


async def purge_expired_keys(conn: asyncpg.Connection, now: dt.datetime, ttl_hours: int) -> int:
    """Delete keys older than ``ttl_hours`` at ``now``; the number deleted."""
    result = await conn.execute(_PURGE, now, ttl_hours)
    return int(result.split()[-1])
