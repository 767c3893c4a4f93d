"""Nearest place for every node: one multi-source Dijkstra vs pandana's contraction hierarchies.

Synthetic street grid (side × side nodes, 100 m spacing, a share of edges removed at
random), 1,000 random places on random edges. kindmap: ``Router.nearest_from_sources``,
one ``scipy.sparse.csgraph.dijkstra(min_only=True)`` on one core. pandana:
``Network(...)`` (builds the contraction hierarchy), ``precompute``, ``set_pois``,
``nearest_pois`` on the same graph. pandana's CH build is slow (≈ 2 minutes per 100k
nodes measured beforehand), so by default it runs on a smaller grid in the same run and
kindmap is timed on that grid too, for a like-for-like ratio.

    python benchmarks/bench_nearest.py                      # 1M nodes kindmap, 10k nodes both
    python benchmarks/bench_nearest.py --nodes 250000 --pandana-nodes 100000
    python benchmarks/bench_nearest.py --pandana-nodes 0    # skip pandana
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core for both engines

import numpy as np  # noqa: E402

from kindmap.geo.graph import (
    Router,  # noqa: E402
    SnapSet,  # noqa: E402
)
from kindmap.geo.network import network_from_arrays  # noqa: E402
from kindmap.geo.projection import LocalProjection, local_crs_proj4  # noqa: E402

try:
    from _machine import machine_info
except ImportError:  # run as a module
    from benchmarks._machine import machine_info

SPACING = 100.0
MAX_MINUTES = 60.0  # pandana needs a search radius; 60 min at 4.8 km/h is 4.8 km


def make_grid(nodes: int, *, drop: float, seed: int):
    side = int(round(nodes**0.5))
    rng = np.random.default_rng(seed)
    ix, iy = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    proj = LocalProjection(local_crs_proj4(-0.7, 52.65))
    lon, lat = proj.inverse(ix.ravel() * SPACING, iy.ravel() * SPACING)
    idx = np.arange(side * side).reshape(side, side)
    u = np.concatenate((idx[:-1, :].ravel(), idx[:, :-1].ravel()))
    v = np.concatenate((idx[1:, :].ravel(), idx[:, 1:].ravel()))
    keep = rng.random(u.size) > drop
    return network_from_arrays(node_lon=lon, node_lat=lat, edge_u=u[keep], edge_v=v[keep], keep_largest=True), rng


def random_places(net, rng, n: int) -> SnapSet:
    """Places on random edges at random points along them (5 m off the path)."""
    e = rng.integers(0, net.n_edges, n)
    frac = rng.random(n)
    along_u = net.edge_length[e] * frac
    return SnapSet(
        edge=e.astype(np.int64), u=net.edge_u[e].astype(np.int64), v=net.edge_v[e].astype(np.int64),
        along_u=along_u, along_v=net.edge_length[e] - along_u, offset_m=np.full(n, 5.0),
        x=np.zeros(n), y=np.zeros(n),
    )


def bench_kindmap(net, places: SnapSet, repeats: int) -> tuple[float, float, np.ndarray]:
    """Best wall and best CPU seconds of one multi-source search (CPU time is what one core spends,
    so it is less disturbed than wall time when other work shares the machine)."""
    router = Router(net)
    router.graph("walk")  # the weighted CSR matrix is built once per network, not per query
    wall, cpu = [], []
    for _ in range(repeats):
        c, t = time.process_time(), time.perf_counter()
        minutes, which = router.nearest_from_sources(places, profile="walk")
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return min(wall), min(cpu), minutes


def bench_pandana(net, places: SnapSet) -> dict:
    import pandana
    import pandas as pd

    t = time.perf_counter()
    edges = pd.DataFrame({"length": net.edge_length})
    pnet = pandana.Network(
        pd.Series(net.node_x), pd.Series(net.node_y), pd.Series(net.edge_u.astype(np.int64)),
        pd.Series(net.edge_v.astype(np.int64)), edges, twoway=True,
    )
    build = time.perf_counter() - t
    max_m = MAX_MINUTES * 80.0
    t = time.perf_counter()
    pnet.precompute(max_m)
    precompute = time.perf_counter() - t
    # pandana snaps POIs to their nearest node; put them at the nearer end of their edge
    node = np.where(places.along_u <= places.along_v, places.u, places.v)
    t = time.perf_counter()
    pnet.set_pois("places", max_m, 1, pd.Series(net.node_x[node]), pd.Series(net.node_y[node]))
    set_pois = time.perf_counter() - t
    c, t = time.process_time(), time.perf_counter()
    res = pnet.nearest_pois(max_m, "places", num_pois=1)
    query, query_cpu = time.perf_counter() - t, time.process_time() - c
    return {"build": build, "precompute": precompute, "set_pois": set_pois, "query": query, "query_cpu": query_cpu, "metres": res[1].to_numpy()}


def run(nodes: int, *, places: int, drop: float, seed: int, repeats: int, pandana: bool) -> None:
    t = time.perf_counter()
    net, rng = make_grid(nodes, drop=drop, seed=seed)
    print(f"\n== grid {net.n_nodes:,} nodes, {net.n_edges:,} edges ({drop:.0%} of edges removed), {places} places; built in {time.perf_counter() - t:.1f} s")
    snaps = random_places(net, rng, places)
    best, best_cpu, minutes = bench_kindmap(net, snaps, repeats)
    print(f"kindmap  one multi-source Dijkstra (min_only=True), best of {repeats}: wall {best:.3f} s, CPU {best_cpu:.3f} s")
    if not pandana:
        return
    p = bench_pandana(net, snaps)
    print(
        f"pandana  CH build {p['build']:.1f} s, precompute({MAX_MINUTES * 80:.0f} m) {p['precompute']:.2f} s, "
        f"set_pois {p['set_pois']:.2f} s, nearest_pois query wall {p['query']:.3f} s, CPU {p['query_cpu']:.3f} s"
    )
    print(f"ratio    pandana query / kindmap query = {p['query'] / best:.2f} (wall), {p['query_cpu'] / best_cpu:.2f} (CPU); (pandana build + query) / kindmap = {(p['build'] + p['precompute'] + p['set_pois'] + p['query']) / best:.0f}")
    # sanity: pandana snaps places to nodes (no along-edge offset), so only compare loosely
    ours = minutes * 80.0
    both = np.isfinite(ours) & (p["metres"] < MAX_MINUTES * 80.0 - 1)
    diff = np.abs(ours[both] - p["metres"][both])
    print(f"check    median |kindmap − pandana| distance {np.median(diff):.0f} m (pandana puts places on nodes; kindmap on edges, +5 m walk-on)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=1_000_000, help="kindmap-only grid size (nodes)")
    ap.add_argument("--pandana-nodes", type=int, default=10_000, help="grid size for the head-to-head run (0: skip)")
    ap.add_argument("--places", type=int, default=1000)
    ap.add_argument("--drop", type=float, default=0.1, help="share of grid edges removed at random")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    print(machine_info())
    run(args.nodes, places=args.places, drop=args.drop, seed=args.seed, repeats=args.repeats, pandana=args.pandana_nodes == args.nodes)
    if args.pandana_nodes and args.pandana_nodes != args.nodes:
        run(args.pandana_nodes, places=args.places, drop=args.drop, seed=args.seed, repeats=args.repeats, pandana=True)


if __name__ == "__main__":
    main()
