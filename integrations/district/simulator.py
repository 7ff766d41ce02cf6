"""A runnable district platform (the other side of PROTOCOL.md), for local runs and tests.

It stores what operators send, enforces signatures, the operator id and versions (409
``stale-version``), answers the GET paths, keeps the answer to each webhook-id, and can
book, cancel and send events to the operator, signed. Fault switches make it answer a
fraction of requests 500, answer 429/503 with ``Retry-After``, stall, drop connections
for a period (down), and deliver its own requests twice. State, log and switches are
read and set over HTTP under ``/sim/``:

- ``GET /sim/state``: places, rates, availability and reservations as held;
- ``GET /sim/log?since=N``: accepted PUTs in order (kind, key, version, unix time);
- ``GET|PUT /sim/switches``: the fault switches (PUT sets the fields it names);
- ``POST /sim/reset``: forget everything, switches off;
- ``POST /sim/book`` (a Booking), ``POST /sim/cancel/{platform_reservation_id}``,
  ``POST /sim/events`` (an Event): sent to the operator; the answer is
  ``{"status": ..., "body": ..., "deliveries": n}``.

A stdlib threading server: it runs in its own thread (tests) or process
(``parking district-sim``), never on a caller's event loop.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import re
import threading
import time
import uuid
from collections import Counter
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx

from integrations.district.client import encode
from integrations.district.signing import InvalidSignature, parse_secrets, signed_headers, verify

__all__ = ["PlatformSimulator", "Switches"]

_TZ = ZoneInfo("Asia/Shanghai")
_FIELDS = {
    "place": ("place_id", "name", "lat", "lon", "shared_spaces", "status", "version"),
    "rates": ("place_id", "mode", "currency", "version"),
    "availability": ("place_id", "night", "window", "capacity", "free", "version"),
    "reservation": (
        "reservation_id", "place_id", "plate", "start", "end", "status", "fee_fen", "version",
    ),
}  # fmt: skip
_ROUTES = [
    ("reservation", re.compile(r"^/v1/operators/([^/]+)/reservations/([^/]+)$")),
    ("rates", re.compile(r"^/v1/operators/([^/]+)/places/([^/]+)/rates$")),
    ("availability", re.compile(r"^/v1/operators/([^/]+)/places/([^/]+)/availability/([^/]+)$")),
    ("place", re.compile(r"^/v1/operators/([^/]+)/places/([^/]+)$")),
    ("places", re.compile(r"^/v1/operators/([^/]+)/places$")),
    ("reservations", re.compile(r"^/v1/operators/([^/]+)/reservations$")),
]


@dataclasses.dataclass
class Switches:
    """Faults the simulator injects into the protocol paths (``/v1/...``)."""

    fail_fraction: float = 0.0
    """Fraction of requests answered 500."""
    throttle_status: int | None = None
    """429 or 503: answer ``throttle_fraction`` of requests so, with ``retry_after``."""
    throttle_fraction: float = 0.0
    retry_after: str = "1"
    """Seconds or an HTTP date."""
    stall_s: float = 0.0
    """Wait this long before answering ``stall_fraction`` of requests."""
    stall_fraction: float = 0.0
    down_until: float = 0.0
    """Unix time until which every connection is dropped unanswered."""
    duplicate_fraction: float = 0.0
    """Fraction of the simulator's own requests to the operator delivered twice."""


def _problem(status: int, type_: str, detail: str) -> tuple[int, dict[str, Any]]:
    return status, {
        "type": type_,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }


