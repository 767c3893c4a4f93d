"""Core commands: serve, demo, near, import osm/areas/postcodes/region, region list/add."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from kindmap.cli.common import (
    app,
    err,
    fail,
    import_app,
    open_engine,
    osm_progress,
    out,
    region_app,
)
from kindmap.config import ATTRIBUTION, Settings, get_settings
from kindmap.errors import InvalidQuery, KindmapError
from kindmap.hours import parse_windows
from kindmap.ingest.limits import ImportLimits


def _print_reports(reports) -> None:
    for report in reports:
        out.print(report.summary(), highlight=False, soft_wrap=True)
        for problem in report.problems[:20]:
            out.print(f"  skipped {problem}", highlight=False, soft_wrap=True)
        for warning in report.warnings[:10]:
            out.print(f"  note: {warning}", highlight=False, soft_wrap=True)


@app.command()
def demo(force: Annotated[bool, typer.Option(help="Re-import even if the same files were imported before.")] = False) -> None:
    """Build the Rutland demo database from the verified files in the data directory."""
    settings = get_settings()
    try:
        _build_demo(settings, force=force)
    except KindmapError as exc:
        fail(exc)


def _build_demo(settings: Settings, *, force: bool = False) -> None:
    from kindmap.services.imports.demo import build_demo

    engine = open_engine(settings, demo=True)
    progress, tick = osm_progress()
    with progress:
        reports, samples = build_demo(engine, settings=settings, force=force, osm_progress=tick,
                                      on_step=lambda s: err.print(s, style="dim", highlight=False))
    if reports:
        _print_reports(reports)
    else:
        out.print("demo database is up to date", highlight=False)
    if samples:
        out.print(f"added {samples} clearly marked sample activities", highlight=False)


@app.command()
def serve(
    demo: Annotated[bool, typer.Option("--demo", help="Serve the Rutland demo (built first if needed).")] = False,
    host: Annotated[str, typer.Option(help="Interface to listen on (0.0.0.0 for every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=16, help="Server processes (each loads the catalogue).")] = 1,
) -> None:
    """Serve the public map and the API (the database is KINDMAP_DATABASE_URL, or else the demo)."""
    from kindmap.logs import configure_logging

    settings = get_settings()  # already checked by the app callback (cli/common.py)
    try:
        configure_logging(settings)
        if demo:
            _build_demo(settings)
    except KindmapError as exc:
        fail(exc)
    from kindmap.api.server import run

    out.print(f"kindmap on http://{host}:{port}  (API docs at /docs)", highlight=False)
    run(host=host, port=port, workers=workers, demo=demo, settings=settings)


@app.command()
def near(
    query: Annotated[Optional[str], typer.Argument(help="A postcode, e.g. 'LE15 6HP'.")] = None,
    lon: Annotated[Optional[float], typer.Option(help="Longitude (EPSG:4326) instead of a postcode.")] = None,
    lat: Annotated[Optional[float], typer.Option(help="Latitude (EPSG:4326).")] = None,
    radius: Annotated[Optional[float], typer.Option(help="Radius in metres.")] = None,
    category: Annotated[Optional[list[str]], typer.Option(help="Category slug; repeatable.")] = None,
    free: Annotated[bool, typer.Option("--free", help="Only places known to be free.")] = False,
    wheelchair: Annotated[bool, typer.Option("--wheelchair", help="Only wheelchair-accessible places.")] = False,
    open_at: Annotated[Optional[datetime], typer.Option(help="Only places open then (local time).")] = None,
    minutes: Annotated[Optional[float], typer.Option(help="Only places within this many minutes' walk.")] = None,
    profile: Annotated[Optional[str], typer.Option(help="Walking profile: walk, slow or step_free.")] = None,
    window: Annotated[Optional[list[str]], typer.Option(help="Free time, e.g. 'Mon 10:00-12:00,Thu 14:00-16:00'; repeatable.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print the GeoJSON the API returns.")] = False,
    demo_db: Annotated[bool, typer.Option("--demo", help="Search the demo database.")] = False,
) -> None:
    """Welcoming places near a postcode or point, nearest first (by walking time with --minutes)."""
    from kindmap.db import read_session
    from kindmap.schemas import place_collection
    from kindmap.services.catalogue.search import SearchQuery, search_places

    settings = get_settings()
    try:
        engine = open_engine(settings, demo=demo_db)
        if query is None and lon is None:
            raise InvalidQuery("give a postcode, or --lon and --lat")
        if radius is not None and radius <= 0:
            raise InvalidQuery("--radius must be more than 0 metres")
        windows = [w for text in window or [] for w in parse_windows(text)]
        q = SearchQuery(lon=lon, lat=lat, postcode=query, radius_m=radius, categories=category or [],
                        free=True if free else None, wheelchair=True if wheelchair else None, open_at=open_at,
                        windows=windows, max_walk_minutes=minutes, profile=profile, limit=limit)
        if minutes is not None:
            ensure_network_for_cli(settings)
        with read_session(engine) as session:
            result = search_places(session, q, settings=settings)
    except KindmapError as exc:
        fail(exc)
    if as_json:
        sys.stdout.write(place_collection(result, attribution=ATTRIBUTION, tz=settings.timezone).model_dump_json(indent=1) + "\n")
        return
    if result.max_walk_minutes is not None:
        how = "on paths" if result.travel == "network" else "estimated from straight-line distance"
        title = f"{result.total} place(s) within {result.max_walk_minutes:g} min walk ({result.profile}, {how})"
    elif result.radius_m:
        title = f"{result.total} place(s) within {result.radius_m:g} m"
    else:
        title = f"{result.total} place(s)"
    table = Table(title=title)
    columns = ["walk", "distance", "name", "category", "open", "free"] + (["next open"] if windows else [])
    for col in columns:
        table.add_column(col)
    for hit in result.hits:
        row = [
            "" if hit.walk_minutes is None else f"{hit.walk_minutes:.0f} min",
            "" if hit.distance_m is None else f"{hit.distance_m:,.0f} m", hit.place.name, hit.place.category,
            {True: "open", False: "closed", None: "?"}[hit.open], {True: "free", False: "paid", None: "?"}[hit.place.free_to_use],
        ]
        if windows:
            row.append(hit.next_open.strftime("%a %H:%M") if hit.next_open else "")
        table.add_row(*row)
    out.print(table)


def ensure_network_for_cli(settings: Settings) -> None:
    """Build missing walking networks for regions that have an OSM extract (quietly; ~0.3 s each)."""
    from kindmap.ingest.manifest import known_regions
    from kindmap.services.imports.demo import ensure_network

    for slug in known_regions():
        try:
            ensure_network(settings, region=slug)
        except KindmapError:
            continue  # a region whose files are absent simply has no network yet


@app.command("network")
def network_build(
    region: Annotated[str, typer.Option(help="Region slug, e.g. rutland.")],
    pbf: Annotated[Optional[Path], typer.Argument(
        help="OSM extract; defaults to the region manifest's, or the one last imported for the region.")] = None,
    demo_db: Annotated[bool, typer.Option("--demo")] = False,
) -> None:
    """Build (or rebuild) the walking network of any region in the database (or with a manifest)."""
    from kindmap.db import read_session
    from kindmap.ingest.manifest import ensure_file, known_regions, load_manifest
    from kindmap.services.imports.coverage import build_clipped_network, network_source
    from kindmap.services.regions import find_region
    from kindmap.services.walking import network_path

    settings = get_settings()
    try:
        if region not in known_regions():
            with read_session(open_engine(settings, demo=demo_db)) as session:
                find_region(session, region)  # NotFound names the regions there are
        if pbf is None and region in known_regions():
            entry = load_manifest(region).file("osm")
            pbf = ensure_file(entry, data_dir=settings.data_dir, timeout_s=settings.download_timeout_s)
        elif pbf is None:
            pbf = network_source(settings, region)
            if pbf is None:
                raise InvalidQuery(f"region {region!r} has no manifest naming its OpenStreetMap extract and none was "
                                   f"imported here; give the extract: kindmap network --region {region} FILE "
                                   f"(or kindmap import osm FILE --region {region}, which also builds the network)")
        network = build_clipped_network(open_engine(settings, demo=demo_db), settings=settings, region=region,
                                        path=pbf)
    except KindmapError as exc:
        fail(exc)
    out.print(f"{region}: {network.n_nodes:,} nodes, {network.n_edges:,} edges, {network.total_km:,.0f} km of walkable "
              f"paths → {network_path(settings, region)}", highlight=False)


@import_app.command("areas")
def import_areas_cmd(
    path: Annotated[Path, typer.Argument(help="GeoJSON/GeoPackage of small areas.")],
    region: Annotated[str, typer.Option(help="Region slug.")],
    code_col: Annotated[Optional[str], typer.Option(help="Column with the area code.")] = None,
    name_col: Annotated[Optional[str], typer.Option(help="Column with the area name.")] = None,
    rank_col: Annotated[Optional[str], typer.Option(help="Column with the deprivation rank.")] = None,
    decile_col: Annotated[Optional[str], typer.Option(help="Column with the deprivation decile (1 = most deprived).")] = None,
    population_col: Annotated[Optional[str], typer.Option()] = None,
    households_col: Annotated[Optional[str], typer.Option()] = None,
    index_name: Annotated[Optional[str], typer.Option(help="e.g. 'IMD 2019', 'SIMD 2020'.")] = None,
    kind: Annotated[Optional[str], typer.Option(help="e.g. 'LSOA 2011', 'Data zone 2011'.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run")] = False,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Import the valid rows; report the rest.")] = False,
    demo_db: Annotated[bool, typer.Option("--demo")] = False,
) -> None:
    """Import small areas with deprivation figures; column names default to the region manifest's."""
    import dataclasses

    from kindmap.services.imports.files import import_areas

    settings = get_settings()
    try:
        defaults = _manifest_area_columns(region, path)
        # The manifest's other columns (ward, score, method) come along with the options' overrides.
        columns = dataclasses.replace(
            defaults, code=code_col or defaults.code, name=name_col or defaults.name, rank=rank_col or defaults.rank,
            decile=decile_col or defaults.decile, population=population_col or defaults.population,
            households=households_col or defaults.households, index_name=index_name or defaults.index_name,
            kind=kind or defaults.kind,
        )
        if not columns.code or not columns.name:
            raise InvalidQuery("name the area code and name columns with --code-col and --name-col")
        report = import_areas(open_engine(settings, demo=demo_db), region=region, path=path, columns=columns,
                              data_dir=settings.data_dir, dry_run=dry_run, skip_invalid=skip_invalid,
                              limits=ImportLimits.from_settings(settings))
    except KindmapError as exc:
        fail(exc)
    _print_reports([report])


