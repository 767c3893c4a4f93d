"""Open Referral UK round trip: a place imported from ORUK is exported as its source said it.

An ORUK import keeps each service-at-location's original JSON (``PlaceExtra``). Its place is
exported under the source's own ids (service, service_at_location, location), by the source's
organisation, with everything kindmap has no column for carried over as it came: ages, service
areas, languages, funding, contacts, accreditations, alerts, phones, the location's name,
description and UPRN, its other attributes.

What kindmap does hold (name, description, website, email, hours, free or not, address,
accessibility) is kindmap's to say, because moderators and visitors can change it after the
import. So the source's own wording of such a value is re-exported only while the place still
holds what the import read from it (``record_values`` is run again on the original); once a
person changes it, kindmap's value is exported instead, and the source's stale wording is not:

- schedules: the source's while ``opening_hours`` is what they gave (also when they gave none
  kindmap could read); cost options and fees: the source's while ``free_to_use`` is unchanged;
- addresses: the source's while the address and postcode are; accessibility: each source entry
  whose stated facts still hold, then kindmap's entries for facts no kept entry states;
- attributes: the source's (less one that the place now contradicts: ``free`` on a place no longer
  free, the category term the import read once the place is re-categorised), then kindmap's own;
- latitude/longitude and ``last_modified``: always kindmap's (where the place is on the map, and
  when kindmap's record last changed, which is what ``modified_after`` harvesters need).

Documents share the record's values (never copied: a record is read from its JSON for each request
and nothing changes it after). A service with several locations became one place each: the first keeps the service id, the
others are exported under a UUID5 of it (``kindmap.ingest.oruk.service_id_for``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from kindmap.ingest.oruk import accessibility_facts, record_values
from kindmap.models import Place, PlaceExtra, PlaceStatus
from kindmap.services.standards.oruk.documents import (
    Ids,
    accessibility_entries,
    place_location,
    place_service,
    service_at_location,
)
from kindmap.taxonomy import categories

# Service fields kindmap has no column for: carried over as they came.
CARRIED = ("accreditations", "minimum_age", "maximum_age", "assured_date", "assurer_email", "alert", "service_areas",
           "languages", "funding", "contacts")
_CHUNK = 500  # ids per IN (...) list


@dataclass(frozen=True)
class Carried:
    """The ORUK record a place was imported from: its service, its service_at_location, the service's export id."""

    service_id: str
    service: dict
    sal: dict

    @property
    def location(self) -> dict:
        return self.sal.get("location") or {}

    @property
    def ids(self) -> Ids:
        return Ids(self.service_id, str(self.location.get("id")), str(self.sal.get("id")))


def _record(extra: PlaceExtra) -> Carried | None:
    try:
        raw = json.loads(extra.data_json)
        service, sal = raw["service"], raw["service_at_location"]
    except (ValueError, KeyError, TypeError):
        return None
    if not (isinstance(service, dict) and isinstance(sal, dict) and service.get("id") and sal.get("id")
            and isinstance(sal.get("location"), dict) and sal["location"].get("id")):
        return None
    return Carried(extra.service_id or str(service["id"]), service, sal)


def carried_for(session: Session, places: Iterable[Place]) -> dict[int, Carried]:
    """The ORUK record behind each of ``places`` that an ORUK import created (place id → record)."""
    mine = {p.id: p for p in places if p.source == "oruk" and p.source_id}
    out: dict[int, Carried] = {}
    ids = list(mine)
    for start in range(0, len(ids), _CHUNK):
        for extra in session.exec(select(PlaceExtra).where(PlaceExtra.source == "oruk",
                                                           PlaceExtra.place_id.in_(ids[start:start + _CHUNK]))).all():
            place = mine[extra.place_id]
            if extra.source_id == place.source_id and extra.region_id == place.region_id:
                record = _record(extra)
                if record is not None:
                    out[place.id] = record
    return out


def _public():
    return select(Place).where(Place.status == PlaceStatus.published, Place.listing == "welcoming")


def place_by_service_id(session: Session, wanted: str) -> tuple[Place, Carried] | None:
    """The published place exported under an ORUK source's service id, with its record."""
    query = _public().join(PlaceExtra, PlaceExtra.place_id == Place.id).where(
        PlaceExtra.source == "oruk", PlaceExtra.service_id == wanted, Place.source == "oruk",
        Place.source_id == PlaceExtra.source_id).order_by(Place.id)
    for place in session.exec(query).all():
        record = carried_for(session, [place]).get(place.id)
        if record is not None and record.service_id == wanted:
            return place, record
    return None


def place_by_sal_id(session: Session, wanted: str) -> tuple[Place, Carried] | None:
    """The published place whose ORUK service_at_location id (its source id) is ``wanted``, with its record."""
    for place in session.exec(_public().where(Place.source == "oruk", Place.source_id == wanted).order_by(Place.id)).all():
        record = carried_for(session, [place]).get(place.id)
        if record is not None:
            return place, record
    return None


def _plain(value: Any) -> Any:
    value = getattr(value, "value", value)
    return value.strip() or None if isinstance(value, str) else value


def _held(place: Place, read: dict[str, Any], *fields: str) -> bool:
    """Whether the place still holds, in each field, what the import read from its record."""
    return all(_plain(getattr(place, f)) == _plain(read.get(f)) for f in fields)


