"""Benchmark: the council view's first load on the Rutland demo — server time of the page and of
each API call it makes, their payload sizes, and (with ``--browser``) the time until the maps are
drawn in Chromium.

The page and its calls are asked for ``--runs`` times through the ASGI app in-process (server time,
no network). A first load asks for ``/council``, ``/api/config``, then ``/api/gaps?…&geometry=true``
and ``/api/freshness`` together; each is timed on its own. ``--profile`` prints a pyinstrument
profile of one cold and one warm ``/api/gaps`` call.

Run:  python benchmarks/bench_council_load.py [--runs 30] [--browser] [--profile]
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import machine_info
from fastapi.testclient import TestClient

from kindmap.api.app import create_app
from kindmap.config import Settings, default_data_dir
from kindmap.db import create_schema, make_engine, write_session
from kindmap.services.accounts.auth import add_user
from kindmap.services.imports.demo import import_region

ANALYST = ("analyst@bench.example", "a long bench password")
CALLS = ("/council", "/api/config", "/api/gaps?region=rutland&minutes=15&profile=walk&slot=any&geometry=true",
         "/api/freshness?region=rutland")


def _demo(folder: Path) -> tuple[Settings, object]:
    settings = Settings(database_url=f"sqlite:///{folder / 'rutland.sqlite3'}", data_dir=default_data_dir(),
                        state_dir=folder)
    engine = make_engine(settings.database_url, settings=settings)
    create_schema(engine)
    import_region(engine, settings=settings, region="rutland")
    with write_session(engine) as session:
        add_user(session, email=ANALYST[0], password=ANALYST[1], role="council_analyst")
    return settings, engine


def _pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--browser", action="store_true", help="also time the first load in Chromium (a real server)")
    parser.add_argument("--profile", action="store_true", help="pyinstrument profile of /api/gaps, cold and warm")
    parser.add_argument("--what-if", action="store_true", help="also time the what-ifs (a new place; a place open for longer)")
    args = parser.parse_args()
    print(machine_info())
    folder = Path(tempfile.mkdtemp())
    settings, engine = _demo(folder)
    app = create_app(settings, engine=engine)
    client = TestClient(app, follow_redirects=False)
    r = client.post("/api/auth/session", data={"username": ANALYST[0], "password": ANALYST[1]})
    assert r.status_code in (200, 303), r.text
    if args.profile:
        from pyinstrument import Profiler

        from kindmap.services.gaps.analysis import GapQuery, analyse_gaps

        # The route runs in a worker thread, out of the profiler's sight: profile the service it calls.
        for label in ("cold (first call in the process)", "warm"):
            prof = Profiler(interval=0.001)
            prof.start()
            analyse_gaps(engine, settings, GapQuery(region="rutland", minutes=15, profile="walk"))
            prof.stop()
            print(f"\n--- analyse_gaps (what /api/gaps runs) {label} ---")
            print(prof.output_text(unicode=False, color=False, show_all=False))
    first = {}
    for path in CALLS:
        started = time.perf_counter()
        res = client.get(path)
        first[path] = (time.perf_counter() - started) * 1000
        assert res.status_code == 200, (path, res.status_code, res.text[:300])
    print(f"\n{'call':<90} {'first ms':>9} {'p50 ms':>8} {'p95 ms':>8} {'bytes':>9} {'gzip':>8}")
    for path in CALLS:
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            res = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
        body = res.content
        print(f"{path:<90} {first[path]:9.0f} {statistics.median(times):8.1f} {_pct(times, 95):8.1f} "
              f"{len(body):9,d} {len(gzip.compress(body)):8,d}")
    if args.what_if:
        _what_ifs(client, args.runs)
    if args.browser:
        _browser(settings, folder)


def _what_ifs(client: TestClient, runs: int) -> None:
    """Server time of the council what-ifs in weekday evenings: the places list, a place open for longer
    (each closed place in turn, evenings added), and one new place."""
    q = {"region": "rutland", "minutes": 15, "profile": "walk", "slot": "weekday_evening"}
    listed = client.get("/api/gaps/places", params=q).json()["places"]
    closed = [p["place_id"] for p in listed if not p["open_in_slot"]]
    client.app.state.cost_budget.spend = lambda *_a, **_k: None  # timing the work, not the budget
    calls = {
        "GET /api/gaps/places (weekday evenings)": lambda i: client.get("/api/gaps/places", params=q),
        "POST /api/gaps/what-if/hours (a closed place + evenings)": lambda i: client.post(
            "/api/gaps/what-if/hours", json={**q, "place_id": closed[i % len(closed)], "add": "weekday_evening"}),
        "POST /api/gaps/what-if (one new place)": lambda i: client.post(
            "/api/gaps/what-if", json={**q, "add": [{"lon": -0.73 + 0.001 * (i % 20), "lat": 52.67}]}),
    }
    print(f"\n{len(listed)} places counted, {len(closed)} not open in weekday evenings")
    for name, call in calls.items():
        times = []
        for i in range(runs):
            started = time.perf_counter()
            res = call(i)
            times.append((time.perf_counter() - started) * 1000)
            assert res.status_code == 200, (name, res.status_code, res.text[:300])
        print(f"{name:<60} p50 {statistics.median(times):6.1f} ms  p95 {_pct(times, 95):6.1f} ms  {len(res.content):,} bytes")


def _browser(settings: Settings, folder: Path) -> None:
    """Time from navigation to the maps drawn (every area outline on the reach map), in Chromium."""
    import socket

    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"KINDMAP_DATABASE_URL": settings.database_url, "KINDMAP_STATE_DIR": str(folder),
           "KINDMAP_TILE_URL": "http://127.0.0.1:9/{z}/{x}/{y}.png", "PATH": "/usr/bin:/bin"}
    import os

    env = {**os.environ, **env}
    server = subprocess.Popen([sys.executable, "-c", "from kindmap.cli import main; main()", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=open(folder / "server.log", "w"))
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        import urllib.request

        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
            ctx = b.new_context(viewport={"width": 1280, "height": 900})
            page = ctx.new_page()
            page.goto(base + "/council")
            page.fill("#si-email", ANALYST[0])
            page.fill("#si-password", ANALYST[1])
            started = time.perf_counter()
            page.click("#page-sign-in button[type=submit]")
            page.locator("#reach-map path.area-shape").nth(25).wait_for(timeout=60_000)
            cold = (time.perf_counter() - started) * 1000
            drawn = []
            for _ in range(5):
                page.goto("about:blank")
                started = time.perf_counter()
                page.goto(base + "/council")
                page.locator("#reach-map path.area-shape").nth(25).wait_for(timeout=60_000)
                drawn.append((time.perf_counter() - started) * 1000)
            timing = page.evaluate("""() => performance.getEntriesByType('resource')
                .filter(e => e.name.includes('/api/'))
                .map(e => [e.name.replace(location.origin, ''), Math.round(e.startTime), Math.round(e.responseEnd), e.transferSize])""")
            print(f"\nChromium, 1280 × 900: sign in → all 26 areas drawn, first load of a fresh server (cold): {cold:.0f} ms")
            print("Chromium, 1280 × 900, signed in: navigation → all 26 areas drawn on the reach map (ms):",
                  ", ".join(f"{d:.0f}" for d in drawn), f"(median {statistics.median(drawn):.0f})")
            print("last load, API requests (start ms, end ms, bytes on the wire):")
            for name, a, z, size in timing:
                print(f"  {name:<88} {a:6d} {z:6d} {size:9,d}")
            b.close()
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
