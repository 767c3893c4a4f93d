"""Wire formats shared by the API and the CLI. Every response names its fields, so no
column can leak by accident (pydantic only: no web imports)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, PlainSerializer, WithJsonSchema
from pydantic_core import to_json

from kindmap.geo.rfc7946 import round_position
from kindmap.hours import localize

LOCAL_TIME = "local time with its UTC offset, e.g. 2026-07-06T10:00:00+01:00"


def _default_tz() -> str:
    # Read afresh, not through get_settings(): filling its cache from here would pin whatever
    # settings were current the first time a caller forgot tz= (the CLI tests change them).
    from kindmap.config import Settings

    return Settings().timezone


def _as_local(value: datetime) -> datetime:
    # Services hand over aware times; a naive one is local wall clock (HoursIndex's own
    # currency), so it is given the configured zone rather than sent without an offset.
    return value if value.utcoffset() is not None else localize(value, _default_tz())


def _as_utc(value: datetime) -> datetime:
    # SQLite hands stored timestamps back naive; they were written in UTC.
    return value if value.utcoffset() is not None else value.replace(tzinfo=UTC)


def _iso(value: datetime) -> str:
    # isoformat() writes "+00:00" in winter, where pydantic would write "Z": the same instant,
    # but "+00:00" reads as "local time, offset 0" like the summer "+01:00".
    return value.isoformat()


_DATE_TIME = WithJsonSchema({"type": "string", "format": "date-time"})

# A local wall-clock time (opening, session start…) on the wire: RFC 3339 with the offset in force then.
LocalDateTime = Annotated[datetime, AfterValidator(_as_local), PlainSerializer(_iso, return_type=str, when_used="json"),
                          _DATE_TIME]
# A recorded instant (imported, verified…) on the wire: RFC 3339 in UTC.
UtcDateTime = Annotated[datetime, AfterValidator(_as_utc), PlainSerializer(_iso, return_type=str, when_used="json"),
                        _DATE_TIME]


class PointGeometry(BaseModel):
    type: Literal["Point"] = "Point"
    # RFC 7946 §11.2: 7 decimals (about 1 cm), not a float's 16–17 meaningless digits.
    coordinates: Annotated[tuple[float, float], AfterValidator(lambda c: tuple(round_position(*c)))] = Field(
        description="[lon, lat], EPSG:4326, 7 decimal places")


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
    walk_minutes: float | None = Field(
        default=None, description="Minutes on foot from the search point (with max_walk_minutes); see search.travel.")
    next_open: LocalDateTime | None = Field(
        default=None,
        description=f"Next time it opens (within the free windows when given), when known; {LOCAL_TIME}.")


class NearbyFacility(BaseModel):
    """A facility near a place: "Public toilets, 80 m away"."""

    id: int
    name: str
    category: str
    category_label: str
    lon: float
    lat: float
    distance_m: float = Field(description="Straight-line metres from the place.")


class FacilityFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: int
    geometry: PointGeometry
    properties: NearbyFacility


class FacilityCollection(BaseModel):
    """The facilities layer: public toilets, playgrounds, benches, drinking water near a point (GeoJSON, EPSG:4326)."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[FacilityFeature]
    attribution: str


def facility_collection(facilities: list, *, attribution: str) -> FacilityCollection:
    """Facilities (``kindmap.services.catalogue.facilities.Facility``) as a GeoJSON FeatureCollection."""
    return FacilityCollection(features=[FacilityFeature(id=f.id, geometry=PointGeometry(coordinates=(f.lon, f.lat)),
                                                        properties=NearbyFacility(**vars(f))) for f in facilities],
                              attribution=attribution)


class PlaceDetails(PlaceSummary):
    other_names: str | None = Field(default=None, description="Other names people use, '; '-separated.")
    listing: str = Field(default="welcoming", description="welcoming, support or facility (see geodata/inclusion.json).")
    nearby_facilities: list[NearbyFacility] = Field(
        default_factory=list, description="The nearest public toilets, playground, bench and drinking water within 500 m.")
    description: str | None
    address: str | None
    postcode: str | None
    opening_hours_valid: bool | None
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
    imported_at: UtcDateTime | None
    verified_at: UtcDateTime | None
    possibly_closed_since: UtcDateTime | None = Field(
        default=None, description="Set when the place vanished from its source; shown with a warning until a moderator decides.")


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


class LocationOut(BaseModel):
    name: str = Field(description="e.g. 'Uppingham', 'LE15', 'LE15 6'.")
    kind: str = Field(description="postcode, postcode_sector, postcode_district, or a settlement: town, village, hamlet…")
    lon: float = Field(description="Longitude, EPSG:4326 (for a district or sector: the mean of its postcode centroids)")
    lat: float
    postcodes: int | None = Field(default=None, description="How many postcode centroids a district or sector averages.")


