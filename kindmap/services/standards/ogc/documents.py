"""The OGC API – Features documents as pydantic models, for the API definition only: so the OpenAPI
document types every 200 response with its real schema (fuzzers and clients check the bodies against
them), while the handlers keep building plain dicts (core.py)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from kindmap.services.catalogue.export import PlaceRecord
from kindmap.services.standards.ogc import core  # noqa: F401  first: it registers the collections in listing order
from kindmap.services.standards.ogc.areas import AreaProperties
from kindmap.services.standards.ogc.opportunities import OpportunityProperties


class Link(BaseModel):
    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class LandingPage(BaseModel):
    title: str
    description: str
    links: list[Link]


class ConfClasses(BaseModel):
    conformsTo: list[str]  # noqa: N815 (the standard's name)


class Spatial(BaseModel):
    bbox: list[list[float]] = Field(min_length=1)
    crs: str


class Temporal(BaseModel):
    interval: list[list[str | None]]
    trs: str


class Extent(BaseModel):
    spatial: Spatial
    temporal: Temporal | None = None


class CollectionInfo(BaseModel):
    id: str
    title: str
    description: str
    itemType: Literal["feature"]  # noqa: N815
    crs: list[str]
    storageCrs: str  # noqa: N815
    extent: Extent
    links: list[Link]


class Collections(BaseModel):
    links: list[Link]
    collections: list[CollectionInfo]


class JsonSchemaDocument(BaseModel):
    """A JSON Schema (queryables, feature schema)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    schema_: str = Field(alias="$schema")
    id_: str = Field(alias="$id")
    type: Literal["object"]
    title: str
    properties: dict[str, Any]


Position = list[float]


class Point(BaseModel):
    type: Literal["Point"]
    coordinates: Position = Field(min_length=2, max_length=3)


class Polygon(BaseModel):
    type: Literal["Polygon"]
    coordinates: list[list[Position]]


class MultiPolygon(BaseModel):
    type: Literal["MultiPolygon"]
    coordinates: list[list[list[Position]]]


PlaceProperties = create_model(
    "PlaceProperties", __doc__="A place's public details and provenance (the ``places`` collection).",
    **{name: (f.annotation, ...) for name, f in PlaceRecord.model_fields.items() if name not in ("id", "lon", "lat")})


class Feature(BaseModel):
    """One feature of ``places`` (integer id, Point), ``opportunities`` (integer id, Point) or ``areas``
    (area code, Polygon or MultiPolygon); CRS84, RFC 7946."""

    type: Literal["Feature"]
    id: int | str
    geometry: Point | Polygon | MultiPolygon
    properties: PlaceProperties | OpportunityProperties | AreaProperties  # type: ignore[valid-type]
    links: list[Link] | None = None


class FeatureCollection(BaseModel):
    type: Literal["FeatureCollection"]
    features: list[Feature]
    links: list[Link]
    numberMatched: int = Field(ge=0)  # noqa: N815
    numberReturned: int = Field(ge=0)  # noqa: N815
    timeStamp: str  # noqa: N815


class OgcException(BaseModel):
    """OGC API exception, with kindmap's usual ``detail`` too."""

    code: str
    description: str
    detail: str