class PlatformSimulator:
    """The platform's state and behaviour; ``start()`` serves it on ``host:port``."""

    def __init__(
        self,
        *,
        secret: str,
        operator_id: str = "op-local",
        operator_url: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.keys = parse_secrets(secret)
        self.operator_id = operator_id
        self.operator_url = operator_url
        self.switches = Switches()
        self._lock = threading.Lock()
        self._reset()
        self._server = _Server((host, port), _handler_for(self))
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> PlatformSimulator:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def _reset(self) -> None:
        self.places: dict[str, dict] = {}
        self.rates: dict[str, dict] = {}
        self.availability: dict[str, dict] = {}  # "place/night"
        self.reservations: dict[str, dict] = {}
        self.answers: dict[str, tuple[int, dict | None]] = {}
        self.log: list[dict[str, Any]] = []
        self.requests = 0
        self.deliveries: Counter[str] = Counter()  # PUT attempts per webhook-id

    def reset(self) -> None:
        with self._lock:
            self._reset()
            self.switches = Switches()

    def state(self) -> dict[str, Any]:
        with self._lock:
            return json.loads(
                json.dumps(
                    {
                        "places": self.places,
                        "rates": self.rates,
                        "availability": self.availability,
                        "reservations": self.reservations,
                        "requests": self.requests,
                    }
                )
            )

    def set_switches(self, values: dict[str, Any]) -> Switches:
        names = {f.name for f in dataclasses.fields(Switches)}
        unknown = set(values) - names
        if unknown:
            raise ValueError(f"unknown switches: {sorted(unknown)}")
        with self._lock:
            self.switches = dataclasses.replace(self.switches, **values)
            return self.switches

    # ------------------------------------------------------------ operator -> platform

    def _fault(self) -> tuple[str, Any] | None:
        """The fault to inject into this request, if any: ('drop'|'answer'|'stall', ...)."""
        s = self.switches
        if time.time() < s.down_until:
            return "drop", None
        if s.stall_s and random.random() < s.stall_fraction:
            time.sleep(s.stall_s)
        if s.fail_fraction and random.random() < s.fail_fraction:
            return "answer", (*_problem(500, "internal-error", "Injected failure."), {})
        if s.throttle_status and random.random() < s.throttle_fraction:
            status, body = _problem(s.throttle_status, "rate-limited", "Injected throttling.")
            return "answer", (status, body, {"Retry-After": s.retry_after})
        return None

    def handle_protocol(
        self, method: str, path: str, query: str, headers: Any, body: bytes
    ) -> tuple[int, dict | None]:
        """One request on a ``/v1`` path, after faults: authenticate, dedupe, act."""
        route = next(((name, m) for name, rx in _ROUTES if (m := rx.match(path))), None)
        if route is None:
            return _problem(404, "not-found", "No such path.")
        name, match = route
        if match.group(1) != self.operator_id or headers.get("x-operator-id") != self.operator_id:
            return _problem(401, "unauthorized", "Unknown operator.")
        try:
            webhook_id = verify(self.keys, headers, body, time.time())
        except InvalidSignature as exc:
            return _problem(401, "invalid-signature", str(exc))
        with self._lock:
            self.requests += 1
            if method == "GET":
                return self._read(name, match, parse_qs(query))
            if method != "PUT" or name in ("places", "reservations"):
                return _problem(405, "method-not-allowed", "Not allowed here.")
            self.deliveries[webhook_id] += 1
            if webhook_id in self.answers:
                return self.answers[webhook_id]
            answer = self._store(name, match, body)
            if answer[0] < 500 and answer[0] != 429:
                self.answers[webhook_id] = answer
            return answer

    def _store(self, kind: str, match: re.Match, body: bytes) -> tuple[int, dict | None]:
        try:
            payload = json.loads(body)
        except ValueError:
            return _problem(400, "bad-request", "The body is not JSON.")
        if not isinstance(payload, dict) or any(f not in payload for f in _FIELDS[kind]):
            return _problem(422, "validation-error", f"A {kind} needs {', '.join(_FIELDS[kind])}.")
        if not isinstance(payload["version"], int) or payload["version"] < 1:
            return _problem(422, "validation-error", "version must be a positive integer.")
        if kind == "reservation":
            key, held = match.group(2), self.reservations
            same = payload["reservation_id"] == key
        elif kind == "availability":
            key, held = f"{match.group(2)}/{match.group(3)}", self.availability
            same = payload["place_id"] == match.group(2) and payload["night"] == match.group(3)
        else:
            key = match.group(2)
            held = self.places if kind == "place" else self.rates
            same = payload["place_id"] == key
        if not same:
            return _problem(422, "validation-error", "The body names another entity than the path.")
        current = held.get(key)
        if current is not None and payload["version"] <= current["version"]:
            return _problem(
                409, "stale-version", f"Version {current['version']} of this {kind} is held."
            )
        held[key] = payload
        self.log.append(
            {"kind": kind, "key": key, "version": payload["version"], "at": time.time()}
        )
        return 200, payload

    def _read(self, name: str, match: re.Match, query: dict[str, list[str]]):
        if name == "places":
            return 200, {"items": sorted(self.places.values(), key=lambda p: p["place_id"])}
        if name == "rates":
            found = self.rates.get(match.group(2))
            return (200, found) if found else _problem(404, "not-found", "No rates held.")
        if name == "availability":
            found = self.availability.get(f"{match.group(2)}/{match.group(3)}")
            return (200, found) if found else _problem(404, "not-found", "No availability held.")
        if name == "reservations":
            night = (query.get("night") or [None])[0]
            items = [
                r for r in self.reservations.values() if night is None or self._night_of(r) == night
            ]
            return 200, {"items": sorted(items, key=lambda r: r["reservation_id"])}
        return _problem(405, "method-not-allowed", "Reads only on collection paths.")

    def _night_of(self, reservation: dict) -> str:
        """The night whose window holds the start (PROTOCOL.md), from the windows held."""
        start = dt.datetime.fromisoformat(reservation["start"])
        for key, availability in self.availability.items():
            window = availability.get("window")
            if not key.startswith(reservation["place_id"] + "/") or not window:
                continue
            if (
                dt.datetime.fromisoformat(window["start"])
                <= start
                < dt.datetime.fromisoformat(window["end"])
            ):
                return availability["night"]
        local = start.astimezone(_TZ)
        return (local.date() - dt.timedelta(days=1 if local.hour < 12 else 0)).isoformat()

    # ------------------------------------------------------------ platform -> operator

    def send(self, path: str, payload: Any) -> dict[str, Any]:
        """POST a signed request to the operator (twice, when the switch says so)."""
        if self.operator_url is None:
            raise ValueError("the simulator was started without an operator URL")
        body = encode(payload)
        webhook_id = f"msg_{uuid.uuid4().hex}"
        deliveries = 2 if random.random() < self.switches.duplicate_fraction else 1
        answers = []
        with httpx.Client(base_url=self.operator_url, timeout=10) as http:
            for _ in range(deliveries):
                signed = signed_headers(self.keys, webhook_id, int(time.time()), body)
                headers = {**signed.as_dict(self.operator_id), "content-type": "application/json"}
                response = http.post(path, content=body, headers=headers)
                answers.append(response)
        last = answers[-1]
        return {
            "status": last.status_code,
            "body": last.json() if last.content else None,
            "deliveries": deliveries,
            "webhook_id": webhook_id,
            "statuses": [a.status_code for a in answers],
        }

    def book(self, booking: dict[str, Any]) -> dict[str, Any]:
        return self.send("/integrations/district/reservations", booking)

    def cancel(self, platform_reservation_id: str, reason: str = "") -> dict[str, Any]:
        return self.send(
            f"/integrations/district/reservations/{platform_reservation_id}/cancel",
            {"reason": reason},
        )

    def event(self, event: dict[str, Any]) -> dict[str, Any]:
        return self.send("/integrations/district/events", event)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # A relay opens dozens of connections at once; the default backlog (5) drops the
    # rest's SYNs, which costs them a second each.
    request_queue_size = 256


def _handler_for(sim: PlatformSimulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out as two writes; with Nagle on, the body waits for the
        # client's delayed ACK (~40 ms a request on keep-alive connections).
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _body(self) -> bytes:
            length = int(self.headers.get("content-length") or 0)
            return self.rfile.read(length) if length else b""

        def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = b"" if body is None else encode(body)
            self.send_response(status)
            media = "application/problem+json" if status >= 400 else "application/json"
            self.send_header("content-type", media)
            self.send_header("content-length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _dispatch(self, method: str) -> None:
            url = urlsplit(self.path)
            body = self._body()
            if url.path.startswith("/sim/"):
                self._control(method, url.path, url.query, body)
                return
            fault = sim._fault()
            if fault is not None:
                kind, detail = fault
                if kind == "drop":
                    self.close_connection = True
                    return  # no answer at all: the client sees a dropped connection
                status, problem, headers = detail
                self._answer(status, problem, headers)
                return
            status, answer = sim.handle_protocol(method, url.path, url.query, self.headers, body)
            self._answer(status, answer)

        def _control(self, method: str, path: str, query: str, body: bytes) -> None:
            try:
                data = json.loads(body) if body else None
                if method == "GET" and path == "/sim/state":
                    self._answer(200, sim.state())
                elif method == "GET" and path == "/sim/health":
                    self._answer(200, {"status": "ok"})
                elif method == "GET" and path == "/sim/log":
                    since = int((parse_qs(query).get("since") or ["0"])[0])
                    with sim._lock:
                        self._answer(200, {"items": sim.log[since:], "total": len(sim.log)})
                elif method == "GET" and path == "/sim/switches":
                    self._answer(200, dataclasses.asdict(sim.switches))
                elif method == "PUT" and path == "/sim/switches":
                    self._answer(200, dataclasses.asdict(sim.set_switches(data or {})))
                elif method == "POST" and path == "/sim/reset":
                    sim.reset()
                    self._answer(200, {"status": "reset"})
                elif method == "POST" and path == "/sim/book":
                    self._answer(200, sim.book(data))
                elif method == "POST" and path.startswith("/sim/cancel/"):
                    reason = (data or {}).get("reason", "")
                    self._answer(200, sim.cancel(path.removeprefix("/sim/cancel/"), reason))
                elif method == "POST" and path == "/sim/events":
                    self._answer(200, sim.event(data))
                else:
                    self._answer(*_problem(404, "not-found", "No such control path."))
            except (ValueError, TypeError, httpx.HTTPError) as exc:
                self._answer(*_problem(422, "validation-error", str(exc)))

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_PUT(self) -> None:
            self._dispatch("PUT")

        def do_POST(self) -> None:
            self._dispatch("POST")

    return Handler
