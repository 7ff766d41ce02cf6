"""What goes in and out of the allocation-request endpoints.

Times go out in the district's local time with their offset; a request's resident sees
their own plate and, once allocated, the reservation the night job wrote for it.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StrictInt

from parking.reservations.schemas import Need, ReservationOut

__all__ = [
    "MAX_WALK_M",
    "AllocationRequest",
    "AllocationRequestOut",
    "AllocationRequestStatus",
    "NewAllocationRequest",
    "NotAllocatedReason",
]

AllocationRequestStatus = Literal["pending", "allocated", "not_allocated", "withdrawn"]
NotAllocatedReason = Literal["refused", "set_aside"]
Id = Annotated[int, Field(gt=0, lt=2**63)]

MAX_WALK_M = 5000
"""The farthest walk a request may accept, as for search."""


def _as_set(values: list[Need]) -> list[Need]:
    # A set in one order, so equal requests hash equal under an Idempotency-Key.
    return sorted(set(values))


class NewAllocationRequest(BaseModel):
    """A space for ``night`` somewhere within ``max_walk_m`` of home, at ``max_price_fen``
    at most; without times, for the part of the night every building in reach shares."""

    model_config = ConfigDict(extra="forbid")

    night: dt.date = Field(description="The local date on which the night starts.")
    vehicle_id: Id
    arrive: AwareDatetime | None = Field(
        default=None,
        description="With offset, on a whole minute. Default: the latest start of the "
        "night's windows of the buildings within reach.",
    )
    depart: AwareDatetime | None = Field(
        default=None,
        description="With offset, on a whole minute. Default: the earliest end of the "
        "night's windows of the buildings within reach.",
    )
    max_walk_m: int = Field(
        default=800,
        ge=0,
        le=MAX_WALK_M,
        description="Farthest great-circle walk from your compound to the building, metres.",
    )
    max_price_fen: StrictInt = Field(
        ge=0, lt=2**53, description='Most you will pay, in integer fen (not 15.0, not "15").'
    )
    needs: Annotated[list[Need], Field(max_length=3), AfterValidator(_as_set)] = Field(
        default_factory=list, description="Features the space must have."
    )


class AllocationRequest(BaseModel):
    """An allocation_requests row."""

    id: int
    user_id: int
    vehicle_id: int | None
    plate: str
    night: dt.date
    arrive: dt.datetime
    depart: dt.datetime
    max_walk_m: int
    max_price_fen: int
    needs: list[str]
    status: AllocationRequestStatus
    not_allocated_reason: NotAllocatedReason | None
    weight: int | None
    reservation_id: int | None
    run_id: int | None
    created_at: dt.datetime
    decided_at: dt.datetime | None


class AllocationRequestOut(BaseModel):
    """A request as its resident sees it, with the outcome once the night job decided it."""

    id: int
    night: dt.date
    vehicle_id: int | None
    plate: str
    arrive: dt.datetime
    depart: dt.datetime
    max_walk_m: int
    max_price_fen: int
    needs: list[str]
    status: AllocationRequestStatus = Field(
        description="`pending` until the cutoff; then `allocated` (see `reservation`) or "
        "`not_allocated`; `withdrawn` when you withdrew it."
    )
    not_allocated_reason: NotAllocatedReason | None = Field(
        description="Why `not_allocated`: `refused` when no space within your limits was "
        "left for it (this raises your priority next night); `set_aside` when it was not "
        "put to the allocation (no longer verified, vehicle removed, the car already had a "
        "reservation over the stay, or the stay had ended). Null otherwise."
    )
    cutoff_at: dt.datetime = Field(description="Until then it may be withdrawn.")
    weight: int | None = Field(
        description="The priority the night job gave it (grows with the nights in a row "
        "you were refused); null until decided."
    )
    reservation: ReservationOut | None = Field(
        description="The reservation written for it when allocated."
    )
    created_at: dt.datetime
    decided_at: dt.datetime | None
