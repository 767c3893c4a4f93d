"""Safe re-import: update what a source supplies, keep what local people added.

Each imported record is stored as a ``PlaceSource`` (its last supplied values) and the
place's columns are recomputed: local fact if present, else the primary source's value.
So a re-import changes OSM-sourced fields only, and a place that vanished from the
source is flagged *possibly closed* with a review item — never deleted; its id stays.

Guards (checked before anything is written): an extract older than the newest one
already loaded, or one with no overlap with the region's places, is refused unless forced.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from kindmap.errors import Conflict, DataError
from kindmap.hours import check_hours
from kindmap.ingest.inclusion import InclusionRules, load_rules
from kindmap.models import (
    Listing,
    ImportRun,
    Place,
    PlaceCreate,
    PlaceSource,
    PlaceStatus,
    Region,
    ReviewItem,
    ReviewKind,
    ReviewOutcome,
    ReviewStatus,
)
from kindmap.models.common import utcnow
from kindmap.models.provenance import SOURCED_FIELDS
from kindmap.services.catalogue.support_layer import sync_support_layer
from kindmap.services.community.review import (
    active_facts,
    add_review_item,
    recompute_place,
    settle_listing,
)
from kindmap.services.imports.remap import Known, find_twin, pair_remapped

if TYPE_CHECKING:
    from kindmap.services.imports.runs import ImportReport

# Places whose bbox misses the new extract's by less than this (degrees, ~1 km) still overlap.
_BBOX_MARGIN_DEG = 0.01


def _imported_values(item: PlaceCreate) -> dict[str, Any]:
    return item.model_dump(mode="json", include=set(SOURCED_FIELDS))


def _source_rows(session: Session, *, region_id: int, source: str) -> dict[str, PlaceSource]:
    """Source records of one source in one region, by source id; legacy places get one made now."""
    rows = session.exec(
        select(PlaceSource).join(Place, Place.id == PlaceSource.place_id)
        .where(PlaceSource.source == source, Place.region_id == region_id)
    ).all()
    by_id = {r.source_id: r for r in rows}
    # Places imported before provenance existed: their columns are the imported values.
    known = set(session.exec(select(PlaceSource.place_id)).all())
    for place in session.exec(select(Place).where(Place.source == source, Place.region_id == region_id)).all():
        if place.id in known or place.source_id in by_id or place.source_id is None:
            continue
        values = {n: getattr(getattr(place, n), "value", getattr(place, n)) for n in SOURCED_FIELDS}
        src = PlaceSource(place_id=place.id, source=source, source_id=place.source_id, licence=place.source_licence,
                          values_json=json.dumps(values), source_timestamp=place.source_timestamp,
                          first_seen_at=place.imported_at or place.created_at, last_seen_at=place.imported_at or place.created_at)
        session.add(src)
        by_id[place.source_id] = src
    return by_id


def sync_places(session: Session, *, region_id: int, source: str, places: list[PlaceCreate], report: ImportReport,
                flag_missing: bool = False, run_id: int | None = None, source_name: str | None = None,
                now: datetime | None = None, tags: Mapping[str, Mapping[str, str]] | None = None) -> None:
    """Insert or update one source's places in a region by ``source_id``; record field-level changes.

    With ``flag_missing``, places this source no longer lists are flagged possibly closed
    and queued for review (a complete extract of the region); otherwise they are only counted.
    ``tags`` (OSM tags by source id) are kept with each source record for the inclusion rule;
    every place's listing is settled and the report says what was left out of the welcoming
    list, per rule, with names.
    """
    now = now or utcnow()
    tags = tags or {}
    rules = load_rules()
    existing = _source_rows(session, region_id=region_id, source=source)
    session.flush()
    if flag_missing:
        _follow_new_ids(session, existing, places, report=report)
    seen: set[str] = set()
    placed: list[Place] = []
    for item in places:
        if item.source_id in seen:
            report.warnings.append(f"{item.source_id} appears twice; the first is kept")
            continue
        seen.add(item.source_id)
        item_tags = dict(tags.get(item.source_id) or {})
        values = _imported_values(item)
        if values.get("listing") is None:
            values["listing"] = rules.decide(category=item.category, name=item.name, tags=item_tags,
                                             fields=values).listing.value
        src = existing.get(item.source_id)
        if src is None:
            placed.append(_add_place(session, item, values, region_id=region_id, source=source, source_name=source_name,
                                     run_id=run_id, now=now, report=report, tags=item_tags))
            continue
        placed.append(_update_place(session, src, item, values, source_name=source_name, run_id=run_id, now=now,
                                    report=report, tags=item_tags))
    absent = [src for key, src in existing.items() if key not in seen]
    report.missing = len(absent)
    if flag_missing:
        twins = _twins(session, absent, existing, seen)
        for src in absent:
            _flag_missing(session, src, report=report, now=now, twin=twins.get(src.source_id))
    session.flush()
    report.inclusion = inclusion_summary(placed, rules=rules, extra=report.inclusion.get("left_out"))
    sync_support_layer(session)


def inclusion_summary(places: list[Place], *, rules: InclusionRules, extra: list[dict] | None = None) -> dict[str, Any]:
    """Counts per listing and, per rule, what was left out of the welcoming list (with names)."""
    counts: dict[str, int] = {}
    left: dict[str, dict[str, Any]] = {}
    for place in places:
        listing = getattr(place.listing, "value", place.listing)
        counts[listing] = counts.get(listing, 0) + 1
        if listing == Listing.welcoming.value:
            continue
        rule = place.listing_rule or "?"
        found = rules.rule(rule)
        entry = left.setdefault(rule, {"rule": rule, "listing": listing, "count": 0, "names": [],
                                       "reason": found.reason if found else "a person decided (local fact)"})
        entry["count"] += 1
        entry["names"].append(place.name)
    out = sorted(left.values(), key=lambda e: (-e["count"], e["rule"]))
    for entry in out:
        entry["names"].sort(key=str.casefold)
    return {"listings": counts, "left_out": out + list(extra or [])}


def _follow_new_ids(session: Session, existing: dict[str, PlaceSource], places: list[PlaceCreate], *,
                    report: ImportReport) -> None:
    """Re-key the source records of places that the source now lists under another id (see ``remap``).

    The place keeps its id, local facts, notes, links and plans; the update that follows
    records what else changed, and it is not flagged possibly closed.
    """
    listed = {p.source_id for p in places}
    absent = [src for key, src in existing.items() if key not in listed]
    fresh = [p for p in places if p.source_id not in existing]
    if not absent or not fresh:
        return
    rows = {src.source_id: (src, session.get(Place, src.place_id)) for src in absent}
    known = [Known(key, place.name, place.category, place.lon, place.lat) for key, (src, place) in rows.items()
             if place is not None and place.status != PlaceStatus.closed]
    for pair in pair_remapped(known, fresh):
        src, place = rows[pair.old]
        src.source_id = pair.new.source_id
        if (place.source, place.source_id) == (src.source, pair.old):
            place.source_id = pair.new.source_id
        del existing[pair.old]
        existing[pair.new.source_id] = src
        report.remapped += 1
        report.remapped_items.append({"place_id": place.id, "name": place.name, "old_source_id": pair.old,
                                      "source_id": pair.new.source_id, "distance_m": round(pair.distance_m, 1),
                                      "note": f"now mapped as {pair.new.source_id}"})


def _add_place(session: Session, item: PlaceCreate, values: dict[str, Any], *, region_id: int, source: str,
               source_name: str | None, run_id: int | None, now: datetime, report: ImportReport,
               tags: dict[str, str]) -> Place:
    hours = values.get("opening_hours")
    place = Place(region_id=region_id, status=item.status, verified_at=item.verified_at, imported_at=now, created_at=now,
                  updated_at=now, source=source, source_id=item.source_id, source_licence=item.source_licence,
                  source_timestamp=item.source_timestamp, opening_hours_valid=None if not hours else check_hours(hours).valid,
                  **values)
    settle_listing(place, facts={}, tags=tags)
    session.add(place)
    session.flush()
    session.add(PlaceSource(place_id=place.id, source=source, source_id=item.source_id, source_name=source_name,
                            licence=item.source_licence, values_json=json.dumps(values), source_timestamp=item.source_timestamp,
                            first_seen_at=now, last_seen_at=now, last_seen_run_id=run_id,
                            tags_json=json.dumps(tags, sort_keys=True) if tags else None))
    report.added += 1
    report.added_items.append({"place_id": place.id, "source_id": item.source_id, "name": item.name, "category": item.category,
                               "listing": place.listing})
    return place


def _update_place(session: Session, src: PlaceSource, item: PlaceCreate, values: dict[str, Any], *,
                  source_name: str | None, run_id: int | None, now: datetime, report: ImportReport,
                  tags: dict[str, str]) -> Place:
    place = session.get(Place, src.place_id)
    if tags:
        src.tags_json = json.dumps(tags, sort_keys=True)
    old = src.values()
    diff = {k: (old.get(k), v) for k, v in values.items() if old.get(k) != v}
    src.last_seen_at, src.last_seen_run_id = now, run_id
    src.source_name = source_name or src.source_name
    src.source_timestamp, src.licence = item.source_timestamp, item.source_licence
    leads = src.primary and (place.source, place.source_id) == (src.source, src.source_id)
    if leads:
        place.source_timestamp, place.source_licence = item.source_timestamp, item.source_licence
    if src.missing_since is not None:
        src.missing_since = None
        if place.possibly_closed_since is not None:
            place.possibly_closed_since, place.updated_at = None, now
            for open_item in session.exec(select(ReviewItem).where(
                    ReviewItem.place_id == place.id, ReviewItem.kind == ReviewKind.possibly_closed,
                    ReviewItem.status == ReviewStatus.open)).all():
                open_item.status, open_item.outcome, open_item.resolved_at = ReviewStatus.resolved, ReviewOutcome.reappeared, now
        report.reappeared += 1
        report.reappeared_items.append({"place_id": place.id, "source_id": src.source_id, "name": place.name})
    if not diff:
        report.unchanged += 1
        return place
    src.values_json = json.dumps(values)
    facts = active_facts(session, place.id)
    if leads:
        recompute_place(session, place, fields=list(diff), source=src, facts=facts)
        place.imported_at, place.updated_at = now, now
    report.updated += 1
    report.changes.append({
        "place_id": place.id, "source_id": src.source_id, "name": place.name,
        "fields": {k: {"old": a, "new": b, "kept_local_fact": k in facts} for k, (a, b) in sorted(diff.items())},
    })
    return place


def _twins(session: Session, absent: list[PlaceSource], existing: dict[str, PlaceSource],
           seen: set[str]) -> dict[str, tuple[Known, float]]:
    """For vanished records, a still-listed record of the same place nearby (by old source id)."""
    if not absent:
        return {}

    def known(src: PlaceSource) -> Known | None:
        place = session.get(Place, src.place_id)
        if place is None or place.status == PlaceStatus.closed:
            return None
        return Known(src.source_id, place.name, place.category, place.lon, place.lat)

    listed = [k for k in (known(existing[key]) for key in seen if key in existing) if k is not None]
    out = {}
    for src in absent:
        gone = known(src)
        twin = find_twin(gone, listed) if gone is not None else None
        if twin is not None:
            out[src.source_id] = twin
    return out


def _flag_missing(session: Session, src: PlaceSource, *, report: ImportReport, now: datetime,
                  twin: tuple[Known, float] | None = None) -> None:
    """Mark a source record absent; flag its place possibly closed and queue a review item (once).

    With ``twin`` (the same place still listed under another id nearby: the mapper removed a
    second drawing of it) the place is not called possibly closed: a duplicate review item
    asks a moderator to fold it into the one still listed.
    """
    if src.missing_since is not None:
        return  # already known to be missing: not a change
    src.missing_since = now
    place = session.get(Place, src.place_id)
    leads = src.primary and (place.source, place.source_id) == (src.source, src.source_id)
    if not leads or place.status == PlaceStatus.closed:
        return
    if twin is not None:
        other, metres = twin
        kept = existing_place_id(session, src.source, other.key)
        add_review_item(session, kind=ReviewKind.duplicate.value, place_id=kept, related_place_id=place.id,
                        evidence={"reason": f"{src.source_id} is no longer listed; the same place is still mapped as "
                                            f"{other.key}, {metres:.0f} m away", "name": place.name,
                                  "source_id": src.source_id, "still_listed_as": other.key, "distance_m": round(metres, 1)},
                        source=f"{src.source}-reimport")
        report.duplicates_dropped += 1
        report.duplicates_dropped_items.append({"place_id": place.id, "source_id": src.source_id, "name": place.name,
                                                "kept_place_id": kept, "note": f"still mapped as {other.key}"})
        return
    place.possibly_closed_since, place.updated_at = now, now
    evidence = {
        "source": src.source, "source_id": src.source_id, "name": place.name,
        "last_seen_in": src.source_name, "last_seen_at": src.last_seen_at.isoformat(),
        "last_edited_on_source": src.source_timestamp.isoformat() if src.source_timestamp else None,
        "missing_from": report.file, "missing_from_data_timestamp": report.data_timestamp.isoformat() if report.data_timestamp else None,
    }
    add_review_item(session, kind=ReviewKind.possibly_closed.value, place_id=place.id, evidence=evidence,
                    source=f"{src.source}-reimport")
    report.possibly_closed += 1
    report.possibly_closed_items.append({"place_id": place.id, "source_id": src.source_id, "name": place.name})


def existing_place_id(session: Session, source: str, source_id: str) -> int | None:
    """The place a source record feeds."""
    return session.exec(select(PlaceSource.place_id).where(PlaceSource.source == source,
                                                           PlaceSource.source_id == source_id)).first()


# ----------------------------------------------------------------------------- guards

def previous_osm_run(session: Session, region_id: int) -> ImportRun | None:
    """The loaded OSM import with the newest data timestamp in a region."""
    return session.exec(select(ImportRun).where(ImportRun.kind == "osm", ImportRun.region_id == region_id,
                                                col(ImportRun.data_timestamp).is_not(None))
                        .order_by(col(ImportRun.data_timestamp).desc())).first()


def aware(ts: datetime | None) -> datetime | None:
    from datetime import timezone

    # SQLite hands datetimes back naive; they were stored as UTC.
    return ts.replace(tzinfo=timezone.utc) if ts is not None and ts.tzinfo is None else ts


def check_extract(session: Session, region: Region, *, file: str, places: list[PlaceCreate],
                  data_timestamp: datetime | None, force: bool = False, sha256: str | None = None) -> list[str]:
    """Refuse an older extract or one of another area (unless ``force``); return warnings for forced cases.

    The very file loaded before (same ``sha256``) is never older: its newest edit may read a little
    older when only the council's part of it is read (a staged extract) than when it was read whole.
    """
    notes: list[str] = []
    previous = previous_osm_run(session, region.id)
    prev_ts = aware(previous.data_timestamp) if previous else None
    same_file = previous is not None and sha256 is not None and previous.file_sha256 == sha256
    if prev_ts and data_timestamp and data_timestamp < prev_ts and not same_file:
        message = (f"{file} holds OSM data up to {data_timestamp:%Y-%m-%d}, older than {previous.file_name} "
                   f"(up to {prev_ts:%Y-%m-%d}) already loaded for {region.slug}; importing it would undo newer "
                   "changes and flag newer places as possibly closed. Re-run with --force if you mean it.")
        if not force:
            raise Conflict(message)
        notes.append("forced: " + message)
    ref = _reference_bbox(session, region)
    if ref is not None:
        new = _bbox([(p.lon, p.lat) for p in places])
        if new is None or not _overlap(ref, new):
            where = "no welcoming places" if new is None else f"places in {_fmt(new)}"
            message = (f"{file} has {where}, which does not overlap {region.slug}'s places ({_fmt(ref)}); "
                       f"is it an extract of another region? Re-run with --force if you mean it.")
            if not force:
                raise DataError(message)
            notes.append("forced: " + message)
    return notes


def _reference_bbox(session: Session, region: Region) -> tuple[float, float, float, float] | None:
    pts = session.exec(select(Place.lon, Place.lat).where(Place.region_id == region.id, Place.status != PlaceStatus.closed)).all()
    if pts:
        return _bbox(pts)
    if region.boundary_geojson:
        import shapely

        return tuple(shapely.from_geojson(region.boundary_geojson).bounds)  # type: ignore[return-value]
    return None


def _bbox(points) -> tuple[float, float, float, float] | None:
    points = list(points)
    if not points:
        return None
    xs, ys = zip(*points)
    return min(xs), min(ys), max(xs), max(ys)


def _overlap(a, b) -> bool:
    m = _BBOX_MARGIN_DEG
    return not (a[2] + m < b[0] or b[2] + m < a[0] or a[3] + m < b[1] or b[3] + m < a[1])


def _fmt(b) -> str:
    return f"lon {b[0]:.3f}…{b[2]:.3f}, lat {b[1]:.3f}…{b[3]:.3f}"


# ----------------------------------------------------------------------------- report

def save_report(report: ImportReport, *, reports_dir: Path, run_id: int | None) -> Path:
    """Write the change report as JSON under ``reports_dir``; return its path."""
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    path = reports_dir / f"import-{report.kind}-{report.region or 'all'}-{stamp}-run{run_id or 0}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(report.to_dict(), indent=1, default=str))
    tmp.replace(path)  # atomic: a reader never sees half a report
    return path
