"""Screen-grid clustering of points for map views (Web Mercator pixels; pure numpy)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CELL_PX = 64  # grid cell on screen, in CSS pixels: about a thumb's width


@dataclass(frozen=True)
class GridCluster:
    lon: float
    lat: float
    count: int
    id: int | None
    bbox: tuple[float, float, float, float]


def mercator_px(lon: np.ndarray, lat: np.ndarray, zoom: int) -> tuple[np.ndarray, np.ndarray]:
    """Web Mercator pixel coordinates at ``zoom`` (256-px tiles) for EPSG:4326 degrees."""
    size = 256.0 * 2 ** zoom
    lat = np.clip(lat, -85.05112878, 85.05112878)
    x = (lon + 180.0) / 360.0 * size
    s = np.sin(np.radians(lat))
    y = (0.5 - np.log((1 + s) / (1 - s)) / (4 * math.pi)) * size
    return x, y


def grid_clusters(lon: np.ndarray, lat: np.ndarray, ids: np.ndarray, *, zoom: int, cell_px: int = CELL_PX) -> list[GridCluster]:
    """Group points into screen-grid cells of ``cell_px`` pixels at ``zoom``; one cluster per non-empty cell."""
    if lon.size == 0:
        return []
    x, y = mercator_px(lon, lat, zoom)
    cx, cy = np.floor(x / cell_px).astype(np.int64), np.floor(y / cell_px).astype(np.int64)
    keys = cx * (1 << 32) + cy
    order = np.argsort(keys, kind="stable")
    keys, lon, lat, ids = keys[order], lon[order], lat[order], ids[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    counts = np.diff(np.r_[starts, keys.size])
    mean_lon = np.add.reduceat(lon, starts) / counts
    mean_lat = np.add.reduceat(lat, starts) / counts
    boxes = np.column_stack([np.minimum.reduceat(lon, starts), np.minimum.reduceat(lat, starts),
                             np.maximum.reduceat(lon, starts), np.maximum.reduceat(lat, starts)])
    # Python lists, not numpy scalars: one object per cluster is most of the cost at a few thousand clusters
    return [GridCluster(lon=round(x, 6), lat=round(y, 6), count=c, id=i if c == 1 else None,
                        bbox=(round(b[0], 6), round(b[1], 6), round(b[2], 6), round(b[3], 6)))
            for x, y, c, i, b in zip(mean_lon.tolist(), mean_lat.tolist(), counts.tolist(), ids[starts].tolist(),
                                     boxes.tolist())]
