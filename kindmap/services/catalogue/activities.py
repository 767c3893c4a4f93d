"""Opportunities and support services: create, change, find near a point, import, sample data.

Distances are straight-line metres (haversine) from an EPSG:4326 point; schedules are
evaluated in naive local time (``kindmap.hours.to_local_naive``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

import opening_hours
from sqlalchemy import Engine
from sqlmodel import Session, select

from kindmap.db import write_session
from kindmap.errors import InvalidQuery, NotFound
from kindmap.geo.distance import haversine_m
from kindmap.hours import Window, localize, parse_windows, to_local_naive
from kindmap.models import Place, Region
from kindmap.models.activities import (
    Opportunity,
    OpportunityCreate,
    OpportunityPublic,
    ScheduleKind,
    SupportCreate,
    SupportPublic,
    SupportService,
)
from kindmap.models.common import utcnow
from kindmap.models.households import check_terms
from kindmap.recurrence import MAX_OCCURRENCES, check_rrule, expand
from kindmap.services.catalogue.search import check_point, locate_postcode

# --------------------------------------------------------------------------- schedules


def occurrences(opp: Opportunity, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """(start, end) spans when ``opp`` is on between two naive local times."""
    if not opp.schedule:
        return []
    if opp.schedule_kind == ScheduleKind.opening_hours:
        parsed = opening_hours.OpeningHours(opp.schedule)
        return [(s, e) for s, e, state, _c in parsed.intervals(start, end) if state == opening_hours.State.OPEN]
    # Bounded: found from ``start``, at most two years and MAX_OCCURRENCES (see kindmap.recurrence).
    length = timedelta(minutes=opp.duration_minutes)
    return [(s, s + length) for s in expand(opp.schedule, start - length, end, limit=MAX_OCCURRENCES)]


def next_on(opp: Opportunity, after: datetime) -> datetime | None:
    """Next local start at or after ``after`` within a year (``None`` when unknown)."""
    if not opp.schedule:
        return None
    if opp.schedule_kind == ScheduleKind.opening_hours:
        parsed = opening_hours.OpeningHours(opp.schedule)
        for s, _e, state, _c in parsed.intervals(after, after + timedelta(days=366)):
            if state == opening_hours.State.OPEN:
                return s
        return None
    # The first start from ``after``, else one still going on (started less than a duration before).
    found = expand(opp.schedule, after - timedelta(minutes=opp.duration_minutes), after + timedelta(days=366))
    upcoming = next((s for s in found if s >= after), None)
    if upcoming is None and len(found) == MAX_OCCURRENCES:  # all cut off before ``after``: look from there
        upcoming = next(iter(expand(opp.schedule, after, after + timedelta(days=366), limit=1)), None)
    return upcoming or (found[0] if found else None)


def window_spans(windows: Sequence[Window], now: datetime) -> list[tuple[datetime, datetime]]:
    """Each weekly window's next occurrence that has not ended, from naive local ``now``."""
    monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    spans = []
    for w in windows:
        a = monday + timedelta(days=w.weekday, minutes=w.start_minute)
        b = monday + timedelta(days=w.weekday, minutes=w.end_minute)
        if b <= now:
            a, b = a + timedelta(days=7), b + timedelta(days=7)
        spans.append((max(a, now), b))
    return spans


def on_during(opp: Opportunity, spans: list[tuple[datetime, datetime]]) -> bool:
    """Whether ``opp`` is on for at least part of any span."""
    return any(occurrences(opp, a, b) for a, b in spans if b > a)


# --------------------------------------------------------------------------- opportunities


def _place(session: Session, place_id: int) -> Place:
    place = session.get(Place, place_id)
    if place is None:
        raise InvalidQuery(f"place_id: no place with id {place_id}")
    return place


