"""Named locks across processes (Redis) or inside one process (no Redis).

These are an optimisation only: correctness comes from PostgreSQL (advisory
locks, ``SKIP LOCKED``, constraints). A lost Redis lock costs duplicate work,
never duplicate effects.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from redis.asyncio import Redis

__all__ = ["InProcessLocks", "Locks", "RedisLocks"]


class Locks(Protocol):
    """Take ``name`` for at most ``ttl_s`` seconds without waiting; yields whether it was taken."""

    def hold(self, name: str, ttl_s: float) -> AbstractAsyncContextManager[bool]: ...


class InProcessLocks:
    """Correct for a single process; what the app uses when there is no Redis."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}

    @asynccontextmanager
    async def hold(self, name: str, ttl_s: float) -> AsyncIterator[bool]:
        """Yields True if the lock was taken, False if someone holds it (never waits)."""
        lock = self._locks.setdefault(name, asyncio.Lock())
        if lock.locked():
            yield False
            return
        async with lock:
            yield True


class RedisLocks:
    """redis-py's token-checked lock: only the holder can release, and it expires."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    @asynccontextmanager
    async def hold(self, name: str, ttl_s: float) -> AsyncIterator[bool]:
        lock = self._redis.lock(f"{self._prefix}:lock:{name}", timeout=ttl_s, blocking=False)
        taken = await lock.acquire()
        try:
            yield taken
        finally:
            if taken:
                await lock.release()
