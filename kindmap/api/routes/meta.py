"""Health, configuration for the page, and the category list."""

from __future__ import annotations

import json

import shapely
from fastapi import APIRouter
from pydantic import Field
from shapely.geometry import shape
from sqlalchemy import func, text
from sqlmodel import select

from kindmap.api.deps import SessionDep, SettingsDep
from kindmap.config import ATTRIBUTION
from kindmap.models import Place, Region
from kindmap.schemas import CategoryOut, ConfigOut, Health, RegionOut
from kindmap.taxonomy import categories

router = APIRouter(tags=["meta"])


@router.get("/healthz", response_model=Health)
def healthz(session: SessionDep) -> Health:
    """Liveness and readiness: the database answers."""
    session.exec(text("SELECT 1"))
    count = session.exec(select(func.count(Place.id))).one()
    return Health(status="ok", database="ok", places=count)


@router.get("/api/categories", response_model=list[CategoryOut])
def list_categories() -> list[CategoryOut]:
    """The taxonomy of welcoming places."""
    return [CategoryOut(slug=c.slug, label=c.label) for c in categories().values()]


def _bbox(geojson: str | None, fallback: tuple | None) -> tuple | None:
    if geojson:
        return tuple(round(v, 5) for v in shapely.bounds(shape(json.loads(geojson))).tolist())
    return fallback


class PageConfig(ConfigOut):
    max_bbox_km2: float = Field(description="Largest bbox /api/places accepts, in km²; the map lists places only "
                                            "in views up to this size and shows clusters beyond it.")


@router.get("/api/config", response_model=PageConfig)
def config(session: SessionDep, settings: SettingsDep) -> PageConfig:
    """What the public page needs to draw the map."""
    regions = []
    for region in session.exec(select(Region).order_by(Region.name)).all():
        extent = session.exec(
            select(func.min(Place.lon), func.min(Place.lat), func.max(Place.lon), func.max(Place.lat)).where(Place.region_id == region.id)
        ).one()
        fallback = tuple(extent) if extent[0] is not None else None
        regions.append(RegionOut(slug=region.slug, name=region.name, code=region.code, bbox=_bbox(region.boundary_geojson, fallback)))
    return PageConfig(tile_url=settings.tile_url, tile_attribution=settings.tile_attribution, attribution=ATTRIBUTION,
                      regions=regions, default_radius_m=settings.default_radius_m, max_bbox_km2=settings.max_bbox_km2)
