"""The walking network: built from an OSM extract with pyosmium, stored as one ``.npz``.

Ways are split into edges at intersection nodes (nodes used by two or more ways, or
twice by one way) and at way ends; the intermediate vertices are kept as the edge's
geometry, and each edge's length is that polyline's length in metres in a local
transverse Mercator CRS centred on the data (see :mod:`kindmap.geo.projection`).
Only the largest connected component is kept, so every snapped point can reach every
other; ``dropped_nodes`` says how many graph nodes that removed.
"""

from __future__ import annotations

import logging
import time
import zipfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from kindmap.errors import DataError
from kindmap.geo.mapped import mapped_arrays, save_npz_aligned
from kindmap.geo.osm_ways import (  # noqa: F401 (the flags and tag rules are used through this module too)
    FLAG_STEPS,
    FLAG_WHEELCHAIR_NO,
    _read_ways,
    _Ways,
    edge_flags,
    is_walkable,
)
from kindmap.geo.projection import LocalProjection

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
@dataclass(frozen=True, eq=False)
class WalkNetwork:
    """An undirected walking graph; node coordinates in EPSG:4326 and a metric CRS, lengths in metres."""

    proj4: str
    node_osm_id: NDArray[np.int64]
    node_lon: NDArray[np.float64]
    node_lat: NDArray[np.float64]
    node_x: NDArray[np.float64]
    node_y: NDArray[np.float64]
    edge_u: NDArray[np.int32]
    edge_v: NDArray[np.int32]
    edge_length: NDArray[np.float64]
    edge_flags: NDArray[np.uint8]
    edge_way_id: NDArray[np.int64]
    geom_offsets: NDArray[np.int64]  # edge e's vertices are geom_xy[geom_offsets[e]:geom_offsets[e+1]]
    geom_xy: NDArray[np.float64]  # (n, 2) metric x, y, from u to v
    indptr: NDArray[np.int64]  # CSR adjacency over both directions
    indices: NDArray[np.int32]
    adj_edge: NDArray[np.int32]
    dropped_nodes: int = 0
    source: str = ""
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def n_nodes(self) -> int:
        """Number of graph nodes."""
        return int(self.node_x.size)

    @property
    def n_edges(self) -> int:
        """Number of (undirected) edges."""
        return int(self.edge_u.size)

    @property
    def total_km(self) -> float:
        """Total length of walkable edges in kilometres."""
        return float(self.edge_length.sum() / 1000.0)

    @cached_property
    def projection(self) -> LocalProjection:
        """The network's metric CRS."""
        return LocalProjection(self.proj4)

    def edge_xy(self, e: int) -> NDArray[np.float64]:
        """Metric vertices (n, 2) of edge ``e`` from its u end to its v end."""
        return self.geom_xy[self.geom_offsets[e] : self.geom_offsets[e + 1]]

    def save(self, path: str | Path) -> None:
        """Write the network to a single uncompressed ``.npz`` (fast to load)."""
        arrays = {name: getattr(self, name) for name in _ARRAY_FIELDS}
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # aligned, so the memory maps ``load`` makes are aligned too (numpy copies unaligned arrays for some operations)
        save_npz_aligned(path, {"format_version": np.int64(FORMAT_VERSION), "proj4": np.array(self.proj4),
                                "source": np.array(self.source), "dropped_nodes": np.int64(self.dropped_nodes), **arrays})

    @classmethod
    def load(cls, path: str | Path, *, mmap: bool = True) -> "WalkNetwork":
        """Read a network written by :meth:`save`; raise DataError if missing or corrupt.

        With ``mmap`` (the default) the arrays are read-only memory maps of the file: loading
        costs nothing up front, and server workers on one machine share the pages instead of
        each holding its own copy (a 10⁶-node network's arrays are ~170 MB).
        """
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                if int(data["format_version"]) != FORMAT_VERSION:
                    raise DataError(f"{path} is a walking network of format {int(data['format_version'])}, expected {FORMAT_VERSION}; rebuild it")
                arrays = (mapped_arrays(path, _ARRAY_FIELDS) if mmap else None) or {name: data[name] for name in _ARRAY_FIELDS}
                net = cls(
                    proj4=str(data["proj4"]),
                    source=str(data["source"]),
                    dropped_nodes=int(data["dropped_nodes"]),
                    **arrays,
                )
        except FileNotFoundError as exc:
            raise DataError(f"walking network file {path} does not exist; build it from an OSM extract") from exc
        except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise DataError(f"walking network file {path} is unreadable or truncated ({exc}); rebuild it") from exc
        _check_consistent(net, path)
        return net


