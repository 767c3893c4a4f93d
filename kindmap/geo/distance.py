"""Great-circle distances and a point index on the sphere.

Points are indexed as 3-D unit vectors (earth-centred), so the straight chord between
two points is monotonic in their great-circle distance: a KD-tree over the vectors
returns exactly the haversine order, anywhere on Earth, with no projection to choose.
Inputs are EPSG:4326 degrees; outputs are metres.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius, as used by most haversine tools


def unit_vectors(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.float64]:
    """Unit vectors (n, 3) for EPSG:4326 degrees."""
    lam = np.radians(np.asarray(lon, dtype=np.float64))
    phi = np.radians(np.asarray(lat, dtype=np.float64))
    cos_phi = np.cos(phi)
    return np.column_stack((cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)))


def _unit_vector(lon: float, lat: float) -> NDArray[np.float64]:
    # One point with math rather than numpy's array machinery: ~10x faster, and it is on
    # every near-me request.
    lam, phi = math.radians(lon), math.radians(lat)
    cos_phi = math.cos(phi)
    return np.array((cos_phi * math.cos(lam), cos_phi * math.sin(lam), math.sin(phi)))


def haversine_m(lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike) -> NDArray[np.float64]:
    """Great-circle distance in metres between EPSG:4326 points (broadcasting)."""
    lam1, phi1, lam2, phi2 = (np.radians(np.asarray(v, dtype=np.float64)) for v in (lon1, lat1, lon2, lat2))
    a = np.sin((phi2 - phi1) / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin((lam2 - lam1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def chord_to_metres(chord: ArrayLike) -> NDArray[np.float64]:
    """Great-circle metres for a chord length on the unit sphere."""
    return 2 * EARTH_RADIUS_M * np.arcsin(np.clip(np.asarray(chord, dtype=np.float64) / 2, 0.0, 1.0))


def metres_to_chord(metres: float) -> float:
    """Chord length on the unit sphere for a great-circle distance in metres."""
    angle = min(metres / EARTH_RADIUS_M, np.pi)
    return float(2 * np.sin(angle / 2))


ROW_DEG = 0.01  # latitude strips of the point index, ~1.1 km: a 5 km radius spans ~10 of them
_KEY_ROW = 512.0  # sort key = strip × 512 + (lon + 180): one float orders points by strip, then longitude
_PAD_DEG = 1e-6  # widens each strip's longitude range past the key's rounding (~2e-9° at UK strips)
_MAX_STRIP_LAT = 80.0  # nearer the poles (or across the antimeridian) the KD-tree answers instead


def _chords(data: NDArray[np.float64], origin: NDArray[np.float64]) -> NDArray[np.float64]:
    # One formula for every radius query, so the same point gets the same chord to the last bit.
    diff = data - origin
    return np.sqrt(np.einsum("ij,ij->i", diff, diff))


class PointIndex:
    """Radius and nearest-neighbour queries over EPSG:4326 points, distances in metres.

    The points are kept sorted by latitude strip, then longitude (``_key``), and the KD-tree is
    built over them in that order. A radius query then reads one contiguous run of points per
    strip it crosses (two binary searches each) instead of walking the tree and gathering ~1,000
    points scattered over memory: at 10⁶ places a 5 km query took ~0.2 ms through the tree,
    most of a near-me request's search. Results are positions in the order the points were given.
    """

    def __init__(self, lon: ArrayLike, lat: ArrayLike) -> None:
        lon = np.asarray(lon, dtype=np.float64)
        lat = np.asarray(lat, dtype=np.float64)
        self.size = int(lon.size)
        key = np.floor(lat / ROW_DEG) * _KEY_ROW + (lon + 180.0)
        self._order = np.argsort(key, kind="stable").astype(np.int32 if self.size < 2**31 else np.int64)
        self._key = key[self._order]
        # the tree's own copy of the vectors doubles as the strips' coordinates (no second copy)
        self._tree = cKDTree(unit_vectors(lon[self._order], lat[self._order])) if self.size else None

    def within(self, lon: float, lat: float, *, radius_m: float) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """Indices and metres of all points within ``radius_m``, nearest first."""
        idx, chords = self.within_unsorted(lon, lat, radius_m=radius_m)
        # Stable sort on (distance, index) so equal distances come back in a fixed order.
        order = np.lexsort((idx, chords))
        return idx[order], chord_to_metres(chords[order])

    def within_unsorted(self, lon: float, lat: float, *, radius_m: float) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """Indices of all points within ``radius_m`` in no particular order, and their chords on the unit sphere
        (``chord_to_metres`` gives metres); for callers that filter first and order only what they show."""
        if self._tree is None:
            return np.empty(0, dtype=np.intp), np.empty(0)
        origin = _unit_vector(lon, lat)
        limit = metres_to_chord(radius_m)
        runs = self._strips(lon, lat, radius_m)
        if runs is None:  # near a pole or the antimeridian, or a radius of a continent
            found = np.asarray(self._tree.query_ball_point(origin, limit, return_sorted=False), dtype=np.intp)
            data, positions = self._tree.data[found], self._order[found]
        elif not runs:
            return np.empty(0, dtype=np.intp), np.empty(0)
        elif len(runs) == 1:
            data, positions = self._tree.data[runs[0]], self._order[runs[0]]
        else:  # views of contiguous runs, joined once
            data = np.concatenate([self._tree.data[run] for run in runs])
            positions = np.concatenate([self._order[run] for run in runs])
        chords = _chords(data, origin)
        inside = chords <= limit
        return positions[inside].astype(np.intp), chords[inside]

    def _strips(self, lon: float, lat: float, radius_m: float) -> list[slice] | None:
        """Runs of sorted points holding every point within ``radius_m`` (and a few more): per strip, the
        longitudes the circle reaches there, a little widened; ``None`` where strips do not apply."""
        angle = radius_m / EARTH_RADIUS_M
        dlat = math.degrees(angle)
        if angle >= 0.1 or abs(lat) + dlat > _MAX_STRIP_LAT:
            return None
        phi0 = math.radians(lat)
        sin0, cos0, cos_a = math.sin(phi0), math.cos(phi0), math.cos(angle)
        peak = math.asin(min(1.0, sin0 / cos_a))  # where the circle is widest in longitude
        bounds = []
        # a dozen strips at most for a 5 km radius: plain floats beat numpy's per-call cost here
        for row in range(math.floor((lat - dlat) / ROW_DEG), math.floor((lat + dlat) / ROW_DEG) + 1):
            south = math.radians(max(row * ROW_DEG, lat - dlat))
            north = math.radians(min((row + 1) * ROW_DEG, lat + dlat))
            widest = peak if south <= peak <= north else south if peak < south else north
            cos_dlon = (cos_a - sin0 * math.sin(widest)) / (cos0 * math.cos(widest))
            dlon = math.degrees(math.acos(max(-1.0, min(1.0, cos_dlon)))) + _PAD_DEG
            if lon - dlon <= -180.0 or lon + dlon >= 180.0:
                return None
            base = row * _KEY_ROW + (lon + 180.0)
            bounds += (base - dlon, base + dlon)
        edges = np.searchsorted(self._key, bounds).tolist()
        return [slice(a, b) for a, b in zip(edges[::2], edges[1::2]) if b > a]

    def nearest(self, lon: float, lat: float, *, k: int) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """The ``k`` nearest points (fewer if the index is smaller), nearest first, in metres."""
        if self._tree is None or k <= 0:
            return np.empty(0, dtype=np.intp), np.empty(0)
        k = min(k, self.size)
        chords, idx = self._tree.query(_unit_vector(lon, lat), k=k)
        return self._order[np.atleast_1d(idx)].astype(np.intp), chord_to_metres(np.atleast_1d(chords))
