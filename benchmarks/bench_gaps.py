"""Gap analysis at scale: 10⁶ households on a 10⁶-node grid, a week of slots, and E2SFCA vs PySAL ``access``.

Run:  python benchmarks/bench_gaps.py [--side 1000] [--households 1000000] [--places 1000] [--access-side 300]

Wall and CPU (process) time are printed for every step: the machine is shared, so wall time
alone can mislead. The grid is ``side × side`` nodes 50 m apart (a lattice of streets).
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime

import numpy as np
from _machine import machine_info
from scipy.sparse import csr_matrix

from kindmap.geo import coverage as cov
from kindmap.geo.graph import Router
from kindmap.geo.network import network_from_arrays
from kindmap.hours import HoursIndex, parse_windows

SPACING_DEG = 50 / 111_320  # 50 m of latitude


class Timer:
    """Wall and CPU seconds of a block."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __enter__(self):
        self.w, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.w, time.process_time() - self.c
        print(f"  {self.label}: wall {self.wall:.2f} s, cpu {self.cpu:.2f} s", flush=True)


def grid(side: int):
    """A side × side street lattice near the equator, 50 m spacing (EPSG:4326 nodes)."""
    i, j = np.divmod(np.arange(side * side), side)
    lon, lat = j * SPACING_DEG, i * SPACING_DEG
    right = np.flatnonzero(j < side - 1)
    up = np.flatnonzero(i < side - 1)
    u = np.r_[right, up]
    v = np.r_[right + 1, up + side]
    return network_from_arrays(node_lon=lon, node_lat=lat, edge_u=u, edge_v=v)


