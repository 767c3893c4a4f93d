"""Read places from a CSV file through a column mapping (file in, checked rows out).

Decisions (documented in geodata/oruk_mapping.md, "CSV"):

* Encoding: UTF-8 (a BOM is fine). Anything else is refused with the byte offset and
  the hint ``--encoding cp1252``; guessing silently turns "café" into "cafÃ©".
* Delimiter: sniffed among ``,`` ``;`` and tab from the first 64 KiB (``,`` if unsure).
* Formula-like cells (``=…``, ``@…``, ``+``/``-`` followed by something that is not a
  number or phone number) are kept as plain text, never evaluated, and flagged as
  warnings with their row and column.
* Coordinates are EPSG:4326 lon/lat; rows without them carry a postcode that the
  service geocodes (this module imports no database code).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kindmap.errors import DataError, InvalidQuery
from kindmap.hours import check_hours
from kindmap.ingest.limits import ImportLimits, bounded_rows, check_file_size
from kindmap.ingest.problems import RowProblem
from kindmap.ingest.textfile import SAMPLE_CHARS, text_lines

FIELDS = ("name", "description", "category", "lon", "lat", "address", "postcode", "opening_hours",
          "phone", "email", "website")
_FORMULA = re.compile(r"^(=|@|[+-](?![\d\s().+-]*$))")
_MAX = {"name": 200, "description": 4000, "address": 400, "phone": 80, "email": 200, "website": 500}


@dataclass
class CsvMapping:
    """How a CSV's columns become place fields; every option is a column *name*."""

    columns: dict[str, str | list[str]] = field(default_factory=dict)
    hours_by_day: dict[str, list[str]] = field(default_factory=dict)  # "Mo": ["Monday staffed hours", …]
    description_extra: list[str] = field(default_factory=list)  # appended as "Column: value"
    source_id: list[str] = field(default_factory=list)
    category: str = "other"
    category_column: str | None = None
    category_values: dict[str, str] = field(default_factory=dict)
    closed_if_set: list[str] = field(default_factory=list)
    where: dict[str, str] = field(default_factory=dict)
    exclude: dict[str, list[str]] = field(default_factory=dict)
    licence: str | None = None

    def required_columns(self) -> list[str]:
        """Every column the mapping names, in a stable order."""
        names: list[str] = []
        for value in self.columns.values():
            names.extend([value] if isinstance(value, str) else value)
        for cols in self.hours_by_day.values():
            names.extend(cols)
        names += self.description_extra + self.source_id + self.closed_if_set + list(self.where) + list(self.exclude)
        if self.category_column:
            names.append(self.category_column)
        return list(dict.fromkeys(names))


def mapping_from_dict(data: Mapping[str, Any]) -> CsvMapping:
    """A mapping from its JSON form (see geodata/oruk_mapping.md); ``InvalidQuery`` if malformed."""
    known = set(CsvMapping.__dataclass_fields__)
    unknown = set(data) - known
    if unknown:
        raise InvalidQuery(f"unknown mapping key(s) {sorted(unknown)}; use: {sorted(known)}")
    bad = set(data.get("columns", {})) - set(FIELDS)
    if bad:
        raise InvalidQuery(f"unknown place field(s) {sorted(bad)} in mapping columns; use: {', '.join(FIELDS)}")
    days = set(data.get("hours_by_day", {})) - {"Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"}
    if days:
        raise InvalidQuery(f"hours_by_day keys are Mo Tu We Th Fr Sa Su, not {sorted(days)}")
    try:
        return CsvMapping(**{k: v for k, v in data.items() if k in known})
    except TypeError as exc:
        raise InvalidQuery(f"mapping is malformed: {exc}") from None


@dataclass
class CsvPlaceRow:
    """One accepted row: place fields (lon/lat may be None → geocode the postcode)."""

    row: int
    source_id: str
    values: dict[str, Any]
    hours_converted: bool | None  # None: no hours given
    raw: dict[str, str]


