"""The same analysis partitioned into tiles with a halo of the longest walk, run on Dask, so
results are exact and the work can spread beyond one machine. This module is the process that
starts the run: it cuts the region into tiles of whole areas, hands them out, and adds their
answers up; :mod:`kindmap.services.gaps.tiles` is what a worker does with one tile."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from functools import partial
from urllib.parse import urlsplit

import numpy as np
from sqlalchemy import Engine, func, select

from kindmap.config import Settings
from kindmap.errors import InvalidQuery
from kindmap.geo.network import WalkNetwork
from kindmap.geo.projection import LocalProjection
from kindmap.models import Area, Postcode
from kindmap.services.gaps.analysis import prepare, result_from
from kindmap.services.gaps.measure import GapResult, measure
from kindmap.services.gaps.query import HORIZON_MINUTES, GapQuery
from kindmap.services.gaps.tiles import Cut, Households, Points, Tile, box, run
from kindmap.services.walking import ESTIMATED, NETWORK, network_path

SCHEDULERS = ("threads", "processes", "sync", "distributed")
ADDRESS_SCHEMES = ("tcp", "tls", "ws", "wss")
CONNECT_TIMEOUT_S = 10


def _tiles(lonlat: np.ndarray, weight: np.ndarray, nx: int, ny: int) -> list[np.ndarray]:
    """Area indices per tile, by the areas' centroids: cuts in x at quantiles of ``weight`` (households),
    then in y within each column, so tiles carry about equal numbers of households (balanced work)."""
    out = []
    for col in _split(np.argsort(lonlat[:, 0], kind="stable"), weight, nx):
        out.extend(np.sort(part) for part in _split(col[np.argsort(lonlat[col, 1], kind="stable")], weight, ny))
    return [t for t in out if t.size]


def _split(order: np.ndarray, weight: np.ndarray, n: int) -> list[np.ndarray]:
    """``order`` in ``n`` runs of about equal total weight (equal counts when there is no weight):
    each item goes to the run its middle (in cumulative weight) falls in."""
    if order.size == 0:
        return []
    w = weight[order] if weight[order].sum() > 0 else np.ones(order.size)
    cum = np.cumsum(w)
    run = np.minimum(((cum - w / 2) / cum[-1] * n).astype(np.int64), n - 1)
    return [order[run == k] for k in range(n)]


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
    the places within D of its households' bounding box and the path edges within D + the snap
    limit (so every place and household snaps as it would on the whole network). D is the search
    horizon (``HORIZON_MINUTES`` at the profile's pace). Tiles are whole small areas; each reads its
    areas' postcode points, snaps them on its own piece of the network and makes every search the
    analysis needs for them; this process reads only the areas and places, and adds the tiles'
    answers up (the sums per area and E2SFCA's two sparse products). Tiles could equally be
    councils on other machines.

    ``scheduler``: ``"threads"`` shares memory but gains little, since scipy's Dijkstra holds the
    GIL; ``"processes"`` runs tiles in separate processes on this machine; ``"distributed"`` starts
    a ``dask.distributed`` LocalCluster (one single-threaded worker process per core, or
    ``workers``); any other value is the address of a running Dask scheduler (``tcp://host:8786``),
    whose workers may be on other machines (each needs kindmap installed). Workers that can open
    the database (the same SQLite file, or a PostgreSQL address without a password) read their own
    tiles' postcodes, and workers that see the network file cut their own pieces of it; for the
    others this process reads or cuts them and sends them.
    """
    from kindmap.geo.graph import DEFAULT_MAX_SNAP_M

    check_scheduler(scheduler)
    if workers is not None and not 1 <= workers <= 256:
        raise InvalidQuery("workers must be between 1 and 256")
    with _runner(scheduler, workers, engine) as run_all:
        ctx = prepare(engine, settings, q, times=False, points=False)
        areas, elig, profile = ctx.demand, ctx.eligible, ctx.profile
        halo = HORIZON_MINUTES * profile.metres_per_minute
        groups = _tiles(np.column_stack([areas.centroid_lon, areas.centroid_lat]), areas.households, *tiles)
        url = shareable_url(engine)
        recipes = [Households.of(url or "", areas, idx) for idx in groups]
        path = network_path(settings, ctx.region)
        if path.is_file():
            # the network only (memory-mapped): its CRS, and the tiles cut their own pieces
            proj4 = WalkNetwork.load(path).proj4
            network = Cut(str(path), path.stat().st_mtime, halo + DEFAULT_MAX_SNAP_M)
            households = recipes  # read by the workers, or here one tile at a time (``_here``)
        else:
            # estimated times are measured in a CRS centred on every point: read them all here first
            households = [r.points(engine) for r in recipes]
            proj4 = LocalProjection.centred_on(np.concatenate([h.lon for h in households]),
                                               np.concatenate([h.lat for h in households])).proj4
            network = None
        sets = place_sets(ctx)
        jobs = ((Tile(k, g, areas.households[g], h, proj4, profile, settings.circuity, elig.lon, elig.lat, sets,
                      q.minutes), network) for k, (g, h) in enumerate(zip(groups, households)))
        # in tile order whatever order they finish in, so the sums are the same on every run
        parts = sorted(run_all(jobs), key=lambda part: part[0])
    return _reduce(ctx, parts, groups, sets, q, method=NETWORK if network is not None else ESTIMATED, halo=halo,
                   where="a Dask scheduler at " + scheduler if scheduler not in SCHEDULERS else f"Dask, {scheduler}")


