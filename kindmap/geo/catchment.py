"""Every (target, source) pair within a walk, with work that follows the catchments, not the region.

For E2SFCA each place needs the walking minutes to every household within its catchment.
Searching from each place on the whole network costs places × nodes. Here sources are
grouped by square tiles about one catchment wide; each group searches (one scipy call, one
row per source) only the nodes within the catchment of its tile (see
:mod:`kindmap.geo.local` for why that is exact), and only the targets in reach of the tile
are looked at. The answers equal one whole-network search per source.

Coordinates are the network's metric CRS (metres); results are minutes at the profile's pace.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from kindmap.geo.graph import DEFAULT_MAX_SNAP_M, Router, SnapSet
from kindmap.geo.local import NodeGrid, local_search
from kindmap.geo.profiles import Profile, as_profile

GROUP = 48  # sources per scipy call: the (sources × ball nodes) output stays a few MB


def pairs_within(router: Router, sources: SnapSet, targets: SnapSet, *, profile: Profile | str,
                 max_minutes: float) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """(target index, source index, minutes) for every pair within ``max_minutes``; sorted by source then target."""
    prof = as_profile(profile)
    limit = router._limit_m(prof, max_minutes)
    s = router._for_profile(sources, prof, DEFAULT_MAX_SNAP_M)
    t = router._for_profile(targets, prof, DEFAULT_MAX_SNAP_M)
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    src = np.flatnonzero(s.ok)
    tgt = np.flatnonzero(t.ok)
    if src.size == 0 or tgt.size == 0:
        return empty
    g = router.graph(prof)
    t_grid = NodeGrid(t.x[tgt], t.y[tgt], cell_m=max(limit / 2, 100.0))
    w_u, w_v = router._entry_weights(s)
    rows, cols, vals = [], [], []
    for group in _groups(s.x[src], s.y[src], cell=max(limit, 250.0)):
        j = src[group]
        px, py = s.x[j], s.y[j]
        nodes = router.grid.in_box(px.min() - limit, py.min() - limit, px.max() + limit, py.max() + limit)
        found = local_search(g, nodes, u=s.u[j], v=s.v[j], w_u=w_u[j], w_v=w_v[j], limit_m=limit)
        cand = tgt[t_grid.in_box(px.min() - limit, py.min() - limit, px.max() + limit, py.max() + limit)]
        if cand.size == 0:
            continue
        at_u = _lookup(found, t.u[cand])
        at_v = _lookup(found, t.v[cand])
        metres = t.offset_m[cand] + np.minimum(t.along_u[cand] + at_u, t.along_v[cand] + at_v)
        # a target on the source's own edge can be reached straight along it
        same = s.edge[j][:, None] == t.edge[cand][None, :]
        if same.any():
            a, b = np.nonzero(same)
            direct = s.offset_m[j[a]] + t.offset_m[cand[b]] + np.abs(t.along_u[cand[b]] - s.along_u[j[a]])
            metres[a, b] = np.minimum(metres[a, b], direct)
        minutes = metres / prof.metres_per_minute
        minutes[metres > limit] = np.inf
        a, b = np.nonzero(minutes <= max_minutes)
        rows.append(cand[b]), cols.append(j[a]), vals.append(minutes[a, b])
    if not rows:
        return empty
    r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    order = np.lexsort((r, c))
    return r[order].astype(np.int64), c[order].astype(np.int64), v[order]


def _lookup(found, node_ids: NDArray[np.int64]) -> NDArray[np.float64]:
    """Metres from every source row of ``found`` to each node id: (sources, len(node_ids)), inf outside the ball."""
    nodes = found.nodes
    if nodes.size == 0:
        return np.full((found.metres.shape[0], node_ids.size), np.inf)
    k = np.minimum(np.searchsorted(nodes, node_ids), nodes.size - 1)
    return np.where(nodes[k] == node_ids, found.metres[:, k], np.inf)


def _groups(x: NDArray[np.float64], y: NDArray[np.float64], *, cell: float) -> list[NDArray[np.int64]]:
    """Positions of the points grouped by square tile (``cell`` metres), at most GROUP per group."""
    key = np.floor((y - y.min()) / cell).astype(np.int64) * (int((x.max() - x.min()) // cell) + 1) \
        + np.floor((x - x.min()) / cell).astype(np.int64)
    order = np.argsort(key, kind="stable")
    cuts = np.flatnonzero(np.diff(key[order])) + 1
    out = []
    for part in np.split(order, cuts):
        out.extend(np.array_split(part, -(-part.size // GROUP)))
    return out
