"""The public pages beyond the map — a page per place, suggest a place, moderation — and the
two map queries only the page needs: name search and grid clusters for large catalogues.

HTML is rendered by Jinja2 with autoescape on, so every text a person or a source wrote
is escaped exactly once, here. Search and clustering work on the in-memory catalogue index.
"""

from __future__ import annotations

import math
import unicodedata
from datetime import datetime
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, Field
from sqlmodel import select

from kindmap.api.deps import SessionDep, SettingsDep
from kindmap.api.routes.places import parse_bbox, read_place
from kindmap.config import ATTRIBUTION, web_dir
from kindmap.errors import InvalidQuery, NotFound
from kindmap.hours import to_local_naive
from kindmap.schemas import ErrorOut, PlaceCollection, place_collection
from kindmap.services.catalog import DEFAULT_CACHE, CatalogIndex
from kindmap.services.contributions import HONEYPOT, PROBLEMS, public_notes
from kindmap.services.search import SearchQuery, SearchResult, _mask, check_point
from kindmap.taxonomy import categories

router = APIRouter(tags=["pages"])
ERRORS = {404: {"model": ErrorOut}, 422: {"model": ErrorOut}}
_env = Environment(loader=FileSystemLoader(str(web_dir() / "templates")), autoescape=select_autoescape(default=True),
                   trim_blocks=True, lstrip_blocks=True)
DAYS = {"Mo": "Mon", "Tu": "Tue", "We": "Wed", "Th": "Thu", "Fr": "Fri", "Sa": "Sat", "Su": "Sun", "PH": "Bank holidays"}
CELL_PX = 64  # grid cell on screen, in CSS pixels: about a thumb's width


# ----------------------------------------------------------------------------- shared filters

def _filters(category: list[str], free: bool | None, drop_in: bool | None, wheelchair: bool | None,
             step_free: bool | None, quiet: bool | None, bbox=None) -> SearchQuery:
    return SearchQuery(categories=category, free=free, drop_in=drop_in, wheelchair=wheelchair or None,
                       step_free=step_free, quiet=quiet, bbox=bbox)


def _keep(index: CatalogIndex, q: SearchQuery, open_at: datetime | None, open_now: bool, tz: str) -> tuple[np.ndarray, np.ndarray, datetime | None]:
    """Mask of matching places, their open states at ``open_at`` (or now), and the time used."""
    if open_now and open_at is None:
        open_at = datetime.now().astimezone()
    when = to_local_naive(open_at or datetime.now().astimezone(), tz=tz)
    keep = _mask(index, q)
    states = index.hours.state_at(when)
    if open_at is not None:
        keep &= states == 1
    return keep, states, when if open_at is not None else None


Category = Annotated[list[str], Query(description="Category slugs (repeatable)")]
OpenAt = Annotated[datetime | None, Query(description="Only places open then (ISO 8601, local time)")]


# ----------------------------------------------------------------------------- name search

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


