"""A network's search structures stored beside it and memory-mapped give the same answers as
structures built in memory, are rebuilt when the network changes, and never break loading."""

from __future__ import annotations

import os

import numpy as np

from kindmap.geo.graph import Router
from kindmap.geo.network import WalkNetwork
from kindmap.geo.prepared import load_prepared, load_router, prepared_path
from kindmap.geo.profiles import as_profile
from tests.geo.test_local_search import irregular_network

WALK = as_profile("walk")


def _stored(tmp_path, seed: int = 7):
    path = tmp_path / "networks" / "testshire.npz"
    irregular_network(seed=seed).net.save(path)
    return path


def _answers(router: Router, seed: int = 1):
    rng = np.random.default_rng(seed)
    net = router.net
    lo, la = net.node_lon, net.node_lat
    lon = rng.uniform(lo.min(), lo.max(), 60)
    lat = rng.uniform(la.min(), la.max(), 60)
    snaps = router.snap_many(lon, lat, profile=WALK)
    minutes = [router.walk_minutes_to_snapped(snaps[i], snaps, profile=WALK, max_minutes=15) for i in range(0, 60, 6)]
    box = router.grid.in_box(float(net.node_x.min()) + 300, float(net.node_y.min()) + 300,
                             float(net.node_x.min()) + 900, float(net.node_y.min()) + 700)
    return snaps, minutes, box


def test_stored_structures_are_memory_mapped_and_answer_the_same(tmp_path):
    path = _stored(tmp_path)
    built = load_router(path, WALK)  # none stored yet: built, then stored
    assert prepared_path(path).is_file()
    mapped = load_router(path, WALK)
    g = mapped.graph(WALK)
    for array in (g.indices, g.indptr, g.data, mapped._index(WALK.avoid_key).ax, mapped.grid.order):
        assert not array.flags.writeable and not array.flags.owndata  # views of the read-only file map, not copies
    stored = load_prepared(path, WALK)
    net = WalkNetwork.load(path)
    # aligned in the file: numpy copied unaligned maps whole for a binary search (24 ms a query at 10⁷ nodes)
    assert all(a.flags.aligned for a in stored.values())
    assert all(getattr(net, name).flags.aligned for name in ("node_x", "indptr", "indices", "edge_length", "geom_xy"))
    fresh = Router(WalkNetwork.load(path, mmap=False))  # the straightforward path: everything built now
    for got in (_answers(built), _answers(mapped)):
        want = _answers(fresh)
        for name in ("edge", "u", "v", "along_u", "along_v", "offset_m"):
            np.testing.assert_array_equal(getattr(got[0], name), getattr(want[0], name))
        for a, b in zip(got[1], want[1]):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(got[2], want[2])
    assert (g != fresh.graph(WALK)).nnz == 0


def test_a_rebuilt_network_is_not_given_old_structures(tmp_path):
    path = _stored(tmp_path)
    load_router(path, WALK)
    assert load_prepared(path, WALK) is not None
    irregular_network(seed=8).net.save(path)  # another network under the same name
    os.utime(path, ns=(1, 1))
    assert load_prepared(path, WALK) is None  # stale: stamped with the old file's size and time
    router = load_router(path, WALK)
    want = Router(WalkNetwork.load(path, mmap=False))
    np.testing.assert_array_equal(_answers(router)[0].edge, _answers(want)[0].edge)
    assert load_prepared(path, WALK) is not None  # stored again for the new network
    assert load_prepared(path, as_profile("step_free")) is None  # stored for one profile's edges only


def test_a_damaged_or_unwritable_store_only_costs_time(tmp_path, monkeypatch):
    from kindmap.geo import prepared

    path = _stored(tmp_path)
    load_router(path, WALK)
    stored = prepared_path(path)
    stored.write_bytes(stored.read_bytes()[:1000])  # truncated
    assert load_prepared(path, WALK) is None
    assert load_router(path, WALK, save=False).snap_many([0.0], [52.0]).ok[0]
    stored.unlink()

    def read_only(*_a, **_k):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(prepared, "save_prepared", read_only)  # the router is built and used, the store skipped
    assert load_router(path, WALK).snap_many([0.0], [52.0]).ok[0]
    assert not stored.exists()
