"""Scale series: walking search and gap analysis at 10⁵ and 10⁶ nodes (10⁷ where memory allows); the catalogue.

Run:  python benchmarks/bench_scale.py walking [--sides 316 1000] [--queries 300]
      python benchmarks/bench_scale.py gaps [--sides 316 1000] [--places 1000] [--households 1000000]
      python benchmarks/bench_scale.py speedup --tiles 2          # 1 vs 2 dask.distributed workers at 10⁶
      python benchmarks/bench_scale.py national --run whole tiles  # the national-size proxy (~11 GB)
      python benchmarks/bench_scale.py catalogue --catalogue 1000000 --db cat1e6.sqlite3 [--views 100]
                                                                   # index, near-me, map view list and clusters

Networks are ``side × side`` street lattices, 50 m apart, 10 % of edges removed (the largest
component kept). CPU time (``time.thread_time``/``process_time``) is what counts on a shared
machine; wall is printed beside it. Each section also times the previous, straightforward path
on the same inputs (``--no-old`` to skip it) and checks the answers are the same.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

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


COLD = """
import sys, time
t0 = time.perf_counter()
import numpy as np
from kindmap.geo.prepared import load_router
from kindmap.geo.graph import Router
from kindmap.geo.network import WalkNetwork
t1 = time.perf_counter(); c1 = time.process_time()
path, mode = sys.argv[1], sys.argv[2]
data = np.load(sys.argv[3])
router = load_router(path, "walk", save=False) if mode == "stored" else Router(WalkNetwork.load(path)).warm("walk")
t2 = time.perf_counter()
origin = router.snap(float(data["qlon"][0]), float(data["qlat"][0]), profile="walk")
places = router.snap_many(data["plon"][data["cand"]], data["plat"][data["cand"]], profile="walk")
router.walk_minutes_to_snapped(origin, places, profile="walk", max_minutes=15)
t3 = time.perf_counter(); c3 = time.process_time()
print(f"{t1 - t0:.3f} {t2 - t1:.3f} {t3 - t2:.3f} {t3 - t1:.3f} {c3 - c1:.3f}")
"""

WORKER = """
import sys, time
import numpy as np
from kindmap.geo.prepared import load_router
router = load_router(sys.argv[1], "walk", save=False)
data = np.load(sys.argv[2])
places = router.snap_many(data["plon"], data["plat"], profile="walk")
for x, y in zip(data["qlon"][:200], data["qlat"][:200]):
    router.walk_minutes_to_snapped(router.snap(float(x), float(y), profile="walk"), places, profile="walk", max_minutes=15)
