"""The Open Referral UK profile's ``/services`` filters, with one meaning for every kind of service.

The profile (its openapi.json) lists ``search``, ``taxonomy_term_id``, ``taxonomy_id``, ``minimum_age``,
``maximum_age``, ``start_time``, ``end_time`` and ``day`` for ``/services``, and defines ``modified_after``,
``minimal``, ``organization_id`` and ``format`` beside them. Each is read here as the profile words it:

- ``search``: every word appears in the service's name, description or the names of its taxonomy terms;
- ``taxonomy_term_id``: one of its attributes has that term; ``taxonomy_id``: one of its terms is in that taxonomy;
- ``minimum_age``: its minimum age is at least the value; ``maximum_age``: its maximum age is at most the
  value (a service without a recorded age limit has none to compare, so it is left out);
- ``day`` (MO…SU), ``start_time``, ``end_time``: one weekly schedule is on that day, opens at or after
  start_time and closes at or before end_time (all given ones hold for the same schedule);
- ``modified_after``: last modified at or after that instant; ``organization_id``: provided by that organisation.

Places are judged from their own fields (no document is built for a place that does not match, so a
filter costs one pass over the published places); opportunities and support services from their documents.
``format=ndjson`` is not offered (a 400 says so), since every page is bounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timezone
from functools import lru_cache

from kindmap.errors import InvalidQuery
from kindmap.models import Place
from kindmap.services.standards.oruk.documents import (
    ATTRIBUTE_TAXONOMY,
    TAXONOMY_NAME,
    osm_to_schedules,
    stable_id,
    term_id,
)
from kindmap.taxonomy import categories

DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_WORDS = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class ServiceFilter:
    """The parsed filters of one ``/services`` request (None: not given)."""

    words: tuple[str, ...] = ()
    taxonomy_term_id: str | None = None
    taxonomy_id: str | None = None
    minimum_age: float | None = None
    maximum_age: float | None = None
    day: str | None = None
    start_time: time | None = None
    end_time: time | None = None
    modified_after: datetime | None = None
    organization_id: str | None = None

    @property
    def empty(self) -> bool:
        return self == ServiceFilter()


@dataclass
class Facts:
    """What the filters look at, for one service."""

    text: str
    term_ids: set[str]
    taxonomy_ids: set[str]
    organization_id: str
    modified: datetime | None
    minimum_age: float | None = None
    maximum_age: float | None = None
    schedules: list[tuple[frozenset[str], time | None, time | None]] = field(default_factory=list)


def _time(name: str, text: str | None) -> time | None:
    if text is None:
        return None
    try:
        return time.fromisoformat(text.strip())
    except ValueError:
        raise InvalidQuery(f"{name} must be a time of day such as 09:30 or 09:30:00, not {text!r}") from None


def parse(*, search: str | None = None, taxonomy_term_id: str | None = None, taxonomy_id: str | None = None,
          minimum_age: float | None = None, maximum_age: float | None = None, day: str | None = None,
          start_time: str | None = None, end_time: str | None = None, modified_after: str | None = None,
          organization_id: str | None = None, output_format: str | None = None) -> ServiceFilter:
    """The filters from the query's texts; a 4xx saying what to fix for a malformed one."""
    if output_format is not None and output_format.lower() != "json":
        raise InvalidQuery(f"format={output_format!r} is not offered: results are JSON pages (format=json); "
                           "follow the pages to read every service")
    if day is not None and day.strip().upper() not in DAYS:
        raise InvalidQuery(f"day must be one of {', '.join(DAYS)} (iCal day codes), not {day!r}")
    after = None
    if modified_after is not None:
        try:
            after = datetime.fromisoformat(modified_after.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidQuery("modified_after must be an RFC 3339 date-time such as 2024-01-01T00:00:00Z") from None
        after = after if after.tzinfo else after.replace(tzinfo=timezone.utc)
    for name, value in (("minimum_age", minimum_age), ("maximum_age", maximum_age)):
        if value is not None and not 0 <= value <= 150:
            raise InvalidQuery(f"{name} is an age in years from 0 to 150")
    return ServiceFilter(
        words=tuple(w.casefold() for w in _WORDS.findall(search or "")),
        taxonomy_term_id=(taxonomy_term_id or "").strip().lower() or None,
        taxonomy_id=(taxonomy_id or "").strip().lower() or None,
        minimum_age=minimum_age, maximum_age=maximum_age, day=day.strip().upper() if day else None,
        start_time=_time("start_time", start_time), end_time=_time("end_time", end_time), modified_after=after,
        organization_id=(organization_id or "").strip().lower() or None)


def matches(facts: Facts, f: ServiceFilter) -> bool:
    """Whether one service passes every given filter."""
    if f.words and not all(w in facts.text for w in f.words):
        return False
    if f.taxonomy_term_id and f.taxonomy_term_id not in facts.term_ids:
        return False
    if f.taxonomy_id and f.taxonomy_id not in facts.taxonomy_ids:
        return False
    if f.organization_id and f.organization_id != facts.organization_id:
        return False
    if f.modified_after and (facts.modified is None or facts.modified < f.modified_after):
        return False
    if f.minimum_age is not None and (facts.minimum_age is None or facts.minimum_age < f.minimum_age):
        return False
    if f.maximum_age is not None and (facts.maximum_age is None or facts.maximum_age > f.maximum_age):
        return False
    if f.day or f.start_time or f.end_time:
        return any((not f.day or f.day in days) and (not f.start_time or (opens is not None and opens >= f.start_time))
                   and (not f.end_time or (closes is not None and closes <= f.end_time))
                   for days, opens, closes in facts.schedules)
    return True


def _taxonomy_id(name: str) -> str:
    return stable_id("taxonomy", name)  # as kindmap.services.standards.oruk.taxonomy.taxonomy_id


def _clock(text: str | None) -> time | None:
    try:
        return time.fromisoformat(text) if text else None
    except ValueError:
        return None


def _schedule_facts(schedules: list[dict]) -> list[tuple[frozenset[str], time | None, time | None]]:
    out = []
    for s in schedules:
        days = frozenset(d.strip()[-2:] for d in (s.get("byday") or "").split(",") if d.strip())
        if days:
            out.append((days, _clock(s.get("opens_at")), _clock(s.get("closes_at"))))
    return out


@lru_cache(maxsize=4096)
def _hours_facts(hours: str | None) -> tuple:
    """Weekly schedules of an OSM opening_hours string, once per distinct string."""
    schedules, _raw = osm_to_schedules(hours, link_key="filter", service_id="filter")
    return tuple(_schedule_facts(schedules))


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def place_facts(place: Place, *, ages: tuple[float | None, float | None] = (None, None)) -> Facts:
    """The filters' view of a place, from its fields (as ``documents.place_service`` would write it)."""
    cat = categories().get(place.category)
    label = cat.label if cat else place.category
    terms = [(place.category, label, TAXONOMY_NAME)]
    if place.free_to_use:
        terms.append(("free", "Free to use", ATTRIBUTE_TAXONOMY))
    if place.drop_in:
        terms.append(("drop_in", "Drop in, no referral needed", ATTRIBUTE_TAXONOMY))
    description = place.description or f"{label if cat else 'Welcoming place'} — everyone welcome."
    text = " ".join([place.name, description, *(t[1] for t in terms)]).casefold()
    return Facts(text=text, term_ids={term_id(slug) for slug, _l, _t in terms},
                 taxonomy_ids={_taxonomy_id(t) for _s, _l, t in terms},
                 organization_id=stable_id("organization", place.source), modified=_aware(place.updated_at),
                 minimum_age=ages[0], maximum_age=ages[1], schedules=list(_hours_facts(place.opening_hours)))


def document_facts(doc: dict) -> Facts:
    """The filters' view of a service document (opportunities, support services, places imported from ORUK)."""
    terms = [a.get("taxonomy_term") or {} for a in doc.get("attributes", [])]
    text = " ".join([doc.get("name", ""), doc.get("description", ""), *(t.get("name", "") for t in terms)]).casefold()
    modified = doc.get("last_modified")
    return Facts(text=text, term_ids={a.get("taxonomy_term_id") or t.get("id") for a, t in zip(doc.get("attributes", []), terms)},
                 taxonomy_ids={_taxonomy_id(t["taxonomy"]) for t in terms if t.get("taxonomy")},
                 organization_id=doc.get("organization_id", ""),
                 modified=datetime.fromisoformat(modified) if modified else None,
                 minimum_age=doc.get("minimum_age"), maximum_age=doc.get("maximum_age"),
                 schedules=_schedule_facts(doc.get("schedules", [])))
