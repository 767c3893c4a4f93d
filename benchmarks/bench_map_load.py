"""Public map first load with 50,000 places: bytes transferred and time to first marker.

Places: every library in ``uk/libraries_england_2023_with_coordinates.csv`` (real names and
coordinates, from ``kindmap.config.default_data_dir()``) plus synthetic places up to
``--places``: each a random library's point jittered by up to ~10 km, with a random
category, random welcome/accessibility facts and one of a few opening-hours strings.
One region ("England"), no boundary: the page fits the places' extent, as a real
national deployment would.

The app is served by uvicorn in a thread; headless Debian Chromium (Playwright) opens ``/``
in a fresh context (no cache) and we record:

- bytes: response bodies + headers of every request except map tiles (tiles point at a
  closed port, so the numbers are the app's own weight; OSM tiles add roughly 15 KB each);
- time to first marker: ``performance.now()`` (from navigation start) when the first map
  pin or cluster appears, taken by a MutationObserver installed before any page script.

The first run after start-up is "cold" (the server builds its catalogue index); the
following runs are "warm" (a server that has been up a while). Median and worst reported.

    python benchmarks/bench_map_load.py [--places 50000] [--runs 5]
"""

from __future__ import annotations

import argparse
import csv
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_info  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
TILE_URL = "http://127.0.0.1:9/{z}/{x}/{y}.png"
HOURS = [None, None, "24/7", "Mo-Fr 09:00-17:00", "Mo-Sa 10:00-16:00; Su off", "Tu,Th 14:00-18:00", "sunrise-sunset"]
CATEGORIES = ["library", "community_centre", "park", "place_of_worship", "community_cafe", "community_garden", "community_shed"]
FIRST_MARKER_JS = """
window.__firstMarker = null;
new MutationObserver((_, obs) => {
  if (document.querySelector('.leaflet-marker-pane .pin')) { window.__firstMarker = performance.now(); obs.disconnect(); }
}).observe(document, {childList: true, subtree: true});
"""


def read_libraries(path: Path) -> list[tuple[str, float, float, str | None, str | None]]:
    """(name, lon, lat, address, postcode) of every library row with coordinates (EPSG:4326)."""
    out = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            try:
                lon, lat = float(row["Longitude"]), float(row["Latitude"])
            except (TypeError, ValueError):
                continue
            if -8 < lon < 2 and 49 < lat < 56:
                out.append((f"{row['Name']} Library" if "library" not in row["Name"].lower() else row["Name"],
                            lon, lat, row.get("Address 1") or None, row.get("Postcode") or None))
    return out


def build_database(db: Path, *, places: int, seed: int = 7) -> int:
    """Write an SQLite database with the libraries plus synthetic places; return the count."""
    from kindmap.config import default_data_dir
    from kindmap.db import create_schema, make_engine, write_session
    from kindmap.models import Place, Region

    rng = random.Random(seed)
    libraries = read_libraries(default_data_dir() / "uk" / "libraries_england_2023_with_coordinates.csv")
    engine = make_engine(f"sqlite:///{db}")
    create_schema(engine)
    now = datetime.now(timezone.utc)
    tri = (True, False, None, None)
    with write_session(engine) as session:
        region = Region(slug="england", name="England")
        session.add(region)
        session.flush()
        rows = []
        for name, lon, lat, address, postcode in libraries:
            rows.append(dict(name=name, category="library", lon=lon, lat=lat, address=address, postcode=postcode,
                             free_to_use=True, drop_in=True, opening_hours=rng.choice(HOURS), source="csv",
                             source_licence="OGL-UK-3.0"))
        while len(rows) < places:
            _n, lon, lat, _a, _p = rng.choice(libraries)
            rows.append(dict(name=f"Synthetic place {len(rows)}", category=rng.choice(CATEGORIES),
                             lon=lon + rng.uniform(-0.15, 0.15), lat=lat + rng.uniform(-0.09, 0.09),
                             address=None, postcode=None, free_to_use=rng.choice(tri), drop_in=rng.choice(tri),
                             opening_hours=rng.choice(HOURS), source="manual", source_licence=None))
        for r in rows:
            hours = r["opening_hours"]
            r.update(region_id=region.id, status="published", imported_at=now, created_at=now, updated_at=now,
                     opening_hours_valid=None if hours is None else True, quiet_space=rng.choice(tri),
                     step_free=rng.choice(tri))
        session.execute(Place.__table__.insert(), rows)
    engine.dispose()
    return len(rows)


def serve(db: Path):
    """Start the app on a free port; return (base URL, server, thread)."""
    import uvicorn

    from kindmap.api.app import create_app
    from kindmap.config import Settings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(Settings(database_url=f"sqlite:///{db}", tile_url=TILE_URL))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server, thread


def load_once(browser, base: str) -> tuple[int, float, int, list[tuple[int, str]]]:
    """(bytes, ms to first marker, requests, per-request sizes) for one fresh load of ``/``."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = ctx.new_page()
    page.add_init_script(FIRST_MARKER_JS)
    sizes: dict[str, int] = {}

    def finished(request) -> None:
        if request.url.startswith("http://127.0.0.1:9/"):
            return
        s = request.sizes()
        sizes[request.url] = s["responseBodySize"] + s["responseHeadersSize"]

    page.on("requestfinished", finished)
    page.goto(base + "/")
    page.wait_for_function("() => window.__firstMarker !== null", timeout=30_000)
    first = page.evaluate("window.__firstMarker")
    page.wait_for_load_state("networkidle")
    ctx.close()
    detail = sorted(((v, k.replace(base, "")) for k, v in sizes.items()), reverse=True)
    return sum(sizes.values()), first, len(sizes), detail


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--places", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5, help="warm runs after the cold one")
    args = parser.parse_args()
    print(machine_info())
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.sqlite3"
        started = time.perf_counter()
        count = build_database(db, places=args.places)
        print(f"database: {count} published places built in {time.perf_counter() - started:.1f} s")
        base, server, thread = serve(db)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                cold = load_once(browser, base)
                warm = [load_once(browser, base) for _ in range(args.runs)]
                browser.close()
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    print(f"\ncold (server builds its index on the first request): {cold[0] / 1000:.1f} KB in {cold[2]} requests, "
          f"first marker {cold[1]:.0f} ms")
    times = [w[1] for w in warm]
    kb = [w[0] / 1000 for w in warm]
    print(f"warm x{len(warm)}: first load {statistics.median(kb):.1f} KB (max {max(kb):.1f}) in {warm[0][2]} requests; "
          f"first marker median {statistics.median(times):.0f} ms, worst {max(times):.0f} ms")
    print("\nper request (warm run 1), bytes on the wire incl. headers:")
    for size, url in warm[0][3]:
        print(f"  {size:>8}  {url}")
    budget_ok = max(max(kb), cold[0] / 1000) <= 300 and max(max(times), cold[1]) <= 1500
    print(f"\nbudget (≤ 300 KB, ≤ 1.5 s to first marker, cold and warm): {'met' if budget_ok else 'NOT met'}")


if __name__ == "__main__":
    main()
