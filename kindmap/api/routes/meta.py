"""Health, configuration for the page, and the category list."""

from __future__ import annotations

import json
import logging
from typing import Literal

import shapely
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from shapely.geometry import shape
from sqlalchemy import func, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select

from kindmap.api.deps import SessionDep, SettingsDep
from kindmap.config import ATTRIBUTION
from kindmap.db import read_session
from kindmap.models import Place, Region
from kindmap.schemas import CategoryOut, ConfigOut, ErrorOut, Health, RegionOut
from kindmap.taxonomy import categories

router = APIRouter(tags=["meta"])
log = logging.getLogger("kindmap.api")


class Live(BaseModel):
    status: Literal["ok"]


@router.get("/healthz", response_model=Live)
async def healthz() -> Live:
    """Liveness: the process answers requests (it does not touch the database; see /readyz)."""
    return Live(status="ok")


@router.get("/readyz", response_model=Health, responses={503: {"model": ErrorOut, "description": "The database does not answer."}})
def readyz(request: Request) -> Health | JSONResponse:
    """Readiness: the database answers, with the number of places in it."""
    try:
        with read_session(request.app.state.engine) as session:
            session.exec(text("SELECT 1"))
            count = session.exec(select(func.count(Place.id))).one()
    except SQLAlchemyError as exc:
        # The driver's message can name the database's path or host: the log gets its type only.
        log.warning("readiness check: the database does not answer (%s)", type(exc).__name__)
        return JSONResponse({"detail": "the database does not answer; see the server log"}, status_code=503,
                            headers={"Retry-After": "5"})
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
