"""What every page handler uses: rendering, the sign-in guard, forms and their problems.

A form posts, the handler runs its use case inside a savepoint (``attempt``), and then
either redirects (303) to the page that shows the result, or renders the form again
with the problem in the reader's language and the status the API would have answered
(``render(..., problem=...)``). A refused action leaves nothing behind: the savepoint is
rolled back, exactly as the API's transaction would be.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote
from zoneinfo import ZoneInfo

import asyncpg
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException
from litestar.handlers.base import BaseRouteHandler
from litestar.plugins.problem_details import ProblemDetailsException
from litestar.response import Redirect, Template
from pydantic import BaseModel, ValidationError

from parking import idempotency
from parking.clock import utc_now
from parking.errors import Problem, to_problem
from parking.security import AuthUser, Role
from parking.web.i18n import DEFAULT_LANG, LANGS, Lang, problem_text, translator
from parking.web.session import WEB_PREFIX, user_of

__all__ = [
    "LoginRequired",
    "attempt",
    "attempt_once",
    "form_fields",
    "form_problem",
    "lang_of",
    "page_exception_handler",
    "page_role",
    "parse_form",
    "redirect",
    "render",
]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

LANG_COOKIE = "lang"
CSRF_FIELD = "_csrf_token"
FORM_KEY_FIELD = "_form_key"
"""Every form's own key (``templates/csrf.html``), new each time the form is shown."""
_FORM_KEY_LENGTH = 64

# Each role's pages, in the order of its menu: (label key, path).
MENUS: dict[Role, list[tuple[str, str]]] = {
    "resident": [
        ("menu.search", f"{WEB_PREFIX}/search"),
        ("menu.reservations", f"{WEB_PREFIX}/reservations"),
        ("menu.allocation", f"{WEB_PREFIX}/allocation-requests"),
        ("menu.charges", f"{WEB_PREFIX}/charges"),
        ("menu.account", f"{WEB_PREFIX}/account"),
    ],
    "manager": [
        ("menu.buildings", f"{WEB_PREFIX}/buildings"),
        ("menu.sync", f"{WEB_PREFIX}/sync"),
    ],
    "admin": [
        ("menu.accounts", f"{WEB_PREFIX}/admin/accounts"),
        ("menu.whitelist", f"{WEB_PREFIX}/admin/whitelist"),
        ("menu.holidays", f"{WEB_PREFIX}/admin/holidays"),
        ("menu.sync", f"{WEB_PREFIX}/sync"),
    ],
}
HOMES: dict[Role, str] = {
    "resident": f"{WEB_PREFIX}/search",
    "manager": f"{WEB_PREFIX}/buildings",
    "admin": f"{WEB_PREFIX}/admin/accounts",
}


class LoginRequired(HTTPException):
    status_code = 401


def lang_of(request: ASGIConnection[Any, Any, Any, Any]) -> Lang:
    chosen = request.cookies.get(LANG_COOKIE)
    return chosen if chosen in LANGS else DEFAULT_LANG  # type: ignore[return-value]


def page_role(*roles: Role):
    """A guard for page controllers: signed in (else to the sign-in page), with a role."""
    allowed = frozenset(roles)

    # A coroutine, which Litestar keeps as it is (a plain function it wraps, hiding its
    # name): tests/web/test_page_authorization.py reads who may open a page from the name.
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        user = user_of(connection.scope)
        if user is None:
            raise LoginRequired()
        if user.role not in allowed:
            raise Problem(403, "forbidden", "Your role may not see this page.")

    guard.__name__ = f"page_requires_{'_or_'.join(sorted(allowed))}"
    return guard


def render(
    request: Request[Any, Any, Any],
    template: str,
    *,
    status_code: int = 200,
    problem: ProblemDetailsException | None = None,
    **context: Any,
) -> Template:
    """A page in the reader's language, with the frame's context and an optional problem."""
    lang = lang_of(request)
    user = user_of(request.scope)
    if problem is not None:
        status_code = problem.status_code
        context["problem"] = _problem_view(lang, problem)
    return Template(
        template_name=template,
        context={
            "t": translator(lang),
            "lang": lang,
            "user": user,
            "menu": MENUS[user.role] if user else [],
            "path": request.url.path,
            "today": local_today(request),
            **context,
        },
        status_code=status_code,
        headers=problem.headers if problem is not None and problem.headers else None,
    )


def _problem_view(lang: Lang, problem: ProblemDetailsException) -> dict[str, Any]:
    extra = problem.extra if isinstance(problem.extra, dict) else {}
    errors = extra.get("errors") or []
    return {
        "status": problem.status_code,
        "type": problem.type_ or "",
        "text": problem_text(lang, problem.type_ or "", problem.detail or ""),
        "detail": problem.detail or "",
        "fields": {e.get("field", ""): e.get("message", "") for e in errors if isinstance(e, dict)},
    }


def redirect(path: str) -> Redirect:
    """After a form: 303 to the page that shows the outcome."""
    return Redirect(path=path, status_code=303)


