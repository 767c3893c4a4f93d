"""Read OS Code-Point Open exactly as OS ships it: headerless CSVs, one per postcode area, with
the column names in ``Doc/Code-Point_Open_Column_Headers.csv`` and British National Grid
coordinates (EPSG:27700), converted to EPSG:4326 lon/lat with pyproj.

Only one council's units are kept (the ``Admin_district_code`` column), so a folder of every
postcode area is read row by row without holding what it does not need.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pyproj import Transformer

from kindmap.errors import DataError, InvalidQuery
from kindmap.ingest.limits import ImportLimits, check_file_size, too_many_rows
from kindmap.ingest.postcodes import normalise_postcode

# The release's own short names, used when the headers file is not beside the data.
DEFAULT_HEADERS = ("PC", "PQ", "EA", "NO", "CY", "RH", "LH", "CC", "DC", "WC")
_BNG_TO_WGS84 = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)


@dataclass
class CodePointUnit:
    postcode: str
    easting: float
    northing: float
    quality: int | None
    lon: float = 0.0
    lat: float = 0.0


@dataclass
class CodePointRead:
    units: list[CodePointUnit] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    rows_read: int = 0
    districts_seen: dict[str, int] = field(default_factory=dict)  # other councils' unit counts, for messages


def is_codepoint(path: Path) -> bool:
    """Whether ``path`` looks like Code-Point Open: a folder with its data CSVs, or a headerless area CSV."""
    path = Path(path)
    if path.is_dir():
        return bool(data_files(path))
    if path.suffix.lower() != ".csv" or not path.is_file():
        return False
    with path.open(encoding="utf-8-sig", newline="") as handle:
        first = next(csv.reader(handle), [])
    # A header row would start with a column name, not a postcode in quotes.
    return len(first) == 10 and _looks_like_postcode(first[0])


def _looks_like_postcode(text: str) -> bool:
    try:
        normalise_postcode(text)
    except InvalidQuery:
        return False
    return True


def data_files(folder: Path) -> list[Path]:
    """The area CSVs of a Code-Point Open folder (``Data/CSV/*.csv`` as OS ships it, or ``data/*.csv``)."""
    for sub in ("Data/CSV", "data/CSV", "Data", "data", "."):
        found = sorted(p for p in (folder / sub).glob("*.csv") if p.is_file() and "header" not in p.name.lower())
        if found:
            return found
    return []


def _headers(start: Path) -> tuple[str, ...]:
    """Short column names from the release's headers file near ``start``, else OS's documented order."""
    for folder in (start, start.parent, start.parent.parent, start.parent.parent.parent):
        for doc in ("Doc", "doc", "."):
            for candidate in sorted((folder / doc).glob("*Column_Headers*.csv")):
                with candidate.open(encoding="utf-8-sig", newline="") as handle:
                    row = next(csv.reader(handle), [])
                names = tuple(c.strip().upper() for c in row)
                if {"PC", "EA", "NO", "DC"} <= set(names):
                    return names
    return DEFAULT_HEADERS


def read_codepoint(path: Path, *, district: str, limits: ImportLimits | None = None) -> CodePointRead:
    """The postcode units of one council (``district``, a GSS code) from a Code-Point Open folder or area file.

    Raises ``DataError`` when no unit belongs to the council, naming the councils the file
    does hold, so a Code-Point file of another area is refused before anything is written.
    """
    path = Path(path)
    limits = limits or ImportLimits()
    if not path.exists():
        raise DataError(f"Code-Point Open {path} does not exist; give the folder (with Data/CSV) or one area file")
    files = data_files(path) if path.is_dir() else [path]
    if not files:
        raise DataError(f"{path} holds no Code-Point Open area files (Data/CSV/<area>.csv)")
    headers = _headers(path if path.is_dir() else path.parent)
    col = {name: headers.index(name) for name in ("PC", "EA", "NO", "DC")}
    quality_col = headers.index("PQ") if "PQ" in headers else None
    out = CodePointRead(files=files)
    seen: set[str] = set()
    for file in files:
        check_file_size(file, max_mb=limits.max_upload_mb)
        try:
            with file.open(encoding="utf-8-sig", newline="") as handle:
                for row in csv.reader(handle):
                    out.rows_read += 1
                    if len(row) < len(headers):
                        raise DataError(f"{file.name} row {out.rows_read} has {len(row)} columns, not the "
                                        f"{len(headers)} of Code-Point Open; is it the right file?")
                    code = row[col["DC"]].strip()
                    if code != district:
                        out.districts_seen[code] = out.districts_seen.get(code, 0) + 1
                        continue
                    if len(out.units) >= limits.max_rows:
                        raise too_many_rows(path.name, max_rows=limits.max_rows, unit="postcodes")
                    postcode = normalise_postcode(row[col["PC"]])
                    if postcode in seen:
                        continue
                    seen.add(postcode)
                    quality = row[quality_col].strip() if quality_col is not None else ""
                    out.units.append(CodePointUnit(postcode, float(row[col["EA"]]), float(row[col["NO"]]),
                                                   int(quality) if quality.isdigit() else None))
        except UnicodeDecodeError as exc:
            raise DataError(f"{file.name} is not Code-Point Open text: {exc}") from exc
        except (ValueError, InvalidQuery) as exc:
            raise DataError(f"{file.name} row {out.rows_read} is not a Code-Point Open record: {exc}") from exc
        except csv.Error as exc:
            raise DataError(f"{file.name} is not a readable CSV file: {exc}") from exc
    if not out.units:
        held = ", ".join(f"{c} ({n:,})" for c, n in sorted(out.districts_seen.items(), key=lambda kv: -kv[1])[:6])
        raise DataError(f"{', '.join(f.name for f in files)} hold(s) no postcodes of council {district} "
                        f"(they hold {held or 'no records'}); give the Code-Point Open area file(s) that cover it")
    east = np.array([u.easting for u in out.units])
    north = np.array([u.northing for u in out.units])
    lon, lat = _BNG_TO_WGS84.transform(east, north)
    for unit, x, y in zip(out.units, lon, lat):
        unit.lon, unit.lat = round(float(x), 6), round(float(y), 6)
    return out