print("ready", flush=True)
time.sleep(600)
"""


def smaps(pid: int) -> dict[str, float]:
    """RSS, PSS and private MB of a process (from /proc/PID/smaps_rollup)."""
    import re
    from pathlib import Path

    text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    kb = {k: int(re.search(rf"^{k}:\s+(\d+)", text, re.MULTILINE).group(1)) for k in
          ("Rss", "Pss", "Private_Clean", "Private_Dirty")}
    return {"rss": kb["Rss"] / 1024, "pss": kb["Pss"] / 1024, "private": (kb["Private_Clean"] + kb["Private_Dirty"]) / 1024}


def walking(args) -> None:
    import json
    import os
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    from kindmap.geo.prepared import load_router, prepared_path

    here = Path(__file__).resolve().parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(here.parent), os.environ.get("PYTHONPATH")]))}
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
        # as the catalogue does: only places within the straight-line reach are candidates
        reach_deg = 15 * 80 / 111_320
        cands = [np.flatnonzero((np.abs(plon - x) <= reach_deg) & (np.abs(plat - y) <= reach_deg)) for x, y in zip(qlon, qlat)]
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "lattice.npz"
            with Clock("save the network"):
                net.save(path)
            del net
            with Clock("build and store the search structures (once, when the network is built)"):
                load_router(path, "walk")
            print(f"  stored: {prepared_path(path).stat().st_size / 1e6:.0f} MB beside the {path.stat().st_size / 1e6:.0f} MB network")
            inputs = Path(folder) / "inputs.npz"
            np.savez(inputs, plon=plon, plat=plat, qlon=qlon, qlat=qlat, cand=cands[0])
            for mode in ("stored", "built")[: 1 if args.no_built else 2]:
                out = subprocess.run([sys.executable, "-c", COLD, str(path), mode, str(inputs)], env=env, check=True,
                                     capture_output=True, text=True).stdout.split()
                imp, load, first, total, cpu = (float(v) for v in out)
                label = ("memory-mapped structures" if mode == "stored"
                         else "structures built on first use (before)")
                print(f"  new process, {label}: imports {imp:.2f} s, then load {load:.3f} s + first query "
                      f"{first:.3f} s = {total:.3f} s wall ({cpu:.3f} s CPU)", flush=True)
            router = load_router(path, "walk", save=False)
            places = router.snap_many(plon, plat, profile="walk")
            origins = [router.snap(float(x), float(y), profile="walk") for x, y in zip(qlon, qlat)]
            for attempt in ("", " again (their pages now mapped in)"):
                # the first pass touches each walk's pages of the memory maps for the first time
                # (page faults count as this thread's CPU); a server that has run a while is the second
                cpu, wall, answers = [], [], []
                for o, c in zip(origins, cands):
                    w, t = time.perf_counter(), time.thread_time()
                    answers.append(router.walk_minutes_to_snapped(o, places.take(c), profile="walk", max_minutes=15))
                    cpu.append(time.thread_time() - t), wall.append(time.perf_counter() - w)
                print(f"  15-minute walk, {args.queries} queries{attempt}: cpu p50 {pct(cpu, 50):.2f} ms, "
                      f"p99 {pct(cpu, 99):.2f} ms; wall p50 {pct(wall, 50):.2f} ms, p99 {pct(wall, 99):.2f} ms", flush=True)
            if args.old:
                cpu_old, same = [], True
                for o, c, a in zip(origins[:30], cands, answers):
                    t = time.thread_time()
                    b = old_walk_minutes(router, o, places.take(c), 15)
                    cpu_old.append(time.thread_time() - t)
                    same &= bool(np.array_equal(np.isfinite(a), np.isfinite(b)) and np.allclose(a[np.isfinite(a)], b[np.isfinite(b)]))
                print(f"  old path (whole graph copied per query), 30 queries: cpu p50 {pct(cpu_old, 50):.2f} ms, "
                      f"p99 {pct(cpu_old, 99):.2f} ms; same answers: {same}", flush=True)
            if args.workers_memory:
                workers_in = Path(folder) / "workers.npz"
                np.savez(workers_in, plon=plon[cands[0]], plat=plat[cands[0]], qlon=qlon, qlat=qlat)
                procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(path), str(workers_in)], env=env,
                                          stdout=subprocess.PIPE, text=True) for _ in range(2)]
                try:
                    for p in procs:
                        p.stdout.readline()
                    for i, p in enumerate(procs):
                        m = smaps(p.pid)
                        print(f"  worker {i + 1} of 2 after 200 queries: RSS {m['rss']:.0f} MB, PSS {m['pss']:.0f} MB, "
                              f"private {m['private']:.0f} MB", flush=True)
                finally:
                    for p in procs:
                        p.kill()
                        p.wait()
            if args.pandana_python and side * side > args.pandana_max_nodes:
                print(f"  pandana: not run above {args.pandana_max_nodes:,} nodes (--pandana-max-nodes)", flush=True)
            elif args.pandana_python:
                from kindmap.geo.network import WalkNetwork

                stored = WalkNetwork.load(path)
                peer_in = Path(folder) / "pandana.npz"
                np.savez(peer_in, node_x=stored.node_x, node_y=stored.node_y, edge_u=stored.edge_u, edge_v=stored.edge_v,
                         edge_length=stored.edge_length, origins=np.array([o.u for o in origins[:100]]))
                try:
                    out = subprocess.run([args.pandana_python, str(here / "_pandana_reach.py"), str(peer_in)],
                                         env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True,
                                         timeout=args.pandana_timeout, check=True).stdout
                    r = json.loads(out[out.rindex('{"pandana"'):].splitlines()[0])  # pandana prints progress too
                    print(f"  pandana {r['pandana']} (OMP_NUM_THREADS=1): contraction hierarchy + precompute(1200) "
                          f"{r['build_wall_s']:.1f} s wall / {r['build_cpu_s']:.1f} s CPU; nodes_in_range 1,200 m from "
                          f"one node, {r['queries']} queries: cpu p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms "
                          f"(mean {r['reached_mean']:.0f} nodes reached)", flush=True)
                except subprocess.TimeoutExpired:
                    print(f"  pandana: not finished within {args.pandana_timeout:.0f} s (the contraction hierarchy build)",
                          flush=True)
                except subprocess.CalledProcessError as exc:
                    print(f"  pandana failed: {exc.stderr.strip().splitlines()[-1] if exc.stderr else exc}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["walking", "gaps", "catalogue", "national", "speedup"])
    ap.add_argument("--workers-memory", action="store_true", help="walking: RSS/PSS/private of 2 processes sharing the stored network")
    ap.add_argument("--pandana-python", help="walking: a Python with pandana 0.7 (numpy<2) to run the peer with")
    ap.add_argument("--pandana-timeout", type=float, default=900.0, help="walking: seconds to give pandana's build")
    ap.add_argument("--no-built", action="store_true", help="walking: skip the first query with structures built on first use")
    ap.add_argument("--pandana-max-nodes", type=int, default=200_000, help="walking: larger lattices skip pandana")
    ap.add_argument("--sides", type=int, nargs="+", default=[316, 1000])
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--catalogue", type=int, nargs="+", default=[100_000, 1_000_000], help="places (catalogue)")
    ap.add_argument("--db", help="catalogue: a SQLite file to use (written first when it does not exist) and keep")
    ap.add_argument("--views", type=int, default=100, help="catalogue: random town views timed")
    ap.add_argument("--radius", type=float, default=5000.0, help="catalogue: near-me radius in metres")
    ap.add_argument("--names", choices=["numbered", "osm"], default="numbered",
                    help="catalogue: names of the places written ('Place 123', or drawn from real OSM names and towns)")
    ap.add_argument("--name-queries", type=int, default=200, help="catalogue: name searches timed (0: none)")
    ap.add_argument("--only-names", action="store_true", help="catalogue: only the index and name search")
    ap.add_argument("--places", type=int, default=1000)
    ap.add_argument("--households", type=int, default=None, help="default: one per node")
    ap.add_argument("--no-old", dest="old", action="store_false")
    ap.add_argument("--no-access", dest="access", action="store_false", help="gaps: skip the PySAL access peer")
    ap.add_argument("--access-pairs", type=int, default=400_000, help="gaps: pairs given to PySAL access at most")
    ap.add_argument("--profile", action="store_true", help="print where analyse_gaps spends its time")
    ap.add_argument("--old-places", type=int, default=50, help="places timed on the old gaps path (extrapolated)")
    ap.add_argument("--side", type=int, default=3163, help="national: lattice side (3163² ≈ 10⁷ nodes)")
    ap.add_argument("--areas-side", type=int, default=181, help="national: areas per side (181² = 32,761)")
    ap.add_argument("--keep", default="national-proxy", help="national: folder for the database and network (reused)")
    ap.add_argument("--run", nargs="+", choices=["whole", "tiles"], default=["tiles"], help="national: which runs")
    ap.add_argument("--tiles", type=int, default=4)
    ap.add_argument("--scheduler", default="distributed")
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()
    if args.what == "national":
        args.households = args.households or 1_500_000
        args.places = args.places if args.places != 1000 else 25_000
    print(machine_info())
    {"walking": walking, "gaps": gaps, "catalogue": catalogue, "national": national, "speedup": speedup}[args.what](args)


def gap_database(folder, net, *, households: int, places: int, areas_side: int = 30, seed: int = 3):
    """A SQLite database with one region on the lattice: areas (blocks), one postcode per household, places."""
    import json

    from sqlalchemy import insert

    from kindmap.config import Settings
    from kindmap.db import create_schema, make_engine, write_session
    from kindmap.models import Area, Place, Postcode, Region
    from kindmap.services.walking import network_path

    rng = np.random.default_rng(seed)
    lo_lon, hi_lon = float(net.node_lon.min()), float(net.node_lon.max())
    lo_lat, hi_lat = float(net.node_lat.min()), float(net.node_lat.max())
    settings = Settings(database_url=f"sqlite:///{folder}/scale.sqlite3", state_dir=folder)
    engine = make_engine(settings.database_url, settings=settings)
    create_schema(engine)
    net.save(network_path(settings, "lattice"))
    hlon, hlat = rng.uniform(lo_lon, hi_lon, households), rng.uniform(lo_lat, hi_lat, households)
    cw, ch = (hi_lon - lo_lon) / areas_side, (hi_lat - lo_lat) / areas_side
    ax = np.minimum(((hlon - lo_lon) / cw).astype(int), areas_side - 1)
    ay = np.minimum(((hlat - lo_lat) / ch).astype(int), areas_side - 1)
    area = ay * areas_side + ax
    per_area = np.bincount(area, minlength=areas_side ** 2)
    hours = ["Mo-Fr 09:00-17:00", "Mo-Sa 10:00-16:00", "Tu,Th 18:00-21:00", "Sa,Su 10:00-16:00", None]
    with write_session(engine) as s:
        region = Region(slug="lattice", name="Lattice")
        s.add(region)
        s.flush()
        rid = region.id
        for k in range(areas_side ** 2):
            x0, y0 = lo_lon + (k % areas_side) * cw, lo_lat + (k // areas_side) * ch
            ring = [[x0, y0], [x0 + cw, y0], [x0 + cw, y0 + ch], [x0, y0 + ch], [x0, y0]]
            s.add(Area(region_id=rid, code=f"A{k:06d}", name=f"Area {k}", kind="synthetic", households=int(per_area[k]),
                       deprivation_decile=int(k % 10) + 1, deprivation_rank=k + 1, centroid_lon=x0 + cw / 2,
                       centroid_lat=y0 + ch / 2, geometry_geojson=json.dumps({"type": "Polygon", "coordinates": [ring]})))
        plon, plat = rng.uniform(lo_lon, hi_lon, places), rng.uniform(lo_lat, hi_lat, places)
        for j in range(places):
            s.add(Place(name=f"Place {j}", category="library", lon=float(plon[j]), lat=float(plat[j]), region_id=rid,
                        opening_hours=hours[j % len(hours)]))
    with engine.begin() as conn:
        rows = [{"postcode": f"P{i:07d}", "lon": float(hlon[i]), "lat": float(hlat[i]), "area_code": f"A{area[i]:06d}",
                 "region_id": rid} for i in range(households)]
        conn.execute(insert(Postcode.__table__), rows)
    return settings, engine


def gaps(args) -> None:
    import tempfile

    from kindmap.services.gaps import times as gap_times
    from kindmap.services.gaps.analysis import GapQuery, analyse_gaps
    from kindmap.services.walking import DEFAULT_WALKING

    for side in args.sides:
        net = lattice(side)
        households = args.households or net.n_nodes
        print(f"\n== gaps: lattice {side}×{side} ({net.n_nodes:,} nodes), {households:,} households, {args.places} places",
              flush=True)
        with tempfile.TemporaryDirectory() as folder, Clock("database and network written"):
            settings, engine = gap_database(folder, net, households=households, places=args.places)
            q = GapQuery(region="lattice", minutes=15)
            DEFAULT_WALKING.router(settings, "lattice")  # load once, as a server or a second slot would
            spent = {}
            real_pairs = gap_times.NetworkTimes.pairs

            def timed_pairs(self, *a, **k):
                t = time.process_time()
                out = real_pairs(self, *a, **k)
                spent["pairs"] = time.process_time() - t
                spent["out"] = out
                return out

            gap_times.NetworkTimes.pairs = timed_pairs
            try:
                with Clock("analyse_gaps, one slot, E2SFCA at 15 min (snapping included)") as c:
                    if args.profile:
                        import cProfile
                        import pstats

                        prof = cProfile.Profile()
                        result = prof.runcall(analyse_gaps, engine, settings, q)
                    else:
                        result = analyse_gaps(engine, settings, q)
                if args.profile:
                    pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
            finally:
                gap_times.NetworkTimes.pairs = real_pairs
            print(f"    of which E2SFCA pairs (NetworkTimes.pairs): cpu {spent['pairs']:.3f} s; "
                  f"covered {result.totals['share_covered']:.3f}", flush=True)
            if args.access:
                access_peer(result, spent["out"], q, max_pairs=args.access_pairs)
            if args.old:
                times = gap_times.walk_times(settings, "lattice", result_profile(settings), _demand(engine, settings))
                lon, lat = result.places.lon, result.places.lat
                sample = np.arange(min(len(lon), args.old_places))
                t = time.process_time()
                src = times._sources(lon[sample], lat[sample])
                limit = 15 * times.profile.metres_per_minute
                for j in np.flatnonzero(src.ok):  # as NetworkTimes.pairs did: whole network, every household
                    dist, _ = times.router._search(src.take([j]), times.profile, limit)
                    metres = times.router._to_targets(dist, times.targets)
                    np.flatnonzero(metres <= limit)
                per = (time.process_time() - t) / sample.size
                print(f"    old path (whole-network search per place): {per * 1000:.1f} ms cpu per place × {len(lon)} "
                      f"places ≈ {per * len(lon):.1f} s cpu", flush=True)


CATALOGUE_BOX = (-3.0, 51.0, 0.5, 54.0)  # ~250 × 330 km of England
TOWN_VIEW = (0.33, 0.12)  # degrees: a 1920 × 1080 px screen at zoom 13 near 52.5° N
COUNTY_VIEW = (1.0, 0.6)  # degrees: ~730 × 710 px at zoom 10
TOWN_ZOOM, COUNTY_ZOOM, WHOLE_ZOOM = 13, 10, 8


GEODATA = Path(os.environ.get("KINDMAP_GEODATA", Path(__file__).resolve().parents[2] / "shared" / "geodata"))


def real_names(geodata: Path = GEODATA) -> tuple[list[str], list[str]]:
    """Names from real data (read here, never copied): every OSM ``name`` in the Rutland and Newport
    extracts (~6,000 distinct: villages, streets, pubs, churches, halls…), and the towns of England's
    libraries (~2,000)."""
    import csv

    import osmium

    names: set[str] = set()
    for pbf in (geodata / "rutland" / "rutland-2022-11.osm.pbf", geodata / "newport" / "newport-core_2023-06-12.osm.pbf"):
        for obj in osmium.FileProcessor(str(pbf), osmium.osm.NODE | osmium.osm.WAY).with_filter(osmium.filter.KeyFilter("name")):
            names.add(obj.tags["name"])
    with open(geodata / "uk" / "libraries_england_2023_with_coordinates.csv", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    towns = {t.split(",")[-1].strip() for r in rows for t in (r["Address 2"], r["Address 3"])} - {""}
    return sorted(names), sorted(towns)


def osm_like_names(n: int, rng, kinds: list[str]) -> tuple[list[str], list[str | None], list[str]]:
    """Names, other names and kinds for ``n`` places that exercise word matching as real ones do: a real
    OSM name (a third), a town and a kind ("Ilford Library", a third), or real words with a kind
    ("Bridge Street Community Centre"); one in ten has another name. Not "Place 123": numbered names make
    the vocabulary one word per place, which no real catalogue has."""
    from kindmap.taxonomy import label

    names, towns = real_names()
    words = sorted({w for name in names for w in name.split() if w.isalpha() and len(w) > 2})
    labels = [label(k) for k in kinds]
    kind_of = rng.integers(0, len(kinds), n)
    style = rng.integers(0, 3, n)
    pick_name, pick_town = rng.integers(0, len(names), n), rng.integers(0, len(towns), n)
    pick_words = rng.integers(0, len(words), (n, 2))
    out = []
    for i in range(n):
        if style[i] == 0:
            out.append(names[pick_name[i]])
        elif style[i] == 1:
            out.append(f"{towns[pick_town[i]]} {labels[kind_of[i]]}")
        else:
            out.append(f"{words[pick_words[i, 0]]} {words[pick_words[i, 1]]} {labels[kind_of[i]]}")
    others = [names[j] if r < 0.1 else None for j, r in zip(rng.integers(0, len(names), n).tolist(), rng.random(n).tolist())]
    return out, others, [kinds[k] for k in kind_of]


def write_catalogue(path: str, n: int, *, seed: int = 5, names: str = "numbered",
                    box: tuple[float, float, float, float] = CATALOGUE_BOX) -> None:
    """``n`` published places at random over ``box`` into SQLite at ``path`` (in chunks: 10⁷ fits).

    ``names="osm"``: names drawn from real OSM names and towns (``osm_like_names``), every kind of the
    taxonomy, and England's library towns as localities (towns) at random in the box."""
    from datetime import datetime, timezone

    from sqlalchemy import insert

    from kindmap.config import Settings
    from kindmap.db import create_schema, make_engine
    from kindmap.models import Locality, Place, Region

    url = f"sqlite:///{path}"
    engine = make_engine(url, settings=Settings(database_url=url))
    create_schema(engine)
    made = datetime(2026, 1, 1, tzinfo=timezone.utc)
    hours = ["Mo-Fr 09:00-17:00", "Mo-Sa 10:00-16:00", "Tu,Th 18:00-21:00", "Sa,Su 10:00-16:00", None]
    kinds = ["library", "community_centre", "place_of_worship", "community_cafe"]
    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(box[0], box[2], n), rng.uniform(box[1], box[3], n)
    if names == "osm":
        from kindmap.taxonomy import categories

        place_names, other_names, place_kinds = osm_like_names(n, rng, list(categories()))
        towns = real_names()[1]
        with engine.begin() as conn:
            rid = conn.execute(insert(Region.__table__).values(slug="box", name="Box")).inserted_primary_key[0]
            tlon = rng.uniform(box[0], box[2], len(towns))
            tlat = rng.uniform(box[1], box[3], len(towns))
            conn.execute(insert(Locality.__table__), [{"region_id": rid, "name": t, "kind": "town", "lon": float(x),
                                                       "lat": float(y)} for t, x, y in zip(towns, tlon, tlat)])
    else:
        place_names, other_names = [f"Place {i}" for i in range(n)], [None] * n
        place_kinds = [kinds[i % 4] for i in range(n)]
    with Clock(f"write {n:,} places") as c, engine.begin() as conn:
        for lo in range(0, n, 100_000):
            conn.execute(insert(Place.__table__), [
                {"name": place_names[i], "other_names": other_names[i], "category": place_kinds[i],
                 "lon": float(lon[i]), "lat": float(lat[i]),
                 "source": "manual", "status": "published", "opening_hours": hours[i % 5],
                 "free_to_use": [True, False, None][i % 3], "wheelchair": [None, "yes", "limited", "no"][i % 4],
                 "created_at": made, "updated_at": made} for i in range(lo, min(n, lo + 100_000))])
    print(f"  {n / c.wall:,.0f} rows/s", flush=True)
    engine.dispose()


