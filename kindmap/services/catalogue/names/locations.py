"""Towns, villages and (partial) postcodes a query may name, as locations."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from sqlalchemy import func
from sqlmodel import Session, select

from kindmap.models import Postcode
from kindmap.services.catalogue.names.postings import NameIndex
from kindmap.services.catalogue.names.text import SETTLEMENTS, fold

_DISTRICT = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)$")
_SECTOR = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9])$")
_FULL = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})$")


@dataclass(frozen=True)
class Location:
    """Where a query points when it names a town or a (partial) postcode; EPSG:4326."""

    name: str
    kind: str  # postcode, postcode_sector, postcode_district, or OSM place=* (town, village…)
    lon: float
    lat: float
    postcodes: int | None = None  # how many postcode centroids a district or sector averages

def _postcode_shapes(text: str) -> list[tuple[str, str]]:
    """The readings of ``text`` as (part of) a UK postcode: ('postcode'|'district'|'sector', normalised).

    'LE15' is district LE15 or sector LE1 5; both are returned, district first.
    """
    compact = re.sub(r"\s+", " ", (text or "").strip().upper())
    out = []
    if m := _FULL.match(compact):
        out.append(("postcode", f"{m.group(1)} {m.group(2)}"))
    if m := _DISTRICT.match(compact):
        out.append(("district", m.group(1)))
    if m := _SECTOR.match(compact):
        out.append(("sector", f"{m.group(1)} {m.group(2)}"))
    return out


def locate_postcode_area(session: Session, text: str) -> Location | None:
    """A full postcode, or the mean centroid of a district ('LE15') or sector ('LE15 6'); None if unknown."""
    for kind, code in _postcode_shapes(text):
        if kind == "postcode":
            row = session.get(Postcode, code)
            if row is not None:
                return Location(code, "postcode", row.lon, row.lat, 1)
            continue
        pattern = f"{code} %" if kind == "district" else f"{code}%"
        count, lon, lat = session.exec(select(func.count(), func.avg(Postcode.lon), func.avg(Postcode.lat))
                                       .where(Postcode.postcode.like(pattern))).one()
        if count:
            return Location(code, f"postcode_{kind}", float(lon), float(lat), int(count))
    return None


def locate_localities(names: NameIndex, text: str, *, limit: int = 5) -> list[Location]:
    """Towns, villages and neighbourhoods whose name (or other name) matches ``text``, best first."""
    phrase = fold(text)
    if not phrase or not names.localities:
        return []
    owners = names.locality_owners
    found = process.extract(phrase, names.locality_choices, scorer=fuzz.ratio, score_cutoff=85, limit=limit * 3)
    order = {k: rank for rank, k in enumerate(SETTLEMENTS)}
    best: dict[int, float] = {}
    for _choice, score, k in found:
        best[owners[k]] = max(best.get(owners[k], 0.0), score)
    ranked = sorted(best.items(), key=lambda t: (-t[1], order.get(names.localities[t[0]].kind, 99), t[0]))
    return [Location(names.localities[i].name, names.localities[i].kind, names.localities[i].lon, names.localities[i].lat)
            for i, _ in ranked[:limit]]


def locate(session: Session, names: NameIndex, text: str) -> list[Location]:
    """Locations a query may mean: a (partial) postcode first, else matching towns and villages."""
    area = locate_postcode_area(session, text)
    if area is not None:
        return [area]
    return locate_localities(names, text)
