"""The OGC API collection registry and its shared vocabulary: media types, CRS84, ``Collection``, ``Filter``.

A collection module (``ogc_places``, ``ogc_areas``, ``ogc_opportunities``) builds one ``Collection``
from the helpers here and calls ``register``; ``kindmap.services.standards.ogc.core`` imports them in listing order.
Coordinates are CRS84 (lon, lat in degrees, as GeoJSON and EPSG:4326 data).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, select

from kindmap.errors import NotFound
from kindmap.models import Region

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
)
JSON, GEOJSON, SCHEMA = "application/json", "application/geo+json", "application/schema+json"
DEFAULT_LIMIT, MAX_LIMIT = 10, 1000
MIN_COUNT = 10  # counts below this are suppressed (null), as for every aggregate kindmap publishes


def parse_bool(text: str) -> bool:
    """'true' or 'false' (any case) → bool; ValueError otherwise."""
    if text.lower() not in ("true", "false"):
        raise ValueError("must be true or false")
    return text.lower() == "true"


def region_clause(column):
    """A filter clause: ``column`` is the id of the region with the given slug."""
    return lambda slug: column == select(Region.id).where(Region.slug == slug).scalar_subquery()


@dataclass(frozen=True)
class Filter:
    """An equality filter on one property: ``parse`` raises ValueError saying what is allowed."""

    parse: Callable[[str], Any]
    clause: Callable[[Any], Any]
    schema: dict = field(default_factory=lambda: {"type": "string"})  # JSON Schema, for /queryables


BOOL = {"type": "boolean"}


def eq_filter(column, parse: Callable[[str], Any] = str, schema: dict | None = None) -> Filter:
    """A Filter comparing ``column`` with the parsed value."""
    return Filter(parse, lambda value: column == value, schema or {"type": "string"})


def split_bbox(bbox: tuple) -> list[tuple]:
    """A bbox whose west edge is east of its east edge crosses the antimeridian: two boxes."""
    minx, miny, maxx, maxy = bbox
    return [bbox] if minx <= maxx else [(minx, miny, 180.0, maxy), (-180.0, miny, maxx, maxy)]


def int_fid(column):
    """A ``fid`` for integer ids: the path segment → ``column == id`` (ValueError when not digits)."""
    def clause(text: str):
        if not text.isdigit():
            raise ValueError("not a feature id")
        return column == int(text)
    return clause


@dataclass(frozen=True)
class Collection:
    """One feature collection: which rows are public and how a row becomes a GeoJSON feature."""

    id: str
    title: str
    description: str
    table: Any
    key: Any  # the column that orders pages
    public: tuple  # where-clauses that keep only public rows
    filters: dict[str, Filter]
    feature: Callable[[Any, dict], dict]  # (row, context) -> GeoJSON Feature
    fid: Callable[[str], Any]  # the {featureId} path segment -> a where-clause (ValueError when malformed)
    bbox: Callable[[Session, tuple], Any]  # CRS84 bbox -> a where-clause
    extent: Callable[[Session], list[float] | None]
    temporal: Any = None  # the datetime column the ``datetime`` parameter filters on
    context: Callable[[Session], dict] = field(default=lambda session: {})
    properties: tuple[type[BaseModel], frozenset] | None = None  # the property model (and fields not in properties)
    fid_type: str = "integer"  # JSON type of the feature id


COLLECTIONS: dict[str, Collection] = {}


def register(collection: Collection) -> Collection:
    """Add a collection to the OGC API (its id becomes /ogc/collections/{id})."""
    COLLECTIONS[collection.id] = collection
    return collection


def get_collection(name: str) -> Collection:
    """The registered collection, or NotFound naming the ones there are."""
    try:
        return COLLECTIONS[name]
    except KeyError:
        raise NotFound(f"no collection {name!r}; collections: {', '.join(COLLECTIONS)}") from None


def link(href: str, rel: str, media: str, title: str) -> dict:
    """One OGC API link object."""
    return {"href": href, "rel": rel, "type": media, "title": title}
