"""Reading the community office's whitelist file: CSV, UTF-8 (with or without BOM).

Pure: bytes in, entries and line errors out. Every bad line is reported, with its line
number in the file as a spreadsheet shows it (the header is line 1), so the office can
fix the whole file in one pass.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Collection
from dataclasses import dataclass

from parking.residents.schemas import MAX_LABEL_LENGTH, normalize_label, normalize_phone

__all__ = [
    "REQUIRED_COLUMNS",
    "LineError",
    "ParsedWhitelist",
    "WhitelistLine",
    "parse_whitelist_csv",
    "plan_new_compounds",
]

REQUIRED_COLUMNS = ("compound", "unit", "phone")
OPTIONAL_COLUMNS = ("lat", "lon")


@dataclass(frozen=True, slots=True)
class WhitelistLine:
    """One entry of the file, normalised as it will be stored."""

    line: int
    compound: str
    unit: str
    phone: str
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True, slots=True)
class LineError:
    line: int
    message: str


@dataclass(frozen=True, slots=True)
class ParsedWhitelist:
    lines: list[WhitelistLine]
    errors: list[LineError]


def parse_whitelist_csv(data: bytes) -> ParsedWhitelist:
    """The file's good entries and the errors of every bad line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return _fail(line, 'The file is not UTF-8 text; save it as "CSV UTF-8".')
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        return _fail(1, f"The header row cannot be read: {exc}.")
    if header is None or not any(cell.strip() for cell in header):
        return _fail(1, "The file is empty; the first line must be the header compound,unit,phone.")
    columns = [normalize_label(cell).lower() for cell in header]
    header_problem = _header_problem(columns)
    if header_problem:
        return _fail(1, header_problem)

    lines: list[WhitelistLine] = []
    errors: list[LineError] = []
    seen: dict[tuple[str, str, str], int] = {}
    last_line = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(LineError(last_line + 1, f"This line cannot be read as CSV: {exc}."))
            last_line = reader.line_num
            continue
        line, last_line = last_line + 1, reader.line_num  # a quoted field may span lines
        if not any(cell.strip() for cell in row):
            continue
        entry, problems = _entry(line, columns, row)
        if entry is not None:
            key = (entry.compound, entry.unit, entry.phone)
            if key in seen:
                problems.append(f"The same entry as line {seen[key]}.")
            else:
                seen[key] = line
        if problems:
            errors.append(LineError(line, " ".join(problems)))
        elif entry is not None:
            lines.append(entry)
    return ParsedWhitelist(lines=lines, errors=errors)


def plan_new_compounds(
    lines: Collection[WhitelistLine], existing: Collection[str]
) -> tuple[dict[str, tuple[float, float]], list[LineError]]:
    """Compounds the file creates (name -> lat, lon) and lines naming an unknown one.

    A compound that exists keeps its location (lat and lon in the file are ignored for it);
    one that does not is created at the first location the file gives it, and every line of
    it must give that location or none.
    """
    known = set(existing)
    new: dict[str, tuple[float, float]] = {}
    first_line: dict[str, int] = {}
    for entry in lines:
        if entry.compound in known or entry.lat is None or entry.lon is None:
            continue
        location = (entry.lat, entry.lon)
        if entry.compound not in new:
            new[entry.compound] = location
            first_line[entry.compound] = entry.line
    errors: list[LineError] = []
    for entry in lines:
        if entry.compound in known:
            continue
        if entry.compound not in new:
            errors.append(
                LineError(
                    entry.line,
                    f"Unknown compound {entry.compound!r}: create it first, or give its lat "
                    "and lon on this line.",
                )
            )
        elif entry.lat is not None and (entry.lat, entry.lon) != new[entry.compound]:
            errors.append(
                LineError(
                    entry.line,
                    f"Compound {entry.compound!r} is given another location on line "
                    f"{first_line[entry.compound]}.",
                )
            )
    return new, errors


def _fail(line: int, message: str) -> ParsedWhitelist:
    return ParsedWhitelist(lines=[], errors=[LineError(line, message)])


def _header_problem(columns: list[str]) -> str | None:
    allowed = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    unknown = [c for c in columns if c not in allowed]
    if unknown:
        return (
            f"Unknown column(s) {', '.join(repr(c) for c in unknown)}; "
            f"the columns are {','.join(allowed)} (lat and lon optional)."
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        return f"The header lacks the column(s) {', '.join(missing)}."
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        return f"The column(s) {', '.join(repeated)} appear more than once."
    if ("lat" in columns) != ("lon" in columns):
        return "Give both lat and lon columns, or neither."
    return None


def _entry(line: int, columns: list[str], row: list[str]) -> tuple[WhitelistLine | None, list[str]]:
    # Spreadsheets often pad rows with empty trailing cells; only content beyond the
    # header is an error.
    extra = row[len(columns) :]
    short = any(c in REQUIRED_COLUMNS for c in columns[len(row) :])
    if short or any(cell.strip() for cell in extra):
        return None, [f"Expected {len(columns)} fields ({','.join(columns)}), found {len(row)}."]
    cells = dict(zip(columns, row, strict=False))
    problems: list[str] = []
    compound = _label(cells.get("compound", ""), "compound", problems)
    unit = _label(cells.get("unit", ""), "unit", problems)
    phone = ""
    try:
        phone = normalize_phone(cells.get("phone", ""))
    except ValueError as exc:
        problems.append(str(exc))
    lat = _coordinate(cells.get("lat", ""), "lat", 90, problems)
    lon = _coordinate(cells.get("lon", ""), "lon", 180, problems)
    if (lat is None) != (lon is None) and not problems:
        problems.append("Give both lat and lon, or neither.")
    if problems:
        return None, problems
    return WhitelistLine(line, compound, unit, phone, lat, lon), problems


def _label(raw: str, name: str, problems: list[str]) -> str:
    label = normalize_label(raw)
    if not label:
        problems.append(f"The {name} is empty.")
    elif len(label) > MAX_LABEL_LENGTH:
        problems.append(f"The {name} is longer than {MAX_LABEL_LENGTH} characters.")
    return label


def _coordinate(raw: str, name: str, limit: int, problems: list[str]) -> float | None:
    text = raw.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        problems.append(f"The {name} {text!r} is not a number.")
        return None
    if not math.isfinite(value) or not -limit <= value <= limit:
        problems.append(f"The {name} must be between -{limit} and {limit}.")
        return None
    return value
