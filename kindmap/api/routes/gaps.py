"""Council gap analysis over the API: council analysts and admins only (401 signed out, 403 other roles)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from kindmap.api.auth import ANALYSTS, require_roles
from kindmap.api.deps import EngineDep, SettingsDep
from kindmap.geo import rfc7946
from kindmap.schemas import ErrorOut
from kindmap.services.gaps import words
from kindmap.services.gaps.analysis import GapQuery
from kindmap.services.gaps.baseline import baseline
from kindmap.services.gaps.compare import as_dict, compare_councils
from kindmap.services.gaps.longer_hours import CHOSEN, EXTENSIONS
from kindmap.services.gaps.report import charts, report_html, report_pdf, with_councils
from kindmap.services.gaps.scenarios import Candidate, best_sites, longer_hours, places_to_extend, what_if

router = APIRouter(prefix="/api/gaps", tags=["gaps"], dependencies=[Depends(require_roles(*ANALYSTS))])
ERRORS = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}}
Slot = Literal["any", "weekday_daytime", "weekday_evening", "weekend"]


class AreaOut(BaseModel):
    code: str
    name: str
    households: int
    share_covered: float | None = Field(description="Share of households within the threshold.")
    share_within_5: float | None
    share_within_10: float | None
    share_within_15: float | None
    share_within_20: float | None
    median_walk_minutes: float | None = Field(description="None: more than 60 minutes or unreachable.")
    uncovered_households: float
    e2sfca_score: float = Field(description="Weekly open hours per 1,000 households within reach (E2SFCA).")
    deprivation_rank: int | None
    deprivation_decile: int | None = Field(description="1 = most deprived.")
    priority: float = Field(description="0–100: uncovered households × (11 − decile)/10, scaled to the region's largest.")
    ward: str | None = Field(default=None, description="The electoral ward, when known.")
    near: str | None = Field(default=None, description="The nearest town or village (OpenStreetMap), when known.")
    label: str = Field(default="", description="How people know the area, e.g. 'Greetham ward, near Stretton'.")
    no_data: bool = Field(default=False, description="No households, or mostly outside the map data: not judged.")
    geometry: dict | None = Field(default=None, description="GeoJSON geometry (EPSG:4326), with geometry=true.")


class DecileOut(BaseModel):
    decile: int | None
    areas: int
    households: float
    covered_households: float
    uncovered_households: float
    share_covered: float | None


class TotalsOut(BaseModel):
    households: float
    covered_households: float
    uncovered_households: float
    share_covered: float | None
    share_within_5: float | None
    share_within_10: float | None
    share_within_15: float | None
    share_within_20: float | None
    most_deprived_households: float = Field(description="Households in deciles 1–2.")
    most_deprived_covered: float
    most_deprived_share_covered: float | None


class PlacePoint(BaseModel):
    name: str
    lon: float
    lat: float


class UnknownHoursOut(BaseModel):
    places: int = Field(description="Places counted.")
    unknown: int = Field(description="Of them, places without opening hours.")
    unknown_eligible: int
    counted_as_open: bool = Field(description="Whether places without hours count as open in the slot.")
    assumed_weekly_hours: float
    share_with: float | None = None
    share_without: float | None = None
    deprived_share_with: float | None = None
    deprived_share_without: float | None = None


class SourceOut(BaseModel):
    what: str
    file: str
    data_date: str | None
    imported: str | None
    licence: str
    attribution: str | None


class GapsOut(BaseModel):
    region: str
    region_name: str
    minutes: float
    profile: str
    slot: str
    method: str = Field(description="network (walked on paths) or estimated (straight line × circuity).")
    places: int
    totals: TotalsOut
    by_decile: list[DecileOut]
    areas: list[AreaOut]
    notes: list[str]
    headline: list[str] = Field(description="The result in plain sentences.")
    assumptions: list[str] = Field(description="What the figures assume, most important first.")
    unknown_hours: UnknownHoursOut
    sources: list[SourceOut]
    deprivation_index: str | None
    place_points: list[PlacePoint] | None = Field(default=None, description="The places counted, with geometry=true.")


class CouncilOut(BaseModel):
    region: str
    name: str
    code: str | None
    nation: str | None
    deprivation_index: str | None = Field(description="The council's deprivation index and year, e.g. 'IMD 2025' "
                                          "(England) or 'WIMD 2019' (Wales): ranks within one nation only.")
    method: str | None = Field(description="network, estimated, or None when it could not be measured.")
    places: int = Field(description="Places counted.")
    households: float = Field(description="Households in the council's small areas (census).")
    households_with_map_data: float = Field(description="Of them, households in areas the map data covers (the shares' base).")
    map_data_share: float | None
    no_data_areas: int = Field(description="Small areas mostly outside the map data: left out of every share.")
    within: dict[str, float | None] = Field(description="Minutes (5, 10, 15, 20) → share of households within that walk.")
    deprived_areas: int = Field(description="Small areas with map data in the council's index deciles 1–2.")
    deprived_households: float
    deprived_within: dict[str, float | None] = Field(description="Minutes → share of households in deciles 1–2 within that walk.")
    problem: str | None = Field(description="Why the council could not be measured, when it could not.")


class NeighbourOut(BaseModel):
    code: str
    name: str


class CouncilsOut(BaseModel):
    thresholds: list[int]
    profile: str
    slot: str
    loaded: int = Field(description="Councils loaded in kindmap.")
    focus: str | None
    indices: list[str] = Field(description="The deprivation indices the councils use.")
    sentences: list[str] = Field(description="What to read the comparison by, in plain sentences.")
    neighbours: list[NeighbourOut] = Field(description="With one council loaded: councils next to it that could be added.")
    councils: list[CouncilOut]


class SiteOut(BaseModel):
    rank: int
    name: str
    place_id: int | None
    lon: float
    lat: float
    households_added: float
    most_deprived_households_added: float
    share_covered_after: float | None


class BestSitesOut(BaseModel):
    region: str
    method: str
    minutes: float
    slot: str
    source: str
    candidates: int
    share_covered_before: float | None
    sites: list[SiteOut]


class NewPlaceIn(BaseModel):
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    opening_hours: str | None = Field(default=None, max_length=255)
    name: str = Field(default="new place", max_length=200)


class WhatIfIn(BaseModel):
    region: str = Field(max_length=64)
    minutes: float = 15.0
    profile: str | None = Field(default=None, max_length=32)
    slot: Slot = "any"
    add: list[NewPlaceIn] = Field(default_factory=list, max_length=50, description="New places to try (at most 50).")
    hours: dict[int, str | None] = Field(default_factory=dict, max_length=200,
                                         description="Place id → new opening_hours (null: unknown).")


class CoveredOut(BaseModel):
    covered_households: float
    most_deprived_covered: float
    by_decile: dict[int, float]


class WhatIfOut(BaseModel):
    region: str
    method: str
    minutes: float
    slot: str
    households: float
    before: CoveredOut
    after: CoveredOut
    change_covered_households: float
    change_most_deprived_covered: float
    change_by_decile: dict[int, float]
    added_open_in_slot: int
    places_before: int
    places_after: int


class PlaceHoursOut(BaseModel):
    place_id: int
    name: str
    lon: float
    lat: float
    opening_hours: str | None = Field(description="OSM opening_hours as recorded (null: not known).")
    open_in_slot: bool = Field(description="Counted as open during the time slot now.")


class PlacesOut(BaseModel):
    region: str
    slot: str
    places: list[PlaceHoursOut] = Field(description="The places the analysis counts, whatever their hours, by name.")


Extension = Literal[tuple([*EXTENSIONS, CHOSEN])]  # type: ignore[valid-type]


class LongerHoursIn(BaseModel):
    region: str = Field(max_length=64)
    minutes: float = 15.0
    profile: str | None = Field(default=None, max_length=32)
    slot: Slot = "any"
    place_id: int = Field(ge=1, le=2**63 - 1, description="One of the places /api/gaps/places lists.")
    add: Extension = Field(description="weekday_evening, weekend, weekday_daytime, free_times (all three), or "
                                       "windows (the times in `windows`).")
    windows: str | None = Field(default=None, max_length=300,
                                description="With add=windows: weekly times, e.g. 'Tue 18:00-20:00, Sat 10:00-13:00'.")


class LongerPlaceOut(BaseModel):
    place_id: int
    name: str
    hours_before: str | None
    hours_after: str = Field(description="The reference week's hours with the added times (OSM opening_hours).")
    added: str = Field(description="The added times in words, e.g. 'on weekday evenings (Monday to Friday, 17:00 to 21:00)'.")
    open_in_slot_before: bool
    open_in_slot_after: bool


class LongerHoursOut(WhatIfOut):
    place: LongerPlaceOut


def _query(region: str, minutes: float, profile: str | None, slot: str) -> GapQuery:
    return GapQuery(region=region, minutes=minutes, profile=profile, slot=slot)


RegionQ = Annotated[str, Query(max_length=64, description="Region slug")]
MinutesQ = Annotated[float, Query(description="Walking threshold, 1–60 minutes")]
ProfileQ = Annotated[str | None, Query(max_length=32, description="walk, slow or step_free")]


def _area_out(a: dict, geometry: bool) -> AreaOut:
    out = AreaOut(**{k: v for k, v in a.items() if k in AreaOut.model_fields and k != "geometry"})
    if geometry:
        # 7 decimals (1 cm, RFC 7946): the stored outlines carry float noise to 17 digits, a third of the page's payload
        out.geometry = rfc7946.geometry(a["geometry_geojson"])
    return out


@router.get("", response_model=GapsOut, responses=ERRORS)
def gaps(engine: EngineDep, settings: SettingsDep, region: RegionQ, minutes: MinutesQ = 15.0,
         profile: ProfileQ = None, slot: Slot = "any",
         geometry: Annotated[bool, Query(description="Also each area's outline and the places counted (for a map).")] = False,
         ) -> GapsOut:
    """Households within a walk of a welcoming place, per small area and deprivation decile (fixed geographies only)."""
    r = baseline(engine, settings, _query(region, minutes, profile, slot)).result
    points = ([PlacePoint(name=n, lon=float(x), lat=float(y)) for n, x, y in zip(r.places.names, r.places.lon, r.places.lat)]
              if geometry else None)
    return GapsOut(region=r.region, region_name=r.region_name, minutes=r.query.minutes, profile=r.profile,
                   slot=r.query.slot, method=r.method, places=len(r.places), totals=TotalsOut(**r.totals),
                   by_decile=[DecileOut(**d) for d in r.by_decile],
                   areas=[_area_out(a, geometry) for a in r.areas], place_points=points,
                   notes=r.notes, headline=words.headline(r), assumptions=words.assumptions(r),
                   unknown_hours=UnknownHoursOut(**r.unknown_hours), sources=[SourceOut(**x) for x in r.sources],
                   deprivation_index=r.deprivation_index)


@router.get("/councils", response_model=CouncilsOut, responses=ERRORS)
def councils(engine: EngineDep, settings: SettingsDep,
             region: Annotated[str | None, Query(max_length=64, description="The council to compare with its nearest neighbours")] = None,
             profile: ProfileQ = None, slot: Slot = "any") -> CouncilsOut:
    """The councils loaded side by side (at most 8: ``region`` and its nearest): households within 5, 10, 15 and
    20 minutes' walk, overall and in deciles 1–2 of each council's own deprivation index. Aggregates only."""
    return CouncilsOut(**as_dict(compare_councils(engine, settings, focus=region, profile=profile, slot=slot)))


REPORT = {200: {"description": "The report.", "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}},
                                                          "text/html": {"schema": {"type": "string"}}}}, **ERRORS}


@router.get("/report.{fmt}", response_class=Response, responses=REPORT)
def report(engine: EngineDep, settings: SettingsDep, fmt: Literal["pdf", "html"], region: RegionQ,
           minutes: MinutesQ = 15.0, profile: ProfileQ = None, slot: Slot = "any") -> Response:
    """The report to take to a meeting, as PDF or self-contained HTML: headline, method and assumptions,
    maps, charts, areas to look at first, the councils loaded side by side, data sources (the same as
    ``kindmap gaps`` writes)."""
    r = baseline(engine, settings, _query(region, minutes, profile, slot)).result
    comparison = compare_councils(engine, settings, focus=r.region, profile=profile, slot=slot)
    page = report_html(r, with_councils(charts(r), comparison), comparison)
    name = re.sub(r"[^A-Za-z0-9_-]", "-", f"kindmap-gaps-{r.region}-{r.query.minutes:g}min")
    headers = {"Cache-Control": "private, no-store", "Content-Disposition": f'attachment; filename="{name}.{fmt}"'}
    if fmt == "html":
        return Response(page, media_type="text/html; charset=utf-8", headers=headers)
    return Response(report_pdf(page), media_type="application/pdf", headers=headers)


@router.get("/best-sites", response_model=BestSitesOut, responses=ERRORS)
def sites(engine: EngineDep, settings: SettingsDep, region: RegionQ, minutes: MinutesQ = 15.0,
          profile: ProfileQ = None, slot: Slot = "any", k: Annotated[int, Query(ge=1, le=50)] = 5,
          source: Literal["places", "grid"] = "places",
          grid_m: Annotated[float, Query(ge=100, le=10_000)] = 1000.0) -> BestSitesOut:
    """The K candidate sites that would bring the most households within reach (greedy maximal coverage)."""
    return BestSitesOut(**best_sites(engine, settings, _query(region, minutes, profile, slot), k=k, source=source,
                                     grid_m=grid_m))


@router.post("/what-if", response_model=WhatIfOut, responses={400: {"model": ErrorOut}, **ERRORS})
def scenario(engine: EngineDep, settings: SettingsDep, body: WhatIfIn) -> WhatIfOut:
    """Change in households covered (overall, deciles 1–2, each decile) from new places or changed hours."""
    add = [Candidate(p.lon, p.lat, p.opening_hours, p.name) for p in body.add]
    return WhatIfOut(**what_if(engine, settings, _query(body.region, body.minutes, body.profile, body.slot),
                               add=add, hours=body.hours))


@router.get("/places", response_model=PlacesOut, responses=ERRORS)
def places(engine: EngineDep, settings: SettingsDep, region: RegionQ, minutes: MinutesQ = 15.0,
           profile: ProfileQ = None, slot: Slot = "any") -> PlacesOut:
    """The places the analysis counts, whatever their hours: the ones a what-if can open for longer."""
    return PlacesOut(**places_to_extend(engine, settings, _query(region, minutes, profile, slot)))


@router.post("/what-if/hours", response_model=LongerHoursOut, responses={400: {"model": ErrorOut}, **ERRORS})
def scenario_hours(engine: EngineDep, settings: SettingsDep, body: LongerHoursIn) -> LongerHoursOut:
    """Change in households within the walk (overall, deciles 1–2, each decile), in the time slot, if one
    counted place opened for longer: evenings, weekends, weekday daytime, all of these, or chosen weekly times."""
    return LongerHoursOut(**longer_hours(engine, settings, _query(body.region, body.minutes, body.profile, body.slot),
                                         place_id=body.place_id, add=body.add, windows=body.windows))
