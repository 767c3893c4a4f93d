"""The OGC API ``opportunities`` collection: published activities with a point (CRS84), public fields only.

Registered into ``kindmap.services.standards.ogc.registry.COLLECTIONS`` on import (``ogc`` imports this module last).
An opportunity's point is its own lon/lat, which is the place's point when it is at a place; an
opportunity at a place that is not published (pending suggestion, closed) is not public either.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import String, and_, cast, func, or_
from sqlmodel import Session, select

from kindmap.geo.rfc7946 import round_position
from kindmap.models import Place, PlaceStatus
from kindmap.models.activities import ActivityStatus, Booking, Cost, Opportunity
from kindmap.models.households import check_terms
from kindmap.services.catalogue.export import region_slugs
from kindmap.services.standards.ogc.registry import (
    BOOL,
    Collection,
    Filter,
    eq_filter,
    int_fid,
    parse_bool,
    region_clause,
    register,
    split_bbox,
)


class OpportunityProperties(BaseModel):
    """Public details of one opportunity (no contact or private data); interests comma-separated."""

    title: str
    description: str | None
    interests: str  # comma-separated slugs: one text column for GIS clients
    cost: str
    booking: str
    drop_in: bool
    schedule_kind: str | None
    schedule: str | None
    duration_minutes: int
    audience: str
    accessibility_notes: str | None
    place_id: int | None
    region: str | None
    source: str
    source_id: str | None
    source_licence: str | None
    verified_at: datetime | None
    updated_at: datetime | None
    sample: bool


def _feature(row: Opportunity, context: dict) -> dict:
    props = OpportunityProperties(
        title=row.title, description=row.description, interests=",".join(row.interests or []),
        cost=Cost(row.cost).value, booking=Booking(row.booking).value, drop_in=row.booking == Booking.drop_in,
        schedule_kind=None if row.schedule_kind is None else str(getattr(row.schedule_kind, "value", row.schedule_kind)),
        schedule=row.schedule, duration_minutes=row.duration_minutes, audience=row.audience,
        accessibility_notes=row.accessibility_notes, place_id=row.place_id, region=context["regions"].get(row.region_id),
        source=row.source, source_id=row.source_id, source_licence=row.source_licence, verified_at=row.verified_at,
        updated_at=row.updated_at, sample=row.sample)
    return {"type": "Feature", "id": row.id, "geometry": {"type": "Point", "coordinates": round_position(row.lon, row.lat)},
            "properties": props.model_dump(mode="json")}


def _interest(text: str) -> str:
    return check_terms([text], kind="interests")[0]  # ValueError names the allowed slugs


def _interest_clause(slug: str):
    # Interests are stored as a JSON list of vetted slugs; the quoted slug matches one element exactly.
    escaped = slug.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return cast(Opportunity.interests, String).like(f'%"{escaped}"%', escape="\\")


def _cost(text: str) -> str:
    if text not in {c.value for c in Cost}:
        raise ValueError(f"must be one of {', '.join(c.value for c in Cost)}")
    return text


def _bbox(_session: Session, bbox: tuple):
    return or_(*(and_(Opportunity.lon >= a, Opportunity.lon <= c, Opportunity.lat >= b, Opportunity.lat <= d)
                 for a, b, c, d in split_bbox(bbox)))


PUBLIC = (
    Opportunity.status == ActivityStatus.published,
    Opportunity.lon.is_not(None), Opportunity.lat.is_not(None),
    or_(Opportunity.place_id.is_(None),
        Opportunity.place_id.in_(select(Place.id).where(Place.status == PlaceStatus.published))),
)


def _extent(session: Session) -> list[float] | None:
    row = session.exec(select(func.min(Opportunity.lon), func.min(Opportunity.lat), func.max(Opportunity.lon),
                              func.max(Opportunity.lat)).where(*PUBLIC)).one()
    return None if row[0] is None else [float(v) for v in row]


COST_VALUES = [c.value for c in Cost]

register(Collection(
    id="opportunities", title="Opportunities and activities",
    description="Published activities, groups and events at welcoming places or their own point — everyone welcome. "
                "Points in CRS84 with public details and provenance. Filters: interest (an interest slug), "
                f"cost ({'/'.join(COST_VALUES)}), drop_in (true/false), region, source; datetime filters on updated_at.",
    table=Opportunity, key=Opportunity.id, public=PUBLIC,
    filters={"interest": Filter(_interest, _interest_clause),
             "cost": eq_filter(Opportunity.cost, _cost, {"type": "string", "enum": COST_VALUES}),
             "drop_in": Filter(parse_bool, lambda yes: (Opportunity.booking == Booking.drop_in) if yes
                               else (Opportunity.booking != Booking.drop_in), BOOL),
             "region": Filter(str, region_clause(Opportunity.region_id)),
             "source": eq_filter(Opportunity.source)},
    feature=_feature, fid=int_fid(Opportunity.id), bbox=_bbox, extent=_extent,
    temporal=Opportunity.updated_at, context=lambda session: {"regions": region_slugs(session)},
    properties=(OpportunityProperties, frozenset()),
))