async def attempt(
    conn: asyncpg.Connection, action: Callable[[], Awaitable[T]]
) -> tuple[T | None, ProblemDetailsException | None]:
    """Run ``action`` in a savepoint: (its result, None), or (None, the problem it raised).

    What the service refuses (4xx) is rolled back and returned for the form to show; a
    crash (5xx) propagates to the error page.
    """
    try:
        async with conn.transaction():
            return await action(), None
    except Exception as exc:
        problem = to_problem(exc)
        if problem.status_code >= 500:
            raise
        return None, problem


async def attempt_once(
    request: Request[Any, Any, Any], conn: asyncpg.Connection, action: Callable[[], Awaitable[Any]]
) -> ProblemDetailsException | None:
    """``attempt`` once per form shown: None when done (now or before), else the problem.

    The same form sent again with the same values (a second tap with JavaScript off, a
    resend after a lost answer) waits for the first to finish and is answered as done,
    without doing it twice. A refused form is not remembered: sent again, it is checked
    again. Keys are kept as the API's Idempotency-Keys are (``idempotency_ttl_hours``).
    """
    form = await request.form()
    raw = form.get(FORM_KEY_FIELD)
    if not isinstance(raw, str) or not 1 <= len(raw) <= _FORM_KEY_LENGTH:
        return (await attempt(conn, action))[1]
    user = signed_in(request)
    key = f"page:{raw}"
    sent = sorted(
        (k, str(v)) for k, v in form.multi_items() if k not in (CSRF_FIELD, FORM_KEY_FIELD)
    )
    fingerprint = idempotency.request_hash(request.method, request.url.path, sent)
    ttl = request.app.state.settings.idempotency_ttl_hours
    if await idempotency.done_before(conn, user.id, key, fingerprint, ttl):
        return None
    _, problem = await attempt(conn, action)
    if problem is None:
        await idempotency.remember(conn, user.id, key, fingerprint, 303, {"page": request.url.path})
    return problem


def form_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a reader filled in: the form's own CSRF token and key left out."""
    return {k: v for k, v in data.items() if k not in (CSRF_FIELD, FORM_KEY_FIELD)}


def form_problem(error: ValidationError) -> Problem:
    """A pydantic error as the 422 the API answers, with the fields named by their form names."""
    fields = [
        {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in error.errors()
    ]
    return Problem(
        422, "validation-error", "The request is not valid; see errors.", extra={"errors": fields}
    )


def parse_form(model: type[M], form: Mapping[str, Any], **fixed: Any) -> M:
    """The form as the API's own request model (empty fields left out), or a 422 problem."""
    values = {k: v for k, v in form_fields(form).items() if v != ""}
    values.update(fixed)
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise form_problem(error) from None


def page_exception_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Any error on a page: the sign-in page when signed out, else the error page."""
    if isinstance(exc, LoginRequired) or (
        isinstance(exc, HTTPException) and exc.status_code == 401 and user_of(request.scope) is None
    ):
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        return Redirect(path=f"{WEB_PREFIX}/login?next={quote(target, safe='')}", status_code=303)
    problem = to_problem(exc, f"{request.method} {request.url.path}")
    if problem.status_code == 403 and "csrf" in (problem.detail or "").lower():
        problem = Problem(403, "csrf", problem.detail or "CSRF token verification failed")
    return render(request, "error.html", problem=problem)


def signed_in(request: ASGIConnection[Any, Any, Any, Any]) -> AuthUser:
    """The reader of a guarded page (the guard let only a signed-in user through)."""
    user = user_of(request.scope)
    assert user is not None
    return user


def local_today(request: ASGIConnection[Any, Any, Any, Any]) -> dt.date:
    """Today's date in the district's time zone."""
    return utc_now().astimezone(request.app.state.settings.tz).date()


def notice(
    request: ASGIConnection[Any, Any, Any, Any], words: Mapping[str, str], done: str | None
) -> str | None:
    """The notice for a page's ``?done=<word>``, from that page's ``words`` (word -> label
    key) in the reader's language; a word the page does not know shows nothing."""
    key = words.get(done or "")
    return translator(lang_of(request))(key) if key else None


def form_list(value: Any) -> list[Any]:
    """A form field that may repeat (checkboxes, several labels): always a list."""
    if value is None or value == "":
        return []
    return [v for v in value if v != ""] if isinstance(value, list | tuple) else [value]


def local_datetime(value: Any, tz: ZoneInfo) -> Any:
    """A ``datetime-local`` field (no offset) as ISO text in the district's time; anything
    else is handed on unchanged for the request model to refuse."""
    if not isinstance(value, str) or not value:
        return value
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)).isoformat()


def money(fen: int | None) -> str:
    """Integer fen as yuan with two decimals: 1050 -> '10.50'."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}{yuan:,}.{cents:02d}"


def homepage_of(user: AuthUser | None) -> str:
    return HOMES[user.role] if user else f"{WEB_PREFIX}/login"
