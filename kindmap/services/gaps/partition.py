"""The same analysis partitioned into tiles with a halo of the longest walk, run on Dask, so
results are exact and the work can spread beyond one machine."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlsplit

import numpy as np
from sqlalchemy import Engine

from kindmap.config import Settings
from kindmap.errors import InvalidQuery
from kindmap.geo.graph import Router
from kindmap.geo.network import WalkNetwork
from kindmap.geo.projection import LocalProjection
from kindmap.services.gaps.analysis import prepare, result_from
from kindmap.services.gaps.measure import GapResult, measure
from kindmap.services.gaps.query import HORIZON_MINUTES, GapQuery
from kindmap.services.gaps.times import EstimatedTimes, NetworkTimes
from kindmap.services.walking import ESTIMATED, NETWORK, network_path


SCHEDULERS = ("threads", "processes", "sync", "distributed")
ADDRESS_SCHEMES = ("tcp", "tls", "ws", "wss")
CONNECT_TIMEOUT_S = 10


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


@dataclass(frozen=True)
class _Cut:
    """A tile's subnetwork as a recipe: the edges whose extent meets the box (lo, hi), metres."""

    path: str
    mtime: float
    lo: tuple[float, float]
    hi: tuple[float, float]

    def network(self) -> WalkNetwork:
        net, ex_min, ex_max = _opened(self.path, self.mtime)
        return subnetwork(net, ((ex_max >= np.array(self.lo)) & (ex_min <= np.array(self.hi))).all(axis=1))


_OPENED: dict = {}


def _opened(path: str, mtime: float) -> tuple[WalkNetwork, np.ndarray, np.ndarray]:
    """The memory-mapped network and each edge's extent (min and max x, y), once per process and file version."""
    key = (path, mtime)
    if key not in _OPENED:
        net = WalkNetwork.load(path)
        extents = (np.minimum.reduceat(net.geom_xy, net.geom_offsets[:-1], axis=0),
                   np.maximum.reduceat(net.geom_xy, net.geom_offsets[:-1], axis=0))
        _OPENED.clear()
        _OPENED[key] = (net, *extents)
    return _OPENED[key]


def _tile_job(sub, times_factory, point_idx, place_sets, lon, lat, pairs_places, q: GapQuery):
    """One tile, in global indices: per point the nearest minutes to each place set (global place
    indices, horizon), how many points did not snap, and the E2SFCA pairs of ``pairs_places``.
    ``sub`` is the tile's subnetwork (None without a network), given to ``times_factory``."""
    times = times_factory(sub.network() if isinstance(sub, _Cut) else sub)
    nearest = [times.nearest(lon[idx], lat[idx], horizon=h) for idx, h in place_sets]
    r, c, m = times.pairs(lon[pairs_places], lat[pairs_places], threshold=q.minutes)
    return point_idx, nearest, times.off_network, point_idx[r], pairs_places[c], m


def _tiles(xy: np.ndarray, nx: int, ny: int) -> list[np.ndarray]:
    """Point indices per tile: quantile cuts in x, then in y within each column (balanced tiles)."""
    out = []
    cols = np.array_split(np.argsort(xy[:, 0], kind="stable"), nx)
    for col in cols:
        out.extend(np.sort(part) for part in np.array_split(col[np.argsort(xy[col, 1], kind="stable")], ny))
    return [t for t in out if t.size]


def place_sets(ctx) -> list[tuple[np.ndarray, float]]:
    """The place sets whose nearest minutes the analysis asks for, as (mask over ``ctx.eligible``,
    horizon): the counted places (for every measure), and the one other set the unknown-hours
    effect needs (unknown hours counted as open or not, whichever the counted places are not)."""
    sets = [(ctx.is_open, HORIZON_MINUTES)]
    unknown = np.isnan(ctx.eligible.weekly_hours)
    for other in (ctx.is_open | unknown, ctx.is_open & ~unknown):
        if unknown.any() and other.any() and not np.array_equal(other, ctx.is_open):
            sets.append((other, ctx.query.minutes))
    return sets


