"""Isochrones on a plain grid: reached points inside, unreached outside."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from kindmap.errors import InvalidQuery
from kindmap.geo.graph import Router
from kindmap.geo.isochrone import isochrone
from kindmap.geo.network import network_from_arrays
from tests.geo import PROJ, lonlat


@pytest.fixture
def grid_router():
    n, spacing = 11, 100.0  # 1 km square, origin in the middle at (500, 500)
    ix, iy = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    lon, lat = PROJ.inverse(ix.ravel() * spacing, iy.ravel() * spacing)
    idx = np.arange(n * n).reshape(n, n)
    u = np.concatenate((idx[:-1, :].ravel(), idx[:, :-1].ravel()))
    v = np.concatenate((idx[1:, :].ravel(), idx[:, 1:].ravel()))
    return Router(network_from_arrays(node_lon=lon, node_lat=lat, edge_u=u, edge_v=v))


def test_isochrone_contains_reached_and_excludes_unreached(grid_router):
    # 5 minutes at 4.8 km/h is 400 m along the grid (L1 distance from the centre)
    area = isochrone(grid_router, *lonlat(500, 500), minutes=5, profile="walk")
    assert area.is_valid and not area.is_empty
    inside = [(500, 500), (800, 500), (600, 700), (700, 600), (500, 150), (520, 620)]
    outside = [(800, 800), (960, 500), (500, 30), (1000, 1000), (750, 750)]
    for x, y in inside:
        assert area.contains(shapely.Point(*lonlat(x, y))), (x, y)
    for x, y in outside:
        assert not area.contains(shapely.Point(*lonlat(x, y))), (x, y)
    # EPSG:4326 output
    minx, miny, maxx, maxy = area.bounds
    assert -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90


def test_isochrone_grows_with_time(grid_router):
    small = isochrone(grid_router, *lonlat(500, 500), minutes=3, profile="walk")
    big = isochrone(grid_router, *lonlat(500, 500), minutes=6, profile="walk")
    assert big.area > small.area and big.buffer(1e-9).contains(small)
    slow = isochrone(grid_router, *lonlat(500, 500), minutes=6, profile="slow")
    assert slow.area < big.area


def test_isochrone_rejects_bad_minutes(grid_router):
    with pytest.raises(InvalidQuery):
        isochrone(grid_router, *lonlat(500, 500), minutes=0, profile="walk")
