"""The asyncpg pool and the per-request transaction that handlers hand to use cases.

A handler that takes ``conn`` runs its whole use case in one transaction: it
commits before the response is sent and rolls back if the handler raises.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import TypeAlias

import asyncpg
from litestar.datastructures import State
from litestar.di import NamedDependency

__all__ = ["DbConnection", "connect", "create_pool", "provide_transaction"]

# What a handler declares to receive the request's transaction: ``conn: DbConnection``.
DbConnection: TypeAlias = NamedDependency[asyncpg.Connection]


async def _init_connection(conn: asyncpg.Connection) -> None:
    # jsonb in and out as Python values, so repositories never call json.dumps themselves.
    await conn.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog", format="text"
    )


async def connect(dsn: str) -> asyncpg.Connection:
    """One connection set up like the pool's (for the CLI and scripts)."""
    conn = await asyncpg.connect(
        dsn, server_settings={"application_name": "parking", "timezone": "UTC"}
    )
    await _init_connection(conn)
    return conn


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    """A pool whose connections speak UTC and decode jsonb."""
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        server_settings={"application_name": "parking", "timezone": "UTC"},
        # A connection killed by the server (restart, pg_terminate_backend) is dropped
        # from the pool on its next use; idle ones are recycled so none lingers dead.
        max_inactive_connection_lifetime=60,
    )


async def provide_transaction(state: State) -> AsyncGenerator[asyncpg.Connection, None]:
    """One connection in one transaction for the whole request."""
    async with state.pool.acquire() as conn, conn.transaction():
        yield conn
