"""Recommendations for a Shared Lives household: welcoming places, opportunities and support
within its comfortable walk, open in its free windows, meeting its access needs, each with a
plain-words reason.

Score (0–1, higher first; documented in ``SCORING`` and returned with every answer)::

    score = 0.40 × walk + 0.30 × interest + 0.20 × welcome + 0.10 × soon
    walk     = 1 − (lower edge of the walk band) ÷ comfortable walk minutes, clamped to 0–1
    interest = interests matched ÷ min(3, number of the household's interests)   (0 with none)
    welcome  = welcome criteria recorded as met ÷ 7 (free, no purchase needed, drop in,
               free tea or coffee, toilets, seating, wifi)
    soon     = 1 − hours until it is next on (inside a free window) ÷ 168, clamped to 0–1

The walk term uses the band, not the exact minutes, so the order of the list is the same
for every viewer and tells no more about where the home is than the bands do. Ties go to
the nearer band, then the name.

Access needs are hard filters on what is recorded: wheelchair → wheelchair=yes; step-free →
step_free=yes or wheelchair=yes; quiet → quiet_space=yes; hearing loop → hearing_loop=yes.
A wheelchair or step-free need also routes with the ``step_free`` profile (no steps, no
wheelchair=no paths). Dementia- and learning-disability-friendly are not recorded for places;
they are named in the reason when an opportunity's own words say so. A support service at a
place is open when the place is, unless it records its own hours; one with no location and no
hours is listed as "contact them" (reached by phone, so no walk and no door to check).

Walk times: metres on the region's path network (EPSG:4326 in, metric CRS inside the router),
minutes at the profile's pace; estimated from straight-line metres × circuity without a network.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field
from shapely.geometry import Point, shape
from sqlmodel import Session, select

from kindmap.config import Settings
from kindmap.geo.distance import haversine_m
from kindmap.geo.graph import estimate_walk_minutes
from kindmap.hours import localize, parse_windows, to_local_naive, window_occurrences
from kindmap.models import Area, Place, Postcode, Region
from kindmap.models.accounts import User
from kindmap.models.activities import ActivityStatus, Booking, Cost, Opportunity, SupportService
from kindmap.models.households import Household, vocabulary
from kindmap.schemas import LOCAL_TIME, LocalDateTime
from kindmap.services import activities as acts
from kindmap.services.audit import record
from kindmap.services.catalog import DEFAULT_CACHE
from kindmap.services.households import carer_ids, visible_household
from kindmap.services.walking import DEFAULT_WALKING, ESTIMATED, NETWORK, profile_for, region_for_point

WEIGHTS = {"walk": 0.40, "interest": 0.30, "welcome": 0.20, "soon": 0.10}
SCORING = ("score = 0.40*walk + 0.30*interest + 0.20*welcome + 0.10*soon; walk = 1 - walk band's lower edge / "
           "comfortable minutes; interest = matched / min(3, household interests); welcome = criteria met / 7; "
           "soon = 1 - hours until next on (in a free window) / 168; each clamped to 0..1")
# (upper edge in minutes, words); the last band is open-ended.
BANDS = ((10, "under 10 min"), (20, "10–20 min"), (30, "20–30 min"), (45, "30–45 min"), (60, "45–60 min"))
STEP_FREE_NEEDS = frozenset({"wheelchair", "step_free"})
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


class Recommendation(BaseModel):
    """One suggestion; never the household's location. ``walk_minutes`` only for the household's own carers."""

    kind: Literal["place", "opportunity", "support"]
    id: int = Field(description="Id of the place, opportunity or support service.")
    name: str
    category: str | None = Field(default=None, description="Place category (places and things at places).")
    place_id: int | None
    lon: float | None = Field(description="The item's own public location, EPSG:4326 (never the home's).")
    lat: float | None
    walk_band: str | None = Field(description="e.g. 'under 10 min'; None when it has no location (contact them).")
    walk_minutes: float | None = Field(default=None, description="Exact minutes: only for the household's carers.")
    next_on: LocalDateTime | None = Field(
        description=f"Next start inside a free window (or from now without windows); {LOCAL_TIME}.")
    matched_interests: list[str]
    access_met: list[str]
    welcome_met: list[str]
    score: float
    score_parts: dict[str, float]
    reason: str
    sample: bool = Field(description="Demonstration data, not a real listing.")


class Recommendations(BaseModel):
    household_id: int
    profile: str = Field(description="Walking profile used (step_free when the household needs it).")
    comfortable_walk_minutes: int
    exact_minutes: bool = Field(description="True only for the household's own carers; everyone else sees bands.")
    travel: str = Field(description="'network' (path network) or 'estimated' (straight line × circuity).")
    free_windows: str | None
    scoring: str
    not_shown_hours_unknown: int = Field(description="Places or activities in reach whose times are not recorded.")
    items: list[Recommendation]


def walk_band(minutes: float) -> tuple[str, float]:
    """(words, lower edge in minutes) of the band holding ``minutes``."""
    lower = 0.0
    for upper, words in BANDS:
        if minutes < upper:
            return words, lower
        lower = float(upper)
    return f"over {BANDS[-1][0]} min", lower


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


@dataclass
class _Candidate:
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


def _walk_minutes(session: Session, settings: Settings, household: Household, profile_name: str,
                  lon: np.ndarray, lat: np.ndarray, *, cap: float) -> tuple[np.ndarray, str, str]:
    """Minutes from the home to each point (inf beyond ``cap``), the travel kind and the region slug."""
    profile = profile_for(settings, profile_name)
    region = region_for_point(session, household.lon, household.lat, margin_m=settings.region_margin_m)
    router = DEFAULT_WALKING.router(settings, region.slug)
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
    minutes, _travel, _slug = _walk_minutes(session, settings, household, route_profile(household), lon, lat, cap=120)
    return [None if not np.isfinite(m) else float(m) for m in minutes]


def _area_code(session: Session, household: Household, region_slug: str) -> str | None:
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


def _welcome(place: Place | None, *, cost: Cost | None = None, booking: Booking | None = None) -> list[str]:
    met = [words for field, words in WELCOME if place is not None and getattr(place, field) is True]
    if cost == Cost.free and "free" not in met:
        met.insert(0, "free")
    if booking == Booking.drop_in and "drop in" not in met:
        met.append("drop in")
    return met


def _clock(when: datetime) -> str:
    hour = when.hour % 12 or 12
    return f"{hour}{'' if when.minute == 0 else f':{when.minute:02d}'}{'am' if when.hour < 12 else 'pm'}"


def when_words(start: datetime | None, end: datetime | None) -> str | None:
    """'Thursdays 2–4pm (next 27 Nov)' style words for a weekly slot."""
    if start is None:
        return None
    span = f"{_clock(start)}–{_clock(end)}" if end is not None and end.date() == start.date() else _clock(start)
    return f"{start:%A}s {span} (next {start.day} {start:%b})"


def _first_in(spans: list[tuple[datetime, datetime]]) -> tuple[datetime | None, datetime | None]:
    best = min(spans, default=(None, None), key=lambda s: s[0])
    return best


def _places(session: Session, settings: Settings, household: Household, windows, local_now: datetime,
            reach_m: float) -> tuple[list[_Candidate], int]:
    index = DEFAULT_CACHE.get(session, tz=settings.timezone)
    idx, _dist = index.points.within(household.lon, household.lat, radius_m=reach_m)
    unknown = 0
    if windows:
        open_mask = index.hours.open_during(windows, now=local_now)
        known = np.array([index.hours.next_open(int(i), local_now) is not None for i in idx], dtype=bool)
        unknown = int((~known).sum())
        idx = idx[open_mask[idx]]
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
        found.append(_Candidate("place", place.id, place.name, place.lon, place.lat, place,
                                CATEGORY_INTERESTS.get(place.category, ()), _welcome(place), start, end))
    return found, unknown


def _friendly(opp: Opportunity) -> tuple[str, ...]:
    text = " ".join(filter(None, (opp.audience, opp.accessibility_notes, opp.description))).lower()
    return tuple(need for need, words in FRIENDLY_WORDS.items() if any(w in text for w in words))


def _opportunities(session: Session, windows, local_now: datetime, region_id: int | None) -> tuple[list[_Candidate], int]:
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
            start, end = _first_in(on)
        else:
            start = acts.next_on(opp, local_now)
            end = start + timedelta(minutes=opp.duration_minutes) if start and opp.schedule_kind == "rrule" else None
            if start and end is None:
                end = next((e for s, e in acts.occurrences(opp, start, start + timedelta(days=1)) if s == start), None)
        found.append(_Candidate("opportunity", opp.id, opp.title, opp.lon, opp.lat, place, tuple(opp.interests),
                                _welcome(place, cost=opp.cost, booking=opp.booking), start, end, opp.sample,
                                _friendly(opp)))
    return found, unknown


def _support(session: Session, windows, local_now: datetime, region_slug: str, area_code: str | None,
             tz: str) -> list[_Candidate]:
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
                start, end = _first_in(opens)
        extra = None if hours else "no set opening times: phone or email to arrange"
        found.append(_Candidate("support", svc.id, svc.name, lon, lat, place, (), _welcome(place), start, end,
                                svc.sample, extra=extra))
    return found


def _score(c: _Candidate, *, interests: list[str], cap: int, local_now: datetime) -> tuple[float, dict[str, float], list[str]]:
    matched = [i for i in interests if i in c.interests]
    lower = walk_band(c.minutes)[1] if c.minutes is not None else float(cap)
    parts = {
        "walk": min(1.0, max(0.0, 1 - lower / cap)),
        "interest": min(1.0, len(matched) / min(3, len(interests))) if interests else 0.0,
        "welcome": len(c.welcome) / len(WELCOME),
        "soon": 0.0 if c.next_on is None else min(1.0, max(0.0, 1 - (c.next_on - local_now).total_seconds() / 3600 / 168)),
    }
    parts = {k: round(v, 3) for k, v in parts.items()}
    return round(sum(WEIGHTS[k] * v for k, v in parts.items()), 3), parts, matched


def _reason(c: _Candidate, *, walk: str | None, access: list[str], matched: list[str], local_now: datetime) -> str:
    labels = vocabulary()
    first = f"{walk} walk" if walk else "contact them"
    access_words = [labels["access_needs"][a].lower() for a in access]
    friendly = [labels["access_needs"][f].lower() for f in c.friendly]
    parts = [", ".join([first] + access_words + friendly)]
    when = "now" if c.next_on is not None and c.next_on <= local_now else when_words(c.next_on, c.next_end)
    if c.kind == "place":
        parts.append(f"open {when}" if when else "opening times not recorded")
    elif when:
        parts.append(f"{c.name} {'on now' if when == 'now' else when}")
    else:
        parts.append(c.name)
    if matched:
        parts.append("you like " + " and ".join(labels["interests"][m].lower() for m in matched))
    if c.welcome:
        parts.append(", ".join(c.welcome))
    if c.extra:
        parts.append(c.extra)
    return "; ".join(parts)


def recommend(session: Session, settings: Settings, user: User, household_id: int, *, limit: int = 20,
              now: datetime | None = None) -> Recommendations:
    """Ranked, explained suggestions for a household its viewer may see (audited as a location read)."""
    household = visible_household(session, user, household_id)
    exact = user.id in carer_ids(session, household.id)
    record(session, user=user, household_id=household.id, action="read_location", detail="recommendations", now=now)
    cap = household.comfortable_walk_minutes
    profile_name = route_profile(household)
    profile = profile_for(settings, profile_name)
    windows = parse_windows(household.free_windows) if household.free_windows else []
    local_now = to_local_naive(now or datetime.now().astimezone(), tz=settings.timezone)
    region = region_for_point(session, household.lon, household.lat, margin_m=settings.region_margin_m)
    region_row = session.exec(select(Region).where(Region.slug == region.slug)).first()
    # A walk is never shorter than the straight line, so the line bounds the candidates.
    reach_m = cap * profile.metres_per_minute * 1.01
    places, unknown_places = _places(session, settings, household, windows, local_now, reach_m)
    opps, unknown_opps = _opportunities(session, windows, local_now, region_row.id if region_row else None)
    supports = _support(session, windows, local_now, region.slug, _area_code(session, household, region.slug),
                        settings.timezone)
    located = [c for c in places + opps + supports if c.lon is not None]
    lon = np.array([c.lon for c in located], dtype=float)
    lat = np.array([c.lat for c in located], dtype=float)
    minutes, travel, _slug = _walk_minutes(session, settings, household, profile_name, lon, lat, cap=cap)
    for c, m in zip(located, minutes):
        c.minutes = float(m) if np.isfinite(m) and m <= cap else None
    items = []
    for c in places + opps + supports:
        if c.minutes is None and not (c.kind == "support" and c.lon is None):
            continue  # out of reach (support with no location is reached by phone)
        # A service reached by phone has no door to check; one with a location is visited like a place.
        access = access_met(c.place, household.access_needs) if c.lon is not None else []
        if access is None:
            continue
        score, parts, matched = _score(c, interests=list(household.interests), cap=cap, local_now=local_now)
        band = walk_band(c.minutes)[0] if c.minutes is not None else None
        exact_minutes = round(c.minutes, 1) if exact and c.minutes is not None else None
        shown = f"{max(1, round(exact_minutes))} min" if exact_minutes is not None else band
        items.append(Recommendation(
            kind=c.kind, id=c.id, name=c.name, category=c.place.category if c.place else None,
            place_id=c.place.id if c.place else None, lon=c.lon, lat=c.lat, walk_band=band,
            walk_minutes=exact_minutes, next_on=localize(c.next_on, settings.timezone),
            matched_interests=matched, access_met=access, welcome_met=c.welcome, score=score, score_parts=parts,
            reason=_reason(c, walk=shown, access=access, matched=matched, local_now=local_now), sample=c.sample))
    band_rank = {words: k for k, (_u, words) in enumerate(BANDS)}
    items.sort(key=lambda r: (-r.score, band_rank.get(r.walk_band, len(BANDS)), r.name.lower(), r.kind, r.id))
    return Recommendations(household_id=household.id, profile=profile_name, comfortable_walk_minutes=cap,
                           exact_minutes=exact, travel=travel, free_windows=household.free_windows, scoring=SCORING,
                           not_shown_hours_unknown=unknown_places + unknown_opps, items=items[:limit])
