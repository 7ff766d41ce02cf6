"""Pydantic models of the night-allocation files (`shared/allocator/FORMAT.md`).

Loading through `load_instance` guarantees a well-formed instance (aware whole-minute
times, ordered disjoint windows, unique ids, positive weights) or an `InstanceError`
whose messages name the field and the id, e.g. ``requests[R7].depart: must be after arrive``.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

__all__ = [
    "INSTANCE_FORMAT",
    "SOLUTION_FORMAT",
    "Assignment",
    "Instance",
    "InstanceError",
    "Objective",
    "Request",
    "Solution",
    "Space",
    "load_instance",
    "load_solution",
]

INSTANCE_FORMAT = "shared-parking-night/1"
SOLUTION_FORMAT = "shared-parking-night-solution/1"


def _whole_minute(value: datetime) -> datetime:
    # The model counts in whole minutes; a stray second would silently change eligibility.
    if value.second or value.microsecond:
        raise ValueError("must be on a whole minute (no seconds)")
    return value


Instant = Annotated[AwareDatetime, AfterValidator(_whole_minute)]
Latitude = Annotated[float, Field(ge=-90.0, le=90.0)]
Longitude = Annotated[float, Field(ge=-180.0, le=180.0)]


class _Strict(BaseModel):
    # Unknown keys are refused: a typo such as "max_walk" must not fall back to a default.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Space(_Strict):
    """One parking space and the intervals in which it may be used tonight."""

    id: str = Field(min_length=1)
    building_id: str = Field(min_length=1)
    lat: Latitude
    lon: Longitude
    features: list[str] = Field(default_factory=list)
    price_fen: int = Field(ge=0)
    available: list[tuple[Instant, Instant]]

    @field_validator("available")
    @classmethod
    def _windows_ordered_and_disjoint(
        cls, windows: list[tuple[datetime, datetime]]
    ) -> list[tuple[datetime, datetime]]:
        for index, (start, end) in enumerate(windows):
            if end <= start:
                raise ValueError(f"[{index}]: must end after it starts")
            if index and start <= windows[index - 1][1]:
                # Touching windows would be one window; overlapping ones are a data error.
                raise ValueError(
                    f"[{index}]: must start after available[{index - 1}] ends (disjoint, in order)"
                )
        return windows


class Request(_Strict):
    """One resident's request for a space tonight."""

    id: str = Field(min_length=1)
    lat: Latitude
    lon: Longitude
    arrive: Instant
    depart: Instant
    max_walk_m: float = Field(ge=0)
    max_price_fen: int = Field(ge=0)
    needs: list[str] = Field(default_factory=list)
    weight: int = Field(default=1, gt=0)

    @field_validator("depart")
    @classmethod
    def _depart_after_arrive(cls, depart: datetime, info: ValidationInfo) -> datetime:
        arrive = info.data.get("arrive")
        if arrive is not None and depart <= arrive:
            raise ValueError("must be after arrive")
        return depart


class Instance(_Strict):
    """One night's supply (spaces) and demand (requests)."""

    format: Literal["shared-parking-night/1"]
    night: date
    turnover_minutes: int = Field(ge=0)
    spaces: list[Space]
    requests: list[Request]

    @model_validator(mode="after")
    def _unique_ids(self) -> Instance:
        problems = [
            f"{kind}[{item_id}].id: duplicate id"
            for kind, items in (("spaces", self.spaces), ("requests", self.requests))
            for item_id, count in Counter(item.id for item in items).items()
            if count > 1
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Assignment(_Strict):
    request: str
    space: str


class Objective(_Strict):
    served_weight: int = Field(ge=0)
    walk_m: int = Field(ge=0)


class Solution(_Strict):
    """An answer to an instance; `validate.validate` says whether it is correct."""

    format: Literal["shared-parking-night-solution/1"] = SOLUTION_FORMAT
    status: Literal["optimal", "feasible"]
    assignments: list[Assignment]
    unassigned: list[str]
    objective: Objective
    bound: Objective
    solve_seconds: float = Field(ge=0)


class InstanceError(ValueError):
    """An instance file that breaks FORMAT.md; `problems` name field and id each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid instance: " + "; ".join(problems))


def _describe_location(raw: Any, location: tuple[int | str, ...]) -> str:
    """Turn pydantic's ('requests', 6, 'depart') into 'requests[R7].depart'."""
    parts: list[str] = []
    node = raw
    index = 0
    while index < len(location):
        key = location[index]
        nxt = location[index + 1] if index + 1 < len(location) else None
        if key in ("spaces", "requests") and isinstance(nxt, int) and not parts:
            items = node.get(key) if isinstance(node, dict) else None
            item = items[nxt] if isinstance(items, list) and nxt < len(items) else None
            item_id = item.get("id") if isinstance(item, dict) else None
            label = str(item_id) if isinstance(item_id, str) and item_id else f"#{nxt}"
            parts.append(f"{key}[{label}]")
            node = item
            index += 2
            continue
        if isinstance(key, int):
            parts.append(f"[{key}]")
        else:
            parts.append(("." if parts else "") + str(key))
        node = node.get(key) if isinstance(node, dict) else None
        index += 1
    return "".join(parts)


def _problems(error: ValidationError, raw: Any) -> list[str]:
    problems = []
    for item in error.errors(include_url=False):
        message = str(item["msg"]).removeprefix("Value error, ")
        where = _describe_location(raw, tuple(item["loc"]))
        if where and message.startswith("["):
            # Index-bearing messages from list validators read better glued to the field.
            problems.append(f"{where}{message}")
        elif where:
            problems.append(f"{where}: {message}")
        else:
            # Model-level checks (duplicate ids) already name their field and id.
            problems.extend(message.split("; "))
    return problems


def load_instance(raw: Any) -> Instance:
    """Validate a decoded JSON document (or JSON text) into an `Instance`."""
    try:
        if isinstance(raw, str | bytes):
            return Instance.model_validate_json(raw)
        return Instance.model_validate(raw)
    except ValidationError as error:
        if isinstance(raw, str | bytes):
            import json

            try:
                raw = json.loads(raw)
            except ValueError:
                raw = None
        raise InstanceError(_problems(error, raw)) from None


def load_solution(raw: Any) -> Solution:
    """Validate a decoded JSON document (or JSON text) into a `Solution`."""
    if isinstance(raw, str | bytes):
        return Solution.model_validate_json(raw)
    return Solution.model_validate(raw)
