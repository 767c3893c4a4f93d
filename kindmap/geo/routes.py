"""Walking routes as lines: the path from one point to many, along a walking network.

The same walk :meth:`kindmap.geo.graph.Router.walk_minutes_to_snapped` measures (snap to the
nearest allowed edge, along it to an end node, the network, and along the target's edge), but
with the nodes it passes kept, so a map can draw it. One capped Dijkstra with predecessors on
the ball of nodes within the walk's reach (see :mod:`kindmap.geo.local`: exact inside it), so
the cost follows ``max_minutes``, not the network's size.

Coordinates: EPSG:4326 in and out; metres inside, in the network's metric CRS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString
from shapely.ops import substring

from kindmap.geo.graph import Router
from kindmap.geo.local import ball_graph
from kindmap.geo.profiles import Profile, as_profile

NO_PREDECESSOR = -9999  # scipy's marker


@dataclass(frozen=True)
class WalkLine:
    """One route: its vertices (n, 2) as lon, lat (EPSG:4326) from the start to the target, and metres walked."""

    coords: NDArray[np.float64]
    metres: float


def _edge_between(router: Router, a: int, b: int, allowed: NDArray[np.bool_]) -> int:
    """The shortest allowed edge joining nodes ``a`` and ``b``."""
    net = router.net
    lo, hi = int(net.indptr[a]), int(net.indptr[a + 1])
    found = [int(e) for n, e in zip(net.indices[lo:hi], net.adj_edge[lo:hi]) if int(n) == b and allowed[e]]
    return min(found, key=lambda e: float(net.edge_length[e]))


def _edge_part(router: Router, edge: int, start_m: float, end_m: float) -> NDArray[np.float64]:
    """Metric vertices of ``edge`` from ``start_m`` to ``end_m`` metres along it (u to v; reversed if start > end)."""
    line = LineString(router.net.edge_xy(edge))
    part = substring(line, start_m, end_m)
    return np.asarray(part.coords, dtype=float).reshape(-1, 2)


def _node_chain(router: Router, path: list[int], allowed: NDArray[np.bool_]) -> list[NDArray[np.float64]]:
    """Metric vertices of the edges along a node path (each edge oriented along the path)."""
    net, pieces = router.net, []
    for a, b in zip(path[:-1], path[1:]):
        e = _edge_between(router, a, b, allowed)
        xy = net.edge_xy(e)
        pieces.append(xy if int(net.edge_u[e]) == a else xy[::-1])
    return pieces


def _tidy(pieces: list[NDArray[np.float64]]) -> NDArray[np.float64]:
    xy = np.vstack([p for p in pieces if len(p)])
    keep = np.ones(len(xy), bool)
    keep[1:] = np.any(np.abs(np.diff(xy, axis=0)) > 0.01, axis=1)  # repeated vertices (centimetres) go
    return xy[keep]


def walking_lines(router: Router, lon: float, lat: float, to_lon: ArrayLike, to_lat: ArrayLike, *,
                  profile: Profile | str, max_minutes: float) -> list[WalkLine | None]:
    """The walking route from (lon, lat) to each target (EPSG:4326), ``None`` where it is not reachable
    within ``max_minutes`` at the profile's pace or a point is too far from any allowed path."""
    prof = as_profile(profile)
    limit = float(max_minutes) * prof.metres_per_minute
    net = router.net
    targets = router.snap_many(to_lon, to_lat, profile=prof)
    origin = router.snap_many([lon], [lat], profile=prof)
    out: list[WalkLine | None] = [None] * len(targets)
    if not origin.ok[0] or not len(targets):
        return out
    o = origin[0]
    allowed = router.allowed_edges(prof.avoid_key)
    nodes = router.grid.near(np.array([o.x]), np.array([o.y]), limit)
    m = nodes.size
    indptr, indices, data = ball_graph(router.graph(prof), nodes)
    ends = np.array([o.u, o.v], dtype=np.int64)
    loop = o.u == o.v  # a loop edge is left by its one node, the shorter way round
    weights = np.array([o.offset_m + (min(o.along_u, o.along_v) if loop else o.along_u), o.offset_m + o.along_v])
    local = np.searchsorted(nodes, ends) if m else np.zeros(2, np.int64)
    inside = (local < m) & (nodes[np.minimum(local, max(m - 1, 0))] == ends) if m else np.zeros(2, bool)
    if loop:
        inside[1] = False
    indptr = np.concatenate((indptr, [indptr[-1] + int(inside.sum())]))
    indices = np.concatenate((indices, local[inside])).astype(np.int32)
    data = np.concatenate((data, np.maximum(weights[inside], 1e-6)))
    graph = csr_matrix((data, indices, indptr), shape=(m + 1, m + 1))
    dist, pred = dijkstra(graph, directed=True, indices=m, limit=limit, return_predecessors=True)

    def at(node: int) -> tuple[float, int]:
        k = int(np.searchsorted(nodes, node)) if m else 0
        return (float(dist[k]), k) if k < m and nodes[k] == node else (np.inf, -1)

    origin_line = LineString(net.edge_xy(o.edge))
    start_xy = np.array([[o.x, o.y], list(origin_line.interpolate(o.along_u).coords)[0]])
    project = net.projection
    for i in np.flatnonzero(targets.ok):
        t = targets[int(i)]
        end_xy = np.array([list(LineString(net.edge_xy(t.edge)).interpolate(t.along_u).coords)[0], [t.x, t.y]])
        (du, ku), (dv, kv) = at(t.u), at(t.v)
        best = min((du + t.along_u, "u"), (dv + t.along_v, "v"))
        direct = o.offset_m + abs(t.along_u - o.along_u) if t.edge == o.edge else np.inf
        if direct <= best[0]:
            metres = direct + t.offset_m
            pieces = [start_xy, _edge_part(router, o.edge, o.along_u, t.along_u), end_xy]
        else:
            metres = best[0] + t.offset_m
            if not np.isfinite(metres):
                continue
            k = ku if best[1] == "u" else kv
            chain = []
            while k != m and k != NO_PREDECESSOR and k >= 0:
                chain.append(int(nodes[k]))
                k = int(pred[k])
            chain.reverse()
            first = chain[0]
            leave = 0.0 if first == o.u and (not loop or o.along_u <= o.along_v) else float(net.edge_length[o.edge])
            arrive = 0.0 if best[1] == "u" else float(net.edge_length[t.edge])
            pieces = [start_xy, _edge_part(router, o.edge, o.along_u, leave), *_node_chain(router, chain, allowed),
                      _edge_part(router, t.edge, arrive, t.along_u), end_xy]
        if metres > limit:
            continue
        xy = _tidy(pieces)
        plon, plat = project.inverse(xy[:, 0], xy[:, 1])
        out[int(i)] = WalkLine(np.column_stack((plon, plat)), float(metres))
    return out
