"""The web pages: server-rendered HTML for residents, managers and admins under ``/app``.

Pages call the same use cases as the API, in the same transaction discipline; they sign
in with a cookie (``session``), carry a CSRF token in every form, and speak Chinese by
default or English (``i18n``). Every asset is served from ``parking/static/web``: no CDN.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from litestar import Router
from litestar.config.csrf import CSRFConfig
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.plugins.problem_details import ProblemDetailsException
from litestar.template.config import TemplateConfig

from parking.settings import Settings
from parking.web import admin, manager, prices, resident, sync
from parking.web.auth import PasswordPages, SignInPages
from parking.web.pages import money, page_exception_handler
from parking.web.session import WEB_PREFIX

__all__ = ["template_config", "web_router"]

_TEMPLATES = Path(__file__).parent / "templates"


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    def configure(engine: JinjaTemplateEngine) -> None:
        engine.engine.filters["money"] = money
        # A new key each time a form is shown, so that sending it twice does it once.
        engine.engine.globals["form_key"] = lambda: secrets.token_urlsafe(16)
        engine.engine.trim_blocks = True
        engine.engine.lstrip_blocks = True

    return TemplateConfig(
        directory=_TEMPLATES, engine=JinjaTemplateEngine, engine_callback=configure
    )


def web_router(settings: Settings) -> Router:
    csrf = CSRFConfig(
        secret=settings.secret_key.get_secret_value(),
        cookie_name="parking_csrf",
        cookie_path=WEB_PREFIX,
        cookie_secure=settings.cookie_secure,
        cookie_httponly=True,
        header_name="x-csrftoken",
    )
    return Router(
        path="/",
        route_handlers=[
            SignInPages,
            PasswordPages,
            *resident.ROUTES,
            *manager.ROUTES,
            *prices.ROUTES,
            *sync.ROUTES,
            *admin.ROUTES,
        ],
        middleware=[DefineMiddleware(CSRFMiddleware, config=csrf)],
        # Every kind the app's own handlers name, so that none of them answers a page in JSON.
        exception_handlers={
            Exception: page_exception_handler,
            HTTPException: page_exception_handler,
            ProblemDetailsException: page_exception_handler,
        },
        include_in_schema=False,
    )
