"""One tile of a partitioned gap analysis, as a Dask worker runs it: read the postcode points of
the tile's areas, cut the tile's piece of the path network around them (a halo of the longest walk),
snap, and make every search the analysis needs for those households.

Everything a tile needs travels as a small recipe (area codes, a file name and its date) when the
worker can open the database and the network file itself, so the process that started the run
does almost no work per tile; otherwise that process reads or cuts the piece and sends it
(:mod:`kindmap.services.gaps.partition` decides which).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kindmap.geo.coverage import weighted_median_by_group
from kindmap.geo.graph import Router
from kindmap.geo.network import WalkNetwork
from kindmap.geo.profiles import Profile
from kindmap.geo.projection import LocalProjection
from kindmap.services.gaps.inputs import Demand, demand_points
from kindmap.services.gaps.times import EstimatedTimes, NetworkTimes


@dataclass
class Points:
    """A tile's demand points: global area index, lon, lat (EPSG:4326), and how many lead as postcodes
    (the rest are areas without postcodes, at their centroids)."""

    area: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    postcodes: int


@dataclass
class Households:
    """A tile's areas as a recipe: the worker reads their postcode points from the database at ``url``."""

    url: str
    codes: list[str]  # this tile's areas, in the database's order
    index: np.ndarray  # their indices among the region's areas (ascending)
    centroid_lon: np.ndarray
    centroid_lat: np.ndarray

    @classmethod
    def of(cls, url: str, areas: Demand, index: np.ndarray) -> "Households":
        """The recipe for the areas ``index`` (ascending) of the region's ``areas``."""
        return cls(url, [areas.code[i] for i in index], index, areas.centroid_lon[index], areas.centroid_lat[index])

    def points(self, engine=None) -> Points:
        """The points, read with ``engine`` (this process's) or an engine opened on ``url`` once per process."""
        with (engine or _engine(self.url)).connect() as conn:
            return Points(*demand_points(conn, self.codes, self.index, self.centroid_lon, self.centroid_lat))


_ENGINES: dict = {}


def _engine(url: str):
    from kindmap.db import make_engine

    if url not in _ENGINES:
        _ENGINES[url] = make_engine(url)
    return _ENGINES[url]


@dataclass(frozen=True)
class Cut:
    """A tile's subnetwork as a recipe: the path edges whose extent comes within ``reach`` metres of
    the tile's points, cut from the network file at ``path`` (as of ``mtime``)."""

    path: str
    mtime: float
    reach: float

    def network(self, lo: np.ndarray, hi: np.ndarray) -> WalkNetwork:
        """The edges meeting the box (lo, hi) (metres, the network's CRS) widened by ``reach``."""
        net, ex_min, ex_max = _opened(self.path, self.mtime)
        return subnetwork(net, ((ex_max >= lo - self.reach) & (ex_min <= hi + self.reach)).all(axis=1))


_OPENED: dict = {}


def _opened(path: str, mtime: float) -> tuple[WalkNetwork, np.ndarray, np.ndarray]:
    """The memory-mapped network and each edge's extent (min and max x, y), once per process and file version."""
    key = (path, mtime)
    if key not in _OPENED:
        net = WalkNetwork.load(path)
        _OPENED.clear()
        _OPENED[key] = (net, *edge_extents(path, net))
    return _OPENED[key]


def edge_extents(path: str, net: WalkNetwork) -> tuple[np.ndarray, np.ndarray]:
    """Each edge's extent, (min x, y) and (max x, y) in metres, of the network stored at ``path``.

    Computing it costs every new worker process ~0.35 s at 10⁶ nodes (all of the edges' vertices),
    a fixed cost that 2 workers pay twice; so it is stored once per version of the network file,
    in ``prepared/`` beside it (the version in the name), and memory-mapped by the others. Where
    that folder cannot be written, each process computes its own.
    """
    stat, where = os.stat(path), Path(path)
    stored = where.parent / "prepared" / f"{where.stem}.edge-extents.{stat.st_size}.{stat.st_mtime_ns}.npy"
    try:
        ext = np.load(stored, mmap_mode="r")
        if ext.shape == (net.n_edges, 4) and ext.dtype == np.float64:
            return ext[:, :2], ext[:, 2:]
    except (OSError, ValueError):
        pass
    ext = np.hstack([np.minimum.reduceat(net.geom_xy, net.geom_offsets[:-1], axis=0),
                     np.maximum.reduceat(net.geom_xy, net.geom_offsets[:-1], axis=0)])
    try:
        stored.parent.mkdir(exist_ok=True)
        partial = stored.with_name(f"{stored.name}.{os.getpid()}.partial")
        with open(partial, "wb") as fh:
            np.save(fh, ext)
        partial.replace(stored)  # whole or not at all, whichever worker gets there first
        for old in stored.parent.glob(f"{where.stem}.edge-extents.*.npy"):
            if old != stored:
                old.unlink(missing_ok=True)
    except OSError:
        pass
    return ext[:, :2], ext[:, 2:]


