"""The simulator keeps the platform's rules (versions, signatures, operator, one answer per
webhook-id), and its state and switches are read and set over HTTP."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from integrations.district.client import encode
from integrations.district.signing import parse_secrets, signed_headers
from integrations.district.simulator import PlatformSimulator
from tests.district.conftest import OPERATOR, SECRET

PLACE = {
    "place_id": "b-1", "name": "P1", "address": "", "lat": 22.5, "lon": 114.1,
    "timezone": "Asia/Shanghai", "shared_spaces": 3, "features": {}, "status": "active",
}  # fmt: skip


def _put(http: httpx.Client, path: str, body: dict, *, webhook_id: str | None = None,
         secret: str = SECRET, operator: str = OPERATOR) -> httpx.Response:  # fmt: skip
    raw = encode(body)
    headers = signed_headers(
        parse_secrets(secret), webhook_id or str(uuid.uuid4()), int(time.time()), raw
    ).as_dict(operator)
    return http.put(path, content=raw, headers=headers)


def test_versions_signatures_and_replays(sim: PlatformSimulator) -> None:
    path = f"/v1/operators/{OPERATOR}/places/b-1"
    with httpx.Client(base_url=sim.url) as http:
        assert _put(http, path, {**PLACE, "version": 2}).status_code == 200
        stale = _put(http, path, {**PLACE, "name": "older", "version": 1})
        assert stale.status_code == 409 and stale.json()["type"] == "stale-version"
        assert _put(http, path, {**PLACE, "version": 2}).status_code == 409
        wrong_entity = _put(http, path, {**PLACE, "place_id": "b-2", "version": 3})
        assert wrong_entity.status_code == 422
        assert _put(http, path, {"place_id": "b-1", "version": 3}).status_code == 422
        import base64

        other = "whsec_" + base64.b64encode(b"not the shared secret").decode()
        assert _put(http, path, {**PLACE, "version": 3}, secret=other).status_code == 401
        assert _put(http, path, {**PLACE, "version": 3}, operator="op-x").status_code == 401
        first = _put(http, path, {**PLACE, "name": "new", "version": 3}, webhook_id="w-1")
        again = _put(http, path, {**PLACE, "name": "new", "version": 3}, webhook_id="w-1")
        assert first.status_code == again.status_code == 200
        assert sim.deliveries["w-1"] == 2
        assert [(e["key"], e["version"]) for e in sim.log] == [("b-1", 2), ("b-1", 3)]


def test_state_and_switches_over_http(sim: PlatformSimulator) -> None:
    path = f"/v1/operators/{OPERATOR}/places/b-1"
    with httpx.Client(base_url=sim.url) as http:
        _put(http, path, {**PLACE, "version": 1})
        state = http.get("/sim/state").json()
        assert state["places"]["b-1"]["version"] == 1
        switched = http.put("/sim/switches", json={"fail_fraction": 1.0})
        assert switched.status_code == 200 and switched.json()["fail_fraction"] == 1.0
        assert _put(http, path, {**PLACE, "version": 2}).status_code == 500
        http.put("/sim/switches", json={"fail_fraction": 0, "throttle_status": 429,
                                        "throttle_fraction": 1.0, "retry_after": "9"})  # fmt: skip
        throttled = _put(http, path, {**PLACE, "version": 2})
        assert throttled.status_code == 429 and throttled.headers["retry-after"] == "9"
        assert http.put("/sim/switches", json={"nonsense": 1}).status_code == 422
        http.put("/sim/switches", json={"down_until": time.time() + 60})
        with pytest.raises(httpx.TransportError):  # dropped without an answer
            _put(http, path, {**PLACE, "version": 2})
        assert http.post("/sim/reset").status_code == 200
        assert http.get("/sim/state").json()["places"] == {}
        assert _put(http, path, {**PLACE, "version": 1}).status_code == 200
