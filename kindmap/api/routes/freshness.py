"""Provenance of one place (public) and the council's freshness view."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from kindmap.api.auth import require_roles
from kindmap.api.deps import SessionDep, SettingsDep
from kindmap.schemas import ErrorOut
from kindmap.services.catalogue.freshness import place_provenance, region_freshness

router = APIRouter(prefix="/api", tags=["freshness"])
COUNCIL = ("admin", "council_analyst", "moderator")
ERRORS = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}}


class SourceOut(BaseModel):
    source: str = Field(description="osm, csv, oruk, resident, council…")
    source_id: str | None
    source_name: str | None = Field(description="The file or feed it came from.")
    licence: str | None
    edited_on_source: datetime | None = Field(description="The source's own last edit (OSM element timestamp).")
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    missing_since: datetime | None = Field(description="Set when a newer import no longer listed it.")
    primary: bool


class LocalFactOut(BaseModel):
    field: str
    value: Any
    note: str | None
    source: str = Field(description="council, moderator or resident (an approved suggestion)")
    verified_at: datetime | None


class GroupOut(BaseModel):
    group: str = Field(description="identity, hours, welcome, accessibility, contact")
    checked_on: datetime | None = Field(description="Last checked by a person.")
    edited_on_source: datetime | None = Field(description="Last edited on the source (e.g. OpenStreetMap).")
    last_confirmed: datetime | None
    may_be_out_of_date: bool
    local_facts: list[LocalFactOut]


class ProvenanceOut(BaseModel):
    place_id: int
    name: str
    verified_at: datetime | None
    possibly_closed_since: datetime | None = Field(description="A source stopped listing it; a moderator will check.")
    stale_after_days: int
    sources: list[SourceOut]
    groups: list[GroupOut]


class ShareOut(BaseModel):
    key: str
    label: str
    places: int
    fresh: int = Field(description="Confirmed (checked by a person or edited on the source) within the window.")
    checked_by_person: int
    fresh_share: float | None


class OldestOut(BaseModel):
    place_id: int
    name: str
    category: str
    area: str | None
    checked_on: datetime | None
    edited_on_source: datetime | None
    last_confirmed: datetime | None
    possibly_closed: bool


class FreshnessOut(BaseModel):
    region: str
    stale_after_days: int
    as_of: datetime
    total: ShareOut
    by_category: list[ShareOut]
    by_area: list[ShareOut]
    oldest: list[OldestOut]
    possibly_closed: int


def _share(s) -> ShareOut:
    return ShareOut(key=s.key, label=s.label, places=s.places, fresh=s.fresh, checked_by_person=s.checked_by_person,
                    fresh_share=s.fresh_share)


@router.get("/places/{place_id}/provenance", response_model=ProvenanceOut, responses=ERRORS)
def provenance(place_id: int, session: SessionDep, settings: SettingsDep) -> ProvenanceOut:
    """Where a place's facts came from and when each group was last checked (no personal data)."""
    return ProvenanceOut.model_validate(place_provenance(session, place_id, stale_after_days=settings.stale_after_days))


@router.get("/freshness", response_model=FreshnessOut, responses=ERRORS,
            dependencies=[Depends(require_roles(*COUNCIL))])
def freshness(session: SessionDep, settings: SettingsDep, region: Annotated[str, Query(max_length=64, description="Region slug")],
              oldest: Annotated[int, Query(ge=1, le=200)] = 15) -> FreshnessOut:
    """Share of a region's places confirmed recently, by category and small area, and where to check next."""
    s = region_freshness(session, region, stale_after_days=settings.stale_after_days, oldest=oldest)
    return FreshnessOut(region=s.region, stale_after_days=s.stale_after_days, as_of=s.as_of, total=_share(s.total),
                        by_category=[_share(x) for x in s.by_category], by_area=[_share(x) for x in s.by_area],
                        oldest=[OldestOut(**r) for r in s.oldest], possibly_closed=s.possibly_closed)
