"""Prometheus metrics of one api process, and the request id every request carries.

Each app has its own registry (``app.state.metrics``), so processes and test apps never
share counters; every api replica exposes its own ``/metrics`` and Prometheus adds them up.
Labels name route templates (``/reservations/{reservation_id}``), methods, statuses and
problem types: never a plate, a phone, an id or a raw path.

What the database knows (outbox backlog, allocation runs) is read when ``/metrics`` is
scraped, with cheap queries on partial indexes, so it is true whichever process asks.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import time
import uuid
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from parking.errors import Problem
from parking.logs import request_id_var

__all__ = [
    "REQUEST_ID_HEADER",
    "Metrics",
    "MetricsController",
    "before_send",
    "observe_requests",
]

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
# What a caller may send as its own request id; anything else is replaced by a new one
# (it goes into every log line, so it must not smuggle text into them).
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

_BOOKING_ROUTE = ("POST", "/reservations")
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_SCOPE_START = "parking.started_at"
_SCOPE_STATUS = "parking.status"
_SCOPE_BODY = "parking.booking_body"
_SCOPE_REPLAYED = "parking.replayed"

# The backlog the relay still has to send, on the partial index ``outbox_pending_due``.
_OUTBOX_BACKLOG = """
SELECT count(*) AS pending,
       COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 AS oldest_age_s
FROM outbox WHERE status = 'pending'
"""
# The newest run that decided a night (a failed run has no figures: it is counted by
# status only; index ``allocation_runs_night`` orders a night's runs; the table has a
# row per night and run, so it stays small) and the count of runs by status.
_LATEST_ALLOCATION_RUN = """
SELECT status, requests, served, served_weight, walk_m, bound_served_weight,
       build_ms, solve_ms, write_ms, EXTRACT(EPOCH FROM finished_at)::float8 AS finished_s
