"""What goes in and out of the pass endpoints."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from parking.reservations.model import ReservationStatus

__all__ = [
    "BuildingPass",
    "MonthText",
    "NewPass",
    "PassDetail",
    "PassNight",
    "PassSummary",
    "month_text",
]

MonthText = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$"),
    Field(description="A calendar month, YYYY-MM.", examples=["2026-12"]),
]


def month_text(month: dt.date) -> str:
    return f"{month:%Y-%m}"


class NewPass(BaseModel):
    model_config = ConfigDict(extra="forbid")

    building_id: int
    vehicle_id: int
    month: MonthText


class PassNight(BaseModel):
    """One claim of the pass: a space for one window of one night."""

    reservation_id: int
    night: dt.date
    start: dt.datetime
    end: dt.datetime
    space_id: int
    space_label: str
    status: ReservationStatus


class PassSummary(BaseModel):
    id: int
    building_id: int
    building_name: str
    vehicle_id: int | None
    plate: str
    month: MonthText
    price_fen: int
    status: Literal["active", "cancelled"]
    night_count: int = Field(description="Nights the pass holds a space on.")
    released_count: int = Field(description="Nights the holder gave back.")
    created_at: dt.datetime


class PassDetail(PassSummary):
    nights: list[PassNight]


class BuildingPass(BaseModel):
    """A pass as the building's manager sees it: no account details, plate masked."""

    id: int
    month: MonthText
    plate: str
    price_fen: int
    status: Literal["active", "cancelled"]
    night_count: int
    released_count: int
    created_at: dt.datetime
