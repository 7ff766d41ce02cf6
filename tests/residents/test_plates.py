"""Plate rules as a table: what is a plate, what is not and why, normalisation, masking."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from parking.plates import (
    PROVINCES,
    InvalidPlate,
    PlateStr,
    mask_phone,
    mask_plate,
    normalize_plate,
    parse_plate,
)

# (as typed, stored form, new energy)
VALID = [
    ("粤B12345", "粤B12345", False),
    ("京A00001", "京A00001", False),
    ("沪AB1234", "沪AB1234", False),  # letters may appear in the serial
    ("津C12AB3", "津C12AB3", False),
    ("渝DZZZZZ", "渝DZZZZZ", False),
    ("冀F9H8J7", "冀F9H8J7", False),
    ("苏E1234警", "苏E1234警", False),  # police
    ("浙A1234挂", "浙A1234挂", False),  # trailer
    ("鲁B1234学", "鲁B1234学", False),  # learner
    ("粤Z1234港", "粤Z1234港", False),  # Hong Kong cross-border
    ("粤Z5678澳", "粤Z5678澳", False),  # Macau cross-border
    ("藏Y12345", "藏Y12345", False),
    ("粤BD12345", "粤BD12345", True),  # small new-energy, pure electric (D)
    ("粤BF12345", "粤BF12345", True),  # small new-energy, other (F)
    ("京AA12345", "京AA12345", True),  # 2024 letters: A, B, C, E pure electric
    ("沪AE56789", "沪AE56789", True),
    ("川AK10000", "川AK10000", True),  # 2024 letters: G, H, J, K other new energy
    ("闽DG00001", "闽DG00001", True),
    ("粤BDA1234", "粤BDA1234", True),  # a letter may follow the energy letter
    ("粤BDF1234", "粤BDF1234", True),
    ("粤B12345D", "粤B12345D", True),  # large new-energy vehicle: letter last
    ("京A12345F", "京A12345F", True),
    ("苏E00001K", "苏E00001K", True),
    # What people type, normalised to the stored form:
    ("粤b12345", "粤B12345", False),  # lower case
    ("粤Ｂ１２３４５", "粤B12345", False),  # full-width
    ("粤B·12345", "粤B12345", False),  # middle dot, as printed on plates
    ("粤B・12345", "粤B12345", False),  # katakana middle dot (Japanese input methods)
    ("粤B•12345", "粤B12345", False),  # bullet
    ("粤B.12345", "粤B12345", False),
    (" 粤B 123 45 ", "粤B12345", False),  # spaces anywhere
    ("粤B\u300012345", "粤B12345", False),  # ideographic space
    ("粤b-d12345", "粤BD12345", True),  # hyphen, lower-case energy letter
    ("粤ｂ．Ｄ１２３４５", "粤BD12345", True),  # full-width dot and letters
]

# (as typed, why it is not a plate, a phrase the message must contain)
INVALID = [
    ("", "nothing typed", "empty"),
    ("  · ", "only separators", "empty"),
    ("粤B1234", "six characters", "this one has 6"),
    ("粤B1234567", "nine characters", "this one has 9"),
    ("粤BD12345港", "nine characters with a suffix", "this one has 9"),
    ("粤-B-1234", "six characters once the hyphens go", "this one has 6"),
    ("AB12345", "a letter where the province goes", "province abbreviation"),
    ("港B12345", "港 is a suffix, not a province", "province abbreviation"),
    ("1B12345", "a digit where the province goes", "province abbreviation"),
    ("ＡB12345", "full-width A is still not a province", "province abbreviation"),
    ("粤112345", "a digit where the authority letter goes", "authority letter"),
    ("粤学12345", "a character where the authority letter goes", "authority letter"),
    ("粤I12345", "I is never an authority letter", "I and O"),
    ("粤O12345", "O is never an authority letter", "I and O"),
    ("粤B1234O", "O in the serial (0 was meant)", "I and O"),
    ("粤BI2345", "I in the serial (1 was meant)", "I and O"),
    ("粤B12#45", "a symbol in the serial", "Character 5"),
    ("粤B12_45", "an underscore in the serial", "Character 5"),
    ("粤B挂1234", "挂 before the end", "only be the last"),
    ("粤B12港34", "港 before the end", "only be the last"),
    ("粤B1234中", "中 is not a suffix", "Character 7"),
    ("粤B1234领", "consular plates are not in scope", "Character 7"),
    ("粤BL12345", "L is not an energy letter", "energy letter A-H, J or K third"),
    ("粤BZ12345", "Z is not an energy letter", "energy letter A-H, J or K third"),
    ("粤BD1234A", "a small new-energy plate ends in four digits", "ends in four digits"),
    ("粤BDA123B", "a letter among the last four", "ends in four digits"),
    ("粤BD#1234", "a symbol after the energy letter", "Character 4"),
    ("粤B12345L", "L is not an energy letter (large vehicle)", "ends in the energy letter"),
    ("粤B1234DD", "a large vehicle has five digits first", "five digits"),
    ("粤B123456", "eight digits: no energy letter at all", "needs its energy letter"),
    ("粤BDO1234", "O in a new-energy plate", "I and O"),
    ("粤B1234港X", "a suffix on an eight-character plate", "no 挂 学 警 港 or 澳"),
]


def test_the_tables_are_large_enough() -> None:
    assert len(VALID) >= 25 and len(INVALID) >= 25
    assert len({raw for raw, _, _ in INVALID}) == len(INVALID)


@pytest.mark.parametrize(("raw", "stored", "new_energy"), VALID, ids=[v[0] for v in VALID])
def test_valid_plate(raw: str, stored: str, new_energy: bool) -> None:
    plate = parse_plate(raw)
    assert plate.plate == stored
    assert plate.new_energy is new_energy
    # The stored form is a fixed point: parsing it again gives itself.
    assert parse_plate(plate.plate) == plate


@pytest.mark.parametrize(("raw", "reason", "phrase"), INVALID, ids=[i[1] for i in INVALID])
def test_invalid_plate(raw: str, reason: str, phrase: str) -> None:
    with pytest.raises(InvalidPlate) as caught:
        parse_plate(raw)
    assert phrase in str(caught.value), f"{reason}: {caught.value}"
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("province", list(PROVINCES))
def test_every_province_abbreviation_starts_a_plate(province: str) -> None:
    assert parse_plate(f"{province}A12345").plate == f"{province}A12345"


def test_there_are_31_provinces() -> None:
    assert len(set(PROVINCES)) == 31


def test_every_authority_letter_but_i_and_o() -> None:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    accepted = set()
    for letter in letters:
        try:
            parse_plate(f"粤{letter}12345")
            accepted.add(letter)
        except InvalidPlate:
            pass
    assert accepted == set(letters) - {"I", "O"}


def test_energy_letters_are_the_original_two_and_the_2024_eight() -> None:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    small = {x for x in letters if _is_plate(f"粤B{x}12345")}
    large = {x for x in letters if _is_plate(f"粤B12345{x}")}
    assert small == large == set("ABCDEFGHJK")


def _is_plate(raw: str) -> bool:
    try:
        parse_plate(raw)
    except InvalidPlate:
        return False
    return True


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("粤Ｂ１２３４５", "粤B12345"),  # full-width letters and digits
        ("粤b1234d", "粤B1234D"),  # lower case
        (" 粤 B 12345 ", "粤B12345"),  # spaces
        ("粤B\t12345\n", "粤B12345"),  # any whitespace
        ("粤B·12345", "粤B12345"),  # U+00B7 middle dot
        ("粤B・12345", "粤B12345"),  # U+30FB katakana middle dot
        ("粤B･12345", "粤B12345"),  # U+FF65 half-width katakana middle dot
        ("粤B•12345", "粤B12345"),  # U+2022 bullet
        ("粤B．12345", "粤B12345"),  # full-width full stop
        ("粤B－12345", "粤B12345"),  # full-width hyphen
        ("粤B—12345", "粤B12345"),  # em dash
        ("粤B12345", "粤B12345"),  # already normal
    ],
)
def test_normalize_plate(raw: str, normalised: str) -> None:
    assert normalize_plate(raw) == normalised


def test_normalize_keeps_what_it_cannot_fix() -> None:
    # Normalising does not validate: an impossible plate stays visibly impossible.
    assert normalize_plate("粤o12345") == "粤O12345"


@pytest.mark.parametrize(
    ("plate", "masked"),
    [
        ("粤B12345", "粤B***45"),
        ("粤BD12345", "粤B****45"),
        ("粤Z1234港", "粤Z***4港"),
        ("粤B", "**"),
    ],
)
def test_mask_plate(plate: str, masked: str) -> None:
    assert mask_plate(plate) == masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13800138001", "138****8001"),
        ("8613800138001", "861******8001"),
        ("07552345678", "075****5678"),
        ("12345678", "12****78"),
        ("123456", "1****6"),
    ],
)
def test_mask_phone(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked
    assert len(mask_phone(phone)) == len(phone)


class _Booking(BaseModel):
    plate: PlateStr


def test_plate_str_normalises_in_a_request_model() -> None:
    assert _Booking(plate=" 粤ｂ·d12345 ").plate == "粤BD12345"


def test_plate_str_error_says_what_is_wrong() -> None:
    with pytest.raises(ValidationError) as caught:
        _Booking(plate="粤B1234O")
    (error,) = caught.value.errors()
    assert error["loc"] == ("plate",)
    assert "I and O" in error["msg"]
    assert not error["msg"].startswith("Value error")


def test_plate_str_refuses_non_text_and_junk() -> None:
    with pytest.raises(ValidationError):
        _Booking(plate=12345)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        _Booking(plate="粤B12345" * 10)
