"""Open Referral UK (HSDS 3.0 UK profile) documents from kindmap's catalogue.

A published place becomes one ORUK ``service`` at one ``location`` (through one
``service_at_location``), run by an ``organization`` (the data source: OpenStreetMap
contributors, the council list…). Every id is a UUID5 over kindmap's namespace and a
stable key ("place/52", "place/52/location"…), so ids survive re-exports.

Extensible: ``EXPORTERS`` maps a kind ("place"; later "opportunity", "support") to a
function turning one row into a service document; the API and tests go through it.
See geodata/oruk_mapping.md for every field.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from datetime import timezone
from typing import Any

from kindmap.errors import InvalidQuery
from kindmap.hours import check_hours
from kindmap.models import Place, PlaceStatus
from kindmap.taxonomy import categories

NAMESPACE = uuid.UUID("6f3c1b6e-3d0a-5b8e-9a57-6b696e646d61")  # fixed: changing it changes every exported id
HSDS_VERSION = "3.0"
PROFILE_URL = "https://openreferral.github.io/LGA-UK-Profile/"
TAXONOMY_NAME = "kindmap categories"
ATTRIBUTE_TAXONOMY = "kindmap attributes"
MAX_PER_PAGE = 200
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_OSM_DAYS = {"Mo": 0, "Tu": 1, "We": 2, "Th": 3, "Fr": 4, "Sa": 5, "Su": 6}
_RULE = re.compile(r"^((?:(?:Mo|Tu|We|Th|Fr|Sa|Su)(?:-(?:Mo|Tu|We|Th|Fr|Sa|Su))?,?)+)\s+"
                   r"((?:\d{2}:\d{2}-\d{2}:\d{2},?)+)$")
_SOURCE_ORGS = {"osm": ("OpenStreetMap contributors", "https://www.openstreetmap.org/copyright")}


def stable_id(*parts: object) -> str:
    """A UUID5 under kindmap's namespace for a stable key, e.g. ``stable_id('place', 52)``."""
    return _uuid5("/".join(str(p) for p in parts))


@lru_cache(maxsize=65536)
def _uuid5(key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, key))  # a document has a dozen ids and a filtered page builds many documents


def term_id(slug: str) -> str:
    """The taxonomy term id of a kindmap category (or attribute) slug."""
    return stable_id("taxonomy_term", slug)


def osm_to_schedules(hours: str | None, *, link_key: str, service_id: str) -> tuple[list[dict], str | None]:
    """Weekly ORUK schedules from an OSM opening_hours string; the raw string when it does not map.

    Only plain weekly rules ("Mo-Fr 09:00-17:00; Sa 10:00-12:00") map to RRULE-style
    byday/opens_at/closes_at; anything else (PH, months, "off", comments) is returned as
    text to be kept in the schedule's ``description``.
    """
    if not hours or not hours.strip():
        return [], None
    if not check_hours(hours).valid:
        return [], hours
    windows: dict[tuple[str, str], list[int]] = {}
    for rule in (r.strip() for r in hours.split(";")):
        if not rule:
            continue
        match = _RULE.match(rule)
        if not match:
            return [], hours
        days: list[int] = []
        for part in filter(None, match.group(1).split(",")):
            a, _, b = part.partition("-")
            start, end = _OSM_DAYS[a], _OSM_DAYS[b or a]
            days += list(range(start, end + 1)) if start <= end else list(range(start, 7)) + list(range(0, end + 1))
        for span in filter(None, match.group(2).split(",")):
            opens, closes = span.split("-")
            if closes <= opens or int(closes[:2]) >= 24:
                return [], hours  # past midnight does not fit one opens_at/closes_at pair
            for day in days:  # a later rule for the same day replaces it in OSM; here rules never overlap in practice
                windows.setdefault((opens, closes), []).append(day)
    schedules = []
    for (opens, closes), days in sorted(windows.items(), key=lambda kv: (min(kv[1]), kv[0])):
        schedules.append({
            "id": stable_id(link_key, "schedule", opens, closes, *sorted(set(days))),
            "service_id": service_id,
            "freq": "WEEKLY",
            "interval": 1,
            "byday": ",".join(_DAYS[d] for d in sorted(set(days))),
            "opens_at": f"{opens}:00",
            "closes_at": f"{closes}:00",
            "description": f"Opening hours (OpenStreetMap syntax): {hours}",
        })
    return schedules, None


