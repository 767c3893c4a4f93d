"""Anonymised counts of "places where links grow", for councils, with disclosure control.

A link grows when it is recorded as "enjoyed" or "going regularly" (at a place, or at an
opportunity held there). Counts are published on fixed geographies only — every small area of
the region (by the place's location, EPSG:4326 point in polygon) and every taxonomy category —
so a cell's presence in the answer says nothing. Two attacks shape the rules:

* **Presence.** A cell with 1–9 households must look exactly like one with none, or an analyst
  learns where someone has links. Every cell that is not published — empty or small — is the same
  ``{"places": null, "households": null, "links": null, "suppressed": true}``.
* **Padding.** A scheme worker (or a carer) can add households and links of their own to a cell,
  unlock it and subtract their own to get the real households' exact count. So a cell is
  published only when all of these hold:

  1. *Minimum age*: a link counts only once it was recorded (server time, not its ``on`` date)
     at least ``min_age_days`` ago (28 by default), so a fresh batch cannot be tested at once.
  2. *Threshold net of any one account*: every household is attributed to the accounts behind it
     in that cell — its carers, whoever created it, and whoever recorded its counted links. The
     cell needs ``THRESHOLD`` (10) households *after removing every household of its largest
     account*. Padding by one account is all attributed to that account, so it never counts
     towards the threshold: a cell with fewer than 10 real households stays closed whatever one
     account adds, and an exact count below 10 cannot be reached by subtraction.
  3. *Distinct carers*: the households have at least ``min_carers`` (3) distinct carers.

  Published households and links are rounded to a multiple of ``rounding`` (5), so adding or
  removing one household changes nothing at most counts, and where it does the count shown is at
  least 10. ``places`` counts the cell's places that pass the same rules on their own (each is a
  publishable fact), so one new link cannot reveal whether anyone else goes to a place.

Totals: when exactly one cell of a table is withheld while the region total is published, the
smallest published cell is withheld too, so the total minus the rest cannot approximate it.

Residual risk (documented, not closed): the publish decision is an oracle for the accounts'
mix. An account padding a cell whose real households are 10 or more but dominated by one other
account can learn how many of them that other account is not behind. It never reveals a cell's
presence or the count of a cell with fewer than 10 real households, and each probe takes
``min_age_days``. No household id, location or date leaves this module.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from shapely.geometry import Point, shape
from shapely.strtree import STRtree
from sqlmodel import Session, select

from kindmap.errors import NotFound
from kindmap.models import Area, Place, Region
from kindmap.models.activities import Opportunity
from kindmap.models.common import utcnow
from kindmap.models.households import Household, HouseholdCarer, LinkLog, Outcome
from kindmap.services.accounts.auth import as_utc
from kindmap.taxonomy import categories

THRESHOLD = 10  # a floor, not a setting: the project publishes no count of fewer than 10 households
GROWING = (Outcome.enjoyed, Outcome.regular)
Record = tuple[int, int, int | None]  # (place_id, household_id, recorder) of one counted link


class CountCell(BaseModel):
    key: str = Field(description="Small-area code or category slug.")
    name: str
    places: int | None = Field(description="Places in the cell that pass the rules on their own; null when withheld.")
    households: int | None = Field(description="Distinct households with growing links, rounded; null when withheld.")
    links: int | None = Field(description="'Enjoyed' or 'going regularly' links, rounded; null when withheld.")
    suppressed: bool = Field(description="Withheld: fewer than 10 households (or none), or another rule failed.")


class LinkCounts(BaseModel):
    region: str
    geography: str = Field(description="The fixed small-area system, e.g. 'LSOA 2011'.")
    threshold: int
    rounding: int = Field(description="Published counts are multiples of this.")
    min_age_days: int = Field(description="Links count only once recorded at least this many days ago.")
    definition: str
    total: CountCell
    by_area: list[CountCell]
    by_category: list[CountCell]


class _Accounts:
    """Who is behind each household: its carers and creator (recorders come with each link)."""

    def __init__(self, session: Session) -> None:
        growing = select(LinkLog.household_id).where(LinkLog.outcome.in_([o.value for o in GROWING]))
        self.carers: dict[int, set[int]] = defaultdict(set)
        for household, user in session.exec(select(HouseholdCarer.household_id, HouseholdCarer.user_id)
                                            .where(HouseholdCarer.household_id.in_(growing))).all():
            self.carers[household].add(user)
        self.creator = dict(session.exec(select(Household.id, Household.created_by).where(Household.id.in_(growing))).all())

    def passes(self, records: Iterable[Record], *, min_carers: int) -> bool:
        """Rules 2 and 3 of the module docstring for one cell's counted links."""
        behind: dict[int, set[int]] = defaultdict(set)  # account -> households it is behind in this cell
        households, carers = set(), set()
        for _place, household, recorder in records:
            households.add(household)
            carers |= self.carers[household]
            for account in self.carers[household] | {self.creator.get(household), recorder}:
                if account is not None:
                    behind[account].add(household)
        largest = max((len(h) for h in behind.values()), default=0)
        return len(households) - largest >= THRESHOLD and len(carers) >= min_carers


