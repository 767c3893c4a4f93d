"""Opportunities and support services: public reads; writes by admins and council analysts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from kindmap.api.auth import require_roles
from kindmap.api.deps import EngineDep, SessionDep, SettingsDep
from kindmap.db import write_session
from kindmap.hours import to_local_naive
from kindmap.models.activities import (
    OpportunityCreate,
    OpportunityPublic,
    SupportCreate,
    SupportKind,
    SupportPublic,
)
from kindmap.schemas import ErrorOut
from kindmap.services.catalogue import activities as svc

router = APIRouter(prefix="/api", tags=["activities"])

ERRORS = {404: {"model": ErrorOut}, 422: {"model": ErrorOut}}
WRITE_ERRORS = {**ERRORS, 401: {"model": ErrorOut}, 403: {"model": ErrorOut}}
EDITORS = ("admin", "council_analyst")
Editor = Depends(require_roles(*EDITORS))
Lon = Annotated[float | None, Query(ge=-180, le=180, allow_inf_nan=False, description="Longitude, EPSG:4326")]
Lat = Annotated[float | None, Query(ge=-90, le=90, allow_inf_nan=False, description="Latitude, EPSG:4326")]
Postcode = Annotated[str | None, Query(max_length=10, description="A UK postcode, e.g. LE15 6HP")]


def _now(settings) -> datetime:
    return to_local_naive(datetime.now().astimezone(), tz=settings.timezone)


@router.get("/opportunities", response_model=list[OpportunityPublic], responses=ERRORS)
def list_opportunities(
    session: SessionDep,
    settings: SettingsDep,
    lon: Lon = None,
    lat: Lat = None,
    postcode: Postcode = None,
    radius_m: Annotated[float, Query(gt=0, le=100_000, allow_inf_nan=False, description="Metres")] = 3000,
    interest: Annotated[list[str], Query(description="Interest slugs (repeatable); any may match")] = [],  # noqa: B006
    free: Annotated[bool | None, Query(description="Only free (true) or only not free (false)")] = None,
    windows: Annotated[str | None, Query(max_length=500, description="Only on during these, e.g. 'Mon 10:00-12:00,Thu 14:00-16:00'")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[OpportunityPublic]:
    """Activities, groups and events near a point or postcode, nearest first (or all, by title)."""
    return svc.search_opportunities(session, lon=lon, lat=lat, postcode=postcode, radius_m=radius_m, interests=interest,
                                    free=free, windows=windows, limit=limit, tz=settings.timezone)


@router.get("/opportunities/{opportunity_id}", response_model=OpportunityPublic, responses=ERRORS)
def read_opportunity(opportunity_id: int, session: SessionDep, settings: SettingsDep) -> OpportunityPublic:
    """One published opportunity."""
    return svc.opportunity_public(session, svc.get_opportunity(session, opportunity_id), now=_now(settings), tz=settings.timezone)


@router.post("/opportunities", response_model=OpportunityPublic, status_code=201, responses=WRITE_ERRORS, dependencies=[Editor])
def create_opportunity(body: OpportunityCreate, engine: EngineDep, settings: SettingsDep) -> OpportunityPublic:
    """Add an opportunity (admins and council analysts)."""
    with write_session(engine) as session:
        row = svc.create_opportunity(session, body)
        return svc.opportunity_public(session, row, now=_now(settings), tz=settings.timezone)


@router.put("/opportunities/{opportunity_id}", response_model=OpportunityPublic, responses=WRITE_ERRORS, dependencies=[Editor])
def replace_opportunity(opportunity_id: int, body: OpportunityCreate, engine: EngineDep, settings: SettingsDep) -> OpportunityPublic:
    """Replace an opportunity (admins and council analysts)."""
    with write_session(engine) as session:
        row = svc.replace_opportunity(session, opportunity_id, body)
        return svc.opportunity_public(session, row, now=_now(settings), tz=settings.timezone)


@router.delete("/opportunities/{opportunity_id}", status_code=204, responses=WRITE_ERRORS, dependencies=[Editor])
def delete_opportunity(opportunity_id: int, engine: EngineDep) -> Response:
    """Remove an opportunity (admins and council analysts)."""
    with write_session(engine) as session:
        svc.delete_opportunity(session, opportunity_id)
    return Response(status_code=204)


@router.get("/support", response_model=list[SupportPublic], responses=ERRORS)
def list_support(
    session: SessionDep,
    region: Annotated[str | None, Query(max_length=64, description="Region slug, e.g. rutland")] = None,
    area_code: Annotated[str | None, Query(max_length=16, description="Small-area code served")] = None,
    kind: SupportKind | None = None,
    lon: Lon = None,
    lat: Lat = None,
    postcode: Postcode = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[SupportPublic]:
    """Local support (scheme offices, advice, carers' support, food support…) serving an area."""
    return svc.search_support(session, region=region, area_code=area_code, kind=kind.value if kind else None,
                              lon=lon, lat=lat, postcode=postcode, limit=limit)


@router.get("/support/{support_id}", response_model=SupportPublic, responses=ERRORS)
def read_support(support_id: int, session: SessionDep) -> SupportPublic:
    """One published support service."""
    return svc.support_public(svc.get_support(session, support_id))


@router.post("/support", response_model=SupportPublic, status_code=201, responses=WRITE_ERRORS, dependencies=[Editor])
def create_support(body: SupportCreate, engine: EngineDep) -> SupportPublic:
    """Add a support service (admins and council analysts)."""
    with write_session(engine) as session:
        return svc.support_public(svc.create_support(session, body))


@router.put("/support/{support_id}", response_model=SupportPublic, responses=WRITE_ERRORS, dependencies=[Editor])
def replace_support(support_id: int, body: SupportCreate, engine: EngineDep) -> SupportPublic:
    """Replace a support service (admins and council analysts)."""
    with write_session(engine) as session:
        return svc.support_public(svc.replace_support(session, support_id, body))


@router.delete("/support/{support_id}", status_code=204, responses=WRITE_ERRORS, dependencies=[Editor])
def delete_support(support_id: int, engine: EngineDep) -> Response:
    """Remove a support service (admins and council analysts)."""
    with write_session(engine) as session:
        svc.delete_support(session, support_id)
    return Response(status_code=204)
