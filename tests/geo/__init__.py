"""Helpers for the walking-network tests: tiny synthetic OSM files laid out in metres."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from kindmap.geo.projection import LocalProjection, local_crs_proj4

LON0, LAT0 = -0.7, 52.65
PROJ = LocalProjection(local_crs_proj4(LON0, LAT0))


def lonlat(x: float, y: float) -> tuple[float, float]:
    """EPSG:4326 of a point given in metres east/north of (LON0, LAT0)."""
    lon, lat = PROJ.inverse(np.array([x]), np.array([y]))
    return float(lon[0]), float(lat[0])


def write_osm(
    path: Path,
    nodes: dict[int, tuple[float, float]],
    ways: list[tuple[int, list[int], dict[str, str]]],
) -> Path:
    """Write an OSM XML file; ``nodes`` are metres east/north, ``ways`` are (id, node refs, tags)."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="kindmap-tests">']
    for nid, (x, y) in nodes.items():
        lon, lat = lonlat(x, y)
        out.append(f'  <node id="{nid}" version="1" lat="{lat:.9f}" lon="{lon:.9f}"/>')
    for wid, refs, tags in ways:
        out.append(f'  <way id="{wid}" version="1">')
        out.extend(f'    <nd ref="{r}"/>' for r in refs)
        out.extend(f"    <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
        out.append("  </way>")
    out.append("</osm>")
    path.write_text("\n".join(out), encoding="utf-8")
    return path


FOOT = {"highway": "footway"}