def catalogue(args) -> None:
    """The catalogue in process (no HTTP): index build and memory, near-me, and the public map's view
    list and clusters at a town view and the whole box, at 10⁵–10⁷ places.

    ``--db FILE`` keeps the database (written with ``--catalogue N`` places when it does not exist yet),
    so a second run, or the code before a change (``PYTHONPATH=old-checkout``), times the same data.
    """
    import ctypes
    import gc
    import os
    import tempfile

    from sqlalchemy import func
    from sqlmodel import select

    from kindmap.config import Settings
    from kindmap.db import create_schema, make_engine, read_session
    from kindmap.errors import InvalidQuery
    from kindmap.models import CatalogueVersion, Place
    from kindmap.services.catalogue import mapview
    from kindmap.services.catalogue.index import DEFAULT_CACHE
    from kindmap.services.catalogue.search import SearchQuery, search_places

    libc = ctypes.CDLL("libc.so.6")
    for n in args.catalogue:
        print(f"\n== catalogue: {n:,} places", flush=True)
        with tempfile.TemporaryDirectory() as folder:
            path = args.db or f"{folder}/cat.sqlite3"
            if not os.path.exists(path):
                write_catalogue(path, n, names=args.names)
            url = f"sqlite:///{path}"
            settings = Settings(database_url=url, state_dir=folder, catalog_recheck_s=3600.0)
            engine = make_engine(url, settings=settings)
            create_schema(engine)  # an existing file is brought to the newest schema
            with read_session(engine) as s:
                gc.collect(), libc.malloc_trim(0)
                before = rss_mb()
                with Clock("build the index"):
                    index = DEFAULT_CACHE.get(s, tz=settings.timezone, recheck_s=3600.0)
                gc.collect(), libc.malloc_trim(0)  # as a server does after start-up (api/app.py)
                grid = getattr(index, "grid", None)
                print(f"  index memory (RSS after, less before): {rss_mb() - before:.0f} MB"
                      + (f" (cell grid {grid.nbytes / 1e6:.0f} MB, summaries to level {grid.finest})" if grid else ""),
                      flush=True)
                print(f"  places indexed: {index.size:,}", flush=True)
                if args.name_queries:
                    name_search(s, settings, index, queries=args.name_queries, rss_mb=rss_mb, trim=libc.malloc_trim)
                if args.only_names:
                    continue
                for label, stmt in (("previous signature (count, max(updated_at), max(id))",
                                     select(func.count(Place.id), func.max(Place.updated_at), func.max(Place.id))),
                                    ("change counter", select(CatalogueVersion.version).where(CatalogueVersion.id == 1))):
                    ts = []
                    for _ in range(5 if n > 2_000_000 else 20):
                        t = time.thread_time()
                        s.exec(stmt).one()
                        ts.append(time.thread_time() - t)
                    print(f"  {label}: median {pct(ts, 50):.3f} ms cpu", flush=True)
                rng = np.random.default_rng(6)
                lo, la = rng.uniform(-3.0, 0.5, args.queries), rng.uniform(51.0, 54.0, args.queries)
                for recheck in (3600.0, 0.0):
                    quick = settings.model_copy(update={"catalog_recheck_s": recheck})
                    ts = []
                    for x, y in zip(lo, la):
                        t = time.thread_time()
                        search_places(s, SearchQuery(lon=float(x), lat=float(y), radius_m=args.radius, limit=10),
                                      settings=quick)
                        ts.append(time.thread_time() - t)
                    print(f"  near-me k=10 within {args.radius:g} m, "
                          f"{'index trusted' if recheck else 'freshness checked every query'}: "
                          f"cpu p50 {pct(ts, 50):.3f} ms, p99 {pct(ts, 99):.3f} ms", flush=True)
                map_views(s, settings, n=args.views, search_places=search_places, SearchQuery=SearchQuery,
                          clusters=mapview.clusters_in_view, InvalidQuery=InvalidQuery)
            engine.dispose()


