"""Searches bounded by the walk's reach give exactly the answers of a search on the whole network.

The straightforward path (``Router._search``: the whole CSR graph with the origin added as a
virtual node) is the reference; the bounded path (``Router.local``: only the nodes within the
walk's straight-line reach) must agree on every node and target, on an irregular synthetic
network with parallel edges, loops and steps, and on the real Rutland network.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from kindmap.geo.graph import Router, SnapSet
from kindmap.geo.isochrone import _cut, reached_lines
from kindmap.geo.local import NodeGrid
from kindmap.geo.network import FLAG_STEPS, build_network, network_from_arrays
from kindmap.geo.profiles import as_profile


def irregular_network(seed: int = 7, n: int = 900) -> Router:
    """Random nodes over ~3 km, each joined to a few near neighbours; some steps, parallel edges and loops."""
    rng = np.random.default_rng(seed)
    lon = rng.uniform(-0.02, 0.02, n)
    lat = 52.0 + rng.uniform(-0.013, 0.013, n)
    xy = np.column_stack((lon * 68_000, lat * 111_000))
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    near = np.argsort(d, axis=1)[:, 1:4]
    u = np.repeat(np.arange(n), 3)
    v = near.ravel()
    u = np.r_[u, u[:40], np.arange(5)]  # parallel edges (the shorter must win) and loops
    v = np.r_[v, v[:40], np.arange(5)]
    flags = np.where(rng.random(u.size) < 0.1, FLAG_STEPS, 0).astype(np.uint8)
    return Router(network_from_arrays(node_lon=lon, node_lat=lat, edge_u=u, edge_v=v, edge_flags=flags,
                                      keep_largest=True))


def reference_minutes(router: Router, origin, targets: SnapSet, profile: str, minutes: float) -> np.ndarray:
    """Minutes by the whole-network search (the straightforward path)."""
    prof = as_profile(profile)
    limit = minutes * prof.metres_per_minute
    o = router._for_profile(SnapSet.of(origin), prof, 1000.0)
    t = router._for_profile(targets, prof, 1000.0)
    dist, _ = router._search(o, prof, limit)
    metres = router._to_targets(dist, t)
    same = t.ok & (t.edge == o.edge[0])
    metres[same] = np.minimum(metres[same], o.offset_m[0] + t.offset_m[same] + np.abs(t.along_u[same] - o.along_u[0]))
    out = metres / prof.metres_per_minute
    out[metres > limit] = np.inf
    return out


@pytest.fixture(scope="module")
def irregular():
    return irregular_network()


@pytest.mark.parametrize("profile", ["walk", "step_free"])
@pytest.mark.parametrize("minutes", [2.0, 7.5, 15.0])
def test_bounded_search_equals_whole_network(irregular, profile, minutes):
    router = irregular
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(-0.02, 0.02, 200), 52.0 + rng.uniform(-0.013, 0.013, 200)
    targets = router.snap_many(lon, lat, profile=profile)
    for i in range(25):
        origin = router.snap(float(lon[i]), float(lat[i]), profile=profile)
        fast = router.walk_minutes_to_snapped(origin, targets, profile=profile, max_minutes=minutes)
        slow = reference_minutes(router, origin, targets, profile, minutes)
        assert np.array_equal(np.isfinite(fast), np.isfinite(slow))
        assert np.allclose(fast[np.isfinite(fast)], slow[np.isfinite(slow)], rtol=1e-12, atol=1e-9)
        # every node, not only targets
        nodes = router.node_metres(origin, profile=profile, max_minutes=minutes)
        whole, _ = router._search(router._for_profile(SnapSet.of(origin), as_profile(profile), 1000.0),
                                  as_profile(profile), minutes * as_profile(profile).metres_per_minute)
        assert np.array_equal(np.isfinite(nodes), np.isfinite(whole))
        assert np.allclose(nodes[np.isfinite(nodes)], whole[np.isfinite(whole)], rtol=1e-12)


def test_bounded_search_reaches_something_and_not_everything(irregular):
    origin = irregular.snap(0.0, 52.0)
    nodes = irregular.node_metres(origin, profile="walk", max_minutes=10)
    assert 20 < np.isfinite(nodes).sum() < irregular.net.n_nodes / 2


def test_node_grid_finds_every_node_in_the_disc():
    rng = np.random.default_rng(3)
    x, y = rng.uniform(0, 5000, 4000), rng.uniform(0, 3000, 4000)
    grid = NodeGrid(x, y, cell_m=237.0)
    for px, py, r in [(2500.0, 1500.0, 800.0), (0.0, 0.0, 300.0), (4999.0, 10.0, 1200.0), (9000.0, 9000.0, 100.0)]:
        want = np.flatnonzero(np.hypot(x - px, y - py) <= r)
        assert np.array_equal(grid.near(np.array([px]), np.array([py]), r), want)
        box = grid.in_box(px - r, py - r, px + r, py + r)
        inside = np.flatnonzero((np.abs(x - px) <= r) & (np.abs(y - py) <= r))
        assert np.isin(inside, box).all() and np.all(np.diff(box) > 0)


def reference_lines(router: Router, lon, lat, minutes, profile):
    """The isochrone's reached lines from the whole-network distances (the straightforward path)."""
    prof = as_profile(profile)
    net = router.net
    origin = router.snap(lon, lat, profile=prof)
    budget = minutes * prof.metres_per_minute
    o = router._for_profile(SnapSet.of(origin), prof, 1000.0)
    dist, _ = router._search(o, prof, budget)
    allowed = router.allowed_edges(prof.avoid_key)
    length = net.edge_length
    left_u = np.where(allowed, budget - dist[net.edge_u], -np.inf)
    left_v = np.where(allowed, budget - dist[net.edge_v], -np.inf)
    full = (left_u >= 0) & (left_v >= 0) & (left_u + left_v >= length)
    lines = [net.edge_xy(e) for e in np.flatnonzero(full)]
    for e in np.flatnonzero(~full & ((left_u > 0) | (left_v > 0))):
        if left_u[e] > 0:
            lines.append(_cut(net.edge_xy(e), 0.0, min(left_u[e], length[e])))
        if left_v[e] > 0:
            lines.append(_cut(net.edge_xy(e), max(length[e] - left_v[e], 0.0), length[e]))
    return lines


