"""Streets for a sketch map: the walking network's edges inside a box, as straight segments (EPSG:4326).

Pure numpy on the network's arrays, so it is tested on a few points. The box is the caller's (the
plan's places, padded): nothing here knows or draws a home.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

MAX_SEGMENTS = 3000  # a sketch on paper; also bounds the page's size and the work per request


def segments_in_box(node_lon: NDArray, node_lat: NDArray, edge_u: NDArray, edge_v: NDArray,
                    box: tuple[float, float, float, float], *, limit: int = MAX_SEGMENTS) -> NDArray[np.float64]:
    """(n, 4) lon1, lat1, lon2, lat2 of edges with both ends inside ``box`` (minlon, minlat, maxlon, maxlat);
    the longest ``limit`` when there are more (the main streets survive, alleys go first)."""
    w, s, e, n = box
    inside = (node_lon >= w) & (node_lon <= e) & (node_lat >= s) & (node_lat <= n)
    keep = np.flatnonzero(inside[edge_u] & inside[edge_v])
    if keep.size == 0:
        return np.empty((0, 4))
    out = np.column_stack([node_lon[edge_u[keep]], node_lat[edge_u[keep]], node_lon[edge_v[keep]], node_lat[edge_v[keep]]])
    if keep.size > limit:
        length = np.hypot(out[:, 2] - out[:, 0], out[:, 3] - out[:, 1])
        out = out[np.argsort(-length)[:limit]]
    return out
