"""The admin pages: accounts, compounds and the residence whitelist, and the holiday calendar.

Every form runs the use case of its API endpoint (``POST /admin/users``, ``POST`` and
``PATCH /admin/compounds``, ``POST /admin/whitelist/import``, ``PUT`` and ``DELETE
/admin/calendar/{year}``), so the pages accept, refuse and change exactly what the API does.
Phones are shown masked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Annotated, Any

import asyncpg
from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, QueryParameter
from litestar.plugins.problem_details import ProblemDetailsException
from litestar.response import Redirect, Template
from pydantic import ValidationError

from parking.accounts import repository as accounts
from parking.accounts import service as account_service
from parking.accounts.schemas import AccountChange, NewAccount
from parking.calendar import service as calendar
from parking.calendar.controllers import Year
from parking.calendar.schemas import CalendarDay
from parking.clock import utc_now
from parking.db import DbConnection
from parking.errors import Problem
from parking.plates import mask_phone
from parking.residents import repository as residents
from parking.residents import service as resident_service
from parking.residents.controllers import WHITELIST_MAX_BYTES
from parking.residents.schemas import CompoundPatch, ImportReport, NewCompound
from parking.security import Role
from parking.web.i18n import TEXT, translator
from parking.web.pages import (
    attempt,
    attempt_once,
    lang_of,
    notice,
    page_role,
    parse_form,
    redirect,
    render,
    signed_in,
)
from parking.web.session import WEB_PREFIX

__all__ = ["ROUTES", "AccountPages", "HolidayPages", "WhitelistPages"]

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
Upload = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]

ACCOUNTS = f"{WEB_PREFIX}/admin/accounts"
ACCOUNTS_PAGE_SIZE = 50
"""Accounts a page lists at once (a district has thousands of residents)."""
WHITELIST = f"{WEB_PREFIX}/admin/whitelist"
HOLIDAYS = f"{WEB_PREFIX}/admin/holidays"

WHITELIST_PAGE_SIZE = 100
"""Entries on one page of the whitelist (the API's default page)."""

# The multipart wrapping around the file: boundaries, headers, the CSRF token and the mode.
_MULTIPART_OVERHEAD = 64 * 1024

# ?done=<word> -> the notice the page shows.
_DONE = {
    "created": "admin.accounts.created_done",
    "deactivated": "admin.accounts.deactivated_done",
    "activated": "admin.accounts.activated_done",
    "password": "admin.accounts.password_done",
    "compound": "admin.compounds.created_done",
    "compound_saved": "admin.compounds.saved",
    "imported": "admin.import.done",
    "saved": "admin.holidays.saved",
    "removed": "admin.holidays.removed",
}


def _local(request: Request[Any, Any, Any]) -> Callable[[dt.datetime | None], str]:
    """Times in the district's local time, to the minute."""
    tz = request.app.state.settings.tz

    def local(moment: dt.datetime | None) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else ""

    return local


def _shown(
    request: Request[Any, Any, Any], problem: ProblemDetailsException
) -> ProblemDetailsException:
    """The problem with what it points at in words: each bad line of a file, or the day.

    The frame lists a problem's ``errors`` by ``field``; a file's errors carry a line
    number instead, and a calendar's problem names its ``day``.
    """
    extra = problem.extra if isinstance(problem.extra, dict) else {}
    errors = extra.get("errors") or []
    t = translator(lang_of(request))
    if any(isinstance(e, dict) and "line" in e for e in errors):
        named = [
            {"field": t("admin.line", line=e["line"]), "message": _line_words(t, e)}
            for e in errors
            if isinstance(e, dict)
        ]
    elif "day" in extra and not errors:
        named = [{"field": t("admin.holidays.day"), "message": str(extra["day"])}]
    else:
        return problem
    return Problem(
        problem.status_code,
        problem.type_ or "validation-error",
        problem.detail or "",
        extra={**extra, "errors": named},
    )


def _line_words(t: Callable[..., str], error: dict[str, Any]) -> str:
    """What is wrong with one line of an imported file or a year's days, in the reader's
    language: each of its faults by its code's label (``admin.fault.<code>``), the column
    named in words; the English message where a fault has no label."""
    faults = error.get("faults") or []
    if not faults or any(f"admin.fault.{f.get('code')}" not in TEXT for f in faults):
        return str(error.get("message", ""))
    words = []
    for fault in faults:
        params = dict(fault.get("params") or {})
        if "name" in params:
            params["name"] = t(f"admin.fault.column.{params['name']}")
        words.append(t(f"admin.fault.{fault['code']}", **params))
    return " ".join(words)


ADMIN_ONLY = page_role("admin")


# --- accounts ----------------------------------------------------------------------------


async def _accounts_page(
    request: Request[Any, Any, Any],
    conn: DbConnection,
    *,
    role: Role | None = None,
    offset: int = 0,
    done: str | None = None,
    problem: ProblemDetailsException | None = None,
    values: dict[str, Any] | None = None,
) -> Template:
    users, total = await accounts.list_users(conn, role, limit=ACCOUNTS_PAGE_SIZE, offset=offset)
    return render(
        request,
        "admin/accounts.html",
        problem=problem,
        done=notice(request, _DONE, done),
        role=role,
        users=users,
        total=total,
        offset=offset,
        page_size=ACCOUNTS_PAGE_SIZE,
        accounts_link=_accounts_link,
        me=signed_in(request).id,
        masked=lambda phone: mask_phone(phone) if phone else "",
        local=_local(request),
        values=values or {"role": "manager"},
    )


def _list_link(path: str, name: str, value: object, offset: int) -> str:
    """A list page's address with its filter (when set) and offset (when not 0)."""
    query = [f"{name}={value}"] if value not in (None, "") else []
    if offset:
        query.append(f"offset={offset}")
    return path + ("?" + "&".join(query) if query else "")


def _accounts_link(role: Role | None, offset: int) -> str:
    return _list_link(ACCOUNTS, "role", role, offset)


class AccountPages(Controller):
    path = ACCOUNTS
    include_in_schema = False
    guards = [ADMIN_ONLY]

    @get("/")
    async def accounts(
        self,
        request: Request[Any, Any, Any],
        conn: DbConnection,
        role: FromQuery[Role | None] = None,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
        done: FromQuery[str | None] = None,
    ) -> Template:
        return await _accounts_page(request, conn, role=role, offset=offset, done=done)

    @post("/")
    async def create(
        self, request: Request[Any, Any, Any], data: Form, conn: DbConnection
    ) -> Template | Redirect:
        values = {k: v for k, v in data.items() if k in NewAccount.model_fields}

        async def create() -> Any:
            return await account_service.create_account(conn, parse_form(NewAccount, values))

        problem = await attempt_once(request, conn, create)
        if problem is not None:
            # The form comes back without the password, and without the phone: a phone
            # is never shown in full.
            kept = {k: v for k, v in values.items() if k not in ("password", "phone")}
            return await _accounts_page(request, conn, problem=problem, values=kept)
        return redirect(f"{ACCOUNTS}?done=created")

    async def _change(
        self,
        request: Request[Any, Any, Any],
        conn: asyncpg.Connection,
        user_id: int,
        values: dict[str, Any],
        done: str,
    ) -> Template | Redirect:
        async def change() -> Any:
            parsed = parse_form(AccountChange, values)
            return await account_service.change_account(conn, signed_in(request), user_id, parsed)

        problem = await attempt_once(request, conn, change)
        if problem is not None:
            return await _accounts_page(request, conn, problem=problem)
        return redirect(f"{ACCOUNTS}?done={done}")

    @post("/{user_id:int}/active")
    async def set_active(
        self,
        request: Request[Any, Any, Any],
        data: Form,
        conn: DbConnection,
        user_id: FromPath[int],
    ) -> Template | Redirect:
        active = data.get("is_active", "")
        done = "activated" if active == "true" else "deactivated"
        return await self._change(request, conn, user_id, {"is_active": active}, done)

    @post("/{user_id:int}/password")
    async def set_password(
        self,
        request: Request[Any, Any, Any],
        data: Form,
        conn: DbConnection,
        user_id: FromPath[int],
    ) -> Template | Redirect:
        values = {"password": data.get("password", "")}
        return await self._change(request, conn, user_id, values, "password")


# --- compounds and the whitelist -----------------------------------------------------------


def _report_of(request: Request[Any, Any, Any]) -> ImportReport | None:
    """The import's report, carried to the page in the redirect's query (counts only)."""
    fields = {k: v for k, v in request.query_params.items() if k in ImportReport.model_fields}
    try:
        return ImportReport.model_validate(fields)
    except ValidationError:
        return None


async def _whitelist_page(
    request: Request[Any, Any, Any],
    conn: DbConnection,
    *,
    compound_id: int | None = None,
    offset: int = 0,
    done: str | None = None,
    problem: ProblemDetailsException | None = None,
    values: dict[str, Any] | None = None,
    editing: int | None = None,
    edit_values: dict[str, Any] | None = None,
) -> Template:
    compounds = await residents.list_compounds(conn)
    if compound_id is not None and all(c.id != compound_id for c in compounds):
        raise Problem(404, "not-found", "There is no such compound.")
    entries = await residents.list_whitelist(conn, compound_id, WHITELIST_PAGE_SIZE, offset)
    total = await residents.count_whitelist(conn, compound_id)
    return render(
        request,
        "admin/whitelist.html",
        problem=problem,
        done=notice(request, _DONE, done),
        report=_report_of(request) if done == "imported" else None,
        compounds=compounds,
        compound_id=compound_id,
        editing=editing,
        edit_values=edit_values or {},
        entries=entries,
        total=total,
        offset=offset,
        page_size=WHITELIST_PAGE_SIZE,
        masked=mask_phone,
        entries_link=_entries_link,
        local=_local(request),
        values=values or {},
    )


def _entries_link(compound_id: int | None, offset: int) -> str:
    return _list_link(WHITELIST, "compound", compound_id, offset)


class WhitelistPages(Controller):
    path = WHITELIST
    include_in_schema = False
    guards = [ADMIN_ONLY]

    @get("/")
    async def whitelist(
        self,
        request: Request[Any, Any, Any],
        conn: DbConnection,
        compound: FromQuery[str | None] = None,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
        done: FromQuery[str | None] = None,
    ) -> Template:
        # The filter's "all compounds" option sends an empty ``compound``.
        try:
            compound_id = int(compound) if compound else None
        except ValueError:
            raise Problem(
                422,
                "validation-error",
                "The request is not valid; see errors.",
                extra={"errors": [{"field": "compound", "message": "Not a compound id."}]},
            ) from None
        return await _whitelist_page(
            request, conn, compound_id=compound_id, offset=offset, done=done
        )

    @post("/compounds")
    async def create_compound(
        self, request: Request[Any, Any, Any], data: Form, conn: DbConnection
    ) -> Template | Redirect:
        values = {k: v for k, v in data.items() if k in NewCompound.model_fields}

        async def create() -> Any:
            return await resident_service.create_compound(conn, parse_form(NewCompound, values))

        compound, problem = await attempt(conn, create)
        if problem is not None or compound is None:
            return await _whitelist_page(request, conn, problem=problem, values=values)
        return redirect(f"{WHITELIST}?done=compound&compound={compound.id}")

    @post("/compounds/{compound_id:int}")
    async def update_compound(
        self,
        request: Request[Any, Any, Any],
        data: Form,
        conn: DbConnection,
        compound_id: FromPath[int],
    ) -> Template | Redirect:
        values = {k: v for k, v in data.items() if k in CompoundPatch.model_fields}

        async def update() -> Any:
            patch = parse_form(CompoundPatch, values)
            return await resident_service.update_compound(conn, compound_id, patch)

        problem = await attempt_once(request, conn, update)
        if problem is not None:
            return await _whitelist_page(
                request, conn, problem=problem, editing=compound_id, edit_values=values
            )
        return redirect(f"{WHITELIST}?done=compound_saved&compound={compound_id}")

    @post("/import", request_max_body_size=WHITELIST_MAX_BYTES + _MULTIPART_OVERHEAD)
    async def import_file(
        self, request: Request[Any, Any, Any], data: Upload, conn: DbConnection
    ) -> Template | Redirect:
        upload = data.get("file")
        content = await upload.read() if isinstance(upload, UploadFile) else b""
        mode = data.get("mode") or "merge"

        async def run() -> ImportReport:
            if mode not in ("merge", "replace"):
                raise Problem(422, "validation-error", "The mode is merge or replace.")
            return await resident_service.import_whitelist(conn, content, mode)

        report, problem = await attempt(conn, run)
        if problem is not None:
            return await _whitelist_page(request, conn, problem=_shown(request, problem))
        assert report is not None  # no problem: the import's report
        counts = "&".join(f"{k}={v}" for k, v in report.model_dump().items())
        return redirect(f"{WHITELIST}?done=imported&{counts}")


# --- the holiday calendar ------------------------------------------------------------------


def _days_text(days: Iterable[tuple[dt.date, str, str]]) -> str:
    """Days as the form's lines: ``YYYY-MM-DD kind name``."""
    return "\n".join(f"{day.isoformat()} {kind} {name}".rstrip() for day, kind, name in days)


def _parse_days(text: str) -> list[CalendarDay]:
    """The form's lines as the API's ``CalendarDay`` list; a 422 naming every bad line."""
    days: list[CalendarDay] = []
    errors: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.split(maxsplit=2)
        if not parts:
            continue
        try:
            fields = dict(zip(("day", "kind", "name"), parts, strict=False))
            days.append(CalendarDay.model_validate(fields))
        except ValidationError as error:
            message = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in error.errors())
            # Which field is wrong, as a fault the page words in the reader's language.
            faults = [
                {"code": f"holiday-{e['loc'][0]}", "params": {}}
                for e in error.errors()
                if e["loc"] and e["loc"][0] in ("day", "kind", "name")
            ]
            errors.append({"line": number, "message": message, "faults": faults})
    if errors:
        raise Problem(
            422,
            "validation-error",
            "The request is not valid; see errors.",
            extra={"errors": errors},
        )
    return days


