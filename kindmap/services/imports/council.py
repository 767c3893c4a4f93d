"""Any council of England or Wales from the national open tables, in one step.

``setup_council`` finds the council (GSS code or name) in the LTLA 2024 table, creates its
region with its outline, imports its LSOA 2021 areas (ward, population, households and
deprivation: IMD 2025 in England, WIMD 2019 carried to 2021 areas in Wales, method per row),
its postcodes (OS Code-Point Open as shipped, or a postcode CSV) assigned to those areas, and,
given an OSM extract, its places, walking network and map coverage. Everything that can be
refused (an unknown council, a slug clash, postcodes of another area, an extract that misses
the council) is refused before anything is written.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shapely.geometry import shape
from sqlalchemy import Engine
from sqlmodel import Session, select

from kindmap.config import Settings
from kindmap.db import read_session, write_session
from kindmap.errors import InvalidQuery
from kindmap.geo.areas import NEAREST, assign_points
from kindmap.ingest.areas import read_areas
from kindmap.ingest.codepoint import is_codepoint, read_codepoint
from kindmap.ingest.limits import ImportLimits
from kindmap.ingest.national import LSOA21_COLUMNS, Council, council_boundary, find_council
from kindmap.ingest.osm_extent import extract_extent
from kindmap.ingest.postcodes import PostcodeRecord, read_postcodes
from kindmap.models import Area, Region
from kindmap.services.imports.coverage import (
    Coverage,
    OsmStep,
    check_extract_touches,
    import_osm_step,
)
from kindmap.services.imports.files import import_areas, write_postcodes
from kindmap.services.imports.runs import ImportReport, check_problems

POSTCODE_TOLERANCE_M = 250.0  # generalised LSOA edges miss some centroids by up to ~150 m (Newport: max 142 m)


@dataclass
class PostcodesStep:
    report: ImportReport
    source: str
    within: int = 0
    nearest: int = 0
    unassigned: int = 0


@dataclass
class CouncilSetup:
    """What one set-up did: the region and the counts a council analyst checks first."""

    slug: str
    council: Council
    areas: int = 0
    population: int = 0
    households: int = 0
    index_names: list[str] = field(default_factory=list)
    reports: list[ImportReport] = field(default_factory=list)
    postcodes: PostcodesStep | None = None
    osm: OsmStep | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def coverage(self) -> Coverage | None:
        """Map coverage when an extract was imported."""
        return self.osm.coverage if self.osm else None


def national_file(settings: Settings, table: str) -> Path:
    """A national table from the data directory, checked against the sha256 in geodata/regions/uk.json."""
    from kindmap.ingest.manifest import ensure_file, load_manifest

    entry = next(f for f in load_manifest("uk").files if f.options.get("table") == table)
    return ensure_file(entry, data_dir=settings.data_dir, timeout_s=settings.download_timeout_s)


def default_codepoint(settings: Settings) -> Path | None:
    """The Code-Point Open folder in the data directory, when there is one."""
    folder = Path(settings.data_dir) / "uk" / "codepoint-open-2025.4"
    return folder if folder.is_dir() else None


def _check_slug(session: Session, *, slug: str, council: Council) -> Region | None:
    """The existing region of this council under ``slug`` (a re-run), None if new; refuse clashes."""
    if not slug or not slug.replace("-", "").isalnum() or slug != slug.lower():
        raise InvalidQuery("a region slug is lower-case letters, digits and hyphens, e.g. 'newport'")
    by_slug = session.exec(select(Region).where(Region.slug == slug)).first()
    if by_slug is not None and by_slug.code != council.code:
        raise InvalidQuery(f"region {slug!r} already exists for {by_slug.name} ({by_slug.code or 'no code'}); "
                           f"choose another slug for {council.name} with --slug")
    by_code = session.exec(select(Region).where(Region.code == council.code)).first()
    if by_code is not None and by_code.slug != slug:
        raise InvalidQuery(f"{council.name} ({council.code}) is already set up as region {by_code.slug!r}; "
                           f"run the set-up again with --slug {by_code.slug}")
    return by_slug


def _postcode_records(path: Path, *, council: Council | None, areas, limits: ImportLimits,
                      columns: dict[str, str] | None = None, trust_area_column: bool = True,
                      ) -> tuple[list[PostcodeRecord], str, dict, list[Path]]:
    """Postcodes of the council with their small area: Code-Point Open (filtered by admin district)
    or a postcode CSV (kept when they fall in one of the council's areas; its own area column is
    believed when it names one of them and ``trust_area_column``)."""
    if council is not None and is_codepoint(path):
        read = read_codepoint(path, district=council.code, limits=limits)
        lon = [u.lon for u in read.units]
        lat = [u.lat for u in read.units]
        names = [u.postcode for u in read.units]
        source = f"Code-Point Open ({', '.join(f.name for f in read.files)})"
        given = [None] * len(names)
        files = read.files
    else:
        read_csv = read_postcodes(path, columns=columns, limits=limits)
        if read_csv.problems:
            report = ImportReport(kind="postcodes", region=None, file=path.name)
            check_problems(report, read_csv.problems, skip_invalid=False)
        lon = [r.lon for r in read_csv.records]
        lat = [r.lat for r in read_csv.records]
        names = [r.postcode for r in read_csv.records]
        given = [r.area_code if trust_area_column else None for r in read_csv.records]
        source, files = path.name, None
    codes = [a.code for a in areas]
    known = set(codes)
    assigned = assign_points(lon, lat, [shape(json.loads(a.geometry_geojson)) for a in areas],
                             tolerance_m=POSTCODE_TOLERANCE_M)
    records, counts = [], {"within": 0, "nearest": 0, "unassigned": 0}
    for i, postcode in enumerate(names):
        if given[i] in known:
            area, how = given[i], "within"
        elif assigned.index[i] >= 0:
            area, how = codes[assigned.index[i]], ("nearest" if assigned.how[i] == NEAREST else "within")
        elif files is not None:
            area, how = None, "unassigned"  # the council's by Code-Point's admin district, far from every area
        else:
            continue  # a CSV row of another council
        counts[how] += 1
        records.append(PostcodeRecord(postcode, lon[i], lat[i], area))
    if not records:
        where = f"{council.name} ({council.code})" if council else "the region's small areas"
        raise InvalidQuery(f"{path.name} holds no postcodes inside {where}; give the postcode file that covers it")
    return records, source, counts, files or [path]


def setup_council(engine: Engine, *, settings: Settings, council: str, osm: Path | None = None,
                  postcodes: Path | None = None, slug: str | None = None,
                  osm_progress: Callable[[int], None] | None = None,
                  on_step: Callable[[str], None] | None = None) -> CouncilSetup:
    """Set up (or refresh) a council's region from the national tables; see the module docstring."""
    started = time.perf_counter()
    step = on_step or (lambda _text: None)
    limits = ImportLimits.from_settings(settings)
    step("finding the council in the national tables")
    found = find_council(national_file(settings, "ltla24"), council)
    slug = (slug or found.slug).strip().lower()
    lsoa = national_file(settings, "lsoa21")
    result = CouncilSetup(slug=slug, council=found)

    # Everything that can be refused is checked before the first write.
    with read_session(engine) as session:
        _check_slug(session, slug=slug, council=found)
    boundary_text = council_boundary(national_file(settings, "ltla24"), found)
    areas_read = read_areas(lsoa, columns=LSOA21_COLUMNS, where=found.where(), limits=limits)
    if postcodes is None:
        postcodes = default_codepoint(settings)
        if postcodes is not None:
            try:
                read_codepoint(postcodes, district=found.code, limits=limits)
            except Exception:  # the bundled postcode areas do not cover this council
                result.notes.append(f"no postcodes: the Code-Point Open files in {postcodes} do not cover "
                                    f"{found.name}; give them with --postcodes (areas' centroids stand in meanwhile)")
                postcodes = None
    postcode_rows = None
    if postcodes is not None:
        step(f"reading postcodes from {Path(postcodes).name}")
        postcode_rows = _postcode_records(Path(postcodes), council=found, areas=areas_read.records, limits=limits)
    extent = None
    if osm is not None:
        step(f"checking that {Path(osm).name} covers {found.name}")
        extent = extract_extent(Path(osm))
        check_extract_touches(extent, boundary=shape(json.loads(boundary_text)),
                              region_name=found.name, file=Path(osm).name)

    step(f"creating region {slug} ({found.name}, {found.code})")
    with write_session(engine) as session:
        region = _check_slug(session, slug=slug, council=found)
        if region is None:
            region = Region(slug=slug, name=found.name, code=found.code, nation=found.nation)
            session.add(region)
        region.name, region.nation, region.boundary_geojson = found.name, found.nation, boundary_text
    step(f"importing {len(areas_read.records)} small areas (LSOA 2021)")
    result.reports.append(import_areas(engine, region=slug, path=lsoa, columns=LSOA21_COLUMNS, where=found.where(),
                                       data_dir=settings.data_dir, limits=limits))
    records = areas_read.records
    result.areas = len(records)
    result.population = sum(r.population or 0 for r in records)
    result.households = sum(r.households or 0 for r in records)
    result.index_names = sorted({r.deprivation_index for r in records if r.deprivation_index})
    if postcode_rows is not None:
        rows, source, counts, files = postcode_rows
        report = ImportReport(kind="postcodes", region=slug, file=source)
        write_postcodes(engine, report=report, records=rows, region=slug, data_dir=settings.data_dir,
                        paths=files, started=time.perf_counter())
        result.reports.append(report)
        result.postcodes = PostcodesStep(report=report, source=source, **counts)
    if osm is not None:
        step(f"importing places from {Path(osm).name}")
        result.osm = import_osm_step(engine, settings=settings, region=slug, path=Path(osm), progress=osm_progress,
                                     limits=limits, on_step=step, extent=extent)
        result.reports.append(result.osm.report)
    else:
        result.notes.append("no OpenStreetMap extract given: no places or walking network yet "
                            f"(kindmap import osm FILE --region {slug})")
    result.seconds = time.perf_counter() - started
    return result




