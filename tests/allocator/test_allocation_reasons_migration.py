"""Migration 0012 on a database that already holds decided requests: the reason it adds
is kept by the database for every not_allocated request, old ones included."""

from __future__ import annotations

import asyncpg
import pytest

from parking.migrate import apply_migrations, load_migrations
from tests.factories import insert_allocation_request, make_resident, night_in

REASONS = 12


async def test_requests_decided_before_it_read_as_refused(empty_db_dsn: str) -> None:
    files = load_migrations()
    conn = await asyncpg.connect(empty_db_dsn)
    try:
        await apply_migrations(conn, [m for m in files if m.version < REASONS])
        resident = await make_resident(conn)
        old = await insert_allocation_request(conn, resident, night_in(-2))
        await conn.execute(
            "UPDATE allocation_requests SET status = 'not_allocated', decided_at = now()"
            " WHERE id = $1",
            old,
        )
        waiting = await insert_allocation_request(conn, resident, night_in(1))

        await apply_migrations(conn, files)

        reasons = dict(await conn.fetch("SELECT id, not_allocated_reason FROM allocation_requests"))
        assert reasons == {old: "refused", waiting: None}
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                "UPDATE allocation_requests SET status = 'not_allocated', decided_at = now()"
                " WHERE id = $1",
                waiting,
            )
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                "UPDATE allocation_requests SET not_allocated_reason = 'busy' WHERE id = $1",
                old,
            )
    finally:
        await conn.close()
