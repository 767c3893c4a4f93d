"""OGC API – Features Part 1 (Core, GeoJSON, OpenAPI 3.0) over public data, callable without HTTP.

Each collection is one ``Collection`` in ``COLLECTIONS`` (``registry``): the rows that are public,
a named property model, equality filters and its geometry; adding one is a module that makes one
``register`` call (``ogc_places``, ``ogc_areas``, ``ogc_opportunities``, imported below in listing order).
This module serves the metadata documents (landing page, conformance, collections, queryables,
schema); ``items`` serves features and ``params`` parses the query. Coordinates are CRS84
(lon, lat in degrees, as GeoJSON and EPSG:4326 data). Functions return JSON-ready dicts; callers
pass the server root URL for the links.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from kindmap.errors import NotFound
from kindmap.geo.rfc7946 import outer_bbox
from kindmap.services.catalogue.export import as_utc
from kindmap.services.standards.ogc.items import item, items
from kindmap.services.standards.ogc.params import (
    CRS84_NAMES,
    CRS_PARAMS,
    F_VALUES,
    ITEM_PARAMS,
    InvalidParameter,
    check_params,
    parse_bbox,
    parse_datetime,
)
from kindmap.services.standards.ogc.registry import (
    BOOL,
    COLLECTIONS,
    CONFORMANCE,
    CRS84,
    DEFAULT_LIMIT,
    GEOJSON,
    GREGORIAN,
    JSON,
    MAX_LIMIT,
    MIN_COUNT,
    SCHEMA,
    Collection,
    Filter,
    get_collection,
    link,
    register,
)

# Collections register themselves on import, and /ogc/collections lists them in this order (tests hold it).
from kindmap.services.standards.ogc import places as ogc_places  # noqa: F401,I001  isort: skip
from kindmap.services.standards.ogc import areas as ogc_areas  # noqa: F401,I001  isort: skip
from kindmap.services.standards.ogc import opportunities as ogc_opportunities  # noqa: F401,I001  isort: skip
from kindmap.services.standards.ogc.areas import AREA_SHAPES, AreaProperties

__all__ = [
    "AREA_SHAPES", "BOOL", "COLLECTIONS", "CONFORMANCE", "CRS84", "CRS84_NAMES", "CRS_PARAMS", "DEFAULT_LIMIT",
    "F_VALUES", "GEOJSON", "GREGORIAN", "ITEM_PARAMS", "JSON", "MAX_LIMIT", "MIN_COUNT", "SCHEMA", "AreaProperties",
    "Collection", "Filter", "InvalidParameter", "collection", "collections", "conformance", "item", "items",
    "landing_page", "parse_bbox", "parse_datetime", "queryables", "register", "schema",
]


def _stamp(value: datetime | None) -> str | None:
    return None if value is None else as_utc(value).isoformat().replace("+00:00", "Z")


def landing_page(*, root: str, params: Iterable[tuple[str, str]] = (), openapi_path: str = "/openapi.json",
                 docs_path: str = "/docs") -> dict:
    """The /ogc landing page; ``root`` is the server's base URL without a trailing slash."""
    check_params(params, {"f"})
    base = f"{root}/ogc"
    return {
        "title": "kindmap — welcoming places (OGC API – Features)",
        "description": "Public welcoming places and small-area statistics. Everyone welcome.",
        "links": [
            link(base, "self", JSON, "This document"),
            # OGC clients and test suites want OpenAPI 3.0 (the oas30 class); the whole API's document is 3.1.
            link(f"{base}/api", "service-desc", "application/vnd.oai.openapi+json;version=3.0",
                 "The API definition of /ogc (OpenAPI 3.0)"),
            link(f"{root}{openapi_path}", "service-desc", "application/vnd.oai.openapi+json;version=3.1",
                 "The API definition of all of kindmap (OpenAPI 3.1)"),
            link(f"{root}{docs_path}", "service-doc", "text/html", "The API documentation"),
            link(f"{base}/conformance", "conformance", JSON, "Conformance classes"),
            link(f"{base}/collections", "data", JSON, "Collections"),
        ],
    }


def conformance(*, params: Iterable[tuple[str, str]] = ()) -> dict:
    """The conformance classes this API implements."""
    check_params(params, {"f"})
    return {"conformsTo": list(CONFORMANCE)}


def _describe(session: Session, coll: Collection, *, root: str) -> dict:
    base = f"{root}/ogc/collections/{coll.id}"
    box = coll.extent(session)
    extent: dict = {"spatial": {"bbox": [outer_bbox(box) if box else [-180.0, -90.0, 180.0, 90.0]], "crs": CRS84}}
    if coll.temporal is not None:
        first, last = session.exec(select(func.min(coll.temporal), func.max(coll.temporal)).where(*coll.public)).one()
        extent["temporal"] = {"interval": [[_stamp(first), _stamp(last)]], "trs": GREGORIAN}
    return {"id": coll.id, "title": coll.title, "description": coll.description, "itemType": "feature",
            "crs": [CRS84], "storageCrs": CRS84, "extent": extent,
            "links": [link(base, "self", JSON, "This collection"),
                      link(f"{base}/items", "items", GEOJSON, f"{coll.title} as GeoJSON"),
                      # GDAL matches the short rels "queryables" and "describedBy" (camel case) exactly.
                      *(link(f"{base}/queryables", rel, SCHEMA, "Properties to filter on")
                        for rel in ("http://www.opengis.net/def/rel/ogc/1.0/queryables", "queryables")),
                      *(link(f"{base}/schema", rel, SCHEMA, "Feature schema (property types)")
                        for rel in ("describedby", "describedBy") if coll.properties)]}


def collections(session: Session, *, root: str, params: Iterable[tuple[str, str]] = ()) -> dict:
    """Every collection with its extent and links."""
    check_params(params, {"f"})
    return {"links": [link(f"{root}/ogc/collections", "self", JSON, "Collections")],
            "collections": [_describe(session, c, root=root) for c in COLLECTIONS.values()]}


def collection(session: Session, collection_id: str, *, root: str, params: Iterable[tuple[str, str]] = ()) -> dict:
    """One collection's description (404 for an unknown id)."""
    coll = get_collection(collection_id)
    check_params(params, {"f"})
    return _describe(session, coll, root=root)


def queryables(collection_id: str, *, root: str, params: Iterable[tuple[str, str]] = ()) -> dict:
    """The properties ``items`` can filter on, as a JSON Schema (OGC API – Features Part 3 queryables)."""
    coll = get_collection(collection_id)
    check_params(params, {"f"})
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
    coll = get_collection(collection_id)
    check_params(params, {"f"})
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
