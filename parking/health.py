"""Liveness and readiness: is the process up, and can it do its work."""

from __future__ import annotations

import asyncio

from litestar import Controller, get
from litestar.datastructures import State

from parking.errors import Problem
from parking.migrate import migration_status

__all__ = ["HealthController"]

_READY_TIMEOUT_S = 3.0


class HealthController(Controller):
    tags = ["health"]

    @get("/health", summary="The process is up")
    async def health(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready", summary="The database answers and its migrations are current")
    async def ready(self, state: State) -> dict[str, object]:
        try:
            async with asyncio.timeout(_READY_TIMEOUT_S):
                async with state.pool.acquire() as conn:
                    status = await migration_status(conn)
        except Exception as exc:  # whatever stops us reaching it, the answer is: not ready
            raise Problem(
                503,
                "database-unreachable",
                f"The database cannot be reached ({type(exc).__name__}).",
            ) from exc
        if not status.current:
            detail = "; ".join(status.problems) or f"pending migrations: {status.pending}"
            raise Problem(503, "migrations-not-current", detail)
        return {"status": "ready", "database": "ok", "migrations": status.applied}
