"""OGC API – Features Part 1 (Core, GeoJSON, OpenAPI 3.0) over public data, callable without HTTP.

Each collection is one ``Collection`` in ``COLLECTIONS``: the rows that are public, a named
property model, equality filters and its geometry; adding one (e.g. opportunities) is one
``register`` call. Coordinates are CRS84 (lon, lat in degrees, as GeoJSON and EPSG:4326 data).
Functions return JSON-ready dicts; callers pass the server root URL for the links.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlencode

import numpy as np
import shapely
from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import Session, select

from kindmap.errors import InvalidQuery, KindmapError, NotFound
from kindmap.models import Area, Place, PlaceStatus, Region
from kindmap.services.export import PlaceRecord, as_utc, place_record, region_slugs
from kindmap.taxonomy import check_categories

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
F_VALUES = {"json", "geojson", JSON, GEOJSON}
# crs/bbox-crs (Part 2) are accepted for CRS84 only: newer GDAL sends crs=CRS84 when a collection lists its crs.
CRS_PARAMS = ("crs", "bbox-crs")
CRS84_NAMES = {CRS84, "[OGC:CRS84]", "OGC:CRS84"}
ITEM_PARAMS = ("limit", "offset", "bbox", "datetime", "f", *CRS_PARAMS)


class InvalidParameter(KindmapError):
    """An OGC API query parameter is unknown or malformed (the standard says 400, not 422)."""

    status_code = 400
    ogc_code = "InvalidParameterValue"


def _bool(text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise ValueError("must be true or false")
    return text.lower() == "true"


def _decile(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 10:
        raise ValueError("must be a whole number from 1 (most deprived) to 10")
    return int(text)


def _category(text: str) -> str:
    try:
        return check_categories([text])[0]
    except InvalidQuery as exc:
        raise ValueError(exc.message) from exc


def _wheelchair(text: str) -> str:
    if text not in ("yes", "limited", "no"):
        raise ValueError("must be yes, limited or no")
    return text


def _region_clause(column):
    return lambda slug: column == select(Region.id).where(Region.slug == slug).scalar_subquery()


@dataclass(frozen=True)
class Filter:
    """An equality filter on one property: ``parse`` raises ValueError saying what is allowed."""

    parse: Callable[[str], Any]
    clause: Callable[[Any], Any]
    schema: dict = field(default_factory=lambda: {"type": "string"})  # JSON Schema, for /queryables


BOOL, DECILE = {"type": "boolean"}, {"type": "integer", "minimum": 1, "maximum": 10}


def _eq(column, parse: Callable[[str], Any] = str, schema: dict | None = None) -> Filter:
    return Filter(parse, lambda value: column == value, schema or {"type": "string"})


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


# -- places ------------------------------------------------------------------------------

def _place_feature(place: Place, context: dict) -> dict:
    record = place_record(place, region_slug=context["regions"].get(place.region_id))
    return {"type": "Feature", "id": place.id, "geometry": {"type": "Point", "coordinates": [place.lon, place.lat]},
            "properties": record.model_dump(mode="json", exclude={"id", "lon", "lat"})}


def _split_bbox(bbox: tuple) -> list[tuple]:
    """A bbox whose west edge is east of its east edge crosses the antimeridian: two boxes."""
    minx, miny, maxx, maxy = bbox
    return [bbox] if minx <= maxx else [(minx, miny, 180.0, maxy), (-180.0, miny, maxx, maxy)]


def _place_bbox(_session: Session, bbox: tuple):
    from sqlalchemy import and_, or_

    return or_(*(and_(Place.lon >= a, Place.lon <= c, Place.lat >= b, Place.lat <= d) for a, b, c, d in _split_bbox(bbox)))


def _place_extent(session: Session) -> list[float] | None:
    row = session.exec(select(func.min(Place.lon), func.min(Place.lat), func.max(Place.lon), func.max(Place.lat))
                       .where(Place.status == PlaceStatus.published)).one()
    return None if row[0] is None else [float(v) for v in row]


def _int_fid(column):
    def clause(text: str):
        if not text.isdigit():
            raise ValueError("not a feature id")
        return column == int(text)
    return clause


_PLACE_BOOLS = ("free_to_use", "no_purchase_needed", "drop_in", "warm_hospitality", "toilets", "seating", "wifi",
                "accessible_toilet", "hearing_loop", "quiet_space", "step_free")

register(Collection(
    id="places", title="Welcoming places",
    description="Published welcoming, free, everyday places where people connect — everyone welcome. "
                "Points in CRS84 with public details and provenance. Filters: category, region, source, wheelchair "
                f"(yes/limited/no) and {', '.join(_PLACE_BOOLS)} (true/false); datetime filters on updated_at.",
    table=Place, key=Place.id, public=(Place.status == PlaceStatus.published,),
    filters={"category": _eq(Place.category, _category), "region": Filter(str, _region_clause(Place.region_id)),
             "source": _eq(Place.source), "wheelchair": _eq(Place.wheelchair, _wheelchair, {"type": "string", "enum": ["yes", "limited", "no"]}),
             **{name: _eq(getattr(Place, name), _bool, BOOL) for name in _PLACE_BOOLS}},
    feature=_place_feature, fid=_int_fid(Place.id), bbox=_place_bbox, extent=_place_extent,
    temporal=Place.updated_at, context=lambda session: {"regions": region_slugs(session)},
    properties=(PlaceRecord, frozenset({"id", "lon", "lat"})),
))


# -- areas -------------------------------------------------------------------------------

class AreaProperties(BaseModel):
    """Public statistics of one small area (counts below 10 are suppressed to null)."""

    code: str
    name: str
    kind: str
    region: str | None
    population: int | None
    households: int | None
    deprivation_index: str | None
    deprivation_rank: int | None
    deprivation_decile: int | None


def _suppress(count: int | None) -> int | None:
    return None if count is None or count < MIN_COUNT else count


def _area_feature(area: Area, context: dict) -> dict:
    props = AreaProperties(code=area.code, name=area.name, kind=area.kind, region=context["regions"].get(area.region_id),
                           population=_suppress(area.population), households=_suppress(area.households),
                           deprivation_index=area.deprivation_index, deprivation_rank=area.deprivation_rank,
                           deprivation_decile=area.deprivation_decile)
    return {"type": "Feature", "id": area.code, "geometry": json.loads(area.geometry_geojson),
            "properties": props.model_dump(mode="json")}


class _AreaShapes:
    """Area ids and shapely geometries, parsed once per version of the area table (for bbox and extent)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[str, tuple] = {}

    def get(self, session: Session) -> tuple[np.ndarray, np.ndarray]:
        key = str(session.get_bind().url)
        signature = session.exec(select(func.count(Area.id), func.max(Area.id),
                                        func.sum(func.length(Area.geometry_geojson)))).one()
        with self._lock:
            hit = self._cache.get(key)
            if hit is None or hit[0] != tuple(signature):
                rows = session.exec(select(Area.id, Area.geometry_geojson).order_by(Area.id)).all()
                ids = np.array([r[0] for r in rows], dtype=np.int64)
                geoms = shapely.from_geojson([r[1] for r in rows]) if rows else np.array([], dtype=object)
                hit = self._cache[key] = (tuple(signature), ids, geoms)
        return hit[1], hit[2]


