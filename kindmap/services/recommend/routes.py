"""A household's suggestions on a map: the home, each suggestion's own point, and the walking route
from the home to it along the region's path network, as one GeoJSON FeatureCollection (EPSG:4326).

The home is in it, so it is for the household's own carers and its scheme's workers only (the same
rule as the household's record, ``visible_household``) and audited as a location read. Suggestions
are exactly the household's recommendations (same ranking, same numbers as its list). Without a
path network the route is the straight line, marked ``estimated`` so the map draws it as a guess.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field
from sqlmodel import Session

from kindmap.config import Settings
from kindmap.geo import rfc7946
from kindmap.geo.routes import walking_lines
from kindmap.models.accounts import User
from kindmap.services.households.records import visible_household
from kindmap.services.recommend.reach import home_router
from kindmap.services.recommend.recommendations import recommend
from kindmap.services.walking import NETWORK, profile_for

MAX_ROUTES = 50


class RouteProperties(BaseModel):
    role: Literal["home", "suggestion", "route"] = Field(description="What the feature is.")
    number: int | None = Field(default=None, description="The suggestion's number in the household's list (1 first).")
    kind: Literal["place", "opportunity", "support"] | None = None
    id: int | None = Field(default=None, description="Id of the place, opportunity or support service.")
    name: str | None = None
    walk: str | None = Field(default=None, description="The walk in words, as the list says it ('12 min', 'under 10 min').")
    travel: Literal["network", "estimated"] | None = Field(
        default=None, description="'network': along paths; 'estimated': a straight line (no path network here).")


class RouteFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    geometry: dict[str, Any] = Field(description="GeoJSON Point (home, suggestion) or LineString (route), EPSG:4326.")
    properties: RouteProperties


class HouseholdRoutes(BaseModel):
    """The home, the suggestions and the walks between them (GeoJSON, EPSG:4326)."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    household_id: int
    profile: str = Field(description="Walking profile of the routes (step_free when the household needs it).")
    features: list[RouteFeature]


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": rfc7946.round_position(lon, lat)}


def household_routes(session: Session, settings: Settings, user: User, household_id: int, *, limit: int = 20,
                     now: datetime | None = None) -> HouseholdRoutes:
    """The household's suggestions with a walking route from the home to each (audited as a location read)."""
    household = visible_household(session, user, household_id)
    found = recommend(session, settings, user, household_id, limit=min(limit, MAX_ROUTES), now=now)  # audits the read
    features = [RouteFeature(geometry=_point(household.lon, household.lat), properties=RouteProperties(role="home"))]
    located = [(n, item) for n, item in enumerate(found.items, start=1) if item.lon is not None and item.lat is not None]
    profile = profile_for(settings, found.profile)
    router = home_router(session, settings, household)[1] if located else None  # the same walks as the list
    lines = [None] * len(located)
    if router is not None:
        # Past the comfortable walk a suggestion is not listed; a little over it covers rounding at the edge.
        lines = walking_lines(router, household.lon, household.lat, np.array([i.lon for _n, i in located]),
                              np.array([i.lat for _n, i in located]), profile=profile,
                              max_minutes=found.comfortable_walk_minutes * 1.05)
    for (number, item), line in zip(located, lines):
        walk = f"{max(1, round(item.walk_minutes))} min" if item.walk_minutes is not None else item.walk_band
        common = dict(number=number, kind=item.kind, id=item.id, name=item.name, walk=walk)
        features.append(RouteFeature(geometry=_point(item.lon, item.lat),
                                     properties=RouteProperties(role="suggestion", **common)))
        if line is not None:
            geometry = {"type": "LineString", "coordinates": [rfc7946.round_position(x, y) for x, y in line.coords]}
            travel = NETWORK
        else:
            geometry = {"type": "LineString", "coordinates": [rfc7946.round_position(household.lon, household.lat),
                                                              rfc7946.round_position(item.lon, item.lat)]}
            travel = "estimated"
        features.append(RouteFeature(geometry=geometry, properties=RouteProperties(role="route", travel=travel, **common)))
    return HouseholdRoutes(household_id=household.id, profile=found.profile, features=features)
