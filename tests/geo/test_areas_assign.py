"""Points into small areas with a tolerance, and coverage shares, on tiny synthetic squares."""

from __future__ import annotations

import numpy as np
import shapely

from kindmap.geo.areas import NEAREST, NONE, WITHIN, assign_points, covered_shares

# Two 0.01° squares side by side near Newport, with a 0.0004° (~28 m) sliver between them.
LEFT = shapely.box(-3.00, 51.58, -2.99, 51.59)
RIGHT = shapely.box(-2.9896, 51.58, -2.9796, 51.59)


def test_inside_sliver_and_far_points():
    lon = [-2.995, -2.9835, -2.9899, -2.95]
    lat = [51.585, 51.585, 51.585, 51.585]
    got = assign_points(lon, lat, [LEFT, RIGHT], tolerance_m=100)
    assert got.index.tolist() == [0, 1, 0, -1]
    assert got.how.tolist() == [WITHIN, WITHIN, NEAREST, NONE]
    assert got.distance_m[2] == np.float64(got.distance_m[2]) and 5 < got.distance_m[2] < 9


def test_overlap_goes_to_the_first_area():
    got = assign_points([-2.995], [51.585], [LEFT, LEFT.buffer(0.001)], tolerance_m=10)
    assert got.index.tolist() == [0] and got.how.tolist() == [WITHIN]


def test_shares_inside_an_extent():
    extent = shapely.box(-3.01, 51.57, -2.985, 51.60)  # all of LEFT, 4.6/10 of RIGHT
    shares = covered_shares([LEFT, RIGHT, shapely.box(-2.90, 51.58, -2.89, 51.59)], extent)
    assert shares[0] == 1.0 and abs(shares[1] - 0.46) < 0.01 and shares[2] == 0.0
    assert np.isnan(covered_shares([LEFT], None)).all()
