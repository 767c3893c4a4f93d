"""What a household could be recommended: published places, opportunities and support services, each as a
``Candidate`` with its interests, welcome criteria met and next time on inside the free windows (local time).

Places come from the catalogue's in-memory index within a straight-line reach (metres, EPSG:4326);
opportunities and support services from the database. A support service at a place is open when
the place is, unless it records its own hours; one with no hours is listed as "contact them".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from shapely.geometry import Point, shape
from sqlmodel import Session, select

from kindmap.config import Settings
from kindmap.hours import window_occurrences
from kindmap.models import Area, Place, Postcode, Region
from kindmap.models.activities import (
    ActivityStatus,
    Booking,
    Cost,
    Opportunity,
    SupportService,
)
from kindmap.models.households import Household
from kindmap.services.catalogue import activities as acts
from kindmap.services.catalogue.index import DEFAULT_CACHE

WELCOME = (("free_to_use", "free"), ("no_purchase_needed", "no need to buy anything"), ("drop_in", "drop in"),
           ("warm_hospitality", "free tea or coffee"), ("toilets", "toilets"), ("seating", "seating"), ("wifi", "wifi"))
# What a kind of place usually offers, in the household interest vocabulary (geodata/interests.json).
CATEGORY_INTERESTS = {
    "library": ("reading", "tech_help", "social"), "community_centre": ("social", "games", "crafts"),
    "park": ("walking", "nature"), "community_cafe": ("social", "cooking"), "place_of_worship": ("faith", "social"),
    "community_garden": ("gardening", "nature"), "community_shed": ("crafts", "volunteering", "social"),
    "museum_gallery": ("history", "arts"), "sports_leisure": ("sport",), "market": ("cooking",),
    "arts_centre": ("arts", "music"),
}
FRIENDLY_WORDS = {"dementia_friendly": ("dementia",), "learning_disability_friendly": ("learning disab", "learning-disab")}


@dataclass
class Candidate:
    """One place, opportunity or support service that might be recommended (minutes filled in later)."""

    kind: str
    id: int
    name: str
    lon: float | None
    lat: float | None
    place: Place | None
    interests: tuple[str, ...]
    welcome: list[str]
    next_on: datetime | None
    next_end: datetime | None
    sample: bool = False
    friendly: tuple[str, ...] = ()
    minutes: float | None = None
    extra: str | None = None
    hours_unknown: bool = False  # free windows were asked for and its opening times are not recorded


def area_code(session: Session, household: Household, region_slug: str) -> str | None:
    """The small area holding the home (for support services that list the areas they serve)."""
    if household.postcode:
        row = session.get(Postcode, household.postcode)
        if row is not None and row.area_code:
            return row.area_code
    region = session.exec(select(Region).where(Region.slug == region_slug)).first()
    if region is None:
        return None
    point = Point(household.lon, household.lat)
    for code, geometry in session.exec(select(Area.code, Area.geometry_geojson).where(Area.region_id == region.id)):
        if shape(json.loads(geometry)).covers(point):
            return code
    return None


def welcome_met(place: Place | None, *, cost: Cost | None = None, booking: Booking | None = None) -> list[str]:
    """The welcome criteria recorded as met (in words), counting a free or drop-in activity's own terms."""
    met = [words for field, words in WELCOME if place is not None and getattr(place, field) is True]
    if cost == Cost.free and "free" not in met:
        met.insert(0, "free")
    if booking == Booking.drop_in and "drop in" not in met:
        met.append("drop in")
    return met


def first_in(spans: list[tuple[datetime, datetime]]) -> tuple[datetime | None, datetime | None]:
    """The earliest (start, end) span, or (None, None)."""
    best = min(spans, default=(None, None), key=lambda s: s[0])
    return best


