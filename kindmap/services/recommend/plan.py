"""A household's community-links plan: the places, activities and support its carers chose.

The printable page shows walk times as bands (paper gets left on tables) and a small
sketch map of the plan's places relative to each other: no home marker and no
coordinates in the page, only pixel positions inside a box (see ``sketch_map``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from sqlmodel import Session, SQLModel, delete, select

from kindmap.config import Settings
from kindmap.errors import Conflict, InvalidQuery, NotFound
from kindmap.hours import to_local_naive
from kindmap.models import Place
from kindmap.models.accounts import User
from kindmap.models.activities import Opportunity, SupportService
from kindmap.models.common import utcnow
from kindmap.models.households import MAX_NOTE_CHARS, PersonChoice, PlanItem
from kindmap.schemas import UtcDateTime
from kindmap.services.catalogue import activities as acts
from kindmap.services.households.audit import record
from kindmap.services.households.records import visible_household
from kindmap.services.recommend.recommendations import (
    walk_band,
    walk_minutes_to,
    when_words,
)
from kindmap.taxonomy import categories

MAX_PLAN_ITEMS = 30
MAX_ID = 2**63 - 1  # 64-bit database ids


class PlanItemCreate(SQLModel):
    """One of place_id, opportunity_id or support_id (checked after the household is found, so a hidden one is 404)."""

    place_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    opportunity_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    support_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    note: str | None = Field(default=None, max_length=MAX_NOTE_CHARS)


class PlanItemPublic(BaseModel):
    id: int
    household_id: int
    kind: Literal["place", "opportunity", "support"]
    target_id: int
    name: str
    note: str | None
    added_at: UtcDateTime


def _target(session: Session, item: PlanItem) -> tuple[str, int, object | None]:
    if item.place_id is not None:
        return "place", item.place_id, session.get(Place, item.place_id)
    if item.opportunity_id is not None:
        return "opportunity", item.opportunity_id, session.get(Opportunity, item.opportunity_id)
    return "support", item.support_id, session.get(SupportService, item.support_id)


def _name(row) -> str:
    return getattr(row, "name", None) or getattr(row, "title", None) or "(no longer listed)"


def _public(session: Session, item: PlanItem) -> PlanItemPublic:
    kind, target_id, row = _target(session, item)
    return PlanItemPublic(id=item.id, household_id=item.household_id, kind=kind, target_id=target_id,
                          name=_name(row), note=item.note, added_at=item.added_at)


def _rows(session: Session, household_id: int) -> list[PlanItem]:
    """The plan in its carers' order (items never moved keep the order they were added in)."""
    rows = session.exec(select(PlanItem).where(PlanItem.household_id == household_id).order_by(PlanItem.id)).all()
    return sorted(rows, key=lambda r: (r.position if r.position is not None else r.id, r.id))


def list_plan(session: Session, user: User, household_id: int, *, now: datetime | None = None) -> list[PlanItemPublic]:
    """The household's plan, in the order items were added (audited: it lists places near the home)."""
    visible_household(session, user, household_id)
    record(session, user=user, household_id=household_id, action="read_location", detail="plan", now=now)
    return [_public(session, item) for item in _rows(session, household_id)]


def add_to_plan(session: Session, user: User, household_id: int, data: PlanItemCreate, *,
                now: datetime | None = None) -> PlanItemPublic:
    """Save one place, opportunity or support service into the plan (409 if it is there already)."""
    visible_household(session, user, household_id)
    given = {k: v for k, v in (("place_id", data.place_id), ("opportunity_id", data.opportunity_id),
                               ("support_id", data.support_id)) if v is not None}
    if len(given) != 1:
        raise InvalidQuery("give exactly one of place_id, opportunity_id or support_id")
    (field, value), = given.items()
    table = {"place_id": Place, "opportunity_id": Opportunity, "support_id": SupportService}[field]
    row = session.get(table, value)
    status = getattr(row, "status", None)
    if row is None or getattr(status, "value", status) != "published":
        raise InvalidQuery(f"{field}: no published item with id {value}")
    existing = _rows(session, household_id)
    if any(getattr(item, field) == value for item in existing):
        raise Conflict(f"{field}: it is already in the plan")
    if len(existing) >= MAX_PLAN_ITEMS:
        raise InvalidQuery(f"a plan holds at most {MAX_PLAN_ITEMS} items; remove one first")
    last = max((r.position if r.position is not None else r.id for r in existing), default=0)
    item = PlanItem(household_id=household_id, note=data.note, added_by=user.id, added_at=now or utcnow(),
                    position=last + 1, **given)
    session.add(item)
    session.flush()
    record(session, user=user, household_id=household_id, action="update", detail="plan add", now=now)
    return _public(session, item)