def _term(slug: str, label: str, *, taxonomy: str) -> dict:
    return {"id": term_id(slug), "name": label, "description": label, "taxonomy": taxonomy, "term": slug}


def taxonomy_terms() -> list[dict]:
    """kindmap's categories as ORUK taxonomy terms (taxonomy 'kindmap categories')."""
    return [_term(c.slug, c.label, taxonomy=TAXONOMY_NAME) for c in categories().values()]


def _attribute(link_id: str, slug: str, label: str, *, taxonomy: str, link_type: str = "service") -> dict:
    return {"id": stable_id(link_id, "attribute", slug), "link_id": link_id, "link_type": link_type,
            "taxonomy_term_id": term_id(slug), "taxonomy_term": _term(slug, label, taxonomy=taxonomy)}


def accessibility_entries(place: Place, location_id: str) -> list[tuple[str, dict]]:
    """(fact, ORUK accessibility entry) for each accessibility fact known about a place."""
    items = []
    wheelchair = getattr(place.wheelchair, "value", place.wheelchair)
    facts = [
        ("wheelchair", {"yes": "Wheelchair accessible", "limited": "Partly wheelchair accessible",
                        "no": "Not wheelchair accessible"}.get(wheelchair or "")),
        ("step_free", {True: "Step-free access", False: "Not step-free"}.get(place.step_free)),
        ("hearing_loop", {True: "Hearing loop", False: "No hearing loop"}.get(place.hearing_loop)),
        ("accessible_toilet", {True: "Accessible toilet", False: "No accessible toilet"}.get(place.accessible_toilet)),
        ("quiet_space", {True: "Quiet space", False: None}.get(place.quiet_space)),
    ]
    for key, text in facts:
        if text:
            items.append((key, {"id": stable_id(location_id, "accessibility", key), "location_id": location_id,
                                "description": text, "accessibility": text}))
    return items


def _organization(place: Place) -> dict:
    name, url = _SOURCE_ORGS.get(place.source, (f"kindmap ({place.source} data)", None))
    org = {"id": stable_id("organization", place.source), "name": name,
           "description": f"Source of this record: {name}. Published by kindmap; everyone welcome."}
    if url:
        org["website"] = url
    return org


def _address(place: Place, location_id: str) -> list[dict]:
    if not place.postcode:
        return []
    parts = [p.strip() for p in (place.address or "").split(",") if p.strip()]
    return [{"id": stable_id(location_id, "address"), "location_id": location_id,
             "address_1": parts[0] if parts else place.name, "city": parts[-1] if len(parts) > 1 else "",
             "state_province": "", "postal_code": place.postcode, "country": "GB", "address_type": "physical"}]


@dataclass(frozen=True)
class Ids:
    """The ids a place's service, location and service_at_location are exported under."""

    service: str
    location: str
    service_at_location: str


def place_ids(place: Place) -> Ids:
    """kindmap's own ids for a place (UUID5 over its id); an imported ORUK record keeps its source's instead."""
    return Ids(stable_id("place", place.id), stable_id("place", place.id, "location"),
               stable_id("place", place.id, "service_at_location"))


def place_location(place: Place, *, location_id: str | None = None) -> dict:
    """The ORUK ``location`` of a place (EPSG:4326 latitude/longitude)."""
    location_id = location_id or place_ids(place).location
    location = {"id": location_id, "location_type": "physical", "name": place.name,
                "latitude": place.lat, "longitude": place.lon,
                "addresses": _address(place, location_id),
                "accessibility": [entry for _fact, entry in accessibility_entries(place, location_id)]}
    if place.source_id:
        location["external_identifier"] = place.source_id
        location["external_identifier_type"] = place.source
    return location