def gather_places(session: Session, settings: Settings, household: Household, windows, local_now: datetime,
                  reach_m: float) -> tuple[list[Candidate], int]:
    """Published places within ``reach_m`` metres, and how many have unknown hours.

    With free windows: those open in one, and those whose opening times are not recorded
    (``hours_unknown``: shown after the known ones, to check before going, never dropped silently).
    """
    index = DEFAULT_CACHE.get(session, tz=settings.timezone)
    idx, _dist = index.points.within(household.lon, household.lat, radius_m=reach_m)
    unknown = 0
    hours_unknown = np.zeros(index.size, dtype=bool)
    if windows:
        open_during = index.hours.distinct_open_during(windows, now=local_now)
        known = np.array([index.hours.next_open(int(i), local_now) is not None for i in idx], dtype=bool)
        unknown = int((~known).sum())
        hours_unknown[idx[~known]] = True
        idx = idx[open_during[index.hours.codes(idx)] | ~known]
    ids = [int(index.ids[i]) for i in idx]
    rows = {p.id: p for p in session.exec(select(Place).where(Place.id.in_(ids))).all()} if ids else {}
    found = []
    for pos in idx:
        place = rows.get(int(index.ids[pos]))
        if place is None:
            continue
        if windows:
            start, end = None, None
            for a, b in window_occurrences(windows, now=local_now, tz=settings.timezone):
                at = index.hours.next_open(int(pos), max(a, local_now))
                if at is not None and at < b and (start is None or at < start):
                    start, end = at, b
        else:
            start, end = index.hours.next_open(int(pos), local_now), None
        found.append(Candidate("place", place.id, place.name, place.lon, place.lat, place,
                                CATEGORY_INTERESTS.get(place.category, ()), welcome_met(place), start, end,
                                hours_unknown=bool(hours_unknown[pos])))
    return found, unknown


def _friendly(opp: Opportunity) -> tuple[str, ...]:
    text = " ".join(filter(None, (opp.audience, opp.accessibility_notes, opp.description))).lower()
    return tuple(need for need, words in FRIENDLY_WORDS.items() if any(w in text for w in words))


def gather_opportunities(session: Session, windows, local_now: datetime, region_id: int | None) -> tuple[list[Candidate], int]:
    """Published opportunities with a point (on in a free window when there are windows), and how many have no schedule."""
    query = select(Opportunity).where(Opportunity.status == ActivityStatus.published)
    if region_id is not None:
        query = query.where((Opportunity.region_id == region_id) | (Opportunity.region_id.is_(None)))
    spans = acts.window_spans(windows, local_now) if windows else []
    found, unknown = [], 0
    for opp in session.exec(query).all():
        if opp.lon is None or opp.lat is None:
            continue
        place = session.get(Place, opp.place_id) if opp.place_id else None
        if windows:
            if not opp.schedule:
                unknown += 1
                continue
            on = [o for a, b in spans if b > a for o in acts.occurrences(opp, a, b)]
            if not on:
                continue
            start, end = first_in(on)
        else:
            start = acts.next_on(opp, local_now)
            end = start + timedelta(minutes=opp.duration_minutes) if start and opp.schedule_kind == "rrule" else None
            if start and end is None:
                end = next((e for s, e in acts.occurrences(opp, start, start + timedelta(days=1)) if s == start), None)
        found.append(Candidate("opportunity", opp.id, opp.title, opp.lon, opp.lat, place, tuple(opp.interests),
                                welcome_met(place, cost=opp.cost, booking=opp.booking), start, end, opp.sample,
                                _friendly(opp)))
    return found, unknown


def gather_support(session: Session, windows, local_now: datetime, region_slug: str, area_code: str | None,
                   tz: str) -> list[Candidate]:
    """Published support services serving the home's region or small area (open in a free window when there are windows)."""
    import opening_hours

    found = []
    for svc in session.exec(select(SupportService).where(SupportService.status == ActivityStatus.published)).all():
        serves = svc.region == region_slug or (area_code is not None and area_code in (svc.area_codes or []))
        if not serves:
            continue
        place = session.get(Place, svc.place_id) if svc.place_id else None
        lon, lat = (place.lon, place.lat) if place else (svc.lon, svc.lat)
        start = end = None
        hours = svc.opening_hours or (place.opening_hours if place else None)
        if hours:
            try:
                parsed = opening_hours.OpeningHours(hours)
            except Exception:  # noqa: BLE001  (unreadable hours: treat as not recorded)
                parsed = None
            if parsed is not None:
                spans = window_occurrences(windows, now=local_now, tz=tz) if windows else [(local_now, local_now + timedelta(days=7))]
                opens = [(s, e) for a, b in spans if b > a for s, e, st, _c in parsed.intervals(a, b)
                         if st == opening_hours.State.OPEN]
                if not opens and windows:
                    continue
                start, end = first_in(opens)
        extra = None if hours else "no set opening times: phone or email to arrange"
        found.append(Candidate("support", svc.id, svc.name, lon, lat, place, (), welcome_met(place), start, end,
                                svc.sample, extra=extra))
    return found
