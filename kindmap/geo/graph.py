"""Snapping and routing on a :class:`~kindmap.geo.network.WalkNetwork` with scipy's Dijkstra.

Points (EPSG:4326) snap to the nearest point on the nearest *edge*, not node. A walk
from a snapped origin to a snapped target costs, in metres: the snap distance (the
perpendicular walk from the point to the path, counted as walked), the distance along
the edge to one of its end nodes, the network distance, and the same two parts at the
target end; origin and target on the same edge may also walk straight along it.
Minutes are metres divided by the profile's pace.

Snapped points enter the graph as *virtual nodes*: one extra CSR row per point with
edges to the two end nodes of its edge weighted by ``snap + along``. A single
``dijkstra(min_only=True)`` from all of them then gives, for every node, the nearest
point and its distance (the ``sources`` array names the virtual node, hence the point).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from kindmap.errors import InvalidQuery
from kindmap.geo.local import LocalDistances, NodeGrid, local_search
from kindmap.geo.network import FLAG_STEPS, FLAG_WHEELCHAIR_NO, WalkNetwork
from kindmap.geo.profiles import Profile, as_profile
from kindmap.geo.projection import validate_lonlat
from kindmap.geo.snapping import (  # noqa: F401 (Snap, SnapSet and the limits are used through this module too)
    ALL_EDGES,
    DEFAULT_MAX_SNAP_M,
    PIECE_M,
    Snap,
    SnapIndex,
    SnapSet,
)

def estimate_walk_minutes(distance_m: ArrayLike, *, profile: Profile | str, circuity: float = 1.3) -> NDArray[np.float64]:
    """Straight-line fallback: minutes to walk ``distance_m`` metres (crow-flies) times a detour factor.

    For regions without a network. ``circuity`` is the ratio of network to straight-line
    distance; studies of street networks find typical urban and rural detour ratios of
    about 1.2–1.4 (e.g. Levinson & El-Geneidy 2009; Boeing 2019 measured ≈1.1–1.3 for
    drivable and walkable city networks), so 1.3 is a middle value for short walks.
    """
    if not (1.0 <= circuity <= 3.0):
        raise InvalidQuery(f"circuity must be between 1.0 and 3.0, got {circuity}")
    return np.asarray(distance_m, dtype=np.float64) * circuity / as_profile(profile).metres_per_minute


class Router:
    """Routing on one walking network; per-profile graphs and snap indexes are built lazily and cached."""

    def __init__(self, network: WalkNetwork) -> None:
        self.net = network
        self._graphs: dict[tuple[bool, bool], csr_matrix] = {}
        self._indexes: dict[tuple[bool, bool], SnapIndex] = {}
        self._grid: NodeGrid | None = None

    @property
    def grid(self) -> NodeGrid:
        """Nodes bucketed by square cells, for searches bounded by their reach (built on first use)."""
        if self._grid is None:
            self._grid = NodeGrid(self.net.node_x, self.net.node_y)
        return self._grid

    # -- per-profile structures -------------------------------------------------
    def allowed_edges(self, avoid_key: tuple[bool, bool]) -> NDArray[np.bool_]:
        """Edges a profile with this (avoid_steps, avoid_wheelchair_no) key may use."""
        mask = np.uint8((FLAG_STEPS if avoid_key[0] else 0) | (FLAG_WHEELCHAIR_NO if avoid_key[1] else 0))
        return (self.net.edge_flags & mask) == 0

    def graph(self, profile: Profile | str) -> csr_matrix:
        """CSR matrix of edge lengths in metres (both directions) over the edges the profile allows."""
        key = as_profile(profile).avoid_key
        if key not in self._graphs:
            net = self.net
            allowed = self.allowed_edges(key)
            src = np.repeat(np.arange(net.n_nodes), np.diff(net.indptr))
            keep = allowed[net.adj_edge]
            src, dst = src[keep], net.indices[keep].astype(np.int64)
            w = net.edge_length[net.adj_edge[keep]]
            # parallel edges (two ways between the same nodes) must keep the shorter, not sum
            order = np.lexsort((w, dst, src))
            src, dst, w = src[order], dst[order], w[order]
            first = np.ones(src.size, bool)
            first[1:] = (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])
            src, dst, w = src[first], dst[first], np.maximum(w[first], 1e-6)
            indptr = np.concatenate(([0], np.cumsum(np.bincount(src, minlength=net.n_nodes))))
            self._graphs[key] = csr_matrix((w, dst, indptr), shape=(net.n_nodes, net.n_nodes))
        return self._graphs[key]

    def prepared(self, profile: Profile | str) -> dict[str, np.ndarray]:
        """The profile's graph, snap index and the node grid as named arrays (see :mod:`kindmap.geo.prepared`)."""
        key = as_profile(profile).avoid_key
        g = self.graph(profile)
        out = {"graph_indptr": g.indptr, "graph_indices": g.indices, "graph_data": g.data}
        out.update({f"snap_{k}": v for k, v in self._index(key).arrays().items()})
        out.update({f"grid_{k}": v for k, v in self.grid.arrays().items()})
        return out

    def adopt(self, profile: Profile | str, arrays: dict[str, np.ndarray]) -> "Router":
        """Use structures from :meth:`prepared` (e.g. memory-mapped) instead of building them."""
        key = as_profile(profile).avoid_key
        n = self.net.n_nodes
        self._graphs[key] = csr_matrix((arrays["graph_data"], arrays["graph_indices"], arrays["graph_indptr"]),
                                       shape=(n, n), copy=False)
        self._indexes[key] = SnapIndex.from_arrays({k[5:]: v for k, v in arrays.items() if k.startswith("snap_")})
        self._grid = NodeGrid.from_arrays(self.net.node_x, self.net.node_y,
                                          {k[5:]: v for k, v in arrays.items() if k.startswith("grid_")})
        return self

    def warm(self, profile: Profile | str) -> "Router":
        """Build the profile's graph, snap index and the node grid now (so no query waits for them)."""
        key = as_profile(profile).avoid_key
        self.graph(profile), self._index(key), self.grid
        return self

    def edges_at(self, nodes: NDArray[np.int64]) -> NDArray[np.int64]:
        """Sorted ids of the edges with an end among ``nodes`` (loop edges included); cost follows len(nodes)."""
        net = self.net
        if "loops" not in net._cache:  # the CSR adjacency leaves loop edges out
            loops = np.flatnonzero(net.edge_u == net.edge_v)
            order = np.argsort(net.edge_u[loops], kind="stable")
            net._cache["loops"] = (net.edge_u[loops][order].astype(np.int64), loops[order])
        loop_node, loop_edge = net._cache["loops"]
        nodes = np.asarray(nodes, dtype=np.int64)
        starts = net.indptr[nodes]
        counts = net.indptr[nodes + 1] - starts
        pos = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
        lo, hi = np.searchsorted(loop_node, nodes, "left"), np.searchsorted(loop_node, nodes, "right")
        n_loop = hi - lo
        lpos = np.repeat(lo - np.cumsum(n_loop) + n_loop, n_loop) + np.arange(int(n_loop.sum()))
        return np.unique(np.concatenate((net.adj_edge[pos].astype(np.int64), loop_edge[lpos])))

    def _index(self, key: tuple[bool, bool]) -> SnapIndex:
        if key not in self._indexes:
            self._indexes[key] = SnapIndex(self.net, self.allowed_edges(key))
        return self._indexes[key]

    # -- snapping ---------------------------------------------------------------
    def snap_xy(self, x: NDArray, y: NDArray, *, max_snap_m: float = DEFAULT_MAX_SNAP_M, avoid_key: tuple[bool, bool] = ALL_EDGES) -> SnapSet:
        """Snap metric points (network CRS, metres) to the nearest allowed edge."""
        idx = self._index(avoid_key)
        p = np.column_stack((np.asarray(x, np.float64), np.asarray(y, np.float64)))
        piece, t, dist = idx.query(p, max_snap_m)
        ok = (piece >= 0) & (dist <= max_snap_m)
        piece = np.where(ok, piece, 0)
        edge = np.where(ok, idx.edge[piece] if idx.edge.size else -1, -1)
        e = np.maximum(edge, 0)
        length = self.net.edge_length[e]
        seg_len = idx.seg_len(piece) if idx.edge.size else np.zeros(len(e))
        along_u = np.clip(idx.start[piece] + t * seg_len if idx.edge.size else 0.0, 0.0, length)
        return SnapSet(
            edge=edge.astype(np.int64),
            u=np.where(ok, self.net.edge_u[e], -1).astype(np.int64),
            v=np.where(ok, self.net.edge_v[e], -1).astype(np.int64),
            along_u=np.where(ok, along_u, np.nan),
            along_v=np.where(ok, length - along_u, np.nan),
            offset_m=dist,
            x=p[:, 0],
            y=p[:, 1],
            avoid_key=avoid_key,
        )

    def snap_many(self, lons: ArrayLike, lats: ArrayLike, *, max_snap_m: float = DEFAULT_MAX_SNAP_M, profile: Profile | str | None = None) -> SnapSet:
        """Snap EPSG:4326 points to edges; points farther than ``max_snap_m`` metres get edge -1."""
        lon, lat = validate_lonlat(lons, lats)
        x, y = self.net.projection.forward(lon, lat)
        key = ALL_EDGES if profile is None else as_profile(profile).avoid_key
        return self.snap_xy(x, y, max_snap_m=max_snap_m, avoid_key=key)

    def snap(self, lon: float, lat: float, *, max_snap_m: float = DEFAULT_MAX_SNAP_M, profile: Profile | str | None = None) -> Snap:
        """Snap one EPSG:4326 point to the nearest edge; InvalidQuery if farther than ``max_snap_m`` metres."""
        s = self.snap_many([lon], [lat], max_snap_m=max_snap_m, profile=profile)
        if not s.ok[0]:
            raise InvalidQuery(
                f"this point is {s.offset_m[0] / 1000:.1f} km from the nearest walkable path in this region's "
                f"network (the limit is {max_snap_m / 1000:g} km); choose a point inside the region or use "
                "straight-line estimates"
            )
        return s[0]

    def _for_profile(self, snaps: SnapSet, profile: Profile, max_snap_m: float) -> SnapSet:
        """Re-snap points whose edge the profile may not use (e.g. steps for step_free)."""
        key = profile.avoid_key
        if snaps.avoid_key == key:
            return snaps
        bad = snaps.ok & ~self.allowed_edges(key)[np.maximum(snaps.edge, 0)]
        if snaps.avoid_key != ALL_EDGES:
            bad = np.ones(len(snaps), bool)
        if not bad.any():
            return snaps
        fixed = self.snap_xy(snaps.x[bad], snaps.y[bad], max_snap_m=max_snap_m, avoid_key=key)
        arrays = [a.copy() for a in (snaps.edge, snaps.u, snaps.v, snaps.along_u, snaps.along_v, snaps.offset_m, snaps.x, snaps.y)]
        for arr, new in zip(arrays, (fixed.edge, fixed.u, fixed.v, fixed.along_u, fixed.along_v, fixed.offset_m, fixed.x, fixed.y)):
            arr[bad] = new
        return SnapSet(*arrays, avoid_key=key)

    # -- routing ----------------------------------------------------------------
    def _search(self, sources: SnapSet, profile: Profile, limit_m: float) -> tuple[NDArray, NDArray]:
        """Multi-source Dijkstra from virtual nodes; (metres per node, source index per node or -1)."""
        g = self.graph(profile)
        n = g.shape[0]
        ok = np.flatnonzero(sources.ok)
        if ok.size == 0:
            return np.full(n, np.inf), np.full(n, -1)
        s = sources.take(ok)
        loop = s.u == s.v  # one entry for a loop edge: duplicate CSR entries are not merged reliably
        wu = s.offset_m + np.where(loop, np.minimum(s.along_u, s.along_v), s.along_u)
        wv = s.offset_m + s.along_v
        count = np.where(loop, 1, 2)
        cols = np.column_stack((s.u, s.v))
        wts = np.column_stack((wu, wv))
        take = np.column_stack((np.ones(len(s), bool), ~loop))
        indptr = np.concatenate((g.indptr, g.indptr[-1] + np.cumsum(count)))
        indices = np.concatenate((g.indices, cols[take]))
        data = np.concatenate((g.data, np.maximum(wts[take], 1e-6)))
        size = n + len(s)
        aug = csr_matrix((data, indices, indptr), shape=(size, size))
        limit = np.inf if not np.isfinite(limit_m) else float(limit_m)
        dist, _, src = dijkstra(aug, directed=True, indices=np.arange(n, size), limit=limit, min_only=True, return_predecessors=True)
        which = np.where(src[:n] >= n, ok[np.clip(src[:n] - n, 0, len(ok) - 1)], -1)
        return dist[:n], which

    @staticmethod
    def _entry_weights(s: SnapSet) -> tuple[NDArray, NDArray]:
        """Metres from each snapped point to its edge's u and v ends (a loop edge: the shorter way round)."""
        loop = s.u == s.v
        return s.offset_m + np.where(loop, np.minimum(s.along_u, s.along_v), s.along_u), s.offset_m + s.along_v

    def local(self, sources: SnapSet, *, profile: Profile | str, limit_m: float) -> LocalDistances:
        """Metres from each snapped source (rows) to the nodes within ``limit_m`` of the sources; cost follows the reach.

        Exactly the distances of a search on the whole network for every node within ``limit_m``
        (see :mod:`kindmap.geo.local`); points that did not snap get an all-inf row.
        """
        prof = as_profile(profile)
        s = self._for_profile(sources, prof, DEFAULT_MAX_SNAP_M)
        ok = np.flatnonzero(s.ok)
        if ok.size == 0 or not np.isfinite(limit_m):
            raise ValueError("a local search needs a finite limit and at least one snapped source")
        s_ok = s.take(ok)
        nodes = self.grid.near(s_ok.x, s_ok.y, float(limit_m))
        w_u, w_v = self._entry_weights(s_ok)
        found = local_search(self.graph(prof), nodes, u=s_ok.u, v=s_ok.v, w_u=w_u, w_v=w_v, limit_m=limit_m)
        if ok.size == len(s):
            return found
        metres = np.full((len(s), nodes.size), np.inf)
        metres[ok] = found.metres
        return LocalDistances(nodes, metres)

    @staticmethod
    def _limit_m(profile: Profile, max_minutes: float | None) -> float:
        if max_minutes is None:
            return np.inf
        if not (np.isfinite(max_minutes) and max_minutes > 0):
            raise InvalidQuery(f"max_minutes must be a positive number, got {max_minutes}")
        return max_minutes * profile.metres_per_minute

    def node_metres(self, origin: Snap, *, profile: Profile | str, max_minutes: float | None = None) -> NDArray[np.float64]:
        """Metres walked from a snapped origin to every node (inf beyond ``max_minutes``)."""
        prof = as_profile(profile)
        o = self._for_profile(SnapSet.of(origin), prof, DEFAULT_MAX_SNAP_M)
        limit = self._limit_m(prof, max_minutes)
        if not np.isfinite(limit):
            return self._search(o, prof, limit)[0]
        found = self.local(o, profile=prof, limit_m=limit)
        dist = np.full(self.net.n_nodes, np.inf)
        dist[found.nodes] = found.metres[0]
        return dist

    def walk_minutes_to_snapped(self, origin: Snap, targets: SnapSet, *, profile: Profile | str, max_minutes: float | None = None, max_snap_m: float = DEFAULT_MAX_SNAP_M) -> NDArray[np.float64]:
        """Minutes from a snapped origin to each snapped target (np.inf if unreachable or over the cap)."""
        prof = as_profile(profile)
        limit = self._limit_m(prof, max_minutes)
        o = self._for_profile(SnapSet.of(origin), prof, max_snap_m)
        t = self._for_profile(targets, prof, max_snap_m)
        if np.isfinite(limit):  # only the nodes within the walk: cost follows its reach, not the network
            metres = self._to_targets_local(self.local(o, profile=prof, limit_m=limit), t)
        else:
            dist, _ = self._search(o, prof, limit)
            metres = self._to_targets(dist, t)
        same = t.ok & (t.edge == o.edge[0])
        direct = o.offset_m[0] + t.offset_m[same] + np.abs(t.along_u[same] - o.along_u[0])
        metres[same] = np.minimum(metres[same], direct)
        minutes = metres / prof.metres_per_minute
        minutes[metres > limit] = np.inf
        return minutes

    @staticmethod
    def _to_targets(dist: NDArray, t: SnapSet) -> NDArray[np.float64]:
        out = np.full(len(t), np.inf)
        ok = t.ok
        out[ok] = t.offset_m[ok] + np.minimum(t.along_u[ok] + dist[t.u[ok]], t.along_v[ok] + dist[t.v[ok]])
        return out

    @staticmethod
    def _to_targets_local(found: LocalDistances, t: SnapSet, row: int = 0) -> NDArray[np.float64]:
        out = np.full(len(t), np.inf)
        ok = t.ok
        out[ok] = t.offset_m[ok] + np.minimum(t.along_u[ok] + found.at(t.u[ok], row), t.along_v[ok] + found.at(t.v[ok], row))
        return out

    def walk_minutes(self, lon: float, lat: float, targets_lon: ArrayLike, targets_lat: ArrayLike, *, profile: Profile | str, max_minutes: float | None = None, max_snap_m: float = DEFAULT_MAX_SNAP_M) -> NDArray[np.float64]:
        """Minutes walked from an EPSG:4326 origin to each EPSG:4326 target (np.inf if unreachable/over cap)."""
        prof = as_profile(profile)
        origin = self.snap(lon, lat, max_snap_m=max_snap_m, profile=prof)
        targets = self.snap_many(targets_lon, targets_lat, max_snap_m=max_snap_m, profile=prof)
        return self.walk_minutes_to_snapped(origin, targets, profile=prof, max_minutes=max_minutes)

    def nearest(self, origin: Snap, targets: SnapSet, *, profile: Profile | str, k: int = 10, max_minutes: float | None = 20.0) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """The ``k`` nearest targets by walking minutes (indices into ``targets``, minutes), nearest first."""
        minutes = self.walk_minutes_to_snapped(origin, targets, profile=profile, max_minutes=max_minutes)
        reach = np.flatnonzero(np.isfinite(minutes))
        if reach.size > k:
            reach = reach[np.argpartition(minutes[reach], k - 1)[:k]]
        reach = reach[np.argsort(minutes[reach], kind="stable")]
        return reach, minutes[reach]

    def nearest_from_sources(self, sources: SnapSet, *, profile: Profile | str, max_minutes: float | None = None) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        """One multi-source Dijkstra: (minutes to the nearest source per node, that source's index or -1)."""
        prof = as_profile(profile)
        s = self._for_profile(sources, prof, DEFAULT_MAX_SNAP_M)
        dist, which = self._search(s, prof, self._limit_m(prof, max_minutes))
        return dist / prof.metres_per_minute, which

    def nearest_source_for_snapped(self, sources: SnapSet, targets: SnapSet, *, profile: Profile | str, max_minutes: float | None = None) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        """For each snapped target (e.g. every household), minutes to its nearest source and that source's index."""
        prof = as_profile(profile)
        limit = self._limit_m(prof, max_minutes)
        s = self._for_profile(sources, prof, DEFAULT_MAX_SNAP_M)
        t = self._for_profile(targets, prof, DEFAULT_MAX_SNAP_M)
        dist, which = self._search(s, prof, limit)
        ok = np.flatnonzero(t.ok)
        metres = np.full(len(t), np.inf)
        src = np.full(len(t), -1, dtype=np.int64)
        via_u = t.offset_m[ok] + t.along_u[ok] + dist[t.u[ok]]
        via_v = t.offset_m[ok] + t.along_v[ok] + dist[t.v[ok]]
        metres[ok] = np.minimum(via_u, via_v)
        src[ok] = np.where(via_u <= via_v, which[t.u[ok]], which[t.v[ok]])
        # a source on the target's own edge can be reached straight along it
        s_ok = np.flatnonzero(s.ok)
        order = s_ok[np.argsort(s.edge[s_ok], kind="stable")]
        s_edges = s.edge[order]
        lo = np.searchsorted(s_edges, t.edge[ok], "left")
        hi = np.searchsorted(s_edges, t.edge[ok], "right")
        for i in np.flatnonzero(hi > lo):
            ti = ok[i]
            cand = order[lo[i] : hi[i]]
            d = s.offset_m[cand] + t.offset_m[ti] + np.abs(s.along_u[cand] - t.along_u[ti])
            j = int(d.argmin())
            if d[j] < metres[ti]:
                metres[ti], src[ti] = d[j], cand[j]
        over = metres > limit
        src[over] = -1
        minutes = metres / prof.metres_per_minute
        minutes[over] = np.inf
        return minutes, src
