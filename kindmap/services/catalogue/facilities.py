"""Facilities: public toilets, playgrounds, benches, drinking water — near places and as their own layer.

Facilities are not destinations, so they are never in the list of welcoming places (the
inclusion rule lists them as ``facility``), but knowing the nearest toilet decides whether
many people can go out at all. Distances are straight-line metres (haversine) from an
EPSG:4326 point; every query is bounded by a radius and a row limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlmodel import Session, select

from kindmap.errors import InvalidQuery
from kindmap.geo.distance import haversine_m
from kindmap.models import Listing, Place, PlaceStatus
from kindmap.taxonomy import check_categories, label

MAX_RADIUS_M = 2000.0  # the facilities layer is for the streets around you, not a town
MAX_LIMIT = 500
NEAR_PLACE_M = 500.0  # "public toilets 80 m away" on a place's page: within about a 6-minute walk
_METRES_PER_DEGREE = 111_320.0
KINDS = ("public_toilets", "playground", "bench", "drinking_water")  # the facility rule of geodata/inclusion.json


@dataclass(frozen=True)
class Facility:
    """One facility and how far it is from the point asked about."""

    id: int
    name: str
    category: str
    category_label: str
    lon: float
    lat: float
    distance_m: float


def facilities_near(session: Session, *, lon: float, lat: float, radius_m: float = NEAR_PLACE_M,
                    categories: list[str] | None = None, limit: int = 200) -> list[Facility]:
    """Published facilities within ``radius_m`` metres of (lon, lat), nearest first."""
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidQuery("lon must be -180…180 and lat -90…90 (EPSG:4326 degrees)")
    if not (math.isfinite(radius_m) and 0 < radius_m <= MAX_RADIUS_M):
        raise InvalidQuery(f"radius_m must be more than 0 and at most {MAX_RADIUS_M:g} metres")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidQuery(f"limit must be between 1 and {MAX_LIMIT}")
    dlat = radius_m / _METRES_PER_DEGREE
    dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
    stmt = select(Place.id, Place.name, Place.category, Place.lon, Place.lat).where(
        Place.status == PlaceStatus.published, Place.listing == Listing.facility.value,
        Place.lon >= lon - dlon, Place.lon <= lon + dlon, Place.lat >= lat - dlat, Place.lat <= lat + dlat)
    if categories:
        unknown = [c for c in check_categories(categories) if c not in KINDS]
        if unknown:
            raise InvalidQuery(f"category {', '.join(map(repr, unknown))} is not a facility; use one of: {', '.join(KINDS)}")
        stmt = stmt.where(Place.category.in_(categories))  # type: ignore[attr-defined]
    found = []
    for pid, name, category, x, y in session.exec(stmt).all():
        d = float(haversine_m(lon, lat, x, y))
        if d <= radius_m:
            found.append(Facility(pid, name, category, label(category), x, y, round(d, 1)))
    found.sort(key=lambda f: (f.distance_m, f.id))
    return found[:limit]


def nearest_per_kind(session: Session, *, lon: float, lat: float, within_m: float = NEAR_PLACE_M,
                     exclude_id: int | None = None) -> list[Facility]:
    """The nearest facility of each kind within ``within_m`` metres (for "public toilets 80 m away")."""
    seen: dict[str, Facility] = {}
    for f in facilities_near(session, lon=lon, lat=lat, radius_m=within_m, limit=MAX_LIMIT):
        if f.id != exclude_id and f.category not in seen:
            seen[f.category] = f
    return sorted(seen.values(), key=lambda f: f.distance_m)