def subnetwork(net: WalkNetwork, edge_mask: np.ndarray) -> WalkNetwork:
    """The network restricted to the masked edges (nodes renumbered; same metric CRS and edge geometry)."""
    keep = np.flatnonzero(edge_mask)
    eu, ev = net.edge_u[keep], net.edge_v[keep]
    # the nodes used, in order, by marking (np.unique's sort or hash cost 0.2 s per tile at 10⁶ nodes)
    used = np.zeros(net.n_nodes, bool)
    used[eu] = True
    used[ev] = True
    nodes = np.flatnonzero(used)
    remap = np.cumsum(used, dtype=np.int64) - 1
    u, v = remap[eu].astype(np.int32), remap[ev].astype(np.int32)
    starts = net.geom_offsets[keep]
    counts = net.geom_offsets[keep + 1] - starts
    vert = np.repeat(starts - np.r_[0, np.cumsum(counts)[:-1]], counts) + np.arange(counts.sum())
    eid = np.arange(keep.size, dtype=np.int32)
    loop = u == v
    src, dst = np.r_[u[~loop], v[~loop]], np.r_[v[~loop], u[~loop]]
    ids = np.r_[eid[~loop], eid[~loop]]
    order = np.argsort(src, kind="stable")
    return WalkNetwork(
        proj4=net.proj4, node_osm_id=net.node_osm_id[nodes], node_lon=net.node_lon[nodes], node_lat=net.node_lat[nodes],
        node_x=net.node_x[nodes], node_y=net.node_y[nodes], edge_u=u, edge_v=v, edge_length=net.edge_length[keep],
        edge_flags=net.edge_flags[keep], edge_way_id=net.edge_way_id[keep],
        geom_offsets=np.r_[0, np.cumsum(counts)].astype(np.int64), geom_xy=net.geom_xy[vert],
        indptr=np.r_[0, np.cumsum(np.bincount(src, minlength=nodes.size))].astype(np.int64),
        indices=dst[order].astype(np.int32), adj_edge=ids[order].astype(np.int32), source=f"{net.source} (tile)")


def box(points: Points, proj: LocalProjection) -> tuple[np.ndarray, np.ndarray]:
    """The bounding box (lo, hi) of the points in metres (the CRS of ``proj``)."""
    xy = np.column_stack(proj.forward(points.lon, points.lat))
    return xy.min(0), xy.max(0)


@dataclass
class Tile:
    """What a tile searches for: its households (a recipe or the points), the places eligible
    (EPSG:4326) and the place sets asked for as (mask over them, horizon minutes), the first set
    also giving E2SFCA's pairs within ``minutes``; walk times on the path network (given to
    :func:`run` beside the tile) or, without one, estimated in the CRS ``proj4``. ``areas`` are the
    tile's areas (ascending) and ``area_households`` theirs, for the median walk per area."""

    number: int
    areas: np.ndarray
    area_households: np.ndarray
    households: Households | Points
    proj4: str
    profile: Profile
    circuity: float
    place_lon: np.ndarray
    place_lat: np.ndarray
    sets: list[tuple[np.ndarray, float]]
    minutes: float


def run(tile: Tile, network: Cut | WalkNetwork | None):
    """One tile, in global indices: its number, its points, per point the nearest minutes to each place set (beyond
    the horizon: inf), how many points did not snap, E2SFCA's (point in tile, place, minutes), and the
    median walk to the first set per area of the tile (each area lies in one tile, so this is the
    whole region's figure, and its sort is done here rather than in the process adding tiles up)."""
    pts = tile.households.points() if isinstance(tile.households, Households) else tile.households
    proj = LocalProjection(tile.proj4)
    lo, hi = box(pts, proj)
    pace = tile.profile.metres_per_minute
    exy = np.column_stack(proj.forward(tile.place_lon, tile.place_lat))
    gap = np.maximum(np.maximum(lo - exy, exy - hi), 0.0)
    away = np.hypot(gap[:, 0], gap[:, 1])
    if isinstance(network, Cut):
        network = network.network(lo, hi)
    if network is not None:
        times = NetworkTimes(Router(network), tile.profile, pts.lon, pts.lat)
    else:
        times = EstimatedTimes(tile.profile, pts.lon, pts.lat, circuity=tile.circuity, projection=proj)
    nearest = []
    for mask, horizon in tile.sets:  # a walk of D metres never leaves the disc of radius D: only places that near
        idx = np.flatnonzero(mask & (away <= horizon * pace))
        nearest.append(times.nearest(tile.place_lon[idx], tile.place_lat[idx], horizon=horizon))
    idx = np.flatnonzero(tile.sets[0][0] & (away <= tile.minutes * pace))
    r, c, m = times.pairs(tile.place_lon[idx], tile.place_lat[idx], threshold=tile.minutes)
    local = np.searchsorted(tile.areas, pts.area)
    count = np.bincount(local, minlength=tile.areas.size)  # every point of these areas is here
    median = weighted_median_by_group(nearest[0], tile.area_households[local] / count[local], local, tile.areas.size)
    return tile.number, pts, nearest, times.off_network, r, idx[c], m, median
