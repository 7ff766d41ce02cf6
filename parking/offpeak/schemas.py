"""What goes in and out of the off-peak rule, blackout and window endpoints."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from parking.windows import DayClass

__all__ = [
    "Blackout",
    "NewBlackout",
    "NewOffPeakRule",
    "NightWindows",
    "OffPeakRule",
    "WindowProblem",
    "WindowSpan",
]

ISOWeekday = Annotated[int, Field(ge=1, le=7)]


class NewOffPeakRule(BaseModel):
    """A weekly rule: share from ``start_time`` to ``end_time`` (local) on the nights it covers.

    An ``end_time`` at or before ``start_time`` falls on the next day; equal times
    share for 24 hours.
    """

    model_config = ConfigDict(extra="forbid")

    day_class: DayClass = Field(
        "every_day",
        description="every_day; working_days (Monday to Friday unless a public holiday, and "
        "weekend days worked in exchange); rest_days (the others).",
    )
    weekdays: list[ISOWeekday] = Field(
        [1, 2, 3, 4, 5, 6, 7], min_length=1, max_length=7, description="ISO weekdays, 1 = Monday."
    )
    start_time: dt.time = Field(description="Local time the night's sharing starts.")
    end_time: dt.time = Field(description="Local time it ends; at or before the start: next day.")
    valid_from: dt.date = Field(description="The first night the rule applies to.")
    valid_until: dt.date | None = Field(
        None, description="The last night the rule applies to; none: open-ended."
    )

    @field_validator("weekdays")
    @classmethod
    def _distinct_weekdays(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError("weekdays must not repeat")
        return sorted(value)

    @field_validator("start_time", "end_time")
    @classmethod
    def _local_time(cls, value: dt.time) -> dt.time:
        # Rules are in the district's local time; an offset here would be ambiguous.
        if value.tzinfo is not None:
            raise ValueError("give a local time of day without an offset")
        return value

    @model_validator(mode="after")
    def _range(self) -> NewOffPeakRule:
        if self.valid_until is not None and self.valid_until < self.valid_from:
            raise ValueError("valid_until must not be before valid_from")
        return self


class OffPeakRule(NewOffPeakRule):
    model_config = ConfigDict(extra="ignore")

    id: int
    building_id: int
    created_at: dt.datetime


_BLACKOUT_EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_BLACKOUT_LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


class NewBlackout(BaseModel):
    """A period in which the building needs its spaces back (an event, works)."""

    model_config = ConfigDict(extra="forbid")

    start: AwareDatetime = Field(description="ISO 8601 with offset.")
    end: AwareDatetime = Field(description="ISO 8601 with offset; after start (exclusive).")
    reason: Annotated[str, Field(max_length=200)] = ""
    cancel_reservations: bool = Field(
        False,
        description="Cancel, without fee, the active reservations the blackout would leave "
        "outside the building's windows; otherwise such a blackout is refused (409).",
    )

    @model_validator(mode="after")
    def _order(self) -> NewBlackout:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        # The nights a blackout touches are local dates around it: a period at the ends of
        # the calendar (year 1, year 9999) has none that can be computed.
        if self.start < _BLACKOUT_EARLIEST or self.end > _BLACKOUT_LATEST:
            raise ValueError("a blackout must lie between the years 2000 and 2100")
        return self


class Blackout(BaseModel):
    id: int
    building_id: int
    start: dt.datetime
    end: dt.datetime
    reason: str
    created_at: dt.datetime


class WindowSpan(BaseModel):
    start: dt.datetime
    end: dt.datetime


class WindowProblem(BaseModel):
    """Why a night has no answer (RFC 9457 fields)."""

    type: Literal["calendar-missing"] = "calendar-missing"
    title: str = "Conflict"
    status: int = 409
    detail: str
    year: int


class NightWindows(BaseModel):
    night: dt.date
    windows: list[WindowSpan] = Field(
        description="Half-open [start, end) windows, sorted; empty: no sharing that night."
    )
    problem: WindowProblem | None = None
