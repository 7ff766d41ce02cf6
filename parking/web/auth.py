"""Signing in and out of the pages, registering, and choosing the language."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template

from parking.accounts import service
from parking.accounts.schemas import PasswordChange, Registration, TokenRequest
from parking.db import DbConnection
from parking.errors import Problem
from parking.security import FIRST_GENERATION, AuthUser
from parking.web.i18n import LANGS
from parking.web.pages import (
    LANG_COOKIE,
    LoginRequired,
    attempt,
    homepage_of,
    notice,
    page_role,
    parse_form,
    redirect,
    render,
    signed_in,
)
from parking.web.session import WEB_PREFIX, logout_cookie, session_cookie, user_of

__all__ = ["PasswordPages", "SignInPages"]

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _safe_next(target: str | None) -> str | None:
    """Only a path of these pages: never another site (``//host``) or the API."""
    if not target or not target.startswith(WEB_PREFIX + "/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 for c in target):
        return None
    return target


class SignInPages(Controller):
    path = WEB_PREFIX
    include_in_schema = False

    @get("/", name="web-home")
    async def home(self, request: Request[Any, Any, Any]) -> Redirect:
        return redirect(homepage_of(user_of(request.scope)))

    @get("/{rest:path}", name="web-not-found")
    async def not_found(self, request: Request[Any, Any, Any], rest: FromPath[str]) -> None:
        """Any other address under the pages: sign in first, then the pages' own 404."""
        if user_of(request.scope) is None:
            raise LoginRequired()
        raise Problem(404, "not-found", "There is no such page.")

    @get("/login")
    async def login_form(
        self, request: Request[Any, Any, Any], next: FromQuery[str | None] = None
    ) -> Template:
        return render(request, "login.html", next=_safe_next(next) or "", email="")

    @post("/login")
    async def login(
        self, request: Request[Any, Any, Any], data: Form, conn: DbConnection
    ) -> Template | Redirect:
        target = _safe_next(data.get("next"))
        email = str(data.get("email", ""))

        async def sign_in() -> tuple[int, str]:
            credentials = parse_form(
                TokenRequest, {"email": email, "password": data.get("password", "")}
            )
            return await service.authenticate(conn, credentials.email, credentials.password)

        signed_in, problem = await attempt(conn, sign_in)
        if problem is not None or signed_in is None:
            return render(request, "login.html", problem=problem, next=target or "", email=email)
        settings = request.app.state.settings
        home = homepage_of(AuthUser(id=signed_in.user_id, role=signed_in.role))
        answer = redirect(target or home)
        answer.cookies.append(
            session_cookie(
                request.app.state.jwt_auth,
                settings,
                signed_in.user_id,
                signed_in.role,
                signed_in.generation,
            )
        )
        return answer

    @get("/register")
    async def register_form(self, request: Request[Any, Any, Any]) -> Template:
        return render(request, "register.html", values={})

    @post("/register")
    async def register(
        self, request: Request[Any, Any, Any], data: Form, conn: DbConnection
    ) -> Template | Redirect:
        values = {k: v for k, v in data.items() if k in Registration.model_fields}

        async def create() -> Any:
            return await service.register_resident(conn, parse_form(Registration, values))

        user, problem = await attempt(conn, create)
        if problem is not None or user is None:
            values.pop("password", None)
            return render(request, "register.html", problem=problem, values=values)
        answer = redirect(f"{WEB_PREFIX}/account")
        answer.cookies.append(
            session_cookie(
                request.app.state.jwt_auth,
                request.app.state.settings,
                user.id,
                "resident",
                FIRST_GENERATION,
            )
        )
        return answer

    @post("/logout")
    async def logout(self, request: Request[Any, Any, Any]) -> Redirect:
        answer = redirect(f"{WEB_PREFIX}/login")
        answer.cookies.append(logout_cookie(request.app.state.settings))
        return answer

    @get("/lang/{lang:str}")
    async def choose_language(
        self,
        request: Request[Any, Any, Any],
        lang: FromPath[str],
        back: FromQuery[str | None] = None,
    ) -> Redirect:
        answer = redirect(_safe_next(back) or homepage_of(user_of(request.scope)))
        if lang in LANGS:
            answer.set_cookie(
                LANG_COOKIE,
                lang,
                max_age=365 * 24 * 3600,
                path="/",
                samesite="lax",
                secure=request.app.state.settings.cookie_secure,
            )
        return answer


class PasswordPages(Controller):
    """Anyone signed in sets a new password, proving the current one; their other
    sessions end, this one goes on with a fresh cookie."""

    path = f"{WEB_PREFIX}/password"
    include_in_schema = False
    guards = [page_role("resident", "manager", "admin")]

    @get("/")
    async def form(
        self, request: Request[Any, Any, Any], done: FromQuery[str | None] = None
    ) -> Template:
        return render(
            request, "password.html", done=notice(request, {"changed": "password.done"}, done)
        )

    @post("/")
    async def change(
        self, request: Request[Any, Any, Any], data: Form, conn: DbConnection
    ) -> Template | Redirect:
        values = {k: data.get(k, "") for k in PasswordChange.model_fields}

        async def change() -> service.SignedIn:
            parsed = parse_form(PasswordChange, values)
            return await service.change_own_password(conn, signed_in(request), parsed)

        changed, problem = await attempt(conn, change)
        if problem is not None or changed is None:
            return render(request, "password.html", problem=problem, done=None)
        answer = redirect(f"{WEB_PREFIX}/password?done=changed")
        answer.cookies.append(
            session_cookie(
                request.app.state.jwt_auth,
                request.app.state.settings,
                changed.user_id,
                changed.role,
                changed.generation,
            )
        )
        return answer
