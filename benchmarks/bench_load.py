"""Load on loopback: the near-me query and the public map's bbox query, served by ``kindmap serve``
with 1 and 2 uvicorn workers (wrk, fixed duration), beside the same near-me query answered by
PostGIS KNN (``ORDER BY geom <-> point LIMIT 10``) on a table built from the same places.

    python benchmarks/bench_load.py --pg-url postgresql://kindmap@127.0.0.1:PORT/kindmap

Needs ``wrk`` (Debian: apt-get install wrk). Without ``--pg-url`` the PostGIS rows are skipped.
The Rutland demo database is built in a temporary folder unless ``--db`` names one; ``--catalogue N``
writes N random places over ``--box`` instead (the scale series: 10⁶ places over ~250 × 330 km of England):

    python benchmarks/bench_load.py --catalogue 1000000 --box=-3,51,0.5,54 --workers 1 --kinds near,healthz
Goals (issue 8): near-me p50 ≤ 1 ms, p99 ≤ 3 ms, ≥ 2k req/s per core.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_info

RUTLAND = (-0.83, 52.52, -0.43, 52.76)  # lon/lat box around the county
BOX = RUTLAND  # where the random near-me points and views fall (--box)
CENTRE = (-0.63, 52.64)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_demo(folder: Path) -> Path:
    env = {**os.environ, "KINDMAP_STATE_DIR": str(folder)}
    subprocess.run([sys.executable, "-c", "from kindmap.cli import main; main()", "demo"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return folder / "demo.sqlite3"


def synthetic_catalogue(folder: Path, n: int, seed: int = 5) -> Path:
    """``n`` published places at random over ``BOX`` (four kinds, five hours strings, mixed facts) in SQLite,
    written as the scale series writes its catalogues (``bench_scale.write_catalogue``)."""
    sys.path.insert(0, str(REPO))
    from bench_scale import write_catalogue

    path = folder / "catalogue.sqlite3"
    write_catalogue(str(path), n, seed=seed, box=BOX)
    return path


def memory_mb(pid: int) -> str:
    """RSS, PSS and private memory of a server process and its children (uvicorn workers), from /proc."""
    out = []
    pids = [pid] + [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for p in pids:
        try:
            text = Path(f"/proc/{p}/smaps_rollup").read_text()
        except OSError:
            continue
        kb = {k: int(re.search(rf"^{k}:\s+(\d+)", text, re.MULTILINE).group(1)) for k in
              ("Rss", "Pss", "Private_Clean", "Private_Dirty")}
        out.append(f"pid {p}: RSS {kb['Rss'] / 1024:.0f} MB, PSS {kb['Pss'] / 1024:.0f} MB, "
                   f"private {(kb['Private_Clean'] + kb['Private_Dirty']) / 1024:.0f} MB")
    return "; ".join(out)


def lua_script(kind: str, folder: Path, rng: random.Random) -> Path:
    """A wrk script cycling through 500 random near-me points or map-view boxes (~3 × 2 km), or /healthz
    (liveness: the floor of the framework and middleware, no database)."""
    paths = []
    for _ in range(500):
        lon, lat = rng.uniform(BOX[0], BOX[2]), rng.uniform(BOX[1], BOX[3])
        if kind == "healthz":
            paths.append("/healthz")
        elif kind == "near":
            paths.append(f"/api/places?lon={lon:.5f}&lat={lat:.5f}&radius_m=5000&limit=10")
        else:
            paths.append(f"/api/places?bbox={lon - 0.02:.5f},{lat - 0.01:.5f},{lon + 0.02:.5f},{lat + 0.01:.5f}&limit=200")
    body = "paths = {" + ",".join(f'"{p}"' for p in paths) + "}\ni = 0\n" + \
        "request = function()\n  i = i % #paths + 1\n  return wrk.format('GET', paths[i])\nend\n"
    script = folder / f"{kind}.lua"
    script.write_text(body)
    return script


def parse_wrk(text: str) -> dict:
    def ms(value: str) -> float:
        found = re.match(r"([\d.]+)(us|ms|s|m)$", value)
        if found is None:
            raise SystemExit(f"cannot read wrk's latency {value!r}:\n{text}")
        number, unit = found.groups()
        return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]

    p50 = re.search(r"^\s*50%\s+(\S+)", text, re.MULTILINE).group(1)
    p99 = re.search(r"^\s*99%\s+(\S+)", text, re.MULTILINE).group(1)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return {"p50": ms(p50), "p99": ms(p99), "rps": rps, "non2xx": int(errors.group(1)) if errors else 0}


REPO = Path(__file__).resolve().parent.parent


def serve(db: Path, workers: int, state: Path, log_level: str) -> tuple[subprocess.Popen, str]:
    import httpx

    port = free_port()
    # PYTHONPATH: measure this checkout, whatever kindmap is installed.
    env = {**os.environ, "KINDMAP_DATABASE_URL": f"sqlite:///{db}", "KINDMAP_STATE_DIR": str(state),
           "KINDMAP_LOG_LEVEL": log_level, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-c", "from kindmap.cli import main; main()", "serve", "--port", str(port),
                             "--workers", str(workers)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 900  # a 10⁶-place catalogue's index is built at start-up, by every worker
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/places?lon={CENTRE[0]}&lat={CENTRE[1]}&limit=1", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise SystemExit("kindmap serve did not start")
    for _ in range(200):  # warm every worker's catalogue index
        httpx.get(f"{url}/api/places?lon={CENTRE[0]}&lat={CENTRE[1]}&limit=10", timeout=5)
    return proc, url


def in_process(db: Path, seconds: float, rng: random.Random) -> dict:
    """The near-me query without HTTP: search_places on the index and its JSON, as the route makes them."""
    os.environ["KINDMAP_DATABASE_URL"] = f"sqlite:///{db}"
    sys.path.insert(0, str(REPO))
    from kindmap.config import ATTRIBUTION, Settings
    from kindmap.db import make_engine, read_session
    from kindmap.schemas import place_collection_json
    from kindmap.services.catalogue.index import DEFAULT_CACHE
    from kindmap.services.catalogue.search import SearchQuery, search_places

    settings = Settings()
    engine = make_engine(settings.database_url, settings=settings)
    with read_session(engine) as session:
        index = DEFAULT_CACHE.get(session, tz=settings.timezone)
    times = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        lon, lat = rng.uniform(BOX[0], BOX[2]), rng.uniform(BOX[1], BOX[3])
        t = time.perf_counter()
        result = search_places(None, SearchQuery(lon=lon, lat=lat, radius_m=5000, limit=10), settings=settings, index=index)
        place_collection_json(result, attribution=ATTRIBUTION, tz=settings.timezone)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {"p50": statistics.median(times), "p99": times[int(len(times) * 0.99)], "rps": len(times) / seconds}


def postgis_knn(pg_url: str, db: Path, seconds: float, rng: random.Random) -> dict:
    """Same places into a PostGIS table with a GiST index; k=10 nearest by ``<->`` from one client."""
    import psycopg

    with sqlite3.connect(db) as src:
        rows = src.execute("SELECT id, lon, lat FROM place WHERE status = 'published'").fetchall()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        conn.execute("DROP TABLE IF EXISTS bench_places")
        conn.execute("CREATE TABLE bench_places (id integer PRIMARY KEY, geom geometry(Point, 4326) NOT NULL)")
        with conn.cursor().copy("COPY bench_places (id, geom) FROM STDIN") as copy:
            for pid, lon, lat in rows:
                copy.write_row((pid, f"SRID=4326;POINT({lon} {lat})"))
        conn.execute("CREATE INDEX ON bench_places USING gist (geom)")
        conn.execute("ANALYZE bench_places")
        query = ("SELECT id, ST_Distance(geom::geography, p::geography) AS m FROM bench_places, "
                 "ST_SetSRID(ST_MakePoint(%s, %s), 4326) AS p ORDER BY geom <-> p LIMIT 10")
        times = []
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            lon, lat = rng.uniform(BOX[0], BOX[2]), rng.uniform(BOX[1], BOX[3])
            t = time.perf_counter()
            conn.execute(query, (lon, lat), prepare=True).fetchall()
            times.append((time.perf_counter() - t) * 1000)
        conn.execute("DROP TABLE bench_places")
    times.sort()
    return {"p50": statistics.median(times), "p99": times[int(len(times) * 0.99)], "rps": len(times) / seconds,
            "n": len(rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, help="An existing kindmap SQLite database (default: build the demo).")
    parser.add_argument("--duration", type=int, default=10, help="Seconds per wrk run.")
    parser.add_argument("--connections", default="1,8", help="wrk connection counts to try.")
    parser.add_argument("--pg-url", default="", help="A PostgreSQL+PostGIS URL (libpq form) for the KNN comparison.")
    parser.add_argument("--log-level", default="INFO", help="KINDMAP_LOG_LEVEL for the server (INFO logs every request).")
    parser.add_argument("--box", default=",".join(map(str, RUTLAND)), help="minlon,minlat,maxlon,maxlat of the query points.")
    parser.add_argument("--catalogue", type=int, default=0, help="Write this many random places over --box instead of the demo.")
    parser.add_argument("--workers", default="1,2", help="uvicorn worker counts to try.")
    parser.add_argument("--kinds", default="near,bbox,healthz", help="Which queries to run through wrk.")
    args = parser.parse_args()
    global BOX, CENTRE
    BOX = tuple(float(v) for v in args.box.split(","))
    CENTRE = (round((BOX[0] + BOX[2]) / 2, 5), round((BOX[1] + BOX[3]) / 2, 5))
    print(machine_info())
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    rng = random.Random(8)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = args.db or (synthetic_catalogue(folder, args.catalogue) if args.catalogue else build_demo(folder))
        with sqlite3.connect(db) as conn:
            places = conn.execute("SELECT count(*) FROM place WHERE status = 'published'").fetchone()[0]
        print(f"places: {places:,} published ({'Rutland' if not args.catalogue else 'random over ' + args.box})")
        scripts = {kind: lua_script(kind, folder, rng) for kind in args.kinds.split(",")}
        print(f"server log level: {args.log_level}")
        print(f"\n{'server':<26}{'query':<8}{'conns':>6}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>9}{'non-2xx':>9}  load")
        r = in_process(db, args.duration, rng)
        print(f"{'in process (no HTTP)':<26}{'near':<8}{1:>6}{r['p50']:>9.2f}{r['p99']:>9.2f}{r['rps']:>9.0f}"
              f"{'-':>9}  {os.getloadavg()[0]:.1f}")
        for workers in (int(w) for w in args.workers.split(",")):
            proc, url = serve(db, workers, folder, args.log_level)
            print(f"server memory after warm-up ({workers} worker(s)): {memory_mb(proc.pid)}")
            try:
                for kind, script in scripts.items():
                    for conns in (int(c) for c in args.connections.split(",")):
                        out = subprocess.run(["wrk", "-t", str(min(conns, 2)), "-c", str(conns), "-d", f"{args.duration}s",
                                              "--latency", "-s", str(script), url], capture_output=True, text=True,
                                             check=True).stdout
                        r = parse_wrk(out)
                        print(f"{'kindmap ' + str(workers) + ' worker(s)':<26}{kind:<8}{conns:>6}{r['p50']:>9.2f}"
                              f"{r['p99']:>9.2f}{r['rps']:>9.0f}{r['non2xx']:>9}  {os.getloadavg()[0]:.1f}", flush=True)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        if args.pg_url:
            r = postgis_knn(args.pg_url, db, args.duration, rng)
            print(f"{'PostGIS KNN (no HTTP)':<26}{'near':<8}{1:>6}{r['p50']:>9.2f}{r['p99']:>9.2f}{r['rps']:>9.0f}"
                  f"{'-':>9}  {os.getloadavg()[0]:.1f}")
        else:
            print("PostGIS KNN: skipped (no --pg-url)")
        print("\nload = 1-minute load average after each run; this machine has", os.cpu_count(), "cores.")


if __name__ == "__main__":
    main()
