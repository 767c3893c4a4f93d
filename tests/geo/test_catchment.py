"""E2SFCA pairs from catchment-bounded group searches equal one whole-network search per place."""

from __future__ import annotations

import numpy as np
import pytest

from kindmap.geo.catchment import pairs_within
from kindmap.geo.graph import SnapSet
from kindmap.geo.profiles import as_profile
from tests.geo.test_local_search import irregular_network


def straightforward_pairs(router, sources: SnapSet, targets: SnapSet, profile: str, minutes: float):
    """One whole-network search per place (``Router._search``), as gap analysis did before."""
    prof = as_profile(profile)
    limit = minutes * prof.metres_per_minute
    t = router._for_profile(targets, prof, 1000.0)
    s = router._for_profile(sources, prof, 1000.0)
    rows, cols, vals = [], [], []
    for j in np.flatnonzero(s.ok):
        o = s.take([j])
        dist, _ = router._search(o, prof, limit)
        metres = router._to_targets(dist, t)
        same = t.ok & (t.edge == o.edge[0])
        metres[same] = np.minimum(metres[same], o.offset_m[0] + t.offset_m[same] + np.abs(t.along_u[same] - o.along_u[0]))
        m = metres / prof.metres_per_minute
        m[metres > limit] = np.inf
        hit = np.flatnonzero(m <= minutes)
        rows.append(hit), cols.append(np.full(hit.size, j)), vals.append(m[hit])
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)


@pytest.fixture(scope="module")
def router():
    return irregular_network(seed=11, n=1200)


@pytest.mark.parametrize("profile", ["walk", "step_free"])
@pytest.mark.parametrize("minutes", [3.0, 10.0, 25.0])
def test_pairs_equal_one_search_per_place(router, profile, minutes):
    rng = np.random.default_rng(4)
    hlon, hlat = rng.uniform(-0.021, 0.021, 3000), 52.0 + rng.uniform(-0.014, 0.014, 3000)
    plon, plat = rng.uniform(-0.02, 0.02, 150), 52.0 + rng.uniform(-0.013, 0.013, 150)
    # some places share an edge with households, one is off the network
    plon[:10], plat[:10] = hlon[:10] + 1e-6, hlat[:10]
    plon[10], plat[10] = 0.5, 52.5
    targets = router.snap_many(hlon, hlat, profile=profile)
    sources = router.snap_many(plon, plat, profile=profile)
    fast = pairs_within(router, sources, targets, profile=profile, max_minutes=minutes)
    slow = straightforward_pairs(router, sources, targets, profile, minutes)
    assert fast[0].size > 100
    order = np.lexsort((slow[0], slow[1]))
    assert np.array_equal(fast[0], slow[0][order]) and np.array_equal(fast[1], slow[1][order])
    assert np.allclose(fast[2], slow[2][order], rtol=1e-12, atol=1e-12)


def test_no_sources_or_targets_give_no_pairs(router):
    far = router.snap_many([0.5], [52.5])
    near = router.snap_many([0.0], [52.0])
    for s, t in ((far, near), (near, far)):
        r, c, v = pairs_within(router, s, t, profile="walk", max_minutes=15)
        assert r.size == c.size == v.size == 0
