"""The same analysis partitioned into tiles with a halo of the longest walk, run on Dask, so
results are exact and the work can spread beyond one machine."""

from __future__ import annotations

import numpy as np
from sqlalchemy import Engine

from kindmap.config import Settings
from kindmap.errors import InvalidQuery
from kindmap.geo.graph import Router
from kindmap.services.gaps.analysis import prepare, result_from
from kindmap.services.gaps.measure import GapResult, measure
from kindmap.services.gaps.query import HORIZON_MINUTES, GapQuery
from kindmap.services.gaps.times import EstimatedTimes, NetworkTimes
from kindmap.services.walking import DEFAULT_WALKING


SCHEDULERS = ("threads", "processes", "sync")


def subnetwork(net, edge_mask: np.ndarray):
    """The network restricted to the masked edges (nodes renumbered; same metric CRS and edge geometry)."""
    from kindmap.geo.network import WalkNetwork

    keep = np.flatnonzero(edge_mask)
    nodes = np.unique(np.r_[net.edge_u[keep], net.edge_v[keep]])
    remap = np.full(net.n_nodes, -1, dtype=np.int64)
    remap[nodes] = np.arange(nodes.size)
    u, v = remap[net.edge_u[keep]].astype(np.int32), remap[net.edge_v[keep]].astype(np.int32)
    counts = np.diff(net.geom_offsets)[keep]
    starts = net.geom_offsets[keep]
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


def _tile_job(times_factory, point_idx, place_idx, lon, lat, q: GapQuery):
    """One tile: nearest minutes for its points and E2SFCA pairs, in global indices."""
    times = times_factory()
    minutes = times.nearest(lon[place_idx], lat[place_idx], horizon=HORIZON_MINUTES)
    r, c, m = times.pairs(lon[place_idx], lat[place_idx], threshold=q.minutes)
    return point_idx, minutes, point_idx[r], place_idx[c], m


def _tiles(xy: np.ndarray, nx: int, ny: int) -> list[np.ndarray]:
    """Point indices per tile: quantile cuts in x, then in y within each column (balanced tiles)."""
    out = []
    cols = np.array_split(np.argsort(xy[:, 0], kind="stable"), nx)
    for col in cols:
        out.extend(np.sort(part) for part in np.array_split(col[np.argsort(xy[col, 1], kind="stable")], ny))
    return [t for t in out if t.size]


def analyse_partitioned(engine: Engine, settings: Settings, q: GapQuery, *, tiles: tuple[int, int] = (2, 2),
                        scheduler: str = "threads") -> GapResult:
    """The same analysis split into tiles with a halo of the longest walk, run as Dask tasks; exact.

    A walk of D metres never leaves the disc of radius D around its start, so a tile needs only
    the places within D of its bounding box and the path edges within D + the snap limit (so
    every place and household snaps as it would on the whole network). D is the search horizon
    (``HORIZON_MINUTES`` at the profile's pace). Tiles could equally be councils on other machines.

    ``scheduler``: ``"threads"`` shares memory but gains little, since scipy's Dijkstra holds the
    GIL; ``"processes"`` runs tiles in separate processes (each tile's subnetwork is pickled to
    its worker), which is what spreads the searches over several cores.
    """
    import dask

    from kindmap.geo.graph import DEFAULT_MAX_SNAP_M

    if scheduler not in SCHEDULERS:
        raise InvalidQuery(f"unknown scheduler {scheduler!r}; choose one of: {', '.join(SCHEDULERS)}")
    ctx = prepare(engine, settings, q)
    demand, supply, profile = ctx.demand, ctx.supply, ctx.profile
    halo = HORIZON_MINUTES * profile.metres_per_minute
    router = DEFAULT_WALKING.router(settings, ctx.region)
    proj = router.net.projection if router is not None else ctx.times.proj
    pxy = np.column_stack(proj.forward(demand.lon, demand.lat))
    sxy = np.column_stack(proj.forward(supply.lon, supply.lat))
    lon, lat = supply.lon, supply.lat
    if router is not None:
        net = router.net
        counts = np.diff(net.geom_offsets)
        ex_min = np.minimum.reduceat(net.geom_xy, net.geom_offsets[:-1], axis=0)
        ex_max = np.maximum.reduceat(net.geom_xy, net.geom_offsets[:-1], axis=0)
        assert (counts > 0).all()
    jobs = []
    for idx in _tiles(pxy, *tiles):
        lo, hi = pxy[idx].min(0), pxy[idx].max(0)
        gap = np.maximum(np.maximum(lo - sxy, sxy - hi), 0.0)
        places = np.flatnonzero(np.hypot(gap[:, 0], gap[:, 1]) <= halo)
        plon, plat = demand.lon[idx], demand.lat[idx]
        if router is not None:
            reach = halo + DEFAULT_MAX_SNAP_M
            mask = ((ex_max >= lo - reach) & (ex_min <= hi + reach)).all(axis=1)
            sub = subnetwork(net, mask)
            factory = (lambda sub=sub, plon=plon, plat=plat: NetworkTimes(Router(sub), profile, plon, plat))
        else:
            factory = (lambda plon=plon, plat=plat: EstimatedTimes(profile, plon, plat, circuity=settings.circuity,
                                                                   projection=proj))
        jobs.append(dask.delayed(_tile_job)(factory, idx, places, lon, lat, q))
    parts = dask.compute(*jobs, scheduler=scheduler)
    minutes = np.full(demand.lon.size, np.inf)
    rows, cols, vals = [], [], []
    for idx, m, r, c, v in parts:
        minutes[idx] = m
        rows.append(r), cols.append(c), vals.append(v)
    pairs = (np.concatenate(rows), np.concatenate(cols), np.concatenate(vals))
    m = measure(demand, supply, _Fixed(pairs, ctx.times), q, minutes=minutes)
    result = result_from(ctx, m, supply)
    result.notes.append(f"computed in {len(parts)} tiles with a {halo / 1000:.1f} km halo (Dask, {scheduler})")
    return result


class _Fixed:
    """Walk-time pairs already computed (the reduce step of a partitioned run)."""

    def __init__(self, pairs, times) -> None:
        self._pairs, self.method, self.off_network = pairs, times.method, times.off_network

    def pairs(self, lon, lat, *, threshold):
        return self._pairs
