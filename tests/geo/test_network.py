"""Building the walking network from OSM: which ways, where edges split, storage."""

from __future__ import annotations

import numpy as np
import pytest

from kindmap.errors import DataError
from kindmap.geo.graph import Router
from kindmap.geo.network import (
    FLAG_STEPS,
    FLAG_WHEELCHAIR_NO,
    WalkNetwork,
    build_network,
    is_walkable,
)
from tests.geo import FOOT, lonlat, write_osm


@pytest.mark.parametrize(
    ("tags", "walkable"),
    [
        ({"highway": "footway"}, True),
        ({"highway": "residential"}, True),
        ({"highway": "cycleway"}, True),
        ({"highway": "cycleway", "foot": "no"}, False),
        ({"highway": "service", "access": "private"}, False),
        ({"highway": "service", "access": "private", "foot": "yes"}, True),
        ({"highway": "track", "access": "no", "foot": "designated"}, True),
        ({"highway": "footway", "foot": "no"}, False),
        ({"highway": "motorway"}, False),
        ({"highway": "trunk"}, False),
        ({"highway": "trunk", "foot": "yes"}, True),
        ({"highway": "pedestrian", "area": "yes"}, False),
        ({"highway": "construction"}, False),
        ({"highway": "proposed"}, False),
        ({"highway": "steps"}, True),
        ({"building": "yes"}, False),
    ],
)
def test_walkable_rules(tags, walkable):
    assert is_walkable(tags) is walkable


def test_excluded_ways_are_not_in_the_network(tmp_path):
    nodes = {i: (100.0 * i, 0.0) for i in range(1, 9)}
    ways = [
        (10, [1, 2], FOOT),
        (11, [2, 3], {"highway": "service", "access": "private"}),
        (12, [3, 4], {"highway": "footway", "foot": "no"}),
        (13, [4, 5], {"highway": "motorway"}),
        (14, [5, 6], {"highway": "pedestrian", "area": "yes"}),
        (15, [6, 7], {"highway": "trunk", "foot": "permissive"}),
        (16, [7, 8], {"highway": "construction"}),
    ]
    net = build_network(write_osm(tmp_path / "x.osm", nodes, ways), keep_largest=False)
    assert set(net.edge_way_id.tolist()) == {10, 15}


def test_ways_split_at_shared_nodes_only(tmp_path):
    # a long way crossed by a short one at node 3: edges 1-3, 3-5, 6-3; node 2 and 4 stay geometry
    nodes = {1: (0, 0), 2: (100, 0), 3: (200, 0), 4: (300, 0), 5: (400, 0), 6: (200, 100)}
    net = build_network(write_osm(tmp_path / "x.osm", nodes, [(1, [1, 2, 3, 4, 5], FOOT), (2, [6, 3], FOOT)]))
    assert net.n_nodes == 4 and net.n_edges == 3
    assert sorted(np.round(net.edge_length).tolist()) == [100, 200, 200]
    assert sorted(np.diff(net.geom_offsets).tolist()) == [2, 3, 3]
    assert net.total_km == pytest.approx(0.5, abs=1e-3)


def test_flags_and_largest_component(tmp_path):
    nodes = {1: (0, 0), 2: (100, 0), 3: (200, 0), 7: (5000, 0), 8: (5100, 0)}
    ways = [
        (1, [1, 2], {"highway": "steps"}),
        (2, [2, 3], {"highway": "footway", "wheelchair": "no"}),
        (3, [7, 8], FOOT),  # an island: dropped
    ]
    net = build_network(write_osm(tmp_path / "x.osm", nodes, ways))
    assert net.n_nodes == 3 and net.dropped_nodes == 2
    flags = dict(zip(net.edge_way_id.tolist(), net.edge_flags.tolist()))
    assert flags == {1: FLAG_STEPS, 2: FLAG_WHEELCHAIR_NO}


def test_save_load_round_trip(tmp_path):
    nodes = {1: (0, 0), 2: (100, 0), 3: (100, 80), 4: (0, 80)}
    net = build_network(write_osm(tmp_path / "x.osm", nodes, [(1, [1, 2, 3], FOOT), (2, [3, 4, 1], {"highway": "steps"})]))
    net.save(tmp_path / "net.npz")
    back = WalkNetwork.load(tmp_path / "net.npz")
    assert back.proj4 == net.proj4 and back.dropped_nodes == net.dropped_nodes
    for name in ("node_lon", "node_x", "edge_u", "edge_v", "edge_length", "edge_flags", "geom_offsets", "geom_xy", "indptr", "indices", "adj_edge"):
        np.testing.assert_array_equal(getattr(back, name), getattr(net, name))
    o, t = lonlat(50, -5), lonlat(50, 85)
    a = Router(net).walk_minutes(*o, [t[0]], [t[1]], profile="walk")
    b = Router(back).walk_minutes(*o, [t[0]], [t[1]], profile="walk")
    assert a[0] == b[0]


def test_missing_and_corrupt_files_raise_data_error(tmp_path):
    with pytest.raises(DataError):
        build_network(tmp_path / "nope.osm.pbf")
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(b"\x00\x00\x00\x0dnot really a pbf file at all")
    with pytest.raises(DataError):
        build_network(bad)
    with pytest.raises(DataError):
        build_network(write_osm(tmp_path / "empty.osm", {1: (0, 0)}, []))
    with pytest.raises(DataError):
        WalkNetwork.load(tmp_path / "nope.npz")
    (tmp_path / "trunc.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(DataError):
        WalkNetwork.load(tmp_path / "trunc.npz")
