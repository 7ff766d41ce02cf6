"""Chinese licence plates: normalise what people type, validate it, and mask it for logs.

Pure functions; a plate that passes ``parse_plate`` is stored and compared in exactly the
form it returns (half-width, upper case, no spaces, dots or hyphens).

References followed:

- GA 36-2018 《中华人民共和国机动车号牌》: a plate is the province abbreviation, the issuing
  authority's letter (never I or O), then a five-character serial of digits and letters
  other than I and O; trailer, learner, police and Hong Kong / Macau plates end in
  挂, 学, 警, 港 or 澳 instead of the last serial character.
- New-energy plates (GA 36-2018 as amended, 8 characters): small cars carry the energy
  letter first (``[A-HJK][A-HJ-NP-Z0-9][0-9]{4}``), large cars last (``[0-9]{5}[A-HJK]``).
  D and F were the original letters (pure electric, other new energy); the 2024 extension
  by the Ministry of Public Security added A, B, C, E (pure electric) and G, H, J, K (other).

Not checked, because local allocation rules differ and a gate reads what is on the car:
how many letters a serial may hold, and which authority letters a province has issued.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

__all__ = [
    "PROVINCES",
    "InvalidPlate",
    "Plate",
    "PlateStr",
    "mask_phone",
    "mask_plate",
    "normalize_plate",
    "parse_plate",
]

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
"""The 31 province-level abbreviations that begin a civilian plate."""

_SUFFIXES = "挂学警港澳"
_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # A–Z without I and O
_SERIAL_CHARS = frozenset(_LETTERS + "0123456789")
_ENERGY_LETTERS = frozenset("ABCDEFGHJK")
_NEW_ENERGY_SMALL = re.compile(r"[A-HJK][A-HJ-NP-Z0-9][0-9]{4}")
_NEW_ENERGY_LARGE = re.compile(r"[0-9]{5}[A-HJK]")

# Typed between groups ("粤B·12345", "粤B-12345"); NFKC has already folded the
# full-width forms (．－ and the half-width katakana dot) into these.
_SEPARATORS = re.compile(r"[\s·・•‧.\-‐‑–—]+")


class InvalidPlate(ValueError):
    """The text is not a plate; the message says what is wrong, in words for the user."""


@dataclass(frozen=True, slots=True)
class Plate:
    """A valid plate in its normalised form; ``new_energy`` follows from its length."""

    plate: str
    new_energy: bool


def normalize_plate(raw: str) -> str:
    """Half-width, upper case, without spaces, middle dots, full stops or hyphens."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw)).upper()


def parse_plate(raw: str) -> Plate:
    """The normalised plate, or ``InvalidPlate`` saying which rule it breaks."""
    if not isinstance(raw, str):
        raise InvalidPlate("A plate must be text.")
    plate = normalize_plate(raw)
    if not plate:
        raise InvalidPlate("The plate is empty.")
    if len(plate) not in (7, 8):
        raise InvalidPlate(
            f"A plate has 7 characters, or 8 on a new-energy vehicle; this one has {len(plate)}."
        )
    if plate[0] not in PROVINCES:
        raise InvalidPlate(
            f"The first character must be a province abbreviation (such as 粤 or 京), "
            f"not {plate[0]!r}."
        )
    city = plate[1]
    if city in "IO":
        raise InvalidPlate("The letters I and O are not used as the second character of a plate.")
    if city not in _LETTERS:
        raise InvalidPlate(
            f"The second character must be the authority letter A-Z (not I or O), not {city!r}."
        )
    if len(plate) == 7:
        _check_regular_serial(plate[2:])
    else:
        _check_new_energy_serial(plate[2:])
    return Plate(plate=plate, new_energy=len(plate) == 8)


def _check_regular_serial(serial: str) -> None:
    for position, char in enumerate(serial, start=3):
        last = position == 7
        if char in _SERIAL_CHARS or (last and char in _SUFFIXES):
            continue
        if char in "IO":
            raise InvalidPlate(
                f"The letters I and O are not used on plates (character {position}); "
                "perhaps 1 or 0 was meant."
            )
        if char in _SUFFIXES:
            raise InvalidPlate(f"{char!r} may only be the last character of a plate.")
        raise InvalidPlate(
            f"Character {position} ({char!r}) is not allowed: after the authority letter a "
            "plate has digits and letters other than I and O, the last may be 挂 学 警 港 or 澳."
        )


def _check_new_energy_serial(serial: str) -> None:
    if _NEW_ENERGY_SMALL.fullmatch(serial) or _NEW_ENERGY_LARGE.fullmatch(serial):
        return
    if any(char in _SUFFIXES for char in serial):
        raise InvalidPlate("New-energy plates have no 挂 学 警 港 or 澳 character.")
    if "I" in serial or "O" in serial:
        raise InvalidPlate("The letters I and O are not used on plates; perhaps 1 or 0 was meant.")
    first, last = serial[0], serial[-1]
    if first.isascii() and first.isalpha():
        if first not in _ENERGY_LETTERS:
            raise InvalidPlate(
                f"A new-energy small-car plate has the energy letter A-H, J or K third, "
                f"not {first!r}."
            )
        if serial[1] not in _SERIAL_CHARS:
            raise InvalidPlate(
                f"Character 4 ({serial[1]!r}) of a new-energy plate must be a digit or a letter "
                "other than I and O."
            )
        raise InvalidPlate("A new-energy small-car plate ends in four digits.")
    if last.isascii() and last.isalpha():
        if last not in _ENERGY_LETTERS:
            raise InvalidPlate(
                f"A new-energy large-vehicle plate ends in the energy letter A-H, J or K, "
                f"not {last!r}."
            )
        raise InvalidPlate(
            "A new-energy large-vehicle plate has five digits before its energy letter."
        )
    raise InvalidPlate(
        "An 8-character (new-energy) plate needs its energy letter A-H, J or K either third "
        "(small car) or last (large vehicle)."
    )


def mask_plate(plate: str) -> str:
    """For logs: province, authority letter and the last two characters ("粤B***45")."""
    if len(plate) <= 4:
        return "*" * len(plate)
    return plate[:2] + "*" * (len(plate) - 4) + plate[-2:]


def mask_phone(phone: str) -> str:
    """For logs: a mobile keeps its first three and last four digits ("138****8001")."""
    if len(phone) >= 11:
        head, tail = 3, 4
    else:
        head = tail = len(phone) // 4
    return phone[:head] + "*" * (len(phone) - head - tail) + phone[len(phone) - tail :]


def _validated_plate(value: str) -> str:
    try:
        return parse_plate(value).plate
    except InvalidPlate as exc:
        raise PydanticCustomError("invalid_plate", str(exc)) from exc


PlateStr = Annotated[
    str,
    # Generous before normalisation (spaces and dots), and short enough to refuse junk.
    StringConstraints(max_length=32),
    AfterValidator(_validated_plate),
    Field(
        description="A Chinese licence plate; stored normalised (half-width, upper case, "
        "without spaces, dots or hyphens).",
        examples=["粤B12345", "粤BD12345"],
    ),
]
"""A request field holding a plate: validated, and normalised to its stored form."""