def _fill_opportunity(session: Session, row: Opportunity, data: OpportunityCreate) -> Opportunity:
    for name, value in data.model_dump().items():
        setattr(row, name, value)
    if data.place_id is not None:
        place = _place(session, data.place_id)
        row.lon, row.lat, row.region_id = place.lon, place.lat, place.region_id
    else:
        check_point(data.lon, data.lat)
    row.updated_at = utcnow()
    return row


def _check_recurrence(data: OpportunityCreate) -> None:
    # Before the session is first used, so a refused rule never holds the write lock; the model has
    # parsed the rule, this refuses what kindmap cannot list (finer than daily, never occurring…).
    if data.schedule_kind == ScheduleKind.rrule and data.schedule:
        try:
            data.schedule = check_rrule(data.schedule)
        except ValueError as exc:
            raise InvalidQuery(f"schedule: {exc}") from None


def create_opportunity(session: Session, data: OpportunityCreate) -> Opportunity:
    """Add an opportunity; at a place it takes the place's point."""
    _check_recurrence(data)
    row = _fill_opportunity(session, Opportunity(title=data.title), data)
    session.add(row)
    session.flush()
    return row


def get_opportunity(session: Session, opp_id: int, *, include_pending: bool = False) -> Opportunity:
    """One opportunity; pending ones are not found for the public."""
    row = session.get(Opportunity, opp_id)
    if row is None or (row.status != "published" and not include_pending):
        raise NotFound(f"no opportunity with id {opp_id}")
    return row


def replace_opportunity(session: Session, opp_id: int, data: OpportunityCreate) -> Opportunity:
    """Replace every field of an opportunity."""
    _check_recurrence(data)
    row = _fill_opportunity(session, get_opportunity(session, opp_id, include_pending=True), data)
    session.add(row)
    return row


def delete_opportunity(session: Session, opp_id: int) -> None:
    """Remove an opportunity."""
    session.delete(get_opportunity(session, opp_id, include_pending=True))


def opportunity_public(session: Session, row: Opportunity, *, now: datetime, distance_m: float | None = None,
                       tz: str = "Europe/London") -> OpportunityPublic:
    """The public wire format (named fields only); ``next_on`` is local time in ``tz`` with its UTC offset."""
    place = session.get(Place, row.place_id) if row.place_id else None
    fields = {name: getattr(row, name) for name in OpportunityPublic.model_fields if hasattr(row, name)}
    start = next_on(row, to_local_naive(now, tz=tz))
    fields.update(place_name=place.name if place else None, next_on=localize(start, tz),
                  distance_m=None if distance_m is None else round(distance_m, 1), interests=list(row.interests))
    return OpportunityPublic(**fields)


def _centre(session: Session, lon, lat, postcode) -> tuple[float | None, float | None]:
    if postcode and lon is not None:
        raise InvalidQuery("give either a postcode or lon and lat, not both")
    if postcode:
        row = locate_postcode(session, postcode)
        return row.lon, row.lat
    if (lon is None) != (lat is None):
        raise InvalidQuery("give both lon and lat")
    if lon is not None:
        check_point(lon, lat)
    return lon, lat


def search_opportunities(session: Session, *, lon: float | None = None, lat: float | None = None,
                         postcode: str | None = None, radius_m: float = 3000, interests: Sequence[str] = (),
                         free: bool | None = None, windows: str | None = None, limit: int = 50,
                         now: datetime | None = None, tz: str = "Europe/London") -> list[OpportunityPublic]:
    """Published opportunities near a point/postcode (nearest first, within ``radius_m`` metres) or all by title."""
    try:
        wanted = set(check_terms(list(interests), kind="interests")) if interests else set()
    except ValueError as exc:
        raise InvalidQuery(f"interest: {exc}") from None
    lon, lat = _centre(session, lon, lat, postcode)
    local_now = to_local_naive(now or datetime.now().astimezone(), tz=tz)
    spans = window_spans(parse_windows(windows), local_now) if windows else None
    hits = []
    for row in session.exec(select(Opportunity).where(Opportunity.status == "published")).all():
        if wanted and not wanted & set(row.interests):
            continue
        if free is not None and (row.cost == "free") != free:
            continue
        distance = None if lon is None else float(haversine_m(lon, lat, row.lon, row.lat))
        if distance is not None and distance > radius_m:
            continue
        if spans is not None and not on_during(row, spans):
            continue
        hits.append((distance if distance is not None else 0.0, row.title.lower(), row, distance))
    hits.sort(key=lambda h: h[:2])
    return [opportunity_public(session, row, now=local_now, distance_m=d, tz=tz) for *_k, row, d in hits[:limit]]


