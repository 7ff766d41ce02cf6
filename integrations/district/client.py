"""The signed HTTP client of the platform's API: one attempt per call, no retries of its own
(the relay decides what a failure means)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Any

import httpx

from integrations.district.signing import parse_secrets, signed_headers
from parking.settings import Settings

__all__ = ["DistrictClient", "encode", "entity_path"]

# A stalled platform must not hold a relay batch (and its row locks) for long.
_TIMEOUT = httpx.Timeout(5.0)


def encode(payload: Any) -> bytes:
    """The JSON bytes that are signed and sent (compact, UTF-8)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def entity_path(operator_id: str, kind: str, key: str) -> str:
    """The PUT path of an outbox message (PROTOCOL.md, operator -> platform)."""
    base = f"/v1/operators/{operator_id}"
    if kind == "place":
        return f"{base}/places/{key}"
    if kind == "rates":
        return f"{base}/places/{key}/rates"
    if kind == "availability":
        place_id, night = key.rsplit("/", 1)
        return f"{base}/places/{place_id}/availability/{night}"
    if kind == "reservation":
        return f"{base}/reservations/{key}"
    raise ValueError(f"unknown entity kind {kind!r}")


class DistrictClient:
    """Signed requests to the platform at ``base_url`` as operator ``operator_id``."""

    def __init__(
        self,
        base_url: str,
        operator_id: str,
        secret: str,
        *,
        max_connections: int = 32,
        timeout: httpx.Timeout = _TIMEOUT,
    ) -> None:
        # httpx logs every request at INFO; a relay catching up sends thousands.
        httpx_log = logging.getLogger("httpx")
        if httpx_log.level == logging.NOTSET:
            httpx_log.setLevel(logging.WARNING)
        self.operator_id = operator_id
        self._keys = parse_secrets(secret)
        # Requests beyond the connection limit wait here, not in httpx's pool, whose wait
        # would count against the timeout and fail messages the platform never saw.
        self._slots = asyncio.Semaphore(max_connections)
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            limits=httpx.Limits(max_connections=max_connections),
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> DistrictClient:
        if settings.district_url is None or settings.district_secret is None:
            raise ValueError("PARKING_DISTRICT_URL and PARKING_DISTRICT_SECRET must both be set")
        return cls(
            settings.district_url,
            settings.district_operator_id,
            settings.district_secret.get_secret_value(),
        )

    async def __aenter__(self) -> DistrictClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, method: str, path: str, body: bytes, webhook_id: str) -> httpx.Response:
        async with self._slots:
            # Signed when it goes out, so a wait for a slot never ages the timestamp.
            signed = signed_headers(self._keys, webhook_id, int(time.time()), body)
            headers = signed.as_dict(self.operator_id)
            if body:
                headers["content-type"] = "application/json"
            return await self._http.request(method, path, content=body, headers=headers)

    async def put(self, path: str, payload: Any, webhook_id: str) -> httpx.Response:
        """One attempt of a message; the same ``webhook_id`` on every retry of it."""
        return await self._send("PUT", path, encode(payload), webhook_id)

    async def put_entity(
        self, kind: str, key: str, payload: Any, webhook_id: str
    ) -> httpx.Response:
        return await self.put(entity_path(self.operator_id, kind, key), payload, webhook_id)

    async def get(self, path: str, params: dict[str, str] | None = None) -> httpx.Response:
        """A read; the signature covers the empty body."""
        if params:
            path = str(httpx.URL(path, params=params))
        return await self._send("GET", path, b"", str(uuid.uuid4()))

    async def get_json(self, path: str, params: dict[str, str] | None = None) -> Any | None:
        """The JSON of a read, None on 404; any other failure raises."""
        response = await self.get(path, params)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()
