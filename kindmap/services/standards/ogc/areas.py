"""The OGC API ``areas`` collection: small areas (LSOA, data zone) with public statistics, counts below 10 null.

Registered into ``kindmap.services.standards.ogc.registry.COLLECTIONS`` on import (``ogc`` imports it after places).
Geometries are CRS84 polygons; bbox and extent use shapely on geometries parsed once per table version.
"""

from __future__ import annotations

import threading

import numpy as np
import shapely
from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import Session, select

from kindmap.geo import rfc7946
from kindmap.models import Area
from kindmap.services.catalogue.export import region_slugs
from kindmap.services.standards.ogc.registry import (
    MIN_COUNT,
    Collection,
    Filter,
    eq_filter,
    region_clause,
    register,
    split_bbox,
)

DECILE = {"type": "integer", "minimum": 1, "maximum": 10}


def _decile(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 10:
        raise ValueError("must be a whole number from 1 (most deprived) to 10")
    return int(text)


class AreaProperties(BaseModel):
    """Public statistics of one small area (counts below 10 are suppressed to null)."""

    code: str
    name: str
    kind: str
    region: str | None
    population: int | None
    households: int | None
    deprivation_index: str | None
    deprivation_rank: int | None
    deprivation_decile: int | None


def _suppress(count: int | None) -> int | None:
    return None if count is None or count < MIN_COUNT else count


def _area_feature(area: Area, context: dict) -> dict:
    props = AreaProperties(code=area.code, name=area.name, kind=area.kind, region=context["regions"].get(area.region_id),
                           population=_suppress(area.population), households=_suppress(area.households),
                           deprivation_index=area.deprivation_index, deprivation_rank=area.deprivation_rank,
                           deprivation_decile=area.deprivation_decile)
    return {"type": "Feature", "id": area.code, "geometry": rfc7946.geometry(area.geometry_geojson),
            "properties": props.model_dump(mode="json")}


class _AreaShapes:
    """Area ids and shapely geometries, parsed once per version of the area table (for bbox and extent)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[str, tuple] = {}

    def get(self, session: Session) -> tuple[np.ndarray, np.ndarray]:
        key = str(session.get_bind().url)
        signature = session.exec(select(func.count(Area.id), func.max(Area.id),
                                        func.sum(func.length(Area.geometry_geojson)))).one()
        with self._lock:
            hit = self._cache.get(key)
            if hit is None or hit[0] != tuple(signature):
                rows = session.exec(select(Area.id, Area.geometry_geojson).order_by(Area.id)).all()
                ids = np.array([r[0] for r in rows], dtype=np.int64)
                geoms = shapely.from_geojson([r[1] for r in rows]) if rows else np.array([], dtype=object)
                hit = self._cache[key] = (tuple(signature), ids, geoms)
        return hit[1], hit[2]


AREA_SHAPES = _AreaShapes()


def _area_bbox(session: Session, bbox: tuple):
    ids, geoms = AREA_SHAPES.get(session)
    hit = np.zeros(ids.size, dtype=bool)
    for box in split_bbox(bbox):
        hit |= shapely.intersects(geoms, shapely.box(*box)) if ids.size else hit
    return Area.id.in_([int(i) for i in ids[hit]])


def _area_extent(session: Session) -> list[float] | None:
    ids, geoms = AREA_SHAPES.get(session)
    return [float(v) for v in shapely.total_bounds(geoms)] if ids.size else None


def _area_fid(text: str):
    if not text or len(text) > 16:
        raise ValueError("not a feature id")
    return Area.code == text


register(Collection(
    id="areas", title="Small areas and deprivation",
    description="Small statistical areas (LSOA, data zone) with published population, households and deprivation "
                "(decile 1 = most deprived). Public statistics only; counts below 10 are null. "
                "Filters: deprivation_decile (1-10), kind, region.",
    table=Area, key=Area.id, public=(), feature=_area_feature, fid=_area_fid, bbox=_area_bbox, extent=_area_extent,
    filters={"deprivation_decile": eq_filter(Area.deprivation_decile, _decile, DECILE), "kind": eq_filter(Area.kind),
             "region": Filter(str, region_clause(Area.region_id))},
    context=lambda session: {"regions": region_slugs(session)},
    properties=(AreaProperties, frozenset()), fid_type="string",
))
