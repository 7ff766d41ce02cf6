"""The embedded PostgreSQL path: start, migrate, query, stop."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

import asyncpg

from parking.embedded import start_embedded_postgres
from parking.migrate import apply_migrations, migration_status


def test_embedded_start_migrate_query_stop(tmp_path: Path) -> None:
    # A child process, so that the server's "stop when the last user exits" is what ends it.
    script = textwrap.dedent(
        f"""
        import asyncio, asyncpg, pgserver
        from parking.embedded import start_embedded_postgres
        from parking.migrate import apply_migrations, migration_status

        dsn = start_embedded_postgres({str(tmp_path)!r})
        async def main():
            conn = await asyncpg.connect(dsn)
            applied = await apply_migrations(conn)
            await conn.execute(
                "INSERT INTO compounds (name, lat, lon) VALUES ('贝丽花园', 22.56, 114.12)"
            )
            name = await conn.fetchval("SELECT name FROM compounds")
            status = await migration_status(conn)
            has_gist = await conn.fetchval(
                "SELECT count(*) FROM pg_extension WHERE extname = 'btree_gist'"
            )
            await conn.close()
            print(len(applied), name, status.current, has_gist)
        asyncio.run(main())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    applied, name, current, has_gist = done.stdout.split()
    assert int(applied) >= 2
    assert name == "贝丽花园"
    assert current == "True"
    assert has_gist == "1"
    # The server stopped when the process exited: no postmaster.pid is left behind.
    assert (tmp_path / "pg" / "PG_VERSION").exists()
    assert not (tmp_path / "pg" / "postmaster.pid").exists()

    # Started again, it keeps its data.
    dsn = start_embedded_postgres(tmp_path)

    async def check() -> tuple[str, bool]:
        conn = await asyncpg.connect(dsn)
        try:
            await apply_migrations(conn)
            return await conn.fetchval("SELECT name FROM compounds"), (
                await migration_status(conn)
            ).current
        finally:
            await conn.close()

    name, current = asyncio.run(check())
    assert name == "贝丽花园"
    assert current is True
    import pgserver

    pgserver.get_server(tmp_path / "pg").cleanup()
    assert not (tmp_path / "pg" / "postmaster.pid").exists()
