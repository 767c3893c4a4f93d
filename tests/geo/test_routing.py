"""Snapping and walking times on tiny synthetic networks with hand-computed answers."""

from __future__ import annotations

import numpy as np
import pytest

from kindmap.errors import InvalidQuery
from kindmap.geo.graph import Router, estimate_walk_minutes
from kindmap.geo.network import build_network, network_from_arrays
from kindmap.geo.profiles import BUILTIN_PROFILES, get_profile
from tests.geo import FOOT, PROJ, lonlat, write_osm

WALK_M_PER_MIN = 4.8 * 1000 / 60  # 80 m a minute


def metres(minutes, profile="walk"):
    return np.asarray(minutes) * get_profile(profile).metres_per_minute


@pytest.fixture
def river(tmp_path):
    """Two banks 60 m apart, joined only by a bridge 400 m north of the two points."""
    nodes = {1: (-30, -200), 2: (-30, 400), 3: (30, 400), 4: (30, -200)}
    ways = [(1, [1, 2], FOOT), (2, [2, 3], {"highway": "footway", "bridge": "yes"}), (3, [3, 4], FOOT)]
    return Router(build_network(write_osm(tmp_path / "river.osm", nodes, ways)))


def test_river_with_one_bridge_walks_round(river):
    west, east = lonlat(-30, 0), lonlat(30, 0)
    minutes = river.walk_minutes(*west, [east[0]], [east[1]], profile="walk")
    assert metres(minutes)[0] == pytest.approx(400 + 60 + 400, abs=1.0)


def test_snap_to_middle_of_long_edge_gives_distance_along_it(river):
    snap = river.snap(*lonlat(-20, 0))  # 10 m east of the west bank path, 200 m from its south end
    assert sorted((snap.along_u, snap.along_v)) == pytest.approx([200.0, 400.0], abs=0.5)
    assert snap.offset_m == pytest.approx(10.0, abs=0.2)
    bridge_end = lonlat(-30, 400)
    minutes = river.walk_minutes(*lonlat(-20, 0), [bridge_end[0]], [bridge_end[1]], profile="walk")
    assert metres(minutes)[0] == pytest.approx(10 + 400, abs=1.0)


def test_same_edge_walks_straight_along_it(river):
    a, b = lonlat(-30, -100), lonlat(-25, 100)
    assert metres(river.walk_minutes(*a, [b[0]], [b[1]], profile="walk"))[0] == pytest.approx(200 + 5, abs=0.5)


def test_far_point_is_refused_not_given_a_time(river):
    far = lonlat(50_000, 0)
    with pytest.raises(InvalidQuery, match="50.0 km from the nearest walkable path"):
        river.snap(*far)
    with pytest.raises(InvalidQuery):
        river.walk_minutes(*far, [far[0]], [far[1]], profile="walk")
    here = lonlat(-30, 0)
    minutes = river.walk_minutes(*here, [far[0], here[0]], [far[1], here[1]], profile="walk")
    assert np.isinf(minutes[0]) and minutes[1] == pytest.approx(0.0, abs=1e-3)


def test_cap_turns_long_walks_into_inf(river):
    west, east = lonlat(-30, 0), lonlat(30, 0)
    capped = river.walk_minutes(*west, [east[0]], [east[1]], profile="walk", max_minutes=10)
    assert np.isinf(capped[0])  # 860 m is 10.75 minutes
    assert np.isfinite(river.walk_minutes(*west, [east[0]], [east[1]], profile="walk", max_minutes=11)[0])


@pytest.mark.parametrize("flag", [{"highway": "steps"}, {"highway": "footway", "wheelchair": "no"}])
def test_step_free_takes_the_detour(tmp_path, flag):
    nodes = {1: (0, 0), 2: (100, 0), 3: (0, 100), 4: (100, 100), 5: (-100, 0), 6: (200, 0)}
    ways = [(1, [1, 2], flag), (2, [1, 3, 4, 2], FOOT), (3, [5, 1], FOOT), (4, [2, 6], FOOT)]
    router = Router(build_network(write_osm(tmp_path / "steps.osm", nodes, ways)))
    a, b = lonlat(-50, 0), lonlat(150, 0)
    assert metres(router.walk_minutes(*a, [b[0]], [b[1]], profile="walk"), "walk")[0] == pytest.approx(200, abs=1)
    sf = router.walk_minutes(*a, [b[0]], [b[1]], profile="step_free")
    assert metres(sf, "step_free")[0] == pytest.approx(400, abs=1)
    # a point right on the flagged edge is re-snapped to a path step_free may use
    mid = lonlat(50, 2)
    assert metres(router.walk_minutes(*a, [mid[0]], [mid[1]], profile="step_free"), "step_free")[0] > 100