@dataclass
class CsvRead:
    rows: list[CsvPlaceRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)
    filtered: int = 0
    total_rows: int = 0
    delimiter: str = ","

    @property
    def hours_converted(self) -> int:
        """Rows whose hours became an OSM opening_hours string."""
        return sum(1 for r in self.rows if r.hours_converted)

    @property
    def hours_as_text(self) -> int:
        """Rows whose hours could not be converted and are kept as text."""
        return sum(1 for r in self.rows if r.hours_converted is False)


def sniff_delimiter(text: str) -> str:
    """',' ';' or tab, from the start of the file (',' when unsure)."""
    sample = text[:SAMPLE_CHARS]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        counts = {d: sample.split("\n", 1)[0].count(d) for d in ",;\t"}
        return max(counts, key=counts.get) if any(counts.values()) else ","


DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_RANGE = re.compile(r"^(\d{1,2})[:.](\d{2})\s*[-\u2013]\s*(\d{1,2})[:.](\d{2})$")


def _ranges(cell: str) -> list[tuple[int, int]] | None:
    """'10:00-13:00,14:00-17:00' → minutes since midnight; None if any part is not a time range."""
    out = []
    for part in re.split(r"\s*[,;&]\s*|\s+and\s+", cell.strip()):
        match = _RANGE.match(part)
        if not match:
            return None
        h1, m1, h2, m2 = map(int, match.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if end <= start and end <= 6 * 60:
            end += 24 * 60  # closes at or after midnight: OSM writes 24:00 or 26:00
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or start >= end:
            return None
        out.append((start, end))
    return out


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _day_runs(days: list[int]) -> str:
    runs: list[list[int]] = []
    for d in sorted(days):
        if runs and d == runs[-1][-1] + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    return ",".join(DAYS[r[0]] if len(r) == 1 else f"{DAYS[r[0]]}{'-' if len(r) > 2 else ','}{DAYS[r[-1]]}" for r in runs)


def day_hours_to_osm(cells: Mapping[str, list[str]]) -> tuple[str | None, bool | None]:
    """Per-weekday cells ('09:30-17:00', '10:00-13:00,14:00-17:00') → (OSM opening_hours, True),
    or the cells as text and False when one cannot be read, or (None, None) when all are blank.

    Several cells for one day (staffed and unstaffed hours) are joined: the building is open in both.
    """
    given = {d: [c.strip() for c in cs if c and c.strip()] for d, cs in cells.items()}
    given = {d: cs for d, cs in given.items() if cs}
    if not given:
        return None, None
    per_day: dict[int, tuple[tuple[int, int], ...]] = {}
    for day, cs in given.items():
        parsed = [_ranges(c) for c in cs]
        if any(p is None for p in parsed):
            text = "; ".join(f"{d} {', '.join(given[d])}" for d in DAYS if d in given)
            return text[:1000], False
        per_day[DAYS.index(day)] = tuple(_merge([r for p in parsed for r in p]))
    groups: dict[tuple, list[int]] = {}
    for day in sorted(per_day):
        groups.setdefault(per_day[day], []).append(day)
    clock = lambda m: f"{m // 60:02d}:{m % 60:02d}"  # noqa: E731
    rules = [f"{_day_runs(days)} {','.join(f'{clock(a)}-{clock(b)}' for a, b in ranges)}"
             for ranges, days in sorted(groups.items(), key=lambda kv: kv[1][0])]
    text = "; ".join(rules)
    return (text, True) if check_hours(text).valid else (text, False)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _number(text: str, *, column: str, row: int, lo: float, hi: float, problems: list[RowProblem]) -> float | None:
    try:
        value = float(text)
    except ValueError:
        problems.append(RowProblem(row, column, f"{text!r} is not a number"))
        return None
    if not math.isfinite(value) or not lo <= value <= hi:
        problems.append(RowProblem(row, column, f"{value} is out of range {lo:g}..{hi:g} (EPSG:4326 degrees)"))
        return None
    return value


def read_csv_places(path: Path | None = None, *, mapping: CsvMapping, text: str | None = None,
                    encoding: str = "utf-8", limits: ImportLimits | None = None) -> CsvRead:
    """Read rows through ``mapping`` within ``limits``; file problems raise ``DataError``, row problems are listed.

    A file is measured first, then streamed: its rows are counted as they are read and the
    rest of an over-long file is never read.
    """
    limits = limits or ImportLimits()
    name = Path(path).name if path else "input"
    if text is not None:
        return _read_rows(io.StringIO(text, newline=""), sample=text[:SAMPLE_CHARS], name=name, mapping=mapping,
                          max_rows=limits.max_rows)
    check_file_size(Path(path), max_mb=limits.max_upload_mb)
    with text_lines(Path(path), encoding=encoding) as (sample, lines):
        return _read_rows(lines, sample=sample, name=name, mapping=mapping, max_rows=limits.max_rows)


def _read_rows(lines: Iterable[str], *, sample: str, name: str, mapping: CsvMapping, max_rows: int) -> CsvRead:
    delimiter = sniff_delimiter(sample)
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        header = [h.strip() for h in next(reader, [])]
        if not any(header):
            raise DataError(f"{name} is empty or has no header row")
        missing = [c for c in mapping.required_columns() if c not in header]
        if missing:
            hint = f" (read with delimiter {delimiter!r}; the header has {len(header)} column(s))"
            raise DataError(f"{name} is missing column(s) {', '.join(map(repr, missing))}{hint}; found: "
                            f"{', '.join(map(repr, header[:40]))}. Map them with --col FIELD=COLUMN or --mapping.")
        result = CsvRead(delimiter=delimiter)
        pos = {h: i for i, h in reversed(list(enumerate(header)))}
        # Blank lines are not rows: they neither count towards the limit nor get a problem.
        rows = ((number, cells) for number, cells in enumerate(reader, start=1) if any(c.strip() for c in cells))
        for number, cells in bounded_rows(rows, max_rows=max_rows, what=name):
            result.total_rows += 1
            if len(cells) != len(header):
                result.problems.append(RowProblem(number, None, f"has {len(cells)} cells but the header has "
                                                  f"{len(header)} (a stray delimiter or quote?)"))
                continue
            raw = {h: cells[i].strip() for h, i in pos.items()}
            if _filtered_out(raw, mapping):
                result.filtered += 1
                continue
            row = _map_row(number, raw, mapping, result)
            if row is not None:
                result.rows.append(row)
    except csv.Error as exc:  # e.g. a field over the csv module's size limit, or a NUL byte
        raise DataError(f"{name} is not a readable CSV file (line {reader.line_num}: {exc})") from None
    return result


def _filtered_out(raw: dict[str, str], mapping: CsvMapping) -> bool:
    if any(raw.get(col, "") != want for col, want in mapping.where.items()):
        return True
    return any(raw.get(col, "") in values for col, values in mapping.exclude.items())


def _get(raw: dict[str, str], spec: str | list[str] | None, sep: str = ", ") -> str | None:
    if spec is None:
        return None
    parts = [raw.get(c, "") for c in ([spec] if isinstance(spec, str) else spec)]
    joined = sep.join(p for p in parts if p)
    return joined or None


def _map_row(number: int, raw: dict[str, str], mapping: CsvMapping, result: CsvRead) -> CsvPlaceRow | None:
    problems: list[RowProblem] = []
    for col in mapping.required_columns():
        if _FORMULA.match(raw.get(col, "")):
            result.warnings.append(RowProblem(number, col, "looks like a spreadsheet formula; kept as plain text, never evaluated"))
    cols = mapping.columns
    values: dict[str, Any] = {}
    for fname in ("name", "description", "address", "phone", "email", "website"):
        value = _get(raw, cols.get(fname))
        if value and fname in _MAX and len(value) > _MAX[fname]:
            problems.append(RowProblem(number, str(cols.get(fname)), f"longer than {_MAX[fname]} characters"))
        values[fname] = value
    if not values["name"]:
        problems.append(RowProblem(number, str(cols.get("name")), "name is empty"))
    extras = [f"{c}: {raw[c]}" for c in mapping.description_extra if raw.get(c)]
    if extras:
        values["description"] = "\n".join(([values["description"]] if values["description"] else []) + extras)[:4000]
    values["category"] = mapping.category
    if mapping.category_column:
        given = raw.get(mapping.category_column, "")
        values["category"] = mapping.category_values.get(given, given if not mapping.category_values else mapping.category)
    lon_text, lat_text = _get(raw, cols.get("lon")), _get(raw, cols.get("lat"))
    values["lon"] = values["lat"] = None
    if lon_text or lat_text:
        if not (lon_text and lat_text):
            problems.append(RowProblem(number, str(cols.get("lon" if not lon_text else "lat")), "give both longitude and latitude"))
        else:
            values["lon"] = _number(lon_text, column=str(cols["lon"]), row=number, lo=-180, hi=180, problems=problems)
            values["lat"] = _number(lat_text, column=str(cols["lat"]), row=number, lo=-90, hi=90, problems=problems)
    values["postcode"] = _get(raw, cols.get("postcode"))
    if values["lon"] is None and not values["postcode"] and not problems:
        problems.append(RowProblem(number, str(cols.get("postcode") or cols.get("lon")),
                                   "no coordinates and no postcode: the place cannot go on the map"))
    converted = None
    if mapping.hours_by_day:
        hours, converted = day_hours_to_osm({d: [raw.get(c, "") for c in cs] for d, cs in mapping.hours_by_day.items()})
        values["opening_hours"] = hours
    else:
        values["opening_hours"] = _get(raw, cols.get("opening_hours"))
        converted = None if not values["opening_hours"] else True
    if any(raw.get(c) for c in mapping.closed_if_set):
        values["status"] = "closed"
    source_id = "/".join(_slug(raw.get(c, "")) for c in mapping.source_id).rstrip("/") if mapping.source_id else _slug(values["name"] or "")
    if not source_id.strip("/") and not problems:
        problems.append(RowProblem(number, ",".join(mapping.source_id) or None, "no identifier for this row"))
    if problems:
        result.problems.extend(problems)
        return None
    return CsvPlaceRow(number, source_id[:120], values, converted, raw)


def _weekday_columns(pattern: str | tuple[str, ...]) -> dict[str, list[str]]:
    names = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    patterns = (pattern,) if isinstance(pattern, str) else pattern
    return {d: [p.format(day=n) for p in patterns] for d, n in zip(DAYS, names)}


# Built-in mappings for well-known open lists, so nobody writes a mapping for them.
PRESETS: dict[str, dict[str, Any]] = {
    # Libraries Hacked "schemas" format (libraries_rutland.csv, uk/schemas__libraries.csv).
    "libraries-schema": {
        "columns": {"name": "Library name", "address": ["Address 1", "Address 2", "Address 3"],
                    "postcode": "Postcode", "website": "URL", "email": "Email address"},
        "hours_by_day": _weekday_columns(("{day} staffed hours", "{day} unstaffed hours")),
        "description_extra": ["Special hours", "Notes"],
        "source_id": ["Local authority", "Library name", "Postcode", "Year closed"],
        "category": "library",
        "closed_if_set": ["Year closed"],
        "licence": "CC0-1.0 / OGL-UK-3.0",
    },
    # Arts Council England 2023 basic dataset, enhanced with coordinates (opening-time *bands*).
    "libraries-england-2023": {
        "columns": {"name": "Name", "address": ["Address 1", "Address 2", "Address 3"], "postcode": "Postcode",
                    "lon": "Longitude", "lat": "Latitude"},
        "hours_by_day": _weekday_columns("{day} opening times"),
        "description_extra": ["Hours open per week", "Email or website"],
        "source_id": ["Reporting service code", "Name", "Type", "Postcode"],
        "category": "library",
        "category_column": "Type",
        "category_values": {"Static Library": "library", "Static Local History Library": "library",
                            "Archive": "museum_gallery"},
        # A mobile library has no fixed place; a prison library is not open to the public.
        "exclude": {"Type": ["Mobile Library", "Prison Library"]},
        "closed_if_set": ["Year closed"],
        "licence": "OGL-UK-3.0",
    },
}


def preset(name: str) -> CsvMapping:
    """A built-in mapping by name; ``InvalidQuery`` naming the known ones."""
    if name not in PRESETS:
        raise InvalidQuery(f"unknown preset {name!r}; use one of: {', '.join(PRESETS)}")
    return mapping_from_dict(PRESETS[name])
