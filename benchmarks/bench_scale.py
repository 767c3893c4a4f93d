"""Scale series: walking search and gap analysis at 10⁵ and 10⁶ nodes (10⁷ where memory allows).

Run:  python benchmarks/bench_scale.py walking [--sides 316 1000] [--queries 300]
      python benchmarks/bench_scale.py gaps [--sides 316 1000] [--places 1000] [--households 1000000]

Networks are ``side × side`` street lattices, 50 m apart, 10 % of edges removed (the largest
component kept). CPU time (``time.thread_time``/``process_time``) is what counts on a shared
machine; wall is printed beside it. Each section also times the previous, straightforward path
on the same inputs (``--no-old`` to skip it) and checks the answers are the same.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _machine import machine_info

from kindmap.geo.graph import Router, SnapSet
from kindmap.geo.network import network_from_arrays
from kindmap.geo.profiles import as_profile

SPACING_DEG = 50 / 111_320  # 50 m of latitude, near the equator


def lattice(side: int, *, seed: int = 1):
    """A side × side lattice 50 m apart with 10 % of edges removed (EPSG:4326 nodes)."""
    rng = np.random.default_rng(seed)
    i, j = np.divmod(np.arange(side * side), side)
    right, up = np.flatnonzero(j < side - 1), np.flatnonzero(i < side - 1)
    u, v = np.r_[right, up], np.r_[right + 1, up + side]
    keep = rng.random(u.size) >= 0.1
    return network_from_arrays(node_lon=j * SPACING_DEG, node_lat=i * SPACING_DEG, edge_u=u[keep], edge_v=v[keep],
                               keep_largest=True)


class Clock:
    """Wall and CPU seconds of a block (process CPU: every thread)."""

    def __init__(self, label: str, quiet: bool = False) -> None:
        self.label, self.quiet = label, quiet

    def __enter__(self):
        self.w, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.w, time.process_time() - self.c
        if not self.quiet:
            print(f"  {self.label}: wall {self.wall:.3f} s, cpu {self.cpu:.3f} s", flush=True)


def old_walk_minutes(router: Router, origin, targets: SnapSet, minutes: float) -> np.ndarray:
    """The straightforward path: the whole CSR graph augmented with the origin, one capped search."""
    prof = as_profile("walk")
    limit = minutes * prof.metres_per_minute
    dist, _ = router._search(SnapSet.of(origin), prof, limit)
    metres = router._to_targets(dist, targets)
    same = targets.ok & (targets.edge == origin.edge)
    metres[same] = np.minimum(metres[same], origin.offset_m + targets.offset_m[same]
                              + np.abs(targets.along_u[same] - origin.along_u))
    out = metres / prof.metres_per_minute
    out[metres > limit] = np.inf
    return out


def pct(values, q):
    return float(np.percentile(np.asarray(values) * 1000, q))


def walking(args) -> None:
    for side in args.sides:
        print(f"\n== walking: lattice {side}×{side}", flush=True)
        with Clock("build network"):
            net = lattice(side)
        print(f"  {net.n_nodes:,} nodes, {net.n_edges:,} edges")
        rng = np.random.default_rng(2)
        extent = (side - 1) * SPACING_DEG
        n_places = max(100, net.n_nodes // 100)
        plon, plat = rng.uniform(0, extent, n_places), rng.uniform(0, extent, n_places)
        qlon, qlat = rng.uniform(0, extent, args.queries), rng.uniform(0, extent, args.queries)
        router = Router(net)
        with Clock("first query (snap index, graph and node grid built, one search)"):
            places = router.snap_many(plon, plat, profile="walk")
            origin = router.snap(float(qlon[0]), float(qlat[0]), profile="walk")
            router.walk_minutes_to_snapped(origin, places, profile="walk", max_minutes=15)
        origins = [router.snap(float(x), float(y), profile="walk") for x, y in zip(qlon, qlat)]
        # as the catalogue does: only places within the straight-line reach are candidates
        reach_deg = 15 * 80 / 111_320
        cands = [np.flatnonzero((np.abs(plon - x) <= reach_deg) & (np.abs(plat - y) <= reach_deg)) for x, y in zip(qlon, qlat)]
        cpu, wall, answers = [], [], []
        for o, c in zip(origins, cands):
            w, t = time.perf_counter(), time.thread_time()
            answers.append(router.walk_minutes_to_snapped(o, places.take(c), profile="walk", max_minutes=15))
            cpu.append(time.thread_time() - t), wall.append(time.perf_counter() - w)
        print(f"  15-minute walk, {args.queries} queries: cpu p50 {pct(cpu, 50):.2f} ms, p99 {pct(cpu, 99):.2f} ms; "
              f"wall p50 {pct(wall, 50):.2f} ms, p99 {pct(wall, 99):.2f} ms", flush=True)
        if args.old:
            cpu_old, same = [], True
            for o, c, a in zip(origins[:100], cands, answers):
                t = time.thread_time()
                b = old_walk_minutes(router, o, places.take(c), 15)
                cpu_old.append(time.thread_time() - t)
                same &= bool(np.array_equal(np.isfinite(a), np.isfinite(b)) and np.allclose(a[np.isfinite(a)], b[np.isfinite(b)]))
            print(f"  old path (whole graph copied per query), 100 queries: cpu p50 {pct(cpu_old, 50):.2f} ms, "
                  f"p99 {pct(cpu_old, 99):.2f} ms; same answers: {same}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["walking", "gaps"])
    ap.add_argument("--sides", type=int, nargs="+", default=[316, 1000])
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--places", type=int, default=1000)
    ap.add_argument("--households", type=int, default=None, help="default: one per node")
    ap.add_argument("--no-old", dest="old", action="store_false")
    args = ap.parse_args()
    print(machine_info())
    {"walking": walking, "gaps": gaps}[args.what](args)


def gaps(args) -> None:
    raise SystemExit("not yet")


if __name__ == "__main__":
    main()
