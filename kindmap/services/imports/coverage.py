"""One OSM step for a region: places, the walking network and where the map data reaches.

An extract may cover only part of a council (Newport's 2023 extract is its urban core). Each
small area then gets the share of it the extract covers (``Area.map_share``), and the region
keeps the extract's extent (``Region.map_extent_geojson``): areas outside it have **no map
data**, which is not the same as having no welcoming place nearby.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import shapely
from shapely.geometry import mapping, shape
from sqlalchemy import Engine
from sqlmodel import select

from kindmap.config import Settings
from kindmap.db import write_session
from kindmap.errors import DataError
from kindmap.geo.areas import covered_shares
from kindmap.geo.network import WalkNetwork
from kindmap.geo.projection import LocalProjection
from kindmap.ingest.limits import ImportLimits, check_extract_size, import_limits
from kindmap.ingest.osm_stage import staged_extract
from kindmap.ingest.osm_extent import Extent, extract_extent
from kindmap.models import Area, Region
from kindmap.services.imports.files import import_osm
from kindmap.services.imports.runs import ImportReport
from kindmap.services.regions import find_region, region_from_manifest
from kindmap.services.walking import build_region_network, network_path

WHOLLY, PARTLY = 0.99, 0.01  # shares at or above WHOLLY are "covered", at or below PARTLY "no map data"
CLIP_MARGIN_M = 2000.0  # places this far outside the outline still belong (a library across the boundary)
# The extract is clipped a little wider than the places: a 20-minute walk (1.6 km) from a place at
# the margin's edge, and the streets that name unnamed parks there, stay in the staged data.
STAGE_MARGIN_M = CLIP_MARGIN_M + 1000.0


def stage_clip(boundary: shapely.Geometry | None) -> shapely.Geometry | None:
    """What an extract is clipped to before it is read: the outline plus ``STAGE_MARGIN_M`` (None: no clip)."""
    return buffered(boundary, STAGE_MARGIN_M) if boundary is not None else None


@dataclass
class Coverage:
    """How much of a region the map data covers, by small area and by households."""

    areas: int = 0
    wholly: int = 0
    partly: int = 0
    outside: int = 0
    households: int = 0
    households_covered: float = 0.0  # households × share, summed
    no_data_areas: list[tuple[str, str, str | None]] = field(default_factory=list)  # (code, name, ward)

    @property
    def household_share(self) -> float | None:
        """Share of the region's households in the part the map data covers (None without households)."""
        return self.households_covered / self.households if self.households else None

    def no_data_wards(self) -> list[str]:
        """Wards with at least one area without map data, by name."""
        return sorted({w for _, _, w in self.no_data_areas if w})


@dataclass
class OsmStep:
    report: ImportReport
    extent: Extent
    coverage: Coverage
    network_nodes: int = 0
    network_edges: int = 0
    network_km: float = 0.0


def buffered(geometry: shapely.Geometry, metres: float) -> shapely.Geometry:
    """``geometry`` (EPSG:4326) grown by ``metres``, measured in a local metric projection."""
    minx, miny, maxx, maxy = geometry.bounds
    projection = LocalProjection.centred_on([minx, maxx], [miny, maxy])

    def forward(coords):
        x, y = projection.forward(coords[:, 0], coords[:, 1])
        return shapely.get_coordinates(shapely.points(x, y))

    def inverse(coords):
        lon, lat = projection.inverse(coords[:, 0], coords[:, 1])
        return shapely.get_coordinates(shapely.points(lon, lat))

    return shapely.transform(shapely.transform(geometry, forward).buffer(metres), inverse)


def check_extract_touches(extent: Extent, *, boundary: shapely.Geometry | None, region_name: str, file: str) -> None:
    """Refuse an extract whose extent misses the region's outline (before anything is written)."""
    if boundary is not None and not extent.geometry.intersects(boundary):
        e = extent.geometry.bounds
        b = boundary.bounds
        raise DataError(
            f"{file} does not touch {region_name}: its map data covers lon {e[0]:.3f}…{e[2]:.3f}, "
            f"lat {e[1]:.3f}…{e[3]:.3f}, the council lies in lon {b[0]:.3f}…{b[2]:.3f}, lat {b[1]:.3f}…{b[3]:.3f}. "
            "Give an extract that covers the council; nothing was imported."
        )


def record_coverage(engine: Engine, *, region: str, extent: shapely.Geometry) -> Coverage:
    """Store the extract's extent on the region and each area's covered share; return the summary.

    A region without an outline takes the extract's extent as its outline, so walking searches
    know the region holds the point.
    """
    with write_session(engine) as session:
        reg = find_region(session, region)
        reg.map_extent_geojson = json.dumps(mapping(extent), separators=(",", ":"))
        if reg.boundary_geojson is None:
            reg.boundary_geojson = reg.map_extent_geojson
        areas = session.exec(select(Area).where(Area.region_id == reg.id).order_by(Area.code)).all()
        shares = covered_shares([shape(json.loads(a.geometry_geojson)) for a in areas], extent)
        coverage = Coverage(areas=len(areas))
        for area, share in zip(areas, shares):
            area.map_share = round(float(share), 4)
            households = area.households or 0
            coverage.households += households
            coverage.households_covered += households * float(share)
            if share >= WHOLLY:
                coverage.wholly += 1
            elif share > PARTLY:
                coverage.partly += 1
            else:
                coverage.outside += 1
                coverage.no_data_areas.append((area.code, area.name, area.ward_name))
    return coverage


