"""Places listed as support (food banks, soup kitchens, advice) as support services.

The inclusion rule (``kindmap.ingest.inclusion``) keeps support services out of the public
list of welcoming places. Each place listed as support gets one ``SupportService`` row
(source ``place``, source id ``place/<id>``), so ``/api/support`` and a household's
recommendations show it as support, with its own words. A place that stops being support
(a moderator's decision, a re-import) has its row hidden (pending), never deleted, so a
plan that holds it keeps working.
"""

from __future__ import annotations

from sqlmodel import Session, select

from kindmap.ingest.inclusion import load_rules
from kindmap.models import Listing, Place, PlaceSource, PlaceStatus, Region
from kindmap.models.activities import ActivityStatus, SupportService
from kindmap.models.common import utcnow

SOURCE = "place"
_MAX_HOURS = 255  # SupportService.opening_hours is shorter than a place's


def sync_support_layer(session: Session) -> dict[str, int]:
    """Make, update or hide the support service of every place; return counts (added, updated, hidden)."""
    rules = load_rules()
    now = utcnow()
    rows = {r.source_id: r for r in session.exec(select(SupportService).where(SupportService.source == SOURCE)).all()}
    slugs = dict(session.exec(select(Region.id, Region.slug)).all())
    counts = {"added": 0, "updated": 0, "hidden": 0}
    wanted: set[str] = set()
    places = session.exec(select(Place).where(Place.listing == Listing.support.value,
                                              Place.status == PlaceStatus.published)).all()
    tags = _tags(session, [p.id for p in places])
    for place in places:
        key = f"place/{place.id}"
        wanted.add(key)
        hours = place.opening_hours if place.opening_hours and len(place.opening_hours) <= _MAX_HOURS else None
        values = {
            "name": place.name, "description": place.description, "phone": place.phone, "email": place.email,
            "website": place.website, "lon": place.lon, "lat": place.lat, "opening_hours": hours,
            "region": slugs.get(place.region_id), "place_id": place.id, "source_licence": place.source_licence,
            "kind": rules.support_kind(category=place.category, name=place.name, tags=tags.get(place.id)),
            "status": ActivityStatus.published,
        }
        row = rows.get(key)
        if row is None:
            session.add(SupportService(source=SOURCE, source_id=key, area_codes=[], created_at=now, updated_at=now,
                                       **values))
            counts["added"] += 1
        elif any(getattr(getattr(row, k), "value", getattr(row, k)) != getattr(v, "value", v) for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            row.updated_at = now
            counts["updated"] += 1
    for key, row in rows.items():
        if key not in wanted and row.status != ActivityStatus.pending:
            row.status, row.updated_at = ActivityStatus.pending, now
            counts["hidden"] += 1
    session.flush()
    return counts


def _tags(session: Session, place_ids: list[int]) -> dict[int, dict[str, str]]:
    if not place_ids:
        return {}
    found: dict[int, dict[str, str]] = {}
    for src in session.exec(select(PlaceSource).where(PlaceSource.place_id.in_(place_ids),  # type: ignore[union-attr]
                                                      PlaceSource.primary == True)).all():  # noqa: E712
        if src.tags_json and src.place_id not in found:
            found[src.place_id] = src.tags()
    return found
