"""Public place search and details."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from kindmap.api.deps import SessionDep, SettingsDep
from kindmap.config import ATTRIBUTION
from kindmap.errors import InvalidQuery
from kindmap.hours import parse_windows, to_local_naive
from kindmap.schemas import ErrorOut, PlaceCollection, PlaceDetailFeature, place_collection, place_detail_feature
from kindmap.services.catalog import DEFAULT_CACHE
from kindmap.db import read_session
from kindmap.services.search import SearchQuery, SearchResult, get_place, needs_session, search_places

router = APIRouter(prefix="/api", tags=["places"])

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


@router.get("/places", response_model=PlaceCollection, responses=ERRORS)
async def list_places(
    request: Request,
    settings: SettingsDep,
    lon: Annotated[float | None, Query(ge=-180, le=180, allow_inf_nan=False, description="Longitude, EPSG:4326")] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90, allow_inf_nan=False, description="Latitude, EPSG:4326")] = None,
    postcode: Annotated[str | None, Query(max_length=10, description="A UK postcode, e.g. LE15 6HP")] = None,
    radius_m: Annotated[float | None, Query(gt=0, allow_inf_nan=False, description="Search radius in metres")] = None,
    category: Annotated[list[str], Query(description="Category slugs (repeatable); see /api/categories")] = [],  # noqa: B006
    free: Annotated[bool | None, Query(description="Only places known to be free (true) or not free (false)")] = None,
    drop_in: bool | None = None,
    wheelchair: Annotated[bool | None, Query(description="Only places marked wheelchair accessible")] = None,
    step_free: bool | None = None,
    quiet: bool | None = None,
    open_at: Annotated[datetime | None, Query(description="Only places open then (ISO 8601, local time)")] = None,
    open_now: Annotated[bool, Query(description="Only places open now")] = False,
    window: Annotated[list[str], Query(
        description="Times the person is free (repeatable, or comma-separated), e.g. 'Mon 10:00-12:00,Thu 14:00-16:00'; "
        "only places open for at least part of one are returned, each with its next opening in them")] = [],  # noqa: B006
    max_walk_minutes: Annotated[float | None, Query(gt=0, le=180, allow_inf_nan=False,
                                                    description="Only places within this many minutes' walk; sorted by walk time")] = None,
    profile: Annotated[str | None, Query(description="Walking profile: walk (4.8 km/h), slow (3 km/h) or step_free (avoids steps)")] = None,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat")] = None,
    limit: Annotated[int, Query(ge=1, description="At most this many features")] = 50,
) -> Response:
    """Welcoming places near a point or postcode, nearest first by distance or walking time (or all, by name)."""
    if open_now and open_at is None:
        open_at = to_local_naive(datetime.now().astimezone(), tz=settings.timezone)
    query = SearchQuery(
        lon=lon, lat=lat, postcode=postcode, radius_m=radius_m, categories=category, free=free, drop_in=drop_in,
        wheelchair=wheelchair or None, step_free=step_free, quiet=quiet, open_at=open_at, bbox=parse_bbox(bbox),
        windows=[w for text in window for w in parse_windows(text)], max_walk_minutes=max_walk_minutes,
        profile=profile, limit=limit,
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
    # Serialised once by pydantic in Rust; FastAPI would validate the model again and
    # encode it in Python. The OpenAPI still documents PlaceCollection.
    return Response(place_collection(result, attribution=ATTRIBUTION).model_dump_json(), media_type="application/json")


def _search_in_session(engine, query: SearchQuery, settings) -> SearchResult:
    with read_session(engine) as session:
        return search_places(session, query, settings=settings)


@router.get("/places/{place_id}", response_model=PlaceDetailFeature, responses=ERRORS)
def read_place(place_id: int, session: SessionDep, settings: SettingsDep) -> PlaceDetailFeature:
    """Everything the public may see about one place."""
    place = get_place(session, place_id)
    index = DEFAULT_CACHE.get(session, tz=settings.timezone)
    now = to_local_naive(datetime.now().astimezone(), tz=settings.timezone)
    pos = int(index.ids.searchsorted(place.id))
    state, next_open = None, None
    if pos < index.size and index.ids[pos] == place.id:
        raw = int(index.hours.state_at(now)[pos])
        state = None if raw < 0 else bool(raw)
        next_open = index.hours.next_open(pos, now)
    return place_detail_feature(place, open_state=state, next_open=next_open)
