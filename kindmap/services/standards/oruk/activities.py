"""Open Referral UK services for published opportunities and support services.

An opportunity becomes a service at its place's location (or at its own point), with
schedules from its OSM opening_hours or RFC 5545 recurrence (WEEKLY/MONTHLY rules map to
freq/interval/byday/bymonthday/opens_at/closes_at; anything else is kept as text), cost
options (free = amount 0 plus a "free" attribute) and its interests as taxonomy terms. A
support service also lists its area served as ``service_areas`` (region slug, small-area codes).
Ids are UUID5 over "opportunity/7", "support/3"…, as for places.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, select

from kindmap.models import Place, PlaceStatus
from kindmap.models.activities import (
    ActivityStatus,
    Booking,
    Cost,
    Opportunity,
    ScheduleKind,
    SupportService,
)
from kindmap.models.households import vocabulary
from kindmap.services.standards.oruk.carried import carried_for, location_doc, service_doc
from kindmap.services.standards.oruk.documents import (
    ATTRIBUTE_TAXONOMY,
    EXPORTERS,
    _attribute,
    _organization,
    osm_to_schedules,
    stable_id,
)

INTEREST_TAXONOMY = "kindmap interests"
SUPPORT_TAXONOMY = "kindmap support kinds"
_COSTS = {Cost.free: ("Free", 0, "Free"), Cost.donation: ("Donation", None, "Pay what you can; a donation is welcome"),
          Cost.low: ("Low cost", None, "A small charge")}
_FREQS = {"WEEKLY", "MONTHLY"}


def _text_schedule(service_id: str, text: str, note: str) -> list[dict]:
    return [{"id": stable_id(service_id, "schedule", "text"), "service_id": service_id,
             "description": f"When: {text}", "notes": note}]


def rrule_schedules(text: str, *, duration_minutes: int, service_id: str) -> list[dict]:
    """ORUK schedules from 'DTSTART:…\\nRRULE:…' (local times); unmappable rules are kept as text."""
    lines = dict(line.split(":", 1) for line in text.replace("\\n", "\n").splitlines() if ":" in line)
    parts = dict(p.split("=", 1) for p in lines.get("RRULE", "").split(";") if "=" in p)
    try:
        start = datetime.strptime(lines.get("DTSTART", "")[:15], "%Y%m%dT%H%M%S")
    except ValueError:
        start = None
    known = {"FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "UNTIL", "COUNT", "WKST"}
    end = start + timedelta(minutes=duration_minutes) if start else None
    if start is None or parts.get("FREQ") not in _FREQS or set(parts) - known or "COUNT" in parts \
            or end.date() != start.date() or not parts.get("INTERVAL", "1").isdigit():
        return _text_schedule(service_id, text, "RFC 5545 recurrence")
    doc: dict[str, Any] = {"id": stable_id(service_id, "schedule", "rrule"), "service_id": service_id,
                           "freq": parts["FREQ"], "interval": int(parts.get("INTERVAL", "1")),
                           "dtstart": start.date().isoformat(), "valid_from": start.date().isoformat(),
                           "opens_at": start.strftime("%H:%M:%S"), "closes_at": end.strftime("%H:%M:%S"),
                           "description": f"RFC 5545 recurrence: {text}"}
    if "BYDAY" in parts:
        doc["byday"] = parts["BYDAY"]
    if "BYMONTHDAY" in parts:
        doc["bymonthday"] = parts["BYMONTHDAY"]
    if "UNTIL" in parts:
        try:
            doc["valid_to"] = datetime.strptime(parts["UNTIL"][:8], "%Y%m%d").date().isoformat()
        except ValueError:
            return _text_schedule(service_id, text, "RFC 5545 recurrence")
    return [doc]


def _hours_schedules(hours: str | None, service_id: str) -> list[dict]:
    schedules, raw = osm_to_schedules(hours, link_key=service_id, service_id=service_id)
    return _text_schedule(service_id, raw, "OpenStreetMap opening_hours syntax") if raw else schedules


def _common(row, service_id: str, *, name: str, description: str) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": service_id, "organization_id": stable_id("organization", row.source), "name": name,
                           "description": description, "status": "active", "organization": _organization(row)}
    if row.website and row.website.startswith(("http://", "https://")) and " " not in row.website:
        doc["url"] = row.website
    if row.email and row.email.count("@") == 1 and " " not in row.email and "." in row.email.split("@")[1]:
        doc["email"] = row.email
    if row.updated_at:
        stamp = row.updated_at if row.updated_at.tzinfo else row.updated_at.replace(tzinfo=timezone.utc)
        doc["last_modified"] = stamp.isoformat()
    return doc


def _own_location(kind: str, row, name: str) -> dict:
    location_id = stable_id(kind, row.id, "location")
    return {"id": location_id, "location_type": "physical", "name": name, "latitude": row.lat, "longitude": row.lon,
            "addresses": [], "accessibility": []}


def _locations(session: Session, kind: str, row, service_id: str, name: str) -> list[dict]:
    place = session.get(Place, row.place_id) if row.place_id else None
    if place is not None and place.status == PlaceStatus.published:
        location = location_doc(place, carried_for(session, [place]).get(place.id))  # as the place's own service has it
    elif row.place_id is None and row.lon is not None and row.lat is not None:
        location = _own_location(kind, row, name)
    else:
        return []
    return [{"id": stable_id(kind, row.id, "service_at_location"), "service_id": service_id,
             "location_id": location["id"], "location": location}]


def opportunity_service(session: Session, row: Opportunity, *, with_locations: bool = True) -> dict:
    """The full ORUK ``service`` for one published opportunity."""
    service_id = stable_id("opportunity", row.id)
    description = row.description or f"{row.title} — {row.audience}."
    doc = _common(row, service_id, name=row.title, description=description)
    if row.schedule_kind == ScheduleKind.rrule and row.schedule:
        schedules = rrule_schedules(row.schedule, duration_minutes=row.duration_minutes, service_id=service_id)
    else:
        schedules = _hours_schedules(row.schedule, service_id)
    option, amount, words = _COSTS[Cost(row.cost)]
    cost: dict[str, Any] = {"id": stable_id(service_id, "cost", Cost(row.cost).value), "service_id": service_id,
                            "option": option, "amount_description": words}
    if amount is not None:
        cost["amount"] = amount
    labels = vocabulary()["interests"]
    attributes = [_attribute(service_id, slug, labels.get(slug, slug), taxonomy=INTEREST_TAXONOMY) for slug in row.interests]
    if row.cost == Cost.free:
        attributes.append(_attribute(service_id, "free", "Free to use", taxonomy=ATTRIBUTE_TAXONOMY))
        doc["fees"] = "Free"
    if row.booking == Booking.drop_in:
        attributes.append(_attribute(service_id, "drop_in", "Drop in, no referral needed", taxonomy=ATTRIBUTE_TAXONOMY))
    doc.update(schedules=schedules, cost_options=[cost], attributes=attributes)
    if with_locations:
        doc["service_at_locations"] = _locations(session, "opportunity", row, service_id, row.title)
    return doc


def support_service(session: Session, row: SupportService, *, with_locations: bool = True) -> dict:
    """The full ORUK ``service`` for one published support service, with its area served."""
    service_id = stable_id("support", row.id)
    kind = getattr(row.kind, "value", row.kind)
    label = kind.replace("_", " ").capitalize()
    description = " ".join(filter(None, [row.description, f"Who it is for: {row.eligibility}" if row.eligibility else None]))
    doc = _common(row, service_id, name=row.name, description=description or label)
    areas = []
    if row.region:
        areas.append({"id": stable_id(service_id, "area", "region", row.region), "service_id": service_id,
                      "name": row.region, "service_area": f"Region {row.region}", "extent_type": "region"})
    for code in row.area_codes or []:
        areas.append({"id": stable_id(service_id, "area", code), "service_id": service_id, "name": code,
                      "service_area": f"Small area {code}", "extent_type": "area_code"})
    doc.update(schedules=_hours_schedules(row.opening_hours, service_id), service_areas=areas, cost_options=[],
               attributes=[_attribute(service_id, support_term(kind), label, taxonomy=SUPPORT_TAXONOMY)])
    if with_locations:
        doc["service_at_locations"] = _locations(session, "support", row, service_id, row.name)
    return doc


def support_term(kind: str) -> str:
    """The taxonomy term slug of a support kind (prefixed: "other" is also a place category)."""
    return f"support_{kind}"


def _public_opportunities():
    return select(Opportunity).where(Opportunity.status == ActivityStatus.published, or_(
        Opportunity.place_id.is_(None),
        Opportunity.place_id.in_(select(Place.id).where(Place.status == PlaceStatus.published))))


def _public_support():
    return select(SupportService).where(SupportService.status == ActivityStatus.published)


KINDS = (("opportunity", Opportunity, _public_opportunities, opportunity_service),
         ("support", SupportService, _public_support, support_service))


def count(session: Session) -> int:
    """How many published opportunities and support services export."""
    return sum(session.exec(select(func.count()).select_from(query().subquery())).one() for _k, _t, query, _f in KINDS)


def list_items(session: Session, *, offset: int, limit: int) -> list[dict]:
    """Service list items (one-to-one fields) after the places: opportunities by id, then support by id."""
    out: list[dict] = []
    for _kind, table, query, export in KINDS:
        total = session.exec(select(func.count()).select_from(query().subquery())).one()
        if offset >= total:
            offset -= total
            continue
        for row in session.exec(query().order_by(table.id).offset(offset).limit(limit - len(out))).all():
            doc = export(session, row, with_locations=False)
            out.append({k: v for k, v in doc.items() if not isinstance(v, list)})
        offset = 0
        if len(out) >= limit:
            break
    return out


def all_services(session: Session, *, with_locations: bool = True) -> list[dict]:
    """Every published opportunity and support service as a full ORUK service (in the /services order)."""
    return [export(session, row, with_locations=with_locations) for _k, table, query, export in KINDS
            for row in session.exec(query().order_by(table.id)).all()]


def find_service(session: Session, wanted: str) -> dict | None:
    """The full service whose UUID is ``wanted`` (already normalised), or None."""
    for kind, table, query, export in KINDS:
        for row_id in session.exec(select(table.id).where(table.id.in_(select(query().subquery().c.id)))).all():
            if stable_id(kind, row_id) == wanted:
                return export(session, session.get(table, row_id))
    return None


EXPORTERS.update(opportunity=opportunity_service, support=support_service)


def export_services(session: Session, *, out) -> int:
    """Write every published place, opportunity and support service as full ORUK services (a JSON list) to ``out``, atomically."""
    import json
    from pathlib import Path

    from kindmap.errors import InvalidQuery
    from kindmap.models import Place as _Place
    from kindmap.services.catalogue.export import _check_target, atomic_path
    target = _check_target(Path(out))
    places = session.exec(select(_Place).where(_Place.status == PlaceStatus.published, _Place.listing == "welcoming")
                          .order_by(_Place.id)).all()
    records = carried_for(session, places)
    docs = [service_doc(p, records.get(p.id)) for p in places] + all_services(session)
    try:
        with atomic_path(target, suffix=".json") as tmp:
            tmp.write_text(json.dumps(docs, ensure_ascii=False, indent=1), encoding="utf-8")
    except OSError as exc:
        raise InvalidQuery(f"--out {target}: could not write the file ({exc.strerror or exc})") from exc
    return len(docs)