def name_search(s, settings, index, *, queries: int, rss_mb, trim) -> None:
    """The public name search in process (``mapview.search_by_name``, limit 50): the name index's first
    build (CPU, and RSS after less before), then CPU per query for words of random places' names typed
    whole, with a typo, as a 3–5 letter prefix, with their kind or town, and words found nowhere."""
    import gc

    from kindmap.errors import InvalidQuery
    from kindmap.services.catalogue import mapview
    from kindmap.services.catalogue import names as names_module
    from kindmap.services.catalogue.search import SearchQuery

    gc.collect(), trim(0)
    before = rss_mb()
    t = time.process_time()
    built = names_module.name_index(s, index)
    cpu = time.process_time() - t
    gc.collect(), trim(0)
    print(f"  name index: built in {cpu:.2f} s cpu, memory (RSS after, less before) {rss_mb() - before:.0f} MB"
          + (f" (arrays {built.nbytes / 1e6:.0f} MB, {len(built.tokens):,} distinct words)" if hasattr(built, "nbytes") else ""),
          flush=True)
    rng = np.random.default_rng(9)
    texts = []
    for pos, style in zip(rng.integers(0, index.size, queries).tolist(), rng.integers(0, 6, queries).tolist()):
        words = index.names[pos].split() or ["x"]
        word = words[int(rng.integers(0, len(words)))]
        if style == 0:
            texts.append(" ".join(words[:2]))
        elif style == 1 and len(word) > 3:  # a typo: two letters swapped
            k = int(rng.integers(0, len(word) - 1))
            texts.append(word[:k] + word[k + 1] + word[k] + word[k + 2:])
        elif style == 2:
            texts.append(word[: int(rng.integers(3, 6))])
        elif style == 3:
            texts.append(f"{word} {index.category[pos].replace('_', ' ')}")
        elif style == 4:
            texts.append(" ".join(words))
        else:
            texts.append("zzqxv")
    ts, refused, found = [], 0, []
    for text in texts:
        lon, lat = (float(rng.uniform(-3.0, 0.5)), float(rng.uniform(51.0, 54.0))) if rng.random() < 0.5 else (None, None)
        t = time.thread_time()
        try:
            found.append(mapview.search_by_name(s, text, SearchQuery(lon=lon, lat=lat, limit=50), open_now=False,
                                                settings=settings).total)
        except InvalidQuery:
            refused += 1
        ts.append(time.thread_time() - t)
    print(f"  name search ({queries} queries, limit 50): cpu p50 {pct(ts, 50):.3f} ms, p99 {pct(ts, 99):.3f} ms, "
          f"max {max(ts) * 1000:.1f} ms; {np.median(found) if found else 0:,.0f} places matched (median), "
          f"{refused} refused as too broad", flush=True)


