"""OGC API – Features under /ogc, and the public catalogue as CSV/GeoJSON downloads.

Handlers pass the raw query to ``kindmap.services.standards.ogc.core``, which rejects unknown or malformed
parameters (400, as the standard requires); OGC routes answer errors with the OGC exception
body ``{"code", "description"}`` plus our usual ``detail``. JSON only: ``f=html`` is a 400.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from kindmap.api.deps import SessionDep
from kindmap.errors import KindmapError
from kindmap.services.catalogue import export
from kindmap.services.standards.ogc import core as ogc
from kindmap.services.standards.ogc import documents as docs
from kindmap.services.standards.ogc import oas30
from kindmap.services.standards.ogc.params import MAX_OFFSET

GEOJSON = "application/geo+json"


def ogc_error(exc: KindmapError) -> JSONResponse:
    """A domain error as an OGC API exception document (with our ``detail`` too)."""
    code = getattr(exc, "ogc_code", None) or {404: "NotFound"}.get(exc.status_code, "InvalidParameterValue")
    return JSONResponse({"code": code, "description": exc.message, "detail": exc.message}, status_code=exc.status_code)


class OgcRoute(APIRoute):
    """Routes whose domain errors use the OGC exception body (other routes keep api/errors.py's)."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except KindmapError as exc:
                return ogc_error(exc)

        return run


class GeoJSONResponse(JSONResponse):
    media_type = GEOJSON


def _features(doc: dict) -> GeoJSONResponse:
    return GeoJSONResponse(doc, headers={"Content-Crs": f"<{ogc.CRS84}>"})


class SchemaJSONResponse(JSONResponse):
    media_type = ogc.SCHEMA


# Errors are always application/json, whatever the route's own media type (see kindmap.api.openapi).
_EXCEPTION = {"application/json": {"schema": {"$ref": "#/components/schemas/OgcException"}}}
OGC_ERRORS = {400: {"description": "Unknown or invalid query parameter", "content": _EXCEPTION},
              404: {"description": "No such collection or feature", "content": _EXCEPTION}}


def ok(model: type, description: str, **more: dict) -> dict:
    """The documented answers of an OGC route: ``model`` for 200 (in the route's own media type) and the errors."""
    return {200: {"model": model, "description": description}, **OGC_ERRORS, **more}



ITEMS_PARAMETERS = [
    {"name": "limit", "in": "query", "required": False, "style": "form", "explode": False,
     "description": f"Features per page (larger values are capped at {ogc.MAX_LIMIT}).",
     "schema": {"type": "integer", "minimum": 1, "maximum": ogc.MAX_LIMIT, "default": ogc.DEFAULT_LIMIT}},
    {"name": "offset", "in": "query", "required": False, "description": "Features to skip (follow the next link instead).",
     "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}},
    {"name": "bbox", "in": "query", "required": False, "style": "form", "explode": False,
     "description": "minlon,minlat,maxlon,maxlat in CRS84 degrees (or six numbers with heights, which are ignored).",
     "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}},  # as the standard's own
    {"name": "datetime", "in": "query", "required": False, "style": "form", "explode": False,
     "description": "RFC 3339 instant or interval (e.g. 2022-01-01T00:00:00Z/..) on updated_at; places and opportunities.",
     "schema": {"type": "string", "minLength": 1}},
    {"name": "f", "in": "query", "required": False, "schema": {"type": "string", "enum": ["json"]}},
    {"name": "crs", "in": "query", "required": False, "description": "Only CRS84 is offered.",
     "schema": {"type": "string", "enum": [ogc.CRS84]}},
    {"name": "bbox-crs", "in": "query", "required": False, "description": "Only CRS84 is offered.",
     "schema": {"type": "string", "enum": [ogc.CRS84]}},
]
F_PARAMETER = {"parameters": [p for p in ITEMS_PARAMETERS if p["name"] == "f"]}

# Documented as the collections there are; any other id is answered 404 by the service, not 422 here.
CollectionId = Annotated[str, Path(json_schema_extra={"enum": list(ogc.COLLECTIONS)}, description="places, areas or opportunities")]

ogc_router = APIRouter(prefix="/ogc", tags=["OGC API – Features"], route_class=OgcRoute)


def _root(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _query(request: Request) -> list[tuple[str, str]]:
    return request.query_params.multi_items()


@ogc_router.get("/", include_in_schema=False)  # answered here, not redirected: some clients do not follow
@ogc_router.get("", responses=ok(docs.LandingPage, "The landing page"), openapi_extra=F_PARAMETER)
def landing(request: Request) -> JSONResponse:
    """Landing page: links to the API definition, conformance and collections."""
    app = request.app
    return JSONResponse(ogc.landing_page(root=_root(request), params=_query(request),
                                         openapi_path=app.openapi_url or "/openapi.json", docs_path="/docs"))


@ogc_router.get("/api", response_class=JSONResponse, responses={200: {
    "description": "The OGC API part of the API definition as OpenAPI 3.0 (the oas30 conformance class)",
    "content": {oas30.OAS30_MEDIA: {"schema": {"type": "object", "required": ["openapi", "info", "paths"]}}}},
    400: OGC_ERRORS[400]}, openapi_extra=F_PARAMETER)
def api_definition(request: Request) -> JSONResponse:
    """The API definition of /ogc as an OpenAPI 3.0 document (the whole API's, at /openapi.json, is 3.1)."""
    ogc.check_params(_query(request), {"f"})
    untimed = {c.id: {"datetime"} for c in ogc.COLLECTIONS.values() if c.temporal is None}
    return JSONResponse(oas30.ogc_definition(request.app.openapi(), root=_root(request), without=untimed),
                        media_type=oas30.OAS30_MEDIA)


@ogc_router.get("/conformance", responses=ok(docs.ConfClasses, "The conformance classes"), openapi_extra=F_PARAMETER)
def conformance(request: Request) -> JSONResponse:
    """Conformance classes: Core, GeoJSON, OpenAPI 3.0."""
    return JSONResponse(ogc.conformance(params=_query(request)))


@ogc_router.get("/collections", responses=ok(docs.Collections, "The collections"), openapi_extra=F_PARAMETER)
def collections(request: Request, session: SessionDep) -> JSONResponse:
    """The feature collections: places, areas, opportunities."""
    return JSONResponse(ogc.collections(session, root=_root(request), params=_query(request)))


@ogc_router.get("/collections/{collection_id}", responses=ok(docs.CollectionInfo, "One collection"),
                openapi_extra=F_PARAMETER)
def collection(collection_id: CollectionId, request: Request, session: SessionDep) -> JSONResponse:
    """One collection: extent (CRS84 bbox, updated_at interval) and links."""
    return JSONResponse(ogc.collection(session, collection_id, root=_root(request), params=_query(request)))


@ogc_router.get("/collections/{collection_id}/queryables", response_class=SchemaJSONResponse,
                responses=ok(docs.JsonSchemaDocument, "The queryables, as a JSON Schema"), openapi_extra=F_PARAMETER)
def queryables(collection_id: CollectionId, request: Request) -> JSONResponse:
    """The properties the items can be filtered on (name=value), as a JSON Schema."""
    return SchemaJSONResponse(ogc.queryables(collection_id, root=_root(request), params=_query(request)))


@ogc_router.get("/collections/{collection_id}/schema", response_class=SchemaJSONResponse,
                responses=ok(docs.JsonSchemaDocument, "The feature schema, as a JSON Schema"), openapi_extra=F_PARAMETER)
def schema(collection_id: CollectionId, request: Request) -> JSONResponse:
    """JSON Schema of a feature: the type of every property."""
    return SchemaJSONResponse(ogc.schema(collection_id, root=_root(request), params=_query(request)))


@ogc_router.get("/collections/{collection_id}/items", responses=ok(docs.FeatureCollection, "A page of features"),
                response_class=GeoJSONResponse,
                openapi_extra={"parameters": ITEMS_PARAMETERS})
def items(collection_id: CollectionId, request: Request, session: SessionDep) -> GeoJSONResponse:
    """Features, a page at a time; property filters as name=value (see the collection description)."""
    return _features(ogc.items(session, collection_id, root=_root(request), params=_query(request)))


@ogc_router.get("/collections/{collection_id}/items/{feature_id}", responses=ok(docs.Feature, "One feature"),
                response_class=GeoJSONResponse,
                openapi_extra=F_PARAMETER)
def item(collection_id: CollectionId, feature_id: str, request: Request, session: SessionDep) -> GeoJSONResponse:
    """One feature."""
    return _features(ogc.item(session, collection_id, feature_id, root=_root(request), params=_query(request)))


export_router = APIRouter(prefix="/api", tags=["exports"])
RegionParam = Annotated[str | None, Query(max_length=64, description="Region slug, e.g. rutland")]
CategoryParam = Annotated[list[str] | None, Query(description="Category slugs (repeatable)")]


@export_router.get("/export.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def export_csv(session: SessionDep, region: RegionParam = None, category: CategoryParam = None) -> Response:
    """The public catalogue as CSV (formula cells neutralised; attribution column)."""
    records = export.public_places(session, region=region, categories=category)
    return Response(export.csv_text(records), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="kindmap-places.csv"'})


@export_router.get("/export.geojson", response_class=GeoJSONResponse)
def export_geojson(session: SessionDep, region: RegionParam = None, category: CategoryParam = None) -> GeoJSONResponse:
    """The public catalogue as a GeoJSON FeatureCollection with the attribution."""
    records = export.public_places(session, region=region, categories=category)
    return GeoJSONResponse(export.geojson_document(records),
                           headers={"Content-Disposition": 'attachment; filename="kindmap-places.geojson"'})


router = APIRouter()
router.include_router(ogc_router)
router.include_router(export_router)
