"""The public pages beyond the map — a page per place, suggest a place, moderation — and the
two map queries only the page needs: name search and grid clusters for large catalogues.

HTML is rendered by Jinja2 with autoescape on, so every text a person or a source wrote
is escaped exactly once, here. Search and clustering work on the in-memory catalogue index.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, Field
from sqlmodel import select

from kindmap.api.deps import SessionDep, SettingsDep
from kindmap.api.nav import MODERATION_ROLES, PageUser, nav_context, staff_page
from kindmap.api.routes.places import parse_bbox, read_place
from kindmap.config import ATTRIBUTION, web_dir
from kindmap.errors import NotFound
from kindmap.hours import to_local_naive
from kindmap.schemas import ErrorOut, PlaceCollection, place_collection
from kindmap.services.catalogue import mapview
from kindmap.services.catalogue.search import SearchQuery
from kindmap.services.community import answers
from kindmap.services.community.contributions import HONEYPOT, PROBLEMS, public_notes
from kindmap.services.imports.merge import disputed_hours
from kindmap.taxonomy import categories

router = APIRouter(tags=["pages"])
ERRORS = {404: {"model": ErrorOut}, 422: {"model": ErrorOut}}
_env = Environment(loader=FileSystemLoader(str(web_dir() / "templates")), autoescape=select_autoescape(default=True),
                   trim_blocks=True, lstrip_blocks=True)
DAYS = {"Mo": "Mon", "Tu": "Tue", "We": "Wed", "Th": "Thu", "Fr": "Fri", "Sa": "Sat", "Su": "Sun", "PH": "Bank holidays"}


def _filters(category: list[str], free: bool | None, drop_in: bool | None, wheelchair: bool | None,
             step_free: bool | None, quiet: bool | None, *, open_at: datetime | None = None, bbox=None,
             limit: int = 50) -> SearchQuery:
    return SearchQuery(categories=category, free=free, drop_in=drop_in, wheelchair=wheelchair or None,
                       step_free=step_free, quiet=quiet, open_at=open_at, bbox=bbox, limit=limit)


Category = Annotated[list[str], Query(description="Category slugs (repeatable)")]
OpenAt = Annotated[datetime | None, Query(description=(
    "Only places open then, ISO 8601: without an offset (2026-07-06T10:30) it is local time in the server's "
    "zone (Europe/London by default); with one (…Z, …+01:00) it is converted to it. Answered as local time "
    "with its UTC offset."))]

IncludeUnknown = Annotated[bool, Query(description="Filters also keep places where the fact is not known yet "
                                                   "('yes, or not known yet'); see /api/places")]


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


@router.get("/api/places/search", response_model=PlaceCollection, responses=ERRORS, tags=["places"])
def search_by_name(
    session: SessionDep, settings: SettingsDep,
    q: Annotated[str, Query(min_length=1, max_length=100, description=(
        "Words of the place's name or another name it is known by, its kind, or its town ('Oakham Library'); "
        "case, accents and small typos ignored. A postcode, postcode district ('LE15') or sector ('LE15 6'), "
        "or a town with no place of that name, gives the places near it (see search.located)."))],
    category: Category = [],  # noqa: B006
    free: bool | None = None, drop_in: bool | None = None, wheelchair: bool | None = None,
    step_free: bool | None = None, quiet: bool | None = None, open_at: OpenAt = None, open_now: bool = False,
    lon: Annotated[float | None, Query(ge=-180, le=180, description="Longitude, EPSG:4326: nearer matches first")] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90, description="Latitude, EPSG:4326")] = None,
    include_unknown: IncludeUnknown = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> PlaceCollection:
    """Published places whose names match ``q`` (best matches first), with the same filters as /api/places.

    The cost follows the places the words match: at most 100,000 are scored (those of the word matching the
    fewest), so a query whose every word is that common is refused (422) and asks for another word."""
    query = _filters(category, free, drop_in, wheelchair, step_free, quiet, open_at=open_at, limit=limit)
    query.lon, query.lat, query.include_unknown = lon, lat, include_unknown
    result = mapview.search_by_name(session, q, query, open_now=open_now, settings=settings)
    return place_collection(result, attribution=ATTRIBUTION, tz=settings.timezone)


@router.get("/api/places/clusters", response_model=ClusterCollection, responses=ERRORS, tags=["places"])
def clusters(
    session: SessionDep, settings: SettingsDep,
    bbox: Annotated[str, Query(description="minlon,minlat,maxlon,maxlat (EPSG:4326) of the map view")],
    zoom: Annotated[int, Query(ge=0, le=22, description=(
        f"Map zoom level; cells are 64 screen pixels at this zoom, and the bbox may span at most "
        f"{mapview.MAX_VIEW_CELLS:,} of them (a map sends its own view and zoom)"))],
    category: Category = [],  # noqa: B006
    free: bool | None = None, drop_in: bool | None = None, wheelchair: bool | None = None,
    step_free: bool | None = None, quiet: bool | None = None, open_at: OpenAt = None, open_now: bool = False,
    include_unknown: IncludeUnknown = False,
) -> ClusterCollection:
    """Matching places in a map view, grouped into screen-grid clusters (so 50,000 places cost a few KB).

    Without filters the cells wholly in view are answered from per-cell summaries, so the cost follows
    the cells, not the places; with filters at most 1,000,000 places in view are checked (422 past it)."""
    query = _filters(category, free, drop_in, wheelchair, step_free, quiet, open_at=open_at, bbox=parse_bbox(bbox))
    query.include_unknown = include_unknown
    total, cells = mapview.clusters_in_view(session, query, zoom=zoom, open_now=open_now, settings=settings)
    return ClusterCollection(zoom=zoom, total=total, clusters=[Cluster(**vars(c)) for c in cells])


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


def _render(name: str, status_code: int = 200, *, user=None, path: str | None = None, **context) -> HTMLResponse:
    # Signed in, the navigation names the account: such a page is never cached for others.
    headers = {"Cache-Control": "private, no-store"} if user is not None else None
    return HTMLResponse(_env.get_template(name).render(attribution=ATTRIBUTION, honeypot=HONEYPOT,
                                                       **nav_context(user, current=path), **context),
                        status_code=status_code, headers=headers)


def _activities(session, place_id: int, tz: str) -> list:
    try:
        from kindmap.models.activities import Opportunity
        from kindmap.services.catalogue.activities import opportunity_public
    except ImportError:  # activities not installed in this build: the page still works
        return []
    now = to_local_naive(datetime.now().astimezone(), tz=tz)
    rows = session.exec(select(Opportunity).where(Opportunity.place_id == place_id, Opportunity.status == "published")
                        .order_by(Opportunity.title)).all()
    return [opportunity_public(session, r, now=now, tz=tz) for r in rows]


@router.get("/places/{place_id}", response_class=HTMLResponse, include_in_schema=False)
def place_page(place_id: int, session: SessionDep, settings: SettingsDep, user: PageUser) -> HTMLResponse:
    """A page per place: everything known about it, its kindness notes, and forms to thank it or report a problem."""
    try:
        feature = read_place(place_id, session, settings)
    except NotFound:
        return _render("not_found.html", 404, title="Place not found", user=user)
    return _render("place.html", title=feature.properties.name, place=feature.properties, place_id=feature.id,
                   lon=feature.geometry.coordinates[0], lat=feature.geometry.coordinates[1],
                   notes=public_notes(session, place_id), activities=_activities(session, place_id, settings.timezone),
                   problems=PROBLEMS, questions=answers.QUESTIONS,
                   visitor_facts=answers.visitor_facts(session, place_id), disputed=disputed_hours(session, place_id),
                   user=user)


@router.get("/suggest", response_class=HTMLResponse, include_in_schema=False)
def suggest_page(user: PageUser) -> HTMLResponse:
    """The "suggest a place" form."""
    return _render("suggest.html", title="Suggest a place", categories=list(categories().values()), user=user,
                   path="/suggest")


@router.get("/moderate", response_class=HTMLResponse, include_in_schema=False)
def moderate_page(user: PageUser) -> HTMLResponse:
    """The moderators' queue of public contributions (moderators and admins; anyone else signed in is told it is
    not for their account)."""
    return staff_page(_env, "moderate.html", user, path="/moderate", roles=MODERATION_ROLES, page_name="The review queue",
                      who_for="moderators", title="Review queue", honeypot=HONEYPOT,
                      category_labels={c.slug: c.label for c in categories().values()})
