"""Near-me search over the published catalogue: by straight-line distance or by walking time."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlmodel import Session, select

from kindmap.config import Settings, get_settings
from kindmap.errors import InvalidQuery, NotFound
from kindmap.geo.distance import chord_to_metres
from kindmap.geo.graph import estimate_walk_minutes
from kindmap.hours import Window, to_local_naive, window_occurrences
from kindmap.ingest.postcodes import normalise_postcode
from kindmap.models import Place, Postcode, Region
from kindmap.services.catalogue.facts import count_facts, criteria_mask, empty_hint, time_mask, wanted_criteria
from kindmap.services.catalogue.index import (
    DEFAULT_CACHE,
    MAX_PLACES_LOOKED_AT,
    CatalogCache,
    CatalogIndex,
    PlaceCard,
)
from kindmap.services.walking import (
    DEFAULT_WALKING,
    ESTIMATED,
    NETWORK,
    WalkingCache,
    network_path,
    profile_for,
    walking_region,
)
from kindmap.taxonomy import check_categories


@dataclass
class SearchQuery:
    """A search; coordinates are EPSG:4326 degrees, radius in metres, times local.

    With ``max_walk_minutes`` the search is by walking time on the region's path network
    (``profile`` walk/slow/step_free), nearest first by minutes. ``windows`` keeps places
    open for at least part of one of the times the person is free.
    """

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
    windows: list[Window] = field(default_factory=list)
    bbox: tuple[float, float, float, float] | None = None
    max_walk_minutes: float | None = None
    profile: str | None = None
    limit: int = 50
    include_unknown: bool = False  # criteria and hours filters also keep places where it is not recorded yet


@dataclass
class Hit:
    place: PlaceCard
    distance_m: float | None
    open: bool | None
    walk_minutes: float | None = None
    next_open: datetime | None = None


@dataclass
class SearchResult:
    hits: list[Hit]
    lon: float | None
    lat: float | None
    postcode: str | None
    radius_m: float | None
    open_at: datetime | None
    total: int
    travel: str | None = None
    profile: str | None = None
    max_walk_minutes: float | None = None
    windows: list[Window] = field(default_factory=list)
    facts: dict | None = None  # facts.count_facts over the places nearby (before criteria and time filters)
    hint: str | None = None  # why nothing matched, naming the missing facts
    include_unknown: bool = False
    located: Any = None  # names.Location: the town or postcode area a name search fell back to
    locations: list = field(default_factory=list)  # names.Location: towns and postcode areas the text names


MAX_WALK_MINUTES = 180


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


def filter_mask(index: CatalogIndex, q: SearchQuery, positions: np.ndarray | slice = slice(None)) -> np.ndarray:
    """Bool per catalogue position (or per ``positions``): matches the query's category, criteria and bbox filters."""
    return base_mask(index, q, positions) & criteria_mask(index, q, positions)


def base_mask(index: CatalogIndex, q: SearchQuery, positions: np.ndarray | slice = slice(None)) -> np.ndarray:
    """Bool per catalogue position (or per ``positions``): matches the query's category and bbox (the places
    the facts are counted on).

    A near-me search passes the positions within its radius, so its cost follows those candidates,
    not the catalogue (at 10⁶ places the masks over every place were most of a query's time).
    """
    keep = np.ones(len(range(index.size)[positions]) if isinstance(positions, slice) else len(positions), dtype=bool)
    if q.categories:
        keep &= np.isin(index.category.codes[positions], index.category.codes_of(check_categories(q.categories)))
    if q.bbox is not None:
        lon, lat = index.lon[positions], index.lat[positions]
        minx, miny, maxx, maxy = q.bbox
        keep &= (lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy)
    return keep


def _walk(session: Session, index: CatalogIndex, q: SearchQuery, *, lon: float, lat: float,
          settings: Settings, walking: WalkingCache) -> tuple[np.ndarray, np.ndarray, np.ndarray, str, str]:
    """Positions, metres and minutes of places within the walk, nearest first, and how it was measured."""
    minutes_cap = q.max_walk_minutes
    if not (math.isfinite(minutes_cap) and 0 < minutes_cap <= MAX_WALK_MINUTES):
        raise InvalidQuery(f"max_walk_minutes must be more than 0 and at most {MAX_WALK_MINUTES}")
    profile = profile_for(settings, q.profile)
    region, router = walking_region(session, settings, lon, lat, cache=walking)
    # A walk is never shorter than the straight line, so the line bounds the candidates.
    reach_m = minutes_cap * profile.metres_per_minute * 1.01
    idx, dist = index.points.within(lon, lat, radius_m=reach_m)
    sel = base_mask(index, q, idx)
    idx, dist = idx[sel], dist[sel]
    if router is None:
        minutes = estimate_walk_minutes(dist, profile=profile, circuity=settings.circuity)
        travel = ESTIMATED
    else:
        origin = router.snap(lon, lat, profile=profile)
        snaps = walking.place_snaps(router, path_key=network_path(settings, region.slug), signature=index.signature,
                                    profile=profile, lon=index.lon, lat=index.lat)
        minutes = router.walk_minutes_to_snapped(origin, snaps.take(idx), profile=profile, max_minutes=minutes_cap)
        travel = NETWORK
    within = np.isfinite(minutes) & (minutes <= minutes_cap)
    idx, dist, minutes = idx[within], dist[within], minutes[within]
    order = np.lexsort((index.ids[idx], dist, minutes))
    return idx[order], dist[order], minutes[order], travel, profile.name