def region_outline(engine: Engine, region: str, *, data_dir: Path) -> tuple[shapely.Geometry | None, str]:
    """The region's outline (EPSG:4326) or None, and its name, writing nothing: a region not yet
    in the database is read from its manifest; an unknown one is ``NotFound`` saying how to set it up."""
    from kindmap.db import read_session

    with read_session(engine) as session:
        reg = session.exec(select(Region).where(Region.slug == region)).first()
        if reg is None:
            reg = region_from_manifest(session, region, data_dir=data_dir)  # not added: import_osm creates it
        return (shape(json.loads(reg.boundary_geojson)) if reg.boundary_geojson else None), reg.name


def source_path(settings: Settings, region: str) -> Path:
    """Where the path of the extract a region's network was built from is kept (beside the network)."""
    return network_path(settings, region).with_suffix(".source.json")


def remember_source(settings: Settings, *, region: str, path: Path) -> None:
    """Keep the extract's path, so ``kindmap network --region X`` can rebuild a region without a manifest."""
    target = source_path(settings, region)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"path": str(Path(path).resolve())}), encoding="utf-8")


def network_source(settings: Settings, region: str) -> Path | None:
    """The extract a region's network was last built from by ``import osm``/``region setup``, if it still exists."""
    try:
        path = Path(json.loads(source_path(settings, region).read_text(encoding="utf-8"))["path"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return path if path.is_file() else None


def preview_osm_import(engine: Engine, *, settings: Settings, region: str, path: Path, force: bool = False,
                       progress: Callable[[int], None] | None = None,
                       limits: ImportLimits | None = None) -> ImportReport:
    """What ``import_osm_step`` would change in the region's places (a dry run: nothing written), read
    from the extract clipped and filtered the same way."""
    path = Path(path)
    check_extract_size(path, max_mb=import_limits(limits).max_extract_mb)
    boundary, _name = region_outline(engine, region, data_dir=settings.data_dir)
    clip = buffered(boundary, CLIP_MARGIN_M) if boundary is not None else None
    with staged_extract(path, clip=stage_clip(boundary)) as staged:
        return import_osm(engine, region=region, path=path, data_dir=settings.data_dir, dry_run=True,
                          progress=progress, force=force, reports_dir=settings.state_dir / "reports",
                          limits=limits, clip=clip, staged=staged)


def build_clipped_network(engine: Engine, *, settings: Settings, region: str, path: Path,
                          limits: ImportLimits | None = None) -> WalkNetwork:
    """Build and save a region's walking network from an extract clipped to its outline plus
    ``STAGE_MARGIN_M`` (the whole extract when the region has no outline), as ``import_osm_step`` does."""
    path = Path(path)
    check_extract_size(path, max_mb=import_limits(limits).max_extract_mb)
    boundary, _name = region_outline(engine, region, data_dir=settings.data_dir)
    with staged_extract(path, clip=stage_clip(boundary)) as staged:
        return build_region_network(settings, region=region, pbf=staged.path, source=path.name)


def import_osm_step(engine: Engine, *, settings: Settings, region: str, path: Path, force: bool = False,
                    progress: Callable[[int], None] | None = None, limits: ImportLimits | None = None,
                    on_step: Callable[[str], None] | None = None, extent: Extent | None = None) -> OsmStep:
    """Import an extract's places for ``region`` (clipped to its outline plus a margin), build its
    walking network, and record how much of the region the map data covers.

    The region must exist (or have a manifest); an extract that does not touch its outline is
    refused before anything is written, unless ``force``. A region without an outline takes the
    extract's extent. ``extent`` saves reading the extract's extent again when the caller has it.
    """
    path = Path(path)
    check_extract_size(path, max_mb=import_limits(limits).max_extract_mb)  # before the extent is read
    boundary, name = region_outline(engine, region, data_dir=settings.data_dir)
    if on_step:
        on_step(f"finding where {path.name} has map data")
    extent = extent or extract_extent(path)
    if not force:
        check_extract_touches(extent, boundary=boundary, region_name=name, file=path.name)
    clip = buffered(boundary, CLIP_MARGIN_M) if boundary is not None else None
    if on_step:
        on_step(f"clipping {path.name} to {name} and the tags kindmap reads")
    with staged_extract(path, clip=stage_clip(boundary)) as staged:
        report = import_osm(engine, region=region, path=path, data_dir=settings.data_dir, progress=progress,
                            force=force, reports_dir=settings.state_dir / "reports", limits=limits, clip=clip,
                            staged=staged)
        if on_step:
            on_step(f"building the walking network from {path.name}")
        network = build_region_network(settings, region=region, pbf=staged.path, source=path.name)
    remember_source(settings, region=region, path=path)
    coverage = record_coverage(engine, region=region, extent=extent.geometry)
    return OsmStep(report=report, extent=extent, coverage=coverage, network_nodes=network.n_nodes,
                   network_edges=network.n_edges, network_km=network.total_km)
