"""Near-me search over the published catalogue (straight-line distance for now)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from sqlmodel import Session, select

from kindmap.errors import InvalidQuery, NotFound
from kindmap.hours import to_local_naive
from kindmap.ingest.postcodes import normalise_postcode
from kindmap.models import Place, Postcode, Region
from kindmap.services.catalog import DEFAULT_CACHE, CatalogCache, CatalogIndex
from kindmap.taxonomy import check_categories


@dataclass
class SearchQuery:
    """A search; coordinates are EPSG:4326 degrees, radius in metres, ``open_at`` local time."""

    lon: float | None = None
    lat: float | None = None
    postcode: str | None = None
    radius_m: float | None = None
    categories: list[str] = field(default_factory=list)
    free: bool | None = None
    drop_in: bool | None = None
    wheelchair: bool | None = None
    step_free: bool | None = None
    quiet: bool | None = None
    open_at: datetime | None = None
    bbox: tuple[float, float, float, float] | None = None
    limit: int = 50


@dataclass
class Hit:
    place: Place
    distance_m: float | None
    open: bool | None


@dataclass
class SearchResult:
    hits: list[Hit]
    lon: float | None
    lat: float | None
    postcode: str | None
    radius_m: float | None
    open_at: datetime | None
    total: int


def check_point(lon: float, lat: float) -> None:
    """Raise ``InvalidQuery`` unless lon/lat are finite EPSG:4326 degrees."""
    if not (isinstance(lon, (int, float)) and isinstance(lat, (int, float))):
        raise InvalidQuery("lon and lat must be numbers")
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise InvalidQuery("lon and lat must be finite numbers")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidQuery(f"({lon}, {lat}) is out of range: lon must be -180..180 and lat -90..90")


def locate_postcode(session: Session, text: str) -> Postcode:
    """The centroid of a postcode, or ``NotFound`` saying which regions are loaded."""
    code = normalise_postcode(text)
    row = session.get(Postcode, code)
    if row is None:
        regions = ", ".join(session.exec(select(Region.name)).all()) or "none yet"
        raise NotFound(f"postcode {code} is not in kindmap's postcode list (regions loaded: {regions}); check it, or search by location")
    return row


def _mask(index: CatalogIndex, q: SearchQuery) -> np.ndarray:
    keep = np.ones(index.size, dtype=bool)
    if q.categories:
        keep &= np.isin(index.category, check_categories(q.categories))
    for wanted, column in ((q.free, index.free), (q.drop_in, index.drop_in), (q.step_free, index.step_free), (q.quiet, index.quiet)):
        if wanted is not None:
            keep &= column == (1 if wanted else 0)
    if q.wheelchair is not None:
        ok = np.isin(index.wheelchair, ["yes"])
        keep &= ok if q.wheelchair else ~ok
    if q.bbox is not None:
        minx, miny, maxx, maxy = q.bbox
        keep &= (index.lon >= minx) & (index.lon <= maxx) & (index.lat >= miny) & (index.lat <= maxy)
    return keep


def search_places(session: Session, q: SearchQuery, *, max_radius_m: float = 100_000, default_radius_m: float = 3000,
                  max_limit: int = 500, tz: str = "Europe/London", cache: CatalogCache = DEFAULT_CACHE,
                  now: datetime | None = None) -> SearchResult:
    """Published places near a point or postcode (nearest first), or all of them by name."""
    if not 1 <= q.limit <= max_limit:
        raise InvalidQuery(f"limit must be between 1 and {max_limit}")
    if q.postcode and (q.lon is not None or q.lat is not None):
        raise InvalidQuery("give either a postcode or lon and lat, not both")
    if (q.lon is None) != (q.lat is None):
        raise InvalidQuery("give both lon and lat")
    if q.bbox is not None:
        minx, miny, maxx, maxy = q.bbox
        check_point(minx, miny), check_point(maxx, maxy)
        if minx > maxx or miny > maxy:
            raise InvalidQuery("bbox is minlon,minlat,maxlon,maxlat with min ≤ max")
    lon, lat, postcode = q.lon, q.lat, None
    if q.postcode:
        row = locate_postcode(session, q.postcode)
        lon, lat, postcode = row.lon, row.lat, row.postcode
    elif lon is not None:
        check_point(lon, lat)
    radius = q.radius_m
    if radius is not None and not (math.isfinite(radius) and 0 < radius <= max_radius_m):
        raise InvalidQuery(f"radius_m must be more than 0 and at most {max_radius_m:g} metres")

    index = cache.get(session, tz=tz)
    keep = _mask(index, q)
    when = to_local_naive(q.open_at, tz=tz) if q.open_at else to_local_naive(now or datetime.now().astimezone(), tz=tz)
    states = index.hours.state_at(when)
    if q.open_at is not None:
        keep &= states == 1

    if lon is None:
        radius = None
        order = np.flatnonzero(keep)
        order = order[np.argsort(np.asarray(index.names, dtype=object)[order], kind="stable")] if order.size else order
        distances = [None] * order.size
    else:
        radius = radius or default_radius_m
        idx, dist = index.points.within(lon, lat, radius_m=radius)
        sel = keep[idx]
        order, distances = idx[sel], dist[sel].tolist()
    total = int(order.size)
    order, distances = order[: q.limit], distances[: q.limit]
    ids = [int(i) for i in index.ids[order]]
    places = {p.id: p for p in session.exec(select(Place).where(Place.id.in_(ids))).all()} if ids else {}
    hits = []
    for pos, d in zip(order, distances):
        state = int(states[pos])
        place = places.get(int(index.ids[pos]))
        if place is not None:
            hits.append(Hit(place, None if d is None else float(d), None if state < 0 else bool(state)))
    return SearchResult(hits, lon, lat, postcode, radius, when if q.open_at else None, total)


def get_place(session: Session, place_id: int, *, include_unpublished: bool = False) -> Place:
    """One place by id; unpublished places are not found for the public."""
    place = session.get(Place, place_id)
    if place is None or (not include_unpublished and place.status != "published"):
        raise NotFound(f"no place with id {place_id}")
    return place
