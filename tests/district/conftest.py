"""District sync fixtures: a platform simulator in its own thread, settings that point at
it, a pool for the relay, and signed requests to the operator's inbound endpoints."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from integrations.district.signing import parse_secrets, signed_headers
from integrations.district.simulator import PlatformSimulator
from parking.app import create_app
from parking.db import create_pool
from parking.settings import Settings
from tests.conftest import make_settings

OPERATOR = "op-test"
SECRET = "whsec_" + base64.b64encode(b"district-test-secret-0123456789ab").decode()


@pytest.fixture
def sim() -> Iterator[PlatformSimulator]:
    """The platform, served from a thread of its own (never the test's event loop)."""
    simulator = PlatformSimulator(secret=SECRET, operator_id=OPERATOR).start()
    yield simulator
    simulator.stop()


@pytest.fixture
def district_settings(db_dsn: str, sim: PlatformSimulator) -> Settings:
    return make_settings(
        db_dsn, district_url=sim.url, district_operator_id=OPERATOR, district_secret=SECRET
    )


@pytest.fixture
async def pool(db_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    created = await create_pool(db_dsn, min_size=1, max_size=8)
    yield created
    await created.close()


@pytest.fixture
async def district_client(district_settings: Settings) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(district_settings)) as test_client:
        yield test_client


def signed(
    body: object,
    *,
    webhook_id: str | None = None,
    timestamp: int | None = None,
    secret: str = SECRET,
    operator: str = OPERATOR,
) -> tuple[bytes, dict[str, str]]:
    """The body's bytes and the headers of a request the platform signs."""
    raw = json.dumps(body).encode()
    headers = signed_headers(
        parse_secrets(secret),
        webhook_id or f"msg_{uuid.uuid4().hex}",
        int(time.time()) if timestamp is None else timestamp,
        raw,
    ).as_dict(operator)
    return raw, {**headers, "content-type": "application/json"}


async def post_signed(client: AsyncTestClient, path: str, body: object, **kwargs):
    raw, headers = signed(body, **kwargs)
    return await client.post(path, content=raw, headers=headers)


async def drain(pool: asyncpg.Pool, settings: Settings) -> int:
    """Relay until nothing is due; how many messages were handled."""
    from integrations.district.relay import relay_once

    total = 0
    while handled := await relay_once(pool, settings):
        total += handled
    return total


async def make_all_due(conn: asyncpg.Connection) -> None:
    """The backoff delays run out (instead of waiting for them)."""
    await conn.execute("UPDATE outbox SET next_attempt_at = now() WHERE status = 'pending'")


async def operator_state(pool: asyncpg.Pool, settings: Settings) -> dict:
    """(kind, key) -> our current payload without its version, as reconcile computes it."""
    from integrations.district.reconcile import _current_state
    from parking.clock import utc_now

    state = await _current_state(pool, settings, utc_now())
    return {
        entity: {k: v for k, v in payload.items() if k != "version"}
        for entity, (_, payload) in state.items()
    }


def platform_state(sim: PlatformSimulator) -> dict:
    """(kind, key) -> what the simulator holds, without versions."""
    held = sim.state()
    groups = {
        "place": held["places"],
        "rates": held["rates"],
        "availability": held["availability"],
        "reservation": held["reservations"],
    }
    return {
        (kind, key): {k: v for k, v in payload.items() if k != "version"}
        for kind, items in groups.items()
        for key, payload in items.items()
    }


@pytest.fixture
def served(district_settings: Settings, sim: PlatformSimulator) -> Iterator[str]:
    """The operator's app served over HTTP from a thread of its own (its own event loop),
    and the simulator told where it is; the base URL."""
    import socket
    import threading

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(district_settings), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the operator's app did not start"
    sim.operator_url = f"http://127.0.0.1:{port}"
    yield sim.operator_url
    server.should_exit = True
    thread.join(10)


def booking(place_id: str, plate: str, start, end, platform_id: str | None = None) -> dict:
    """A platform Booking body."""
    return {
        "platform_reservation_id": platform_id or f"dp-{uuid.uuid4().hex[:12]}",
        "place_id": place_id,
        "plate": plate,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "requested_at": start.isoformat(),
    }
