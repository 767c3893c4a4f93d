"""Open standards in: ``kindmap import csv`` and ``kindmap import oruk`` (exit 2 on bad input)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from kindmap.cli.common import fail, import_app, open_engine, out
from kindmap.config import get_settings
from kindmap.errors import InvalidQuery, KindmapError
from kindmap.ingest.limits import ImportLimits


def _print(result, *, limit: int = 30) -> None:
    report = result.report
    out.print(report.summary(), highlight=False, soft_wrap=True)
    if result.filtered:
        out.print(f"  {result.filtered} rows left out by the mapping's filters", highlight=False)
    if result.hours_converted or result.hours_as_text:
        out.print(f"  opening hours: {result.hours_converted} converted to OSM opening_hours, "
                  f"{result.hours_as_text} kept as text", highlight=False)
    for problem in report.problems[:limit]:
        out.print(f"  skipped {problem}", highlight=False, soft_wrap=True)
    for warning in report.warnings[:limit]:
        out.print(f"  note: {warning}", highlight=False, soft_wrap=True)
    for line in result.dedupe.lines()[:limit]:
        out.print(f"  {line}", highlight=False, soft_wrap=True)
    for item in result.unplaced[:limit]:
        out.print(f"  not on the map (kept for reference): {item.name!r} — {item.reason}", highlight=False, soft_wrap=True)


def _mapping(preset: str | None, mapping_file: Path | None, cols: list[str], *, max_mb: int):
    from kindmap.ingest.csv_places import CsvMapping, mapping_from_dict
    from kindmap.ingest.csv_places import preset as get_preset
    from kindmap.ingest.limits import check_file_size

    if preset and mapping_file:
        raise InvalidQuery("give --preset or --mapping, not both")
    if mapping_file:
        check_file_size(Path(mapping_file), max_mb=max_mb)
        try:
            mapping = mapping_from_dict(json.loads(Path(mapping_file).read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise InvalidQuery(f"cannot read the mapping {mapping_file}: {exc}") from None
    elif preset:
        mapping = get_preset(preset)
    else:
        mapping = CsvMapping()
    for item in cols:
        field, sep, column = item.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise InvalidQuery(f"--col takes FIELD=COLUMN, e.g. --col 'name=Library name'; got {item!r}")
        field = field.strip()
        if field == "category":
            mapping.category = column.strip()
        else:
            mapping = mapping_from_dict({**vars(mapping), "columns": {**mapping.columns, field: column.strip()}})
    if "name" not in mapping.columns:
        raise InvalidQuery("the mapping needs a name column: --col 'name=COLUMN', --mapping FILE or --preset NAME")
    return mapping


@import_app.command("csv")
def import_csv(
    path: Annotated[Path, typer.Argument(help="A CSV file (UTF-8; delimiter , ; or tab is detected).")],
    region: Annotated[str, typer.Option(help="Region slug the places belong to.")],
    kind: Annotated[str, typer.Option(help="place (opportunity and support are not available yet).")] = "place",
    preset: Annotated[Optional[str], typer.Option(help="Built-in mapping: libraries-schema, libraries-england-2023.")] = None,
    mapping: Annotated[Optional[Path], typer.Option(help="A JSON mapping file (see geodata/oruk_mapping.md).")] = None,
    col: Annotated[Optional[list[str]], typer.Option(help="FIELD=COLUMN, e.g. 'name=Library name'; repeatable.")] = None,
    where: Annotated[Optional[list[str]], typer.Option(help="Keep rows where COLUMN=VALUE; repeatable.")] = None,
    source: Annotated[str, typer.Option(help="Source name recorded on the places.")] = "csv",
    encoding: Annotated[str, typer.Option(help="Text encoding, e.g. cp1252 for old Excel exports.")] = "utf-8",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and report; change nothing.")] = False,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Import the valid rows, report the rest.")] = False,
    no_dedupe: Annotated[bool, typer.Option("--no-dedupe", help="Do not merge with places from other sources.")] = False,
) -> None:
    """Import places from a CSV file with a column mapping; postcodes without coordinates are geocoded."""
    from kindmap.services.imports.places import import_csv as run

    settings = get_settings()
    try:
        chosen = _mapping(preset, mapping, col or [], max_mb=settings.max_upload_mb)
        for item in where or []:
            column, sep, value = item.partition("=")
            if not sep:
                raise InvalidQuery(f"--where takes COLUMN=VALUE; got {item!r}")
            chosen.where[column.strip()] = value.strip()
        result = run(open_engine(settings), region=region, path=path, mapping=chosen, data_dir=settings.data_dir,
                     kind=kind, source=source[:40], encoding=encoding, dry_run=dry_run, skip_invalid=skip_invalid,
                     dedupe=not no_dedupe, limits=ImportLimits.from_settings(settings))
    except KindmapError as exc:
        fail(exc)
    _print(result)


@import_app.command("oruk")
def import_oruk(
    path: Annotated[Path, typer.Argument(help="Open Referral UK JSON: a service, a list, or a page with 'contents'.")],
    region: Annotated[str, typer.Option(help="Region slug the places belong to.")],
    category: Annotated[str, typer.Option(help="Category when a service has no kindmap taxonomy term.")] = "other",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and report; change nothing.")] = False,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Import the valid records, report the rest.")] = False,
) -> None:
    """Import Open Referral UK services (validated against the HSDS 3.0 UK profile first)."""
    from kindmap.services.imports.places import import_oruk as run

    settings = get_settings()
    try:
        result = run(open_engine(settings), region=region, path=path, data_dir=settings.data_dir,
                     default_category=category, dry_run=dry_run, skip_invalid=skip_invalid,
                     limits=ImportLimits.from_settings(settings))
    except KindmapError as exc:
        fail(exc)
    _print(result)