@router.get("/api/places/search", response_model=PlaceCollection, responses=ERRORS, tags=["places"])
def search_by_name(
    session: SessionDep, settings: SettingsDep,
    q: Annotated[str, Query(min_length=1, max_length=100, description="Part of the place's name; case and accents ignored")],
    category: Category = [],  # noqa: B006
    free: bool | None = None, drop_in: bool | None = None, wheelchair: bool | None = None,
    step_free: bool | None = None, quiet: bool | None = None, open_at: OpenAt = None, open_now: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> PlaceCollection:
    """Published places whose name matches ``q`` (best matches first), with the same filters as /api/places."""
    from kindmap.models import Place
    from kindmap.services.search import Hit

    index = DEFAULT_CACHE.get(session, tz=settings.timezone)
    keep, states, when = _keep(index, _filters(category, free, drop_in, wheelchair, step_free, quiet), open_at, open_now,
                               settings.timezone)
    order = name_matches(index, q, keep)
    total = int(order.size)
    order = order[:limit]
    ids = [int(i) for i in index.ids[order]]
    rows = {p.id: p for p in session.exec(select(Place).where(Place.id.in_(ids))).all()} if ids else {}
    hits = []
    for pos in order:
        place = rows.get(int(index.ids[pos]))
        state = int(states[pos])
        if place is not None:
            hits.append(Hit(place, None, None if state < 0 else bool(state)))
    return place_collection(SearchResult(hits, None, None, None, None, when, total), attribution=ATTRIBUTION)


# ----------------------------------------------------------------------------- clusters

class Cluster(BaseModel):
    lon: float = Field(description="Mean longitude of the places in the cell, EPSG:4326")
    lat: float
    count: int
    id: int | None = Field(description="The place's id when the cluster is a single place")
    bbox: tuple[float, float, float, float] = Field(description="minlon,minlat,maxlon,maxlat of its places")


class ClusterCollection(BaseModel):
    zoom: int
    total: int = Field(description="Matching places inside the bbox")
    clusters: list[Cluster]


def mercator_px(lon: np.ndarray, lat: np.ndarray, zoom: int) -> tuple[np.ndarray, np.ndarray]:
    """Web Mercator pixel coordinates at ``zoom`` (256-px tiles) for EPSG:4326 degrees."""
    size = 256.0 * 2 ** zoom
    lat = np.clip(lat, -85.05112878, 85.05112878)
    x = (lon + 180.0) / 360.0 * size
    s = np.sin(np.radians(lat))
    y = (0.5 - np.log((1 + s) / (1 - s)) / (4 * math.pi)) * size
    return x, y


def grid_clusters(lon: np.ndarray, lat: np.ndarray, ids: np.ndarray, *, zoom: int, cell_px: int = CELL_PX) -> list[Cluster]:
    """Group points into screen-grid cells of ``cell_px`` pixels at ``zoom``; one cluster per non-empty cell."""
    if lon.size == 0:
        return []
    x, y = mercator_px(lon, lat, zoom)
    cx, cy = np.floor(x / cell_px).astype(np.int64), np.floor(y / cell_px).astype(np.int64)
    keys = cx * (1 << 32) + cy
    order = np.argsort(keys, kind="stable")
    keys, lon, lat, ids = keys[order], lon[order], lat[order], ids[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    counts = np.diff(np.r_[starts, keys.size])
    mean_lon = np.add.reduceat(lon, starts) / counts
    mean_lat = np.add.reduceat(lat, starts) / counts
    boxes = np.column_stack([np.minimum.reduceat(lon, starts), np.minimum.reduceat(lat, starts),
                             np.maximum.reduceat(lon, starts), np.maximum.reduceat(lat, starts)])
    return [Cluster(lon=round(float(mean_lon[i]), 6), lat=round(float(mean_lat[i]), 6), count=int(counts[i]),
                    id=int(ids[starts[i]]) if counts[i] == 1 else None,
                    bbox=tuple(round(float(v), 6) for v in boxes[i]))
            for i in range(starts.size)]


@router.get("/api/places/clusters", response_model=ClusterCollection, responses=ERRORS, tags=["places"])
def clusters(
    session: SessionDep, settings: SettingsDep,
    bbox: Annotated[str, Query(description="minlon,minlat,maxlon,maxlat (EPSG:4326) of the map view")],
    zoom: Annotated[int, Query(ge=0, le=22, description="Map zoom level; cells are 64 screen pixels at this zoom")],
    category: Category = [],  # noqa: B006
    free: bool | None = None, drop_in: bool | None = None, wheelchair: bool | None = None,
    step_free: bool | None = None, quiet: bool | None = None, open_at: OpenAt = None, open_now: bool = False,
) -> ClusterCollection:
    """Matching places in a map view, grouped into screen-grid clusters (so 50,000 places cost a few KB)."""
    box = parse_bbox(bbox)
    check_point(box[0], box[1]), check_point(box[2], box[3])
    if box[0] > box[2] or box[1] > box[3]:
        raise InvalidQuery("bbox is minlon,minlat,maxlon,maxlat with min ≤ max")
    index = DEFAULT_CACHE.get(session, tz=settings.timezone)
    keep, _states, _when = _keep(index, _filters(category, free, drop_in, wheelchair, step_free, quiet, bbox=box),
                                 open_at, open_now, settings.timezone)
    sel = np.flatnonzero(keep)
    return ClusterCollection(zoom=zoom, total=int(sel.size),
                             clusters=grid_clusters(index.lon[sel], index.lat[sel], index.ids[sel], zoom=zoom))


# ----------------------------------------------------------------------------- pages

def _long_date(value: datetime | None) -> str:
    return f"{value.day} {value:%B %Y}" if value else ""


def _when(value: datetime | None) -> str:
    return f"{value:%A} {value.day} {value:%B}, {value:%H:%M}" if value else ""


def _hours_lines(text: str | None) -> list[str]:
    """One rule per line, day names spelt out; the rest as given (the same as the map page)."""
    import re

    rules = [r.strip() for r in (text or "").split(";") if r.strip()]
    return [re.sub(r"\b(Mo|Tu|We|Th|Fr|Sa|Su|PH)\b", lambda m: DAYS[m.group(1)], r).replace(" off", " closed") for r in rules]


def _http_url(value: str | None) -> str | None:
    """The URL if it is http(s) (``javascript:`` and friends are never linked)."""
    from urllib.parse import urlsplit

    if not value:
        return None
    candidate = value.strip()
    if candidate.lower().startswith("www."):
        candidate = "https://" + candidate
    parts = urlsplit(candidate)
    return candidate if parts.scheme in ("http", "https") and parts.netloc and " " not in candidate else None


_env.filters.update(long_date=_long_date, when=_when, hours_lines=_hours_lines, http_url=_http_url)


def _render(name: str, status_code: int = 200, **context) -> HTMLResponse:
    return HTMLResponse(_env.get_template(name).render(attribution=ATTRIBUTION, honeypot=HONEYPOT, **context),
                        status_code=status_code)


def _activities(session, place_id: int, tz: str) -> list:
    try:
        from kindmap.models.activities import Opportunity
        from kindmap.services.activities import opportunity_public
    except ImportError:  # activities not installed in this build: the page still works
        return []
    now = to_local_naive(datetime.now().astimezone(), tz=tz)
    rows = session.exec(select(Opportunity).where(Opportunity.place_id == place_id, Opportunity.status == "published")
                        .order_by(Opportunity.title)).all()
    return [opportunity_public(session, r, now=now) for r in rows]


@router.get("/places/{place_id}", response_class=HTMLResponse, include_in_schema=False)
def place_page(place_id: int, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """A page per place: everything known about it, its kindness notes, and forms to thank it or report a problem."""
    try:
        feature = read_place(place_id, session, settings)
    except NotFound:
        return _render("not_found.html", 404, title="Place not found")
    return _render("place.html", title=feature.properties.name, place=feature.properties, place_id=feature.id,
                   lon=feature.geometry.coordinates[0], lat=feature.geometry.coordinates[1],
                   notes=public_notes(session, place_id), activities=_activities(session, place_id, settings.timezone),
                   problems=PROBLEMS)


@router.get("/suggest", response_class=HTMLResponse, include_in_schema=False)
def suggest_page() -> HTMLResponse:
    """The "suggest a place" form."""
    return _render("suggest.html", title="Suggest a place", categories=list(categories().values()))


@router.get("/moderate", response_class=HTMLResponse, include_in_schema=False)
def moderate_page() -> HTMLResponse:
    """The moderators' queue of public contributions (sign in with a moderator account)."""
    return _render("moderate.html", title="Moderate contributions", categories=list(categories().values()))
