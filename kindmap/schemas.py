"""Wire formats shared by the API and the CLI. Every response names its fields, so no
column can leak by accident (pydantic only: no web imports)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class PointGeometry(BaseModel):
    type: Literal["Point"] = "Point"
    coordinates: tuple[float, float] = Field(description="[lon, lat], EPSG:4326")


class PlaceSummary(BaseModel):
    id: int
    name: str
    category: str
    category_label: str
    distance_m: float | None = Field(description="Straight-line metres from the search point; null without one.")
    open: bool | None = Field(description="Open at open_at (or now); null when the hours are not known.")
    free_to_use: bool | None
    drop_in: bool | None
    wheelchair: str | None
    step_free: bool | None
    opening_hours: str | None


class PlaceDetails(PlaceSummary):
    description: str | None
    address: str | None
    postcode: str | None
    opening_hours_valid: bool | None
    next_open: datetime | None = Field(description="Next local time it opens, when known.")
    no_purchase_needed: bool | None
    warm_hospitality: bool | None
    toilets: bool | None
    seating: bool | None
    wifi: bool | None
    accessible_toilet: bool | None
    hearing_loop: bool | None
    quiet_space: bool | None
    phone: str | None
    email: str | None
    website: str | None
    source: str
    source_id: str | None
    source_licence: str | None
    imported_at: datetime | None
    verified_at: datetime | None


class PlaceFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: int
    geometry: PointGeometry
    properties: PlaceSummary


class PlaceDetailFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: int
    geometry: PointGeometry
    properties: PlaceDetails


class SearchInfo(BaseModel):
    lon: float | None
    lat: float | None
    postcode: str | None
    radius_m: float | None
    open_at: datetime | None
    matched: int = Field(description="Places matching before the limit was applied.")


class PlaceCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[PlaceFeature]
    search: SearchInfo
    attribution: str


class CategoryOut(BaseModel):
    slug: str
    label: str


class RegionOut(BaseModel):
    slug: str
    name: str
    code: str | None
    bbox: tuple[float, float, float, float] | None


class ConfigOut(BaseModel):
    tile_url: str
    tile_attribution: str
    attribution: str
    regions: list[RegionOut]
    default_radius_m: float


class Health(BaseModel):
    status: Literal["ok"]
    database: Literal["ok"]
    places: int


class ErrorOut(BaseModel):
    detail: str


def _summary_fields(place, *, distance_m: float | None, open_state: bool | None) -> dict:
    from kindmap.taxonomy import label

    return {
        "id": place.id,
        "name": place.name,
        "category": place.category,
        "category_label": label(place.category),
        "distance_m": None if distance_m is None else round(distance_m, 1),
        "open": open_state,
        "free_to_use": place.free_to_use,
        "drop_in": place.drop_in,
        "wheelchair": getattr(place.wheelchair, "value", place.wheelchair),
        "step_free": place.step_free,
        "opening_hours": place.opening_hours,
    }


def place_feature(place, *, distance_m: float | None, open_state: bool | None) -> PlaceFeature:
    """A search hit as a GeoJSON Feature (the same shape the map draws)."""
    return PlaceFeature(
        id=place.id,
        geometry=PointGeometry(coordinates=(place.lon, place.lat)),
        properties=PlaceSummary(**_summary_fields(place, distance_m=distance_m, open_state=open_state)),
    )


def place_detail_feature(place, *, open_state: bool | None, next_open: datetime | None) -> PlaceDetailFeature:
    """One place with everything the public may see."""
    extra = {name: getattr(place, name) for name in PlaceDetails.model_fields if name not in PlaceSummary.model_fields and name != "next_open"}
    props = PlaceDetails(**_summary_fields(place, distance_m=None, open_state=open_state), next_open=next_open, **extra)
    return PlaceDetailFeature(id=place.id, geometry=PointGeometry(coordinates=(place.lon, place.lat)), properties=props)


def place_collection(result, *, attribution: str) -> PlaceCollection:
    """A search result as a GeoJSON FeatureCollection."""
    return PlaceCollection(
        features=[place_feature(h.place, distance_m=h.distance_m, open_state=h.open) for h in result.hits],
        search=SearchInfo(lon=result.lon, lat=result.lat, postcode=result.postcode, radius_m=result.radius_m,
                          open_at=result.open_at, matched=result.total),
        attribution=attribution,
    )