def _reduce(ctx, parts: list, groups: list, sets: list, q: GapQuery, *, method: str, halo: float, where: str) -> GapResult:
    """The tiles' answers back in the whole region's order (each tile's points are whole areas, in
    area then postcode order, then areas without postcodes), measured as the whole-region run does."""
    pts: list[Points] = [p[1] for p in parts]
    area = np.concatenate([p.area for p in pts])
    order = region_order(pts, len(ctx.demand.code))
    position = np.empty_like(order)
    position[order] = np.arange(order.size)
    ctx.demand = ctx.demand.with_points(area[order], np.concatenate([p.lon for p in pts])[order],
                                       np.concatenate([p.lat for p in pts])[order])
    minutes = [np.concatenate([p[2][k] for p in parts])[order] for k in range(len(sets))]
    starts = np.cumsum([0] + [p.area.size for p in pts])
    rows = np.concatenate([position[start + p[4]] for start, p in zip(starts, parts)])
    # pairs name eligible places; the measures number the counted places (supply) 0..n-1
    to_supply = np.full(len(ctx.eligible), -1, dtype=np.int64)
    to_supply[np.flatnonzero(ctx.is_open)] = np.arange(int(ctx.is_open.sum()))
    pairs = (rows, to_supply[np.concatenate([p[5] for p in parts])], np.concatenate([p[6] for p in parts]))
    ctx.times = _Fixed(pairs, method, sum(p[3] for p in parts),
                       {_key(ctx.eligible.take(np.flatnonzero(mask))): m for (mask, _), m in zip(sets, minutes)})
    median = np.full(len(ctx.demand.code), np.nan)
    for p in parts:
        median[groups[p[0]]] = p[7]
    supply = ctx.supply
    result = result_from(ctx, measure(ctx.demand, supply, ctx.times, q, minutes=minutes[0], median=median), supply)
    result.notes.append(f"computed in {len(parts)} tiles with a {halo / 1000:.1f} km halo ({where})")
    return result


def region_order(points: list[Points], n_areas: int) -> np.ndarray:
    """The permutation putting the tiles' points (concatenated) in the whole region's order: postcodes
    by area then postcode, then areas without postcodes. Each area lies in one tile, whose points
    are already in that order, so a stable sort by area (postcodes before centroids) is enough."""
    area = np.concatenate([p.area for p in points])
    bare = np.concatenate([np.arange(p.area.size) >= p.postcodes for p in points])
    return np.argsort(np.where(bare, n_areas + area, area), kind="stable")