def remove_from_plan(session: Session, user: User, household_id: int, item_id: int | None, *,
                     now: datetime | None = None) -> None:
    """Remove one item from the plan."""
    visible_household(session, user, household_id)
    if item_id is None:
        raise InvalidQuery("item_id: give the id of the plan item to remove")
    item = session.get(PlanItem, item_id)
    if item is None or item.household_id != household_id:
        raise NotFound("plan item not found")
    session.exec(delete(PersonChoice).where(PersonChoice.plan_item_id == item.id))  # what the person said about it
    session.delete(item)
    record(session, user=user, household_id=household_id, action="update", detail="plan remove", now=now)


class PlanItemChange(SQLModel):
    """A change to one plan item: its note, and/or a move one place up or down the plan."""

    note: str | None = Field(default=None, max_length=MAX_NOTE_CHARS)
    move: Literal["up", "down"] | None = None


def change_item(session: Session, user: User, household_id: int, item_id: int | None, data: PlanItemChange, *,
                now: datetime | None = None) -> list[PlanItemPublic]:
    """Change one item's note (an empty note clears it) or move it; the plan as it is now."""
    visible_household(session, user, household_id)
    if item_id is None:
        raise InvalidQuery("item_id: give the id of the plan item to change")
    rows = _rows(session, household_id)
    at = next((k for k, r in enumerate(rows) if r.id == item_id), None)
    if at is None:
        raise NotFound("plan item not found")
    changes = data.model_dump(exclude_unset=True)
    if "note" in changes:
        rows[at].note = (data.note or "").strip() or None
    if data.move is not None:
        other = at - 1 if data.move == "up" else at + 1
        if 0 <= other < len(rows):
            rows[at], rows[other] = rows[other], rows[at]
    for position, row in enumerate(rows, start=1):  # renumbered whole, so the order is always one sequence
        row.position = position
        session.add(row)
    record(session, user=user, household_id=household_id, action="update", detail="plan change", now=now)
    session.flush()
    return [_public(session, item) for item in rows]


# --------------------------------------------------------------------------- the printable page


@dataclass
class PrintItem:
    number: int
    kind: str
    name: str
    category: str | None
    what: str
    walk: str | None
    when: str | None
    address: str | None
    phone: str | None
    website: str | None
    note: str | None
    lon: float | None
    lat: float | None
    category_slug: str | None = None
    item_id: int | None = None


def _next(row, kind: str, local_now: datetime) -> str | None:
    if kind != "opportunity":
        return None
    start = acts.next_on(row, local_now)
    if start is None:
        return None
    end = next((e for s, e in acts.occurrences(row, start, start.replace(hour=23, minute=59)) if s == start), None)
    return when_words(start, end)


def _print_items(session: Session, household_id: int, local_now: datetime) -> list[PrintItem]:
    labels = {slug: c.label for slug, c in categories().items()}
    items = []
    for number, item in enumerate(_rows(session, household_id), start=1):
        kind, _id, row = _target(session, item)
        place = row if kind == "place" else (session.get(Place, row.place_id) if row is not None and row.place_id else None)
        lon = getattr(row, "lon", None) if row is not None else None
        lat = getattr(row, "lat", None) if row is not None else None
        if lon is None and place is not None:
            lon, lat = place.lon, place.lat
        category = place.category if place is not None else None
        items.append(PrintItem(
            number=number, kind=kind, name=_name(row), category=labels.get(category) or category,
            what=(getattr(row, "description", None) or "") if kind != "place" else (labels.get(category) or ""),
            walk=None, when=_next(row, kind, local_now) if row is not None else None,
            address=place.address if place is not None else None, phone=getattr(row, "phone", None),
            website=getattr(row, "website", None), note=item.note, lon=lon, lat=lat, category_slug=category,
            item_id=item.id))
    return items


