"""Write places read from CSV or ORUK files: geocode, match duplicates, upsert, keep the originals.

One transaction per file: every row is geocoded and checked first; any problem aborts
the whole import unless ``skip_invalid``. Records that duplicate a place from another
source (see ``kindmap.services.imports.dedupe``) fill that place's empty fields instead of
becoming a second place; every record's original is kept in ``PlaceExtra``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session, select

from kindmap.db import write_session
from kindmap.errors import DataError, InvalidQuery, KindmapError
from kindmap.ingest.csv_places import CsvMapping, read_csv_places
from kindmap.ingest.limits import ImportLimits, import_limits
from kindmap.ingest.postcodes import normalise_postcode
from kindmap.ingest.problems import RowProblem, summarise
from kindmap.models import ImportRun, Place, PlaceCreate, PlaceExtra, PlaceStatus
from kindmap.models.common import utcnow
from kindmap.services.catalogue.search import locate_postcode
from kindmap.services.community.review import add_review_item
from kindmap.services.imports.dedupe import FILLABLE, Candidate, DedupeReport, Matcher
from kindmap.services.imports.files import upsert_places
from kindmap.services.imports.merge import merge_into
from kindmap.services.imports.runs import DryRun, ImportReport, file_sha256
from kindmap.services.regions import ensure_region
from kindmap.taxonomy import categories

_CRITERIA = ("free_to_use", "no_purchase_needed", "drop_in", "warm_hospitality", "toilets", "seating", "wifi",
             "wheelchair", "accessible_toilet", "hearing_loop", "quiet_space", "step_free")


class Incoming(Protocol):
    row: int
    source_id: str
    values: dict[str, Any]
    raw: Any


@dataclass
class Unplaced:
    """A record kept (in PlaceExtra) but not on the map, and why."""

    source_id: str
    name: str
    reason: str


@dataclass
class PlaceImportResult:
    """The import report plus what a person should check: merges, near misses, unplaced records."""

    report: ImportReport
    dedupe: DedupeReport = field(default_factory=DedupeReport)
    unplaced: list[Unplaced] = field(default_factory=list)
    filtered: int = 0
    hours_converted: int = 0
    hours_as_text: int = 0


def _to_create(item: Incoming, *, source: str, licence: str | None, postcode_column: str | None,
               session: Session, problems: list[RowProblem],
               unplaced: list[tuple[str, str, Any, str]] | None = None) -> tuple[PlaceCreate | None, bool]:
    """(PlaceCreate, located_by_postcode), or (None, _) after recording the row's problems."""
    values = dict(item.values)
    from_postcode = False
    cats = categories()
    if values.get("category") not in cats:
        problems.append(RowProblem(item.row, None, f"category {values.get('category')!r} is not one of: {', '.join(cats)}"))
        return None, False
    if values.get("postcode"):
        try:
            row = locate_postcode(session, values["postcode"])
            values["postcode"] = row.postcode
            if values.get("lon") is None:
                values["lon"], values["lat"], from_postcode = row.lon, row.lat, True
        except KindmapError as exc:
            if values.get("lon") is None:
                why = f"{exc.message.split(';')[0]}: no coordinates to place it"
                if unplaced is not None:  # kept and reported, not an error (ORUK services often lack a place)
                    unplaced.append((item.source_id, values.get("name") or "", item.raw, why))
                else:
                    problems.append(RowProblem(item.row, postcode_column, why))
                return None, False
            try:  # placed by its coordinates; keep the postcode if it is shaped like one
                values["postcode"] = normalise_postcode(values["postcode"])
            except KindmapError:
                values["postcode"] = None
    for name, assumed in cats[values["category"]].assume.items():
        if values.get(name) is None:
            values[name] = assumed
    try:
        place = PlaceCreate(**{k: v for k, v in values.items() if v is not None}, source=source,
                            source_id=item.source_id, source_licence=licence)
    except ValidationError as exc:
        for e in exc.errors():
            problems.append(RowProblem(item.row, ".".join(map(str, e["loc"])), e["msg"]))
        return None, False
    return place, from_postcode


