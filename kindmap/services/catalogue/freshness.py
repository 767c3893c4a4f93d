"""How fresh each fact is: "checked on …" per field group, and a council view of where to check next.

Two different dates are kept apart, because they mean different things:

* **checked by a person** — ``Place.verified_at`` (a moderator kept or closed it) or a
  local fact's ``verified_at`` for the fields of that group;
* **edited on the source** — the OSM element's own timestamp: someone touched the
  element on OpenStreetMap then. It is not a check of the facts, but it is a sign of life.

A group's *last confirmed* date is the newer of the two; it "may be out of date" when that
is older than ``stale_after_days`` (``KINDMAP_STALE_AFTER_DAYS``, default 365) or unknown.
The council's "fresh" share counts places confirmed (either way) within that window; the
share checked by a person is reported beside it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlmodel import Session, col, select

from kindmap.errors import NotFound
from kindmap.models import Area, LocalFact, Place, PlaceSource, PlaceStatus
from kindmap.models.common import utcnow
from kindmap.models.provenance import FIELD_GROUPS, GROUP_OF, FieldGroup
from kindmap.services.regions import find_region
from kindmap.taxonomy import label


def _utc(ts: datetime | None) -> datetime | None:
    # SQLite hands datetimes back naive; they were stored as UTC.
    return ts.replace(tzinfo=timezone.utc) if ts is not None and ts.tzinfo is None else ts


def _newest(*values: datetime | None) -> datetime | None:
    found = [_utc(v) for v in values if v is not None]
    return max(found) if found else None


@dataclass
class GroupFreshness:
    group: str
    checked_on: datetime | None  # by a person
    edited_on_source: datetime | None
    last_confirmed: datetime | None
    may_be_out_of_date: bool
    local_facts: list[dict] = field(default_factory=list)


def group_freshness(place: Place, *, source: PlaceSource | None, facts: list[LocalFact], now: datetime,
                    stale_after_days: int) -> list[GroupFreshness]:
    """Freshness of each field group of one place."""
    limit = now - timedelta(days=stale_after_days)
    by_group: dict[FieldGroup, list[LocalFact]] = defaultdict(list)
    for fact in facts:
        if fact.field in GROUP_OF:
            by_group[GROUP_OF[fact.field]].append(fact)
    supplied = set(source.values()) if source is not None else set()
    out = []
    for group, names in FIELD_GROUPS.items():
        group_facts = by_group.get(group, [])
        checked = _newest(place.verified_at, *(f.verified_at for f in group_facts))
        edited = _utc(source.source_timestamp) if source is not None and supplied & set(names) else None
        last = _newest(checked, edited)
        out.append(GroupFreshness(
            group=group.value, checked_on=checked, edited_on_source=edited, last_confirmed=last,
            may_be_out_of_date=last is None or last < limit,
            local_facts=[{"field": f.field, "value": f.value(), "note": f.note, "source": f.source,
                          "verified_at": _utc(f.verified_at)} for f in group_facts],
        ))
    return out


def place_provenance(session: Session, place_id: int, *, stale_after_days: int, now: datetime | None = None) -> dict:
    """Public provenance of one published place: sources, licences, dates, local facts (no people)."""
    now = now or utcnow()
    place = session.get(Place, place_id)
    if place is None or place.status != PlaceStatus.published:
        raise NotFound(f"no place with id {place_id}")
    sources = session.exec(select(PlaceSource).where(PlaceSource.place_id == place.id).order_by(PlaceSource.id)).all()
    primary = next((s for s in sources if s.primary and (s.source, s.source_id) == (place.source, place.source_id)),
                   next((s for s in sources if s.primary), None))
    facts = session.exec(select(LocalFact).where(LocalFact.place_id == place.id, col(LocalFact.superseded_at).is_(None))
                         .order_by(LocalFact.created_at)).all()
    groups = group_freshness(place, source=primary, facts=list(facts), now=now, stale_after_days=stale_after_days)
    return {
        "place_id": place.id,
        "name": place.name,
        "verified_at": _utc(place.verified_at),
        "possibly_closed_since": _utc(place.possibly_closed_since),
        "stale_after_days": stale_after_days,
        "sources": [{
            "source": s.source, "source_id": s.source_id, "source_name": s.source_name, "licence": s.licence,
            "edited_on_source": _utc(s.source_timestamp), "first_seen_at": _utc(s.first_seen_at),
            "last_seen_at": _utc(s.last_seen_at), "missing_since": _utc(s.missing_since), "primary": s.primary,
        } for s in sources],
        "groups": [vars(g) for g in groups],
    }


@dataclass
class Share:
    key: str
    label: str
    places: int
    fresh: int  # confirmed (by a person or an edit on the source) within the window
    checked_by_person: int

    @property
    def fresh_share(self) -> float | None:
        return self.fresh / self.places if self.places else None


@dataclass
class FreshnessSummary:
    region: str
    stale_after_days: int
    as_of: datetime
    total: Share
    by_category: list[Share]
    by_area: list[Share]
    oldest: list[dict]
    possibly_closed: int


def _last_dates(session: Session, places: list[Place]) -> dict[int, tuple[datetime | None, datetime | None]]:
    """Per place: (newest person check, primary source edit)."""
    ids = [p.id for p in places]
    checked = {p.id: _utc(p.verified_at) for p in places}
    for pid, ts in session.exec(select(LocalFact.place_id, LocalFact.verified_at).where(
            col(LocalFact.place_id).in_(ids), col(LocalFact.superseded_at).is_(None))).all():
        checked[pid] = _newest(checked[pid], ts)
    edited: dict[int, datetime | None] = {p.id: None for p in places}
    lead = {p.id: (p.source, p.source_id) for p in places}
    for src in session.exec(select(PlaceSource).where(col(PlaceSource.place_id).in_(ids), PlaceSource.primary == True)).all():  # noqa: E712
        if (src.source, src.source_id) == lead[src.place_id] or edited[src.place_id] is None:
            edited[src.place_id] = _utc(src.source_timestamp)
    for p in places:  # places imported before provenance records existed
        if edited[p.id] is None:
            edited[p.id] = _utc(p.source_timestamp)
    return {pid: (checked[pid], edited[pid]) for pid in ids}


def region_freshness(session: Session, region: str, *, stale_after_days: int, now: datetime | None = None,
                     oldest: int = 15) -> FreshnessSummary:
    """Share of a region's public places confirmed within the window, by category and small area; the oldest."""
    import shapely

    now = now or utcnow()
    limit = now - timedelta(days=stale_after_days)
    reg = find_region(session, region)
    places = list(session.exec(select(Place).where(Place.region_id == reg.id, Place.status == PlaceStatus.published)
                               .order_by(Place.id)).all())
    dates = _last_dates(session, places)
    areas = list(session.exec(select(Area).where(Area.region_id == reg.id).order_by(Area.code)).all())
    area_of: dict[int, Area] = {}
    if areas and places:
        tree = shapely.STRtree([shapely.from_geojson(a.geometry_geojson) for a in areas])
        points = shapely.points([(p.lon, p.lat) for p in places])
        # A point on a shared boundary matches two areas: the first (by code) takes it.
        for pi, ai in sorted(zip(*tree.query(points, predicate="intersects")), key=lambda t: (t[0], t[1])):
            area_of.setdefault(places[int(pi)].id, areas[int(ai)])

    total = Share("all", reg.name, 0, 0, 0)
    cats: dict[str, Share] = {}
    by_area: dict[str, Share] = {a.code: Share(a.code, a.name, 0, 0, 0) for a in areas}
    outside = Share("outside", "Outside the region's small areas", 0, 0, 0)
    rows = []
    for p in places:
        checked, edited = dates[p.id]
        last = _newest(checked, edited)
        fresh = last is not None and last >= limit
        person = checked is not None and checked >= limit
        area = area_of.get(p.id)
        for share in (total, cats.setdefault(p.category, Share(p.category, label(p.category), 0, 0, 0)),
                      by_area[area.code] if area else outside):
            share.places += 1
            share.fresh += fresh
            share.checked_by_person += person
        rows.append({"place_id": p.id, "name": p.name, "category": p.category, "area": area.code if area else None,
                     "checked_on": checked, "edited_on_source": edited, "last_confirmed": last,
                     "possibly_closed": p.possibly_closed_since is not None})
    epoch = datetime.min.replace(tzinfo=timezone.utc)
    # Possibly-closed first (they need a decision), then the longest unconfirmed.
    rows.sort(key=lambda r: (not r["possibly_closed"], r["last_confirmed"] or epoch, r["place_id"]))
    area_list = list(by_area.values()) + ([outside] if outside.places else [])
    return FreshnessSummary(
        region=reg.slug, stale_after_days=stale_after_days, as_of=now, total=total,
        by_category=sorted(cats.values(), key=lambda s: (-s.places, s.key)), by_area=area_list,
        oldest=rows[:oldest], possibly_closed=sum(1 for p in places if p.possibly_closed_since is not None),
    )
