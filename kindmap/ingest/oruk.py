"""Read Open Referral UK (HSDS 3.0 UK profile) JSON into place records (file in, checked records out).

Accepts one service, one service_at_location, one organization (with ``services``), a
list of any of these, or a paged API response (``contents``). Everything is validated
against the profile's compiled JSON Schemas first; one invalid document rejects the
file. Each service-at-location becomes one record; what Place cannot hold stays in
the record's ``raw`` (stored in PlaceExtra). A latitude or longitude outside WGS 84 is a row
problem (``OrukRead.problems``), never a record quietly kept off the map. See geodata/oruk_mapping.md.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from kindmap.config import Settings
from kindmap.errors import DataError, KindmapError
from kindmap.hours import check_hours
from kindmap.ingest.limits import ImportLimits, check_file_size, too_many_rows
from kindmap.ingest.postcodes import normalise_postcode
from kindmap.ingest.problems import RowProblem

_DAYS = {"MO": "Mo", "TU": "Tu", "WE": "We", "TH": "Th", "FR": "Fr", "SA": "Sa", "SU": "Su"}
_ORDER = list(_DAYS)


def schema_dir() -> Path:
    """Folder of the ORUK compiled schemas (``<data_dir>/../schemas/openreferral-uk/compiled``)."""
    settings = Settings()
    return Path(settings.data_dir).parent / "schemas" / "openreferral-uk" / "compiled"


@lru_cache
def validator(name: str, folder: str | None = None) -> Draft202012Validator:
    """A Draft 2020-12 validator (with format checks) for a compiled ORUK schema by name."""
    path = Path(folder) if folder else schema_dir()
    try:
        schema = json.loads((path / f"{name}.json").read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError(f"the ORUK schema {name}.json is not readable in {path}: {exc.strerror}") from None
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@dataclass
class OrukRecord:
    """One service at one location, as place fields (lon/lat None → geocode the postcode)."""

    row: int
    source_id: str
    values: dict[str, Any]
    raw: dict[str, Any]
    service_id: str | None = None  # the id its service is re-exported under (see service_id_for)


@dataclass
class OrukRead:
    records: list[OrukRecord] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)  # records refused: nothing is imported unless skipped
    unplaced: list[tuple[str, str, Any, str]] = field(default_factory=list)  # (source_id, name, raw, why)
    services: int = 0
    notes: list[str] = field(default_factory=list)
    hours_converted: int = 0
    hours_not_converted: int = 0


def _kind(doc: dict) -> str:
    if {"taxonomy_terms", "term", "vocabulary", "version", "parent_id", "taxonomy_id"} & set(doc) and "status" not in doc:
        return "taxonomy"  # no compiled schema; holds no places (kindmap's own taxonomy is exported)
    if "location" in doc or "location_id" in doc or "service" in doc:
        return "service_at_location"
    if "services" in doc or "organization_identifiers" in doc or "website" in doc:
        return "organization"
    return "service"  # the usual case; a document missing a service's fields is then reported against it


def _items(data: Any) -> list[tuple[str, Any]]:
    if isinstance(data, dict) and isinstance(data.get("contents"), list):
        return [(f"$.contents[{i}]", d) for i, d in enumerate(data["contents"])]
    if isinstance(data, list):
        return [(f"$[{i}]", d) for i, d in enumerate(data)]
    return [("$", data)]


def _path(base: str, parts) -> str:
    return base + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def validate(data: Any, *, folder: str | None = None) -> list[str]:
    """Every schema problem as 'JSON path: message' (empty when valid)."""
    problems = []
    for base, doc in _items(data):
        if not isinstance(doc, dict):
            problems.append(f"{base}: expected an ORUK object, found {type(doc).__name__}")
            continue
        if _kind(doc) == "taxonomy":
            problems += [f"{base}.{k}: is required" for k in ("id", "name") if not doc.get(k)]
            continue
        for err in sorted(validator(_kind(doc), folder).iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
            problems.append(f"{_path(base, err.absolute_path)}: {err.message}")
    return problems


def schedules_to_osm(schedules: list[dict]) -> str | None:
    """Weekly ORUK schedules (byday + opens_at/closes_at) → OSM opening_hours, or None if any does not map."""
    rules: dict[str, list[str]] = {}
    for s in schedules:
        if s.get("freq") not in (None, "WEEKLY") or s.get("interval") not in (None, 1) or s.get("bymonthday"):
            return None
        days, opens, closes = s.get("byday"), s.get("opens_at"), s.get("closes_at")
        if not (days and opens and closes):
            return None
        codes = [d.strip().upper() for d in days.split(",")]
        if any(c not in _DAYS for c in codes) or not all(re.match(r"^\d{2}:\d{2}(:\d{2})?$", t) for t in (opens, closes)):
            return None
        for code in codes:
            rules.setdefault(code, []).append(f"{opens[:5]}-{closes[:5]}")
    if not rules:
        return None
    text = "; ".join(f"{_DAYS[c]} {','.join(sorted(rules[c]))}" for c in _ORDER if c in rules)
    return text if check_hours(text).valid else None


def accessibility_facts(items: list[dict]) -> dict[str, Any]:
    """Place accessibility fields that the words of ORUK accessibility entries state."""
    out: dict[str, Any] = {}
    text = " ".join(f"{a.get('description', '')} {a.get('details', '')} {a.get('accessibility', '')}" for a in items).lower()
    if re.search(r"\b(induction|hearing) loops?\b", text):
        out["hearing_loop"] = True
    if re.search(r"\bwheelchair (access|accessible)", text) and not re.search(r"\bno(t)? wheelchair", text):
        out["wheelchair"] = "yes"
    if re.search(r"\bstep[- ]free|\blevel access", text):
        out["step_free"] = True
    if re.search(r"\baccessible (toilet|wc)", text):
        out["accessible_toilet"] = True
    return out


def _free(service: dict) -> bool | None:
    amounts = [c.get("amount") for c in service.get("cost_options", []) if c.get("amount") is not None]
    terms = {(a.get("taxonomy_term") or {}).get("term") for a in service.get("attributes", [])}
    if "free" in terms or (amounts and min(amounts) == 0):
        return True
    return False if amounts else None


def _category(service: dict, default: str, known: set[str]) -> str:
    for attr in service.get("attributes", []):
        term = (attr.get("taxonomy_term") or {}).get("term")
        if term in known:
            return term
    return default


def _services(data: Any) -> list[tuple[dict, list[str]]]:
    """Every service in the file, with the JSON path of each of its service_at_locations."""
    out = []
    for base, doc in _items(data):
        kind = _kind(doc)
        if kind == "taxonomy":
            continue
        if kind == "service":
            out.append((doc, [f"{base}.service_at_locations[{i}]" for i in range(len(doc.get("service_at_locations") or []))]))
        elif kind == "service_at_location":
            service = dict(doc.get("service") or {"id": doc["id"], "name": (doc.get("location") or {}).get("name", "")})
            service["service_at_locations"] = [{k: v for k, v in doc.items() if k != "service"}]
            out.append((service, [base]))
        else:
            for j, service in enumerate(doc.get("services", [])):
                paths = [f"{base}.services[{j}].service_at_locations[{i}]"
                         for i in range(len(service.get("service_at_locations") or []))]
                out.append(({**service, "organization": service.get("organization") or
                             {k: v for k, v in doc.items() if k != "services"}}, paths))
    return out


_RANGES = (("latitude", -90, 90, "degrees north of the equator"), ("longitude", -180, 180, "degrees east of Greenwich"))


def coordinate_problems(row: int, path: str, service: dict, location: dict) -> list[RowProblem]:
    """A problem for each of a location's latitude and longitude that is given but not in WGS 84 range.

    A coordinate outside the world is a mistake to fix (the profile's own examples use latitude 100,
    longitude 101 as placeholders), not a place to keep off the map: importing it as if it had none
    would hide the mistake behind a "not on the map" note.
    """
    out = []
    for name, low, high, meaning in _RANGES:
        value = location.get(name)
        if value is None or (isinstance(value, (int, float)) and math.isfinite(value) and low <= value <= high):
            continue
        out.append(RowProblem(row, f"{path}.location.{name}", (
            f"service {service.get('name')!r} (id {service.get('id')}) at location {location.get('name') or ''!r} "
            f"(id {location.get('id')}): {name} {value} is outside {low}..{high}. Give the location's {name} in "
            f"{meaning}, WGS 84 (EPSG:4326) — Oakham is latitude 52.67, longitude -0.73 — or leave out latitude and "
            f"longitude to place it by its UK postcode")))
    return out


def record_values(service: dict, sal: dict, *, several: bool = False) -> dict[str, Any]:
    """The place fields one service at one location gives (category and status aside).

    Also used by the export, to tell whether a place still holds what its ORUK record gave it
    (then the record's own wording is re-exported; see kindmap.services.standards.oruk.carried).
    """
    values: dict[str, Any] = {"name": (service.get("name") or "")[:200], "description": service.get("description") or None,
                              "website": service.get("url"), "email": service.get("email"),
                              "opening_hours": schedules_to_osm(service.get("schedules") or []) if service.get("schedules") else None,
                              "free_to_use": _free(service)}
    phones = [p.get("number") for p in service.get("phones", []) if isinstance(p, dict) and p.get("number")]
    values["phone"] = str(phones[0])[:80] if phones else None
    loc = sal.get("location") or {}
    values.update(accessibility_facts(loc.get("accessibility") or []))
    if several and loc.get("name"):
        values["name"] = f"{values['name']} — {loc['name']}"[:200]
    addresses = [a for a in loc.get("addresses") or [] if a.get("address_type") != "virtual"]
    values["address"] = values["postcode"] = None
    if addresses:
        a = addresses[0]
        values["address"] = ", ".join(p for p in (a.get("address_1"), a.get("city")) if p)[:400] or None
        try:  # only a UK postcode can be geocoded (and fits Place.postcode)
            values["postcode"] = normalise_postcode(a.get("postal_code") or "")
        except KindmapError:
            values["postcode"] = None
    lat, lon = loc.get("latitude"), loc.get("longitude")
    ok = all(isinstance(v, (int, float)) and math.isfinite(v) for v in (lat, lon)) and -90 <= lat <= 90 and -180 <= lon <= 180
    values["lon"], values["lat"] = (lon, lat) if ok else (None, None)
    return values


def service_id_for(service: dict, sal: dict, *, first: bool) -> str:
    """The id a service at one location is re-exported under: the source's service id for its first
    location on the map; a UUID5 of it and the service_at_location id for the others (one place each)."""
    if first:
        return str(service["id"])
    return str(uuid.uuid5(uuid.UUID(str(service["id"])), str(sal.get("id"))))


def read_oruk(path: Path, *, default_category: str = "other", known_categories: set[str] | None = None,
              schema_folder: str | None = None, limits: ImportLimits | None = None) -> OrukRead:
    """Validate and read an ORUK JSON file within ``limits``; ``DataError`` listing JSON paths if schema-invalid.

    JSON is parsed whole (the size check bounds it); its rows are counted twice: the documents
    before the schema check (so a huge list is not validated item by item), then the records
    (services at locations, placed or not) as they are built.
    """
    path = Path(path)
    limits = limits or ImportLimits()
    check_file_size(path, max_mb=limits.max_upload_mb)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path.name} is not UTF-8 JSON: {exc}") from None
    if len(_items(data)) > limits.max_rows:
        raise too_many_rows(path.name, max_rows=limits.max_rows, unit="ORUK documents")
    problems = validate(data, folder=schema_folder)
    if problems:
        shown = "\n".join(problems[:30]) + (f"\n… and {len(problems) - 30} more" if len(problems) > 30 else "")
        raise DataError(f"{path.name} is not valid Open Referral UK (HSDS 3.0 UK profile); nothing was imported:\n{shown}",
                        details=[{"path": p} for p in problems[:200]])
    known = known_categories or {default_category}
    result = OrukRead()
    kinds = [_kind(doc) for _, doc in _items(data)]
    if "taxonomy" in kinds:
        result.notes.append(f"{kinds.count('taxonomy')} taxonomy document(s): they hold no places; nothing to import")
    empty_orgs = sum(1 for (_, d), k in zip(_items(data), kinds) if k == "organization" and not d.get("services"))
    if empty_orgs:
        result.notes.append(f"{empty_orgs} organization(s) without services: nothing to place")
    for number, (service, sal_paths) in enumerate(_services(data), start=1):
        result.services += 1
        if service.get("schedules"):
            converted = schedules_to_osm(service["schedules"]) is not None
            result.hours_converted += converted
            result.hours_not_converted += not converted
        category = _category(service, default_category, known)
        closed = {"status": "closed"} if service.get("status") in ("defunct", "inactive") else {}
        sals = service.get("service_at_locations") or []
        if not sals:
            name = (service.get("name") or "")[:200]
            result.unplaced.append((service["id"], name, service, "no location: a service without a place cannot go on the map"))
            continue
        first = True
        for sal, sal_path in zip(sals, sal_paths):
            loc = sal.get("location") or {}
            source_id = sal.get("id") or f"{service['id']}/{loc.get('id')}"
            values = dict(record_values(service, sal, several=len(sals) > 1), category=category, **closed)
            raw = {"service": service, "service_at_location": sal}
            bad = coordinate_problems(number, sal_path, service, loc)
            if bad:
                result.problems += bad
            elif loc.get("location_type") == "virtual":
                result.unplaced.append((source_id, values["name"], raw, "virtual location: not on the map"))
            elif values["lon"] is None and not values.get("postcode"):
                result.unplaced.append((source_id, values["name"], raw, "no usable location: no coordinates and no UK postcode"))
            else:
                result.records.append(OrukRecord(number, source_id, values, raw,
                                                 service_id=service_id_for(service, sal, first=first)))
                first = False
            _check_records(result, name=path.name, max_rows=limits.max_rows)
    _check_records(result, name=path.name, max_rows=limits.max_rows)  # the last service may have no location
    return result


def _check_records(result: OrukRead, *, name: str, max_rows: int) -> None:
    if len(result.records) + len(result.unplaced) > max_rows:
        raise too_many_rows(name, max_rows=max_rows, unit="services at locations")