def analyse_partitioned(engine: Engine, settings: Settings, q: GapQuery, *, tiles: tuple[int, int] = (2, 2),
                        scheduler: str = "threads", workers: int | None = None) -> GapResult:
    """The same analysis split into tiles with a halo of the longest walk, run as Dask tasks; exact.

    A walk of D metres never leaves the disc of radius D around its start, so a tile needs only
    the places within D of its bounding box and the path edges within D + the snap limit (so
    every place and household snaps as it would on the whole network). D is the search horizon
    (``HORIZON_MINUTES`` at the profile's pace). Each tile snaps its own households and makes
    every search the analysis needs for them; only the sums per area and E2SFCA's two sparse
    products are left to this process. Tiles could equally be councils on other machines.

    ``scheduler``: ``"threads"`` shares memory but gains little, since scipy's Dijkstra holds the
    GIL; ``"processes"`` runs tiles in separate processes on this machine; ``"distributed"`` starts
    a ``dask.distributed`` LocalCluster (one single-threaded worker process per core, or
    ``workers``); any other value is the address of a running Dask scheduler (``tcp://host:8786``),
    whose workers may be on other machines (each needs kindmap installed). Workers that see the
    network file (this machine, or a shared disk) cut their tiles' subnetworks from it themselves,
    so this process's share of the work stays small; others are sent each tile's subnetwork.
    """
    from kindmap.geo.graph import DEFAULT_MAX_SNAP_M

    check_scheduler(scheduler)
    if workers is not None and not 1 <= workers <= 256:
        raise InvalidQuery("workers must be between 1 and 256")
    with _runner(scheduler, workers) as run:
        ctx = prepare(engine, settings, q, times=False)
        demand, supply, profile = ctx.demand, ctx.supply, ctx.profile
        pace = profile.metres_per_minute
        halo = HORIZON_MINUTES * pace
        # the network only (memory-mapped): the graph and snap index are built per tile, on the workers
        path = network_path(settings, ctx.region)
        net = WalkNetwork.load(path) if path.is_file() else None
        proj = net.projection if net is not None else LocalProjection.centred_on(demand.lon, demand.lat)
        pxy = np.column_stack(proj.forward(demand.lon, demand.lat))
        elig = ctx.eligible
        exy = np.column_stack(proj.forward(elig.lon, elig.lat))
        sets = place_sets(ctx)

        def jobs():  # one tile's inputs at a time: a national run never holds every subnetwork at once
            for idx in _tiles(pxy, *tiles):
                lo, hi = pxy[idx].min(0), pxy[idx].max(0)
                gap = np.maximum(np.maximum(lo - exy, exy - hi), 0.0)
                away = np.hypot(gap[:, 0], gap[:, 1])
                # each search needs only the places within its own horizon's walk of the tile
                tile_sets = [(np.flatnonzero(mask & (away <= h * pace)), h) for mask, h in sets]
                pair_places = np.flatnonzero(sets[0][0] & (away <= q.minutes * pace))
                plon, plat = demand.lon[idx], demand.lat[idx]
                if net is not None:
                    reach = halo + DEFAULT_MAX_SNAP_M
                    sub = _Cut(str(path), path.stat().st_mtime, tuple(lo - reach), tuple(hi + reach))
                    factory = partial(_network_times, profile=profile, lon=plon, lat=plat)
                else:
                    sub = None
                    factory = partial(_estimated_times, profile=profile, lon=plon, lat=plat, circuity=settings.circuity,
                                      projection=proj)
                yield sub, factory, idx, tile_sets, elig.lon, elig.lat, pair_places, q

        # in tile order whatever order they finish in, so the sums are the same on every run
        parts = sorted(run(jobs()), key=lambda part: part[0][0])
    minutes = [np.full(demand.lon.size, np.inf) for _ in sets]
    rows, cols, vals, off = [], [], [], 0
    for idx, nearest, off_network, r, c, v in parts:
        for out, got in zip(minutes, nearest):
            out[idx] = got
        off += off_network
        rows.append(r), cols.append(c), vals.append(v)
    # pairs name eligible places; the measures number the counted places (supply) 0..n-1
    to_supply = np.full(len(elig), -1, dtype=np.int64)
    to_supply[np.flatnonzero(ctx.is_open)] = np.arange(len(supply))
    pairs = (np.concatenate(rows), to_supply[np.concatenate(cols)], np.concatenate(vals))
    ctx.times = _Fixed(pairs, NETWORK if net is not None else ESTIMATED, off,
                       {_key(elig.take(np.flatnonzero(mask))): m for (mask, _), m in zip(sets, minutes)})
    m = measure(demand, supply, ctx.times, q, minutes=minutes[0])
    result = result_from(ctx, m, supply)
    where = "a Dask scheduler at " + scheduler if scheduler not in SCHEDULERS else f"Dask, {scheduler}"
    result.notes.append(f"computed in {len(parts)} tiles with a {halo / 1000:.1f} km halo ({where})")
    return result


