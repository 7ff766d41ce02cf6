"""What goes in and out of the gate endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from parking.reservations.model import ReservationStatus

__all__ = ["GateEvent", "GateSession", "IssuedGateKey"]


class IssuedGateKey(BaseModel):
    """A new gate key: shown this once; only its hash is kept."""

    building_id: int
    gate_key: str = Field(description="Send as header X-Gate-Key; it replaces any earlier key.")
    issued_at: datetime


class GateEvent(BaseModel):
    """A plate read at a building's gate."""

    model_config = ConfigDict(extra="forbid")

    building_id: int
    # Parsed by the service, so a bad plate is the specific problem ``invalid-plate``.
    plate: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    at: AwareDatetime | None = Field(
        default=None, description="When the car passed the gate (default: now)."
    )


class GateSession(BaseModel):
    """A car's stay at a building, from its entry to its exit (``exited_at`` null: inside)."""

    id: int
    building_id: int
    plate: str
    entered_at: datetime
    exited_at: datetime | None
    reservation_id: int | None = Field(description="Null: the car came without a reservation.")
    reservation_status: ReservationStatus | None
    source: Literal["gate", "platform"]
