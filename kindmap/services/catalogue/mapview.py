"""What the public map asks for besides near-me search: name search and clusters in a view."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from sqlmodel import Session, select

from kindmap.config import Settings
from kindmap.errors import InvalidQuery
from kindmap.geo.clusters import CELL_PX, GridCluster, mercator_px
from kindmap.hours import to_local_naive
from kindmap.models import Place
from kindmap.services.catalogue.facts import time_mask, wanted_criteria
from kindmap.services.catalogue.index import DEFAULT_CACHE, MAX_PLACES_LOOKED_AT, CatalogIndex
from kindmap.services.catalogue.names import locate, match_places, name_index
from kindmap.services.catalogue.search import (
    Hit,
    SearchQuery,
    SearchResult,
    check_point,
    filter_mask,
)


def candidate_filter(index: CatalogIndex, q: SearchQuery, *, open_now: bool, tz: str):
    """A function giving, for some catalogue positions, which match the query's filters; the open states at
    ``q.open_at`` (or now) per distinct hours string (``index.hours.codes(pos)`` picks a place's); and the
    time filtered on. Asked only of a search's candidates, so its cost follows them, not the catalogue."""
    open_at = q.open_at
    if open_now and open_at is None:
        open_at = datetime.now().astimezone()
    when = to_local_naive(open_at or datetime.now().astimezone(), tz=tz)
    states = index.hours.distinct_states(when)

    def keep(positions: np.ndarray) -> np.ndarray:
        mask = filter_mask(index, q, positions)
        if open_at is not None:
            mask &= time_mask(index, q, states=states, during=None, positions=positions)
        return mask

    keep(np.zeros(0, dtype=np.intp))  # bad filters (an unknown kind) are refused whatever the text
    return keep, states, when if open_at is not None else None


def search_by_name(session: Session, text: str, q: SearchQuery, *, open_now: bool, settings: Settings) -> SearchResult:
    """Published places whose names match ``text`` (best first; nearer first among equals when
    ``q.lon``/``q.lat`` are given), with the usual filters.

    When no place's name matches but ``text`` is a (partial) postcode or a town, the result is the
    places nearest that location instead (``located``); matching locations are listed either way.
    The cost follows the places the words match (``names.MAX_CANDIDATES`` at most), not the catalogue.
    """
    index = DEFAULT_CACHE.get(session, tz=settings.timezone)
    keep, states, when = candidate_filter(index, q, open_now=open_now, tz=settings.timezone)
    if q.lon is not None or q.lat is not None:
        if q.lon is None or q.lat is None:
            raise InvalidQuery("give both lon and lat")
        check_point(q.lon, q.lat)
    names = name_index(session, index)
    order, _relevance, total = match_places(names, text, keep, lon=q.lon, lat=q.lat, lons=index.lon, lats=index.lat,
                                            limit=q.limit)
    locations = locate(session, names, text)
    located, distances = None, None
    if total == 0 and locations:
        located = locations[0]
        radius = settings.default_radius_m
        idx, dist = index.points.within(located.lon, located.lat, radius_m=radius)
        sel = keep(idx)
        order, distances = idx[sel], dist[sel]
        total = int(order.size)
    order = order[: q.limit]
    ids = [int(i) for i in index.ids[order]]
    rows = {p.id: p for p in session.exec(select(Place).where(Place.id.in_(ids))).all()} if ids else {}
    hits = []
    for k, pos in enumerate(order):
        place = rows.get(int(index.ids[pos]))
        state = int(states[index.hours.codes(pos)])
        if place is not None:
            d = None if distances is None else float(distances[k])
            hits.append(Hit(place, d, None if state < 0 else bool(state)))
    lon, lat = (located.lon, located.lat) if located else (q.lon, q.lat)
    return SearchResult(hits, lon, lat, None, settings.default_radius_m if located else None, when, total,
                        located=located, locations=locations)


# A map view's 64-px cells at its zoom: a 4K screen shows ~2,000; this allows an 8,192 px square view.
MAX_VIEW_CELLS = 16_384


def view_cells(bbox: tuple[float, float, float, float], zoom: int) -> int:
    """How many of the map's 64-px cluster cells ``bbox`` (EPSG:4326) spans at ``zoom``."""
    minx, miny, maxx, maxy = bbox
    x, y = mercator_px(np.array([minx, maxx]), np.array([maxy, miny]), zoom)
    cols = int(np.floor(x[1] / CELL_PX) - np.floor(x[0] / CELL_PX)) + 1
    rows = int(np.floor(y[1] / CELL_PX) - np.floor(y[0] / CELL_PX)) + 1
    return cols * rows


def clusters_in_view(session: Session, q: SearchQuery, *, zoom: int, open_now: bool,
                     settings: Settings) -> tuple[int, list[GridCluster]]:
    """Matching places inside ``q.bbox`` grouped into screen-grid clusters at ``zoom``.

    The cost follows the view: without a per-place filter, the cells wholly inside it answer from
    the index's per-level cell summaries (at most ``MAX_VIEW_CELLS`` cells, plus the places in the
    cells its edge crosses); with filters, the places in view are checked one by one, at most
    ``MAX_PLACES_LOOKED_AT`` of them. Past either bound the answer is a 422 saying what to change.
    """
    if q.bbox is None:
        raise InvalidQuery("bbox is required: minlon,minlat,maxlon,maxlat of the map view")
    minx, miny, maxx, maxy = q.bbox
    check_point(minx, miny), check_point(maxx, maxy)
    if minx > maxx or miny > maxy:
        raise InvalidQuery("bbox is minlon,minlat,maxlon,maxlat with min ≤ max")
    cells = view_cells(q.bbox, zoom)
    if cells > MAX_VIEW_CELLS:
        raise InvalidQuery(f"at zoom {zoom} this bbox spans {cells:,} map cells of 64 px, more than {MAX_VIEW_CELLS:,}; "
                           "lower the zoom or make the bbox smaller (a map sends its own view and zoom)")
    index = DEFAULT_CACHE.get(session, tz=settings.timezone)
    open_at = q.open_at
    if open_now and open_at is None:
        open_at = datetime.now().astimezone()
    filtered = bool(q.categories) or bool(wanted_criteria(q)) or open_at is not None
    keep = None
    if filtered:
        states = index.hours.distinct_states(to_local_naive(open_at, tz=settings.timezone)) if open_at else None

        def keep(positions: np.ndarray) -> np.ndarray:
            return (filter_mask(index, q, positions)
                    & time_mask(index, q, states=states, during=None, positions=positions))

    return index.grid.clusters(q.bbox, zoom=zoom, ids=index.ids, keep=keep, max_points=MAX_PLACES_LOOKED_AT,
                               too_many="zoom in, or clear the filters" if filtered else "zoom in")
