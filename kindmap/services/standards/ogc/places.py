"""The OGC API ``places`` collection: published welcoming places as CRS84 points with public fields only.

Registered into ``kindmap.services.standards.ogc.registry.COLLECTIONS`` on import (``ogc`` imports this module first).
"""

from __future__ import annotations

from sqlalchemy import and_, func, or_
from sqlmodel import Session, select

from kindmap.errors import InvalidQuery
from kindmap.geo.rfc7946 import round_position
from kindmap.models import Place, PlaceStatus
from kindmap.services.catalogue.export import PlaceRecord, place_record, region_slugs
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
from kindmap.taxonomy import check_categories


def _category(text: str) -> str:
    try:
        return check_categories([text])[0]
    except InvalidQuery as exc:
        raise ValueError(exc.message) from exc


def _wheelchair(text: str) -> str:
    if text not in ("yes", "limited", "no"):
        raise ValueError("must be yes, limited or no")
    return text


def _place_feature(place: Place, context: dict) -> dict:
    record = place_record(place, region_slug=context["regions"].get(place.region_id))
    return {"type": "Feature", "id": place.id, "geometry": {"type": "Point", "coordinates": round_position(place.lon, place.lat)},
            "properties": record.model_dump(mode="json", exclude={"id", "lon", "lat"})}


def _place_bbox(_session: Session, bbox: tuple):
    return or_(*(and_(Place.lon >= a, Place.lon <= c, Place.lat >= b, Place.lat <= d) for a, b, c, d in split_bbox(bbox)))


def _place_extent(session: Session) -> list[float] | None:
    row = session.exec(select(func.min(Place.lon), func.min(Place.lat), func.max(Place.lon), func.max(Place.lat))
                       .where(Place.status == PlaceStatus.published, Place.listing == "welcoming")).one()
    return None if row[0] is None else [float(v) for v in row]


_PLACE_BOOLS = ("free_to_use", "no_purchase_needed", "drop_in", "warm_hospitality", "toilets", "seating", "wifi",
                "accessible_toilet", "hearing_loop", "quiet_space", "step_free")

register(Collection(
    id="places", title="Welcoming places",
    description="Published welcoming, free, everyday places where people connect — everyone welcome. "
                "Points in CRS84 with public details and provenance. Filters: category, region, source, wheelchair "
                f"(yes/limited/no) and {', '.join(_PLACE_BOOLS)} (true/false); datetime filters on updated_at.",
    table=Place, key=Place.id, public=(Place.status == PlaceStatus.published, Place.listing == "welcoming"),
    filters={"category": eq_filter(Place.category, _category), "region": Filter(str, region_clause(Place.region_id)),
             "source": eq_filter(Place.source),
             "wheelchair": eq_filter(Place.wheelchair, _wheelchair, {"type": "string", "enum": ["yes", "limited", "no"]}),
             **{name: eq_filter(getattr(Place, name), parse_bool, BOOL) for name in _PLACE_BOOLS}},
    feature=_place_feature, fid=int_fid(Place.id), bbox=_place_bbox, extent=_place_extent,
    temporal=Place.updated_at, context=lambda session: {"regions": region_slugs(session)},
    properties=(PlaceRecord, frozenset({"id", "lon", "lat"})),
))
