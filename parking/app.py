"""Composition of the HTTP service: ``create_app(settings)`` builds everything.

Nothing here runs at import time. The lifespan opens the database pool (starting
the embedded PostgreSQL when no URL is configured) and Redis when configured.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, get
from litestar.config.app import AppConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.plugins.pydantic import PydanticPlugin
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from litestar.stores.registry import StoreRegistry
from redis.asyncio import Redis

from integrations.district.controllers import (
    DistrictAdminController,
    DistrictInboundController,
)
from parking.accounts.controllers import AccountAdminController, AuthController
from parking.calendar.controllers import CalendarAdminController
from parking.db import create_pool, provide_transaction
from parking.embedded import start_embedded_postgres
from parking.errors import exception_handlers, problem_details_plugin
from parking.gate.controllers import GateController, GateManagementController
from parking.health import HealthController
from parking.locks import InProcessLocks, RedisLocks
from parking.metrics import Metrics, MetricsController, before_send, observe_requests
from parking.offpeak.controllers import OffPeakController
from parking.passes.controllers import BuildingPassController, PassController
from parking.places.controllers import BuildingController, SearchController
from parking.ratelimit import RateLimiter, add_rate_limit_headers, default_rules
from parking.requests.controllers import AllocationRequestController
from parking.reservations.controllers import BuildingReservationController, ReservationController
from parking.residents.controllers import (
    CompoundAdminController,
    ResidentController,
    VehicleController,
    WhitelistAdminController,
)
from parking.security import build_jwt_auth
from parking.settings import Settings
from parking.web import template_config, web_router
from parking.web.pages import page_exception_handler
from parking.web.session import WEB_PREFIX, add_page_headers, session_middleware
from pricing.controllers import (
    BuildingPricingController,
    ChargeController,
    PlanController,
    RefundController,
)

__all__ = ["create_app"]

log = logging.getLogger(__name__)

_STATIC_DIR = Path(__file__).parent / "static"


@get("/", include_in_schema=False)  # public: see the exclude list in parking.security
async def index(request: Request[Any, Any, Any]) -> dict[str, str] | Redirect:
    """A browser goes to the pages; a program gets where the API is described."""
    if request.accept.best_match(["application/json", "text/html"]) == "text/html":
        return Redirect(path="/app/", status_code=303)
    return {
        "service": "shared-parking",
        "pages": "/app/",
        "docs": "/schema",
        "health": "/health",
        "ready": "/ready",
    }


def _stores(settings: Settings) -> StoreRegistry:
    if settings.redis_url is None:
        return StoreRegistry(default_factory=lambda _name: MemoryStore())
    root = RedisStore.with_client(
        url=settings.redis_url, namespace=f"{settings.redis_prefix}:store"
    )
    return StoreRegistry(default_factory=root.with_namespace)


def _observe_first(config: AppConfig) -> AppConfig:
    # The outermost middleware, so that every log line of a request has its id.
    config.middleware.insert(0, observe_requests)
    return config


def _pydantic_plugin() -> PydanticPlugin:
    # Litestar validates bodies with ``model_validate(strict=False)`` by default, which
    # overrides a field's own strictness and would turn 1000.0 into 1000 fen. ``None`` lets
    # each model and field decide: money fields are StrictInt, dates still parse from text.
    return PydanticPlugin(validate_strict=None)  # type: ignore[arg-type]


def _with_pages(handlers: dict[type[Exception] | int, Any]) -> dict[type[Exception] | int, Any]:
    """The app's handlers, except that an error on a page's address is a page: a path no
    page has (404) or a method it does not take (405) is decided before the pages' own
    router, and its handlers, are reached."""

    def wrap(handler: Any) -> Any:
        def handle(request: Request[Any, Any, Any], exc: Exception) -> Any:
            path = request.url.path
            if path == WEB_PREFIX or path.startswith(WEB_PREFIX + "/"):
                return page_exception_handler(request, exc)
            return handler(request, exc)

        return handle

    return {kind: wrap(handler) for kind, handler in handlers.items()}


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings()
    jwt_auth = build_jwt_auth(settings)
    limiter = RateLimiter(default_rules(settings), settings.redis_url, settings.redis_prefix)
    if settings.uses_dev_secret:
        log.warning("PARKING_SECRET_KEY is unset: tokens are signed with a development key")

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        dsn = settings.database_url or start_embedded_postgres(settings.data_dir)
        app.state.pool = await create_pool(
            dsn, min_size=settings.db_pool_min_size, max_size=settings.db_pool_max_size
        )
        redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
        if redis is None:
            log.info("PARKING_REDIS_URL is unset: single instance, in-process stores and locks")
            app.state.locks = InProcessLocks()
        else:
            app.state.locks = RedisLocks(redis, settings.redis_prefix)
        app.state.redis = redis
        try:
            yield
        finally:
            await app.state.pool.close()
            if redis is not None:
                await redis.aclose()

    return Litestar(
        route_handlers=[
            index,
            HealthController,
            MetricsController,
            AuthController,
            AccountAdminController,
            CalendarAdminController,
            OffPeakController,
            CompoundAdminController,
            WhitelistAdminController,
            ResidentController,
            VehicleController,
            GateController,
            GateManagementController,
            PassController,
            BuildingPassController,
            ReservationController,
            BuildingReservationController,
            AllocationRequestController,
            PlanController,
            BuildingPricingController,
            ChargeController,
            RefundController,
            BuildingController,
            SearchController,
            DistrictInboundController,
            DistrictAdminController,
            web_router(settings),
            create_static_files_router(
                path="/static", directories=[_STATIC_DIR], include_in_schema=False
            ),
        ],
        dependencies={"conn": Provide(provide_transaction)},
        lifespan=[lifespan],
        on_shutdown=[limiter.close],
        state=State({"settings": settings, "jwt_auth": jwt_auth, "metrics": Metrics()}),
        # Authentication is put first by its on_app_init; request ids and timing go
        # before it (below), rate limits after it and after the pages' cookie session,
        # where the caller is known.
        middleware=[session_middleware(jwt_auth, settings), limiter.middleware],
        before_send=[before_send, add_rate_limit_headers, add_page_headers],
        stores=_stores(settings),
        plugins=[problem_details_plugin(), _pydantic_plugin()],
        template_config=template_config(),
        exception_handlers=_with_pages(exception_handlers()),
        on_app_init=[jwt_auth.on_app_init, _observe_first],
        openapi_config=OpenAPIConfig(
            title="Shared parking",
            version="0.1.0",
            description="Night sharing of office and commercial parking with nearby residents.",
            path="/schema",
            render_plugins=[
                SwaggerRenderPlugin(
                    js_url="/static/swagger-ui/swagger-ui-bundle.js",
                    css_url="/static/swagger-ui/swagger-ui.css",
                    standalone_preset_js_url="/static/swagger-ui/swagger-ui-standalone-preset.js",
                    path="/",
                    favicon="<link rel='icon' href='data:,'>",  # no CDN request
                )
            ],
        ),
        debug=settings.debug,
        # Logging belongs to the process (parking.logs, set up by the CLI), not the app.
        logging_config=None,
    )
