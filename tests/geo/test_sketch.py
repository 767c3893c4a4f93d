"""Streets for the printable plan's sketch map, on a few points."""

from __future__ import annotations

import numpy as np

from kindmap.geo.sketch import segments_in_box


def test_only_edges_with_both_ends_in_the_box_and_the_longest_first():
    lon = np.array([0.0, 1.0, 2.0, 5.0, 0.0])
    lat = np.array([0.0, 0.0, 0.0, 0.0, 3.0])
    u = np.array([0, 1, 2, 0], dtype=np.int32)
    v = np.array([1, 2, 3, 4], dtype=np.int32)
    found = segments_in_box(lon, lat, u, v, (-0.5, -0.5, 2.5, 3.5))
    assert found.tolist() == [[0, 0, 1, 0], [1, 0, 2, 0], [0, 0, 0, 3]]
    capped = segments_in_box(lon, lat, u, v, (-0.5, -0.5, 2.5, 3.5), limit=1)
    assert capped.tolist() == [[0, 0, 0, 3]]
    assert segments_in_box(lon, lat, u, v, (10, 10, 11, 11)).shape == (0, 4)
