"""``kindmap import activities PATH --kind opportunity|support`` and ``kindmap demo-activities``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from kindmap.cli.common import app, fail, import_app, open_engine, out
from kindmap.config import get_settings
from kindmap.errors import InvalidQuery, KindmapError
from kindmap.ingest.limits import ImportLimits


def parse_columns(pairs: list[str]) -> dict[str, str]:
    """['title=Activity', …] → {'title': 'Activity'}; ``InvalidQuery`` on a malformed pair."""
    mapping = {}
    for pair in pairs:
        field, eq, header = pair.partition("=")
        if not eq or not field.strip() or not header.strip():
            raise InvalidQuery(f"--column takes FIELD=HEADER, e.g. --column title=Activity (got {pair!r})")
        mapping[field.strip()] = header.strip()
    return mapping


@import_app.command("activities")
def import_activities_cmd(
    path: Annotated[Path, typer.Argument(help="A UTF-8 CSV file.")],
    kind: Annotated[str, typer.Option(help="opportunity or support.")],
    column: Annotated[Optional[list[str]], typer.Option(help="FIELD=HEADER for a differently named column; repeatable.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would change; write nothing.")] = False,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Import the valid rows; report the rest.")] = False,
    demo_db: Annotated[bool, typer.Option("--demo", help="Import into the demo database.")] = False,
) -> None:
    """Import opportunities or support services (one transaction; upserts on source + source_id)."""
    from kindmap.services.imports.activities import import_activities

    try:
        if kind not in ("opportunity", "support"):
            raise InvalidQuery("--kind must be 'opportunity' or 'support'")
        settings = get_settings()
        engine = open_engine(settings, demo=demo_db)
        report = import_activities(engine, path=path, kind=kind, columns=parse_columns(column or []),
                                   dry_run=dry_run, skip_invalid=skip_invalid,
                                   limits=ImportLimits.from_settings(settings))
    except KindmapError as exc:
        fail(exc)
    out.print(report.summary(), highlight=False, soft_wrap=True)
    for problem in report.problems[:20]:
        out.print(f"  skipped {problem}", highlight=False, soft_wrap=True)


@app.command("sample-activities")
def sample_activities(
    region: Annotated[str, typer.Option(help="Region slug.")] = "rutland",
    demo_db: Annotated[bool, typer.Option("--demo/--no-demo", help="Use the demo database (default).")] = True,
) -> None:
    """Add clearly marked sample opportunities and support at real places (for demonstrations)."""
    from kindmap.services.catalogue.activities import seed_sample_activities

    try:
        added = seed_sample_activities(open_engine(get_settings(), demo=demo_db), region=region)
    except KindmapError as exc:
        fail(exc)
    out.print(f"added {added} sample item(s), each titled 'Sample activity — for demonstration'", highlight=False)
