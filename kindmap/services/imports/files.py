"""Imports: one transaction each, idempotent, with a report and a dry run.

Readers in ``kindmap.ingest`` turn files into validated records; this module writes
them. Any row problem aborts the whole import unless ``skip_invalid`` is set, so a
bad file never leaves half its rows behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Engine
from sqlmodel import Session, delete, select

from kindmap.ingest.areas import AreaColumns, read_areas
from kindmap.ingest.limits import ImportLimits, import_limits
from kindmap.ingest.osm_stage import StagedExtract
from kindmap.ingest.postcodes import PostcodeRecord, read_postcodes
from kindmap.models import Area, ImportRun, Locality, PlaceCreate, Postcode
from kindmap.models.common import utcnow
from kindmap.services.imports.runs import (
    ImportReport,
    _record_run,
    _run,
    check_problems,
    file_sha256,
)
from kindmap.services.regions import ensure_region


def import_areas(engine: Engine, *, region: str, path: Path, columns: AreaColumns, data_dir: Path,
                 dry_run: bool = False, skip_invalid: bool = False, limits: ImportLimits | None = None,
                 where: str | None = None, layer: str | None = None) -> ImportReport:
    """Upsert small areas by code into ``region`` (refused whole past ``limits``; see ``import_limits``).

    ``where``/``layer`` select one council's rows of a national table (see ``read_areas``).
    """
    path = Path(path)
    started = time.perf_counter()
    report = ImportReport(kind="areas", region=region, file=path.name, dry_run=dry_run)
    read = read_areas(path, columns=columns, limits=import_limits(limits), where=where, layer=layer)
    check_problems(report, read.problems, skip_invalid=skip_invalid)

    def work(session: Session) -> None:
        reg = ensure_region(session, region, data_dir=data_dir)
        existing = {a.code: a for a in session.exec(select(Area)).all()}
        for rec in read.records:
            values = vars(rec)
            area = existing.get(rec.code)
            if area is None:
                session.add(Area(region_id=reg.id, **values))
                report.added += 1
            elif area.region_id != reg.id or any(getattr(area, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(area, k, v)
                area.region_id = reg.id
                report.updated += 1
            else:
                report.unchanged += 1
        _record_run(session, report, region_id=reg.id, path=path)

    return _run(engine, report, work, started=started)


def import_postcodes(engine: Engine, *, path: Path, region: str | None = None, data_dir: Path,
                     columns: dict[str, str] | None = None, dry_run: bool = False,
                     skip_invalid: bool = False, limits: ImportLimits | None = None) -> ImportReport:
    """Upsert postcode centroids by postcode (refused whole past ``limits``; see ``import_limits``)."""
    path = Path(path)
    started = time.perf_counter()
    report = ImportReport(kind="postcodes", region=region, file=path.name, dry_run=dry_run)
    read = read_postcodes(path, columns=columns, limits=import_limits(limits))
    check_problems(report, read.problems, skip_invalid=skip_invalid)
    return write_postcodes(engine, report=report, records=read.records, region=region, data_dir=data_dir,
                           paths=[path], started=started)


def write_postcodes(engine: Engine, *, report: ImportReport, records: list[PostcodeRecord], region: str | None,
                    data_dir: Path, paths: list[Path], started: float) -> ImportReport:
    """Upsert already-read postcode records in one transaction (also for Code-Point Open units)."""

    def work(session: Session) -> None:
        region_id = ensure_region(session, region, data_dir=data_dir).id if region else None
        existing = {p.postcode: p for p in session.exec(select(Postcode)).all()}
        for rec in records:
            row = existing.get(rec.postcode)
            if row is None:
                session.add(Postcode(postcode=rec.postcode, lon=rec.lon, lat=rec.lat, area_code=rec.area_code, region_id=region_id))
                report.added += 1
            elif (row.lon, row.lat, row.area_code, row.region_id) != (rec.lon, rec.lat, rec.area_code, region_id or row.region_id):
                row.lon, row.lat, row.area_code = rec.lon, rec.lat, rec.area_code
                row.region_id = region_id or row.region_id
                report.updated += 1
            else:
                report.unchanged += 1
        for path in paths:
            _record_run(session, report, region_id=region_id, path=path)

    return _run(engine, report, work, started=started)


def upsert_places(session: Session, *, region_id: int, source: str, places: list[PlaceCreate],
                  report: ImportReport, flag_missing: bool = False, run_id: int | None = None,
                  source_name: str | None = None, tags: dict[str, dict[str, str]] | None = None) -> None:
    """Insert or update places of one source by ``source_id``, keeping local facts; count what changed.

    Status, verification and local facts are never overwritten (see ``services.reimport``).
    """
    from kindmap.services.imports.reimport import sync_places

    sync_places(session, region_id=region_id, source=source, places=places, report=report,
                flag_missing=flag_missing, run_id=run_id, source_name=source_name, tags=tags)


def replace_localities(session: Session, *, region_id: int, rows: list) -> None:
    """The region's towns and villages become those of the newest extract (they are a gazetteer, not history)."""
    session.exec(delete(Locality).where(Locality.region_id == region_id))
    session.add_all([Locality(region_id=region_id, name=r.name, other_names=r.other_names, kind=r.kind,
                              lon=r.lon, lat=r.lat, source_id=r.source_id) for r in rows])


