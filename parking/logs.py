"""Process logging: JSON lines or text, a request id on every line, plates and phones masked.

``configure_logging`` is called once by whoever starts a process (the ``parking`` command).
Every handler it installs carries two filters: one that stamps the current request id
(``request_id_var``, set by the HTTP middleware) on the record, and one that masks anything
shaped like a Chinese plate or mobile number in the message, its arguments and its
traceback. Masking happens before formatting, so no formatter can print the raw value.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import sys
from typing import Any, Literal

from parking.plates import PROVINCES, mask_phone, mask_plate

__all__ = [
    "JsonFormatter",
    "LogFormat",
    "MaskingFilter",
    "RequestIdFilter",
    "configure_logging",
    "mask_sensitive",
    "request_id_var",
]

LogFormat = Literal["json", "text"]

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "parking_request_id", default=None
)
"""The id of the HTTP request being served in this task, if any."""

# A plate as typed or stored: province, authority letter, optional separator, then five or
# six serial characters (the last may be a suffix such as 挂). Looser than parse_plate on
# purpose: masking a near-plate costs nothing, printing a plate is a leak.
_PLATE = re.compile(
    rf"[{PROVINCES}][A-Za-zＡ-Ｚａ-ｚ][\s·•.\-]?[0-9A-Za-zＡ-Ｚａ-ｚ０-９]{{4,5}}[0-9A-Za-z挂学警港澳]"
)
# A mainland mobile number, optionally with +86, not inside a longer word of letters and
# digits (a request id or a hash that happens to hold eleven such digits stays whole).
_PHONE = re.compile(r"(?<![0-9A-Za-z])(?:\+?86[\s-]?)?1[3-9][0-9]{9}(?![0-9A-Za-z])")

# Attributes of every LogRecord; anything else on a record came from ``extra=``.
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def mask_sensitive(text: str) -> str:
    """``text`` with every plate-like and phone-like substring masked."""
    text = _PLATE.sub(lambda m: mask_plate(m.group(0)), text)
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), text)


class RequestIdFilter(logging.Filter):
    """Puts the current request id (or None outside a request) on ``record.request_id``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        return True


class MaskingFilter(logging.Filter):
    """Masks plates and phones in the message, its extra fields and its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_sensitive(record.getMessage())
        record.args = None
        if record.exc_info:
            # Formatted once here, so the formatter prints the masked text it finds cached.
            record.exc_text = mask_sensitive(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = mask_sensitive(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in _RECORD_FIELDS and isinstance(value, str):
                setattr(record, name, mask_sensitive(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, and extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for name, value in vars(record).items():
            if name not in _RECORD_FIELDS and name != "request_id":
                entry[name] = value
        if record.exc_text:
            entry["exception"] = record.exc_text
        elif record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def configure_logging(log_format: LogFormat = "json", level: int = logging.INFO) -> None:
    """Route every logger (uvicorn's too) to one stderr handler in ``log_format``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(MaskingFilter())
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(_TEXT_FORMAT)
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn configures its loggers only when given a log_config; ``parking serve`` passes
    # none, so its error and access lines come here like every other.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