_ARRAY_FIELDS = (
    "node_osm_id", "node_lon", "node_lat", "node_x", "node_y", "edge_u", "edge_v", "edge_length",
    "edge_flags", "edge_way_id", "geom_offsets", "geom_xy", "indptr", "indices", "adj_edge",
)


def _check_consistent(net: WalkNetwork, path: Path) -> None:
    n, e = net.n_nodes, net.n_edges
    ok = (
        net.indptr.size == n + 1
        and net.geom_offsets.size == e + 1
        and net.geom_offsets[-1] == net.geom_xy.shape[0]
        and all(a.size == e for a in (net.edge_v, net.edge_length, net.edge_flags))
        and (e == 0 or (int(net.edge_u.max()) < n and int(net.edge_v.max()) < n))
    )
    if not ok:
        raise DataError(f"walking network file {path} has inconsistent arrays; rebuild it")


def build_network(path: str | Path, *, keep_largest: bool = True, locations=None,
                  source: str | None = None) -> WalkNetwork:
    """Build the walking network from an OSM file (.osm.pbf or .osm XML); raise DataError if unreadable.

    ``locations``: a filled libosmium node-location index, for a staged file without untagged nodes;
    ``source``: the extract's name to record (default: the file's).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"OSM extract {path} does not exist")
    started = time.perf_counter()
    try:
        ways = _read_ways(path, locations)
    except RuntimeError as exc:  # libosmium reports bad input as RuntimeError subclasses
        raise DataError.unreadable_osm(path, exc) from exc
    if not ways.refs:
        raise DataError(f"OSM extract {path} contains no walkable ways")
    net = _assemble(ways, keep_largest=keep_largest, source=source or path.name)
    log.info(
        "built walking network from %s: %d nodes, %d edges, %.1f km, %d nodes dropped outside the "
        "largest component, in %.2f s",
        path.name, net.n_nodes, net.n_edges, net.total_km, net.dropped_nodes, time.perf_counter() - started,
    )
    return net


def _assemble(ways: _Ways, *, keep_largest: bool, source: str) -> WalkNetwork:
    lens = np.array([r.size for r in ways.refs], dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(lens)[:-1]))
    refs = np.concatenate(ways.refs)
    lon = np.concatenate(ways.lon)
    lat = np.concatenate(ways.lat)
    proj = LocalProjection.centred_on(lon, lat)
    x, y = proj.forward(lon, lat)

    uniq, inverse, counts = np.unique(refs, return_inverse=True, return_counts=True)
    is_node = counts >= 2  # shared by two ways, or visited twice by one
    is_node[inverse[starts]] = True
    is_node[inverse[starts + lens - 1]] = True
    node_index = np.full(uniq.size, -1, dtype=np.int64)
    node_index[is_node] = np.arange(int(is_node.sum()))

    seg = np.hypot(np.diff(x), np.diff(y))
    cum = np.concatenate(([0.0], np.cumsum(seg)))  # cumulative across ways; differences within a way are valid

    split = is_node[inverse]
    e_first, e_last, e_way = [], [], []
    for w, (s, n) in enumerate(zip(starts, lens)):
        pos = s + np.flatnonzero(split[s : s + n])
        e_first.append(pos[:-1])
        e_last.append(pos[1:])
        e_way.append(np.full(pos.size - 1, w, dtype=np.int64))
    first = np.concatenate(e_first)
    last = np.concatenate(e_last)
    way = np.concatenate(e_way)
    u = node_index[inverse[first]]
    v = node_index[inverse[last]]
    length = cum[last] - cum[first]
    keep = ~((u == v) & (length <= 0.0))  # drop degenerate loops
    first, last, way, u, v, length = (a[keep] for a in (first, last, way, u, v, length))

    n_nodes = int(is_node.sum())
    node_ref_pos = np.empty(n_nodes, dtype=np.int64)
    node_ref_pos[node_index[inverse[first]]] = first
    node_ref_pos[node_index[inverse[last]]] = last

    dropped = 0
    if keep_largest and n_nodes:
        adj = coo_matrix((np.ones(u.size), (u, v)), shape=(n_nodes, n_nodes))
        _, labels = connected_components(adj, directed=False)
        biggest = np.bincount(labels).argmax()
        node_keep = labels == biggest
        dropped = int(n_nodes - node_keep.sum())
        remap = np.full(n_nodes, -1, dtype=np.int64)
        remap[node_keep] = np.arange(int(node_keep.sum()))
        ekeep = node_keep[u]
        first, last, way, u, v, length = (a[ekeep] for a in (first, last, way, u, v, length))
        u, v = remap[u], remap[v]
        node_ref_pos = node_ref_pos[node_keep]
        n_nodes = int(node_keep.sum())

    counts_e = last - first + 1
    geom_offsets = np.concatenate(([0], np.cumsum(counts_e))).astype(np.int64)
    geom_idx = np.repeat(first - geom_offsets[:-1], counts_e) + np.arange(int(geom_offsets[-1]))
    geom_xy = np.column_stack((x[geom_idx], y[geom_idx]))

    u32, v32 = u.astype(np.int32), v.astype(np.int32)
    indptr, indices, adj_edge = _adjacency(u32, v32, n_nodes)
    flags = np.asarray(ways.flags, dtype=np.uint8)[way]
    way_ids = np.asarray(ways.way_id, dtype=np.int64)[way]
    return WalkNetwork(
        proj4=proj.proj4,
        node_osm_id=refs[node_ref_pos],
        node_lon=lon[node_ref_pos],
        node_lat=lat[node_ref_pos],
        node_x=x[node_ref_pos],
        node_y=y[node_ref_pos],
        edge_u=u32,
        edge_v=v32,
        edge_length=length,
        edge_flags=flags,
        edge_way_id=way_ids,
        geom_offsets=geom_offsets,
        geom_xy=geom_xy,
        indptr=indptr,
        indices=indices,
        adj_edge=adj_edge,
        dropped_nodes=dropped,
        source=source,
    )


def _adjacency(u: NDArray[np.int32], v: NDArray[np.int32], n_nodes: int) -> tuple[NDArray, NDArray, NDArray]:
    """CSR adjacency listing every edge in both directions (self-loops omitted: they never shorten a path)."""
    eid = np.arange(u.size, dtype=np.int32)
    loop = u == v
    src = np.concatenate((u[~loop], v[~loop]))
    dst = np.concatenate((v[~loop], u[~loop]))
    ids = np.concatenate((eid[~loop], eid[~loop]))
    order = np.argsort(src, kind="stable")
    indptr = np.concatenate(([0], np.cumsum(np.bincount(src, minlength=n_nodes)))).astype(np.int64)
    return indptr, dst[order].astype(np.int32), ids[order]


def network_from_arrays(
    *,
    node_lon: NDArray[np.float64],
    node_lat: NDArray[np.float64],
    edge_u: NDArray,
    edge_v: NDArray,
    edge_flags: NDArray | None = None,
    keep_largest: bool = False,
) -> WalkNetwork:
    """A network of straight edges between EPSG:4326 nodes (synthetic grids, benchmarks); vectorised."""
    lon = np.asarray(node_lon, dtype=np.float64)
    lat = np.asarray(node_lat, dtype=np.float64)
    u = np.asarray(edge_u, dtype=np.int64)
    v = np.asarray(edge_v, dtype=np.int64)
    flags = np.zeros(u.size, np.uint8) if edge_flags is None else np.asarray(edge_flags, np.uint8)
    n = lon.size
    dropped = 0
    if keep_largest and n:
        _, labels = connected_components(coo_matrix((np.ones(u.size), (u, v)), shape=(n, n)), directed=False)
        node_keep = labels == np.bincount(labels).argmax()
        dropped = int(n - node_keep.sum())
        remap = np.full(n, -1, dtype=np.int64)
        remap[node_keep] = np.arange(int(node_keep.sum()))
        ekeep = node_keep[u]
        u, v, flags = remap[u[ekeep]], remap[v[ekeep]], flags[ekeep]
        lon, lat = lon[node_keep], lat[node_keep]
    proj = LocalProjection.centred_on(lon, lat)
    x, y = proj.forward(lon, lat)
    u32, v32 = u.astype(np.int32), v.astype(np.int32)
    indptr, indices, adj_edge = _adjacency(u32, v32, lon.size)
    return WalkNetwork(
        proj4=proj.proj4,
        node_osm_id=np.arange(lon.size, dtype=np.int64),
        node_lon=lon,
        node_lat=lat,
        node_x=x,
        node_y=y,
        edge_u=u32,
        edge_v=v32,
        edge_length=np.hypot(x[u] - x[v], y[u] - y[v]),
        edge_flags=flags,
        edge_way_id=np.arange(u.size, dtype=np.int64),
        geom_offsets=np.arange(0, 2 * u.size + 1, 2, dtype=np.int64),
        geom_xy=np.column_stack((np.column_stack((x[u], x[v])).ravel(), np.column_stack((y[u], y[v])).ravel())),
        indptr=indptr,
        indices=indices,
        adj_edge=adj_edge,
        dropped_nodes=dropped,
        source="arrays",
    )