AREA_SHAPES = _AreaShapes()


def _area_bbox(session: Session, bbox: tuple):
    ids, geoms = AREA_SHAPES.get(session)
    hit = np.zeros(ids.size, dtype=bool)
    for box in _split_bbox(bbox):
        hit |= shapely.intersects(geoms, shapely.box(*box)) if ids.size else hit
    return Area.id.in_([int(i) for i in ids[hit]])


def _area_extent(session: Session) -> list[float] | None:
    ids, geoms = AREA_SHAPES.get(session)
    return [float(v) for v in shapely.total_bounds(geoms)] if ids.size else None


def _area_fid(text: str):
    if not text or len(text) > 16:
        raise ValueError("not a feature id")
    return Area.code == text


register(Collection(
    id="areas", title="Small areas and deprivation",
    description="Small statistical areas (LSOA, data zone) with published population, households and deprivation "
                "(decile 1 = most deprived). Public statistics only; counts below 10 are null. "
                "Filters: deprivation_decile (1-10), kind, region.",
    table=Area, key=Area.id, public=(), feature=_area_feature, fid=_area_fid, bbox=_area_bbox, extent=_area_extent,
    filters={"deprivation_decile": _eq(Area.deprivation_decile, _decile, DECILE), "kind": _eq(Area.kind),
             "region": Filter(str, _region_clause(Area.region_id))},
    context=lambda session: {"regions": region_slugs(session)},
    properties=(AreaProperties, frozenset()), fid_type="string",
))


