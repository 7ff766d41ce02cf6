"""What the platform sends the operator (PROTOCOL.md, platform -> operator)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

__all__ = ["CancelRequest", "Event", "GateEventData", "PlatformBooking", "SuspensionData"]

_Id = Field(min_length=1, max_length=200)


class PlatformBooking(BaseModel):
    """A booking made on the platform; idempotent on ``platform_reservation_id``."""

    platform_reservation_id: str = _Id
    place_id: str = _Id
    plate: str = Field(min_length=1, max_length=32)
    start: AwareDatetime
    end: AwareDatetime
    requested_at: AwareDatetime | None = None


class CancelRequest(BaseModel):
    reason: str = Field(default="", max_length=500)


class Event(BaseModel):
    """An event; ``data`` is read according to ``type`` (unknown types are ignored)."""

    type: str = Field(min_length=1, max_length=100)
    occurred_at: AwareDatetime | None = None
    data: dict[str, Any] | None = None


class GateEventData(BaseModel):
    place_id: str = _Id
    plate: str = Field(min_length=1, max_length=32)


class SuspensionData(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    place_id: str = _Id
    start: AwareDatetime = Field(alias="from")
    end: AwareDatetime = Field(alias="to")
    reason: str = Field(default="", max_length=500)


class ReconcileData(BaseModel):
    place_id: str | None = None


def local_iso(at: dt.datetime, tz: Any) -> str:
    return at.astimezone(tz).isoformat()
