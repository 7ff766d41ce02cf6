"""Redis when configured (stores and locks under the deployment's prefix), in-process otherwise."""

from __future__ import annotations

import asyncio

import pytest
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from parking.app import create_app
from parking.locks import InProcessLocks, RedisLocks
from tests.conftest import make_settings


async def test_with_redis_the_app_uses_redis_stores(
    db_dsn: str, redis_url: str, redis_prefix: str
) -> None:
    app = create_app(make_settings(db_dsn, redis_url=redis_url, redis_prefix=redis_prefix))
    async with AsyncTestClient(app=app):
        store = app.stores.get("cache")
        assert isinstance(store, RedisStore)
        await store.set("greeting", "你好", expires_in=60)
        assert isinstance(app.state.locks, RedisLocks)
        redis = Redis.from_url(redis_url)
        try:
            keys = [k.decode() async for k in redis.scan_iter(match=f"{redis_prefix}:*greeting*")]
            assert keys, "the value must be in Redis under this deployment's prefix"
            assert await store.get("greeting") == "你好".encode()
        finally:
            await redis.aclose()


async def test_without_redis_the_app_is_single_instance(client: AsyncTestClient, caplog) -> None:
    app = client.app
    assert isinstance(app.stores.get("cache"), MemoryStore)
    assert isinstance(app.state.locks, InProcessLocks)


async def _exclusive(locks, name: str) -> None:
    async with locks.hold(name, ttl_s=5) as first:
        assert first is True
        async with locks.hold(name, ttl_s=5) as second:
            assert second is False
    async with locks.hold(name, ttl_s=5) as again:
        assert again is True


async def test_in_process_lock_is_exclusive() -> None:
    await _exclusive(InProcessLocks(), "night:2026-11-28")


async def test_redis_lock_is_exclusive_across_clients(redis_url: str, redis_prefix: str) -> None:
    a, b = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        await _exclusive(RedisLocks(a, redis_prefix), "night:2026-11-28")
        async with RedisLocks(a, redis_prefix).hold("job", ttl_s=5) as held_by_a:
            async with RedisLocks(b, redis_prefix).hold("job", ttl_s=5) as held_by_b:
                assert held_by_a and not held_by_b
    finally:
        await a.aclose()
        await b.aclose()


async def test_redis_lock_expires_when_its_holder_vanishes(
    redis_url: str, redis_prefix: str
) -> None:
    a, b = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        lock = a.lock(f"{redis_prefix}:lock:crashy", timeout=0.3, blocking=False)
        assert await lock.acquire()  # and never released, as if the process died
        async with RedisLocks(b, redis_prefix).hold("crashy", ttl_s=5) as taken:
            assert taken is False
        await asyncio.sleep(0.5)
        async with RedisLocks(b, redis_prefix).hold("crashy", ttl_s=5) as taken:
            assert taken is True
    finally:
        await a.aclose()
        await b.aclose()


@pytest.mark.parametrize("bad", ["Mars/Olympus", "not a zone"])
def test_unknown_timezone_is_refused_at_start(db_dsn: str, bad: str) -> None:
    with pytest.raises(ValueError, match="timezone"):
        make_settings(db_dsn, timezone=bad)
