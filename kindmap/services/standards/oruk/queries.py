"""Open Referral UK pages and single documents the API serves: services, service_at_locations.

Builds on ``documents`` (places) and ``activities`` (opportunities, support services); neither
imports this module, so the three form no circle.
"""

from __future__ import annotations

import math
import uuid

from sqlalchemy import func
from sqlmodel import Session, select

from kindmap.errors import InvalidQuery, NotFound
from kindmap.geo.distance import PointIndex
from kindmap.models import Place, PlaceStatus
from kindmap.services.catalogue.search import locate_postcode
from kindmap.services.standards.oruk import activities as oruk_activities
from kindmap.services.standards.oruk import carried as oruk_carried
from kindmap.services.standards.oruk.carried import carried_for, list_item, sal_doc, service_doc
from kindmap.services.standards.oruk.documents import Page, _check_paging, stable_id
from kindmap.services.standards.oruk.filters import ServiceFilter, document_facts, matches, place_facts


def _published():
    return select(Place).where(Place.status == PlaceStatus.published, Place.listing == "welcoming")


def list_services(session: Session, *, page: int = 1, per_page: int = 50, filters: ServiceFilter | None = None,
                  minimal: bool = False) -> Page:
    """A page of ORUK service list items: published places by id, then opportunities, then support services;
    only those passing ``filters`` (see ``filters.py``); with ``minimal``, just each one's id and last_modified."""
    _check_paging(page, per_page)
    start = (page - 1) * per_page
    if filters is None or filters.empty:
        places = session.exec(select(func.count(Place.id)).where(Place.status == PlaceStatus.published,
                                                                 Place.listing == "welcoming")).one()
        rows = session.exec(_published().order_by(Place.id).offset(start).limit(per_page)).all()
        records = carried_for(session, rows)
        contents = [list_item(p, records.get(p.id)) for p in rows]
        if len(contents) < per_page:
            contents += oruk_activities.list_items(session, offset=max(start - places, 0), limit=per_page - len(contents))
        total = places + oruk_activities.count(session)
    else:
        # One pass over the published places, judged from their fields (a place imported from ORUK from its
        # document, which carries what its fields do not: ages, the source's schedules and organisation).
        places = session.exec(_published().order_by(Place.id)).all()
        records = carried_for(session, places)
        found: list = [p for p in places if matches(
            document_facts(service_doc(p, records[p.id], with_locations=False)) if p.id in records else place_facts(p),
            filters)]
        found += [d for d in oruk_activities.all_services(session, with_locations=False)
                  if matches(document_facts(d), filters)]
        total = len(found)
        contents = [list_item(x, records.get(x.id)) if isinstance(x, Place)
                    else {k: v for k, v in x.items() if not isinstance(v, list)} for x in found[start:start + per_page]]
    if minimal:
        contents = [{k: c[k] for k in ("id", "last_modified") if k in c} for c in contents]
    return Page(total, page, per_page, contents)


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise InvalidQuery(f"{value!r} is not a UUID; ORUK ids look like 3fa85f64-5717-4562-b3fc-2c963f66afa6") from None


def _place_by_uuid(session: Session, wanted: str, *, suffix: tuple[str, ...]) -> Place:
    # ids are uuid5 over the place id, so look it up by recomputing over published ids (cheap: ints only);
    # a place imported from ORUK answers to its source's ids instead (see carried.py), not to these.
    for place_id in session.exec(select(Place.id).where(Place.status == PlaceStatus.published,
                                                        Place.listing == "welcoming")).all():
        if stable_id("place", place_id, *suffix) == wanted:
            place = session.get(Place, place_id)
            if not carried_for(session, [place]):
                return place
    raise NotFound(f"no published service with id {wanted}")


def get_service(session: Session, service_id: str) -> dict:
    """The full ORUK service for an id (place, opportunity or support service), or ``NotFound``."""
    wanted = _uuid(service_id)
    found = oruk_carried.place_by_service_id(session, wanted)
    if found is not None:
        return service_doc(*found)
    try:
        return service_doc(_place_by_uuid(session, wanted, suffix=()))
    except NotFound:
        doc = oruk_activities.find_service(session, wanted)
        if doc is None:
            raise
        return doc


def get_service_at_location(session: Session, sal_id: str) -> dict:
    """The full ORUK service_at_location for an id, or ``NotFound``."""
    wanted = _uuid(sal_id)
    found = oruk_carried.place_by_sal_id(session, wanted)
    if found is not None:
        return sal_doc(*found)
    return sal_doc(_place_by_uuid(session, wanted, suffix=("service_at_location",)))


def list_service_at_locations(session: Session, *, page: int = 1, per_page: int = 50, postcode: str | None = None,
                              proximity_m: float | None = None) -> Page:
    """A page of service_at_locations; with a postcode, nearest first within ``proximity_m`` metres."""
    _check_paging(page, per_page)
    if proximity_m is not None and not (math.isfinite(proximity_m) and 0 < proximity_m <= 100_000):
        raise InvalidQuery("proximity is in metres: more than 0 and at most 100000")
    if proximity_m is not None and not postcode:
        raise InvalidQuery("proximity needs a postcode to measure from")
    places = session.exec(_published().order_by(Place.id)).all()
    if postcode:
        centre = locate_postcode(session, postcode)
        index = PointIndex([p.lon for p in places], [p.lat for p in places]) if places else None
        if index is None:
            places = []
        else:
            idx, _ = index.within(centre.lon, centre.lat, radius_m=proximity_m or 5000)
            places = [places[i] for i in idx.tolist()]
    chunk = places[(page - 1) * per_page: page * per_page]
    records = carried_for(session, chunk)
    return Page(len(places), page, per_page, [sal_doc(p, records.get(p.id), full=False) for p in chunk])
