"""Anonymised counts of "places where links grow", for councils.

A place where links grow is a place with at least one community link recorded as
"enjoyed" or "going regularly" (directly, or through an opportunity held there).
Counts are aggregated on fixed geographies only — the region's small areas (by the
place's location, EPSG:4326 point in polygon) and place categories — and a cell whose
number of distinct households is below ``THRESHOLD`` is suppressed (every count null).
When exactly one non-empty cell of a table would be suppressed, the next smallest is
suppressed too, so the region total cannot reveal it by subtraction. No household id,
location or date leaves this module.
"""

from __future__ import annotations

import json
from collections import defaultdict

from pydantic import BaseModel, Field
from shapely.geometry import Point, shape
from shapely.strtree import STRtree
from sqlmodel import Session, select

from kindmap.errors import NotFound
from kindmap.models import Area, Place, Region
from kindmap.models.activities import Opportunity
from kindmap.models.households import LinkLog, Outcome
from kindmap.taxonomy import categories

THRESHOLD = 10
GROWING = (Outcome.enjoyed, Outcome.regular)
DEFINITION = ("Places with at least one community link recorded as 'enjoyed' or 'going regularly'. "
              f"Cells with fewer than {THRESHOLD} distinct households are suppressed (null).")


class CountCell(BaseModel):
    key: str = Field(description="Small-area code or category slug.")
    name: str
    places: int | None = Field(description="Places where links grow; null when suppressed.")
    households: int | None = Field(description="Distinct households with such links; null when suppressed.")
    links: int | None = Field(description="'Enjoyed' or 'going regularly' links; null when suppressed.")
    suppressed: bool


class LinkCounts(BaseModel):
    region: str
    geography: str = Field(description="The fixed small-area system, e.g. 'LSOA 2011'.")
    threshold: int
    definition: str
    total: CountCell
    by_area: list[CountCell]
    by_category: list[CountCell]


def _cells(groups: dict[str, list[tuple[int, int]]], names: dict[str, str]) -> list[CountCell]:
    """One cell per key of ``names``, from (place_id, household_id) link pairs; small cells suppressed."""
    cells = []
    for key, name in names.items():
        pairs = groups.get(key, [])
        households = len({h for _p, h in pairs})
        cells.append(CountCell(key=key, name=name, places=len({p for p, _h in pairs}), households=households,
                               links=len(pairs), suppressed=0 < households < THRESHOLD))
    hidden = [c for c in cells if c.suppressed]
    if len(hidden) == 1:  # complementary suppression: the total minus the rest would give it away
        shown = sorted((c for c in cells if not c.suppressed and c.households), key=lambda c: (c.households, c.key))
        if shown:
            shown[0].suppressed = True
    for c in cells:
        if c.suppressed:
            c.places = c.households = c.links = None
    return cells


def link_counts(session: Session, *, region: str) -> LinkCounts:
    """Suppressed counts of places where links grow in ``region``, per small area and per category."""
    row = session.exec(select(Region).where(Region.slug == region)).first()
    if row is None:
        known = ", ".join(session.exec(select(Region.slug).order_by(Region.slug)).all()) or "none yet"
        raise NotFound(f"region: no region {region!r} (loaded: {known})")
    areas = session.exec(select(Area).where(Area.region_id == row.id).order_by(Area.code)).all()
    geoms = [shape(json.loads(a.geometry_geojson)) for a in areas]
    tree = STRtree(geoms) if geoms else None
    links = session.exec(
        select(LinkLog.household_id, LinkLog.place_id, Opportunity.place_id)
        .join(Opportunity, Opportunity.id == LinkLog.opportunity_id, isouter=True)
        .where(LinkLog.outcome.in_([o.value for o in GROWING]))
    ).all()
    pairs = [(direct or via, household) for household, direct, via in links if (direct or via) is not None]
    place_ids = sorted({p for p, _h in pairs})
    places = {p.id: p for p in session.exec(select(Place).where(Place.id.in_(place_ids), Place.region_id == row.id)).all()} \
        if place_ids else {}
    by_area: dict[str, list[tuple[int, int]]] = defaultdict(list)
    by_category: dict[str, list[tuple[int, int]]] = defaultdict(list)
    total: list[tuple[int, int]] = []
    area_of: dict[int, str | None] = {}
    for place_id, household in pairs:
        place = places.get(place_id)
        if place is None:
            continue  # another region's place
        if place_id not in area_of:
            point = Point(place.lon, place.lat)
            hits = [int(i) for i in tree.query(point, predicate="intersects")] if tree is not None else []
            area_of[place_id] = areas[min(hits)].code if hits else None
        total.append((place_id, household))
        by_category[place.category].append((place_id, household))
        if area_of[place_id] is not None:
            by_area[area_of[place_id]].append((place_id, household))
    labels = {slug: c.label for slug, c in categories().items()}
    [whole] = _cells({"all": total}, {"all": row.name})
    return LinkCounts(region=row.slug, geography=areas[0].kind if areas else "none loaded", threshold=THRESHOLD,
                      definition=DEFINITION, total=whole,
                      by_area=_cells(by_area, {a.code: a.name for a in areas}),
                      by_category=_cells(by_category, labels))
