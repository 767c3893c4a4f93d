"""Searches whose cost follows the walk's reach, not the network's size.

A walk of D metres never leaves the disc of radius D around where it starts: every edge is
at least as long as the straight line between its ends, and the walk from a point to its
path is the straight line to it. So the shortest path from a point to any node within D
metres runs entirely through nodes within D of that point, and a Dijkstra on the subgraph
of those nodes gives exactly the same distances as one on the whole network, for every node
within D. :class:`NodeGrid` finds those nodes by square cells (no per-query work over the
whole network), :func:`ball_graph` cuts their subgraph out of the CSR matrix, and
:func:`local_search` adds the snapped sources as virtual nodes (as ``Router._search`` does
for the whole network) and runs scipy's capped Dijkstra on the small graph.

Coordinates are the network's metric CRS (metres); distances are metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

CELL_M = 250.0


class NodeGrid:
    """Nodes bucketed in square cells, so the nodes in a box cost O(rows of cells + answer)."""

    def __init__(self, x: NDArray[np.float64], y: NDArray[np.float64], *, cell_m: float = CELL_M) -> None:
        self.x, self.y, self.cell = x, y, float(cell_m)
        self.x0 = float(x.min()) if x.size else 0.0
        self.y0 = float(y.min()) if y.size else 0.0
        ix = ((x - self.x0) // self.cell).astype(np.int64)
        iy = ((y - self.y0) // self.cell).astype(np.int64)
        self.nx = int(ix.max()) + 1 if x.size else 1
        self.ny = int(iy.max()) + 1 if y.size else 1
        key = iy * self.nx + ix
        self.order = np.argsort(key, kind="stable")
        self.keys = key[self.order]

    def arrays(self) -> dict[str, np.ndarray]:
        """The grid as arrays (``from_arrays`` rebuilds it without sorting)."""
        return {"order": self.order, "keys": self.keys,
                "shape": np.array([self.x0, self.y0, self.cell, self.nx, self.ny], dtype=np.float64)}

    @classmethod
    def from_arrays(cls, x: NDArray[np.float64], y: NDArray[np.float64], arrays: dict[str, np.ndarray]) -> "NodeGrid":
        """A grid over nodes ``x``, ``y`` from :meth:`arrays` (e.g. memory maps of a stored file)."""
        self = cls.__new__(cls)
        self.x, self.y = x, y
        x0, y0, cell, nx, ny = arrays["shape"].tolist()
        self.x0, self.y0, self.cell, self.nx, self.ny = x0, y0, cell, int(nx), int(ny)
        self.order, self.keys = arrays["order"], arrays["keys"]
        return self

    def in_box(self, xmin: float, ymin: float, xmax: float, ymax: float) -> NDArray[np.int64]:
        """Sorted ids of the nodes in the cells touching the box (a superset of the nodes inside it)."""
        ix0 = max(int((xmin - self.x0) // self.cell), 0)
        ix1 = min(int((xmax - self.x0) // self.cell), self.nx - 1)
        iy0 = max(int((ymin - self.y0) // self.cell), 0)
        iy1 = min(int((ymax - self.y0) // self.cell), self.ny - 1)
        if ix0 > ix1 or iy0 > iy1:
            return np.zeros(0, np.int64)
        rows = np.arange(iy0, iy1 + 1, dtype=np.int64) * self.nx
        lo = np.searchsorted(self.keys, rows + ix0, "left")
        hi = np.searchsorted(self.keys, rows + ix1, "right")
        counts = hi - lo
        pos = np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
        return np.sort(self.order[pos])

    def near(self, px: NDArray[np.float64], py: NDArray[np.float64], radius: float) -> NDArray[np.int64]:
        """Sorted ids of the nodes within ``radius`` metres of the points' bounding box (exact for one point's disc)."""
        nodes = self.in_box(float(px.min()) - radius, float(py.min()) - radius, float(px.max()) + radius, float(py.max()) + radius)
        if px.size == 1:
            nodes = nodes[np.hypot(self.x[nodes] - px[0], self.y[nodes] - py[0]) <= radius]
        return nodes


def ball_graph(g: csr_matrix, nodes: NDArray[np.int64]) -> tuple[NDArray, NDArray, NDArray]:
    """The subgraph of ``g`` on sorted ``nodes``, as CSR arrays (indptr, indices, data) in local numbering."""
    starts = g.indptr[nodes]
    counts = g.indptr[nodes + 1] - starts
    total = int(counts.sum())
    pos = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(total)
    cols = g.indices[pos]
    local = np.searchsorted(nodes, cols)
    inside = nodes[np.minimum(local, max(nodes.size - 1, 0))] == cols if nodes.size else np.zeros(0, bool)
    rows = np.repeat(np.arange(nodes.size), counts)[inside]
    indptr = np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=nodes.size))))
    return indptr, local[inside], g.data[pos[inside]]


@dataclass(frozen=True)
class LocalDistances:
    """Metres from each source to the ball's nodes (rows: sources; inf beyond the limit or outside the ball)."""

    nodes: NDArray[np.int64]  # sorted global node ids of the ball
    metres: NDArray[np.float64]  # (sources, len(nodes))

    def at(self, node_ids: NDArray[np.int64], row: int | NDArray[np.int64] = 0) -> NDArray[np.float64]:
        """Metres from source ``row`` (or one row per node id) to global ``node_ids``; inf outside the ball."""
        node_ids = np.asarray(node_ids, dtype=np.int64)
        if self.nodes.size == 0:
            return np.full(node_ids.shape, np.inf)
        k = np.minimum(np.searchsorted(self.nodes, node_ids), self.nodes.size - 1)
        found = self.nodes[k] == node_ids
        return np.where(found, self.metres[row, k], np.inf)


def local_search(g: csr_matrix, nodes: NDArray[np.int64], *, u: NDArray, v: NDArray, w_u: NDArray, w_v: NDArray,
                 limit_m: float) -> LocalDistances:
    """Capped Dijkstra from virtual sources (joined to nodes ``u``/``v`` by ``w_u``/``w_v`` metres) on the ball ``nodes``.

    One row per source. Exact for every node within ``limit_m`` of a source as long as ``nodes``
    holds every node within ``limit_m`` of it (see the module docstring).
    """
    indptr, indices, data = ball_graph(g, nodes)
    m, k = nodes.size, len(u)
    ends = np.column_stack((u, v)).astype(np.int64)
    wts = np.column_stack((w_u, w_v)).astype(np.float64)
    local = np.searchsorted(nodes, ends) if m else np.zeros_like(ends)
    take = (local < m) & (nodes[np.minimum(local, max(m - 1, 0))] == ends) if m else np.zeros(ends.shape, bool)
    take[:, 1] &= ends[:, 1] != ends[:, 0]  # a loop edge joins its one node once
    count = take.sum(1)
    indptr = np.concatenate((indptr, indptr[-1] + np.cumsum(count)))
    indices = np.concatenate((indices, local[take]))
    data = np.concatenate((data, np.maximum(wts[take], 1e-6)))
    size = m + k
    aug = csr_matrix((data, indices.astype(np.int32), indptr), shape=(size, size))
    dist = dijkstra(aug, directed=True, indices=np.arange(m, size), limit=float(limit_m))
    return LocalDistances(nodes, np.atleast_2d(dist)[:, :m])
