"""Coverage, E2SFCA accessibility and greedy maximal coverage on plain arrays (no database, no web).

Inputs are demand points (households, a group index per point such as its small area),
walking minutes, and supply weights. Everything aggregates with ``np.bincount`` or sparse
matrix products, so one region-wide pass costs a few array operations.

E2SFCA (enhanced two-step floating catchment area; Luo & Qi 2009, with the continuous
Gaussian decay of Dai 2010):

1. for each place j, ``R_j = S_j / Σ_i P_i · W(d_ij)`` over demand points within ``d0``;
2. for each demand point i, ``A_i = Σ_j R_j · W(d_ij)``.

With the sparse weight matrix ``W`` (points × places) that is ``R = S / (Wᵀ P)`` and
``A = W R``: two sparse mat-vecs. ``S_j`` is the place's weekly open hours, so ``A_i`` reads
"open hours a week per household, shared with everyone else in reach".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import dijkstra

# Luo & Qi (2009): three travel-time zones weighted 1.00, 0.68, 0.22 (Gaussian, β = 100 at 10/20/30 min).
STEP_WEIGHTS = (1.0, 0.68, 0.22)
SUPPRESS_BELOW = 10


def gaussian_decay(minutes: ArrayLike, *, threshold: float) -> NDArray[np.float64]:
    """Dai (2010) Gaussian weight: 1 at 0 min falling to 0 at ``threshold`` minutes; 0 beyond."""
    d = np.asarray(minutes, dtype=np.float64)
    e = np.exp(-0.5)
    w = (np.exp(-0.5 * (d / threshold) ** 2) - e) / (1.0 - e)
    return np.where(d <= threshold, np.clip(w, 0.0, 1.0), 0.0)


def stepped_decay(minutes: ArrayLike, *, threshold: float, weights: tuple[float, ...] = STEP_WEIGHTS) -> NDArray[np.float64]:
    """Luo & Qi (2009) stepped weight: the threshold split into equal zones weighted ``weights``; 0 beyond."""
    d = np.asarray(minutes, dtype=np.float64)
    zone = np.minimum(np.floor(d / threshold * len(weights)), len(weights) - 1).astype(np.int64)
    w = np.asarray(weights, dtype=np.float64)[np.clip(zone, 0, len(weights) - 1)]
    return np.where(d <= threshold, w, 0.0)


DECAYS = {"gaussian": gaussian_decay, "stepped": stepped_decay}


def group_sum(values: ArrayLike, groups: ArrayLike, n_groups: int) -> NDArray[np.float64]:
    """Sum of ``values`` per group index (0..n_groups-1) by ``np.bincount``."""
    return np.bincount(np.asarray(groups), weights=np.asarray(values, dtype=np.float64), minlength=n_groups)


def covered_by_group(minutes: ArrayLike, weights: ArrayLike, groups: ArrayLike, n_groups: int, *,
                     thresholds: ArrayLike) -> NDArray[np.float64]:
    """Weight (households) within each threshold (minutes) per group: shape (len(thresholds), n_groups)."""
    m = np.asarray(minutes, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    g = np.asarray(groups)
    return np.vstack([np.bincount(g, weights=w * (m <= t), minlength=n_groups) for t in np.atleast_1d(thresholds)])


def weighted_median_by_group(values: ArrayLike, weights: ArrayLike, groups: ArrayLike, n_groups: int) -> NDArray[np.float64]:
    """Weighted median of ``values`` per group (lower median: first value whose cumulative weight ≥ half); NaN when empty.

    ``inf`` values (beyond reach) sort last, so a group whose median is inf is more than half unreached.
    Each group's weights are summed on their own, so a group's median does not depend on the other
    groups given (a partitioned run computes each area's in the tile holding it).
    """
    v = np.asarray(values, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    g = np.asarray(groups)
    out = np.full(n_groups, np.nan)
    keep = w > 0
    v, w, g = v[keep], w[keep], g[keep]
    if v.size == 0:
        return out
    order = np.lexsort((v, g))
    v, w, g = v[order], w[order], g[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    ends = np.r_[starts[1:], g.size]
    for s, e, grp in zip(starts, ends, g[starts]):
        cum = np.cumsum(w[s:e])
        half = cum[-1] / 2.0
        out[grp] = v[s + int(np.searchsorted(cum, half - 1e-12 * max(1.0, half)))]
    return out


@dataclass(frozen=True)
class E2sfca:
    """E2SFCA result: ``score`` per demand point, ``ratio`` per place, ``reach`` (demand within reach) per place."""

    score: NDArray[np.float64]
    ratio: NDArray[np.float64]
    reach: NDArray[np.float64]


def e2sfca(weights: csr_matrix, demand: ArrayLike, supply: ArrayLike) -> E2sfca:
    """E2SFCA from a sparse decay-weight matrix (points × places): ``R = S / (Wᵀ P)``, ``A = W R``."""
    P = np.asarray(demand, dtype=np.float64)
    S = np.asarray(supply, dtype=np.float64)
    W = csr_matrix(weights)
    if W.shape != (P.size, S.size):
        raise ValueError(f"weights must be {P.size} × {S.size}, got {W.shape}")
    reach = W.T @ P
    ratio = np.divide(S, reach, out=np.zeros_like(S), where=reach > 0)
    return E2sfca(score=W @ ratio, ratio=ratio, reach=reach)


def decay_matrix(rows: ArrayLike, cols: ArrayLike, minutes: ArrayLike, *, shape: tuple[int, int], threshold: float,
                 decay: str = "gaussian") -> csr_matrix:
    """Sparse decay weights (points × places) from (point, place, minutes) triples; pairs beyond ``threshold`` drop out."""
    if decay not in DECAYS:
        raise ValueError(f"decay must be one of {sorted(DECAYS)}")
    m = np.asarray(minutes, dtype=np.float64)
    w = DECAYS[decay](m, threshold=threshold)
    keep = (m <= threshold) & (w > 0)
    return coo_matrix((w[keep], (np.asarray(rows)[keep], np.asarray(cols)[keep])), shape=shape).tocsr()


def group_matrix(groups: ArrayLike, n_groups: int, weights: ArrayLike | None = None) -> csr_matrix:
    """Sparse (n_groups × points) aggregation matrix, so ``G @ x`` sums x per group (weighted when given)."""
    g = np.asarray(groups)
    w = np.ones(g.size) if weights is None else np.asarray(weights, dtype=np.float64)
    return csr_matrix((w, (g, np.arange(g.size))), shape=(n_groups, g.size))


def weighted_mean_by_group(values: ArrayLike, weights: ArrayLike, groups: ArrayLike, n_groups: int) -> NDArray[np.float64]:
    """Weight-averaged values per group by one sparse product (NaN where a group has no weight)."""
    G = group_matrix(groups, n_groups, weights)
    total = np.asarray(G.sum(axis=1)).ravel()
    num = G @ np.asarray(values, dtype=np.float64)
    return np.divide(num, total, out=np.full(n_groups, np.nan), where=total > 0)


def within_matrix(graph: csr_matrix, sources: ArrayLike, *, limit: float, chunk: int = 32) -> csr_matrix:
    """Sparse (sources × nodes) network distances ≤ ``limit`` (graph weights' units), by chunked capped Dijkstra.

    Zero distances (a source at a node) are stored as a tiny positive value so they stay in the sparse pattern.
    """
    src = np.asarray(sources, dtype=np.int64)
    n = graph.shape[0]
    rows, cols, vals = [], [], []
    for lo in range(0, src.size, chunk):
        d = dijkstra(graph, directed=False, indices=src[lo : lo + chunk], limit=limit)
        r, c = np.nonzero(np.isfinite(d))
        rows.append(r + lo)
        cols.append(c)
        vals.append(np.maximum(d[r, c], 1e-9))
    if not rows:
        return csr_matrix((src.size, n))
    return csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(src.size, n))


@dataclass(frozen=True)
class Greedy:
    """Greedy maximal coverage: chosen candidate indices in order and the weight each adds."""

    chosen: list[int]
    gains: list[float]


def greedy_max_coverage(cover: csr_matrix, weights: ArrayLike, *, k: int, covered: ArrayLike | None = None) -> Greedy:
    """Pick up to ``k`` candidates (rows of a boolean candidates × points matrix) that add the most uncovered weight.

    The classic greedy is within (1 − 1/e) of the optimum (Nemhauser et al. 1978); each step is
    one sparse mat-vec. Stops early when no candidate adds anything.
    """
    C = csr_matrix(cover, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    done = np.zeros(w.size, bool) if covered is None else np.asarray(covered, bool).copy()
    chosen, gains = [], []
    for _ in range(max(0, int(k))):
        gain = C @ np.where(done, 0.0, w)
        if chosen:
            gain[chosen] = -1.0
        j = int(np.argmax(gain)) if gain.size else -1
        if j < 0 or gain[j] <= 0:
            break
        chosen.append(j)
        gains.append(float(gain[j]))
        done[C.indices[C.indptr[j] : C.indptr[j + 1]]] = True
    return Greedy(chosen, gains)


def priority_score(uncovered: ArrayLike, decile: ArrayLike) -> NDArray[np.float64]:
    """Priority 0–100: uncovered households × (11 − decile)/10, divided by the region's largest, × 100.

    Decile 1 (most deprived) weighs 1.0 and decile 10 weighs 0.1; an unknown decile (NaN) weighs
    0.55, the mean weight, so it neither hides nor inflates an area.
    """
    u = np.asarray(uncovered, dtype=np.float64)
    d = np.asarray(decile, dtype=np.float64)
    weight = np.where(np.isfinite(d), (11.0 - d) / 10.0, 0.55)
    raw = u * weight
    top = raw.max() if raw.size else 0.0
    return raw / top * 100.0 if top > 0 else np.zeros_like(raw)


def suppress_small(counts: ArrayLike, *, below: int = SUPPRESS_BELOW) -> NDArray[np.float64]:
    """Counts with every value in 1..below-1 replaced by NaN (statistical disclosure control for private households)."""
    c = np.asarray(counts, dtype=np.float64)
    return np.where((c > 0) & (c < below), np.nan, c)
