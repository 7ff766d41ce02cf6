"""The outbox relay: delivers queued messages to the platform, each at least once.

A batch of due messages is claimed with ``FOR UPDATE SKIP LOCKED`` and stays locked
while it is sent, so several relays never send one message at once; a relay that dies
between sending and marking leaves its batch pending, to be sent again (the platform
answers a resend 409 ``stale-version`` or stores the same state again). Outcomes follow
PROTOCOL.md: 2xx and 409 ``stale-version`` are done; 429 and 503 wait ``Retry-After``;
other 5xx, timeouts and connection errors back off exponentially with full jitter, capped;
any other 4xx (400, 401, 404, 422, ...) is a dead letter, kept for an operator to see
and replay. Sync is off, and nothing is claimed, while ``PARKING_DISTRICT_URL`` is unset.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import logging
import random
import time

import asyncpg
import httpx

from integrations.district import repository
from integrations.district.client import DistrictClient
from integrations.district.repository import OutboxMessage, Outcome
from parking.db import connect
from parking.settings import Settings

__all__ = ["BATCH", "backoff_s", "outcome_of", "relay_once", "retry_after_s", "run_relay"]

log = logging.getLogger(__name__)

BATCH = 200
"""Messages claimed per batch."""
BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 300.0
RETRY_AFTER_CAP_S = 3600.0
"""A Retry-After further away than this is taken as this (a wrong clock, not a plan)."""
CHANNEL = "parking_outbox"
HOUSEKEEPING_S = 30.0
PARALLEL_BATCHES = 3
"""Batches in flight at once while a backlog lasts (each holds a pool connection)."""
_DEAD_STATUSES_RETRYABLE = (408, 425)  # timeouts the other side reports: retry


def backoff_s(attempts: int) -> float:
    """Full jitter: a uniform delay up to the capped exponential of the attempts so far."""
    return random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** min(attempts, 30)))


def retry_after_s(value: str | None, now: dt.datetime) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date), None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), RETRY_AFTER_CAP_S)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return min(max((when - now).total_seconds(), 0.0), RETRY_AFTER_CAP_S)


def _problem_type(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("type", "")) if isinstance(body, dict) else ""


def outcome_of(message: OutboxMessage, response: httpx.Response, now: dt.datetime) -> Outcome:
    """What one answer of the platform means for the message."""
    status = response.status_code
    if 200 <= status < 300:
        return Outcome(id=message.id, status="delivered")
    if status == 409 and _problem_type(response).rsplit("/", 1)[-1] == "stale-version":
        # The platform holds this version or a newer one: nothing left to say.
        return Outcome(id=message.id, status="delivered", error="409 stale-version")
    error = f"{status} {response.text[:300]}"
    if status in (429, 503):
        delay = retry_after_s(response.headers.get("retry-after"), now)
        delay = backoff_s(message.attempts) if delay is None else delay
        return Outcome(id=message.id, status="pending", delay_s=delay, error=error)
    if status >= 500 or status in _DEAD_STATUSES_RETRYABLE:
        return Outcome(
            id=message.id, status="pending", delay_s=backoff_s(message.attempts), error=error
        )
    # 400, 401, 404, 422 and any other refusal: sending it unchanged will not help.
    return Outcome(id=message.id, status="dead", error=error)


async def _deliver(client: DistrictClient, message: OutboxMessage) -> Outcome:
    try:
        response = await client.put_entity(
            message.entity_kind, message.entity_key, message.payload, str(message.message_id)
        )
    except httpx.HTTPError as exc:  # timeouts, refused or dropped connections
        error = f"{type(exc).__name__}: {exc}"[:300]
        return Outcome(
            id=message.id, status="pending", delay_s=backoff_s(message.attempts), error=error
        )
    return outcome_of(message, response, dt.datetime.now(dt.UTC))


async def relay_once(pool: asyncpg.Pool, settings: Settings, client=None) -> int:
    """Deliver one batch of due messages; how many were handled (sent or superseded).

    ``client``: a ``DistrictClient`` to reuse (the loop keeps one); by default one is
    made from ``settings`` and closed. Returns 0 at once when sync is off.
    """
    if settings.district_url is None:
        return 0
    own_client = client is None
    if own_client:
        client = DistrictClient.from_settings(settings)
    try:
        async with pool.acquire() as conn, conn.transaction():
            claimed, superseded = await repository.claim_due(conn, BATCH)
            outcomes = await asyncio.gather(*(_deliver(client, m) for m in claimed))
            await repository.mark(conn, list(outcomes))
        for o in outcomes:
            if o.status == "dead":
                log.warning("outbox message %d is a dead letter: %s", o.id, o.error)
        return len(claimed) + superseded
    finally:
        if own_client:
            await client.aclose()


async def run_relay(
    pool: asyncpg.Pool,
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    poll_s: float = 1.0,
    client: DistrictClient | None = None,
) -> None:
    """Relay until ``stop`` is set: at once after each commit that queues messages (LISTEN
    on the outbox trigger's channel), else every ``poll_s`` for retries that fall due;
    the district housekeeping (suspensions, old inbound answers) every
    ``HOUSEKEEPING_S``."""
    from integrations.district.suspensions import housekeeping

    if settings.district_url is None:
        log.info("PARKING_DISTRICT_URL is unset: district sync is off, the relay does nothing")
        return
    stop = stop or asyncio.Event()
    wake = asyncio.Event()
    listener = await connect(settings.database_url)
    await listener.add_listener(CHANNEL, lambda *_: wake.set())
    own_client = client is None
    client = client or DistrictClient.from_settings(settings)
    chores_due = 0.0
    parallel = 1
    try:
        while not stop.is_set():
            if time.monotonic() >= chores_due:
                try:
                    log.info("district housekeeping: %s", await housekeeping(pool, settings))
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    log.warning("district housekeeping failed: %s", exc)
                chores_due = time.monotonic() + HOUSEKEEPING_S
            wake.clear()  # before the batch, so a commit during it wakes the next one
            # A backlog (the last round filled a batch) is sent by several batches at once;
            # SKIP LOCKED gives each its own messages.
            results = await asyncio.gather(
                *(relay_once(pool, settings, client) for _ in range(parallel)),
                return_exceptions=True,
            )
            for failed in (r for r in results if isinstance(r, BaseException)):
                if not isinstance(failed, OSError | asyncpg.PostgresError | asyncpg.InterfaceError):
                    raise failed
                log.warning("relay batch failed, retrying: %s", failed)
            handled = [r for r in results if isinstance(r, int)]
            if any(n >= BATCH for n in handled):
                parallel = PARALLEL_BATCHES
                continue  # more may be due already
            parallel = 1
            waiters = {asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())}
            _, pending = await asyncio.wait(
                waiters, timeout=poll_s, return_when=asyncio.FIRST_COMPLETED
            )
            for waiter in pending:
                waiter.cancel()
    finally:
        if own_client:
            await client.aclose()
        await listener.close()
