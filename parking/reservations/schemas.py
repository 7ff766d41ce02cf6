"""What goes in and out of the reservation endpoints.

Times go out in the district's local time with their offset; a manager's view
never carries a full plate, an email or a phone.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from parking.plates import mask_plate
from parking.reservations.model import Reservation, ReservationStatus

__all__ = [
    "BookingRequest",
    "ManagedReservation",
    "Need",
    "ReservationOut",
    "ReservationView",
]

Need = Literal["ev", "large", "accessible"]
Id = Annotated[int, Field(gt=0, lt=2**63)]


def _as_set(values: list[Need]) -> list[Need]:
    # A set in one order, so equal requests hash equal under an Idempotency-Key.
    return sorted(set(values))


class BookingRequest(BaseModel):
    """A space in ``building_id`` for ``night``, for the whole window unless times are given."""

    model_config = ConfigDict(extra="forbid")

    building_id: Id
    night: dt.date = Field(description="The local date on which the night starts.")
    vehicle_id: Id
    arrive: AwareDatetime | None = Field(
        default=None,
        description="With offset. Default: the start of the window that holds `depart`, "
        "else of the night's first window.",
    )
    depart: AwareDatetime | None = Field(
        default=None,
        description="With offset. Default: the end of the window that holds `arrive`, "
        "else of the night's first window.",
    )
    space_id: Id | None = Field(
        default=None, description="A particular space; taken or unsuitable is refused, not swapped."
    )
    needs: Annotated[list[Need], Field(max_length=3), AfterValidator(_as_set)] = Field(
        default_factory=list, description="Features the space must have."
    )


class ReservationView(Reservation):
    """A reservations row with the names a person reads: the building's and the space's."""

    building_name: str
    space_label: str


class ReservationOut(BaseModel):
    """A reservation as its resident sees it."""

    id: int
    kind: Literal["booking", "pass_night"]
    building_id: int
    building_name: str
    space_id: int
    space_label: str
    vehicle_id: int | None
    plate: str
    night: dt.date
    start: dt.datetime
    end: dt.datetime
    status: ReservationStatus
    fee_fen: int = Field(description="What the resident owes for it, in fen.")
    hold_expires_at: dt.datetime | None = Field(
        description="A held reservation is released unless confirmed by then."
    )
    created_at: dt.datetime

    @classmethod
    def of(cls, view: ReservationView, tz: ZoneInfo) -> ReservationOut:
        return cls(**_in_zone(view, cls, tz))


class ManagedReservation(BaseModel):
    """A reservation as the building's manager sees it: the plate masked, no contact data."""

    id: int
    kind: Literal["booking", "pass_night"]
    source: Literal["app", "platform", "allocation", "pass"]
    building_id: int
    building_name: str
    space_id: int
    space_label: str
    plate: str = Field(description='Masked: province, letter and last two ("粤B***45").')
    night: dt.date
    start: dt.datetime
    end: dt.datetime
    status: ReservationStatus
    fee_fen: int
    hold_expires_at: dt.datetime | None
    checked_in_at: dt.datetime | None
    ended_at: dt.datetime | None

    @classmethod
    def of(cls, view: ReservationView, tz: ZoneInfo) -> ManagedReservation:
        return cls(**{**_in_zone(view, cls, tz), "plate": mask_plate(view.plate)})


def _in_zone(view: ReservationView, model: type[BaseModel], tz: ZoneInfo) -> dict[str, Any]:
    """The view's values of ``model``'s fields, every time in the district's local zone."""
    values = view.model_dump(include=set(model.model_fields))
    return {k: v.astimezone(tz) if isinstance(v, dt.datetime) else v for k, v in values.items()}
