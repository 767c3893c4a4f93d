"""Set-up time and peak memory of ``kindmap region setup`` (issue 16).

Runs each set-up in a fresh child process with its own state folder and SQLite database, so
peak memory (ru_maxrss of that child) belongs to that one set-up:

- Newport (W06000022) with its 2023 urban-core extract and Code-Point Open NP/CF;
- Rutland (E06000017) with its 2022 county extract (the bundled Code-Point areas do not cover it);
- Newport with a synthetic extract ten times the urban core's size: ten copies of it side by side,
  each shifted 0.16° east with fresh ids (written once with pyosmium into the temp folder), so
  the set-up must leave out nine tenths of the places and read a 10× larger file.

    python benchmarks/bench_council_setup.py [--data DIR] [--copies 10]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._machine import machine_info  # noqa: E402

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from kindmap.config import Settings
from kindmap.db import create_schema, make_engine
from kindmap.services.imports.council import setup_council
folder, data, council, osm = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
settings = Settings(database_url=f"sqlite:///{folder / 'db.sqlite3'}", data_dir=data, state_dir=folder)
engine = make_engine(settings.database_url, settings=settings)
create_schema(engine)
t0, c0 = time.perf_counter(), time.process_time()
r = setup_council(engine, settings=settings, council=council, osm=Path(osm))
cov = r.coverage
print(json.dumps({"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "areas": r.areas,
                  "postcodes": (r.postcodes.report.added if r.postcodes else 0), "places": r.osm.report.added,
                  "network_nodes": r.osm.network_nodes, "covered": [cov.wholly, cov.partly, cov.outside]}))
"""


def synthetic_extract(source: Path, target: Path, *, copies: int) -> None:
    """``copies`` copies of ``source`` side by side (0.16° apart in longitude), ids offset per copy."""
    import osmium

    offset = 10**10
    with osmium.SimpleWriter(str(target)) as writer:
        for kind in ("node", "way", "relation"):  # PBF order: all nodes, then ways, then relations
            for k in range(copies):
                dx, base = 0.16 * k, offset * k
                for obj in osmium.FileProcessor(str(source), getattr(osmium.osm, kind.upper())):
                    if kind == "node":
                        loc = obj.location
                        writer.add_node(obj.replace(id=obj.id + base, location=(loc.lon + dx, loc.lat) if loc.valid() else loc))
                    elif kind == "way":
                        writer.add_way(obj.replace(id=obj.id + base, nodes=[n.ref + base for n in obj.nodes]))
                    else:
                        members = [(m.type, m.ref + base, m.role) for m in obj.members]
                        writer.add_relation(obj.replace(id=obj.id + base, members=members))


def run(folder: Path, data: Path, council: str, osm: Path) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", CHILD, str(folder), str(data), council, str(osm)],
                          capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "geodata")
    parser.add_argument("--copies", type=int, default=10)
    args = parser.parse_args()
    print(machine_info())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        newport = args.data / "newport" / "newport-core_2023-06-12.osm.pbf"
        big = tmp / f"newport-core-x{args.copies}.osm.pbf"
        t0 = time.perf_counter()
        synthetic_extract(newport, big, copies=args.copies)
        print(f"synthetic extract: {big.stat().st_size / 1e6:.1f} MB ({newport.stat().st_size / 1e6:.1f} MB × {args.copies}), "
              f"written in {time.perf_counter() - t0:.1f} s")
        for label, council, osm in (("Newport, urban-core extract", "W06000022", newport),
                                    ("Rutland, county extract", "E06000017", args.data / "rutland" / "rutland-2022-11.osm.pbf"),
                                    (f"Newport, synthetic extract ×{args.copies}", "W06000022", big)):
            r = run(tmp / label.split(",")[0].lower() / str(abs(hash(label))), args.data, council, osm)
            print(f"{label}: {r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} s CPU, peak {r['peak_mb']:.0f} MB; "
                  f"{r['areas']} areas, {r['postcodes']} postcodes, {r['places']} places, "
                  f"{r['network_nodes']:,} network nodes, areas covered wholly/partly/not {r['covered']}")
    print(f"bench process peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