def _round(n: int, base: int) -> int:
    return base * ((n + base // 2) // base)


def _cells(groups: dict[str, list[Record]], names: dict[str, str], *, publishable, place_passes,
           rounding: int) -> list[CountCell]:
    """One cell per key of ``names`` in that order; withheld cells all look alike."""
    cells = []
    for key, name in names.items():
        records = groups.get(key, [])
        shown = bool(records) and publishable(records)
        cells.append(CountCell(key=key, name=name, suppressed=not shown,
                               places=sum(place_passes(p) for p in {p for p, _h, _r in records}) if shown else None,
                               households=_round(len({h for _p, h, _r in records}), rounding) if shown else None,
                               links=_round(len(records), rounding) if shown else None))
    return cells


def _complement(cells: list[CountCell], total: CountCell) -> None:
    """Withhold the smallest published cell when exactly one is withheld and the total is published."""
    withheld = [c for c in cells if c.suppressed]
    shown = sorted((c for c in cells if not c.suppressed), key=lambda c: (c.households, c.key))
    if len(withheld) == 1 and shown and not total.suppressed:
        shown[0].suppressed = True
        shown[0].places = shown[0].households = shown[0].links = None


def link_counts(session: Session, *, region: str, now: datetime | None = None, min_age_days: int = 28,
                min_carers: int = 3, rounding: int = 5) -> LinkCounts:
    """Disclosure-controlled counts of places where links grow in ``region``, per small area and per category."""
    row = session.exec(select(Region).where(Region.slug == region)).first()
    if row is None:
        known = ", ".join(session.exec(select(Region.slug).order_by(Region.slug)).all()) or "none yet"
        raise NotFound(f"region: no region {region!r} (loaded: {known})")
    areas = session.exec(select(Area).where(Area.region_id == row.id).order_by(Area.code)).all()
    geoms = [shape(json.loads(a.geometry_geojson)) for a in areas]
    tree = STRtree(geoms) if geoms else None
    cutoff = (now or utcnow()) - timedelta(days=min_age_days)
    links = session.exec(
        select(LinkLog.household_id, LinkLog.place_id, Opportunity.place_id, LinkLog.created_by, LinkLog.created_at)
        .join(Opportunity, Opportunity.id == LinkLog.opportunity_id, isouter=True)
        .where(LinkLog.outcome.in_([o.value for o in GROWING]))
    ).all()
    records = [(direct or via, household, recorder) for household, direct, via, recorder, at in links
               if (direct or via) is not None and as_utc(at) <= cutoff]
    place_ids = sorted({p for p, _h, _r in records})
    places = {p.id: p for p in session.exec(select(Place).where(Place.id.in_(place_ids), Place.region_id == row.id)).all()} \
        if place_ids else {}
    by_area: dict[str, list[Record]] = defaultdict(list)
    by_category: dict[str, list[Record]] = defaultdict(list)
    by_place: dict[int, list[Record]] = defaultdict(list)
    area_of: dict[int, str | None] = {}
    for record in records:
        place = places.get(record[0])
        if place is None:
            continue  # another region's place
        if place.id not in area_of:
            point = Point(place.lon, place.lat)
            hits = [int(i) for i in tree.query(point, predicate="intersects")] if tree is not None else []
            area_of[place.id] = areas[min(hits)].code if hits else None
        by_place[place.id].append(record)
        by_category[place.category].append(record)
        if area_of[place.id] is not None:
            by_area[area_of[place.id]].append(record)
    accounts = _Accounts(session)
    verdicts: dict[int, bool] = {}

    def publishable(cell_records: list[Record]) -> bool:
        return accounts.passes(cell_records, min_carers=min_carers)

    def place_passes(place_id: int) -> bool:
        if place_id not in verdicts:
            verdicts[place_id] = publishable(by_place[place_id])
        return verdicts[place_id]

    options = {"publishable": publishable, "place_passes": place_passes, "rounding": rounding}
    [total] = _cells({"all": [r for rs in by_place.values() for r in rs]}, {"all": row.name}, **options)
    tables = {"by_area": _cells(by_area, {a.code: a.name for a in areas}, **options),
              "by_category": _cells(by_category, {slug: c.label for slug, c in categories().items()}, **options)}
    for cells in tables.values():
        _complement(cells, total)
    definition = ("Places with community links recorded as 'enjoyed' or 'going regularly', counted once the link is "
                  f"{min_age_days} days old. A cell is published only with at least {THRESHOLD} households besides those "
                  f"of any single account (carer, creator or recorder) and households of at least {min_carers} carers; "
                  f"published counts are rounded to a multiple of {rounding}. Every other cell — fewer than "
                  f"{THRESHOLD} households, including none — is withheld (null) and looks the same.")
    return LinkCounts(region=row.slug, geography=areas[0].kind if areas else "none loaded", threshold=THRESHOLD,
                      rounding=rounding, min_age_days=min_age_days, definition=definition, total=total, **tables)
