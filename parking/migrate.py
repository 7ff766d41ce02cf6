"""Numbered SQL migrations: applied once each, in order, under an advisory lock.

Guarantees: two processes never migrate at the same time; every file runs in its
own transaction together with its record; an applied file whose text changed, or
that disappeared, is an error rather than a silent divergence.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

__all__ = [
    "MIGRATIONS_DIR",
    "Migration",
    "MigrationError",
    "MigrationStatus",
    "PreparedDatabase",
    "apply_migrations",
    "load_migrations",
    "migration_status",
    "prepare_database",
]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Any fixed 64-bit number works; this one spells "parkmigr" and is ours alone.
_LOCK_KEY = int.from_bytes(b"parkmigr", "big") & 0x7FFF_FFFF_FFFF_FFFF

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
_SELECT_APPLIED = "SELECT version, name, checksum FROM schema_migrations ORDER BY version"
_TABLE_EXISTS = "SELECT to_regclass('schema_migrations') IS NOT NULL"
_RECORD = "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)"


class MigrationError(RuntimeError):
    """The database and the migration files disagree in a way that needs a person."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class PreparedDatabase:
    """What ``prepare_database`` did: migrations applied and calendar years seeded."""

    applied: list[Migration]
    seeded_years: list[int]


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    applied: list[int]
    pending: list[int]
    problems: list[str]

    @property
    def current(self) -> bool:
        return not self.pending and not self.problems


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files in version order; a misnamed or duplicate file is an error."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: expected NNNN_name.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"{path.name}: version {version} is used twice")
        found[version] = Migration(version, match.group(2), path.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


def _compare(
    applied: list[asyncpg.Record], files: list[Migration]
) -> tuple[list[str], list[Migration]]:
    by_version = {m.version: m for m in files}
    problems = []
    for row in applied:
        migration = by_version.get(row["version"])
        if migration is None:
            problems.append(f"applied migration {row['version']:04d}_{row['name']} has no file")
        elif migration.checksum != row["checksum"]:
            problems.append(
                f"applied migration {row['version']:04d}_{row['name']} was changed after it ran"
            )
    done = {row["version"] for row in applied}
    return problems, [m for m in files if m.version not in done]


async def migration_status(
    conn: asyncpg.Connection, files: list[Migration] | None = None
) -> MigrationStatus:
    """What is applied, what is pending, and what disagrees, without changing anything."""
    files = load_migrations() if files is None else files
    applied = await conn.fetch(_SELECT_APPLIED) if await conn.fetchval(_TABLE_EXISTS) else []
    problems, pending = _compare(applied, files)
    return MigrationStatus([r["version"] for r in applied], [m.version for m in pending], problems)


async def apply_migrations(
    conn: asyncpg.Connection, files: list[Migration] | None = None
) -> list[Migration]:
    """Apply the pending migrations and return them; raise MigrationError on divergence."""
    files = load_migrations() if files is None else files
    # Session-level lock: a second process waits here, then finds nothing left to do.
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(_CREATE_TABLE)
        problems, pending = _compare(await conn.fetch(_SELECT_APPLIED), files)
        if problems:
            raise MigrationError("; ".join(problems))
        for migration in pending:
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(_RECORD, migration.version, migration.name, migration.checksum)
        return pending
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)


async def prepare_database(conn: asyncpg.Connection) -> PreparedDatabase:
    """Apply pending migrations, then seed reference data (the holiday calendar's years).

    The one way a database is made ready: ``parking migrate`` and the test template use it.
    """
    from parking.calendar.service import seed_calendar

    applied = await apply_migrations(conn)
    return PreparedDatabase(applied, await seed_calendar(conn))