# -- parameters --------------------------------------------------------------------------

def _params(pairs: Iterable[tuple[str, str]], allowed: Iterable[str]) -> dict[str, str]:
    """The query as a dict; unknown or repeated parameters and an f other than JSON are 400."""
    allowed = set(allowed)
    seen: dict[str, str] = {}
    for name, value in pairs:
        if name not in allowed:
            raise InvalidParameter(f"unknown query parameter {name!r}; allowed here: {', '.join(sorted(allowed))}")
        if name in seen:
            raise InvalidParameter(f"query parameter {name!r} is given more than once; give it once")
        seen[name] = value
    if "f" in seen and seen["f"] not in F_VALUES:
        raise InvalidParameter(f"f={seen['f']!r} is not offered; this API serves JSON only (f=json)")
    for name in CRS_PARAMS:
        if name in seen and seen[name] not in CRS84_NAMES:
            raise InvalidParameter(f"{name}={seen[name]!r} is not offered; coordinates are in {CRS84} only")
    return seen


def _int(name: str, text: str, *, low: int) -> int:
    if not text.strip().isdigit() or int(text) < low:
        raise InvalidParameter(f"{name} must be a whole number of at least {low}, not {text!r}")
    return int(text)


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """'minlon,minlat,maxlon,maxlat' in CRS84 degrees → a tuple, or InvalidParameter."""
    try:
        parts = tuple(float(v) for v in text.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 4 or not all(np.isfinite(parts)):
        raise InvalidParameter("bbox must be four numbers: minlon,minlat,maxlon,maxlat (CRS84 degrees)")
    minx, miny, maxx, maxy = parts
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InvalidParameter("bbox is out of range: longitudes -180..180, latitudes -90..90 with minlat ≤ maxlat")
    return parts  # type: ignore[return-value]


def _instant(text: str, *, end: bool) -> datetime:
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time.min, tzinfo=timezone.utc)
            return moment + timedelta(days=1, microseconds=-1) if end else moment
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidParameter(f"datetime {text!r} is not an RFC 3339 date-time, e.g. 2022-01-01T00:00:00Z") from None
    if moment.tzinfo is None:
        raise InvalidParameter(f"datetime {text!r} needs a time zone: add Z or an offset such as +01:00")
    return moment.astimezone(timezone.utc)


def parse_datetime(text: str) -> tuple[datetime | None, datetime | None]:
    """An instant, a date, or an interval 'start/end' with '..' or '' for an open end → UTC bounds."""
    if "/" not in text:
        return _instant(text, end=False), _instant(text, end=True)
    parts = text.split("/")
    if len(parts) != 2:
        raise InvalidParameter("datetime interval is start/end, e.g. 2022-01-01T00:00:00Z/..")
    start = None if parts[0] in ("", "..") else _instant(parts[0], end=False)
    stop = None if parts[1] in ("", "..") else _instant(parts[1], end=True)
    if start is None and stop is None:
        raise InvalidParameter("datetime interval must have at least one end")
    if start and stop and start > stop:
        raise InvalidParameter("datetime interval starts after it ends")
    return start, stop


# -- documents ---------------------------------------------------------------------------

def _link(href: str, rel: str, media: str, title: str) -> dict:
    return {"href": href, "rel": rel, "type": media, "title": title}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _stamp(value: datetime | None) -> str | None:
    return None if value is None else as_utc(value).isoformat().replace("+00:00", "Z")


def _collection(name: str) -> Collection:
    try:
        return COLLECTIONS[name]
    except KeyError:
        raise NotFound(f"no collection {name!r}; collections: {', '.join(COLLECTIONS)}") from None


