"""What goes in and out of the resident, whitelist and vehicle endpoints.

Phones, units and compound names are normalised here, once, so that the whitelist stores
and compares one form: what the office imports and what a resident types then match.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from parking.plates import PlateStr

__all__ = [
    "Compound",
    "CompoundPatch",
    "CompoundSummary",
    "ImportMode",
    "ImportReport",
    "NewCompound",
    "NewVehicle",
    "PhoneNumber",
    "Residency",
    "ResidentStatus",
    "Vehicle",
    "VerificationRequest",
    "WhitelistEntry",
    "normalize_label",
    "normalize_phone",
]

ImportMode = Literal["merge", "replace"]

_PHONE = re.compile(r"[0-9]{6,15}")
# Separators people put inside phone numbers: spaces, dashes, dots and brackets.
_PHONE_NOISE = re.compile(r"[\s\-‐‑–—.()]+")
_WHITESPACE = re.compile(r"\s+")

MAX_LABEL_LENGTH = 100


def normalize_phone(raw: str) -> str:
    """Digits only, without the +86 / 0086 / 86 country prefix; ValueError if not a phone."""
    phone = _PHONE_NOISE.sub("", unicodedata.normalize("NFKC", raw))
    if phone.startswith("+86"):
        phone = phone[3:]
    elif phone.startswith("0086"):
        phone = phone[4:]
    elif phone.startswith("86") and len(phone) == 13 and phone[2] == "1":
        # A bare 86 is only a prefix when a mainland mobile (11 digits, leading 1) follows;
        # otherwise it may be the start of a local number.
        phone = phone[2:]
    if not _PHONE.fullmatch(phone):
        raise ValueError("A phone number has 6 to 15 digits (spaces, dashes and +86 are allowed).")
    return phone


def normalize_label(raw: str) -> str:
    """A unit or compound name as compared: half-width, trimmed, inner whitespace one space."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", raw)).strip()


def _label(value: str) -> str:
    label = normalize_label(value)
    if not label:
        raise ValueError("must not be empty")
    if len(label) > MAX_LABEL_LENGTH:
        raise ValueError(f"must be at most {MAX_LABEL_LENGTH} characters")
    return label


PhoneNumber = Annotated[
    str,
    Field(max_length=32, examples=["13800138001"], description="Spaces, dashes, +86 allowed."),
    AfterValidator(normalize_phone),
]
Label = Annotated[str, Field(max_length=200), AfterValidator(_label)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]


class NewCompound(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Label
    lat: Latitude
    lon: Longitude


class CompoundPatch(BaseModel):
    """Fields to change; at least one."""

    model_config = ConfigDict(extra="forbid")

    name: Label | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None

    @model_validator(mode="after")
    def _something(self) -> CompoundPatch:
        if self.name is None and self.lat is None and self.lon is None:
            raise ValueError("give at least one of name, lat, lon")
        return self


class Compound(BaseModel):
    """A residential compound: where its residents live ("near home")."""

    id: int
    name: str
    lat: float
    lon: float


class CompoundSummary(Compound):
    entries: int = Field(description="Whitelist entries of this compound.")
    verified: int = Field(description="Entries an account has verified with.")


class WhitelistEntry(BaseModel):
    id: int
    compound_id: int
    compound_name: str
    unit: str
    phone: str
    imported_at: datetime
    verified: bool = Field(description="An account has verified with this entry.")


class ImportReport(BaseModel):
    """What an import changed; a file with any bad line changes nothing (422 instead)."""

    mode: ImportMode
    entries: int = Field(description="Entries in the file.")
    added: int
    unchanged: int
    removed: int = Field(description="Entries not in the file, removed (replace mode only).")
    unverified: int = Field(
        description="Verified residents whose entry was removed, so no longer verified."
    )
    compounds_created: int


class VerificationRequest(BaseModel):
    """Where the resident lives: the compound by id or by name, the unit, and their phone."""

    model_config = ConfigDict(extra="forbid")

    compound_id: int | None = None
    compound: Label | None = Field(default=None, description="The compound's name.")
    unit: Label = Field(examples=["3栋 502"])
    phone: PhoneNumber

    @model_validator(mode="after")
    def _one_compound(self) -> VerificationRequest:
        if (self.compound_id is None) == (self.compound is None):
            raise ValueError("give the compound either by compound_id or by name, not both")
        return self


class Residency(BaseModel):
    """A verified resident and where they live."""

    user_id: int
    whitelist_id: int
    compound_id: int
    compound_name: str
    unit: str
    lat: float
    lon: float
    verified_at: datetime


class ResidentStatus(BaseModel):
    """The caller's verification; the residency fields are null until verified."""

    verified: bool
    compound_id: int | None = None
    compound_name: str | None = None
    unit: str | None = None
    lat: float | None = None
    lon: float | None = None
    verified_at: datetime | None = None

    @classmethod
    def of(cls, residency: Residency | None) -> ResidentStatus:
        if residency is None:
            return cls(verified=False)
        return cls(verified=True, **residency.model_dump(exclude={"user_id", "whitelist_id"}))


class NewVehicle(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plate: PlateStr


class Vehicle(BaseModel):
    """A resident's vehicle; ``new_energy`` follows from the plate, never from the client."""

    id: int
    user_id: int
    plate: str
    new_energy: bool
    created_at: datetime
