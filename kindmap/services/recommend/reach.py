"""Whether a household can reach a recommendation: its walking profile, access needs met, walk minutes from home.

Walk times: metres on the region's path network (EPSG:4326 in, metric CRS inside the router),
minutes at the profile's pace; estimated from straight-line metres × circuity without a network.
The home's location stays inside these functions: they return minutes, never the point.
"""

from __future__ import annotations

import numpy as np
from sqlmodel import Session

from kindmap.config import Settings
from kindmap.errors import NoMapData
from kindmap.geo.distance import haversine_m
from kindmap.geo.graph import Router, estimate_walk_minutes
from kindmap.models import Place
from kindmap.models.households import Household
from kindmap.services.walking import (
    DEFAULT_WALKING,
    ESTIMATED,
    NETWORK,
    check_map_data,
    profile_for,
    region_for_point,
)

STEP_FREE_NEEDS = frozenset({"wheelchair", "step_free"})


def route_profile(household: Household) -> str:
    """The household's walking profile; a wheelchair or step-free need forces ``step_free``."""
    return "step_free" if STEP_FREE_NEEDS & set(household.access_needs) else (household.profile or "walk")


def access_met(place: Place | None, needs: list[str]) -> list[str] | None:
    """The recorded needs ``place`` meets, or ``None`` if any hard need is not recorded as met."""
    if not needs:
        return []
    wheelchair = place is not None and getattr(place.wheelchair, "value", place.wheelchair) == "yes"
    checks = {
        "wheelchair": wheelchair,
        "step_free": place is not None and (place.step_free is True or wheelchair),
        "quiet": place is not None and place.quiet_space is True,
        "hearing_loop": place is not None and place.hearing_loop is True,
    }
    if any(need in checks and not checks[need] for need in needs):
        return None
    return [n for n in needs if n in checks]


# What each need asks of a place, in words for "not known — check before you go".
NEED_WORDS = {"wheelchair": "wheelchair access", "step_free": "step-free access", "quiet": "a quiet space",
              "hearing_loop": "a hearing loop"}


def access_check(place: Place | None, needs: list[str]) -> tuple[list[str], list[str]] | None:
    """(needs recorded as met, needs not recorded either way), or ``None`` if a need is recorded as not met.

    Unknown is not "no": a place whose step-free access nobody has recorded is suggested after
    the known ones, marked to check before going; a place recorded as not step-free is not.
    """
    if not needs or place is None:
        return ([], [n for n in needs if n in NEED_WORDS]) if place is None else ([], [])
    wheelchair = getattr(place.wheelchair, "value", place.wheelchair)
    states = {
        "wheelchair": None if wheelchair is None else wheelchair == "yes",
        "step_free": True if (place.step_free is True or wheelchair == "yes") else
                     False if (place.step_free is False or wheelchair == "no") else None,
        "quiet": place.quiet_space,
        "hearing_loop": place.hearing_loop,
    }
    if any(need in states and states[need] is False for need in needs):
        return None
    met = [n for n in needs if n in states and states[n] is True]
    unknown = [n for n in needs if n in states and states[n] is None]
    return met, unknown


def home_router(session: Session, settings: Settings, household: Household):
    """The home's region and its router, or ``None`` for the router where walks must be estimated: the region
    has no path network, or its map data does not cover the home (outside the extract, or a hole in it).

    A home outside the map data would otherwise get "walks" along the few streets that cross into its
    area: minutes that look exact and are not. Estimated walks say what they are.
    """
    region = region_for_point(session, household.lon, household.lat, margin_m=settings.region_margin_m)
    router: Router | None = DEFAULT_WALKING.router(settings, region.slug)
    if router is not None:
        try:
            check_map_data(region, router, household.lon, household.lat)
        except NoMapData:
            router = None
    return region, router


def walk_minutes(session: Session, settings: Settings, household: Household, profile_name: str,
                 lon: np.ndarray, lat: np.ndarray, *, cap: float) -> tuple[np.ndarray, str, str]:
    """Minutes from the home to each point (inf beyond ``cap``), the travel kind and the region slug."""
    profile = profile_for(settings, profile_name)
    region, router = home_router(session, settings, household)
    if lon.size == 0:
        return np.empty(0), NETWORK if router is not None else ESTIMATED, region.slug
    if router is None:
        metres = haversine_m(household.lon, household.lat, lon, lat)
        minutes = estimate_walk_minutes(metres, profile=profile, circuity=settings.circuity)
        minutes = np.where(minutes <= cap, minutes, np.inf)
        return minutes, ESTIMATED, region.slug
    minutes = router.walk_minutes(household.lon, household.lat, lon, lat, profile=profile, max_minutes=cap)
    return np.asarray(minutes, dtype=float), NETWORK, region.slug


def walk_minutes_to(session: Session, settings: Settings, household: Household, points: list[tuple[float, float]]) -> list[float | None]:
    """Minutes from the home to each (lon, lat) with the household's profile; ``None`` beyond 120 minutes."""
    lon = np.array([p[0] for p in points], dtype=float)
    lat = np.array([p[1] for p in points], dtype=float)
    minutes, _travel, _slug = walk_minutes(session, settings, household, route_profile(household), lon, lat, cap=120)
    return [None if not np.isfinite(m) else float(m) for m in minutes]