def week_of_slots(rng, n_places: int):
    """Hours patterns for places, and 21 slots (7 days × morning/afternoon/evening) as window strings."""
    patterns = ["Mo-Fr 09:00-17:00", "Mo-Sa 10:00-16:00", "Tu,Th 18:00-21:00", "Sa,Su 10:00-16:00",
                "Mo-Su 08:00-20:00", "We 13:00-15:00", None]
    hours = [patterns[k] for k in rng.integers(0, len(patterns), n_places)]
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    parts = (("09:00", "12:00"), ("12:00", "17:00"), ("17:00", "21:00"))
    slots = [f"{d} {a}-{b}" for d in days for a, b in parts]
    return hours, slots


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--side", type=int, default=1000)
    ap.add_argument("--households", type=int, default=1_000_000)
    ap.add_argument("--places", type=int, default=1000)
    ap.add_argument("--minutes", type=float, default=15.0)
    ap.add_argument("--areas-side", type=int, default=100, help="areas are blocks of the grid, areas-side × areas-side")
    ap.add_argument("--access-side", type=int, default=300, help="grid side for the PySAL access comparison")
    args = ap.parse_args()
    print(machine_info())
    rng = np.random.default_rng(42)
    side = args.side
    print(f"\ngrid {side}×{side} = {side * side:,} nodes; {args.households:,} households; {args.places} places; "
          f"{args.minutes:g} min at walk pace")
    with Timer("build network"):
        net = grid(side)
    router = Router(net)
    extent = (side - 1) * SPACING_DEG
    hlon, hlat = rng.uniform(0, extent, args.households), rng.uniform(0, extent, args.households)
    plon, plat = rng.uniform(0, extent, args.places), rng.uniform(0, extent, args.places)
    cell = extent / args.areas_side
    area = (np.minimum((hlat / cell).astype(int), args.areas_side - 1) * args.areas_side
            + np.minimum((hlon / cell).astype(int), args.areas_side - 1))
    n_areas = args.areas_side ** 2
    weight = np.ones(args.households)
    with Timer("snap households (once; not part of the budget)"):
        targets = router.snap_many(hlon, hlat, profile="walk")
    with Timer("snap places"):
        sources = router.snap_many(plon, plat, profile="walk")
    with Timer("whole-region analysis, one slot: one multi-source search + bincount per area") as t_one:
        minutes, _ = router.nearest_source_for_snapped(sources, targets, profile="walk", max_minutes=60)
        covered = cov.covered_by_group(minutes, weight, area, n_areas, thresholds=(5, 10, 15, 20))
        share = covered[2].sum() / weight.sum()
    print(f"    share within 15 min: {share:.3f}; budget 3 s → {'OK' if t_one.wall <= 3 else 'OVER'} (wall)")

    hours, slots = week_of_slots(rng, args.places)
    with Timer("week of 21 slots: distinct open-sets"):
        week = datetime(2026, 2, 2)  # the reference week of kindmap.services.gaps.analysis
        index = HoursIndex(hours, start=week, horizon_days=7)
        masks = np.array([index.open_during(parse_windows(s), week_of=week) for s in slots])
        distinct, slot_to_set = np.unique(np.packbits(masks, axis=1), axis=0, return_inverse=True)
    print(f"    {len(slots)} slots → {len(distinct)} distinct open-sets")
    with Timer(f"week: {len(distinct)} searches (one per distinct open-set) + bincount") as t_week:
        per_set = []
        for k in range(len(distinct)):
            mask = masks[int(np.flatnonzero(slot_to_set.ravel() == k)[0])]
            m, _ = router.nearest_source_for_snapped(sources.take(np.flatnonzero(mask)), targets, profile="walk",
                                                     max_minutes=60)
            per_set.append(cov.covered_by_group(m, weight, area, n_areas, thresholds=(args.minutes,))[0])
        per_slot = [per_set[k] for k in slot_to_set.ravel()]
    print(f"    per slot {t_week.wall / len(slots):.2f} s wall averaged over the week; {len(per_slot)} slot tables")

    # --- E2SFCA: demand at every node; supply = places at their nearest node
    node_of_place = np.minimum(np.rint(plat / SPACING_DEG).astype(int), side - 1) * side + \
        np.minimum(np.rint(plon / SPACING_DEG).astype(int), side - 1)
    node_demand = np.bincount(np.minimum(np.rint(hlat / SPACING_DEG).astype(int), side - 1) * side
                              + np.minimum(np.rint(hlon / SPACING_DEG).astype(int), side - 1), minlength=side * side)
    supply = rng.uniform(5, 60, args.places)
    limit_m = args.minutes * 80.0
    g = router.graph("walk")
    with Timer("E2SFCA distance matrix: capped Dijkstra per place (chunked, sparse)"):
        D = cov.within_matrix(g, node_of_place, limit=limit_m).T.tocsr()  # nodes × places
    print(f"    {D.nnz:,} node–place pairs within {args.minutes:g} min")
    with Timer("E2SFCA decay weights"):
        W = D.copy()
        W.data = cov.gaussian_decay(D.data / 80.0, threshold=args.minutes)
    with Timer("E2SFCA aggregation: two sparse mat-vecs") as t_e:
        res = cov.e2sfca(W, node_demand, supply)
    print(f"    budget 3 s → {'OK' if t_e.wall <= 3 else 'OVER'} (wall)")

    # --- PySAL access on the same kind of inputs (smaller grid: pandas-based, slow)
    try:
        import access
        import pandas as pd
    except ImportError:
        print("PySAL access not installed (pip install access); skipped")
        return
    s2 = args.access_side
    sub = (np.arange(side * side) // side < s2) & (np.arange(side * side) % side < s2)
    keep_places = np.flatnonzero(sub[node_of_place])
    Dsub = D[np.flatnonzero(sub)][:, keep_places].tocoo()
    Wsub = W[np.flatnonzero(sub)][:, keep_places].tocsr()
    dem = node_demand[sub].astype(float)
    sup = supply[keep_places]
    print(f"\nPySAL access comparison on a {s2}×{s2} corner: {sub.sum():,} nodes × {keep_places.size} places, "
          f"{Dsub.nnz:,} pairs")
    with Timer("kindmap E2SFCA (sparse products)") as t_k:
        ours = cov.e2sfca(Wsub, dem, sup)
    demand_df = pd.DataFrame({"geoid": np.arange(dem.size), "pop": dem}).set_index("geoid")
    supply_df = pd.DataFrame({"geoid": np.arange(sup.size), "hours": sup}).set_index("geoid")
    cost_df = pd.DataFrame({"origin": Dsub.row, "dest": Dsub.col, "cost": Dsub.data / 80.0})
    A = access.Access(demand_df=demand_df, demand_value="pop", supply_df=supply_df, supply_value="hours",
                      cost_df=cost_df, cost_origin="origin", cost_dest="dest", cost_name="cost")
    fn = (lambda m: cov.gaussian_decay(np.asarray(m), threshold=args.minutes))
    with Timer("PySAL access enhanced_two_stage_fca (same pairs, same decay)") as t_a:
        out = A.enhanced_two_stage_fca(name="e2sfca", max_cost=args.minutes, weight_fn=fn)
    theirs = out.iloc[:, 0].reindex(np.arange(dem.size)).fillna(0).to_numpy()
    ok = np.allclose(theirs, ours.score, rtol=1e-6, atol=1e-12)
    print(f"    same scores: {ok}; access / kindmap wall ratio {t_a.wall / max(t_k.wall, 1e-9):.0f}×, "
          f"cpu ratio {t_a.cpu / max(t_k.cpu, 1e-9):.0f}×")


if __name__ == "__main__":
    main()
