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

Access needs are met by what is recorded: wheelchair → wheelchair=yes; step-free →
step_free=yes or wheelchair=yes; quiet → quiet_space=yes; hearing loop → hearing_loop=yes. A place
recorded as *not* meeting a need is left out (and counted); one where nobody has recorded it yet,
or whose opening times are not recorded when free windows are set, is suggested after every known
one, marked "not known — check before you go" with its phone and website. Unknown is not "no".
A wheelchair or step-free need also routes with the ``step_free`` profile (no steps, no
wheelchair=no paths). Dementia- and learning-disability-friendly are not recorded for places;
they are named in the reason when an opportunity's own words say so. A support service at a
place is open when the place is, unless it records its own hours; one with no location and no
hours is listed as "contact them" (reached by phone, so no walk and no door to check).

Walk times: metres on the region's path network (EPSG:4326 in, metric CRS inside the router),
minutes at the profile's pace; estimated from straight-line metres × circuity without a network.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field
from sqlmodel import Session, select

from kindmap.config import Settings
from kindmap.hours import localize, parse_windows, to_local_naive
from kindmap.models import Region
from kindmap.models.accounts import User
from kindmap.schemas import LOCAL_TIME, LocalDateTime
from kindmap.services.households.audit import record
from kindmap.services.households.records import carer_ids, visible_household
from kindmap.services.recommend.candidates import (
    CATEGORY_INTERESTS,
    FRIENDLY_WORDS,
    WELCOME,
    Candidate,
    area_code,
    gather_opportunities,
    gather_places,
    gather_support,
)
from kindmap.services.recommend.not_for_us import turned_down
from kindmap.services.recommend.reach import (
    NEED_WORDS,
    STEP_FREE_NEEDS,
    access_check,
    access_met,
    route_profile,
    walk_minutes,
    walk_minutes_to,
)
from kindmap.services.recommend.words import (
    BANDS,
    CHECK,
    SCORING,
    WEIGHTS,
    reason_for,
    score_candidate,
    walk_band,
    when_words,
)
from kindmap.services.walking import profile_for, region_for_point

__all__ = [
    "BANDS", "CATEGORY_INTERESTS", "FRIENDLY_WORDS", "SCORING", "STEP_FREE_NEEDS", "WEIGHTS", "WELCOME", "Candidate",
    "Recommendation", "Recommendations", "access_met", "recommend", "route_profile", "walk_band", "walk_minutes_to",
    "when_words",
]


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
    not_known: list[str] = Field(default_factory=list, description=(
        "What is not recorded yet about this suggestion, in words (e.g. 'wheelchair access', 'opening times'); "
        "suggestions with any come after all the known ones."))
    check_before_you_go: str | None = Field(default=None, description="'not known — check before you go' when not_known is set.")
    phone: str | None = Field(default=None, description="The place's public phone, to check before going.")
    website: str | None = Field(default=None, description="The place's public website.")


class Recommendations(BaseModel):
    household_id: int
    profile: str = Field(description="Walking profile used (step_free when the household needs it).")
    comfortable_walk_minutes: int
    exact_minutes: bool = Field(description="True only for the household's own carers; everyone else sees bands.")
    travel: str = Field(description="'network' (path network) or 'estimated' (straight line × circuity).")
    free_windows: str | None
    scoring: str
    not_shown_hours_unknown: int = Field(description="Activities in reach whose times are not recorded (places with "
                                                     "unknown hours are shown, marked not known).")
    shown_not_known: int = Field(default=0, description="Suggestions shown with something not known yet (after the known ones).")
    not_shown_access_not_met: int = Field(default=0, description="Places in reach recorded as not meeting an access need.")
    not_shown_not_for_us: int = Field(default=0, description='Suggestions the carers said "not for us" to (left out).')
    items: list[Recommendation]


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
    places, _unknown_places = gather_places(session, settings, household, windows, local_now, reach_m)
    opps, unknown_opps = gather_opportunities(session, windows, local_now, region_row.id if region_row else None)
    supports = gather_support(session, windows, local_now, region.slug, area_code(session, household, region.slug),
                              settings.timezone)
    located = [c for c in places + opps + supports if c.lon is not None]
    lon = np.array([c.lon for c in located], dtype=float)
    lat = np.array([c.lat for c in located], dtype=float)
    minutes, travel, _slug = walk_minutes(session, settings, household, profile_name, lon, lat, cap=cap)
    for c, m in zip(located, minutes):
        c.minutes = float(m) if np.isfinite(m) and m <= cap else None
    declined = turned_down(session, household.id)
    items, left_out = [], 0
    not_met = 0
    for c in places + opps + supports:
        if (c.kind, c.id) in declined:
            left_out += 1  # "not for us" is remembered: never suggested again until the carers ask
            continue
        if c.minutes is None and not (c.kind == "support" and c.lon is None):
            continue  # out of reach (support with no location is reached by phone)
        # A service reached by phone has no door to check; one with a location is visited like a place.
        checked = access_check(c.place, household.access_needs) if c.lon is not None else ([], [])
        if checked is None:
            not_met += 1
            continue
        access, unknown_needs = checked
        not_known = [NEED_WORDS[n] for n in unknown_needs] + (["opening times"] if c.hours_unknown else [])
        score, parts, matched = score_candidate(c, interests=list(household.interests), cap=cap, local_now=local_now)
        band = walk_band(c.minutes)[0] if c.minutes is not None else None
        exact_minutes = round(c.minutes, 1) if exact and c.minutes is not None else None
        shown = f"{max(1, round(exact_minutes))} min" if exact_minutes is not None else band
        items.append(Recommendation(
            kind=c.kind, id=c.id, name=c.name, category=c.place.category if c.place else None,
            place_id=c.place.id if c.place else None, lon=c.lon, lat=c.lat, walk_band=band,
            walk_minutes=exact_minutes, next_on=localize(c.next_on, settings.timezone),
            matched_interests=matched, access_met=access, welcome_met=c.welcome, score=score, score_parts=parts,
            reason=reason_for(c, walk=shown, access=access, matched=matched, local_now=local_now, not_known=not_known),
            sample=c.sample, not_known=not_known, check_before_you_go=CHECK if not_known else None,
            phone=c.place.phone if c.place else None, website=c.place.website if c.place else None))
    band_rank = {words: k for k, (_u, words) in enumerate(BANDS)}
    items.sort(key=lambda r: (bool(r.not_known), -r.score, band_rank.get(r.walk_band, len(BANDS)), r.name.lower(),
                              r.kind, r.id))
    return Recommendations(household_id=household.id, profile=profile_name, comfortable_walk_minutes=cap,
                           exact_minutes=exact, travel=travel, free_windows=household.free_windows, scoring=SCORING,
                           not_shown_hours_unknown=unknown_opps, shown_not_known=sum(1 for r in items if r.not_known),
                           not_shown_access_not_met=not_met, not_shown_not_for_us=left_out, items=items[:limit])