def place_service(place: Place, *, with_locations: bool = True, ids: Ids | None = None) -> dict:
    """The full ORUK ``service`` document for one published place (under ``ids``, by default kindmap's own)."""
    ids = ids or place_ids(place)
    service_id, sal_id = ids.service, ids.service_at_location
    schedules, raw_hours = osm_to_schedules(place.opening_hours, link_key=service_id, service_id=service_id)
    if raw_hours:  # does not map to weekly fields: keep it, readable, rather than drop it
        schedules = [{"id": stable_id(service_id, "schedule", "text"), "service_id": service_id,
                      "description": f"Opening hours: {raw_hours}", "notes": "OpenStreetMap opening_hours syntax"}]
    cat = categories().get(place.category)
    attributes = [_attribute(service_id, place.category, cat.label if cat else place.category, taxonomy=TAXONOMY_NAME)]
    cost_options = []
    if place.free_to_use:
        cost_options.append({"id": stable_id(service_id, "cost", "free"), "service_id": service_id,
                             "option": "Free to use", "amount": 0, "amount_description": "Free; no purchase needed"
                             if place.no_purchase_needed else "Free"})
        attributes.append(_attribute(service_id, "free", "Free to use", taxonomy=ATTRIBUTE_TAXONOMY))
    if place.drop_in:
        attributes.append(_attribute(service_id, "drop_in", "Drop in, no referral needed", taxonomy=ATTRIBUTE_TAXONOMY))
    doc: dict[str, Any] = {
        "id": service_id,
        "organization_id": stable_id("organization", place.source),
        "name": place.name,
        "description": place.description or f"{cat.label if cat else 'Welcoming place'} — everyone welcome.",
        "status": "active" if place.status == PlaceStatus.published else "inactive",
        "schedules": schedules,
        "cost_options": cost_options,
        "attributes": attributes,
        "organization": _organization(place),
    }
    if place.free_to_use:
        doc["fees"] = "Free"
    if place.website and re.match(r"^https?://\S+$", place.website):
        doc["url"] = place.website
    if place.email and re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", place.email):
        doc["email"] = place.email
    if place.updated_at:
        updated = place.updated_at if place.updated_at.tzinfo else place.updated_at.replace(tzinfo=timezone.utc)
        doc["last_modified"] = updated.isoformat()
    if with_locations:
        doc["service_at_locations"] = [{"id": sal_id, "service_id": service_id, "location_id": ids.location,
                                        "location": place_location(place, location_id=ids.location)}]
    return doc


def service_list_item(place: Place) -> dict:
    """The one-to-one fields of a service (what a paged ``/services`` list holds)."""
    doc = place_service(place, with_locations=False)
    return {k: v for k, v in doc.items() if not isinstance(v, list)}


def service_at_location(place: Place, *, full: bool = True) -> dict:
    """The ORUK ``service_at_location`` for a place (its service and its location)."""
    location = place_location(place)
    service = place_service(place, with_locations=False) if full else service_list_item(place)
    if not full:
        location = {k: v for k, v in location.items() if not isinstance(v, list)}
    return {"id": stable_id("place", place.id, "service_at_location"), "service_id": service["id"],
            "location_id": location["id"], "location": location, "service": service}


# kind → exporter of one row; opportunity and support exporters (kindmap.services.standards.oruk.activities) take the session too.
EXPORTERS: dict[str, Callable[..., dict]] = {"place": place_service}


@dataclass
class Page:
    """One page of ORUK documents with the profile's paging fields."""

    total_items: int
    page_number: int
    per_page: int
    contents: list[dict]

    def as_dict(self) -> dict:
        """The ORUK page object."""
        total_pages = max(1, math.ceil(self.total_items / self.per_page))
        return {"total_items": self.total_items, "total_pages": total_pages, "page_number": self.page_number,
                "size": len(self.contents), "first_page": self.page_number == 1,
                "last_page": self.page_number >= total_pages, "empty": not self.contents, "contents": self.contents}


def _check_paging(page: int, per_page: int) -> None:
    if page < 1:
        raise InvalidQuery("page counts from 1")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidQuery(f"per_page must be between 1 and {MAX_PER_PAGE}")


