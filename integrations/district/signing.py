"""Standard Webhooks signatures (v1, symmetric), as PROTOCOL.md requires in both directions.

``webhook-signature`` is ``v1,<base64 HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>``;
several space-separated signatures may be sent, and one valid one is enough, so a secret
can be rotated: sign with the new and the old one until the peer has the new one.
Signatures are compared in constant time; a timestamp more than 300 s from the
receiver's clock is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "TOLERANCE_S",
    "InvalidSignature",
    "SignedHeaders",
    "parse_secrets",
    "sign",
    "signed_headers",
    "verify",
]

TOLERANCE_S = 300
_PREFIX = "whsec_"


class InvalidSignature(Exception):
    """The request is not signed as it must be; the message says why (for logs, not users)."""


@dataclass(frozen=True, slots=True)
class SignedHeaders:
    webhook_id: str
    timestamp: int
    signature: str

    def as_dict(self, operator_id: str) -> dict[str, str]:
        return {
            "webhook-id": self.webhook_id,
            "webhook-timestamp": str(self.timestamp),
            "webhook-signature": self.signature,
            "x-operator-id": operator_id,
        }


def parse_secrets(configured: str) -> list[bytes]:
    """The keys of one or more space-separated ``whsec_<base64>`` secrets, first first."""
    keys = []
    for part in configured.split():
        encoded = part.removeprefix(_PREFIX)
        try:
            keys.append(base64.b64decode(encoded, validate=True))
        except ValueError as exc:
            raise ValueError("a district secret is whsec_ followed by base64") from exc
    if not keys:
        raise ValueError("no district secret given")
    return keys


def sign(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature."""
    message = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(
    keys: Sequence[bytes], webhook_id: str, timestamp: int, body: bytes
) -> SignedHeaders:
    """The headers of one attempt, signed with every key (rotation)."""
    signature = " ".join(sign(key, webhook_id, timestamp, body) for key in keys)
    return SignedHeaders(webhook_id, timestamp, signature)


def verify(keys: Sequence[bytes], headers: Mapping[str, str], body: bytes, now: float) -> str:
    """The webhook-id of a correctly signed request, or InvalidSignature.

    ``headers`` must look names up case-insensitively (as HTTP header mappings do).
    """
    webhook_id = headers.get("webhook-id") or ""
    stamp = headers.get("webhook-timestamp") or ""
    presented = headers.get("webhook-signature") or ""
    if not webhook_id or not stamp or not presented:
        raise InvalidSignature("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(stamp)
    except ValueError as exc:
        raise InvalidSignature("webhook-timestamp is not an integer") from exc
    if abs(now - timestamp) > TOLERANCE_S:
        raise InvalidSignature("webhook-timestamp is more than 300 s from our clock")
    candidates = [part.encode() for part in presented.split() if part.startswith("v1,")]
    expected = [sign(key, webhook_id, timestamp, body).encode() for key in keys]
    # Every pair is compared, so the time taken says nothing about which one matched.
    matched = False
    for candidate in candidates:
        for wanted in expected:
            matched |= hmac.compare_digest(candidate, wanted)
    if not matched:
        raise InvalidSignature("no valid signature")
    return webhook_id
