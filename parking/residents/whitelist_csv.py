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
from dataclasses import dataclass, field

from parking.residents.schemas import MAX_LABEL_LENGTH, normalize_label, normalize_phone

__all__ = [
    "FAULTS",
    "REQUIRED_COLUMNS",
    "Fault",
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


# What can be wrong with a file or a line: a stable code, and its words in English. The
# API sends both with the fields they name (``params``); the web pages put the code's
# own label in the reader's language.
FAULTS: dict[str, str] = {
    "not-utf8": 'The file is not UTF-8 text; save it as "CSV UTF-8".',
    "header-unreadable": "The header row cannot be read: {error}.",
    "empty-file": "The file is empty; the first line must be the header compound,unit,phone.",
    "unknown-columns": "Unknown column(s) {columns}; the columns are {allowed} "
    "(lat and lon optional).",
    "missing-columns": "The header lacks the column(s) {columns}.",
    "repeated-columns": "The column(s) {columns} appear more than once.",
    "lat-lon-columns": "Give both lat and lon columns, or neither.",
    "line-unreadable": "This line cannot be read as CSV: {error}.",
    "same-entry": "The same entry as line {line}.",
    "field-count": "Expected {expected} fields ({columns}), found {found}.",
    "empty-field": "The {name} is empty.",
    "too-long": "The {name} is longer than {limit} characters.",
    "bad-phone": "A phone number has 6 to 15 digits (spaces, dashes and +86 are allowed).",
    "not-a-number": "The {name} {value!r} is not a number.",
    "out-of-range": "The {name} must be between -{limit} and {limit}.",
    "lat-lon-both": "Give both lat and lon, or neither.",
    "unknown-compound": "Unknown compound {compound!r}: create it first, or give its lat "
    "and lon on this line.",
    "compound-moved": "Compound {compound!r} is given another location on line {first_line}.",
    "replace-empty": "A replace import needs at least one entry; this file has none.",
}


@dataclass(frozen=True, slots=True)
class Fault:
    """One thing wrong: ``code`` (a key of ``FAULTS``) and the values its words name."""

    code: str
    params: dict[str, str | int] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return FAULTS[self.code].format(**self.params)


@dataclass(frozen=True, slots=True)
class LineError:
    """Everything wrong with one line of the file."""

    line: int
    faults: tuple[Fault, ...]

    @property
    def message(self) -> str:
        return " ".join(fault.message for fault in self.faults)

    @classmethod
    def of(cls, line: int, code: str, **params: str | int) -> LineError:
        return cls(line, (Fault(code, params),))


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
        return _fail(line, "not-utf8")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        return _fail(1, "header-unreadable", error=str(exc))
    if header is None or not any(cell.strip() for cell in header):
        return _fail(1, "empty-file")
    columns = [normalize_label(cell).lower() for cell in header]
    header_problem = _header_problem(columns)
    if header_problem:
        return ParsedWhitelist(lines=[], errors=[LineError(1, (header_problem,))])

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
            errors.append(LineError.of(last_line + 1, "line-unreadable", error=str(exc)))
            last_line = reader.line_num
            continue
        line, last_line = last_line + 1, reader.line_num  # a quoted field may span lines
        if not any(cell.strip() for cell in row):
            continue
        entry, problems = _entry(line, columns, row)
        if entry is not None:
            key = (entry.compound, entry.unit, entry.phone)
            if key in seen:
                problems.append(Fault("same-entry", {"line": seen[key]}))
            else:
                seen[key] = line
        if problems:
            errors.append(LineError(line, tuple(problems)))
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
            errors.append(LineError.of(entry.line, "unknown-compound", compound=entry.compound))
        elif entry.lat is not None and (entry.lat, entry.lon) != new[entry.compound]:
            errors.append(
                LineError.of(
                    entry.line,
                    "compound-moved",
                    compound=entry.compound,
                    first_line=first_line[entry.compound],
                )
            )
    return new, errors


def _fail(line: int, code: str, **params: str | int) -> ParsedWhitelist:
    return ParsedWhitelist(lines=[], errors=[LineError.of(line, code, **params)])


def _header_problem(columns: list[str]) -> Fault | None:
    allowed = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    unknown = [c for c in columns if c not in allowed]
    if unknown:
        return Fault(
            "unknown-columns",
            {"columns": ", ".join(repr(c) for c in unknown), "allowed": ",".join(allowed)},
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        return Fault("missing-columns", {"columns": ", ".join(missing)})
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        return Fault("repeated-columns", {"columns": ", ".join(repeated)})
    if ("lat" in columns) != ("lon" in columns):
        return Fault("lat-lon-columns")
    return None


def _entry(
    line: int, columns: list[str], row: list[str]
) -> tuple[WhitelistLine | None, list[Fault]]:
    # Spreadsheets often pad rows with empty trailing cells; only content beyond the
    # header is an error.
    extra = row[len(columns) :]
    short = any(c in REQUIRED_COLUMNS for c in columns[len(row) :])
    if short or any(cell.strip() for cell in extra):
        counts = {"expected": len(columns), "columns": ",".join(columns), "found": len(row)}
        return None, [Fault("field-count", counts)]
    cells = dict(zip(columns, row, strict=False))
    problems: list[Fault] = []
    compound = _label(cells.get("compound", ""), "compound", problems)
    unit = _label(cells.get("unit", ""), "unit", problems)
    phone = ""
    try:
        phone = normalize_phone(cells.get("phone", ""))
    except ValueError:
        problems.append(Fault("bad-phone"))
    lat = _coordinate(cells.get("lat", ""), "lat", 90, problems)
    lon = _coordinate(cells.get("lon", ""), "lon", 180, problems)
    if (lat is None) != (lon is None) and not problems:
        problems.append(Fault("lat-lon-both"))
    if problems:
        return None, problems
    return WhitelistLine(line, compound, unit, phone, lat, lon), problems


def _label(raw: str, name: str, problems: list[Fault]) -> str:
    label = normalize_label(raw)
    if not label:
        problems.append(Fault("empty-field", {"name": name}))
    elif len(label) > MAX_LABEL_LENGTH:
        problems.append(Fault("too-long", {"name": name, "limit": MAX_LABEL_LENGTH}))
    return label


def _coordinate(raw: str, name: str, limit: int, problems: list[Fault]) -> float | None:
    text = raw.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        problems.append(Fault("not-a-number", {"name": name, "value": text}))
        return None
    if not math.isfinite(value) or not -limit <= value <= limit:
        problems.append(Fault("out-of-range", {"name": name, "limit": limit}))
        return None
    return value
