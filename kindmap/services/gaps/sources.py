"""The data behind a gap analysis, with dates and licences, for the report and the council page.

What was imported into a region (``ImportRun``: file, when, the newest date inside it) joined to the
region manifest's licence and attribution for the same file. A file imported without a manifest
entry is listed with "licence not recorded", never left out.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from kindmap.errors import KindmapError
from kindmap.models.imports import ImportRun

ROLE_WORDS = {"osm": "Places and paths (OpenStreetMap)", "areas": "Small areas, households and deprivation",
              "postcodes": "Postcode centroids (where households are counted)", "libraries": "Council libraries",
              "csv": "Places from a spreadsheet", "oruk": "Places from Open Referral UK", "activities": "Activities"}
LICENCE_WORDS = {"ODbL-1.0": "Open Database Licence 1.0", "OGL-UK-3.0": "Open Government Licence v3.0",
                 "CC0-1.0": "CC0 1.0", "MIT": "MIT"}


def _day(value: datetime | None) -> str | None:
    return f"{value.day} {value:%B %Y}" if value else None


def data_sources(session: Session, region_id: int, slug: str) -> list[dict]:
    """One row per file imported into the region (newest import of each file): what, date, licence."""
    from kindmap.ingest.manifest import load_manifest

    try:
        entries = {f.path.rsplit("/", 1)[-1]: f for f in load_manifest(slug).files}
    except KindmapError:
        entries = {}
    runs = session.exec(select(ImportRun).where(ImportRun.region_id == region_id)
                        .order_by(ImportRun.finished_at.desc())).all()
    seen, rows = set(), []
    for run in runs:
        if run.file_name in seen:
            continue
        seen.add(run.file_name)
        entry = entries.get(run.file_name)
        options = entry.options if entry else {}
        dated = options.get("latest_edit") or options.get("snapshot") or _day(run.data_timestamp)
        rows.append({
            "what": ROLE_WORDS.get(entry.role if entry else run.kind, run.kind),
            "file": run.file_name,
            "data_date": str(dated) if dated else None,
            "imported": _day(run.finished_at),
            "licence": LICENCE_WORDS.get(entry.licence, entry.licence) if entry else "licence not recorded",
            "attribution": entry.attribution if entry else None,
        })
    return rows
