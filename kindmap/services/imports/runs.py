"""An import run: its report, dry runs, limits, one transaction, and its record in ``ImportRun``.

Every importer (region files, CSV and ORUK places, re-imports, activities) builds on
this module and nothing here imports them back.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from kindmap.db import write_session
from kindmap.errors import DataError
from kindmap.ingest.problems import RowProblem, summarise
from kindmap.models import ImportRun


@dataclass
class ImportReport:
    """What an import did (or, with ``dry_run``, would do): counts and, for places, a change report."""

    kind: str
    region: str | None
    file: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    missing: int = 0  # known to this source but not in this file (whether or not flagged before)
    skipped: int = 0
    possibly_closed: int = 0  # newly flagged possibly closed (missing from a full extract)
    reappeared: int = 0  # flagged before, listed again now
    remapped: int = 0  # the same place listed under a new source id (node -> way...): kept, not flagged
    problems: list[RowProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False
    seconds: float = 0.0
    data_timestamp: datetime | None = None
    previous_data_timestamp: datetime | None = None
    run_id: int | None = None
    report_path: str | None = None
    added_items: list[dict] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)  # updated places with field-level old/new values
    possibly_closed_items: list[dict] = field(default_factory=list)
    reappeared_items: list[dict] = field(default_factory=list)
    remapped_items: list[dict] = field(default_factory=list)  # place_id, name, old_source_id, source_id, note
    duplicates_dropped: int = 0  # no longer listed, but the same place is still listed under another id nearby
    duplicates_dropped_items: list[dict] = field(default_factory=list)
    # The inclusion rule's outcome: {"listings": {listing: count}, "left_out": [{rule, listing, reason, count, names}]}
    inclusion: dict = field(default_factory=dict)

    @property
    def changed(self) -> int:
        """How many places this import changed (0 means the file brought nothing new)."""
        return self.added + self.updated + self.possibly_closed + self.reappeared + self.duplicates_dropped

    def summary(self) -> str:
        """One line for people."""
        verb = "would import" if self.dry_run else "imported"
        text = (
            f"{self.kind}: {verb} {self.added} new, {self.updated} updated, {self.unchanged} unchanged"
            f" from {self.file} in {self.seconds:.1f} s"
        )
        if self.possibly_closed:
            text += f"; {self.possibly_closed} no longer listed, {'would be ' if self.dry_run else ''}flagged possibly closed for review"
        if self.reappeared:
            text += f"; {self.reappeared} listed again after being missing"
        if self.remapped:
            text += f"; {self.remapped} now mapped under a new id (same place, kept)"
        if self.duplicates_dropped:
            text += f"; {self.duplicates_dropped} second drawings removed (queued to merge, not flagged closed)"
        if self.missing and self.missing != self.possibly_closed:
            text += f"; {self.missing} known but not in this file"
        if self.skipped:
            text += f"; {self.skipped} rows skipped"
        per_rule: dict[str, int] = {}
        for e in self.inclusion.get("left_out", []):
            per_rule[e["rule"]] = per_rule.get(e["rule"], 0) + e.get("count", 0)
        if any(per_rule.values()):
            text += "; not listed as welcoming: " + ", ".join(f"{n} {rule}" for rule, n in per_rule.items() if n)
        return text

    def left_out_lines(self, *, names: int = 12) -> list[str]:
        """One line per inclusion rule that left places out of the welcoming list, with up to ``names`` names."""
        lines = []
        for e in self.inclusion.get("left_out", []):
            counted: dict[str, int] = {}
            for name in e.get("names", []):
                counted[name] = counted.get(name, 0) + 1
            shown = ", ".join(f"{n} ×{k}" if k > 1 else n for n, k in list(counted.items())[:names])
            more = len(counted) - names
            tail = f" …and {more} more" if more > 0 else ""
            lines.append(f"{e['count']} {e['listing']} — {e['rule']}: {e['reason']}" + (f" ({shown}{tail})" if shown else ""))
        return lines

    def to_dict(self) -> dict:
        """The change report as plain JSON-able data."""
        out = {k: v for k, v in vars(self).items() if k != "problems"}
        out["problems"] = [vars(p) for p in self.problems]
        out["changed"] = self.changed
        for key in ("data_timestamp", "previous_data_timestamp"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


class DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_problems(report: ImportReport, problems: list[RowProblem], *, skip_invalid: bool) -> None:
    """Abort with every row problem listed, or (with ``skip_invalid``) count them as skipped."""
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
                raise DryRun
    except DryRun:
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
