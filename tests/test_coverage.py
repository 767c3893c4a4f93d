"""Coverage algorithms on tiny synthetic inputs with answers worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from kindmap.geo import coverage as cov
from kindmap.geo.graph import Router
from kindmap.geo.network import network_from_arrays


def _line(n: int, spacing_deg: float = 0.001):
    """n nodes on the equator, ``spacing_deg`` apart (≈111.3 m per 0.001°)."""
    lon = np.arange(n) * spacing_deg
    return network_from_arrays(node_lon=lon, node_lat=np.zeros(n), edge_u=np.arange(n - 1), edge_v=np.arange(1, n))


def test_grid_coverage_by_hand():
    # 10 nodes 111.3 m apart; a place at node 0; 80 m a minute → node k is 1.39·k minutes away.
    net = _line(10)
    router = Router(net)
    households = np.array([10, 10, 10, 10, 10, 5, 5, 5, 5, 5], float)
    area = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    targets = router.snap_many(net.node_lon, net.node_lat)
    source = router.snap_many([0.0], [0.0])
    minutes, which = router.nearest_source_for_snapped(source, targets, profile="walk", max_minutes=60)
    step = net.edge_length[0] / 80.0
    assert np.allclose(minutes, np.arange(10) * step)
    covered = cov.covered_by_group(minutes, households, area, 2, thresholds=[5, 10])
    # within 5 min: nodes 0..3 (3·1.39 = 4.2 ≤ 5 < 5.6); within 10: nodes 0..7 (7·1.39 = 9.7)
    assert covered.tolist() == [[40.0, 0.0], [50.0, 15.0]]
    med = cov.weighted_median_by_group(minutes, households, area, 2)
    assert med[0] == pytest.approx(2 * step) and med[1] == pytest.approx(7 * step)


def test_weighted_median_and_unreached():
    v = np.array([1.0, 2.0, 3.0, np.inf, 5.0, np.inf])
    w = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 5.0])
    g = np.array([0, 0, 0, 0, 1, 1])
    med = cov.weighted_median_by_group(v, w, g, 3)
    assert med[0] == 2.0 and math.isinf(med[1]) and math.isnan(med[2])


def test_e2sfca_worked_example():
    # Three households groups P = 100, 200, 300; two places with 10 and 20 open hours a week.
    # Decay weights: point 0 sees place 0 fully; point 1 sees place 0 at 0.5 and place 1 fully;
    # point 2 sees place 1 at 0.5.
    W = csr_matrix(np.array([[1.0, 0.0], [0.5, 1.0], [0.0, 0.5]]))
    r = cov.e2sfca(W, [100, 200, 300], [10, 20])
    # Step 1: R0 = 10 / (100·1 + 200·0.5) = 0.05; R1 = 20 / (200·1 + 300·0.5) = 20/350.
    assert r.ratio == pytest.approx([0.05, 20 / 350])
    assert r.reach == pytest.approx([200, 350])
    # Step 2: A0 = 0.05; A1 = 0.5·0.05 + 20/350; A2 = 0.5·20/350.
    assert r.score == pytest.approx([0.05, 0.025 + 20 / 350, 10 / 350])
    # Supply is conserved: Σ P·A = Σ S when every place has demand in reach.
    assert float(np.dot([100, 200, 300], r.score)) == pytest.approx(30)


def test_decays_and_decay_matrix():
    assert cov.gaussian_decay([0, 15, 16], threshold=15).tolist() == [1.0, 0.0, 0.0]
    half = (math.exp(-1 / 8) - math.exp(-0.5)) / (1 - math.exp(-0.5))
    assert cov.gaussian_decay([7.5], threshold=15)[0] == pytest.approx(half)
    assert cov.stepped_decay([0, 5, 5.1, 10.1, 15, 15.1], threshold=15).tolist() == [1.0, 0.68, 0.68, 0.22, 0.22, 0.0]
    W = cov.decay_matrix([0, 1, 1], [0, 0, 1], [0.0, 20.0, 7.5], shape=(2, 2), threshold=15)
    assert W.toarray() == pytest.approx(np.array([[1.0, 0.0], [0.0, half]]))


def test_within_matrix_matches_hand_distances():
    # path 0 -1- 1 -2- 2 -4- 3
    g = csr_matrix((np.array([1.0, 2.0, 4.0]), (np.array([0, 1, 2]), np.array([1, 2, 3]))), shape=(4, 4))
    m = cov.within_matrix(g, [0, 3], limit=3.0).toarray()
    assert m[0].tolist() == pytest.approx([1e-9, 1.0, 3.0, 0.0])
    assert m[1].tolist() == pytest.approx([0.0, 0.0, 0.0, 1e-9])


def test_greedy_max_coverage_by_hand():
    cover = csr_matrix(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1], [1, 0, 0, 0]], bool))
    w = np.array([5.0, 1.0, 4.0, 3.0])
    g = cov.greedy_max_coverage(cover, w, k=3)
    # candidate 2 adds 7; then 0 adds 6 (5+1); then nothing is left uncovered → stop.
    assert g.chosen == [2, 0] and g.gains == [7.0, 6.0]
    g2 = cov.greedy_max_coverage(cover, w, k=2, covered=[True, False, False, False])
    # then candidates 0 and 1 both add point 1 (weight 1): a tie goes to the lower index
    assert g2.chosen == [2, 0] and g2.gains == [7.0, 1.0]


def test_group_means_priority_and_suppression():
    assert cov.weighted_mean_by_group([1.0, 3.0, 5.0], [1, 3, 0], [0, 0, 1], 2)[0] == pytest.approx(2.5)
    assert np.isnan(cov.weighted_mean_by_group([1.0, 3.0, 5.0], [1, 3, 0], [0, 0, 1], 2)[1])
    p = cov.priority_score([100, 100, 50, 0], [1, 10, np.nan, 1])
    assert p.tolist() == pytest.approx([100.0, 10.0, 27.5, 0.0])
    s = cov.suppress_small([0, 1, 9, 10, 250])
    assert s[0] == 0 and np.isnan(s[1]) and np.isnan(s[2]) and s[3] == 10 and s[4] == 250
