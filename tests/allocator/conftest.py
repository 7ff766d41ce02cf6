"""Fixtures for allocator tests: the shared examples, the bench's night generator, and a
database pool for the night job."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import asyncpg
import pytest

from parking.db import create_pool
from tests.allocator.nights import REPO_ROOT, night, shared_dir


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    path = shared_dir() / "allocator" / "examples"
    assert path.is_dir(), f"allocator examples not found at {path}"
    return path


@pytest.fixture(scope="session")
def bench_module() -> ModuleType:
    """bench/allocator.py, loaded by path since `allocator` names the package."""
    spec = importlib.util.spec_from_file_location(
        "bench_allocator", REPO_ROOT / "bench" / "allocator.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def make_night() -> Callable[..., dict[str, Any]]:
    return night


@pytest.fixture
async def pool(db_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on this test's database, set up as the app's (the night job takes one)."""
    created = await create_pool(db_dsn, min_size=1, max_size=4)
    yield created
    await created.close()
