"""Rate limits per user or per client on booking, sign-in and the district's inbound calls.

A rule names the requests it covers (method and path pattern), how many one subject may
make per window, and who the subject is: the signed-in user (the token's subject) or the
client address. Counts are fixed windows that start at a subject's first request: in
Redis (one atomic script: INCR, and PEXPIRE on the first hit) when it is configured, so
every api replica shares them, and in this process otherwise. When Redis fails the
limiter counts in-process and tries Redis again a few seconds later: a lost counter only
lets a few more requests through, and a booking never fails because Redis did.

Answers carry ``RateLimit-Limit``, ``RateLimit-Remaining``, ``RateLimit-Reset`` (seconds)
and ``RateLimit-Policy`` as in the IETF httpapi ratelimit-headers draft; a refused request
is 429 problem ``rate-limited`` with ``Retry-After``.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from litestar.types import ASGIApp, Message, Receive, Scope, Send
from redis.asyncio import Redis
from redis.exceptions import RedisError

from parking.errors import Problem
from parking.settings import Settings

__all__ = ["RateLimitRule", "RateLimiter", "add_rate_limit_headers", "default_rules"]

log = logging.getLogger(__name__)

_SCOPE_HEADERS = "parking.ratelimit_headers"
_REDIS_RETRY_AFTER_S = 5.0
_REDIS_TIMEOUT_S = 0.5
_MEMORY_PRUNE_AT = 10_000

# KEYS[1]: the subject's counter; ARGV[1]: the window in ms. Returns {count, ms to reset}.
# The expiry is set on the first hit only, so the window does not slide with each request;
# a key left without one (a crash between the two calls cannot happen in a script, but an
# operator's PERSIST can) gets one again.
_HIT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


@dataclass(frozen=True, slots=True)
class RateLimitRule:
    """``limit`` requests per ``window_s`` per subject, for requests matching the rule."""

    name: str
    path: re.Pattern[str]
    limit: int
    window_s: int
    per: Literal["user", "client"]
    methods: frozenset[str] = frozenset()
    """Empty: every method."""

    def matches(self, method: str, path: str) -> bool:
        return (not self.methods or method in self.methods) and bool(self.path.match(path))


def default_rules(settings: Settings) -> list[RateLimitRule]:
    """The service's rules; a limit of 0 turns a rule off. One line adds a rule."""
    window = settings.rate_limit_window_s
    rules = [
        # Every way a resident claims a space: bookings, passes, allocation requests,
        # through the API or the web pages (``/app/...``).
        RateLimitRule(
            "booking",
            re.compile(r"^/(app/)?(reservations|passes|allocation-requests)/?$"),
            settings.rate_limit_booking,
            window,
            "user",
            frozenset({"POST"}),
        ),
        RateLimitRule(
            "auth",
            # Password guesses too: a stolen session proving "the current password".
            re.compile(r"^/(auth/(token|register|password)|app/(login|register|password))/?$"),
            settings.rate_limit_auth,
            window,
            "client",
            frozenset({"POST"}),
        ),
        # The district platform's calls (PROTOCOL.md, platform -> operator).
        RateLimitRule(
            "district",
            re.compile(r"^/integrations/district/"),
            settings.rate_limit_district,
            window,
            "client",
        ),
    ]
    return [rule for rule in rules if rule.limit > 0]


@dataclass(frozen=True, slots=True)
class _Count:
    count: int
    reset_s: float


