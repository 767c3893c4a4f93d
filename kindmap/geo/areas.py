"""Points into small areas, and how much of each area a data extent covers (no database, no web).

Inputs are EPSG:4326; distances and areas are measured in a local transverse Mercator
(metres, see :mod:`kindmap.geo.projection`), so a tolerance of 200 m means 200 m anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from kindmap.geo.projection import LocalProjection

WITHIN, NEAREST, NONE = "within", "nearest", "none"


@dataclass
class Assignment:
    """For each point: the index of its area (-1 none), how it was found, and the distance in metres (0 inside)."""

    index: NDArray[np.int64]
    how: NDArray[np.str_]
    distance_m: NDArray[np.float64]


def _projected(projection: LocalProjection, geoms: list[shapely.Geometry]) -> NDArray:
    def forward(coords: NDArray) -> NDArray:
        x, y = projection.forward(coords[:, 0], coords[:, 1])
        return np.column_stack((x, y))

    return shapely.transform(np.asarray(geoms, dtype=object), forward)


def assign_points(lon: ArrayLike, lat: ArrayLike, areas: list[shapely.Geometry], *,
                  tolerance_m: float) -> Assignment:
    """Each point's area: the polygon holding it, else the nearest within ``tolerance_m`` metres.

    Generalised small-area polygons leave slivers between neighbours and cut corners at the
    coast, so a postcode centroid can fall just outside every polygon; the nearest one within
    a small tolerance is its area. Where polygons overlap slightly, the first holding it wins.
    """
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    n = lon.size
    index = np.full(n, -1, dtype=np.int64)
    how = np.full(n, NONE, dtype=object)
    distance = np.full(n, np.inf)
    if n == 0 or not areas:
        return Assignment(index, how.astype(str), distance)
    bounds = np.array([g.bounds for g in areas])
    projection = LocalProjection.centred_on(np.r_[bounds[:, 0], bounds[:, 2]], np.r_[bounds[:, 1], bounds[:, 3]])
    polys = _projected(projection, list(areas))
    x, y = projection.forward(lon, lat)
    points = shapely.points(x, y)
    tree = shapely.STRtree(polys)
    pts, polys_hit = tree.query(points, predicate="within")
    order = np.lexsort((polys_hit, pts))  # first polygon (lowest index) per point
    pts, polys_hit = pts[order], polys_hit[order]
    first = np.r_[True, pts[1:] != pts[:-1]] if pts.size else np.zeros(0, dtype=bool)
    index[pts[first]] = polys_hit[first]
    how[pts[first]] = WITHIN
    distance[pts[first]] = 0.0
    rest = np.flatnonzero(index < 0)
    if rest.size:
        (near_pts, near_polys), dist = tree.query_nearest(points[rest], max_distance=tolerance_m,
                                                          return_distance=True, all_matches=False)
        hit = rest[near_pts]
        index[hit] = near_polys
        how[hit] = NEAREST
        distance[hit] = dist
    return Assignment(index, how.astype(str), distance)


def covered_shares(areas: list[shapely.Geometry], extent: shapely.Geometry | None) -> NDArray[np.float64]:
    """Share (0–1) of each area inside ``extent`` (EPSG:4326 polygons), by area in metres²; NaN without an extent."""
    if extent is None or extent.is_empty:
        return np.full(len(areas), np.nan)
    if not areas:
        return np.zeros(0)
    bounds = np.array([g.bounds for g in areas])
    projection = LocalProjection.centred_on(np.r_[bounds[:, 0], bounds[:, 2]], np.r_[bounds[:, 1], bounds[:, 3]])
    polys = _projected(projection, list(areas))
    cover = _projected(projection, [extent])[0]
    whole = shapely.area(polys)
    inside = shapely.area(shapely.intersection(polys, cover))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(whole > 0, inside / whole, 0.0)
    return np.clip(share, 0.0, 1.0)
