"""Imports: one transaction each, idempotent, with a report and a dry run.

Readers in ``kindmap.ingest`` turn files into validated records; this module writes
them. Any row problem aborts the whole import unless ``skip_invalid`` is set, so a
bad file never leaves half its rows behind.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, select

from kindmap.db import write_session
from kindmap.errors import DataError
from kindmap.hours import check_hours
from kindmap.ingest.areas import AreaColumns, read_areas
from kindmap.ingest.postcodes import read_postcodes
from kindmap.ingest.problems import RowProblem, summarise
from kindmap.models import Area, ImportRun, Place, PlaceCreate, Postcode
from kindmap.models.common import utcnow
from kindmap.services.regions import ensure_region


@dataclass
class ImportReport:
    """What an import did (or, with ``dry_run``, would do)."""

    kind: str
    region: str | None
    file: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    missing: int = 0
    skipped: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for people."""
        verb = "would import" if self.dry_run else "imported"
        text = (
            f"{self.kind}: {verb} {self.added} new, {self.updated} updated, {self.unchanged} unchanged"
            f" from {self.file} in {self.seconds:.1f} s"
        )
        if self.missing:
            text += f"; {self.missing} already known but not in this file (left as they are)"
        if self.skipped:
            text += f"; {self.skipped} rows skipped"
        return text


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_problems(report: ImportReport, problems: list[RowProblem], *, skip_invalid: bool) -> None:
    report.problems = problems
    if problems and not skip_invalid:
        raise DataError(
            f"{report.file}: {len(problems)} row(s) have problems; nothing was imported. Fix them, "
            f"or import the valid rows with --skip-invalid:\n{summarise(problems)}",
            details=[vars(p) for p in problems[:200]],
        )
    report.skipped = len(problems)


def _run(engine: Engine, report: ImportReport, work: Callable[[Session], None], *, started: float) -> ImportReport:
    try:
        with write_session(engine) as session:
            work(session)
            if report.dry_run:
                raise _DryRun
    except _DryRun:
        pass
    report.seconds = time.perf_counter() - started
    return report


def _record_run(session: Session, report: ImportReport, *, region_id: int | None, path: Path, data_timestamp: datetime | None = None) -> None:
    session.add(
        ImportRun(
            kind=report.kind, region_id=region_id, file_name=path.name[:300], file_sha256=file_sha256(path),
            data_timestamp=data_timestamp, added=report.added, updated=report.updated,
            unchanged=report.unchanged, missing=report.missing, skipped=report.skipped,
        )
    )


def import_areas(engine: Engine, *, region: str, path: Path, columns: AreaColumns, data_dir: Path,
                 dry_run: bool = False, skip_invalid: bool = False) -> ImportReport:
    """Upsert small areas by code into ``region``."""
    path = Path(path)
    started = time.perf_counter()
    report = ImportReport(kind="areas", region=region, file=path.name, dry_run=dry_run)
    read = read_areas(path, columns=columns)
    _check_problems(report, read.problems, skip_invalid=skip_invalid)

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
                     skip_invalid: bool = False) -> ImportReport:
    """Upsert postcode centroids by postcode."""
    path = Path(path)
    started = time.perf_counter()
    report = ImportReport(kind="postcodes", region=region, file=path.name, dry_run=dry_run)
    read = read_postcodes(path, columns=columns)
    _check_problems(report, read.problems, skip_invalid=skip_invalid)

    def work(session: Session) -> None:
        region_id = ensure_region(session, region, data_dir=data_dir).id if region else None
        existing = {p.postcode: p for p in session.exec(select(Postcode)).all()}
        for rec in read.records:
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
        _record_run(session, report, region_id=region_id, path=path)

    return _run(engine, report, work, started=started)


# Fields an import owns; everything else on a Place (status, verification, local edits) is left alone.
_IMPORTED_FIELDS = [f for f in PlaceCreate.model_fields if f not in ("status", "verified_at")]


def upsert_places(session: Session, *, region_id: int, source: str, places: list[PlaceCreate],
                  report: ImportReport) -> None:
    """Insert or update places of one source by ``source_id``; count what changed."""
    now = utcnow()
    existing = {
        p.source_id: p
        for p in session.exec(select(Place).where(Place.source == source, Place.region_id == region_id)).all()
    }
    seen: set[str] = set()
    for item in places:
        if item.source_id in seen:
            report.warnings.append(f"{item.source_id} appears twice; the first is kept")
            continue
        seen.add(item.source_id)
        values = item.model_dump(include=set(_IMPORTED_FIELDS))
        check = check_hours(item.opening_hours)
        values["opening_hours_valid"] = None if not item.opening_hours else check.valid
        place = existing.get(item.source_id)
        if place is None:
            session.add(Place(region_id=region_id, status=item.status, verified_at=item.verified_at,
                              imported_at=now, created_at=now, updated_at=now, **values))
            report.added += 1
            continue
        changed = {k: v for k, v in values.items() if getattr(place, k) != v}
        if changed:
            for k, v in changed.items():
                setattr(place, k, v)
            place.imported_at = now
            place.updated_at = now
            report.updated += 1
        else:
            report.unchanged += 1
    report.missing = sum(1 for key in existing if key not in seen)


def import_osm(engine: Engine, *, region: str, path: Path, data_dir: Path, dry_run: bool = False,
               progress: Callable[[int], None] | None = None) -> ImportReport:
    """Read welcoming places from an OSM PBF and upsert them by OSM type and id."""
    from kindmap.ingest.osm import read_osm_places

    path = Path(path)
    started = time.perf_counter()
    report = ImportReport(kind="osm", region=region, file=path.name, dry_run=dry_run)
    read = read_osm_places(path, progress=progress)
    report.warnings.extend(read.warnings)

    def work(session: Session) -> None:
        reg = ensure_region(session, region, data_dir=data_dir)
        upsert_places(session, region_id=reg.id, source="osm", places=read.places, report=report)
        _record_run(session, report, region_id=reg.id, path=path, data_timestamp=read.latest_timestamp)

    return _run(engine, report, work, started=started)
