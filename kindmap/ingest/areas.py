"""Read small areas (LSOAs, data zones) with deprivation figures from any vector file
pyogrio can open (GeoJSON, GeoPackage, Shapefile), reprojected to EPSG:4326.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pyogrio
import shapely
from shapely.geometry import mapping

from kindmap.errors import DataError
from kindmap.ingest.limits import ImportLimits, check_file_size, too_many_rows
from kindmap.ingest.problems import RowProblem


@dataclass(frozen=True)
class AreaColumns:
    """Which columns of the file hold each field; rank/decile/population/households are optional."""

    code: str
    name: str
    rank: str | None = None
    decile: str | None = None
    population: str | None = None
    households: str | None = None
    index_name: str | None = None  # e.g. "IMD 2019"
    kind: str = "Small area"  # e.g. "LSOA 2011"
    score: str | None = None
    method: str | None = None  # how the deprivation figures reach this area (per row)
    index_col: str | None = None  # the index name per row (a table holding IMD 2025 and WIMD 2019)
    ward_code: str | None = None
    ward_name: str | None = None


@dataclass
class AreaRecord:
    code: str
    name: str
    kind: str
    geometry_geojson: str
    centroid_lon: float
    centroid_lat: float
    population: int | None = None
    households: int | None = None
    deprivation_index: str | None = None
    deprivation_rank: int | None = None
    deprivation_decile: int | None = None
    deprivation_score: float | None = None
    deprivation_method: str | None = None
    ward_code: str | None = None
    ward_name: str | None = None


@dataclass
class AreasRead:
    records: list[AreaRecord] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)


def _read_frame(path: Path, *, limits: ImportLimits | None = None, where: str | None = None,
                layer: str | None = None):
    if not path.is_file():
        raise DataError(f"area file {path} does not exist; check the path")
    if limits is not None and where is None:
        # A national table read through a filter costs its council's rows, not its size; the
        # row limit below still holds.
        check_file_size(path, max_mb=limits.max_upload_mb)
    try:
        # One feature past the limit is enough to know the file is over it; the rest is never read.
        frame = pyogrio.read_dataframe(path, layer=layer, where=where,
                                       max_features=limits.max_rows + 1 if limits else None)
    except Exception as exc:  # pyogrio raises several driver-specific errors
        raise DataError(f"{path.name} is not a readable vector file (GeoJSON, GeoPackage…): {exc}") from exc
    if limits is not None and len(frame) > limits.max_rows:
        raise too_many_rows(path.name, max_rows=limits.max_rows, unit="areas")
    if frame.crs is None:
        # GeoJSON without a crs member is CRS84 by RFC 7946.
        frame = frame.set_crs("EPSG:4326")
    elif not frame.crs.equals("EPSG:4326") and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs("EPSG:4326")
    return frame


def _optional_int(value, *, row: int, column: str | None, problems: list[RowProblem]) -> int | None:
    """A count (population, households): a finite number ≥ 0, rounded; a problem for the row otherwise."""
    number = _optional_float(value, row=row, column=column, problems=problems)
    if number is None:
        return None
    if number < 0:
        problems.append(RowProblem(row, column, f"{value!r} is not a non-negative number"))
        return None
    return int(round(number))


def _optional_text(value, *, max_length: int) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text[:max_length] or None


def _optional_float(value, *, row: int, column: str | None, problems: list[RowProblem]) -> float | None:
    if column is None or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        problems.append(RowProblem(row, column, f"{value!r} is not a number"))
        return None
    if math.isnan(number):
        return None
    if not math.isfinite(number):
        problems.append(RowProblem(row, column, f"{value!r} is not a finite number"))
        return None
    return number


def read_areas(path: Path, *, columns: AreaColumns, limits: ImportLimits | None = None,
               where: str | None = None, layer: str | None = None) -> AreasRead:
    """Read areas within ``limits``; bad rows become ``problems`` (the caller decides whether to proceed).

    ``where`` is an OGR SQL filter (e.g. ``ltla24cd = 'W06000022'``) so only one council's rows
    of a national table are read; ``layer`` names the layer of a multi-layer file.
    """
    frame = _read_frame(Path(path), limits=limits or ImportLimits(), where=where, layer=layer)
    available = [c for c in frame.columns if c != "geometry"]
    wanted = {k: v for k, v in vars(columns).items() if k not in ("index_name", "kind") and v}
    missing = [f"{k}={v!r}" for k, v in wanted.items() if v not in available]
    if missing:
        raise DataError(
            f"{Path(path).name} has no column for {', '.join(missing)}; "
            f"its columns are: {', '.join(available)}. Name the right ones with the column options."
        )
    out = AreasRead(columns=available)
    seen: set[str] = set()
    for i, row in enumerate(frame.itertuples(index=False), start=1):
        rec = row._asdict()
        code = str(rec[columns.code] or "").strip()
        name = str(rec[columns.name] or "").strip()
        geom = rec["geometry"]
        if not code:
            out.problems.append(RowProblem(i, columns.code, "empty area code"))
            continue
        if code in seen:
            out.problems.append(RowProblem(i, columns.code, f"duplicate area code {code}"))
            continue
        seen.add(code)
        if geom is None or geom.is_empty:
            out.problems.append(RowProblem(i, "geometry", "missing or empty geometry"))
            continue
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
        minx, miny, maxx, maxy = geom.bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            out.problems.append(RowProblem(i, "geometry", "coordinates out of range for EPSG:4326"))
            continue
        point = geom.representative_point()
        problems: list[RowProblem] = []
        decile = _optional_int(rec.get(columns.decile) if columns.decile else None, row=i, column=columns.decile, problems=problems)
        if decile is not None and not 1 <= decile <= 10:
            problems.append(RowProblem(i, columns.decile, f"decile {decile} is not between 1 and 10"))
        record = AreaRecord(
            code=code[:16],
            name=(name or code)[:200],
            kind=columns.kind,
            geometry_geojson=json.dumps(mapping(geom), separators=(",", ":")),
            centroid_lon=float(point.x),
            centroid_lat=float(point.y),
            population=_optional_int(rec.get(columns.population) if columns.population else None, row=i, column=columns.population, problems=problems),
            households=_optional_int(rec.get(columns.households) if columns.households else None, row=i, column=columns.households, problems=problems),
            deprivation_index=(_optional_text(rec.get(columns.index_col), max_length=40) if columns.index_col else None)
            or columns.index_name,
            deprivation_rank=_optional_int(rec.get(columns.rank) if columns.rank else None, row=i, column=columns.rank, problems=problems),
            deprivation_decile=decile,
            deprivation_score=_optional_float(rec.get(columns.score) if columns.score else None, row=i, column=columns.score, problems=problems),
            deprivation_method=_optional_text(rec.get(columns.method), max_length=200) if columns.method else None,
            ward_code=_optional_text(rec.get(columns.ward_code), max_length=16) if columns.ward_code else None,
            ward_name=_optional_text(rec.get(columns.ward_name), max_length=200) if columns.ward_name else None,
        )
        if problems:
            out.problems.extend(problems)
            continue
        out.records.append(record)
    if not out.records and not out.problems:
        raise DataError(f"{Path(path).name} holds no areas")
    return out


def read_boundary(path: Path, *, where: str | None = None, layer: str | None = None) -> str:
    """Union of every feature in a boundary file (or of those ``where`` selects), as GeoJSON text in EPSG:4326."""
    frame = _read_frame(Path(path), where=where, layer=layer)
    geoms = [g for g in frame.geometry if g is not None and not g.is_empty]
    if not geoms:
        raise DataError(f"{Path(path).name} holds no boundary geometry")
    return json.dumps(mapping(shapely.union_all([shapely.make_valid(g) for g in geoms])), separators=(",", ":"))
