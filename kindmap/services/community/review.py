"""The review queue and local facts: one queue for possibly-closed places, duplicate
candidates, problem reports, suggestions and kindness notes, each resolved in one call.

For other modules (dedupe, resident suggestions, problem reports) the entry point is
:func:`add_review_item`; it never commits, so it joins the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from kindmap.errors import Conflict, InvalidQuery, NotFound
from kindmap.hours import check_hours
from kindmap.ingest.inclusion import LOCAL_RULE, decide_place, load_rules
from kindmap.models import (
    Listing,
    LocalFact,
    Place,
    PlaceCreate,
    PlaceSource,
    PlaceStatus,
    ReviewItem,
    ReviewKind,
    ReviewOutcome,
    ReviewStatus,
)
from kindmap.models.common import utcnow
from kindmap.models.provenance import SOURCED_FIELDS
from kindmap.taxonomy import check_categories

# Which outcomes make sense for which kind; anything else is refused with a hint.
ALLOWED: dict[ReviewKind, tuple[ReviewOutcome, ...]] = {
    ReviewKind.possibly_closed: (ReviewOutcome.confirm_closed, ReviewOutcome.keep, ReviewOutcome.edit),
    ReviewKind.duplicate: (ReviewOutcome.merge, ReviewOutcome.keep, ReviewOutcome.dismiss),
}
_GENERAL = (ReviewOutcome.edit, ReviewOutcome.keep, ReviewOutcome.confirm_closed, ReviewOutcome.dismiss)


def _json(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=True)


def add_review_item(session: Session, *, kind: str, place_id: int | None, evidence: dict, source: str,
                    related_place_id: int | None = None) -> ReviewItem:
    """Queue an item for moderators (or refresh the open one for the same kind and places).

    ``kind`` is a ``ReviewKind`` value (possibly_closed, duplicate, problem_report, suggestion,
    hours_change, kindness_note); ``evidence`` is any JSON-able dict shown side by side
    (e.g. both records' names, sources and distance in metres for a duplicate); ``source``
    names who raised it (``osm-reimport``, ``dedupe``, ``public``…). Duplicate pairs are
    unordered: (a, b) and (b, a) are the same item. Adds to the session; the caller commits.
    """
    try:
        kind_ = ReviewKind(kind)
    except ValueError:
        raise InvalidQuery(f"unknown review kind {kind!r}; use one of: {', '.join(k.value for k in ReviewKind)}") from None
    if not isinstance(evidence, dict):
        raise InvalidQuery("evidence must be a JSON object (a dict)")
    if not source or len(source) > 40:
        raise InvalidQuery("source must be a short name (1–40 characters), e.g. 'dedupe'")
    place = session.get(Place, place_id) if place_id is not None else None
    if place_id is not None and place is None:
        raise NotFound(f"no place with id {place_id}")
    if related_place_id is not None and session.get(Place, related_place_id) is None:
        raise NotFound(f"no place with id {related_place_id}")
    if kind_ is ReviewKind.duplicate and (place_id is None or related_place_id is None or place_id == related_place_id):
        raise InvalidQuery("a duplicate item needs two different places: place_id and related_place_id")
    pairs = [(place_id, related_place_id)]
    if kind_ is ReviewKind.duplicate:
        pairs.append((related_place_id, place_id))
    for a, b in pairs:
        existing = session.exec(select(ReviewItem).where(
            ReviewItem.kind == kind_, ReviewItem.status == ReviewStatus.open,
            ReviewItem.place_id == a, ReviewItem.related_place_id == b)).first()
        if existing is not None:
            if existing.evidence_json != _json(evidence):
                existing.evidence_json = _json(evidence)
                existing.updated_at = utcnow()
            return existing
    item = ReviewItem(kind=kind_, place_id=place_id, related_place_id=related_place_id, source=source,
                      region_id=place.region_id if place is not None else None, evidence_json=_json(evidence))
    session.add(item)
    session.flush()
    return item


@dataclass
class ReviewFilter:
    kind: str | None = None
    status: str | None = "open"
    region_id: int | None = None
    limit: int = 100
    offset: int = 0


def list_review_items(session: Session, flt: ReviewFilter) -> tuple[list[ReviewItem], int]:
    """Items matching ``flt`` (oldest first, so the queue is worked in order) and the total."""
    from sqlalchemy import func

    if not 1 <= flt.limit <= 500 or flt.offset < 0:
        raise InvalidQuery("limit must be 1–500 and offset 0 or more")
    query = select(ReviewItem)
    if flt.kind:
        try:
            query = query.where(ReviewItem.kind == ReviewKind(flt.kind))
        except ValueError:
            raise InvalidQuery(f"unknown kind {flt.kind!r}; use one of: {', '.join(k.value for k in ReviewKind)}") from None
    if flt.status:
        try:
            query = query.where(ReviewItem.status == ReviewStatus(flt.status))
        except ValueError:
            raise InvalidQuery("status must be open or resolved") from None
    if flt.region_id is not None:
        query = query.where(ReviewItem.region_id == flt.region_id)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(ReviewItem.created_at, ReviewItem.id).offset(flt.offset).limit(flt.limit)).all()
    return list(rows), int(total)


# ----------------------------------------------------------------------------- local facts

def active_facts(session: Session, place_id: int) -> dict[str, LocalFact]:
    """The newest unsuperseded local fact per field of a place."""
    rows = session.exec(select(LocalFact).where(LocalFact.place_id == place_id, col(LocalFact.superseded_at).is_(None))
                        .order_by(LocalFact.created_at, LocalFact.id)).all()
    return {f.field: f for f in rows}


def primary_source(session: Session, place: Place) -> PlaceSource | None:
    """The source record whose values the place shows (its own source and id)."""
    rows = session.exec(select(PlaceSource).where(PlaceSource.place_id == place.id, PlaceSource.primary == True)  # noqa: E712
                        .order_by(PlaceSource.id)).all()
    for row in rows:
        if (row.source, row.source_id) == (place.source, place.source_id):
            return row
    return rows[0] if rows else None


def recompute_place(session: Session, place: Place, *, fields: Iterable[str], source: PlaceSource | None = None,
                    facts: dict[str, LocalFact] | None = None) -> dict[str, tuple[Any, Any]]:
    """Set each of ``fields`` to its local fact, else the primary source's value; return what changed.

    Only the named fields are touched, so values another source filled in (a council CSV
    filling an OSM place's empty phone) stay until the primary source itself changes them.
    """
    source = source if source is not None else primary_source(session, place)
    facts = facts if facts is not None else active_facts(session, place.id)
    base = source.values() if source is not None else {}
    changed: dict[str, tuple[Any, Any]] = {}
    for name in fields:
        if name in facts:
            value = facts[name].value()
        elif name in base:
            value = base[name]
        else:
            continue  # neither a source nor a person said anything: leave as is
        old = getattr(place, name)
        if getattr(old, "value", old) != value:
            changed[name] = (getattr(old, "value", old), value)
            setattr(place, name, value)
    if "opening_hours" in changed:
        hours = place.opening_hours
        place.opening_hours_valid = None if not hours else check_hours(hours).valid
    listing = settle_listing(place, facts=facts, tags=source.tags() if source is not None else {})
    if listing is not None:
        changed["listing"] = listing
    return changed


def settle_listing(place: Place, *, facts: dict[str, LocalFact], tags: dict[str, str]) -> tuple[str, str] | None:
    """Decide the place's listing: a person's decision (local fact), else the inclusion rule; (old, new) if it changed.

    A known fee always wins: a place recorded as not free to use is never listed as welcoming,
    whoever said so, so a moderator who includes it must also record that it is free.
    """
    if "listing" in facts and facts["listing"].value() is not None:
        listing, rule = str(facts["listing"].value()), LOCAL_RULE
        if listing == Listing.welcoming.value and place.free_to_use is False:
            decided = load_rules().rule("known_fee")
            listing, rule = Listing.excluded.value, decided.id if decided else "known_fee"
    else:
        decision = decide_place(place, tags=tags)
        listing, rule = decision.listing.value, decision.rule
    old = getattr(place.listing, "value", place.listing)
    place.listing_rule = rule
    if old == listing:
        return None
    place.listing = listing
    return old, listing


def _validate_changes(place: Place, changes: dict[str, Any]) -> dict[str, Any]:
    """Check field names and values as the import would; return the normalised values."""
    if not isinstance(changes, dict) or not changes:
        raise InvalidQuery("changes must be a non-empty object of field: value, e.g. {\"warm_hospitality\": true}")
    unknown = [k for k in changes if k not in SOURCED_FIELDS and k != "note"]
    if unknown:
        raise InvalidQuery(f"cannot edit {', '.join(unknown)}; editable fields: {', '.join(SOURCED_FIELDS)} (and 'note')")
    current = {name: getattr(place, name) for name in PlaceCreate.model_fields if hasattr(place, name)}
    values = {k: v for k, v in changes.items() if k != "note"}
    try:
        checked = PlaceCreate.model_validate({**current, **values})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidQuery(f"changes are not valid: {problems}") from None
    if "category" in values:
        check_categories([checked.category])
    if values.get("listing") == Listing.welcoming.value and checked.free_to_use is False:
        raise InvalidQuery("this place is recorded as not free to use, and a place with a fee is never listed as "
                           "welcoming; if it is free, set free_to_use to true in the same change")
    if values.get("opening_hours"):
        hours = check_hours(values["opening_hours"])
        if not hours.valid:
            raise InvalidQuery(f"opening_hours: {hours.error}")
    dumped = checked.model_dump(mode="json")
    return {k: dumped[k] for k in values}


def set_local_facts(session: Session, place_id: int, changes: dict[str, Any], *, note: str | None = None,
                    source: str = "council", author_id: int | None = None, author_role: str | None = None,
                    now: datetime | None = None) -> dict[str, tuple[Any, Any]]:
    """Record local facts for a place (they override imports and survive re-imports); return field changes.

    A fact equal to the current value still counts: it records that a person checked it.
    ``changes`` may carry a ``note`` (e.g. "free tea on Tuesdays") shown with every fact set.
    """
    place = session.get(Place, place_id)
    if place is None:
        raise NotFound(f"no place with id {place_id}")
    note = changes.get("note", note) if isinstance(changes, dict) else note
    if note is not None and (not isinstance(note, str) or len(note) > 1000):
        raise InvalidQuery("note must be text of at most 1000 characters")
    values = _validate_changes(place, changes)
    now = now or utcnow()
    facts = active_facts(session, place.id)
    for name, value in values.items():
        if name in facts:
            facts[name].superseded_at = now
        fact = LocalFact(place_id=place.id, field=name, value_json=json.dumps(value), note=note, source=source,
                         author_id=author_id, author_role=author_role, created_at=now, verified_at=now)
        session.add(fact)
        facts[name] = fact
    changed = recompute_place(session, place, fields=list(values), facts=facts)
    place.updated_at = now
    session.flush()
    if "listing" in changed:
        from kindmap.services.catalogue.support_layer import sync_support_layer

        sync_support_layer(session)
    return changed


# ----------------------------------------------------------------------------- outcomes

def _place(session: Session, place_id: int | None) -> Place:
    place = session.get(Place, place_id) if place_id is not None else None
    if place is None:
        raise InvalidQuery("this item has no place to act on; use outcome 'dismiss'")
    return place


def _close_related_items(session: Session, place_id: int, *, kind: ReviewKind, now: datetime, by: int | None,
                         outcome: ReviewOutcome, skip: int) -> None:
    for other in session.exec(select(ReviewItem).where(ReviewItem.place_id == place_id, ReviewItem.kind == kind,
                                                       ReviewItem.status == ReviewStatus.open, ReviewItem.id != skip)).all():
        other.status, other.outcome, other.resolved_at, other.resolved_by = ReviewStatus.resolved, outcome, now, by


def merge_places(session: Session, *, keep_id: int, other_id: int, now: datetime | None = None) -> Place:
    """Fold ``other_id`` into ``keep_id``: move sources, local facts and open review items; close the other."""
    now = now or utcnow()
    keep, other = session.get(Place, keep_id), session.get(Place, other_id)
    if keep is None or other is None:
        raise NotFound(f"no place with id {keep_id if keep is None else other_id}")
    if keep.id == other.id:
        raise InvalidQuery("cannot merge a place into itself")
    for src in session.exec(select(PlaceSource).where(PlaceSource.place_id == other.id)).all():
        src.place_id, src.primary = keep.id, False  # kept for provenance; the kept place's own source still leads
    kept_facts = active_facts(session, keep.id)
    for fact in session.exec(select(LocalFact).where(LocalFact.place_id == other.id)).all():
        fact.place_id = keep.id
        if fact.superseded_at is None and fact.field in kept_facts:
            fact.superseded_at = now  # the kept place's own local knowledge wins; history stays
    for item in session.exec(select(ReviewItem).where(ReviewItem.place_id == other.id)).all():
        item.place_id = keep.id
    for item in session.exec(select(ReviewItem).where(ReviewItem.related_place_id == other.id)).all():
        item.related_place_id = keep.id
    session.flush()
    # Fill what the kept place does not know from the other (a person can still edit it).
    for name in SOURCED_FIELDS:
        if getattr(keep, name) is None and getattr(other, name) is not None:
            setattr(keep, name, getattr(other, name))
    recompute_place(session, keep, fields=list(active_facts(session, keep.id)))
    other.status, other.merged_into_id, other.possibly_closed_since, other.updated_at = PlaceStatus.closed, keep.id, None, now
    keep.updated_at = now
    return keep


def resolve_review_item(session: Session, item_id: int, *, outcome: str, changes: dict[str, Any] | None = None,
                        by_user_id: int | None = None, by_role: str | None = None,
                        now: datetime | None = None) -> ReviewItem:
    """Apply a moderator's decision in one call: confirm_closed, keep, merge, edit or dismiss."""
    item = session.get(ReviewItem, item_id)
    if item is None:
        raise NotFound(f"no review item with id {item_id}")
    if item.status == ReviewStatus.resolved:
        raise Conflict(f"review item {item_id} was already resolved ({item.outcome.value if item.outcome else '-'}) on {item.resolved_at:%Y-%m-%d}")
    try:
        outcome_ = ReviewOutcome(outcome)
    except ValueError:
        outcome_ = None
    allowed = ALLOWED.get(item.kind, _GENERAL + ((ReviewOutcome.merge,) if item.related_place_id else ()))
    if outcome_ not in allowed:
        raise InvalidQuery(f"outcome for a {item.kind.value} item must be one of: {', '.join(o.value for o in allowed)}")
    changes = dict(changes or {})
    now = now or utcnow()
    applied: dict[str, Any] = {}
    if outcome_ is ReviewOutcome.confirm_closed:
        place = _place(session, item.place_id)
        place.status, place.verified_at, place.updated_at = PlaceStatus.closed, now, now
        applied["status"] = "closed"
    elif outcome_ is ReviewOutcome.keep:
        place = _place(session, item.place_id)
        if item.kind is ReviewKind.possibly_closed or place.possibly_closed_since is not None:
            place.possibly_closed_since = None
            if place.status == PlaceStatus.pending:
                place.status = PlaceStatus.published
        place.verified_at, place.updated_at = now, now
        applied["verified_at"] = now.isoformat()
    elif outcome_ is ReviewOutcome.merge:
        keep_id = changes.get("keep_id", item.place_id)
        pair = {item.place_id, item.related_place_id}
        if item.related_place_id is None or keep_id not in pair:
            raise InvalidQuery(f"keep_id must be one of the two places: {item.place_id} or {item.related_place_id}")
        other_id = (pair - {keep_id}).pop()
        merge_places(session, keep_id=keep_id, other_id=other_id, now=now)
        applied.update(keep_id=keep_id, merged_id=other_id)
    elif outcome_ is ReviewOutcome.edit:
        place = _place(session, item.place_id)
        applied["changes"] = {k: v[1] for k, v in set_local_facts(
            session, place.id, changes, source=by_role or "moderator", author_id=by_user_id, author_role=by_role, now=now).items()}
        if item.kind is ReviewKind.possibly_closed:
            place.possibly_closed_since = None  # a person just checked it exists
        place.verified_at = now
    item.status, item.outcome, item.resolved_at, item.resolved_by = ReviewStatus.resolved, outcome_, now, by_user_id
    item.resolution_json, item.updated_at = _json(applied), now
    if item.place_id is not None and outcome_ in (ReviewOutcome.confirm_closed, ReviewOutcome.keep):
        # One decision about a place answers its other open "possibly closed" items too.
        _close_related_items(session, item.place_id, kind=ReviewKind.possibly_closed, now=now, by=by_user_id,
                             outcome=outcome_, skip=item.id)
    session.flush()
    return item