def _first_by_distance(chords: np.ndarray, positions: np.ndarray, limit: int) -> np.ndarray:
    """Indices of the ``limit`` smallest (chord, position) pairs, in that order; sorts only those (and ties)."""
    if chords.size > limit:
        cut = np.partition(chords, limit - 1)[limit - 1]
        few = np.flatnonzero(chords <= cut)  # every place at the cut distance, so ties order as a full sort would
    else:
        few = np.arange(chords.size)
    return few[np.lexsort((positions[few], chords[few]))][:limit]


def _first_by_rank(ranks: np.ndarray, limit: int) -> np.ndarray:
    """Indices of the ``limit`` smallest ``ranks`` (all distinct), in that order; sorts only those.

    A map view listing 10⁶ places A to Z sorted them all (~60 ms) to show 50."""
    if ranks.size <= limit:
        return np.argsort(ranks)
    few = np.argpartition(ranks, limit - 1)[:limit]
    return few[np.argsort(ranks[few])]


def _next_open_in_windows(index: CatalogIndex, pos: int, windows: list[Window], now: datetime) -> datetime | None:
    """The first time a place opens inside the next occurrence of any window."""
    best = None
    for start, end in window_occurrences(windows, now=now):
        at = index.hours.next_open(pos, max(start, now))
        if at is not None and at < end and (best is None or at < best):
            best = at
    return best


def needs_session(q: SearchQuery) -> bool:
    """Whether a search reads the database beyond the catalogue index (postcode lookup, walking network)."""
    return bool(q.postcode) or q.max_walk_minutes is not None


def bbox_area_km2(bbox: tuple[float, float, float, float]) -> float:
    """Area of a lon/lat box on the sphere (EPSG:4326 degrees in, km² out)."""
    minx, miny, maxx, maxy = bbox
    r = 6371.0088
    return r * r * math.radians(maxx - minx) * (math.sin(math.radians(maxy)) - math.sin(math.radians(miny)))


def check_bbox(bbox: tuple[float, float, float, float], *, max_km2: float) -> None:
    """Raise ``InvalidQuery`` unless ``bbox`` is a valid EPSG:4326 box of at most ``max_km2``."""
    minx, miny, maxx, maxy = bbox
    check_point(minx, miny), check_point(maxx, maxy)
    if minx > maxx or miny > maxy:
        raise InvalidQuery("bbox is minlon,minlat,maxlon,maxlat with min ≤ max")
    area = bbox_area_km2(bbox)
    if area > max_km2:
        raise InvalidQuery(f"bbox covers {area:,.0f} km²; a search may cover at most {max_km2:,.0f} km² "
                           "(zoom in, or search near a postcode or point)")


def _in_view(index: CatalogIndex, q: SearchQuery) -> np.ndarray:
    """Positions of the places inside ``q.bbox`` from the cell grid (the work follows the view, not the
    catalogue), or of every place when there is no bbox; refused past ``MAX_PLACES_LOOKED_AT``."""
    if q.bbox is not None:
        return index.grid.in_box(q.bbox, max_points=MAX_PLACES_LOOKED_AT,
                                 too_many="zoom in, or search near a postcode or point")
    if index.size > MAX_PLACES_LOOKED_AT:
        raise InvalidQuery(f"the catalogue holds {index.size:,} places, more than the {MAX_PLACES_LOOKED_AT:,} a "
                           "request may list at once; give a bbox, a postcode, or lon and lat")
    return np.arange(index.size)


