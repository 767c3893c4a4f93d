"""Import opportunities or support services from CSV: one transaction, upsert on source + source_id."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, select

from kindmap.db import write_session
from kindmap.errors import InvalidQuery
from kindmap.ingest.limits import ImportLimits
from kindmap.models import Place
from kindmap.models.activities import Opportunity, SupportService
from kindmap.services.catalogue.activities import (
    create_opportunity,
    create_support,
    replace_opportunity,
    replace_support,
)


def _resolve_place_name(session: Session, name: str) -> int:
    matches = session.exec(select(Place.id).where(Place.name == name)).all()
    if len(matches) != 1:
        raise InvalidQuery(f"place_name: {'no' if not matches else len(matches)} place(s) called {name!r}; use place_id")
    return matches[0]


def import_activities(engine: Engine, *, path: Path, kind: str, columns: dict[str, str] | None = None,
                      dry_run: bool = False, skip_invalid: bool = False, limits: ImportLimits | None = None):
    """Import opportunities or support services from CSV in one transaction (upsert on source + source_id).

    Refused whole, before anything is written, past ``limits`` (see ``kindmap.ingest.limits.import_limits``).
    """
    from kindmap.ingest.activities_csv import read_activities
    from kindmap.ingest.limits import import_limits
    from kindmap.ingest.problems import RowProblem
    from kindmap.services.imports.runs import DryRun, ImportReport, check_problems

    started = time.perf_counter()
    read = read_activities(path, kind=kind, columns=columns, limits=import_limits(limits))
    report = ImportReport(kind=f"activities/{kind}", region=None, file=Path(path).name, dry_run=dry_run)
    table, create, replace = ((Opportunity, create_opportunity, replace_opportunity) if kind == "opportunity"
                              else (SupportService, create_support, replace_support))
    problems = list(read.problems)
    try:
        with write_session(engine) as session:
            for item in read.rows:
                record = item.record
                try:
                    if item.place_name and record.place_id is None and record.lon is None:
                        record.place_id = _resolve_place_name(session, item.place_name)
                    existing = None
                    if record.source_id:
                        existing = session.exec(select(table).where(table.source == record.source,
                                                                    table.source_id == record.source_id)).first()
                    with session.begin_nested():
                        if existing is None:
                            create(session, record)
                            report.added += 1
                        else:
                            replace(session, existing.id, record)
                            report.updated += 1
                except InvalidQuery as exc:
                    field, _, message = exc.message.partition(": ")
                    problems.append(RowProblem(item.row, read.columns.get(field, field) if message else None, message or exc.message))
            problems.sort(key=lambda p: p.row)
            report.skipped = len(problems)
            check_problems(report, problems, skip_invalid=skip_invalid)
            if dry_run:
                raise DryRun
    except DryRun:
        pass
    report.seconds = time.perf_counter() - started
    return report
