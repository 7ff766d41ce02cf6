"""What goes in and out of the building, space and search endpoints.

Input models reject unknown fields, so a misspelt field is a 422 and never ignored.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

__all__ = [
    "MAX_SPACES_PER_REQUEST",
    "Building",
    "BuildingPatch",
    "Feature",
    "FeatureCounts",
    "NewBuilding",
    "NewSpaces",
    "SearchItem",
    "SearchPage",
    "SearchPoint",
    "Space",
    "SpacePatch",
    "WindowOut",
]

# One request creates at most this many spaces: a large garage is a few requests,
# and no single transaction holds the building's lock for long.
MAX_SPACES_PER_REQUEST = 1000

Feature = Literal["ev", "large", "accessible"]
BuildingStatus = Literal["active", "suspended"]
DistrictPlaceId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Address = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
FeeFen = Annotated[int, Field(ge=0, le=100_000_000)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Level = Annotated[str, StringConstraints(strip_whitespace=True, max_length=16)]
LabelPrefix = Annotated[str, StringConstraints(strip_whitespace=True, max_length=24)]


def _features(values: list[Feature]) -> list[Feature]:
    # A set in the database's canonical order, so equal sets compare equal.
    return sorted(set(values))


class NewBuilding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    district_place_id: DistrictPlaceId = Field(
        description="The place's id on the district platform; fixed once created."
    )
    name: Name
    address: Address = ""
    lat: Latitude
    lon: Longitude
    manager_id: int | None = Field(
        default=None,
        description="Admins: the manager account that runs it (required). Managers: omit.",
    )
    flat_fee_fen: FeeFen = Field(
        default=1000, description="Per-use fee of the first price plan version."
    )
    monthly_pass_fen: FeeFen | None = Field(
        default=None,
        description="Monthly pass fee; set: the first plan version is monthly and sells "
        "passes. Later changes are new versions (POST /buildings/{id}/plans).",
    )


class BuildingPatch(BaseModel):
    """Fields to change; those left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    address: Address | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    status: BuildingStatus | None = Field(
        default=None,
        description="suspended: no new bookings; existing reservations are kept.",
    )

    @model_validator(mode="after")
    def _no_null_for_required(self) -> BuildingPatch:
        for name in ("name", "address", "lat", "lon", "status"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    def changes(self) -> dict[str, object]:
        """The fields the request sets, with their new values."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class FeatureCounts(BaseModel):
    ev: int
    large: int
    accessible: int


class Building(BaseModel):
    id: int
    district_place_id: str
    manager_id: int | None
    name: str
    address: str
    lat: float
    lon: float
    status: BuildingStatus
    flat_fee_fen: int | None = Field(
        default=None, description="Per-use fee of the plan in force tonight (null: none)."
    )
    monthly_pass_fen: int | None = Field(
        default=None,
        description="Pass fee of the plan in force tonight when it is monthly (null: no passes).",
    )
    plan_version: int | None = Field(
        default=None, description="The price plan version in force tonight."
    )
    spaces: int = Field(description="All spaces, shared or not.")
    shared_spaces: int
    shared_features: FeatureCounts = Field(description="Shared spaces with each feature.")
    created_at: dt.datetime
    updated_at: dt.datetime


class Space(BaseModel):
    id: int
    building_id: int
    label: str
    level: str
    features: list[Feature]
    shared: bool


class NewSpaces(BaseModel):
    """One space (``label``), a list (``labels``), or a numbered run (``count``, ``prefix``,
    ``start``, ``digits``); all get the same level, features and sharing."""

    model_config = ConfigDict(extra="forbid")

    label: Label | None = None
    labels: list[Label] | None = Field(default=None, max_length=MAX_SPACES_PER_REQUEST)
    count: int | None = Field(default=None, ge=1, le=MAX_SPACES_PER_REQUEST)
    prefix: LabelPrefix = ""
    start: int = Field(default=1, ge=0, le=999_999)
    digits: int = Field(
        default=1, ge=1, le=6, description="Numbers are zero-padded to this many digits."
    )
    level: Level = ""
    features: list[Feature] = []
    shared: bool = True

    @field_validator("features")
    @classmethod
    def _normal_features(cls, values: list[Feature]) -> list[Feature]:
        return _features(values)

    @model_validator(mode="after")
    def _one_way_to_name(self) -> NewSpaces:
        given = [k for k in ("label", "labels", "count") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of label, labels or count")
        if self.count is None and (
            "prefix" in self.model_fields_set or "start" in self.model_fields_set
        ):
            raise ValueError("prefix and start go with count")
        if self.labels is not None:
            if not self.labels:
                raise ValueError("labels is empty")
            if len(set(self.labels)) != len(self.labels):
                raise ValueError("labels repeat")
        return self

    def all_labels(self) -> list[str]:
        if self.label is not None:
            return [self.label]
        if self.labels is not None:
            return list(self.labels)
        assert self.count is not None
        return [
            f"{self.prefix}{n:0{self.digits}d}" for n in range(self.start, self.start + self.count)
        ]


class SpacePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: Label | None = None
    level: Level | None = None
    features: list[Feature] | None = None
    shared: bool | None = None

    @field_validator("features")
    @classmethod
    def _normal_features(cls, values: list[Feature] | None) -> list[Feature] | None:
        return None if values is None else _features(values)

    @model_validator(mode="after")
    def _no_nulls(self) -> SpacePatch:
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    def changes(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class WindowOut(BaseModel):
    start: dt.datetime
    end: dt.datetime


class SearchPoint(BaseModel):
    lat: float
    lon: float
    source: Literal["query", "home"] = Field(
        description="query: lat/lon given; home: the resident's compound."
    )


class SearchItem(BaseModel):
    building_id: int
    district_place_id: str
    name: str
    address: str
    lat: float
    lon: float
    walk_m: int = Field(
        description="Great-circle distance from the point in whole metres (not a street route)."
    )
    free: int = Field(description="Shared spaces free for the whole of [arrive, depart).")
    window: WindowOut = Field(description="The sharing window the stay lies in.")
    arrive: dt.datetime
    depart: dt.datetime
    price_fen: int | None = Field(description="The stay's price; null when not sold singly.")
    bookable: bool = Field(description="false: the plan that night sells passes, not nights.")


class SearchPage(BaseModel):
    night: dt.date
    point: SearchPoint
    radius_m: int
    total: int = Field(description="Places matching the search, on all pages.")
    items: list[SearchItem]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null: last.")