def map_views(s, settings, *, n, search_places, SearchQuery, clusters, InvalidQuery) -> None:
    """CPU of the public map's requests: the view list (bbox, A to Z) and clusters, at random town
    views and at the whole box, with no filter and with a kind and 'free' filter."""
    rng = np.random.default_rng(8)
    w, h = TOWN_VIEW
    x0 = rng.uniform(CATALOGUE_BOX[0], CATALOGUE_BOX[2] - w, n)
    y0 = rng.uniform(CATALOGUE_BOX[1], CATALOGUE_BOX[3] - h, n)
    towns = [(float(x), float(y), float(x + w), float(y + h)) for x, y in zip(x0, y0)]
    w, h = COUNTY_VIEW
    counties = [(float(x), float(y), float(x + w), float(y + h)) for x, y in
                zip(rng.uniform(CATALOGUE_BOX[0], CATALOGUE_BOX[2] - w, max(3, n // 5)),
                    rng.uniform(CATALOGUE_BOX[1], CATALOGUE_BOX[3] - h, max(3, n // 5)))]
    filters = {"no filter": {}, "library + free": {"categories": ["library"], "free": True}}
    for label, views, zoom in (("town view", towns, TOWN_ZOOM), ("county view", counties, COUNTY_ZOOM),
                               ("whole box", [CATALOGUE_BOX] * max(3, n // 20), WHOLE_ZOOM)):
        for fname, f in filters.items():
            for what in ("list", "clusters"):
                ts, totals, refused = [], [], None
                for bbox in views:
                    q = SearchQuery(bbox=bbox, limit=50, **f)
                    t = time.thread_time()
                    try:
                        if what == "list":
                            totals.append(search_places(s, q, settings=settings).total)
                        else:
                            totals.append(clusters(s, q, zoom=zoom, open_now=False, settings=settings)[0])
                    except InvalidQuery as e:
                        refused = str(e)
                    ts.append(time.thread_time() - t)
                    if refused:
                        break
                if refused:
                    print(f"  {what} {label} ({fname}): refused in {pct(ts, 50):.3f} ms: {refused}", flush=True)
                else:
                    print(f"  {what} {label} ({fname}), zoom {zoom}: cpu p50 {pct(ts, 50):.3f} ms, p99 {pct(ts, 99):.3f} ms"
                          f" ({np.median(totals):,.0f} places in view, median)", flush=True)


class PeakRss:
    """Peak resident memory of this process and its children (Dask workers), sampled every 0.2 s."""

    def __enter__(self):
        import threading

        import psutil

        self.peak, self._stop = 0, threading.Event()
        me = psutil.Process()

        def sample():
            while not self._stop.is_set():
                try:
                    procs = [me, *me.children(recursive=True)]
                    self.peak = max(self.peak, sum(p.memory_info().rss for p in procs if p.is_running()))
                except Exception:  # a child ended while sampled
                    pass
                self._stop.wait(0.2)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (every core, every process) since boot."""
    import psutil

    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)


def tree_cpu() -> float:
    """CPU seconds of this process plus its live children (Dask worker processes)."""
    import psutil

    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for child in me.children(recursive=True):
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.Error:
            pass
    return total


def national(args) -> None:
    """The national-size proxy: build once into --keep DIR, then time the whole-region and/or the tiled run."""
    import pickle
    from pathlib import Path

    from kindmap.config import Settings
    from kindmap.db import make_engine
    from kindmap.services.gaps.analysis import GapQuery, analyse_gaps
    from kindmap.services.gaps.partition import analyse_partitioned
    from kindmap.services.walking import DEFAULT_WALKING

    folder = Path(args.keep)
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "scale.sqlite3"
    if not db.exists():
        with Clock("lattice built"):
            net = lattice(args.side)
        print(f"  {net.n_nodes:,} nodes, {net.n_edges:,} edges", flush=True)
        with Clock("database and network written"):
            gap_database(str(folder), net, households=args.households or net.n_nodes, places=args.places,
                         areas_side=args.areas_side)
        del net
    settings = Settings(database_url=f"sqlite:///{db}", state_dir=str(folder))
    engine = make_engine(settings.database_url, settings=settings)
    q = GapQuery(region="lattice", minutes=15)
    if "tiles" in args.run:
        _stored_extents(settings)
    for run in args.run:
        label = "whole region" if run == "whole" else f"{args.tiles}×{args.tiles} tiles on {args.scheduler}"
        print(f"\n== national proxy ({folder}): {label}", flush=True)
        with PeakRss() as peak, Clock(f"{label}, network load included") as c:
            if run == "whole":
                DEFAULT_WALKING.router(settings, "lattice")
                result = analyse_gaps(engine, settings, q)
            else:
                result = analyse_partitioned(engine, settings, q, tiles=(args.tiles, args.tiles),
                                             scheduler=args.scheduler, workers=args.workers)
        print(f"  peak RSS (process and workers) {peak.peak / 2**30:.2f} GiB; covered {result.totals['share_covered']:.6f}; "
              f"{len(result.areas):,} areas, {len(result.places):,} places, {result.point_minutes.size:,} points", flush=True)
        with open(folder / f"result-{run}.pkl", "wb") as f:
            pickle.dump({"totals": result.totals, "unknown": result.unknown_hours, "minutes": result.point_minutes,
                         "areas": [{k: v for k, v in a.items() if k != "geometry_geojson"} for a in result.areas]}, f)
    if all((folder / f"result-{r}.pkl").exists() for r in ("whole", "tiles")):
        print(f"  whole vs tiles: {compare_results(folder / 'result-whole.pkl', folder / 'result-tiles.pkl')}")


def speedup(args) -> None:
    """The partitioned run on 1 and on 2 dask.distributed workers (a LocalCluster started beforehand,
    reached by its address, as a council's cluster would be), against the whole-region run."""
    import logging
    import os
    import pickle
    import subprocess
    from pathlib import Path

    import psutil
    from distributed import Client, LocalCluster

    from kindmap.config import Settings
    from kindmap.db import make_engine
    from kindmap.services.gaps.analysis import GapQuery, analyse_gaps
    from kindmap.services.gaps.partition import analyse_partitioned
    from kindmap.services.walking import DEFAULT_WALKING

    side = args.sides[0] if args.sides != [316, 1000] else 1000
    folder = Path(args.keep if args.keep != "national-proxy" else f"speedup-{side}")
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "scale.sqlite3").exists():
        net = lattice(side)
        with Clock(f"database and network written ({net.n_nodes:,} nodes)"):
            gap_database(str(folder), net, households=args.households or net.n_nodes, places=args.places)
        del net
    settings = Settings(database_url=f"sqlite:///{folder}/scale.sqlite3", state_dir=str(folder))
    engine = make_engine(settings.database_url, settings=settings)
    q = GapQuery(region="lattice", minutes=15)
    load = lambda: subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()  # noqa: E731
    _stored_extents(settings)
    print(f"  before: {load()}", flush=True)
    with Clock("whole region (analyse_gaps, one process; network load included)") as whole_clock:
        DEFAULT_WALKING.router(settings, "lattice")
        whole = analyse_gaps(engine, settings, q)
    DEFAULT_WALKING._routers.clear()
    runs = {}
    for n in (1, 2):
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                          silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            worker_cpu = lambda: client.run(lambda: sum(psutil.Process().cpu_times()[:2]))  # noqa: E731
            client.run(lambda: __import__("kindmap.services.gaps.partition"))  # warm workers, as a running cluster's are
            before, busy, steal = worker_cpu(), machine_busy(), psutil.cpu_times().steal
            wall, parent = time.perf_counter(), time.process_time()
            part = analyse_partitioned(engine, settings, q, tiles=(args.tiles, args.tiles), scheduler=cluster.scheduler_address)
            wall, parent = time.perf_counter() - wall, time.process_time() - parent
            after, busy, steal = worker_cpu(), machine_busy() - busy, psutil.cpu_times().steal - steal
        per_worker = [after[w] - before[w] for w in after]
        runs[n] = (wall, parent, per_worker, part)
        # other processes' CPU during the run (the whole machine's busy time less this run's), and the
        # time the virtual machine's cores waited for the host's ("steal"): a wall figure with seconds
        # of either beside it was taken on a shared machine, not a quiet one
        print(f"  {args.tiles}×{args.tiles} tiles on {n} worker(s): wall {wall:.2f} s; CPU this process {parent:.2f} s, "
              f"workers {' + '.join(f'{c:.2f}' for c in per_worker)} s; other processes {max(busy - parent - sum(per_worker), 0):.2f} s, "
              f"steal {steal:.2f} s", flush=True)
    print(f"  after: {load()}", flush=True)
    for name, r in (("whole", whole), ("w1", runs[1][3]), ("w2", runs[2][3])):
        with open(folder / f"result-{name}.pkl", "wb") as f:
            pickle.dump({"totals": r.totals, "unknown": r.unknown_hours, "minutes": r.point_minutes,
                         "areas": [{k: v for k, v in a.items() if k != "geometry_geojson"} for a in r.areas]}, f)
    same = [compare_results(folder / "result-whole.pkl", folder / f"result-{n}.pkl") for n in ("w1", "w2")]
    (w1, p1, c1, _), (w2, p2, c2, _) = runs[1], runs[2]
    print(f"\nRESULT speed-up on 2 workers: wall {w1 / w2:.2f}× ({w1:.2f} s -> {w2:.2f} s); "
          f"CPU critical path {(p1 + sum(c1)) / (p2 + max(c2)):.2f}× ((this process + all workers) on 1 worker / "
          f"(this process + busiest worker) on 2); whole-region run {whole_clock.wall:.2f} s wall, {whole_clock.cpu:.2f} s CPU; "
          f"results vs whole region: 1 worker {same[0]}, 2 workers {same[1]}; cores {os.cpu_count()}", flush=True)


def _stored_extents(settings) -> None:
    """The edge extents the tiles cut by, stored beside the network before anything is timed (as after
    a council's first tiled run), so the runs on 1 and on 2 workers find them alike."""
    from kindmap.geo.network import WalkNetwork
    from kindmap.services.gaps.tiles import edge_extents
    from kindmap.services.walking import network_path

    path = network_path(settings, "lattice")
    with Clock("edge extents stored beside the network (once per version of its file)"):
        edge_extents(str(path), WalkNetwork.load(path))


def compare_results(a_path, b_path) -> str:
    """'identical' when totals, unknown-hours effect, per-area figures and per-point minutes agree (1e-9)."""
    import math
    import pickle

    a, b = (pickle.load(open(p, "rb")) for p in (a_path, b_path))

    def same(x, y):
        if isinstance(x, float) and isinstance(y, float):
            return (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)
        return x == y

    bad = [k for k in a["totals"] if not same(a["totals"][k], b["totals"][k])]
    bad += [f"unknown.{k}" for k in a["unknown"] if not same(a["unknown"][k], b["unknown"][k])]
    bad += [f"area {x['code']}.{k}" for x, y in zip(a["areas"], b["areas"]) for k in x if not same(x[k], y[k])]
    fin = np.isfinite(a["minutes"])
    if not (np.array_equal(fin, np.isfinite(b["minutes"])) and np.allclose(a["minutes"][fin], b["minutes"][fin], atol=1e-9)):
        bad.append("point minutes")
    return "identical" if not bad else f"DIFFERENT: {bad[:10]}"


def access_peer(result, pairs, q, *, max_pairs: int) -> None:
    """PySAL ``access`` E2SFCA on the pairs analyse_gaps computed (same decay), beside kindmap's aggregation.

    ``access`` takes the cost table as input, so the peer of its step is kindmap's aggregation
    (two sparse products); above ``max_pairs`` both run on the first places' pairs only.
    """
    try:
        import access
        import pandas as pd
    except ImportError:
        print("    PySAL access not installed (pip install access): peer skipped")
        return
    from kindmap.geo import coverage as cov
    from kindmap.services.gaps.measure import supply_weight

    rows, cols, mins = pairs
    n_places = len(result.places)
    if rows.size > max_pairs:  # pairs are sorted by place: keep whole catchments
        n_places = int(cols[max_pairs]) or 1
        keep = cols < n_places
        rows, cols, mins = rows[keep], cols[keep], mins[keep]
    dem = result.point_weights
    sup = supply_weight(result.places.weekly_hours)[:n_places]
    with Clock("kindmap E2SFCA aggregation (decay matrix + two sparse products)", quiet=True) as t_k:
        W = cov.decay_matrix(rows, cols, mins, shape=(dem.size, n_places), threshold=q.minutes, decay=q.decay)
        ours = cov.e2sfca(W, dem, sup)
    demand_df = pd.DataFrame({"geoid": np.arange(dem.size), "pop": dem}).set_index("geoid")
    supply_df = pd.DataFrame({"geoid": np.arange(n_places), "hours": sup}).set_index("geoid")
    cost_df = pd.DataFrame({"origin": rows, "dest": cols, "cost": mins})
    fn = (lambda m: cov.gaussian_decay(np.asarray(m), threshold=q.minutes))
    with Clock("PySAL access", quiet=True) as t_a:
        A = access.Access(demand_df=demand_df, demand_value="pop", supply_df=supply_df, supply_value="hours",
                          cost_df=cost_df, cost_origin="origin", cost_dest="dest", cost_name="cost")
        out = A.enhanced_two_stage_fca(name="e2sfca", max_cost=q.minutes, weight_fn=fn)
    theirs = out.iloc[:, 0].reindex(np.arange(dem.size)).fillna(0).to_numpy()
    same = np.allclose(theirs, ours.score, rtol=1e-9, atol=1e-12)
    print(f"    PySAL access peer, {rows.size:,} pairs of {n_places:,} places: access {t_a.cpu:.2f} s cpu ({t_a.wall:.2f} s wall), "
          f"kindmap aggregation {t_k.cpu:.3f} s cpu; same scores: {same}; ratio {t_a.cpu / max(t_k.cpu, 1e-6):.0f}× cpu",
          flush=True)


def rss_mb() -> float:
    """This process's resident memory in MB."""
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS")) / 1024


def result_profile(settings):
    from kindmap.services.walking import profile_for

    return profile_for(settings, None)


def _demand(engine, settings):
    from kindmap.db import read_session
    from kindmap.services.gaps.inputs import load_demand

    with read_session(engine) as s:
        return load_demand(s, 1, region_name="Lattice")


if __name__ == "__main__":
    main()