class SearchInfo(BaseModel):
    lon: float | None
    lat: float | None
    postcode: str | None
    radius_m: float | None
    open_at: LocalDateTime | None = Field(
        description=f"The time searched for open places (open_at, or now with open_now); {LOCAL_TIME}.")
    matched: int = Field(description="Places matching before the limit was applied.")
    travel: Literal["network", "estimated"] | None = Field(
        default=None,
        description="How walk_minutes were measured: on the path network, or estimated from straight-line "
        "distance × a circuity factor where the region has no network.")
    profile: str | None = Field(default=None, description="Walking profile: walk, slow or step_free.")
    max_walk_minutes: float | None = None
    windows: list[str] = Field(default_factory=list, description="The free windows searched, e.g. 'Mon 10:00-12:00'.")
    include_unknown: bool = Field(default=False, description="True when the filters kept places where the fact is not known yet.")
    facts: dict[str, dict[str, int]] | None = Field(
        default=None, description="For the places nearby of the kind asked (before criteria and time filters): per "
        "criterion (free, drop_in, wheelchair, step_free, quiet) how many are yes / no / unknown; for hours how many "
        "are known / unknown, and with a time or free windows open / closed then.")
    hint: str | None = Field(default=None, description="When nothing matched: why, naming the facts that are missing, "
                                                       "e.g. 'Hours are known for 12 of 45 places nearby.'")
    located: LocationOut | None = Field(
        default=None, description="Name search only: no place is called that, so these are the places near this town "
                                  "or postcode area (nearest first).")
    locations: list[LocationOut] = Field(
        default_factory=list, description="Name search only: towns, villages and postcode areas the text names.")


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


def _summary_fields(place, *, distance_m: float | None, open_state: bool | None,
                    walk_minutes: float | None = None, next_open: datetime | str | None = None) -> dict:
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
        "walk_minutes": walk_minutes,
        "next_open": next_open,
    }


def _local(value: datetime | None, tz: str | None) -> datetime | None:
    # Naive values are local wall clock in ``tz``; without ``tz`` the field itself falls back to
    # the configured zone (see LocalDateTime), so older callers still get an offset, not a crash.
    return localize(value, tz) if tz is not None else value


def place_detail_feature(place, *, open_state: bool | None, next_open: datetime | None,
                         tz: str | None = None, nearby: list | None = None) -> PlaceDetailFeature:
    """One place with everything the public may see; naive ``next_open`` is local in ``tz``."""
    next_open = _local(next_open, tz)
    extra = {name: getattr(place, name) for name in PlaceDetails.model_fields
             if name not in PlaceSummary.model_fields and name != "nearby_facilities"}
    extra["nearby_facilities"] = [NearbyFacility(**vars(f)) for f in nearby or []]
    props = PlaceDetails(**_summary_fields(place, distance_m=None, open_state=open_state, next_open=next_open), **extra)
    return PlaceDetailFeature(id=place.id, geometry=PointGeometry(coordinates=(place.lon, place.lat)), properties=props)


def _location(loc) -> LocationOut | None:
    return None if loc is None else LocationOut(name=loc.name, kind=loc.kind, lon=round(loc.lon, 6), lat=round(loc.lat, 6),
                                                postcodes=loc.postcodes)


def _wire_time(value: datetime | None, tz: str | None) -> str | None:
    # As a LocalDateTime field validates (_as_local) and serialises (_iso) it. Without tz the
    # configured zone is read afresh (see _as_local), so only answers for a named zone are kept.
    if value is None:
        return None
    return _zoned_wire_time(value, tz) if tz is not None else _iso(_as_local(_local(value, tz)))


@lru_cache(maxsize=4096)
def _zoned_wire_time(value: datetime, tz: str) -> str:
    # Many answers share a next opening (Monday 09:00): each is localised and written once.
    return _iso(_as_local(localize(value, tz)))


def _float(value) -> float | None:
    return None if value is None else float(value)


def place_collection_json(result, *, attribution: str, tz: str | None = None) -> bytes:
    """A search result as GeoJSON FeatureCollection bytes, shaped as ``PlaceCollection``; naive
    times in it are local in ``tz``.

    Plain dicts in the models' field order, serialised once by pydantic-core: building the
    models (three per feature) and dumping them cost ~0.13 ms of a near-me request, a fifth
    of it at 10⁶ places. ``place_collection`` validates these same bytes into the model, and
    tests/test_search_fastpath.py checks that dumping that model gives them back unchanged.
    """
    features = []
    times: dict = {}  # the shown places often open at the same time: each written once
    for h in result.hits:
        if h.next_open not in times:
            times[h.next_open] = _wire_time(h.next_open, tz)
        place = h.place
        features.append({"type": "Feature", "id": place.id, "geometry": {
            "type": "Point", "coordinates": round_position(place.lon, place.lat)}, "properties": _summary_fields(
            place, distance_m=_float(h.distance_m), open_state=h.open, walk_minutes=_float(h.walk_minutes),
            next_open=times[h.next_open])})
    search = {"lon": _float(result.lon), "lat": _float(result.lat), "postcode": result.postcode,
              "radius_m": _float(result.radius_m), "open_at": _wire_time(result.open_at, tz), "matched": result.total,
              "travel": result.travel, "profile": result.profile, "max_walk_minutes": _float(result.max_walk_minutes),
              "windows": [str(w) for w in result.windows],
              "include_unknown": getattr(result, "include_unknown", False),
              "facts": getattr(result, "facts", None), "hint": getattr(result, "hint", None),
              "located": _location(getattr(result, "located", None)),
              "locations": [_location(loc) for loc in getattr(result, "locations", [])]}
    return to_json({"type": "FeatureCollection", "features": features, "search": search, "attribution": attribution})


def place_collection(result, *, attribution: str, tz: str | None = None) -> PlaceCollection:
    """A search result as a GeoJSON FeatureCollection; naive times in it are local in ``tz``."""
    return PlaceCollection.model_validate_json(place_collection_json(result, attribution=attribution, tz=tz))


class IsochroneProperties(BaseModel):
    minutes: float
    profile: str
    travel: Literal["network", "estimated"]
    region: str
    method: str = Field(description="How the area was drawn.")


class IsochroneFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    geometry: dict = Field(description="GeoJSON Polygon or MultiPolygon, EPSG:4326")
    properties: IsochroneProperties
