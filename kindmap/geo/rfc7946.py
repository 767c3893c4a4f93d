"""GeoJSON geometries as RFC 7946 wants them: polygon exterior rings counter-clockwise and holes clockwise
(the right-hand rule, §3.1.6), and positions at 7 decimal places (about 1 cm; §11.2 advises against
more precision than the data has, and the 16–17 digits of a float carry none).

EPSG:4326 / CRS84 degrees in and out.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

DECIMALS = 7


def round_position(lon: float, lat: float) -> list[float]:
    """One [lon, lat] position at 7 decimals."""
    return [round(float(lon), DECIMALS), round(float(lat), DECIMALS)]


def outer_bbox(bbox: list[float] | tuple[float, ...]) -> list[float]:
    """A [minx, miny, maxx, maxy] at 7 decimals rounded outwards, so it still holds every rounded position."""
    scale = 10**DECIMALS
    minx, miny, maxx, maxy = (float(v) for v in bbox)
    return [math.floor(minx * scale) / scale, math.floor(miny * scale) / scale,
            math.ceil(maxx * scale) / scale, math.ceil(maxy * scale) / scale]


def geometry(geom: BaseGeometry | dict[str, Any] | str) -> dict[str, Any]:
    """A GeoJSON geometry dict (from shapely, a GeoJSON dict or GeoJSON text), rings wound by the
    right-hand rule and positions at 7 decimals."""
    if isinstance(geom, str):
        geom = shapely.from_geojson(geom)
    elif isinstance(geom, dict):
        geom = shapely.geometry.shape(geom)
    if geom.geom_type == "Point":
        return {"type": "Point", "coordinates": round_position(geom.x, geom.y)}
    # Rounding first, then orienting: rounding moves a vertex by at most 5e-8 degrees and cannot be
    # allowed to undo the winding.
    geom = shapely.set_coordinates(geom, np.round(shapely.get_coordinates(geom), DECIMALS))
    geom = shapely.orient_polygons(geom, exterior_cw=False)
    return _lists(mapping(geom))


def _lists(value: Any) -> Any:
    """shapely's mapping gives tuples; plain lists and floats for JSON encoders and validators."""
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_lists(v) for v in value]
    return value
