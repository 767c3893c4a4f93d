"""Public place search and details."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match, Route

from kindmap.api.deps import SessionDep, SettingsDep
from kindmap.api.limits import MAX_WALK_MINUTES
from kindmap.api.query_model import openapi_parameters, parse_query
from kindmap.config import ATTRIBUTION
from kindmap.db import read_session
from kindmap.errors import InvalidQuery
from kindmap.hours import parse_windows, to_local_naive
from kindmap.schemas import (
    ErrorOut,
    FacilityCollection,
    PlaceCollection,
    PlaceDetailFeature,
    facility_collection,
    place_collection_json,
    place_detail_feature,
)
from kindmap.services.catalogue.facilities import MAX_LIMIT as MAX_FACILITY_LIMIT
from kindmap.services.catalogue.facilities import MAX_RADIUS_M as MAX_FACILITY_RADIUS_M
from kindmap.services.catalogue.facilities import facilities_near, nearest_per_kind
from kindmap.services.catalogue.index import DEFAULT_CACHE
from kindmap.services.catalogue.search import (
    SearchQuery,
    SearchResult,
    get_place,
    needs_session,
    search_places,
)

router = APIRouter(prefix="/api", tags=["places"])
# The near-me and map search alone, so create_app can try it before every other route (routes are
# matched in order, and this one is most of the traffic); the rest of ``router`` keeps its place
# after pages.py's /api/places/search and /api/places/clusters, which /places/{place_id} would catch.
search_router = APIRouter(prefix="/api", tags=["places"])

ERRORS = {404: {"model": ErrorOut}, 422: {"model": ErrorOut}}


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """'minlon,minlat,maxlon,maxlat' → a tuple, or ``InvalidQuery``."""
    if text is None:
        return None
    try:
        parts = tuple(float(v) for v in text.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 4:
        raise InvalidQuery("bbox must be four numbers: minlon,minlat,maxlon,maxlat")
    return parts  # type: ignore[return-value]


# Bounds on the lists a search may carry (each item is checked against the index per place):
# far more than the page sends (one category, at most seven free-time windows).
MAX_CATEGORIES = 50
MAX_WINDOWS = 28  # windows after parsing: four a day for a week
Text = Annotated[str, StringConstraints(max_length=200)]


class PlacesParams(BaseModel):
    """The query of ``GET /api/places``."""

    model_config = ConfigDict(extra="ignore")

    lon: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False, description="Longitude, EPSG:4326")
    lat: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False, description="Latitude, EPSG:4326")
    postcode: str | None = Field(None, max_length=10, description="A UK postcode, e.g. LE15 6HP")
    radius_m: float | None = Field(None, gt=0, allow_inf_nan=False,
                                   description="Search radius in metres, at most max_radius_m (see /api/config)")
    category: list[Text] = Field(default_factory=list, max_length=MAX_CATEGORIES,
                                 description="Category slugs (repeatable); see /api/categories")
    free: bool | None = Field(None, description="Only places known to be free (true) or not free (false)")
    drop_in: bool | None = Field(None, description="Only places you can drop in to (true) or not (false)")
    wheelchair: bool | None = Field(None, description="Only places marked wheelchair accessible")
    step_free: bool | None = Field(None, description="Only places with step-free access (true) or without (false)")
    quiet: bool | None = Field(None, description="Only places with a quiet space (true) or without (false)")
    open_at: datetime | None = Field(
        None, description="Only places open then, ISO 8601: without an offset (2026-07-06T10:30) it is local time "
                          "in the server's zone (Europe/London by default); with one (…Z, …+01:00) it is converted to "
                          "it. Answered as local time with its UTC offset.")
    open_now: bool = Field(False, description="Only places open now")
    window: list[Text] = Field(
        default_factory=list, max_length=MAX_WINDOWS,
        description="Times the person is free (repeatable, or comma-separated), e.g. 'Mon 10:00-12:00,Thu 14:00-16:00'; "
        f"only places open for at least part of one are returned, each with its next opening in them; at most "
        f"{MAX_WINDOWS} windows in all")
    max_walk_minutes: float | None = Field(None, gt=0, le=MAX_WALK_MINUTES, allow_inf_nan=False,
                                           description=f"Only places within this many minutes' walk (at most "
                                                       f"{MAX_WALK_MINUTES}); sorted by walk time. Costly: counted "
                                                       "against the client's budget (see Limits)")
    profile: str | None = Field(None, max_length=20, description="Walking profile: walk (4.8 km/h), slow (3 km/h) or step_free (avoids steps)")
    bbox: str | None = Field(None, description="minlon,minlat,maxlon,maxlat (EPSG:4326); at most max_bbox_km2 "
                                                "(see /api/config)")
    limit: int = Field(50, ge=1, description="At most this many features; at most max_limit (see /api/config)")
    include_unknown: bool = Field(False, description=(
        "false: the free, drop_in, wheelchair, step_free, quiet, open_at/open_now and window filters keep only places "
        "known to match (\"yes\"); true: also places where that is not recorded yet (\"yes, or not known yet\"). "
        "search.facts counts each state either way"))


# The parameters are read by parse_query (one validation for all of them; see
# api/query_model.py) and documented from the same model.
@search_router.get("/places", response_model=PlaceCollection, responses=ERRORS,
            openapi_extra={"parameters": openapi_parameters(PlacesParams)})
async def list_places(request: Request) -> Response:
    """Welcoming places near a point or postcode, nearest first by distance or walking time (or all, by name)."""
    settings = request.app.state.settings  # read here, not as a dependency: FastAPI's dependency solving cost ~10% of the request
    p = parse_query(PlacesParams, request)
    open_at = p.open_at
    if p.open_now and open_at is None:
        open_at = to_local_naive(datetime.now().astimezone(), tz=settings.timezone)
    query = SearchQuery(
        lon=p.lon, lat=p.lat, postcode=p.postcode, radius_m=p.radius_m, categories=p.category, free=p.free,
        drop_in=p.drop_in, wheelchair=p.wheelchair or None, step_free=p.step_free, quiet=p.quiet, open_at=open_at,
        bbox=parse_bbox(p.bbox), windows=_windows(p.window),
        max_walk_minutes=p.max_walk_minutes, profile=p.profile, limit=p.limit, include_unknown=p.include_unknown,
    )
    engine = request.app.state.engine
    index = None if needs_session(query) else DEFAULT_CACHE.fresh(
        str(engine.url), tz=settings.timezone, recheck_s=settings.catalog_recheck_s)
    if index is not None:
        # The hot path (near me, map view): the index is current and the search is pure
        # computation well under a millisecond, so it runs here rather than paying for a
        # worker-thread hop and a database session.
        result = search_places(None, query, settings=settings, index=index)
    else:
        result = await run_in_threadpool(_search_in_session, engine, query, settings)
    # Serialised once by pydantic-core from plain dicts shaped as PlaceCollection (which the
    # OpenAPI documents); FastAPI would validate a model again and encode it in Python.
    return Response(place_collection_json(result, attribution=ATTRIBUTION, tz=settings.timezone),
                    media_type="application/json")


def lean_routes() -> list[Route]:
    """``GET /api/places`` as a plain Starlette route, to be placed ahead of the documented one.

    It is most of the traffic, and its handler reads the request itself (``parse_query``) and
    declares no dependencies, so FastAPI's per-request work around it (solving an empty set of
    dependencies, its response wrapper) only cost time: ~65 µs of a ~0.7 ms request at 10⁶
    places. The FastAPI route above stays as the OpenAPI document of the same endpoint;
    tests/test_search_fastpath.py checks it has nothing this route would skip.
    """
    return [_LeanRoute("/api/places", list_places, methods=["GET"], include_in_schema=False)]


class _LeanRoute(Route):
    """A Starlette route that names itself in the scope as FastAPI's do, so the request log shows its
    template (``kindmap.api.security.loggable_path``), never the concrete path."""

    def matches(self, scope):
        match, child = super().matches(scope)
        if match != Match.NONE:
            child["route"] = self
        return match, child


def _windows(texts: list[str]) -> list:
    """The free-time windows, at most ``MAX_WINDOWS`` (one text such as 'Mo-Su 10:00-12:00' is seven)."""
    windows = [w for text in texts for w in parse_windows(text)]
    if len(windows) > MAX_WINDOWS:
        raise InvalidQuery(f"window: at most {MAX_WINDOWS} free-time windows in all (a day range counts each day)")
    return windows


def _search_in_session(engine, query: SearchQuery, settings) -> SearchResult:
    with read_session(engine) as session:
        return search_places(session, query, settings=settings)


@router.get("/facilities", response_model=FacilityCollection, responses={422: {"model": ErrorOut}})
def list_facilities(
    session: SessionDep,
    lon: Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False, description="Longitude, EPSG:4326")],
    lat: Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False, description="Latitude, EPSG:4326")],
    radius_m: Annotated[float, Query(gt=0, le=MAX_FACILITY_RADIUS_M, description="Metres around the point")] = 500,
    category: Annotated[list[str] | None, Query(max_length=4, description="public_toilets, playground, bench, drinking_water")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_FACILITY_LIMIT)] = 200,
) -> FacilityCollection:
    """The facilities layer: public toilets, playgrounds, benches and drinking water near a point, nearest first.
    They are not welcoming places (not destinations), so they are never in /api/places."""
    found = facilities_near(session, lon=lon, lat=lat, radius_m=radius_m, categories=category, limit=limit)
    return facility_collection(found, attribution=ATTRIBUTION)


@router.get("/places/{place_id}", response_model=PlaceDetailFeature, responses=ERRORS)
def read_place(place_id: int, session: SessionDep, settings: SettingsDep) -> PlaceDetailFeature:
    """Everything the public may see about one place."""
    place = get_place(session, place_id)
    index = DEFAULT_CACHE.get(session, tz=settings.timezone)
    now = to_local_naive(datetime.now().astimezone(), tz=settings.timezone)
    pos = int(index.ids.searchsorted(place.id))
    state, next_open = None, None
    if pos < index.size and index.ids[pos] == place.id:
        raw = int(index.hours.distinct_states(now)[index.hours.codes(pos)])
        state = None if raw < 0 else bool(raw)
        next_open = index.hours.next_open(pos, now)
    nearby = nearest_per_kind(session, lon=place.lon, lat=place.lat, exclude_id=place.id)
    return place_detail_feature(place, open_state=state, next_open=next_open, tz=settings.timezone, nearby=nearby)