def _save_extra(session: Session, existing: dict[str, PlaceExtra], *, region_id: int, source: str, source_id: str,
                kind: str, raw: Any, place_id: int | None, match: str | None, note: str | None = None,
                service_id: str | None = None) -> None:
    data = json.dumps(raw, ensure_ascii=False, sort_keys=True)
    extra = existing.get(source_id)
    if extra is None:
        session.add(PlaceExtra(region_id=region_id, source=source, source_id=source_id, kind=kind, data_json=data,
                               place_id=place_id, match=match, note=note, service_id=service_id))
    else:
        extra.data_json, extra.place_id, extra.match, extra.note, extra.imported_at = data, place_id, match, note, utcnow()
        extra.service_id = service_id


def write_places(engine: Engine, *, kind: str, region: str, path: Path, items: list[Incoming], source: str,
                 licence: str | None, data_dir: Path, extra_kind: str, postcode_column: str | None = None,
                 read_problems: list[RowProblem] | None = None, unplaced: list[tuple[str, str, Any, str]] | None = None,
                 dry_run: bool = False, skip_invalid: bool = False, dedupe: bool = True,
                 unplaced_if_not_geocoded: bool = False) -> PlaceImportResult:
    """Geocode, dedupe and upsert ``items`` into ``region`` in one transaction (rolled back on a dry run)."""
    path = Path(path)
    started = time.perf_counter()
    result = PlaceImportResult(ImportReport(kind=kind, region=region, file=path.name, dry_run=dry_run))
    report = result.report
    problems = list(read_problems or [])
    unplaced = list(unplaced or [])

    def work(session: Session) -> None:
        reg = ensure_region(session, region, data_dir=data_dir)
        extras = {e.source_id: e for e in session.exec(
            select(PlaceExtra).where(PlaceExtra.source == source, PlaceExtra.region_id == reg.id)).all()}
        ready: list[tuple[Incoming, PlaceCreate, bool]] = []
        for item in items:
            place, from_pc = _to_create(item, source=source, licence=licence, postcode_column=postcode_column,
                                        session=session, problems=problems,
                                        unplaced=unplaced if unplaced_if_not_geocoded else None)
            if place is not None:
                ready.append((item, place, from_pc))
        report.problems = problems
        if problems and not skip_invalid:
            raise DataError(f"{path.name}: {len(problems)} row(s) have problems; nothing was imported. Fix them, "
                            f"or import the valid rows with --skip-invalid:\n{summarise(problems)}",
                            details=[vars(p) for p in problems[:200]])
        report.skipped = len({p.row for p in problems})  # rows, not problems
        others = session.exec(select(Place).where(Place.region_id == reg.id, Place.source != source,
                                                  Place.status == PlaceStatus.published)).all()
        by_id = {p.id: p for p in others}
        matcher = Matcher([Candidate(p.id, p.name, p.category, p.lon, p.lat, p.postcode, p.address) for p in others])
        new: list[PlaceCreate] = []
        merged: dict[str, tuple[int, str]] = {}
        for item, place, from_pc in ready:
            linked = extras.get(item.source_id)
            target = by_id.get(linked.place_id) if linked and linked.match and linked.match != "new" else None
            reason = linked.match if target else None
            if target is None and dedupe:
                hit, near = matcher.match(name=place.name, category=place.category, lon=place.lon, lat=place.lat,
                                          postcode=place.postcode, from_postcode=from_pc)
                if hit is not None:
                    result.dedupe.merges.append(hit)
                    target, reason = by_id[hit.place_id], f"merged: {hit.reason}"
                elif near is not None:
                    near.source_id = item.source_id
                    result.dedupe.near_misses.append(near)
            if target is not None:
                merged[item.source_id] = (target.id, reason or "merged")
                filled, differences = merge_into(session, target, place, fields=FILLABLE + _CRITERIA, source=source,
                                                 source_id=item.source_id, file=path.name)
                if filled:
                    report.updated += 1
                    report.changes.append({"place_id": target.id, "source_id": item.source_id, "name": target.name,
                                           "filled": filled})
                else:
                    report.unchanged += 1
                if differences:
                    report.warnings.append(f"{target.name}: {path.name} gives other opening hours ("
                                           + "; ".join(differences) + "); both queued for review")
            else:
                new.append(place)
        upsert_places(session, region_id=reg.id, source=source, places=new, report=report)
        session.flush()
        ids = dict(session.exec(select(Place.source_id, Place.id).where(Place.source == source, Place.region_id == reg.id)).all())
        for item, _place, _ in ready:
            place_id, match = merged.get(item.source_id, (ids.get(item.source_id), "new"))
            _save_extra(session, extras, region_id=reg.id, source=source, source_id=item.source_id, kind=extra_kind,
                        raw=item.raw, place_id=place_id, match=match, service_id=getattr(item, "service_id", None))
        for near in result.dedupe.near_misses:
            # A person decides: the review queue shows both places side by side.
            mine = ids.get(near.source_id)
            if mine is not None and mine != near.place_id:
                add_review_item(session, kind="duplicate", place_id=near.place_id, related_place_id=mine, source=source,
                                evidence={"distance_m": round(near.distance_m or 0), "name_similarity": round(near.similarity, 2),
                                          "why": near.reason, "file": path.name})
        for source_id, name, raw, why in unplaced:
            result.unplaced.append(Unplaced(source_id, name, why))
            _save_extra(session, extras, region_id=reg.id, source=source, source_id=source_id, kind=extra_kind,
                        raw=raw, place_id=None, match=None, note=why[:400])
        session.add(ImportRun(kind=kind[:20], region_id=reg.id, file_name=path.name[:300], file_sha256=file_sha256(path),
                              added=report.added, updated=report.updated, unchanged=report.unchanged,
                              missing=report.missing, skipped=report.skipped))
        if dry_run:
            raise DryRun

    try:
        with write_session(engine) as session:
            work(session)
    except DryRun:
        pass
    report.seconds = time.perf_counter() - started
    return result


