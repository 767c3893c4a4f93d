"""Walking isochrones: the area within N minutes' walk, as a shapely geometry in EPSG:4326.

Method: one capped Dijkstra from the snapped origin gives the metres walked to every
node. An edge is *reached* in full when the walk budget left at its two ends covers its
length; otherwise the stretches reachable from each end (budget left at that end) are
cut out of its geometry, and the origin's own edge is reached for the budget left after
the snap, both ways along it. The reached lines are buffered in the network's metric CRS
by ``width_m`` (default 50 m: a front door or park gate that close to a reached path is
reached too, and gaps between parallel reached paths close up), unioned, and holes
smaller than ``fill_holes_m2`` (default 2 ha: a block enclosed by reached streets) are
filled. The result is reprojected to EPSG:4326.
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from kindmap.errors import InvalidQuery
from kindmap.geo.graph import DEFAULT_MAX_SNAP_M, Router, SnapSet
from kindmap.geo.profiles import Profile, as_profile

MAX_MINUTES = 180.0


def _cut(xy: NDArray[np.float64], start: float, end: float) -> NDArray[np.float64]:
    """Vertices of the stretch of polyline ``xy`` between ``start`` and ``end`` metres along it."""
    seg = np.hypot(*np.diff(xy, axis=0).T)
    cum = np.concatenate(([0.0], np.cumsum(seg)))
    inner = xy[(cum > start) & (cum < end)]
    ends = np.column_stack((np.interp([start, end], cum, xy[:, 0]), np.interp([start, end], cum, xy[:, 1])))
    return np.vstack((ends[:1], inner, ends[1:]))


def reached_lines(router: Router, lon: float, lat: float, *, minutes: float, profile: Profile | str, max_snap_m: float = DEFAULT_MAX_SNAP_M) -> list[NDArray[np.float64]]:
    """Polylines (metric CRS, metres) of every stretch of path within ``minutes`` of an EPSG:4326 point."""
    prof = as_profile(profile)
    if not (0 < minutes <= MAX_MINUTES):
        raise InvalidQuery(f"minutes must be between 0 and {MAX_MINUTES:g}, got {minutes}")
    net = router.net
    origin = router.snap(lon, lat, max_snap_m=max_snap_m, profile=prof)
    budget = minutes * prof.metres_per_minute
    o = router._for_profile(SnapSet.of(origin), prof, max_snap_m)
    # Only edges with an end within the walk can be reached: cost follows the reach, not the network.
    found = router.local(o, profile=prof, limit_m=budget)
    rows = found.nodes[np.isfinite(found.metres[0])]
    edges = router.edges_at(rows)
    allowed = router.allowed_edges(prof.avoid_key)[edges]
    length = net.edge_length[edges]
    left_u = np.where(allowed, budget - found.at(net.edge_u[edges]), -np.inf)
    left_v = np.where(allowed, budget - found.at(net.edge_v[edges]), -np.inf)
    full = (left_u >= 0) & (left_v >= 0) & (left_u + left_v >= length)
    lines: list[NDArray[np.float64]] = []
    counts = np.diff(net.geom_offsets)
    full_idx = edges[full]
    if full_idx.size:
        idx = np.concatenate([np.arange(net.geom_offsets[e], net.geom_offsets[e + 1]) for e in full_idx])
        lines.extend(np.split(net.geom_xy[idx], np.cumsum(counts[full_idx])[:-1]))
    for k in np.flatnonzero(~full & ((left_u > 0) | (left_v > 0))):
        e = edges[k]
        xy = net.edge_xy(e)
        if left_u[k] > 0:
            lines.append(_cut(xy, 0.0, min(left_u[k], length[k])))
        if left_v[k] > 0:
            lines.append(_cut(xy, max(length[k] - left_v[k], 0.0), length[k]))
    left_o = budget - o.offset_m[0]
    if left_o > 0:
        e = int(o.edge[0])
        lines.append(_cut(net.edge_xy(e), max(o.along_u[0] - left_o, 0.0), min(o.along_u[0] + left_o, net.edge_length[e])))
        # the walk from the point itself to the path
        snapped = _cut(net.edge_xy(e), o.along_u[0], o.along_u[0])[0]
        lines.append(np.array([[o.x[0], o.y[0]], snapped]))
    return lines


def isochrone(router: Router, lon: float, lat: float, *, minutes: float, profile: Profile | str, width_m: float = 50.0, fill_holes_m2: float = 20_000.0, max_snap_m: float = DEFAULT_MAX_SNAP_M) -> BaseGeometry:
    """Area (EPSG:4326 polygon) within ``minutes`` walk of an EPSG:4326 point; see the module docstring."""
    if not (0 < width_m <= 500):
        raise InvalidQuery(f"width_m must be between 0 and 500 metres, got {width_m}")
    lines = reached_lines(router, lon, lat, minutes=minutes, profile=profile, max_snap_m=max_snap_m)
    if not lines:
        raise InvalidQuery("no path is reachable from this point in that time")
    coords = np.vstack(lines)
    geoms = shapely.linestrings(coords, indices=np.repeat(np.arange(len(lines)), [len(xy) for xy in lines]))
    area = shapely.union_all(shapely.buffer(geoms, width_m, quad_segs=4))
    area = _fill_holes(area, fill_holes_m2)
    proj = router.net.projection
    return shapely.transform(area, lambda xy: np.column_stack(proj.inverse(xy[:, 0], xy[:, 1])))


def _fill_holes(area: BaseGeometry, max_hole_m2: float) -> BaseGeometry:
    """Drop interior rings smaller than ``max_hole_m2`` square metres."""
    polys = list(getattr(area, "geoms", [area]))
    kept = []
    for p in polys:
        if p.is_empty:
            continue
        holes = [r for r in p.interiors if shapely.Polygon(r).area >= max_hole_m2]
        kept.append(shapely.Polygon(p.exterior, holes))
    return shapely.union_all(kept) if len(kept) != 1 else kept[0]
