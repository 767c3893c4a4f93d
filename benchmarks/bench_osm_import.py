"""OSM import on the same file, side by side (issues 16 and 21): kindmap's staged import, its old
whole-file read, osmium-tool and pyrosm.

For each extract, each contender runs in a fresh child process, so its CPU time and peak memory
(``ru_maxrss``) are its own:

- ``kindmap staged``: ``stage_extract`` (clip to the council outline + 3 km and pre-filter to the
  tags kindmap reads, in pyosmium's C++ filters), then the places, towns and walking network read
  from the staged file: what ``kindmap import osm`` / ``region setup`` read now (database writes
  are not timed: they depend on the council, not the extract);
- ``kindmap whole file``: the old path, places, towns and network read from the whole extract;
- ``osmium tags-filter + export``: osmium-tool (if installed) filtering to the same tags, then
  exporting them as GeoJSON sequences (no clipping, no network);
- ``pyrosm get_pois``: pyrosm's points of interest for the same keys (if pyrosm imports; give its
  interpreter with ``--pyrosm-python``), no clipping, no network.

Extracts: Rutland (the council's own county extract), Newport's urban core, and synthetic larger
extracts made of shifted copies of Newport (``--copies``; renumbered and sorted, written once with
pyosmium into ``--work``): the council stays Newport, so the copies are a "county-sized extract,
small council" case.

    python benchmarks/bench_osm_import.py [--data DIR] [--copies 10 40] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._machine import machine_info  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

KINDMAP = r"""
import json, resource, sys, threading, time
from pathlib import Path
peak_anon = [0.0]
def sample():  # peak anonymous memory: a file-backed location index's pages are the kernel's to drop
    while True:
        for line in open("/proc/self/status"):
            if line.startswith("RssAnon:"):
                peak_anon[0] = max(peak_anon[0], int(line.split()[1]) / 1024)
        time.sleep(0.02)
threading.Thread(target=sample, daemon=True).start()
from shapely.geometry import shape
mode, extract, outline = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
from kindmap.geo.network import build_network
from kindmap.ingest.localities import read_localities
from kindmap.ingest.osm import read_osm_places
from kindmap.ingest.limits import ImportLimits
from kindmap.ingest.osm_stage import staged_extract
from kindmap.services.imports.coverage import stage_clip
boundary = shape(json.loads(Path(outline).read_text())["features"][0]["geometry"])
limits = ImportLimits(max_upload_mb=10**6, max_rows=10**9)
c0, t0 = time.process_time(), time.perf_counter()
stage_s = 0.0
if mode == "staged":
    with staged_extract(extract, clip=stage_clip(boundary)) as st:
        stage_s = time.process_time() - c0
        places = read_osm_places(st.path, limits=limits); towns = read_localities(st.path)
        net = build_network(st.path, source=extract.name)
else:
    places = read_osm_places(extract, limits=limits); towns = read_localities(extract)
    net = build_network(extract)
print(json.dumps({"cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - t0, "stage_cpu_s": stage_s,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "peak_anon_mb": peak_anon[0],
                  "places": len(places.places), "network_nodes": net.n_nodes}))
"""

PYROSM = r"""
import json, resource, sys, time
from pyrosm import OSM
c0, t0 = time.process_time(), time.perf_counter()
pois = OSM(sys.argv[1]).get_pois(custom_filter={k: True for k in json.loads(sys.argv[2])})
print(json.dumps({"cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - t0,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "places": 0 if pois is None else len(pois)}))
"""

OSMIUM = r"""
import json, resource, subprocess, sys, time
extract, work, keys = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
t0 = time.perf_counter()
subprocess.run(["osmium", "tags-filter", "-O", "-o", f"{work}/tf.osm.pbf", extract, *keys], check=True)
subprocess.run(["osmium", "export", "-O", "-f", "geojsonseq", "-o", f"{work}/tf.geojsonseq", f"{work}/tf.osm.pbf"],
               check=True, capture_output=True)
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"cpu_s": ru.ru_utime + ru.ru_stime, "wall_s": time.perf_counter() - t0,
                  "peak_mb": ru.ru_maxrss / 1024, "places": sum(1 for _ in open(f"{work}/tf.geojsonseq"))}))