def printable(session: Session, settings: Settings, user: User, household_id: int, *,
              now: datetime | None = None) -> tuple[str, list[PrintItem]]:
    """(label, items) for the one-page plan; walk times in bands (audited as a location read)."""
    household = visible_household(session, user, household_id)
    record(session, user=user, household_id=household_id, action="read_location", detail="printable plan", now=now)
    local_now = to_local_naive(now or datetime.now().astimezone(), tz=settings.timezone)
    items = _print_items(session, household_id, local_now)
    located = [i for i in items if i.lon is not None]
    if located:
        minutes = walk_minutes_to(session, settings, household, [(i.lon, i.lat) for i in located])
        for i, m in zip(located, minutes):
            i.walk = f"{walk_band(m)[0]} walk" if m is not None else "more than 2 hours' walk"
    return household.label, items


def person_items(session: Session, settings: Settings, household, *, now: datetime | None = None) -> list[PrintItem]:
    """The plan for the person's own "My places" page: places, times, phone and notes; no walk times
    (they are measured from the home) and no coordinates."""
    local_now = to_local_naive(now or datetime.now().astimezone(), tz=settings.timezone)
    items = _print_items(session, household.id, local_now)
    for item in items:
        item.lon = item.lat = None
    return items


@dataclass
class MapDot:
    label: str
    x: int
    y: int


def sketch_map(items: list[PrintItem], *, width: int = 600, height: int = 300, pad: int = 30,
               streets=None) -> list[MapDot] | tuple[list[MapDot], str]:
    """Pixel positions of the plan's places relative to each other (north up, equal scale); no home, no coordinates.

    Items at the same spot (an activity at a saved place) share one dot labelled with both numbers.
    With ``streets`` (a ``WalkNetwork``), also an SVG path of the region's own streets and paths around
    the places (the box of the places, padded, never the home's): ``(dots, path)``.
    """
    located = [i for i in items if i.lon is not None and i.lat is not None]
    if not located:
        return ([], "") if streets is not None else []
    mean_lat = sum(i.lat for i in located) / len(located)
    kx = math.cos(math.radians(mean_lat))
    xs = [i.lon * kx for i in located]
    ys = [i.lat for i in located]
    # A lone place still gets a few hundred metres of streets round it.
    span = max(max(xs) - min(xs), max(ys) - min(ys)) or 0.004
    scale = min(width - 2 * pad, height - 2 * pad) / span
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2

    def pixel(lon: float, lat: float) -> tuple[int, int]:
        # Rounded to whole pixels: enough for a sketch, and no coordinates can be read back.
        return round(width / 2 + (lon * kx - cx) * scale), round(height / 2 - (lat - cy) * scale)

    spots: dict[tuple[int, int], list[str]] = {}
    for i in located:
        spots.setdefault(pixel(i.lon, i.lat), []).append(str(i.number))
    dots = [MapDot(",".join(numbers), x, y) for (x, y), numbers in spots.items()]
    if streets is None:
        return dots
    from kindmap.geo.sketch import segments_in_box

    half_w, half_h = width / 2 / scale, height / 2 / scale  # the whole drawing, in the transformed units
    box = ((cx - half_w) / kx, cy - half_h, (cx + half_w) / kx, cy + half_h)
    parts = []
    for lon1, lat1, lon2, lat2 in segments_in_box(streets.node_lon, streets.node_lat, streets.edge_u, streets.edge_v, box):
        (x1, y1), (x2, y2) = pixel(lon1, lat1), pixel(lon2, lat2)
        if (x1, y1) != (x2, y2):
            parts.append(f"M{x1} {y1}L{x2} {y2}")
    return dots, "".join(parts)


def region_streets(session: Session, settings: Settings, items: list[PrintItem]):
    """The walking network of the region the plan's first place is in (None without one)."""
    from kindmap.services.walking import DEFAULT_WALKING, region_for_point

    located = [i for i in items if i.lon is not None]
    if not located:
        return None
    try:
        region = region_for_point(session, located[0].lon, located[0].lat, margin_m=settings.region_margin_m)
    except Exception:  # noqa: BLE001  (no region there: the sketch keeps its plain box)
        return None
    router = DEFAULT_WALKING.router(settings, region.slug)
    return router.net if router is not None else None


def sketch(session: Session, settings: Settings, items: list[PrintItem]) -> tuple[list[MapDot], str]:
    """The printable plan's sketch: its numbered dots and, where the region has a walking network, its streets."""
    net = region_streets(session, settings, items)
    if net is None:
        return sketch_map(items), ""
    return sketch_map(items, streets=net)
