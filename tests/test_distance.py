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


@pytest.mark.parametrize("box", [(-3.0, 51.0, 0.5, 54.0),  # strips: England-sized
                                 (179.5, -20.0, 180.0, -19.0), (-180.0, 65.0, -179.0, 66.0),  # the antimeridian
                                 (-10.0, 79.5, 10.0, 81.0)])  # near a pole: the KD-tree answers
def test_radius_queries_equal_brute_force_everywhere(box):
    """Strips of latitude (or the KD-tree where strips do not apply) find exactly the points the
    haversine puts within the radius, for radii from a street to a region."""
    rng = np.random.default_rng(11)
    minx, miny, maxx, maxy = box
    lon, lat = rng.uniform(minx, maxx, 20_000), rng.uniform(miny, maxy, 20_000)
    lon[:50], lat[:50] = lon[50:100], lat[50:100]  # places sharing a point
    index = PointIndex(lon, lat)
    for k in range(120):
        o_lon, o_lat = rng.uniform(minx - 0.05, maxx + 0.05), rng.uniform(miny - 0.05, maxy + 0.05)
        o_lon = min(180.0, max(-180.0, o_lon))
        radius = [30.0, 400.0, 5000.0, 40_000.0][k % 4]
        brute = haversine_m(o_lon, o_lat, lon, lat)
        idx, chords = index.within_unsorted(o_lon, o_lat, radius_m=radius)
        # a point within a micrometre of the edge may fall either side (chord against haversine rounding)
        certain = np.flatnonzero(brute <= radius - 1e-6)
        possible = set(np.flatnonzero(brute <= radius + 1e-6).tolist())
        assert set(certain.tolist()) <= set(idx.tolist()) <= possible
        sorted_idx, metres = index.within(o_lon, o_lat, radius_m=radius)
        assert sorted(sorted_idx.tolist()) == sorted(idx.tolist())
        np.testing.assert_allclose(metres, brute[sorted_idx], rtol=1e-9, atol=1e-6)
        assert all((a, i) < (b, j) for a, b, i, j in zip(metres, metres[1:], sorted_idx, sorted_idx[1:]))


def test_nearest_gives_positions_in_input_order():
    """The index sorts its points by strip internally; callers still get their own positions."""
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(-1, 1, 5000), rng.uniform(50, 52, 5000)
    index = PointIndex(lon, lat)
    for o_lon, o_lat in rng.uniform((-1, 50), (1, 52), (50, 2)):
        idx, dist = index.nearest(o_lon, o_lat, k=7)
        brute = haversine_m(o_lon, o_lat, lon, lat)
        assert idx.tolist() == np.argsort(brute, kind="stable")[:7].tolist()
        np.testing.assert_allclose(dist, brute[idx], rtol=1e-9, atol=1e-6)