"""


def synthetic_extract(source: Path, target: Path, *, copies: int) -> None:
    """``copies`` copies of ``source`` side by side (0.16° apart in longitude), renumbered so ids are
    compact and the file is sorted (nodes, ways, relations, each by id) as real extracts are."""
    import osmium

    rank = {}
    for kind in ("node", "way", "relation"):
        ids = sorted(o.id for o in osmium.FileProcessor(str(source), getattr(osmium.osm, kind.upper())))
        rank[kind] = ({old: i + 1 for i, old in enumerate(ids)}, len(ids))

    def new(kind: str, old: int, copy: int) -> int:
        table, size = rank[kind]
        pos = table.get(old)
        if pos is None:  # a reference to an object beyond the extract: stays beyond every copy
            return 10**12 + copy * 10**10 + old % 10**10
        return copy * size + pos

    with osmium.SimpleWriter(str(target), overwrite=True) as writer:
        for kind in ("node", "way", "relation"):
            for k in range(copies):
                dx = 0.16 * k
                for obj in osmium.FileProcessor(str(source), getattr(osmium.osm, kind.upper())):
                    if kind == "node":
                        loc = obj.location
                        writer.add_node(obj.replace(id=new("node", obj.id, k),
                                                    location=(loc.lon + dx, loc.lat) if loc.valid() else loc))
                    elif kind == "way":
                        writer.add_way(obj.replace(id=new("way", obj.id, k),
                                                   nodes=[new("node", n.ref, k) for n in obj.nodes]))
                    else:
                        members = [(m.type, new({"n": "node", "w": "way", "r": "relation"}[m.type], m.ref, k), m.role)
                                   for m in obj.members]
                        writer.add_relation(obj.replace(id=new("relation", obj.id, k), members=members))


def child(code: str, *args: str, python: str = sys.executable) -> dict | str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([python, "-c", code, *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        return (done.stderr.strip().splitlines() or ["failed"])[-1][:160]
    return json.loads(done.stdout.strip().splitlines()[-1])


def osmium_keys() -> list[str]:
    """osmium tags-filter expressions for what kindmap reads (its tag mapping, highways, towns)."""
    from kindmap.ingest.osm_stage import _filters
    from kindmap.ingest.tagmap import load_tagmap

    f = _filters(load_tagmap())
    return ([f"nwr/{k}" for k in f.relation_keys if k not in {k for k, _ in f.broad_pairs}]
            + [f"nwr/{k}={v}" for k, v in f.broad_pairs] + ["w/highway", "n/place"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "geodata")
    parser.add_argument("--copies", type=int, nargs="*", default=[10, 40])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "kindmap-bench-osm")
    parser.add_argument("--pyrosm-python", default=sys.executable, help="an interpreter where pyrosm imports")
    parser.add_argument("--skip-old", action="store_true", help="leave out the whole-file read (slow on big files)")
    parser.add_argument("--only", nargs="*", help="run only the extracts whose label contains one of these words")
    parser.add_argument("--pyrosm-max-mb", type=float, default=1e9,
                        help="skip pyrosm on larger files (it held 1.3 GB for Newport ×10: wrap bigger runs in the bigmem lock)")
    args = parser.parse_args()
    print(machine_info())
    args.work.mkdir(parents=True, exist_ok=True)
    newport = args.data / "newport" / "newport-core_2023-06-12.osm.pbf"
    newport_outline = str(args.data / "newport" / "newport_ltla2024.geojson")
    cases = [("Rutland (county extract)", args.data / "rutland" / "rutland-2022-11.osm.pbf",
              str(args.data / "rutland" / "rutland_ltla2021.geojson")),
             ("Newport (urban core)", newport, newport_outline)]
    for n in args.copies:
        big = args.work / f"newport-x{n}.osm.pbf"
        if not big.is_file():
            t0 = time.perf_counter()
            synthetic_extract(newport, big, copies=n)
            print(f"wrote {big} ({big.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.0f} s")
        cases.append((f"Newport ×{n} (synthetic; council Newport)", big, newport_outline))
    keys = osmium_keys()
    pyrosm_keys = sorted({k.split("/")[1].split("=")[0] for k in keys if not k.startswith(("w/", "n/"))})
    have_osmium = shutil.which("osmium") is not None
    print(f"\nosmium tags-filter expressions: {' '.join(keys)}\n")
    print("| extract | MB | contender | CPU s | wall s | MB per CPU-s | peak RSS MB | result |")
    print("|---|---|---|---|---|---|---|---|")
    for label, path, outline in cases:
        if args.only and not any(word in label for word in args.only):
            continue
        mb = path.stat().st_size / 2**20
        runs = [("kindmap staged", lambda: child(KINDMAP, "staged", str(path), outline))]
        if not args.skip_old:
            runs.append(("kindmap whole file (old path)", lambda: child(KINDMAP, "whole", str(path), outline)))
        if have_osmium:
            runs.append(("osmium tags-filter + export", lambda: child(OSMIUM, str(path), str(args.work), json.dumps(keys))))
        if mb <= args.pyrosm_max_mb:
            runs.append(("pyrosm get_pois",
                         lambda: child(PYROSM, str(path), json.dumps(pyrosm_keys), python=args.pyrosm_python)))
        for name, run in runs:
            r = run()
            if isinstance(r, str):
                print(f"| {label} | {mb:.1f} | {name} | – | – | – | – | not run: {r} |")
                continue
            extra = f"; staging {r['stage_cpu_s']:.2f} s CPU" if r.get("stage_cpu_s") else ""
            if r.get("peak_anon_mb"):
                extra += f"; peak anonymous memory {r['peak_anon_mb']:.0f} MB"
            result = (f"{r['places']} places, {r['network_nodes']:,} network nodes{extra}" if "network_nodes" in r
                      else f"{r['places']:,} features")
            print(f"| {label} | {mb:.1f} | {name} | {r['cpu_s']:.2f} | {r['wall_s']:.2f} | {mb / r['cpu_s']:.1f} | "
                  f"{r['peak_mb']:.0f} | {result} |", flush=True)


if __name__ == "__main__":
    main()
