"""The one clock of the service: handlers read the current instant here and hand it to
use cases, which take ``now``/``at`` as a parameter so tests can set the time."""

from __future__ import annotations

import datetime as dt

__all__ = ["utc_now"]


def utc_now() -> dt.datetime:
    """The current instant, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)
