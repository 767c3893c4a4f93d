"""Benchmark: the carers' household page with suggestions on the Rutland demo, and each page's first load.

A household in Oakham (LE15 6HP) with every interest (16), a wheelchair need and 5 free windows; the
household page (recommendations, plan flags, links chart) is asked for ``--runs`` times through the
ASGI app in-process (server time, no network); then each carer page's HTML plus its own CSS/JS, as
a first visit downloads them (uncompressed bytes; the server gzips text).

Run:  python benchmarks/bench_carer_pages.py [--runs 60]
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

from _machine import machine_info
from fastapi.testclient import TestClient

from kindmap.api.app import create_app
from kindmap.config import Settings, default_data_dir
from kindmap.db import create_schema, make_engine, write_session
from kindmap.models.households import vocabulary
from kindmap.services.accounts.auth import add_scheme, add_user
from kindmap.services.imports.demo import import_region

WINDOWS = "Mon 09:00-12:00,Tue 09:00-12:00,Wed 14:00-17:00,Thu 14:00-17:00,Sat 10:00-13:00"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args()
    print(machine_info())
    folder = Path(tempfile.mkdtemp())
    settings = Settings(database_url=f"sqlite:///{folder / 'rutland.sqlite3'}", data_dir=default_data_dir(),
                        state_dir=folder)
    engine = make_engine(settings.database_url, settings=settings)
    create_schema(engine)
    import_region(engine, settings=settings, region="rutland")
    with write_session(engine) as session:
        scheme = add_scheme(session, name="Bench", region="rutland")
        add_user(session, email="carer@bench.example", password="a long bench password", role="carer",
                 scheme_id=scheme.id)
    client = TestClient(create_app(settings, engine=engine), follow_redirects=False)
    client.post("/api/auth/session", data={"username": "carer@bench.example", "password": "a long bench password"})
    form = client.get("/carer/households/new").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    r = client.post("/carer/households/new", data={
        "csrf_token": token, "label": "Bench", "postcode": "LE15 6HP", "interests": list(vocabulary()["interests"]),
        "access_needs": ["wheelchair"], "comfortable_walk_minutes": "20", "other_times": WINDOWS})
    page = r.headers["location"].split("?")[0]
    client.get(page)  # warm: the catalogue index and the walking network load once per process
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        body = client.get(page)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    shown = body.text.count('class="suggestion"')
    print(f"household page, {args.runs} runs, {shown} suggestions: median {statistics.median(times):.0f} ms, "
          f"p95 {times[int(len(times) * 0.95) - 1]:.0f} ms")
    # The map's data: the same suggestions with the walk from home to each along Rutland's paths.
    api = page.replace("/carer/households/", "/api/households/") + "/routes"
    client.get(api)
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        routes = client.get(api)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    walks = [f for f in routes.json()["features"] if f["properties"]["role"] == "route"]
    print(f"routes API, {args.runs} runs, {len(walks)} walks ({sum(len(f['geometry']['coordinates']) for f in walks)} vertices, "
          f"{len(routes.content) / 1024:.0f} KB): median {statistics.median(times):.0f} ms, p95 {times[int(len(times) * 0.95) - 1]:.0f} ms")
    for path in ("/login", "/carer", "/carer/households/new", page, page + "/plan", page + "/plan/easy-read", "/scheme"):
        html = client.get(path)
        if html.status_code != 200:
            continue
        assets = re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js|svg))"', html.text)
        total = len(html.content) + sum(len(client.get(a).content) for a in set(assets))
        print(f"{path.replace(page, '/carer/households/{id}'):40s} first load {total / 1024:.0f} KB ({len(set(assets))} files)")


if __name__ == "__main__":
    main()
