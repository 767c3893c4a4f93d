"""Walking routes as lines on tiny synthetic networks: the path goes the way the minutes say."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import LineString

from kindmap.geo.graph import Router
from kindmap.geo.network import FLAG_STEPS, build_network
from kindmap.geo.routes import walking_lines
from tests.geo import FOOT, PROJ, lonlat, write_osm


def metric(coords) -> np.ndarray:
    x, y = PROJ.forward(coords[:, 0], coords[:, 1])
    return np.column_stack((x, y))


@pytest.fixture
def river(tmp_path):
    """Two banks 60 m apart, joined by a bridge 400 m north and by steps 100 m south."""
    nodes = {1: (-30, -200), 2: (-30, 400), 3: (30, 400), 4: (30, -200), 5: (-30, -100), 6: (30, -100)}
    ways = [(1, [1, 5, 2], FOOT), (2, [2, 3], {"highway": "footway", "bridge": "yes"}), (3, [3, 6, 4], FOOT),
            (4, [5, 6], {"highway": "steps"})]
    return Router(build_network(write_osm(tmp_path / "river.osm", nodes, ways)))


def test_the_line_crosses_by_the_steps_and_its_length_is_the_walk(river):
    west, east = lonlat(-30, 0), lonlat(30, 0)
    [line] = walking_lines(river, *west, [east[0]], [east[1]], profile="walk", max_minutes=60)
    xy = metric(line.coords)
    assert line.metres == pytest.approx(100 + 60 + 100, abs=1.0)
    assert LineString(xy).length == pytest.approx(line.metres, abs=1.0)
    assert xy[0] == pytest.approx([-30, 0], abs=0.5) and xy[-1] == pytest.approx([30, 0], abs=0.5)
    assert xy[:, 1].min() == pytest.approx(-100, abs=0.5)  # down to the steps, never up to the bridge
    assert xy[:, 1].max() < 1


def test_step_free_goes_round_by_the_bridge(river):
    assert river.net.edge_flags.max() == FLAG_STEPS
    west, east = lonlat(-30, 0), lonlat(30, 0)
    [line] = walking_lines(river, *west, [east[0]], [east[1]], profile="step_free", max_minutes=60)
    xy = metric(line.coords)
    assert line.metres == pytest.approx(400 + 60 + 400, abs=1.0)
    assert LineString(xy).length == pytest.approx(line.metres, abs=1.0)
    assert xy[:, 1].max() == pytest.approx(400, abs=0.5) and xy[:, 1].min() > -1


def test_points_off_the_path_walk_to_it_and_the_same_edge_goes_straight(river):
    a, b = lonlat(-20, 150), lonlat(-25, 250)  # both beside the west bank's northern edge
    [line] = walking_lines(river, *a, [b[0]], [b[1]], profile="walk", max_minutes=60)
    xy = metric(line.coords)
    assert line.metres == pytest.approx(10 + 100 + 5, abs=0.5)
    assert xy == pytest.approx(np.array([[-20, 150], [-30, 150], [-30, 250], [-25, 250]]), abs=0.5)


def test_beyond_the_cap_or_too_far_from_a_path_there_is_no_line(river):
    west, east, far = lonlat(-30, 0), lonlat(30, 0), lonlat(50_000, 0)
    lines = walking_lines(river, *west, [east[0], far[0]], [east[1], far[1]], profile="walk", max_minutes=3)
    assert lines == [None, None]  # 260 m is 3.25 minutes at 80 m a minute
    assert walking_lines(river, *far, [east[0]], [east[1]], profile="walk", max_minutes=60) == [None]