def landing_page(*, root: str, params: Iterable[tuple[str, str]] = (), openapi_path: str = "/openapi.json",
                 docs_path: str = "/docs") -> dict:
    """The /ogc landing page; ``root`` is the server's base URL without a trailing slash."""
    _params(params, {"f"})
    base = f"{root}/ogc"
    return {
        "title": "kindmap — welcoming places (OGC API – Features)",
        "description": "Public welcoming places and small-area statistics. Everyone welcome.",
        "links": [
            _link(base, "self", JSON, "This document"),
            _link(f"{root}{openapi_path}", "service-desc", "application/vnd.oai.openapi+json;version=3.0", "The API definition"),
            _link(f"{root}{docs_path}", "service-doc", "text/html", "The API documentation"),
            _link(f"{base}/conformance", "conformance", JSON, "Conformance classes"),
            _link(f"{base}/collections", "data", JSON, "Collections"),
        ],
    }


def conformance(*, params: Iterable[tuple[str, str]] = ()) -> dict:
    """The conformance classes this API implements."""
    _params(params, {"f"})
    return {"conformsTo": list(CONFORMANCE)}


def _describe(session: Session, coll: Collection, *, root: str) -> dict:
    base = f"{root}/ogc/collections/{coll.id}"
    extent: dict = {"spatial": {"bbox": [coll.extent(session) or [-180.0, -90.0, 180.0, 90.0]], "crs": CRS84}}
    if coll.temporal is not None:
        first, last = session.exec(select(func.min(coll.temporal), func.max(coll.temporal)).where(*coll.public)).one()
        extent["temporal"] = {"interval": [[_stamp(first), _stamp(last)]], "trs": GREGORIAN}
    return {"id": coll.id, "title": coll.title, "description": coll.description, "itemType": "feature",
            "crs": [CRS84], "storageCrs": CRS84, "extent": extent,
            "links": [_link(base, "self", JSON, "This collection"),
                      _link(f"{base}/items", "items", GEOJSON, f"{coll.title} as GeoJSON"),
                      # GDAL matches the short rels "queryables" and "describedBy" (camel case) exactly.
                      *(_link(f"{base}/queryables", rel, SCHEMA, "Properties to filter on")
                        for rel in ("http://www.opengis.net/def/rel/ogc/1.0/queryables", "queryables")),
                      *(_link(f"{base}/schema", rel, SCHEMA, "Feature schema (property types)")
                        for rel in ("describedby", "describedBy") if coll.properties)]}


def collections(session: Session, *, root: str, params: Iterable[tuple[str, str]] = ()) -> dict:
    """Every collection with its extent and links."""
    _params(params, {"f"})
    return {"links": [_link(f"{root}/ogc/collections", "self", JSON, "Collections")],
            "collections": [_describe(session, c, root=root) for c in COLLECTIONS.values()]}


def collection(session: Session, collection_id: str, *, root: str, params: Iterable[tuple[str, str]] = ()) -> dict:
    """One collection's description (404 for an unknown id)."""
    coll = _collection(collection_id)
    _params(params, {"f"})
    return _describe(session, coll, root=root)


def queryables(collection_id: str, *, root: str, params: Iterable[tuple[str, str]] = ()) -> dict:
    """The properties ``items`` can filter on, as a JSON Schema (OGC API – Features Part 3 queryables)."""
    coll = _collection(collection_id)
    _params(params, {"f"})
    return {"$schema": "https://json-schema.org/draft/2019-09/schema",
            "$id": f"{root}/ogc/collections/{coll.id}/queryables", "type": "object", "title": coll.title,
            "properties": {name: dict(flt.schema) for name, flt in coll.filters.items()}}


def _json_type(annotation) -> dict:
    args = set(getattr(annotation, "__args__", (annotation,))) - {type(None)}
    kind = args.pop() if len(args) == 1 else str
    if kind is datetime:
        return {"type": "string", "format": "date-time"}
    return {"type": {bool: "boolean", int: "integer", float: "number"}.get(kind, "string")}