KINDS = ("place", "opportunity", "support")


def import_csv(engine: Engine, *, region: str, path: Path, mapping: CsvMapping, data_dir: Path, kind: str = "place",
               source: str = "csv", encoding: str = "utf-8", dry_run: bool = False, skip_invalid: bool = False,
               dedupe: bool = True, limits: ImportLimits | None = None) -> PlaceImportResult:
    """Import places from a CSV through ``mapping`` (postcodes geocoded from the Postcode table).

    Refused whole, before anything is written, past ``limits`` (see ``kindmap.ingest.limits.import_limits``).
    """
    if kind not in KINDS:
        raise InvalidQuery(f"--kind must be one of {', '.join(KINDS)}")
    if kind != "place":
        raise InvalidQuery(f"importing {kind} rows is not available yet (the {kind} model is being built); "
                           "only --kind place works today")
    read = read_csv_places(path, mapping=mapping, encoding=encoding, limits=import_limits(limits))
    postcode_column = mapping.columns.get("postcode")
    result = write_places(engine, kind="csv", region=region, path=path, items=read.rows, source=source,
                          licence=mapping.licence, data_dir=data_dir, extra_kind="csv_row",
                          postcode_column=postcode_column if isinstance(postcode_column, str) else None,
                          read_problems=read.problems, dry_run=dry_run, skip_invalid=skip_invalid, dedupe=dedupe)
    result.report.warnings[:0] = [str(w) for w in read.warnings]
    result.filtered = read.filtered
    result.hours_converted, result.hours_as_text = read.hours_converted, read.hours_as_text
    return result


def import_oruk(engine: Engine, *, region: str, path: Path, data_dir: Path, default_category: str = "other",
                dry_run: bool = False, skip_invalid: bool = False, dedupe: bool = True,
                limits: ImportLimits | None = None) -> PlaceImportResult:
    """Import Open Referral UK JSON (validated against the profile first) as places; refused whole past ``limits``
    or when a location's latitude or longitude is outside WGS 84 (each listed; ``skip_invalid`` leaves them out)."""
    from kindmap.ingest.oruk import read_oruk

    if default_category not in categories():
        raise InvalidQuery(f"unknown category {default_category!r}; use one of: {', '.join(categories())}")
    read = read_oruk(path, default_category=default_category, known_categories=set(categories()),
                     schema_folder=str(Path(data_dir).parent / "schemas" / "openreferral-uk" / "compiled"),
                     limits=import_limits(limits))
    result = write_places(engine, kind="oruk", region=region, path=path, items=read.records, source="oruk",
                          licence=None, data_dir=data_dir, extra_kind="oruk_service", unplaced=read.unplaced,
                          read_problems=read.problems,
                          dry_run=dry_run, skip_invalid=skip_invalid, dedupe=dedupe, unplaced_if_not_geocoded=True)
    result.hours_converted, result.hours_as_text = read.hours_converted, read.hours_not_converted
    result.report.warnings[:0] = read.notes
    return result