def shareable_url(engine: Engine) -> str | None:
    """The database address other processes can open with no secret sent to them: a SQLite file,
    or a server address without a password (workers bring their own, e.g. ~/.pgpass); else None."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if not database or database == ":memory:" or database.startswith("file:") or url.query.get("mode") == "memory":
            return None
        return url.render_as_string(hide_password=False)
    return None if url.password else url.render_as_string(hide_password=False)


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
def _runner(scheduler: str, workers: int | None, engine: Engine) -> Iterator:
    """A function running tile jobs (an iterator of (Tile, network) pairs) on the chosen scheduler.

    Connects first, so a scheduler that cannot be reached, or has no workers, is InvalidQuery
    before any data is read. On dask.distributed at most two tiles per worker are in flight, and
    the next tile is read or cut here (when the workers cannot) only when one finishes: memory
    stays bounded however many tiles there are.
    """
    import dask

    if scheduler in ("threads", "processes", "sync"):  # this machine: every worker sees what this process sees
        yield lambda jobs: list(dask.compute(*(dask.delayed(run)(*_here(*job, engine)) for job in jobs),
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
            yield partial(_on_client, client, engine)
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
        yield partial(_on_client, client, engine)


def _here(tile: Tile, network, engine: Engine, *, database: bool = True, network_file: bool = True) -> tuple:
    """The job with what its worker cannot open itself read (``database``) or cut (``network_file``) here."""
    if isinstance(tile.households, Households) and not (database and tile.households.url):
        tile = replace(tile, households=tile.households.points(engine))
    if isinstance(network, Cut) and not network_file:
        if isinstance(tile.households, Households):  # the piece is cut around the tile's points
            tile = replace(tile, households=tile.households.points(engine))
        network = network.network(*box(tile.households, LocalProjection(tile.proj4)))
    return tile, network


def _on_client(client, engine: Engine, jobs) -> list:
    """Submit tile jobs to a dask.distributed client, at most two per worker in flight."""
    from distributed import as_completed

    slots = 2 * max(1, len(client.scheduler_info().get("workers", {})))
    running, done, seen = as_completed(), [], {}
    for tile, network in jobs:
        if running.count() >= slots:
            done.append(next(running).result())
        if isinstance(tile.households, Households) and tile.households.url and "database" not in seen:
            # can every worker open this very database (this machine, a shared disk, a reachable server)?
            code = tile.households.codes[0]
            with engine.connect() as conn:
                here = _fingerprint(conn, code)
            seen["database"] = all(got == here for got in client.run(_opens, tile.households.url, code).values())
        if isinstance(network, Cut) and "network" not in seen:  # does every worker see this very file?
            seen["network"] = all(stamp == network.mtime for stamp in client.run(_stamp, network.path).values())
        tile, network = _here(tile, network, engine, database=seen.get("database", True),
                              network_file=seen.get("network", True))
        if isinstance(network, WalkNetwork):  # cut here: straight to a worker, not through the scheduler
            network = client.scatter(network, direct=True)
        running.add(client.submit(run, tile, network, pure=False))
    done.extend(future.result() for future in running)
    return done


def _opens(url: str, code: str) -> tuple | None:
    """This worker's :func:`_fingerprint` of the database at ``url``; None when it cannot open it."""
    from kindmap.services.gaps.tiles import _engine

    sqlite_file = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else None
    if sqlite_file is not None and not os.path.isfile(sqlite_file):
        return None  # SQLite would create an empty database rather than fail
    try:
        with _engine(url).connect() as conn:
            return _fingerprint(conn, code)
    except Exception:  # noqa: BLE001 - any failure means: send this worker the points instead
        return None


def _fingerprint(conn, code: str) -> tuple:
    """How many areas there are, and postcodes in area ``code``: enough to tell another database."""
    return (conn.execute(select(func.count()).select_from(Area)).scalar_one(),
            conn.execute(select(func.count()).where(Postcode.area_code == code)).scalar_one())


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
