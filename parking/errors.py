"""Every error as RFC 9457 problem details, each kind with a stable ``type``.

This is the one place where exceptions become HTTP answers: framework errors,
validation errors, database constraint violations (409) and crashes (500).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import asyncpg
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import ResponseSpec
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)

from parking.windows import CalendarMissing

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "Problem",
    "exception_handlers",
    "problem_details_plugin",
    "problem_responses",
    "to_problem",
]

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"


def problem_responses(descriptions: dict[int, str]) -> dict[int, ResponseSpec]:
    """The problem types an endpoint may answer, by status, for the API schema."""
    return {
        status: ResponseSpec(None, description=text, media_type=PROBLEM_MEDIA_TYPE)
        for status, text in descriptions.items()
    }


# Stable problem types by status, for errors that carry no more specific one.
_TYPE_BY_STATUS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    429: "rate-limited",
    500: "internal-error",
    503: "service-unavailable",
}

# Constraint names whose violation deserves its own type and words.
_CONSTRAINT_PROBLEMS: dict[str, tuple[str, str]] = {
    "users_email_key": ("email-taken", "An account with this email already exists."),
    "buildings_district_place_id_key": ("place-id-taken", "This district place id is in use."),
    "spaces_building_label_key": ("space-label-taken", "This building already has that label."),
    "compounds_name_key": ("compound-name-taken", "A compound with this name already exists."),
    "residencies_whitelist_key": (
        "residence-taken",
        "Another account is verified for this residence.",
    ),
    "residencies_pkey": ("already-verified", "This account is already verified."),
    "vehicles_plate_key": ("plate-taken", "This plate is already registered."),
    "passes_plate_building_month": (
        "pass-exists",
        "This vehicle already has a pass at this building for that month.",
    ),
    "gate_sessions_open": ("session-open", "This car is already inside the building."),
    "reservations_space_no_overlap": ("space-taken", "That space is taken for that time."),
    "reservations_plate_no_overlap": (
        "vehicle-busy",
        "This vehicle already has a reservation that overlaps that time.",
    ),
    # A space deleted while a reservation names it (the check before the delete raced).
    "reservations_space_id_fkey": (
        "space-has-history",
        "This space has reservations on record; unshare it instead.",
    ),
}


class Problem(ProblemDetailsException):
    """An error the service raises on purpose: ``Problem(409, "no-capacity", "...")``."""

    def __init__(
        self,
        status: int,
        type_: str,
        detail: str,
        *,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            detail=detail,
            status_code=status,
            type_=type_,
            title=title or HTTPStatus(status).phrase,
            headers=headers,
            extra=extra,
        )


def _respond(request: Request, problem: ProblemDetailsException) -> Response:
    problem.instance = problem.instance or request.url.path
    return problem.to_response(request)


def _from_http_exception(exc: HTTPException) -> ProblemDetailsException:
    if isinstance(exc, ProblemDetailsException):
        return exc
    status = exc.status_code
    extra: dict[str, Any] | None = None
    if isinstance(exc, ValidationException):
        # Litestar says 400 for any invalid input; we say 422 with the field list.
        status = 422
        errors = exc.extra if isinstance(exc.extra, list) else []
        extra = {"errors": [_field_error(e) for e in errors]}
        detail = "The request is not valid; see errors."
    else:
        detail = exc.detail or HTTPStatus(status).phrase
        if status >= 500:
            detail = HTTPStatus(status).phrase
    return Problem(
        status, _TYPE_BY_STATUS.get(status, "http-error"), detail, headers=exc.headers, extra=extra
    )


def _field_error(error: Any) -> dict[str, Any]:
    if isinstance(error, dict):
        return {
            "field": error.get("key") or error.get("source") or "",
            "message": str(error.get("message", "")),
        }
    return {"field": "", "message": str(error)}


def _from_integrity_error(exc: asyncpg.IntegrityConstraintViolationError) -> Problem:
    constraint = getattr(exc, "constraint_name", None) or ""
    type_, detail = _CONSTRAINT_PROBLEMS.get(
        constraint, ("conflict", "The request conflicts with the current state.")
    )
    return Problem(409, type_, detail, extra={"constraint": constraint} if constraint else None)


def _from_calendar_missing(exc: CalendarMissing) -> Problem:
    detail = (
        f"The holiday calendar for {exc.year} has not been entered; an admin must enter "
        f"that year's official calendar before its working days and rest days are known."
    )
    return Problem(409, "calendar-missing", detail, extra={"year": exc.year})


def _from_data_error(exc: asyncpg.DataError) -> Problem:
    # asyncpg refuses, before sending, a parameter PostgreSQL cannot hold (an id or offset
    # past bigint): the request's value is out of range, not the server broken. Any other
    # data exception (division by zero, a bad cast in our SQL) is a bug: a 500.
    if str(exc).startswith("invalid input for query argument"):
        return Problem(422, "validation-error", "A value in the request is out of range.")
    return _crash()


def _from_database_unavailable(exc: Exception) -> Problem:
    log.warning("database unavailable: %s", type(exc).__name__)
    return Problem(
        503,
        "database-unavailable",
        "The database cannot be reached; try again shortly.",
        headers={"Retry-After": "2"},
    )


def _crash() -> Problem:
    return Problem(500, "internal-error", "The server failed; this was logged.")


_DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.exceptions.OperatorInterventionError,  # 57P: shutdown, terminated, starting up
    asyncpg.exceptions.InvalidCatalogNameError,  # the database is gone
    asyncpg.exceptions.InvalidAuthorizationSpecificationError,  # login refused
    asyncpg.TooManyConnectionsError,
    asyncpg.InterfaceError,
    ConnectionError,
    OSError,
)


def to_problem(exc: Exception, where: str = "") -> ProblemDetailsException:
    """The problem an exception answers as; a crash is logged here (``where``: the request).

    The API sends it as problem+json (``exception_handlers``); the web pages render it.
    """
    if isinstance(exc, HTTPException):
        return _from_http_exception(exc)
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return _from_integrity_error(exc)
    if isinstance(exc, CalendarMissing):
        return _from_calendar_missing(exc)
    if isinstance(exc, OverflowError):
        # Date arithmetic past year 9999 on a date the request gave (the night after
        # 9999-12-31): the request is out of range, not the server broken.
        return Problem(422, "validation-error", "A date or number in the request is out of range.")
    if isinstance(exc, asyncpg.DataError):
        if str(exc).startswith("invalid input for query argument"):
            return _from_data_error(exc)
    elif isinstance(exc, _DATABASE_UNAVAILABLE):
        return _from_database_unavailable(exc)
    log.error("unhandled error on %s", where or "a request", exc_info=exc)
    return _crash()


def _handle(request: Request, exc: Exception) -> Response:
    return _respond(request, to_problem(exc, f"{request.method} {request.url.path}"))


def problem_details_plugin() -> ProblemDetailsPlugin:
    # Our HTTPException handler converts the framework's errors; the plugin handles
    # the problems we raise ourselves, filling in ``instance``.
    return ProblemDetailsPlugin(ProblemDetailsConfig(exception_handler=_respond))


def exception_handlers() -> dict[type[Exception] | int, Any]:
    """Handlers for ``Litestar(exception_handlers=...)``: every exception goes through
    ``to_problem``, which knows the specific kinds; the most specific class wins."""
    return {Exception: _handle}