def search_places(session: Session | None, q: SearchQuery, *, settings: Settings | None = None,
                  cache: CatalogCache = DEFAULT_CACHE, walking: WalkingCache = DEFAULT_WALKING,
                  now: datetime | None = None, index: CatalogIndex | None = None) -> SearchResult:
    """Published places near a point or postcode (nearest first, by distance or walking time), or all by name.

    ``index`` (from ``cache.fresh``) lets a caller search without a session when ``needs_session(q)``
    is false: no database is touched then.
    """
    settings = settings or get_settings()
    tz = settings.timezone
    if not 1 <= q.limit <= settings.max_limit:
        raise InvalidQuery(f"limit must be between 1 and {settings.max_limit}")
    if q.postcode and (q.lon is not None or q.lat is not None):
        raise InvalidQuery("give either a postcode or lon and lat, not both")
    if (q.lon is None) != (q.lat is None):
        raise InvalidQuery("give both lon and lat")
    if q.bbox is not None:
        check_bbox(q.bbox, max_km2=settings.max_bbox_km2)
    lon, lat, postcode = q.lon, q.lat, None
    if q.postcode:
        row = locate_postcode(session, q.postcode)
        lon, lat, postcode = row.lon, row.lat, row.postcode
    elif lon is not None:
        check_point(lon, lat)
    radius = q.radius_m
    if radius is not None and not (math.isfinite(radius) and 0 < radius <= settings.max_radius_m):
        raise InvalidQuery(f"radius_m must be more than 0 and at most {settings.max_radius_m:g} metres")
    if q.max_walk_minutes is not None and lon is None:
        raise InvalidQuery("max_walk_minutes needs a starting point: a postcode, or lon and lat")
    if q.profile is not None and q.max_walk_minutes is None:
        profile_for(settings, q.profile)  # an unknown profile is an error even when unused

    if index is None:
        index = cache.get(session, tz=tz, recheck_s=settings.catalog_recheck_s)
    local_now = to_local_naive(now or datetime.now().astimezone(), tz=tz)
    when = to_local_naive(q.open_at, tz=tz) if q.open_at else local_now
    # Open states and windows per distinct hours string (hundreds, not one per place); the places
    # nearby look theirs up, so nothing below costs the size of the catalogue for a point search.
    timed_states = index.hours.distinct_states(when) if q.open_at is not None else None
    during = index.hours.distinct_open_during(q.windows, now=local_now) if q.windows else None

    minutes = None
    travel = profile = None
    if lon is None:
        radius = None
        near = _in_view(index, q)
        if near.size * 4 > index.size:  # most of the catalogue in view: masks over whole columns beat gathering
            near = np.flatnonzero(base_mask(index, q))
        else:
            near = near[base_mask(index, q, near)]
        dist = np.full(near.size, np.nan)
    elif q.max_walk_minutes is not None:
        radius = None
        near, dist, minutes, travel, profile = _walk(session, index, q, lon=lon, lat=lat, settings=settings,
                                                     walking=walking)
    else:
        radius = radius or settings.default_radius_m
        # unordered: only the shown places are put in order (below), not the ~1,000 within 5 km at 10⁶ places
        near, dist = index.points.within_unsorted(lon, lat, radius_m=radius)
        if q.categories or q.bbox is not None:  # (no masks and copies when nothing would be dropped)
            sel = base_mask(index, q, near)
            near, dist = near[sel], dist[sel]
    # Facts are counted on the places nearby of the kind asked for, before criteria and times.
    facts = count_facts(index, near, q, states=timed_states, during=during)
    order, distances = near, dist
    if wanted_criteria(q) or timed_states is not None or during is not None:
        sel = criteria_mask(index, q, near) & time_mask(index, q, states=timed_states, during=during, positions=near)
        order, distances = near[sel], dist[sel]
        if minutes is not None:
            minutes = minutes[sel]
    total = int(order.size)
    hint = None
    if total == 0:
        where = "nearby" if lon is not None else "in view" if q.bbox is not None else "listed"
        hint = empty_hint(facts, q, nearby=int(near.size), timed=q.open_at is not None or bool(q.windows), where=where)
    if lon is None:  # by name (equal names in position order): only the shown places are put in order
        order = order[_first_by_rank(index.name_rank[order], q.limit)]
    if travel is None and lon is not None:  # a radius search: nearest first, ties by position
        first = _first_by_distance(distances, order, q.limit)
        order, distances = order[first], chord_to_metres(distances[first])
    order = order[: q.limit]
    distances = [None if math.isnan(d) else d for d in distances[: q.limit].tolist()]  # only the shown
    hits = []
    codes = index.hours.codes(order)
    # without a time filter only the shown places' states are needed: their strings alone are read
    shown_states = (timed_states[codes] if timed_states is not None else index.hours.states_of(codes, when)).tolist()
    next_opens: dict[int, datetime | None] = {}  # per distinct hours string: shown places often share one
    cards = index.cards_at(order)  # the index's public summaries: no row read per search
    for k, (pos, code, state, d) in enumerate(zip(order.tolist(), codes.tolist(), shown_states, distances)):
        if q.windows:
            next_open = _next_open_in_windows(index, pos, q.windows, local_now)
        elif state == 0:
            if code not in next_opens:
                next_opens[code] = index.hours.next_open(pos, local_now)
            next_open = next_opens[code]
        else:
            next_open = None
        hits.append(Hit(cards[k], d, None if state < 0 else bool(state),
                        None if minutes is None else round(float(minutes[k]), 1), next_open))
    return SearchResult(hits, lon, lat, postcode, radius, when if q.open_at else None, total,
                        travel=travel, profile=profile, max_walk_minutes=q.max_walk_minutes, windows=q.windows,
                        facts=facts, hint=hint, include_unknown=q.include_unknown)


def get_place(session: Session, place_id: int, *, include_unpublished: bool = False) -> Place:
    """One place by id; unpublished places are not found for the public."""
    place = session.get(Place, place_id)
    # Excluded places (a fee, members only, a chain…) are kept for moderators, never shown to the public.
    if place is None or (not include_unpublished and (place.status != "published" or place.listing == "excluded")):
        raise NotFound(f"no place with id {place_id}")
    return place