def grid(n: int = 12, spacing: float = 100.0, *, drop: float = 0.15, seed: int = 1):
    rng = np.random.default_rng(seed)
    ix, iy = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    lon, lat = PROJ.inverse(ix.ravel() * spacing, iy.ravel() * spacing)
    idx = np.arange(n * n).reshape(n, n)
    u = np.concatenate((idx[:-1, :].ravel(), idx[:, :-1].ravel()))
    v = np.concatenate((idx[1:, :].ravel(), idx[:, 1:].ravel()))
    keep = rng.random(u.size) > drop
    return Router(network_from_arrays(node_lon=lon, node_lat=lat, edge_u=u[keep], edge_v=v[keep], keep_largest=True)), rng


def test_multi_source_equals_brute_force_min():
    router, rng = grid()
    pts = rng.uniform(0, 1100, size=(60, 2))
    lon, lat = PROJ.inverse(pts[:, 0], pts[:, 1])
    sources, targets = router.snap_many(lon[:7], lat[:7]), router.snap_many(lon[7:], lat[7:])
    # brute force: one search per source, minimum over them
    per_source = np.array([router.walk_minutes_to_snapped(sources[i], targets, profile="walk") for i in range(7)])
    minutes, which = router.nearest_source_for_snapped(sources, targets, profile="walk")
    np.testing.assert_allclose(minutes, per_source.min(0), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(per_source[which, np.arange(len(targets))], minutes, rtol=1e-9, atol=1e-9)
    # per node too, and with a cap
    node_min, node_src = router.nearest_from_sources(sources, profile="walk", max_minutes=6)
    brute = np.array([router.node_metres(sources[i], profile="walk") for i in range(7)]) / WALK_M_PER_MIN
    best = brute.min(0)
    expect = np.where(best <= 6, best, np.inf)
    np.testing.assert_allclose(node_min, expect, rtol=1e-9)
    reached = np.isfinite(node_min)
    np.testing.assert_allclose(brute[node_src[reached], np.flatnonzero(reached)], node_min[reached], rtol=1e-9)
    assert (node_src[~reached] == -1).all()


def test_nearest_returns_k_sorted_within_cap():
    router, rng = grid(seed=3)
    pts = rng.uniform(0, 1100, size=(40, 2))
    lon, lat = PROJ.inverse(pts[:, 0], pts[:, 1])
    targets = router.snap_many(lon, lat)
    origin = router.snap(*lonlat(550, 550))
    idx, minutes = router.nearest(origin, targets, profile="walk", k=5, max_minutes=8)
    all_minutes = router.walk_minutes_to_snapped(origin, targets, profile="walk")
    assert len(idx) <= 5 and (np.diff(minutes) >= 0).all() and (minutes <= 8).all()
    np.testing.assert_allclose(minutes, np.sort(all_minutes[all_minutes <= 8])[: len(idx)])


@pytest.mark.parametrize("n", [500, 6000])  # 6000: many points are queried in spatial order
def test_snap_many_matches_brute_force_point_to_segment(n):
    router, rng = grid(seed=5)
    pts = rng.uniform(-50, 1150, size=(n, 2))
    lon, lat = PROJ.inverse(pts[:, 0], pts[:, 1])
    snaps = router.snap_many(lon, lat)
    net = router.net
    a = net.geom_xy[net.geom_offsets[:-1]]
    b = net.geom_xy[net.geom_offsets[1:] - 1]
    x, y = net.projection.forward(lon, lat)
    p = np.column_stack((x, y))[:, None, :]
    t = np.clip(((p - a) * (b - a)).sum(-1) / ((b - a) ** 2).sum(-1), 0, 1)
    d = np.linalg.norm(p - (a + (b - a) * t[..., None]), axis=-1).min(1)
    np.testing.assert_allclose(snaps.offset_m, d, atol=1e-6)


def test_profiles_and_fallback():
    assert get_profile("walk").speed_kmh == 4.8 and get_profile("slow").speed_kmh == 3.0
    assert get_profile("step_free").avoid_steps and get_profile("step_free").avoid_wheelchair_no
    assert get_profile("slow", speeds={"slow": 2.5}).speed_kmh == 2.5
    with pytest.raises(InvalidQuery, match="slow, step_free, walk"):
        get_profile("run")
    with pytest.raises(InvalidQuery):
        get_profile("walk", speeds={"walk": 0})
    assert set(BUILTIN_PROFILES) == {"walk", "slow", "step_free"}
    assert estimate_walk_minutes(800, profile="walk") == pytest.approx(800 * 1.3 / 80)
    assert estimate_walk_minutes(800, profile="walk", circuity=1.0) == pytest.approx(10.0)
    with pytest.raises(InvalidQuery):
        estimate_walk_minutes(800, profile="walk", circuity=0.5)


def test_bad_coordinates_are_refused(river):
    with pytest.raises(InvalidQuery):
        river.snap(float("nan"), 52.0)
    with pytest.raises(InvalidQuery):
        river.snap(-0.7, 95.0)
    with pytest.raises(InvalidQuery):
        river.walk_minutes(*lonlat(-30, 0), [0.0], [0.0], profile="walk", max_minutes=-1)