def import_osm(engine: Engine, *, region: str, path: Path, data_dir: Path, dry_run: bool = False,
               progress: Callable[[int], None] | None = None, force: bool = False,
               reports_dir: Path | None = None, limits: ImportLimits | None = None,
               clip: BaseGeometry | None = None, staged: StagedExtract | None = None) -> ImportReport:
    """Read welcoming places from an OSM PBF (a full extract of ``region``) and re-import them safely.

    New places are added; changed ones updated in their OSM-sourced fields only (local facts
    win); places no longer in the extract are flagged possibly closed for review, never
    deleted. One transaction. Refuses an older extract than the one loaded, or one that does
    not overlap the region's places, unless ``force``. With ``reports_dir``, the change report
    is saved there as JSON (not for a dry run). Past ``limits`` (file size; candidate places
    as rows) nothing is read further or written (see ``import_limits``). With ``clip`` (EPSG:4326,
    the council outline plus a margin) places outside it are left out: a county extract imports
    only this council's places. With ``staged`` (``kindmap.ingest.osm_stage``: the extract
    clipped and filtered to what kindmap reads) the places are read from it instead of ``path``;
    ``path`` still names the run and its sha256.
    """
    from kindmap.ingest.localities import read_localities
    from kindmap.ingest.osm import read_osm_places
    from kindmap.services.imports.reimport import (
        aware,
        check_extract,
        previous_osm_run,
        save_report,
    )

    path = Path(path)
    started = time.perf_counter()
    report = ImportReport(kind="osm", region=region, file=path.name, dry_run=dry_run)
    source = staged.path if staged is not None else path
    read = read_osm_places(source, progress=progress, limits=import_limits(limits),
                           name=path.name)
    if clip is not None and read.places:
        inside = shapely.contains_xy(clip, [p.lon for p in read.places], [p.lat for p in read.places])
        outside = int((~inside).sum())
        if outside:
            read.places = [p for p, keep in zip(read.places, inside) if keep]
            report.warnings.append(f"{outside} place(s) of the extract lie outside the region and its margin; left out")
    report.warnings.extend(read.warnings)
    report.data_timestamp = read.latest_timestamp
    localities = read_localities(source)
    # Features the tag mapping knows but that have no name are not imported at all; say so with the rest.
    report.inclusion = {"left_out": [
        {"rule": "unnamed", "listing": "not imported", "count": n, "names": [],
         "reason": f"unnamed {category.replace('_', ' ')} (a place needs a name people can look for)"}
        for category, n in sorted(read.unnamed.items(), key=lambda kv: (-kv[1], kv[0]))]}
    sha = file_sha256(path)

    def work(session: Session) -> None:
        reg = ensure_region(session, region, data_dir=data_dir)
        previous = previous_osm_run(session, reg.id)
        report.previous_data_timestamp = aware(previous.data_timestamp) if previous else None
        report.warnings[:0] = check_extract(session, reg, file=path.name, places=read.places,
                                            data_timestamp=read.latest_timestamp, force=force, sha256=sha)
        run = ImportRun(kind="osm", region_id=reg.id, file_name=path.name[:300], file_sha256=sha,
                        data_timestamp=read.latest_timestamp)
        session.add(run)
        session.flush()
        report.run_id = run.id
        upsert_places(session, region_id=reg.id, source="osm", places=read.places, report=report,
                      flag_missing=True, run_id=run.id, source_name=path.name, tags=read.tags)
        replace_localities(session, region_id=reg.id, rows=localities)
        # ImportRun.missing records the places this run flagged possibly closed.
        run.added, run.updated, run.unchanged = report.added, report.updated, report.unchanged
        run.missing, run.skipped, run.finished_at = report.possibly_closed, report.skipped, utcnow()

    _run(engine, report, work, started=started)
    if dry_run:
        report.run_id = None
    elif reports_dir is not None:
        report.report_path = str(save_report(report, reports_dir=reports_dir, run_id=report.run_id))
    return report