# --------------------------------------------------------------------------- support services


def create_support(session: Session, data: SupportCreate) -> SupportService:
    """Add a support service; at a place it takes the place's point."""
    row = SupportService(name=data.name, kind=data.kind)
    return _fill_support(session, row, data, add=True)


def _fill_support(session: Session, row: SupportService, data: SupportCreate, *, add: bool) -> SupportService:
    for name, value in data.model_dump().items():
        setattr(row, name, value)
    if data.place_id is not None:
        place = _place(session, data.place_id)
        row.lon, row.lat = place.lon, place.lat
    if data.region and session.exec(select(Region).where(Region.slug == data.region)).first() is None:
        raise InvalidQuery(f"region: no loaded region {data.region!r}")
    row.updated_at = utcnow()
    session.add(row)
    if add:
        session.flush()
    return row


def get_support(session: Session, support_id: int, *, include_pending: bool = False) -> SupportService:
    """One support service; pending ones are not found for the public."""
    row = session.get(SupportService, support_id)
    if row is None or (row.status != "published" and not include_pending):
        raise NotFound(f"no support service with id {support_id}")
    return row


def replace_support(session: Session, support_id: int, data: SupportCreate) -> SupportService:
    """Replace every field of a support service."""
    return _fill_support(session, get_support(session, support_id, include_pending=True), data, add=False)


def delete_support(session: Session, support_id: int) -> None:
    """Remove a support service."""
    session.delete(get_support(session, support_id, include_pending=True))


def support_public(row: SupportService, *, distance_m: float | None = None) -> SupportPublic:
    """The public wire format (named fields only)."""
    fields = {name: getattr(row, name) for name in SupportPublic.model_fields if hasattr(row, name)}
    fields.update(area_codes=list(row.area_codes), distance_m=None if distance_m is None else round(distance_m, 1))
    return SupportPublic(**fields)


def search_support(session: Session, *, region: str | None = None, area_code: str | None = None,
                   kind: str | None = None, lon: float | None = None, lat: float | None = None,
                   postcode: str | None = None, limit: int = 50) -> list[SupportPublic]:
    """Published support serving a region/area (a postcode gives both), nearest first when a point is known."""
    if postcode:
        pc = locate_postcode(session, postcode)
        lon, lat, area_code = pc.lon, pc.lat, area_code or pc.area_code
        found = session.get(Region, pc.region_id) if pc.region_id else None
        region = region or (found.slug if found else None)
    else:
        lon, lat = _centre(session, lon, lat, None)
    rows = session.exec(select(SupportService).where(SupportService.status == "published")).all()
    hits = []
    for row in rows:
        if kind and row.kind != kind:
            continue
        if (region or area_code) and not ((region and row.region == region) or (area_code and area_code.upper() in row.area_codes)):
            continue
        distance = None if lon is None or row.lon is None else float(haversine_m(lon, lat, row.lon, row.lat))
        hits.append((distance if distance is not None else float("inf"), row.name.lower(), row, distance))
    hits.sort(key=lambda h: h[:2])
    return [support_public(row, distance_m=d) for *_k, row, d in hits[:limit]]


# --------------------------------------------------------------------------- import


# --------------------------------------------------------------------------- demo samples