def schema(collection_id: str, *, root: str, params: Iterable[tuple[str, str]] = ()) -> dict:
    """JSON Schema of one feature, so clients (GDAL, QGIS) type columns without guessing from a page."""
    coll = _collection(collection_id)
    _params(params, {"f"})
    if coll.properties is None:
        raise NotFound(f"collection {coll.id!r} publishes no schema")
    model, skip = coll.properties
    # Plain "type" strings (no nullable unions): GDAL's schema reader only understands those; every property may be null.
    props = {name: _json_type(f.annotation) for name, f in model.model_fields.items() if name not in skip}
    return {"$schema": "https://json-schema.org/draft/2019-09/schema",
            "$id": f"{root}/ogc/collections/{coll.id}/schema", "title": coll.title, "type": "object",
            "properties": {"type": {"type": "string", "enum": ["Feature"]},
                           "id": {"type": coll.fid_type},
                           "geometry": {"type": "object"},
                           "properties": {"type": "object", "properties": props}}}


def items(session: Session, collection_id: str, *, root: str, params: Iterable[tuple[str, str]] = ()) -> dict:
    """A page of features as a GeoJSON FeatureCollection with numberMatched/numberReturned and next/prev links."""
    coll = _collection(collection_id)
    given = _params(params, (*ITEM_PARAMS, *coll.filters))
    limit = min(_int("limit", given["limit"], low=1), MAX_LIMIT) if "limit" in given else DEFAULT_LIMIT
    offset = _int("offset", given["offset"], low=0) if "offset" in given else 0
    clauses = list(coll.public)
    if "bbox" in given:
        clauses.append(coll.bbox(session, parse_bbox(given["bbox"])))
    if "datetime" in given:
        if coll.temporal is None:
            raise InvalidParameter(f"collection {coll.id!r} has no time property; leave out datetime")
        start, stop = parse_datetime(given["datetime"])
        clauses += [coll.temporal >= start] if start else []  # the column type stores and compares UTC
        clauses += [coll.temporal <= stop] if stop else []
    for name, flt in coll.filters.items():
        if name in given:
            try:
                clauses.append(flt.clause(flt.parse(given[name])))
            except ValueError as exc:
                raise InvalidParameter(f"{name}={given[name]!r}: {exc}") from None
    matched = session.exec(select(func.count()).select_from(coll.table).where(*clauses)).one()
    rows = session.exec(select(coll.table).where(*clauses).order_by(coll.key).offset(offset).limit(limit)).all()
    context = coll.context(session)
    base = f"{root}/ogc/collections/{coll.id}/items"
    keep = {k: v for k, v in given.items() if k not in ("limit", "offset")}

    def page(at: int) -> str:
        return f"{base}?{urlencode({**keep, 'limit': limit, 'offset': at})}"

    links = [_link(page(offset), "self", GEOJSON, "This page"),
             _link(f"{root}/ogc/collections/{coll.id}", "collection", JSON, coll.title)]
    if offset + len(rows) < matched:
        links.append(_link(page(offset + limit), "next", GEOJSON, "Next page"))
    if offset > 0:
        links.append(_link(page(max(offset - limit, 0)), "prev", GEOJSON, "Previous page"))
    return {"type": "FeatureCollection", "features": [coll.feature(r, context) for r in rows], "links": links,
            "numberMatched": int(matched), "numberReturned": len(rows), "timeStamp": _now()}


def item(session: Session, collection_id: str, feature_id: str, *, root: str,
         params: Iterable[tuple[str, str]] = ()) -> dict:
    """One feature by id (404 when it does not exist or is not public)."""
    coll = _collection(collection_id)
    _params(params, {"f", "crs"})
    try:
        clause = coll.fid(feature_id)
    except ValueError:
        clause = None
    row = session.exec(select(coll.table).where(clause, *coll.public)).first() if clause is not None else None
    if row is None:
        raise NotFound(f"no feature {feature_id!r} in collection {coll.id!r}")
    feature = coll.feature(row, coll.context(session))
    base = f"{root}/ogc/collections/{coll.id}"
    feature["links"] = [_link(f"{base}/items/{quote(feature_id, safe='')}", "self", GEOJSON, "This feature"),
                        _link(base, "collection", JSON, coll.title)]
    return feature


# Collections defined in their own modules register themselves on import (after everything above exists).
from kindmap.services import ogc_opportunities  # noqa: E402,F401