def import_postcodes_into_areas(engine: Engine, *, region: str, path: Path, data_dir: Path,
                                columns: dict[str, str] | None = None,
                                limits: ImportLimits | None = None) -> ImportReport:
    """Import a postcode CSV, placing each postcode in the region's small areas by point in polygon
    (nearest within 250 m) rather than trusting the file's area column: a file made for 2011 areas
    serves a region on 2021 areas. Postcodes outside every area of the region are left out."""
    started = time.perf_counter()
    path = Path(path)
    with read_session(engine) as session:
        reg = session.exec(select(Region).where(Region.slug == region)).one()
        areas = session.exec(select(Area).where(Area.region_id == reg.id).order_by(Area.code)).all()
    if not areas:
        raise InvalidQuery(f"region {region!r} has no small areas yet; import them before its postcodes")
    rows, _source, counts, files = _postcode_records(path, council=None, areas=areas, limits=limits or ImportLimits(),
                                                     columns=columns, trust_area_column=False)
    report = ImportReport(kind="postcodes", region=region, file=path.name)
    if counts["nearest"]:
        report.warnings.append(f"{counts['nearest']} postcode(s) lie just outside every area; placed in the nearest (≤ 250 m)")
    return write_postcodes(engine, report=report, records=rows, region=region, data_dir=data_dir, paths=files,
                           started=started)