def _manifest_area_columns(region: str, path: Path):
    """The column mapping from the region manifest when it describes this file, else empty."""
    from kindmap.ingest.areas import AreaColumns
    from kindmap.ingest.manifest import known_regions, load_manifest
    from kindmap.services.imports.demo import area_columns

    if region in known_regions():
        for entry in load_manifest(region).files:
            # The region's areas file, or an older one it keeps as a reference (Rutland's LSOA 2011 with IMD 2019).
            if entry.role in ("areas", "reference") and "code" in entry.columns and Path(entry.path).name == Path(path).name:
                return area_columns(entry)
    return AreaColumns(code="", name="")


@import_app.command("postcodes")
def import_postcodes_cmd(
    path: Annotated[Path, typer.Argument(help="CSV of postcode centroids.")],
    region: Annotated[Optional[str], typer.Option(help="Region slug the postcodes belong to.")] = None,
    postcode_col: Annotated[Optional[str], typer.Option()] = None,
    lon_col: Annotated[Optional[str], typer.Option()] = None,
    lat_col: Annotated[Optional[str], typer.Option()] = None,
    area_col: Annotated[Optional[str], typer.Option(help="Column with the small-area code.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run")] = False,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid")] = False,
    demo_db: Annotated[bool, typer.Option("--demo")] = False,
) -> None:
    """Import postcode centroids (columns are detected; override with the options)."""
    from kindmap.services.imports.files import import_postcodes

    settings = get_settings()
    columns = {k: v for k, v in {"postcode": postcode_col, "lon": lon_col, "lat": lat_col, "area_code": area_col}.items() if v}
    try:
        report = import_postcodes(open_engine(settings, demo=demo_db), path=path, region=region, columns=columns,
                                  data_dir=settings.data_dir, dry_run=dry_run, skip_invalid=skip_invalid,
                                  limits=ImportLimits.from_settings(settings))
    except KindmapError as exc:
        fail(exc)
    _print_reports([report])