async def _year_page(
    request: Request[Any, Any, Any],
    conn: DbConnection,
    year: int,
    *,
    fill: str | None = None,
    done: str | None = None,
    problem: ProblemDetailsException | None = None,
    text: str | None = None,
) -> Template:
    entered = await calendar.get_year(conn, year)
    package = calendar.package_years().get(year)
    if text is None:
        if fill == "package" and package is not None:
            text = _days_text(package)
        else:
            text = _days_text((d.day, d.kind, d.name) for d in entered.days)
    return render(
        request,
        "admin/holiday_year.html",
        problem=problem,
        done=notice(request, _DONE, done),
        entered=entered,
        in_package=package is not None,
        filled=fill == "package" and package is not None,
        text=text,
        local=_local(request),
    )


class HolidayPages(Controller):
    path = HOLIDAYS
    include_in_schema = False
    guards = [ADMIN_ONLY]

    @get("/")
    async def years(
        self,
        request: Request[Any, Any, Any],
        conn: DbConnection,
        year: FromQuery[int | None] = None,
        done: FromQuery[str | None] = None,
    ) -> Template | Redirect:
        if year is not None:  # the "open a year" form
            return redirect(f"{HOLIDAYS}/{year}")
        covered = await calendar.calendar_status(conn)
        entered = {c.year for c in covered}
        missing = [y for y in calendar.package_years() if y not in entered]
        return render(
            request,
            "admin/holidays.html",
            done=notice(request, _DONE, done),
            covered=covered,
            missing=missing,
            next_year=utc_now().astimezone(request.app.state.settings.tz).year + 1,
            local=_local(request),
        )

    @get("/{year:int}")
    async def year(
        self,
        request: Request[Any, Any, Any],
        conn: DbConnection,
        year: Year,
        fill: FromQuery[str | None] = None,
        done: FromQuery[str | None] = None,
    ) -> Template:
        return await _year_page(request, conn, year, fill=fill, done=done)

    @post("/{year:int}")
    async def enter_year(
        self, request: Request[Any, Any, Any], data: Form, conn: DbConnection, year: Year
    ) -> Template | Redirect:
        text = str(data.get("days", ""))
        cancel = data.get("cancel_reservations") in ("on", "true", "1")

        async def enter() -> Any:
            return await calendar.replace_year(
                conn,
                year,
                _parse_days(text),
                cancel_reservations=cancel,
                settings=request.app.state.settings,
                now=utc_now(),
            )

        problem = await attempt_once(request, conn, enter)
        if problem is not None:
            return await _year_page(
                request, conn, year, problem=_shown(request, problem), text=text
            )
        return redirect(f"{HOLIDAYS}/{year}?done=saved")

    @post("/{year:int}/remove")
    async def remove_year(
        self, request: Request[Any, Any, Any], conn: DbConnection, year: Year
    ) -> Template | Redirect:
        async def remove() -> None:
            await calendar.uncover_year(
                conn, year, settings=request.app.state.settings, now=utc_now()
            )

        problem = await attempt_once(request, conn, remove)
        if problem is not None:
            return await _year_page(request, conn, year, problem=problem)
        return redirect(f"{HOLIDAYS}?done=removed")


ROUTES: list[Any] = [AccountPages, WhitelistPages, HolidayPages]