SAMPLE = "Sample activity — for demonstration"
SAMPLE_SOURCE = "kindmap-sample"
# (title, place name, fallback category, interests, schedule kind, schedule, cost, description)
_SAMPLE_OPPORTUNITIES = (
    ("Allotment gardening morning", "Pillings Road Allotments", "community_garden", ["gardening", "nature", "social"],
     "opening_hours", "Th 14:00-16:00", "free", "Help with planting and weeding; tools and tea provided."),
    ("Knit and natter", "Rutland County Library", "library", ["crafts", "social"],
     "opening_hours", "Tu 10:00-12:00", "free", "Bring any craft, or learn to knit; a quiet corner of the library."),
    ("Saturday stroll", "Cutts Close Park", "park", ["walking", "nature", "social"],
     "rrule", "DTSTART:20250104T100000\nRRULE:FREQ=WEEKLY;BYDAY=SA", "free", "A gentle hour's walk at the pace of the slowest walker."),
    ("Carers' café", "Ketton Centre", "community_centre", ["social", "cooking"],
     "opening_hours", "We 14:00-16:00", "donation", "Tea, cake and a chat for carers and the people they support."),
    ("Reading group", "Uppingham Library", "library", ["reading", "social"],
     "rrule", "DTSTART:20250102T140000\nRRULE:FREQ=MONTHLY;BYDAY=1TH", "free", "One book a month, read aloud in part for anyone who prefers."),
    ("Local history drop-in", "Rutland County Museum", "museum_gallery", ["history", "social"],
     "opening_hours", "Sa 10:00-12:00", "free", "Old photographs and maps of Rutland; share your memories."),
)
_SAMPLE_SUPPORT = (
    ("Shared Lives scheme office", "shared_lives_scheme_office", None,
     "People supported by Shared Lives, their carers, and anyone thinking of becoming a carer."),
    ("Carers' advice drop-in", "carers_support", "Rutland County Library", "Unpaid and Shared Lives carers in Rutland."),
)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _sample_place(session: Session, region_id: int, name: str | None, category: str) -> Place | None:
    if name:
        found = session.exec(select(Place).where(Place.region_id == region_id, Place.name == name,
                                                 Place.status == "published")).first()
        if found:
            return found
    return session.exec(select(Place).where(Place.region_id == region_id, Place.category == category,
                                            Place.status == "published").order_by(Place.name)).first()


def seed_sample_activities(engine: Engine, *, region: str = "rutland") -> int:
    """Add clearly marked sample opportunities and support at real places of ``region``; returns how many were added."""
    with write_session(engine) as session:
        found = session.exec(select(Region).where(Region.slug == region)).first()
        if found is None:
            raise NotFound(f"region {region!r} is not loaded; import it first")
        added = 0
        for title, name, category, interests, kind, schedule, cost, text in _SAMPLE_OPPORTUNITIES:
            source_id = f"{region}/{_slug(title)}"
            place = _sample_place(session, found.id, name, category)
            if place is None or session.exec(select(Opportunity.id).where(
                    Opportunity.source == SAMPLE_SOURCE, Opportunity.source_id == source_id)).first():
                continue
            create_opportunity(session, OpportunityCreate(
                title=f"{SAMPLE}: {title}", description=f"{SAMPLE}; not a real listing. {text}", interests=interests,
                place_id=place.id, schedule_kind=kind, schedule=schedule, duration_minutes=60, cost=cost,
                source=SAMPLE_SOURCE, source_id=source_id, source_licence="CC0-1.0", sample=True))
            added += 1
        for title, kind, name, eligibility in _SAMPLE_SUPPORT:
            source_id = f"{region}/{_slug(title)}"
            if session.exec(select(SupportService.id).where(
                    SupportService.source == SAMPLE_SOURCE, SupportService.source_id == source_id)).first():
                continue
            place = _sample_place(session, found.id, name, "library") if name else None
            create_support(session, SupportCreate(
                name=f"{SAMPLE}: {title}", kind=kind, description=f"{SAMPLE}; not a real service.",
                eligibility=eligibility, region=region, place_id=place.id if place else None,
                source=SAMPLE_SOURCE, source_id=source_id, source_licence="CC0-1.0", sample=True))
            added += 1
    return added
