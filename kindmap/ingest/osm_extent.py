"""Where an OpenStreetMap extract has map data: its extent, EPSG:4326.

Geofabrik-style extracts state their bounding box in the file header. A bounding-box extract
with complete ways (like ``osmium extract --strategy complete_ways``) may not; there, ways that
cross the box bring nodes from beyond it, but tagged nodes that belong to no way (points of
interest, addresses, …) lie only inside the box, so their bounding box is the extract's. Anything
outside the extent is "no map data", never "nothing there".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import osmium
import shapely

from kindmap.errors import DataError


@dataclass(frozen=True)
class Extent:
    """The extract's extent and how it was found ('header' or 'standalone nodes')."""

    geometry: shapely.Geometry
    how: str


def _header_box(path: Path) -> shapely.Geometry | None:
    reader = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
    try:
        box = reader.header().box()
    finally:
        reader.close()
    if not box.valid():
        return None
    return shapely.box(box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat)


def _standalone_box(path: Path) -> shapely.Geometry | None:
    refs = []
    for way in osmium.FileProcessor(str(path), osmium.osm.WAY):
        refs.append(np.fromiter((n.ref for n in way.nodes), dtype=np.int64))
    in_ways = np.unique(np.concatenate(refs)) if refs else np.zeros(0, dtype=np.int64)
    ids, lon, lat = [], [], []
    # Untagged nodes are way vertices (or stray); the C++ filter skips them without a Python call each.
    for node in osmium.FileProcessor(str(path), osmium.osm.NODE).with_filter(osmium.filter.EmptyTagFilter()):
        if node.location.valid():
            ids.append(node.id)
            lon.append(node.location.lon)
            lat.append(node.location.lat)
    if not ids:
        return None
    ids_a, lon_a, lat_a = np.asarray(ids), np.asarray(lon), np.asarray(lat)
    alone = ~np.isin(ids_a, in_ways, assume_unique=False)
    if alone.sum() < 10:  # too few to say; every node then
        alone[:] = True
    return shapely.box(lon_a[alone].min(), lat_a[alone].min(), lon_a[alone].max(), lat_a[alone].max())


def extract_extent(path: Path) -> Extent:
    """The extract's extent: its header box, else the box of its standalone nodes."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"OSM extract {path} does not exist")
    try:
        box = _header_box(path)
        if box is not None:
            return Extent(box, "header")
        box = _standalone_box(path)
    except RuntimeError as exc:  # libosmium reports bad input as RuntimeError subclasses
        raise DataError.unreadable_osm(path, exc) from exc
    if box is None:
        raise DataError(f"OSM extract {path} holds no nodes with locations")
    return Extent(box, "standalone nodes")
