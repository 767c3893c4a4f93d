"""Trust commands: safe OSM re-import with a change report, the review queue, local facts, freshness."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from kindmap.cli.common import app, fail, import_app, open_engine, osm_progress, out
from kindmap.config import get_settings
from kindmap.errors import InvalidQuery, KindmapError
from kindmap.ingest.limits import ImportLimits

review_app = typer.Typer(help="The review queue: possibly closed places, duplicates, problem reports.", no_args_is_help=True)
facts_app = typer.Typer(help="Local facts: council and moderator edits that survive re-imports.", no_args_is_help=True)
app.add_typer(review_app, name="review")
app.add_typer(facts_app, name="facts")


def print_change_report(report, *, details: int = 15) -> None:
    """The summary line, then the first few added, updated (with fields) and possibly closed places."""
    out.print(report.summary(), highlight=False, soft_wrap=True)
    for warning in report.warnings[:10]:
        out.print(f"  note: {warning}", highlight=False, soft_wrap=True)
    for item in report.added_items[:details]:
        out.print(f"  + {item['name']} ({item['source_id']})", highlight=False, soft_wrap=True)
    for change in report.changes[:details]:
        fields = ", ".join(f"{k}: {v['old']!r} → {v['new']!r}{' (local fact kept)' if v['kept_local_fact'] else ''}"
                           for k, v in change["fields"].items() if k != "footprint_geojson")
        moved = " footprint changed;" if "footprint_geojson" in change["fields"] else ""
        out.print(f"  ~ {change['name']} ({change['source_id']}):{moved} {fields}", highlight=False, soft_wrap=True)
    for item in report.remapped_items[:details]:
        out.print(f"  = {item['name']} ({item['old_source_id']}) {item['note']}", highlight=False, soft_wrap=True)
    for item in report.duplicates_dropped_items[:details]:
        out.print(f"  = {item['name']} ({item['source_id']}) no longer listed but {item['note']}: queued to merge",
                  highlight=False, soft_wrap=True)
    for item in report.possibly_closed_items[:details]:
        out.print(f"  ? {item['name']} ({item['source_id']}) no longer listed: possibly closed, queued for review",
                  highlight=False, soft_wrap=True)
    lines = report.left_out_lines()
    if lines:
        out.print("not listed as welcoming places (geodata/inclusion.json; a moderator can decide one place with "
                  "'kindmap facts set ID --set listing=welcoming'):", highlight=False, soft_wrap=True)
    for line in lines:
        out.print(f"  - {line}", highlight=False, soft_wrap=True)
    if report.report_path:
        out.print(f"change report saved to {report.report_path}", highlight=False, soft_wrap=True)


# Replaces the plain `import osm` from cli/core.py (registered later, so Typer uses this one):
# same arguments plus --force, and the change report.
@import_app.command("osm")
def import_osm_cmd(
    path: Annotated[Path, typer.Argument(help="An OSM PBF extract of the whole region.")],
    region: Annotated[str, typer.Option(help="Region slug, e.g. rutland.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would change; write nothing.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Import an older extract, or one that does not overlap the region.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the change report as JSON.")] = False,
    demo_db: Annotated[bool, typer.Option("--demo", help="Write to the demo database.")] = False,
) -> None:
    """Import (or re-import) welcoming places from OSM and build the region's walking network: adds,
    updates OSM fields, flags missing places for review, and says how much of the region the extract covers."""
    from kindmap.services.imports.coverage import import_osm_step, preview_osm_import

    settings = get_settings()
    step = None
    try:
        engine = open_engine(settings, demo=demo_db)
        progress, tick = osm_progress()
        with progress:
            if dry_run:
                report = preview_osm_import(engine, settings=settings, region=region, path=path, force=force,
                                            progress=tick, limits=ImportLimits.from_settings(settings))
            else:
                step = import_osm_step(engine, settings=settings, region=region, path=path, force=force, progress=tick,
                                       limits=ImportLimits.from_settings(settings))
                report = step.report
    except KindmapError as exc:
        fail(exc)
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=1, default=str) + "\n")
    else:
        print_change_report(report)
        if step is not None:
            cov = step.coverage
            out.print(f"walking network: {step.network_nodes:,} nodes, {step.network_edges:,} edges, "
                      f"{step.network_km:,.0f} km", highlight=False)
            if cov.areas:
                out.print(f"map data covers {cov.wholly} small areas wholly, {cov.partly} partly, {cov.outside} not at all"
                          + (f"; no map data (not 'no access') in wards: {', '.join(cov.no_data_wards())}"
                             if cov.outside else ""), highlight=False, soft_wrap=True)


def _parse_changes(pairs: list[str]) -> dict:
    """``field=value`` pairs; values are JSON when they parse (true, 3, null), else text."""
    changes: dict = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name.strip():
            raise InvalidQuery(f"--set takes field=value, e.g. warm_hospitality=true (got {pair!r})")
        try:
            changes[name.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            changes[name.strip()] = raw
    return changes


@review_app.command("list")
def review_list(
    kind: Annotated[Optional[str], typer.Option(help="possibly_closed, duplicate, problem_report, suggestion…")] = None,
    status: Annotated[str, typer.Option(help="open, resolved or all.")] = "open",
    region: Annotated[Optional[str], typer.Option(help="Region slug.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    demo_db: Annotated[bool, typer.Option("--demo")] = False,
) -> None:
    """Items waiting for a decision, oldest first."""
    from kindmap.db import read_session
    from kindmap.services.community.review import ReviewFilter, list_review_items
    from kindmap.services.regions import find_region

    try:
        with read_session(open_engine(get_settings(), demo=demo_db)) as session:
            region_id = find_region(session, region).id if region else None
            items, total = list_review_items(session, ReviewFilter(kind=kind, status=None if status == "all" else status,
                                                                   region_id=region_id, limit=limit))
    except KindmapError as exc:
        fail(exc)
    if as_json:
        rows = [{"id": i.id, "kind": i.kind.value, "status": i.status.value, "place_id": i.place_id,
                 "related_place_id": i.related_place_id, "evidence": i.evidence(), "created_at": i.created_at} for i in items]
        sys.stdout.write(json.dumps({"total": total, "items": rows}, indent=1, default=str) + "\n")
        return
    table = Table(title=f"{total} review item(s)")
    for column in ("id", "kind", "status", "place", "related", "evidence"):
        table.add_column(column)
    for i in items:
        ev = i.evidence()
        brief = ", ".join(f"{k}={v}" for k, v in ev.items() if k in ("name", "source_id", "last_edited_on_source", "distance_m"))
        table.add_row(str(i.id), i.kind.value, i.status.value, str(i.place_id or ""), str(i.related_place_id or ""), brief)
    out.print(table)


@review_app.command("resolve")
def review_resolve(
    item_id: Annotated[int, typer.Argument(help="Review item id.")],
    outcome: Annotated[str, typer.Argument(help="confirm_closed, keep, merge, edit or dismiss.")],
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="For edit: field=value (repeatable).")] = None,
    note: Annotated[Optional[str], typer.Option(help="For edit: a public note, e.g. 'free tea on Tuesdays'.")] = None,
    keep_id: Annotated[Optional[int], typer.Option(help="For merge: the place to keep (default: the item's place).")] = None,
    demo_db: Annotated[bool, typer.Option("--demo")] = False,
) -> None:
    """Decide one review item."""
    from kindmap.db import write_session
    from kindmap.services.community.review import resolve_review_item

    try:
        changes = _parse_changes(set_ or [])
        if note:
            changes["note"] = note
        if keep_id is not None:
            changes["keep_id"] = keep_id
        with write_session(open_engine(get_settings(), demo=demo_db)) as session:
            item = resolve_review_item(session, item_id, outcome=outcome, changes=changes, by_role="moderator")
            done = item.resolution_json
    except KindmapError as exc:
        fail(exc)
    out.print(f"review item {item_id}: {outcome} {done}", highlight=False, soft_wrap=True)


@facts_app.command("set")
def facts_set(
    place_id: Annotated[int, typer.Argument(help="Place id.")],
    set_: Annotated[list[str], typer.Option("--set", help="field=value (repeatable), e.g. quiet_space=true.")],
    note: Annotated[Optional[str], typer.Option(help="A public note, e.g. 'quiet room available'.")] = None,
    demo_db: Annotated[bool, typer.Option("--demo")] = False,
) -> None:
    """Record local facts for a place; they override imported values and survive re-imports."""
    from kindmap.db import write_session
    from kindmap.services.community.review import set_local_facts

    try:
        with write_session(open_engine(get_settings(), demo=demo_db)) as session:
            changed = set_local_facts(session, place_id, _parse_changes(set_), note=note, source="council")
    except KindmapError as exc:
        fail(exc)
    out.print(f"place {place_id}: {len(changed)} field(s) changed, all checked today", highlight=False)


@app.command()
def freshness(
    region: Annotated[str, typer.Option(help="Region slug, e.g. rutland.")],
    stale_after_days: Annotated[Optional[int], typer.Option(min=1, help="Default KINDMAP_STALE_AFTER_DAYS or 365.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    demo_db: Annotated[bool, typer.Option("--demo")] = False,
) -> None:
    """How fresh a region's places are: by category and small area, and the oldest records to check next."""
    from kindmap.db import read_session
    from kindmap.services.catalogue.freshness import region_freshness

    days = stale_after_days or get_settings().stale_after_days
    try:
        with read_session(open_engine(get_settings(), demo=demo_db)) as session:
            summary = region_freshness(session, region, stale_after_days=days)
    except KindmapError as exc:
        fail(exc)
    if as_json:
        from dataclasses import asdict

        sys.stdout.write(json.dumps(asdict(summary), indent=1, default=str) + "\n")
        return
    pct = lambda s: "-" if not s.places else f"{100 * s.fresh / s.places:.0f}%"  # noqa: E731
    out.print(f"{summary.total.label}: {summary.total.fresh} of {summary.total.places} places ({pct(summary.total)}) "
              f"confirmed in the last {days} days; {summary.total.checked_by_person} checked by a person; "
              f"{summary.possibly_closed} possibly closed", highlight=False, soft_wrap=True)
    for title, shares in (("by category", summary.by_category), ("by small area", summary.by_area)):
        table = Table(title=title)
        for column in ("", "places", "fresh", "share", "checked by a person"):
            table.add_column(column)
        for s in shares:
            table.add_row(s.label, str(s.places), str(s.fresh), pct(s), str(s.checked_by_person))
        out.print(table)
    table = Table(title="check next (oldest first)")
    for column in ("id", "name", "category", "checked on", "edited on OSM", "note"):
        table.add_column(column)
    for r in summary.oldest:
        day = lambda d: f"{d:%Y-%m-%d}" if d else "never"  # noqa: E731
        table.add_row(str(r["place_id"]), r["name"], r["category"], day(r["checked_on"]), day(r["edited_on_source"]),
                      "possibly closed" if r["possibly_closed"] else "")
    out.print(table)
