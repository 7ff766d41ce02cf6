"""Logs: JSON lines with a request id on every line of a request, and plates and phones
masked wherever they appear in a record."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import httpx
import pytest

from parking.logs import JsonFormatter, MaskingFilter, RequestIdFilter, request_id_var
from tests.operations.support import free_port, start_api, stop, wait_healthy

pytestmark = pytest.mark.timeout(120)


def _logger(name: str, formatter: logging.Formatter) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(MaskingFilter())
    handler.setFormatter(formatter)
    logger = logging.getLogger(name)
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_plates_and_phones_are_masked_in_message_arguments_extras_and_tracebacks() -> None:
    logger, stream = _logger("tests.operations.masking", JsonFormatter())
    try:
        raise ValueError("vehicle 粤B12345 of 13800138000 refused")
    except ValueError:
        logger.exception(
            "gate entry for %s (owner %s), new-energy %s",
            "粤B12345",
            "+86 13912345678",
            "沪AD12345",
            extra={"plate": "京A·12345", "phone": "13700001111"},
        )
    line = stream.getvalue().strip()
    record = json.loads(line)
    assert (
        record["message"] == "gate entry for 粤B***45 (owner +86********5678), new-energy 沪A****45"
    )
    assert record["plate"] == "京A****45"
    assert record["phone"] == "137****1111"
    assert "粤B***45" in record["exception"] and "138****8000" in record["exception"]
    for raw in ("12345", "13800138000", "13912345678", "13700001111"):
        assert raw not in line
    assert (record["level"], record["logger"]) == ("ERROR", "tests.operations.masking")


def test_numbers_that_are_not_phones_are_left_alone() -> None:
    logger, stream = _logger("tests.operations.numbers", JsonFormatter())
    text = "booking 12345678901 took 138 ms; order 2013800138000; request 1f15113800138000ab"
    logger.info(text)
    assert json.loads(stream.getvalue())["message"] == text


def test_a_record_carries_the_current_request_id_in_both_formats() -> None:
    json_logger, json_stream = _logger("tests.operations.rid-json", JsonFormatter())
    text_logger, text_stream = _logger(
        "tests.operations.rid-text", logging.Formatter("[%(request_id)s] %(message)s")
    )
    token = request_id_var.set("req-42")
    try:
        json_logger.info("inside")
        text_logger.info("inside")
    finally:
        request_id_var.reset(token)
    json_logger.info("outside")
    first, second = (json.loads(line) for line in json_stream.getvalue().splitlines())
    assert (first["request_id"], second["request_id"]) == ("req-42", None)
    assert text_stream.getvalue() == "[req-42] inside\n"


async def test_every_line_of_a_request_carries_its_id_which_the_answer_echoes(
    db_dsn: str, tmp_path: Path
) -> None:
    # A Redis nobody listens on: the rate limiter logs its fallback inside the request.
    api = start_api(db_dsn, tmp_path, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    try:
        await wait_healthy(api)
        async with httpx.AsyncClient(base_url=api.url, timeout=10) as client:
            mine = await client.post(
                "/auth/token",
                json={"email": "nobody@example.com", "password": "wrong-password"},
                headers={"X-Request-ID": "trace-7f3a"},
            )
            generated = await client.get("/health")
            forged = await client.get("/health", headers={"X-Request-ID": "bad id <b>"})
    finally:
        stop(api.proc)
    assert mine.status_code == 401
    assert mine.headers["x-request-id"] == "trace-7f3a"
    new_id = generated.headers["x-request-id"]
    assert len(new_id) == 32
    assert forged.headers["x-request-id"] not in ("bad id <b>", new_id)

    lines = api.lines()
    during = [r for r in lines if r["request_id"] == "trace-7f3a"]
    messages = " | ".join(r["message"] for r in during)
    assert any(r["logger"] == "parking.ratelimit" for r in during), messages
    assert any(r["logger"] == "uvicorn.access" and "/auth/token" in r["message"] for r in during)
    assert any(r["request_id"] == new_id and r["logger"] == "uvicorn.access" for r in lines)
    # Lines outside any request (start-up, shutdown) carry none.
    assert any(r["request_id"] is None and "Uvicorn running" in r["message"] for r in lines)
