"""The sphere index returns exactly the brute-force haversine order."""

import numpy as np
import pytest

from kindmap.geo.distance import PointIndex, haversine_m


def test_haversine_known_distance():
    # London (Charing Cross) to Oakham, about 134 km as the crow flies.
    d = haversine_m(-0.1246, 51.5074, -0.7287, 52.6704)
    assert 133_000 < float(d) < 136_000
    assert float(haversine_m(1.0, 2.0, 1.0, 2.0)) == 0.0


def test_within_matches_bruteforce_order():
    rng = np.random.default_rng(7)
    lon = rng.uniform(-0.9, -0.4, 2000)
    lat = rng.uniform(52.5, 52.8, 2000)
    index = PointIndex(lon, lat)
    o_lon, o_lat = -0.72, 52.67
    idx, dist = index.within(o_lon, o_lat, radius_m=5000)
    brute = haversine_m(o_lon, o_lat, lon, lat)
    expected = np.flatnonzero(brute <= 5000)
    assert set(idx.tolist()) == set(expected.tolist())
    np.testing.assert_allclose(dist, brute[idx], rtol=1e-9, atol=1e-6)
    assert np.all(np.diff(dist) >= 0)


def test_nearest_k_and_empty():
    index = PointIndex([0.0, 0.01, 0.02], [0.0, 0.0, 0.0])
    idx, dist = index.nearest(0.0, 0.0, k=5)
    assert idx.tolist() == [0, 1, 2]
    assert dist[1] == pytest.approx(1111.95, rel=1e-3)
    empty = PointIndex([], [])
    assert empty.within(0, 0, radius_m=10)[0].size == 0
    assert empty.nearest(0, 0, k=3)[0].size == 0