def _geometry(lines):
    return shapely.union_all(shapely.linestrings(np.vstack(lines), indices=np.repeat(np.arange(len(lines)), [len(a) for a in lines])))


@pytest.mark.parametrize("profile", ["walk", "step_free"])
def test_isochrone_lines_equal_whole_network(irregular, profile):
    for lon, lat in [(0.0, 52.0), (0.011, 52.004), (-0.017, 51.99)]:
        fast = reached_lines(irregular, lon, lat, minutes=6, profile=profile)
        slow = reference_lines(irregular, lon, lat, 6, profile)
        # the bounded path adds the origin's own edge and its snap line; everything else is the same
        assert len(fast) == len(slow) + 2
        assert all(np.allclose(a, b) for a, b in zip(fast, slow))


def test_rutland_bounded_search_equals_whole_network(data_dir):
    router = Router(build_network(data_dir / "rutland" / "rutland-2022-11.osm.pbf"))
    net = router.net
    rng = np.random.default_rng(5)
    pick = rng.choice(net.n_nodes, 60, replace=False)
    lon, lat = net.node_lon[pick] + 0.0003, net.node_lat[pick] - 0.0002
    targets = router.snap_many(lon, lat, profile="walk")
    for i in range(20):
        origin = router.snap(float(lon[i]), float(lat[i]))
        for minutes in (5.0, 20.0):
            fast = router.walk_minutes_to_snapped(origin, targets, profile="walk", max_minutes=minutes)
            slow = reference_minutes(router, origin, targets, "walk", minutes)
            assert np.array_equal(np.isfinite(fast), np.isfinite(slow))
            assert np.allclose(fast[np.isfinite(fast)], slow[np.isfinite(slow)], rtol=1e-12, atol=1e-9)
    # loops and curved edges in the isochrone
    fast = reached_lines(router, float(lon[0]), float(lat[0]), minutes=10, profile="walk")
    slow = reference_lines(router, float(lon[0]), float(lat[0]), 10, "walk")
    assert _geometry(fast[:-2]).equals(_geometry(slow))


def test_memory_mapped_network_gives_the_same_answers(tmp_path):
    """Networks load as read-only memory maps (workers share the pages); same arrays, same walks."""
    router = irregular_network(seed=2, n=400)
    path = tmp_path / "net.npz"
    router.net.save(path)
    from kindmap.geo.network import _ARRAY_FIELDS, WalkNetwork

    mapped, copied = WalkNetwork.load(path), WalkNetwork.load(path, mmap=False)
    for name in _ARRAY_FIELDS:
        a, b = getattr(mapped, name), getattr(copied, name)
        assert isinstance(a, np.memmap) or a.size == 0, name
        assert not a.flags.writeable and a.dtype == b.dtype and np.array_equal(a, b), name
    r1, r2 = Router(mapped), Router(copied)
    targets = r1.snap_many([0.001, -0.01, 0.015], [52.001, 51.995, 52.01])
    o = r1.snap(0.0, 52.0)
    assert np.array_equal(r1.walk_minutes_to_snapped(o, targets, profile="walk", max_minutes=20),
                          r2.walk_minutes_to_snapped(o, targets, profile="walk", max_minutes=20))
