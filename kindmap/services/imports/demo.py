"""Load a whole region from its manifest (verified files), and the Rutland demo."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine
from sqlmodel import select

from kindmap.config import Settings
from kindmap.db import read_session
from kindmap.ingest.areas import AreaColumns
from kindmap.ingest.limits import ImportLimits
from kindmap.ingest.osm_extent import extract_extent
from kindmap.models import ImportRun
from kindmap.services.imports.council import import_postcodes_into_areas
from kindmap.services.imports.coverage import record_coverage
from kindmap.services.imports.files import import_areas, import_osm, import_postcodes
from kindmap.services.imports.runs import ImportReport
from kindmap.services.walking import build_region_network, network_path

DEMO_REGION = "rutland"
# The roles imported, in order: areas first so postcodes and places land in a known region.
ROLES = ("areas", "postcodes", "osm")


def area_columns(entry) -> AreaColumns:
    """The area column mapping a manifest entry declares."""
    cols, opts = entry.columns, entry.options
    return AreaColumns(code=cols["code"], name=cols["name"], rank=cols.get("rank"), decile=cols.get("decile"),
                       population=cols.get("population"), households=cols.get("households"),
                       index_name=opts.get("index_name"), kind=opts.get("kind", "Small area"),
                       score=cols.get("score"), method=cols.get("method"), index_col=cols.get("index_name"),
                       ward_code=cols.get("ward_code"), ward_name=cols.get("ward_name"))


def council_filter(manifest, entry) -> str | None:
    """The OGR filter for a national table's rows of this region (``options.council_column`` = the
    manifest's GSS code), or None for a file that holds only the region."""
    column = entry.options.get("council_column")
    if not column:
        return None
    from kindmap.ingest.national import COUNCIL_CODE

    if not (manifest.code and COUNCIL_CODE.match(manifest.code) and column.isidentifier()):
        from kindmap.errors import DataError

        raise DataError(f"region manifest {manifest.slug!r}: council_column needs a council GSS code "
                        f"(e.g. E06000017) as the manifest's code, not {manifest.code!r}")
    return f"{column} = '{manifest.code}'"


def _already_imported(engine: Engine, hashes: set[str]) -> bool:
    with read_session(engine) as session:
        done = set(session.exec(select(ImportRun.file_sha256)).all())
    return hashes <= done


def import_region(engine: Engine, *, settings: Settings, region: str, force: bool = False,
                  osm_progress: Callable[[int], None] | None = None,
                  on_step: Callable[[str], None] | None = None) -> list[ImportReport]:
    """Verify (or download) a region's files and import its areas, postcodes and OSM places.

    Skips the work when the same files (by sha256) were imported before, unless ``force``.
    """
    from kindmap.ingest.manifest import ensure_file, load_manifest

    manifest = load_manifest(region)
    entries = [f for role in ROLES for f in manifest.files if f.role == role]
    paths = []
    for entry in entries:
        if on_step:
            on_step(f"checking {entry.path}")
        paths.append(ensure_file(entry, data_dir=settings.data_dir, timeout_s=settings.download_timeout_s))
    if not force and _already_imported(engine, {e.sha256 for e in entries}):
        ensure_network(settings, region=region)
        return []
    reports = []
    limits = ImportLimits.from_settings(settings)
    for entry, path in zip(entries, paths):
        if on_step:
            on_step(f"importing {entry.role} from {path.name}")
        if entry.role == "areas":
            reports.append(import_areas(engine, region=region, path=path, columns=area_columns(entry),
                                        data_dir=settings.data_dir, limits=limits, where=council_filter(manifest, entry),
                                        layer=entry.options.get("layer")))
        elif entry.role == "postcodes" and entry.options.get("assign_areas"):
            reports.append(import_postcodes_into_areas(engine, region=region, path=path, columns=entry.columns or None,
                                                       data_dir=settings.data_dir, limits=limits))
        elif entry.role == "postcodes":
            reports.append(import_postcodes(engine, path=path, region=region, columns=entry.columns or None,
                                            data_dir=settings.data_dir, limits=limits))
        elif entry.role == "osm":
            reports.append(import_osm(engine, region=region, path=path, data_dir=settings.data_dir, progress=osm_progress,
                                      reports_dir=settings.state_dir / "reports", limits=limits))
            if on_step:
                on_step(f"building the walking network from {path.name}")
            build_region_network(settings, region=region, pbf=path)
            # Which areas the extract covers, so a partial extract never reads as "no access".
            record_coverage(engine, region=region, extent=extract_extent(path).geometry)
    return reports


def ensure_network(settings: Settings, *, region: str) -> bool:
    """Build the region's walking network from its manifest's OSM extract if it is missing.

    Returns False when the region has no OSM extract (walk times are then estimated).
    """
    from kindmap.ingest.manifest import ensure_file, load_manifest

    if network_path(settings, region).is_file():
        return True
    entry = next((f for f in load_manifest(region).files if f.role == "osm"), None)
    if entry is None:
        return False
    build_region_network(settings, region=region, pbf=ensure_file(entry, data_dir=settings.data_dir,
                                                                timeout_s=settings.download_timeout_s))
    return True


def build_demo(engine: Engine, *, settings: Settings, force: bool = False,
               osm_progress: Callable[[int], None] | None = None,
               on_step: Callable[[str], None] | None = None) -> tuple[list[ImportReport], int]:
    """The Rutland demo: the region's verified open data, its walking network, and a handful of
    clearly marked sample activities (so the carers' side has something to show)."""
    from kindmap.services.catalogue.activities import seed_sample_activities

    reports = import_region(engine, settings=settings, region=DEMO_REGION, force=force,
                            osm_progress=osm_progress, on_step=on_step)
    return reports, seed_sample_activities(engine, region=DEMO_REGION)
