"""Exports of the public catalogue (published places only) as CSV, GeoJSON and GeoPackage.

Every row carries its provenance (source, source id, licence, dates) and every file carries
the attribution: a column in CSV, a top-level member in GeoJSON, the layer description and
metadata in GeoPackage. Coordinates are EPSG:4326 (lon, lat). Files are written to a temporary
file beside the target and renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel
from sqlmodel import Session, select

from kindmap.config import ATTRIBUTION
from kindmap.errors import InvalidQuery
from kindmap.geo.rfc7946 import round_position
from kindmap.models import Place, PlaceStatus, Region
from kindmap.taxonomy import check_categories, label

FORMATS = ("csv", "geojson", "gpkg")
LAYER = "places"
# OWASP CSV injection: spreadsheet programs treat cells starting with these as formulas.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class PlaceRecord(BaseModel):
    """One published place as the public may see it: flat, EPSG:4326, with its provenance."""

    id: int
    name: str
    category: str
    category_label: str
    description: str | None
    address: str | None
    postcode: str | None
    lon: float
    lat: float
    opening_hours: str | None
    free_to_use: bool | None
    no_purchase_needed: bool | None
    drop_in: bool | None
    warm_hospitality: bool | None
    toilets: bool | None
    seating: bool | None
    wifi: bool | None
    wheelchair: str | None
    accessible_toilet: bool | None
    hearing_loop: bool | None
    quiet_space: bool | None
    step_free: bool | None
    phone: str | None
    email: str | None
    website: str | None
    region: str | None
    source: str
    source_id: str | None
    source_licence: str | None
    source_timestamp: datetime | None
    imported_at: datetime | None
    verified_at: datetime | None
    updated_at: datetime | None
    possibly_closed_since: datetime | None


DATETIME_FIELDS = tuple(n for n, f in PlaceRecord.model_fields.items() if f.annotation == (datetime | None))
BOOL_FIELDS = tuple(n for n, f in PlaceRecord.model_fields.items() if f.annotation == (bool | None))


def as_utc(value: datetime | None) -> datetime | None:
    """A stored datetime as timezone-aware UTC (SQLite hands them back naive, in UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def place_record(place: Place, *, region_slug: str | None) -> PlaceRecord:
    """The public record of one place (only the fields named in ``PlaceRecord``)."""
    values = {name: getattr(place, name, None) for name in PlaceRecord.model_fields}
    values.update(category_label=label(place.category), region=region_slug,
                  wheelchair=getattr(place.wheelchair, "value", place.wheelchair))
    for name in DATETIME_FIELDS:
        values[name] = as_utc(values[name])
    return PlaceRecord(**values)


def region_slugs(session: Session) -> dict[int, str]:
    """Region id → slug."""
    return {rid: slug for rid, slug in session.exec(select(Region.id, Region.slug)).all()}


def public_places(session: Session, *, region: str | None = None, categories: list[str] | None = None) -> list[PlaceRecord]:
    """Published welcoming places, by id, optionally in one region and some categories."""
    stmt = select(Place).where(Place.status == PlaceStatus.published, Place.listing == "welcoming").order_by(Place.id)
    slugs = region_slugs(session)
    if region is not None:
        ids = [rid for rid, slug in slugs.items() if slug == region]
        if not ids:
            known = ", ".join(sorted(slugs.values())) or "none yet"
            raise InvalidQuery(f"unknown region {region!r}; regions loaded: {known}")
        stmt = stmt.where(Place.region_id == ids[0])
    if categories:
        stmt = stmt.where(Place.category.in_(check_categories(list(categories))))
    return [place_record(p, region_slug=slugs.get(p.region_id)) for p in session.exec(stmt).all()]


def neutralise(text: str) -> str:
    """Prefix a cell that a spreadsheet would run as a formula with ``'`` (OWASP CSV injection)."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _csv_cell(value) -> str | float | int:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return value  # numbers (e.g. negative longitudes) are data, not formulas
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return neutralise(str(value))


CSV_COLUMNS = (*PlaceRecord.model_fields, "attribution")


def csv_text(records: list[PlaceRecord]) -> str:
    """The records as CSV (UTF-8 text, header row, formula cells neutralised, attribution column)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for record in records:
        row = [getattr(record, name) for name in PlaceRecord.model_fields]
        writer.writerow([_csv_cell(v) for v in row] + [neutralise(ATTRIBUTION)])
    return buffer.getvalue()


def geojson_document(records: list[PlaceRecord]) -> dict:
    """The records as a GeoJSON FeatureCollection (EPSG:4326) with the attribution."""
    features = []
    for record in records:
        props = record.model_dump(mode="json", exclude={"id", "lon", "lat"})
        features.append({"type": "Feature", "id": record.id,
                         "geometry": {"type": "Point", "coordinates": round_position(record.lon, record.lat)}, "properties": props})
    return {"type": "FeatureCollection", "name": LAYER, "attribution": ATTRIBUTION,
            "generated": datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "features": features}


def _check_target(path: Path) -> Path:
    path = Path(path).expanduser()
    if path.is_dir():
        raise InvalidQuery(f"--out {path} is a folder; give a file name, e.g. {path / 'places.csv'}")
    if not path.parent.is_dir():
        raise InvalidQuery(f"--out {path}: the folder {path.parent} does not exist; create it first")
    if not os.access(path.parent, os.W_OK):
        raise InvalidQuery(f"--out {path}: cannot write in {path.parent} (permission denied)")
    return path


@contextmanager
def atomic_path(target: Path, *, suffix: str) -> Iterator[Path]:
    """A temporary path beside ``target`` that replaces it only when the block succeeds."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    os.close(fd)
    os.unlink(tmp)  # writers such as GDAL want to create the file themselves
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        for leftover in (tmp, tmp + "-wal", tmp + "-shm", tmp + "-journal"):
            if os.path.exists(leftover):
                os.unlink(leftover)
        raise


def write_gpkg(records: list[PlaceRecord], path: Path) -> None:
    """Write the records as a GeoPackage point layer in EPSG:4326 (pyogrio)."""
    import geopandas as gpd
    import pandas as pd

    rows = [r.model_dump() for r in records]
    frame = pd.DataFrame(rows, columns=list(PlaceRecord.model_fields))
    for name in BOOL_FIELDS:
        frame[name] = frame[name].astype("boolean")
    for name in DATETIME_FIELDS:
        frame[name] = pd.to_datetime(frame[name], utc=True)
    geometry = gpd.points_from_xy(frame["lon"], frame["lat"], crs="EPSG:4326")
    gdf = gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")
    # GeoPackage 1.2 rather than GDAL's newest: older GDAL (QGIS LTR, Debian 12) reads it without warnings.
    gdf.to_file(path, driver="GPKG", layer=LAYER, engine="pyogrio", dataset_options={"VERSION": "1.2"},
                layer_options={"DESCRIPTION": ATTRIBUTION, "IDENTIFIER": "kindmap places"},
                metadata={"attribution": ATTRIBUTION, "source": "kindmap public catalogue"})


@dataclass
class ExportResult:
    path: Path
    format: str
    count: int


def export_catalogue(session: Session, *, fmt: str, out: Path, region: str | None = None,
                     categories: list[str] | None = None) -> ExportResult:
    """Write the public catalogue to ``out`` as csv, geojson or gpkg (atomically)."""
    if fmt not in FORMATS:
        raise InvalidQuery(f"unknown export format {fmt!r}; use one of: {', '.join(FORMATS)}")
    target = _check_target(out)
    records = public_places(session, region=region, categories=categories)
    try:
        with atomic_path(target, suffix=f".{fmt}") as tmp:
            if fmt == "csv":
                tmp.write_text(csv_text(records), encoding="utf-8", newline="")
            elif fmt == "geojson":
                tmp.write_text(json.dumps(geojson_document(records), ensure_ascii=False), encoding="utf-8")
            else:
                write_gpkg(records, tmp)
    except OSError as exc:
        raise InvalidQuery(f"--out {target}: could not write the file ({exc.strerror or exc})") from exc
    return ExportResult(path=target, format=fmt, count=len(records))