@import_app.command("region")
def import_region_cmd(
    region: Annotated[str, typer.Argument(help="A region with a manifest in geodata/regions, e.g. rutland.")],
    force: Annotated[bool, typer.Option(help="Re-import even if unchanged.")] = False,
    demo_db: Annotated[bool, typer.Option("--demo")] = False,
) -> None:
    """Verify and import every file a region manifest names (areas, postcodes, OSM)."""
    from kindmap.services.imports.demo import import_region

    settings = get_settings()
    try:
        progress, tick = osm_progress()
        with progress:
            reports = import_region(open_engine(settings, demo=demo_db), settings=settings, region=region, force=force, osm_progress=tick)
    except KindmapError as exc:
        fail(exc)
    _print_reports(reports) if reports else out.print("already up to date")


@region_app.command("list")
def region_list(demo_db: Annotated[bool, typer.Option("--demo")] = False) -> None:
    """Regions in the database and those with a manifest."""
    from sqlmodel import select

    from kindmap.db import read_session
    from kindmap.ingest.manifest import known_regions
    from kindmap.models import Region

    with read_session(open_engine(get_settings(), demo=demo_db)) as session:
        loaded = {r.slug: r for r in session.exec(select(Region)).all()}
    for slug in sorted(set(loaded) | set(known_regions())):
        out.print(f"{slug}\t{'loaded' if slug in loaded else 'manifest only'}", highlight=False)


@region_app.command("add")
def region_add(
    slug: Annotated[str, typer.Argument()],
    name: Annotated[str, typer.Option()],
    code: Annotated[Optional[str], typer.Option(help="GSS code, e.g. E06000017.")] = None,
    boundary: Annotated[Optional[Path], typer.Option(help="Boundary file (GeoJSON/GeoPackage).")] = None,
    demo_db: Annotated[bool, typer.Option("--demo")] = False,
) -> None:
    """Add a region that has no manifest."""
    from kindmap.db import write_session
    from kindmap.services.regions import add_region

    try:
        with write_session(open_engine(get_settings(), demo=demo_db)) as session:
            add_region(session, slug=slug, name=name, code=code, boundary=boundary)
    except KindmapError as exc:
        fail(exc)
    out.print(f"added region {slug}")
