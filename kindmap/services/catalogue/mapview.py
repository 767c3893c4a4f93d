"""What the public map asks for besides near-me search: name search and clusters in a view."""

from __future__ import annotations

import unicodedata
from datetime import datetime

import numpy as np
from sqlmodel import Session, select

from kindmap.config import Settings
from kindmap.errors import InvalidQuery
from kindmap.geo.clusters import GridCluster, grid_clusters
from kindmap.hours import to_local_naive
from kindmap.models import Place
from kindmap.services.catalogue.index import DEFAULT_CACHE, CatalogIndex
from kindmap.services.catalogue.search import (
    Hit,
    SearchQuery,
    SearchResult,
    check_point,
    filter_mask,
)


def catalogue_filter(index: CatalogIndex, q: SearchQuery, *, open_now: bool, tz: str) -> tuple[np.ndarray, np.ndarray, datetime | None]:
    """Mask of matching places, their open states at ``q.open_at`` (or now), and the time filtered on."""
    open_at = q.open_at
    if open_now and open_at is None:
        open_at = datetime.now().astimezone()
    when = to_local_naive(open_at or datetime.now().astimezone(), tz=tz)
    keep = filter_mask(index, q)
    states = index.hours.state_at(when)
    if open_at is not None:
        keep &= states == 1
    return keep, states, when if open_at is not None else None


def fold(text: str) -> str:
    """Case- and accent-insensitive form of a name: 'Café  St. Anne’s' → 'cafe st annes'."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    bare = bare.replace("'", "").replace("\u2019", "")
    return " ".join("".join(c if c.isalnum() else " " for c in bare).split())


_folded: dict[int, tuple[CatalogIndex, list[str]]] = {}


def folded_names(index: CatalogIndex) -> list[str]:
    """Folded names for an index, computed once per index build."""
    hit = _folded.get(id(index))
    if hit is None or hit[0] is not index:
        _folded.clear()  # one live index per process is the norm; never grow without bound
        hit = _folded[id(index)] = (index, [fold(n) for n in index.names])
    return hit[1]


def name_matches(index: CatalogIndex, query: str, keep: np.ndarray) -> np.ndarray:
    """Positions of names containing every word of ``query``: exact, then prefix, then word start, then contains."""
    q = fold(query)
    if not q:
        raise InvalidQuery("q: type at least one letter or number of the place's name")
    words = q.split()
    ranked = []
    for pos, name in enumerate(folded_names(index)):
        if keep[pos] and all(w in name for w in words):
            rank = 0 if name == q else 1 if name.startswith(q) else 2 if f" {q}" in f" {name}" else 3
            ranked.append((rank, name, pos))
    ranked.sort()
    return np.asarray([r[2] for r in ranked], dtype=np.int64)


def search_by_name(session: Session, text: str, q: SearchQuery, *, open_now: bool, settings: Settings) -> SearchResult:
    """Published places whose name matches ``text`` (best matches first), with the usual filters."""
    index = DEFAULT_CACHE.get(session, tz=settings.timezone)
    keep, states, when = catalogue_filter(index, q, open_now=open_now, tz=settings.timezone)
    order = name_matches(index, text, keep)
    total = int(order.size)
    order = order[: q.limit]
    ids = [int(i) for i in index.ids[order]]
    rows = {p.id: p for p in session.exec(select(Place).where(Place.id.in_(ids))).all()} if ids else {}
    hits = []
    for pos in order:
        place = rows.get(int(index.ids[pos]))
        state = int(states[pos])
        if place is not None:
            hits.append(Hit(place, None, None if state < 0 else bool(state)))
    return SearchResult(hits, None, None, None, None, when, total)


def clusters_in_view(session: Session, q: SearchQuery, *, zoom: int, open_now: bool,
                     settings: Settings) -> tuple[int, list[GridCluster]]:
    """Matching places inside ``q.bbox`` grouped into screen-grid clusters at ``zoom``."""
    if q.bbox is None:
        raise InvalidQuery("bbox is required: minlon,minlat,maxlon,maxlat of the map view")
    minx, miny, maxx, maxy = q.bbox
    check_point(minx, miny), check_point(maxx, maxy)
    if minx > maxx or miny > maxy:
        raise InvalidQuery("bbox is minlon,minlat,maxlon,maxlat with min ≤ max")
    index = DEFAULT_CACHE.get(session, tz=settings.timezone)
    keep, _states, _when = catalogue_filter(index, q, open_now=open_now, tz=settings.timezone)
    sel = np.flatnonzero(keep)
    return int(sel.size), grid_clusters(index.lon[sel], index.lat[sel], index.ids[sel], zoom=zoom)
