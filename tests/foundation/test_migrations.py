"""The migration runner against a real PostgreSQL."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import asyncpg
import pytest

from parking.migrate import (
    MIGRATIONS_DIR,
    MigrationError,
    apply_migrations,
    load_migrations,
    migration_status,
)


async def _tables(conn: asyncpg.Connection) -> set[str]:
    rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {r["tablename"] for r in rows}


async def test_applies_every_file_on_an_empty_database(empty_db_dsn: str) -> None:
    conn = await asyncpg.connect(empty_db_dsn)
    try:
        applied = await apply_migrations(conn)
        assert [m.version for m in applied] == [m.version for m in load_migrations()]
        assert {"users", "outbox", "entity_versions", "buildings", "spaces"} <= await _tables(conn)
        recorded = await conn.fetch("SELECT version, checksum FROM schema_migrations ORDER BY 1")
        assert [(r["version"], r["checksum"]) for r in recorded] == [
            (m.version, m.checksum) for m in load_migrations()
        ]
        assert (await migration_status(conn)).current
    finally:
        await conn.close()


async def test_second_run_does_nothing(empty_db_dsn: str) -> None:
    conn = await asyncpg.connect(empty_db_dsn)
    try:
        await apply_migrations(conn)
        before = await conn.fetch("SELECT version, applied_at FROM schema_migrations ORDER BY 1")
        assert await apply_migrations(conn) == []
        after = await conn.fetch("SELECT version, applied_at FROM schema_migrations ORDER BY 1")
        assert before == after
    finally:
        await conn.close()


async def test_concurrent_runs_do_not_collide(empty_db_dsn: str) -> None:
    conns = [await asyncpg.connect(empty_db_dsn) for _ in range(4)]
    try:
        results = await asyncio.gather(*(apply_migrations(c) for c in conns))
        applied = sorted(m.version for result in results for m in result)
        # Every file ran exactly once, whichever process got there first.
        assert applied == [m.version for m in load_migrations()]
        count = await conns[0].fetchval("SELECT count(*) FROM schema_migrations")
        assert count == len(load_migrations())
    finally:
        for c in conns:
            await c.close()


async def test_a_changed_applied_file_is_refused(empty_db_dsn: str, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder)
    conn = await asyncpg.connect(empty_db_dsn)
    try:
        await apply_migrations(conn, load_migrations(folder))
        first = sorted(folder.glob("*.sql"))[0]
        first.write_text(first.read_text() + "\n-- edited after it ran\n")
        with pytest.raises(MigrationError, match="was changed after it ran"):
            await apply_migrations(conn, load_migrations(folder))
        status = await migration_status(conn, load_migrations(folder))
        assert not status.current
        assert "changed" in status.problems[0]
    finally:
        await conn.close()


async def test_a_failing_file_leaves_nothing_behind(empty_db_dsn: str, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder)
    (folder / "9999_broken.sql").write_text("CREATE TABLE half_done (id int);\nSELECT 1/0;\n")
    conn = await asyncpg.connect(empty_db_dsn)
    try:
        with pytest.raises(asyncpg.DivisionByZeroError):
            await apply_migrations(conn, load_migrations(folder))
        assert "half_done" not in await _tables(conn)
        versions = await conn.fetch("SELECT version FROM schema_migrations")
        assert 9999 not in {r["version"] for r in versions}
        # The earlier files did land, each in its own transaction.
        assert len(versions) == len(load_migrations())
    finally:
        await conn.close()


def test_misnamed_and_duplicate_files_are_errors(tmp_path: Path) -> None:
    (tmp_path / "1_bad.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=r"NNNN_name\.sql"):
        load_migrations(tmp_path)
    (tmp_path / "1_bad.sql").unlink()
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0001_b.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="used twice"):
        load_migrations(tmp_path)