FROM allocation_runs WHERE status <> 'failed' ORDER BY finished_at DESC, id DESC LIMIT 1
"""
_ALLOCATION_RUNS_BY_STATUS = "SELECT status, count(*) AS runs FROM allocation_runs GROUP BY status"


class Metrics:
    """The metrics of one app, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.request_duration = Histogram(
            "parking_http_request_duration_seconds",
            "Time from the request reaching the app to the last byte of its answer.",
            ["method", "route", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.bookings = Counter(
            "parking_bookings",
            "Answers to POST /reservations by outcome: booked, replayed, or the problem type.",
            ["outcome"],
            registry=r,
        )
        self.outbox_pending = Gauge(
            "parking_outbox_pending_messages",
            "Outbox messages not yet delivered to the district platform.",
            registry=r,
        )
        self.outbox_oldest_age = Gauge(
            "parking_outbox_oldest_pending_age_seconds",
            "Age of the oldest outbox message not yet delivered (0 when none is pending).",
            registry=r,
        )
        self.database_up = Gauge(
            "parking_metrics_database_up",
            "1 when the database answered this scrape's queries, else 0.",
            registry=r,
        )
        self.allocation_runs = Gauge(
            "parking_allocation_runs",
            "Night allocation runs recorded in the database, by status.",
            ["status"],
            registry=r,
        )
        self.allocation_phase = Gauge(
            "parking_allocation_last_run_phase_seconds",
            "Duration of each phase (build, solve, write) of the newest allocation run that "
            "decided a night (failed runs are only counted).",
            ["phase"],
            registry=r,
        )
        self.allocation_objective = Gauge(
            "parking_allocation_last_run_objective",
            "Objective of the newest allocation run that decided a night: served_weight, walk_m, "
            "bound_served_weight, requests, served.",
            ["term"],
            registry=r,
        )
        self.allocation_finished = Gauge(
            "parking_allocation_last_run_finished_timestamp_seconds",
            "When the newest allocation run that decided a night finished (Unix time).",
            registry=r,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.request_duration.labels(method, route, str(status)).observe(seconds)

    def count_booking(self, outcome: str) -> None:
        self.bookings.labels(outcome).inc()

    async def collect_from_database(self, pool: Any) -> None:
        """Read the gauges that live in the database; on failure mark the database down."""
        try:
            async with pool.acquire() as conn:
                backlog = await conn.fetchrow(_OUTBOX_BACKLOG)
                self.outbox_pending.set(backlog["pending"])
                self.outbox_oldest_age.set(backlog["oldest_age_s"])
                await self._collect_allocation(conn)
        except Exception as exc:  # a scrape must answer even when the database does not
            log.warning("metrics: database gauges unavailable (%s)", type(exc).__name__)
            self.database_up.set(0)
            return
        self.database_up.set(1)

    async def _collect_allocation(self, conn: Any) -> None:
        for row in await conn.fetch(_ALLOCATION_RUNS_BY_STATUS):
            self.allocation_runs.labels(row["status"]).set(row["runs"])
        latest = await conn.fetchrow(_LATEST_ALLOCATION_RUN)
        if latest is None:
            return
        for phase in ("build", "solve", "write"):
            ms = latest[f"{phase}_ms"]
            if ms is not None:
                self.allocation_phase.labels(phase).set(ms / 1000)
        for term in ("served_weight", "walk_m", "bound_served_weight", "requests", "served"):
            if latest[term] is not None:
                self.allocation_objective.labels(term).set(latest[term])
        self.allocation_finished.set(latest["finished_s"])

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def _ensure_request_id(scope: Scope) -> str:
    """The request's id: the caller's X-Request-ID when well-formed, else a new one."""
    current = request_id_var.get()
    if current is not None:
        return current
    incoming = _header(scope, b"x-request-id")
    request_id = (
        incoming if incoming and _VALID_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
    )
    request_id_var.set(request_id)
    return request_id


def observe_requests(app: ASGIApp) -> ASGIApp:
    """Outermost route middleware: sets the request id before anything logs, notes the start.

    Not reset afterwards on purpose: the exception handlers that log a crash run outside
    the middleware, in the same task, and each request is served in a task of its own.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            _ensure_request_id(scope)
            scope[_SCOPE_START] = time.perf_counter()  # type: ignore[literal-required]
        await app(scope, receive, send)

    return middleware


async def before_send(message: Message, scope: Scope) -> None:
    """Every answer, also the ones exception handlers send: echo the request id, and
    when the last byte goes, record the latency and, for a booking, its outcome."""
    if scope["type"] != "http":
        return
    if message["type"] == "http.response.start":
        request_id = _ensure_request_id(scope)
        message["headers"] = [
            *message.get("headers", []),
            (REQUEST_ID_HEADER.lower().encode(), request_id.encode()),
        ]
        scope[_SCOPE_STATUS] = message["status"]  # type: ignore[literal-required]
        if any(name.lower() == b"idempotent-replayed" for name, _ in message["headers"]):
            scope[_SCOPE_REPLAYED] = True  # type: ignore[literal-required]
        return
    if message["type"] != "http.response.body":
        return
    started = scope.get(_SCOPE_START)
    route = scope.get("path_template")
    if started is None or not route:
        return  # unmatched path: no route to label it with
    method = scope.get("method", "")
    is_booking = (method, route) == _BOOKING_ROUTE
    if is_booking:
        chunks = scope.setdefault(_SCOPE_BODY, [])  # type: ignore[misc]
        chunks.append(message.get("body", b""))
    if message.get("more_body", False):
        return
    metrics: Metrics = scope["app"].state.metrics
    status = scope.get(_SCOPE_STATUS, 500)
    metrics.observe(method, route, status, time.perf_counter() - started)
    if is_booking:
        replayed = scope.get(_SCOPE_REPLAYED, False)
        body = b"".join(scope[_SCOPE_BODY])
        metrics.count_booking("replayed" if replayed else _booking_outcome(status, body))


def _booking_outcome(status: int, body: bytes) -> str:
    if status == 201:
        return "booked"
    try:
        problem_type = json.loads(body).get("type")
    except (ValueError, AttributeError):
        problem_type = None
    if isinstance(problem_type, str) and re.fullmatch(r"[a-z0-9-]{1,64}", problem_type):
        return problem_type
    return f"status-{status}"


class MetricsController(Controller):
    path = "/metrics"
    include_in_schema = False

    @get("/", summary="Prometheus metrics of this process", cache=False)
    async def metrics(self, request: Request[Any, Any, Any], state: State) -> Response[bytes]:
        token = state.settings.metrics_token
        if token is not None:
            scheme, _, given = (request.headers.get("authorization") or "").partition(" ")
            expected = token.get_secret_value().encode()
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected):
                raise Problem(
                    401,
                    "unauthorized",
                    "Metrics need the scrape token: Authorization: Bearer <PARKING_METRICS_TOKEN>.",
                    headers={"WWW-Authenticate": "Bearer"},
                )
        metrics: Metrics = state.metrics
        await metrics.collect_from_database(state.pool)
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
