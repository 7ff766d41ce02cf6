"""What goes in and out of the holiday-calendar endpoints."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = ["CalendarDay", "CalendarSource", "CalendarYear", "CoveredYear", "DayKind"]

DayKind = Literal["holiday", "workday"]
CalendarSource = Literal["package", "admin"]


class CalendarDay(BaseModel):
    """An exception to "Monday to Friday work": a public holiday, or a weekend day worked."""

    model_config = ConfigDict(extra="forbid")

    day: dt.date
    kind: DayKind = Field(
        description="holiday: a rest day (any weekday); workday: a Saturday or Sunday worked "
        "in exchange for a holiday (调休)."
    )
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=80)] = ""


class CalendarYear(BaseModel):
    """One year of the calendar; an uncovered year makes working-day rules an error."""

    year: int
    covered: bool
    source: CalendarSource | None = Field(
        None, description="package: seeded from chinesecalendar; admin: entered by an admin."
    )
    updated_at: dt.datetime | None = None
    days: list[CalendarDay] = []


class CoveredYear(BaseModel):
    year: int
    source: CalendarSource
    updated_at: dt.datetime
    holidays: int
    workdays: int