def _read(place: Place, record: Carried) -> dict[str, Any]:
    """What the import read from the record, with the category's assumptions it then added."""
    read = record_values(record.service, record.sal, several=len(record.service.get("service_at_locations") or []) > 1)
    cat = categories().get(place.category)
    for name, assumed in (cat.assume.items() if cat else ()):
        if read.get(name) is None:
            read[name] = assumed
    return read


def _attributes(place: Place, record: Carried, own: list[dict]) -> list[dict]:
    cats = categories()
    read_category = next((t for a in record.service.get("attributes", [])
                          if (t := (a.get("taxonomy_term") or {}).get("term")) in cats), None)
    kept = []
    for attr in record.service.get("attributes", []):
        term = (attr.get("taxonomy_term") or {}).get("term")
        if term == "free" and place.free_to_use is not True:
            continue
        if term is not None and term == read_category and place.category != read_category:
            continue
        kept.append(attr)
    return kept + own


def _accessibility(place: Place, record: Carried, location_id: str) -> list[dict]:
    kept, stated = [], set()
    for entry in record.location.get("accessibility") or []:
        facts = accessibility_facts([entry])
        if all(_plain(getattr(place, k)) == _plain(v) for k, v in facts.items()):
            kept.append(entry)
            stated |= set(facts)
    return kept + [entry for fact, entry in accessibility_entries(place, location_id) if fact not in stated]


def carried_location(place: Place, record: Carried, *, read: dict[str, Any] | None = None) -> dict:
    """The place's ORUK ``location`` as its source gave it, with kindmap's point (see the module)."""
    read = read if read is not None else _read(place, record)
    ids = record.ids
    own = place_location(place, location_id=ids.location)
    src = record.location
    location = {k: v for k, v in src.items() if k not in ("addresses", "accessibility")}
    location.update(id=ids.location, latitude=place.lat, longitude=place.lon)
    location.setdefault("location_type", "physical")
    location.setdefault("name", place.name)
    location["addresses"] = (src["addresses"] if src.get("addresses") and _held(place, read, "address", "postcode")
                             else own["addresses"])
    location["accessibility"] = _accessibility(place, record, ids.location)
    return location


def carried_service(place: Place, record: Carried, *, with_locations: bool = True) -> dict:
    """The place's full ORUK ``service`` as its source gave it, where kindmap still agrees (see the module)."""
    ids, src, read = record.ids, record.service, _read(place, record)
    doc = place_service(place, with_locations=False, ids=ids)  # kindmap's own view, under the source's ids
    for key, field in (("name", "name"), ("description", "description"), ("url", "website"), ("email", "email")):
        if src.get(key) is not None and _held(place, read, field):
            doc[key] = src[key]
    if src.get("status") not in (None, "inactive", "defunct"):
        doc["status"] = src["status"]  # only published places are exported: "active" or "temporarily closed"
    if _held(place, read, "free_to_use"):
        if src.get("cost_options"):
            doc["cost_options"] = src["cost_options"]
        if src.get("fees") is not None:
            doc["fees"] = src["fees"]
    if src.get("schedules") and _held(place, read, "opening_hours"):
        doc["schedules"] = src["schedules"]
    for key in CARRIED:
        if key in src:
            doc[key] = src[key]
    if src.get("phones") and _held(place, read, "phone"):
        doc["phones"] = src["phones"]  # HSDS's phones (the UK profile leaves them out; allowed)
    doc["attributes"] = _attributes(place, record, doc["attributes"])
    org = src.get("organization")
    if isinstance(org, dict) and org.get("id"):
        doc["organization"], doc["organization_id"] = org, org["id"]
    elif src.get("organization_id"):
        doc["organization_id"] = src["organization_id"]
        doc.pop("organization", None)  # kindmap's source organisation would contradict the id
    if with_locations:
        location = carried_location(place, record, read=read)
        sal = {k: v for k, v in record.sal.items() if k != "location"}
        sal.update(id=ids.service_at_location, service_id=ids.service, location_id=ids.location, location=location)
        doc["service_at_locations"] = [sal]
    return doc


# One entry point for every place: a carried record when it has one, else kindmap's own documents.

def service_doc(place: Place, record: Carried | None = None, *, with_locations: bool = True) -> dict:
    """The full ORUK service of a published place."""
    if record is None:
        return place_service(place, with_locations=with_locations)
    return carried_service(place, record, with_locations=with_locations)


def list_item(place: Place, record: Carried | None = None) -> dict:
    """The one-to-one fields of a place's service (a ``/services`` page item)."""
    return {k: v for k, v in service_doc(place, record, with_locations=False).items() if not isinstance(v, list)}


def location_doc(place: Place, record: Carried | None = None) -> dict:
    """A place's ORUK location."""
    return place_location(place) if record is None else carried_location(place, record)


def sal_doc(place: Place, record: Carried | None = None, *, full: bool = True) -> dict:
    """A place's ORUK service_at_location (full, or as a page item)."""
    if record is None:
        return service_at_location(place, full=full)
    location = carried_location(place, record)
    service = service_doc(place, record, with_locations=False) if full else list_item(place, record)
    if not full:
        location = {k: v for k, v in location.items() if not isinstance(v, list)}
    sal = {k: v for k, v in record.sal.items() if k not in ("location", "service")}
    sal.update(id=record.ids.service_at_location, service_id=service["id"], location_id=location["id"],
               location=location, service=service)
    return sal
