"""Standard Webhooks signatures: the scheme's own arithmetic, rotation, tolerance."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from integrations.district.signing import (
    InvalidSignature,
    parse_secrets,
    sign,
    signed_headers,
    verify,
)

KEY = b"0123456789abcdef0123456789abcdef"
SECRET = "whsec_" + base64.b64encode(KEY).decode()
OTHER = "whsec_" + base64.b64encode(b"another key, rotated out or in").decode()


def _headers(webhook_id: str, timestamp: int, body: bytes, secret: str = SECRET) -> dict:
    signed = signed_headers(parse_secrets(secret), webhook_id, timestamp, body)
    return signed.as_dict("op-1")


def test_signature_is_hmac_sha256_of_id_timestamp_and_body_in_base64() -> None:
    expected = base64.b64encode(
        hmac.new(KEY, b'msg_1.1700000000.{"a":1}', hashlib.sha256).digest()
    ).decode()
    assert sign(KEY, "msg_1", 1700000000, b'{"a":1}') == f"v1,{expected}"


def test_a_correct_signature_gives_the_webhook_id() -> None:
    headers = _headers("msg_1", 1000, b"{}")
    assert verify(parse_secrets(SECRET), headers, b"{}", now=1000) == "msg_1"


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"body": b'{"a":2}'}, "another body"),
        ({"webhook-id": "msg_2"}, "another id"),
        ({"webhook-timestamp": "1001"}, "another timestamp"),
        ({"webhook-signature": "v1,AAAA"}, "a wrong signature"),
        ({"webhook-signature": ""}, "no signature"),
        ({"webhook-id": ""}, "no id"),
    ],
)
def test_anything_changed_after_signing_is_refused(change: dict, why: str) -> None:
    body = b'{"a":1}'
    headers = _headers("msg_1", 1000, body)
    body = change.pop("body", body)
    headers.update(change)
    with pytest.raises(InvalidSignature):
        verify(parse_secrets(SECRET), headers, body, now=1000)


def test_timestamps_more_than_300_s_away_are_refused_either_way() -> None:
    keys = parse_secrets(SECRET)
    for stamp, ok in ((700, True), (699, False), (1300, True), (1301, False)):
        headers = _headers("m", stamp, b"")
        if ok:
            assert verify(keys, headers, b"", now=1000) == "m"
        else:
            with pytest.raises(InvalidSignature):
                verify(keys, headers, b"", now=1000)


def test_rotation_one_valid_signature_among_several_is_enough() -> None:
    # The sender signs with the new and the old secret; a receiver knowing either accepts.
    headers = _headers("m", 1000, b"x", secret=f"{OTHER} {SECRET}")
    assert len(headers["webhook-signature"].split()) == 2
    assert verify(parse_secrets(SECRET), headers, b"x", now=1000) == "m"
    assert verify(parse_secrets(OTHER), headers, b"x", now=1000) == "m"
    # A receiver holding both accepts a sender that has only one.
    single = _headers("m", 1000, b"x", secret=OTHER)
    assert verify(parse_secrets(f"{SECRET} {OTHER}"), single, b"x", now=1000) == "m"
    third = "whsec_" + base64.b64encode(b"neither of them").decode()
    with pytest.raises(InvalidSignature):
        verify(parse_secrets(third), headers, b"x", now=1000)


def test_a_secret_that_is_not_base64_is_refused() -> None:
    with pytest.raises(ValueError, match="base64"):
        parse_secrets("whsec_not base64!")


def test_the_reference_implementation_and_ours_accept_each_others_signatures() -> None:
    import datetime as dt
    import time

    from standardwebhooks import Webhook

    reference = Webhook(SECRET)
    body = '{"place_id":"b-1","night":"2026-11-28","version":3}'
    now = int(time.time())
    ours = _headers("msg_interop", now, body.encode())
    assert reference.verify(body, ours) == {"place_id": "b-1", "night": "2026-11-28", "version": 3}
    theirs = reference.sign("msg_interop", dt.datetime.fromtimestamp(now, dt.UTC), body)
    headers = {
        "webhook-id": "msg_interop",
        "webhook-timestamp": str(now),
        "webhook-signature": theirs,
    }
    assert theirs == ours["webhook-signature"]
    assert verify(parse_secrets(SECRET), headers, body.encode(), now=now) == "msg_interop"