def _network_times(sub, *, profile, lon, lat) -> NetworkTimes:
    """Walk times on a tile's subnetwork (built on the worker)."""
    return NetworkTimes(Router(sub), profile, lon, lat)


def _estimated_times(_, *, profile, lon, lat, circuity, projection) -> EstimatedTimes:
    return EstimatedTimes(profile, lon, lat, circuity=circuity, projection=projection)


def _key(places) -> tuple[bytes, bytes]:
    return places.lon.tobytes(), places.lat.tobytes()


def check_scheduler(scheduler: str) -> None:
    """InvalidQuery unless ``scheduler`` is a known name or looks like a scheduler address (host:port)."""
    if scheduler in SCHEDULERS:
        return
    parts = urlsplit(scheduler if "://" in scheduler else "tcp://" + scheduler)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ADDRESS_SCHEMES or not parts.hostname or port is None or parts.path not in ("", "/"):
        raise InvalidQuery(f"unknown scheduler {scheduler!r}; choose one of: {', '.join(SCHEDULERS)}, "
                           "or give a Dask scheduler's address such as tcp://10.0.0.5:8786")


@contextmanager
def _runner(scheduler: str, workers: int | None) -> Iterator:
    """A function running tile jobs (an iterator of ``_tile_job`` arguments) on the chosen scheduler.

    Connects first, so a scheduler that cannot be reached, or has no workers, is InvalidQuery
    before any data is read. On dask.distributed at most two tiles per worker are in flight, and
    the next tile's subnetwork is cut only when one finishes: memory stays bounded however many
    tiles there are.
    """
    import dask

    if scheduler in ("threads", "processes", "sync"):
        yield lambda jobs: list(dask.compute(*(dask.delayed(_tile_job)(*args) for args in jobs),
                                             scheduler=scheduler, num_workers=workers))
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - the dask extra installs it
        raise InvalidQuery("this scheduler needs dask.distributed: pip install 'kindmap[dask]'") from exc
    if scheduler == "distributed":
        n = workers or os.cpu_count() or 1
        # one single-threaded process per core: scipy's Dijkstra holds the GIL, so threads gain nothing
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                          silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            yield partial(_on_client, client)
        return
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        raise InvalidQuery(f"could not reach a Dask scheduler at {scheduler} within {CONNECT_TIMEOUT_S} s ({exc}); "
                           "start one with: dask scheduler (and workers with: dask worker ADDRESS --nthreads 1), "
                           "or use --scheduler distributed for a cluster on this machine") from exc
    with client:
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
        except TimeoutError as exc:
            raise InvalidQuery(f"the Dask scheduler at {scheduler} has no workers; start some with: "
                               f"dask worker {scheduler} --nthreads 1") from exc
        yield partial(_on_client, client)


def _on_client(client, jobs) -> list:
    """Submit tile jobs to a dask.distributed client, at most two per worker in flight."""
    from distributed import as_completed

    slots = 2 * max(1, len(client.scheduler_info().get("workers", {})))
    running, done, seen = as_completed(), [], {}
    for args in jobs:
        if running.count() >= slots:
            done.append(next(running).result())
        sub, rest = args[0], args[1:]
        if isinstance(sub, _Cut):
            if sub.path not in seen:  # does every worker see this very file (this machine, or a shared disk)?
                seen[sub.path] = all(stamp == sub.mtime for stamp in client.run(_stamp, sub.path).values())
            if not seen[sub.path]:  # no: cut it here and send it straight to a worker, not through the scheduler
                sub = client.scatter(sub.network(), direct=True)
        running.add(client.submit(_tile_job, sub, *rest, pure=False))
    done.extend(future.result() for future in running)
    return done


def _stamp(path: str) -> float | None:
    """The file's modification time on this worker, None when it has no such file."""
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


class _Fixed:
    """Walk times already computed in the tiles (the reduce step of a partitioned run): the pairs,
    and the nearest minutes per point for each place set asked for."""

    def __init__(self, pairs, method: str, off_network: int, nearest: dict) -> None:
        self._pairs, self.method, self.off_network, self._nearest = pairs, method, off_network, nearest

    def pairs(self, lon, lat, *, threshold):
        return self._pairs

    def nearest(self, lon, lat, *, horizon):
        key = (np.asarray(lon, np.float64).tobytes(), np.asarray(lat, np.float64).tobytes())
        if key not in self._nearest:
            raise LookupError("a partitioned run computes only the nearest-place searches listed by place_sets")
        return self._nearest[key]
