"""Read postcode centroids from CSV (postcode, lon, lat and optionally a small-area code)."""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from kindmap.errors import DataError, InvalidQuery
from kindmap.ingest.limits import ImportLimits, bounded_rows, check_file_size
from kindmap.ingest.problems import RowProblem

# Outward code, then inward code (digit + two letters); validation only, not a register.
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")

# Header names seen in common open postcode files, first match wins.
CANDIDATES = {
    "postcode": ("postcode", "pcds", "pcd", "postcode_nospace"),
    "lon": ("lon", "long", "longitude", "x"),
    "lat": ("lat", "latitude", "y"),
    "area_code": ("area_code", "lsoa11_code", "lsoa11", "lsoa11cd", "dz11_code", "datazone", "dz11cd", "lsoa21cd"),
}


def normalise_postcode(text: str) -> str:
    """'le156hp' → 'LE15 6HP'; raises ``InvalidQuery`` if it is not shaped like a UK postcode."""
    compact = re.sub(r"\s+", "", str(text or "")).upper()
    match = _POSTCODE.match(compact)
    if not match:
        raise InvalidQuery(f"{text!r} is not a UK postcode; write it like 'LE15 6HP'")
    return f"{match.group(1)} {match.group(2)}"


@dataclass
class PostcodeRecord:
    postcode: str
    lon: float
    lat: float
    area_code: str | None


@dataclass
class PostcodesRead:
    records: list[PostcodeRecord] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    columns: dict[str, str | None] = field(default_factory=dict)


def _pick(header: list[str], role: str, explicit: str | None) -> str | None:
    if explicit:
        return explicit if explicit in header else None
    lowered = {h.lower(): h for h in header}
    return next((lowered[c] for c in CANDIDATES[role] if c in lowered), None)


def read_postcodes(path: Path, *, columns: dict[str, str] | None = None,
                   limits: ImportLimits | None = None) -> PostcodesRead:
    """Read a postcode CSV within ``limits`` (size, then rows as they are read); bad rows become ``problems``."""
    path = Path(path)
    limits = limits or ImportLimits()
    if not path.is_file():
        raise DataError(f"postcode file {path} does not exist; check the path")
    check_file_size(path, max_mb=limits.max_upload_mb)
    columns = columns or {}
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
    except UnicodeDecodeError as exc:
        raise DataError(f"{path.name} is not UTF-8 text; save it as UTF-8 CSV") from exc
    with handle:
        picked = {role: _pick(header, role, columns.get(role)) for role in CANDIDATES}
        missing = [r for r in ("postcode", "lon", "lat") if picked[r] is None]
        if missing:
            raise DataError(
                f"{path.name} has no {', '.join(missing)} column; its columns are: {', '.join(header) or '(none)'}. "
                "Name them with --postcode-col/--lon-col/--lat-col."
            )
        out = PostcodesRead(columns=picked)
        seen: set[str] = set()
        try:
            rows = bounded_rows(reader, max_rows=limits.max_rows, what=path.name)
            for i, row in enumerate(rows, start=1):
                try:
                    code = normalise_postcode(row.get(picked["postcode"]) or "")
                except InvalidQuery as exc:
                    out.problems.append(RowProblem(i, picked["postcode"], exc.message))
                    continue
                try:
                    lon = float(row.get(picked["lon"]) or "nan")
                    lat = float(row.get(picked["lat"]) or "nan")
                except ValueError:
                    out.problems.append(RowProblem(i, picked["lon"], "longitude/latitude is not a number"))
                    continue
                if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
                    out.problems.append(RowProblem(i, picked["lon"], f"coordinates ({lon}, {lat}) are missing or out of range"))
                    continue
                if code in seen:
                    continue  # the same postcode twice in one file: the first wins
                seen.add(code)
                area = (row.get(picked["area_code"]) or "").strip() if picked["area_code"] else ""
                out.records.append(PostcodeRecord(code, lon, lat, area or None))
        except UnicodeDecodeError as exc:
            raise DataError(f"{path.name} is not UTF-8 text; save it as UTF-8 CSV") from exc
        except csv.Error as exc:
            raise DataError(f"{path.name} is not a readable CSV file: {exc}") from exc
    return out