class _MemoryCounters:
    """Fixed windows in this process: correct for one process, and the fallback."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, float]] = {}

    def hit(self, key: str, window_s: int) -> _Count:
        now = time.monotonic()
        if len(self._windows) >= _MEMORY_PRUNE_AT:
            self._windows = {k: v for k, v in self._windows.items() if v[1] > now}
        count, ends = self._windows.get(key, (0, 0.0))
        if ends <= now:
            count, ends = 0, now + window_s
        count += 1
        self._windows[key] = (count, ends)
        # (now + window) - now can exceed window by a rounding error: never report more.
        return _Count(count, min(float(window_s), ends - now))


class RateLimiter:
    """The rules of one app, counted in Redis or in-process; ``middleware`` applies them."""

    def __init__(
        self, rules: Sequence[RateLimitRule], redis_url: str | None, redis_prefix: str
    ) -> None:
        self.rules = list(rules)
        self._redis_url = redis_url
        self._prefix = f"{redis_prefix}:ratelimit"
        self._redis: Redis | None = None
        self._redis_down_until = 0.0
        self._memory = _MemoryCounters()

    async def hit(self, rule: RateLimitRule, subject: str) -> _Count:
        """Count one request of ``subject`` under ``rule``."""
        key = f"{self._prefix}:{rule.name}:{subject}"
        if self._redis_url is not None and time.monotonic() >= self._redis_down_until:
            try:
                return await self._redis_hit(key, rule.window_s)
            except (RedisError, OSError, TimeoutError) as exc:
                # Counted here until Redis answers again; said once per outage.
                if self._redis_down_until == 0.0:
                    log.warning(
                        "rate limits: Redis failed (%s); counting in this process",
                        type(exc).__name__,
                    )
                self._redis_down_until = time.monotonic() + _REDIS_RETRY_AFTER_S
        return self._memory.hit(key, rule.window_s)

    async def _redis_hit(self, key: str, window_s: int) -> _Count:
        if self._redis is None:
            # Created on first use, in the loop that serves requests; short timeouts so a
            # stalled Redis costs a request half a second once, not a hang.
            self._redis = Redis.from_url(
                self._redis_url,
                socket_timeout=_REDIS_TIMEOUT_S,
                socket_connect_timeout=_REDIS_TIMEOUT_S,
            )
        count, ttl_ms = await self._redis.eval(_HIT_SCRIPT, 1, key, window_s * 1000)
        if self._redis_down_until != 0.0:
            log.info("rate limits: Redis answers again")
            self._redis_down_until = 0.0
        return _Count(int(count), int(ttl_ms) / 1000)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """Route middleware (inside authentication, so the caller is known)."""

        async def limit(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                await self._check(scope)
            await app(scope, receive, send)

        return limit

    async def _check(self, scope: Scope) -> None:
        method, path = scope.get("method", ""), scope["path"]
        for rule in self.rules:
            if not rule.matches(method, path):
                continue
            counted = await self.hit(rule, _subject(scope, rule))
            remaining = max(0, rule.limit - counted.count)
            reset_s = max(1, math.ceil(counted.reset_s))
            headers = {
                "RateLimit-Limit": str(rule.limit),
                "RateLimit-Remaining": str(remaining),
                "RateLimit-Reset": str(reset_s),
                "RateLimit-Policy": f"{rule.limit};w={rule.window_s}",
            }
            if counted.count > rule.limit:
                raise Problem(
                    429,
                    "rate-limited",
                    f"Too many requests: at most {rule.limit} per {rule.window_s} s; "
                    f"try again in {reset_s} s.",
                    headers={**headers, "Retry-After": str(reset_s)},
                    extra={"limit": rule.limit, "window_s": rule.window_s, "retry_after": reset_s},
                )
            # The answer is sent outside this middleware when a handler raises, so the
            # headers go into the scope and ``before_send`` adds them to whatever answer.
            scope[_SCOPE_HEADERS] = headers  # type: ignore[literal-required]
            return  # the first matching rule decides


def _subject(scope: Scope, rule: RateLimitRule) -> str:
    if rule.per == "user":
        user = scope.get("user")
        user_id = getattr(user, "id", None)
        if user_id is not None:
            return f"user:{user_id}"
    client = scope.get("client")
    return f"client:{client[0] if client else 'unknown'}"


async def add_rate_limit_headers(message: Message, scope: Scope) -> None:
    """``before_send`` hook: the RateLimit headers decided for this request on its answer."""
    if message["type"] != "http.response.start":
        return
    headers = scope.get(_SCOPE_HEADERS)
    if headers:
        message["headers"] = [
            *message.get("headers", []),
            *((name.lower().encode(), value.encode()) for name, value in headers.items()),
        ]
