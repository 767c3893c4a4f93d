""""Near me" latency on Rutland: nearest 10 places within 20 minutes' walk, per query.

Network: built from the Rutland OSM extract (``kindmap.config.default_data_dir()``).
Places: the extract's own OSM features with amenity=library|community_centre|
place_of_worship|cafe|social_facility or leisure=park (nodes, and closed ways at the
mean of their vertices), snapped to the network once. Origins: 1,000 postcode centroids
drawn at random from the Rutland postcode file. Each query = snap the origin + one capped
Dijkstra (``limit`` = 20 minutes at 4.8 km/h) + pick the 10 nearest; timed one by one.

    python benchmarks/bench_near_me.py [--queries 1000] [--profile walk]
"""

from __future__ import annotations

import argparse
import csv
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import osmium  # noqa: E402
from osmium.filter import KeyFilter  # noqa: E402

from kindmap.config import default_data_dir  # noqa: E402
from kindmap.geo.graph import Router  # noqa: E402
from kindmap.geo.network import build_network  # noqa: E402

try:
    from _machine import machine_info
except ImportError:
    from benchmarks._machine import machine_info

AMENITIES = {"library", "community_centre", "place_of_worship", "cafe", "social_facility"}


def read_places(pbf) -> tuple[np.ndarray, np.ndarray]:
    """EPSG:4326 points of the extract's everyday places (see the module docstring)."""
    lons, lats = [], []
    fp = osmium.FileProcessor(str(pbf), osmium.osm.NODE | osmium.osm.WAY).with_locations()
    for obj in fp.with_filter(KeyFilter("amenity", "leisure")):
        tags = obj.tags
        if tags.get("amenity") not in AMENITIES and tags.get("leisure") != "park":
            continue
        if obj.is_node():
            lons.append(obj.location.lon)
            lats.append(obj.location.lat)
        elif obj.is_way():
            pts = [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
            if pts:
                lons.append(float(np.mean([p[0] for p in pts])))
                lats.append(float(np.mean([p[1] for p in pts])))
    return np.array(lons), np.array(lats)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--profile", default="walk")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    print(machine_info())
    rutland = default_data_dir() / "rutland"
    t = time.perf_counter()
    net = build_network(rutland / "rutland-2022-11.osm.pbf")
    print(f"network: {net.n_nodes:,} nodes, {net.n_edges:,} edges, {net.total_km:,.0f} km, built in {time.perf_counter() - t:.2f} s")
    router = Router(net)
    lon, lat = read_places(rutland / "rutland-2022-11.osm.pbf")
    t = time.perf_counter()
    places = router.snap_many(lon, lat)
    print(f"places: {len(places)} OSM amenities/parks, {int(places.ok.sum())} within 1 km of a path, snapped in {(time.perf_counter() - t) * 1000:.1f} ms")
    with open(rutland / "postcodes_rutland_with_lsoa11.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    rng = np.random.default_rng(args.seed)
    pick = rng.integers(0, len(rows), args.queries)
    origins = [(float(rows[i]["lon"]), float(rows[i]["lat"])) for i in pick]
    router.nearest(router.snap(*origins[0]), places, profile=args.profile, k=args.k, max_minutes=args.minutes)  # warm-up builds the graph
    total, search, found = [], [], []
    cpu0 = time.process_time()
    for olon, olat in origins:
        t0 = time.perf_counter()
        origin = router.snap(olon, olat, profile=args.profile)
        t1 = time.perf_counter()
        idx, _ = router.nearest(origin, places, profile=args.profile, k=args.k, max_minutes=args.minutes)
        t2 = time.perf_counter()
        total.append(t2 - t0)
        search.append(t2 - t1)
        found.append(idx.size)
    cpu_ms = (time.process_time() - cpu0) * 1000 / len(origins)
    total_ms, search_ms = np.array(total) * 1000, np.array(search) * 1000
    print(f"queries: {args.queries} random postcode origins, nearest {args.k} within {args.minutes:g} min ({args.profile})")
    print(f"latency (snap + search): p50 {np.percentile(total_ms, 50):.2f} ms, p99 {np.percentile(total_ms, 99):.2f} ms, max {total_ms.max():.2f} ms")
    print(f"latency (search only):   p50 {np.percentile(search_ms, 50):.2f} ms, p99 {np.percentile(search_ms, 99):.2f} ms")
    print(f"CPU time per query (mean, snap + search): {cpu_ms:.2f} ms")
    print(f"places found per query: mean {np.mean(found):.1f}, queries with none {int(np.sum(np.array(found) == 0))}")


if __name__ == "__main__":
    main()
