"""Lighthouse (mobile) on every page of the carers' app, signed in, on the Rutland demo.

Builds the Rutland demo in a temporary folder, adds a scheme with a worker and a carer, a household
in Oakham (LE15 6HP) with a wheelchair need, three places in its plan, a logged visit and "My places"
turned on; serves it on 127.0.0.1 and runs ``npx -y lighthouse@12`` (Node 20, Chromium from
/usr/bin/chromium) on each page with the session cookie as an extra header. Prints one line per page
with the category scores and any audit that failed.

Run:  python benchmarks/lighthouse_carer_pages.py [--categories accessibility] [--preset mobile|desktop] [--port 8719]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import uvicorn
from _machine import machine_info
from fastapi.testclient import TestClient
from sqlmodel import select

from kindmap.api.app import create_app
from kindmap.config import Settings, default_data_dir
from kindmap.db import create_schema, make_engine, write_session
from kindmap.models.households import HouseholdCreate, LinkCreate
from kindmap.services.accounts import links
from kindmap.services.accounts.auth import add_scheme, add_user
from kindmap.services.households import my_places
from kindmap.services.households.records import add_link, create_household
from kindmap.services.imports.demo import import_region
from kindmap.services.recommend.plan import PlanItemCreate, add_to_plan
from kindmap.services.recommend.recommendations import recommend

PASSWORD = "a long lighthouse password"


def build(folder: Path) -> tuple[Settings, object, dict]:
    settings = Settings(database_url=f"sqlite:///{folder / 'rutland.sqlite3'}", data_dir=default_data_dir(),
                        state_dir=folder)
    engine = make_engine(settings.database_url, settings=settings)
    create_schema(engine)
    import_region(engine, settings=settings, region="rutland")
    with write_session(engine) as session:
        scheme = add_scheme(session, name="Rutland Shared Lives", region="rutland")
        worker = add_user(session, email="worker@lh.example", password=PASSWORD, role="scheme_worker", scheme_id=scheme.id)
        carer = add_user(session, email="carer@lh.example", password=PASSWORD, role="carer", scheme_id=scheme.id,
                         display_name="Sam Carer")
        household = create_household(session, carer, HouseholdCreate(
            label="Household L", postcode="LE15 6HP", interests=["reading", "gardening"], access_needs=["wheelchair"],
            comfortable_walk_minutes=20, free_windows="Tue 09:00-12:00"))
        found = recommend(session, settings, carer, household.id)
        for item in [i for i in found.items if i.kind == "place"][:3]:
            add_to_plan(session, carer, household.id, PlanItemCreate(place_id=item.id, note="Tuesday after breakfast"))
        first = next(i for i in found.items if i.kind == "place")
        add_link(session, carer, household.id, LinkCreate(on=date.today(), place_id=first.id, outcome="enjoyed",
                                                         what="had_a_chat", feeling="good"))
        my_token = my_places.turn_on(session, carer, household.id)
        _user, invite = links.invite_carer(session, worker, email="new@lh.example", display_name="New Carer")
    h = f"/carer/households/{household.id}"
    pages = {None: ["/login", f"/my/{my_token}", f"/invite/{invite}"],
             "carer@lh.example": ["/carer", "/carer/households/new", h, f"{h}/edit", f"{h}/plan", f"{h}/plan/easy-read",
                                  f"{h}/visit", f"/api/households/{household.id}/plan/print"],
             "worker@lh.example": ["/scheme"]}
    return settings, engine, pages


def cookie(app, email: str) -> str:
    client = TestClient(app)
    r = client.post("/api/auth/session", data={"username": email, "password": PASSWORD})
    r.raise_for_status()
    return client.cookies["kindmap_session"]


def lighthouse(url: str, *, headers: dict, categories: str, out: Path, preset: str = "mobile") -> dict:
    extra = out.with_suffix(".headers.json")
    extra.write_text(json.dumps(headers))
    cmd = ["npx", "-y", "lighthouse@12", url, "--chrome-path=/usr/bin/chromium",
           "--chrome-flags=--headless --no-sandbox", f"--only-categories={categories}", "--output=json",
           f"--output-path={out}", "--quiet"]
    if preset == "desktop":  # a wide screen: the household page draws its map (and fetches Leaflet) at once
        cmd.append("--preset=desktop")
    if headers:
        cmd.append(f"--extra-headers={extra}")
    subprocess.run(cmd, check=True, timeout=300)
    return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--categories", default="accessibility")
    parser.add_argument("--port", type=int, default=8719)
    parser.add_argument("--preset", choices=("mobile", "desktop"), default="mobile")
    args = parser.parse_args()
    print(machine_info())
    folder = Path(tempfile.mkdtemp())
    settings, engine, pages = build(folder)
    app = create_app(settings, engine=engine)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.1)
    base = f"http://127.0.0.1:{args.port}"
    try:
        for email, paths in pages.items():
            headers = {"Cookie": f"kindmap_session={cookie(app, email)}"} if email else {}
            for path in paths:
                name = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "root"
                report = lighthouse(base + path, headers=headers, categories=args.categories, out=folder / f"{name}.json",
                                    preset=args.preset)
                if report.get("finalDisplayedUrl", report.get("finalUrl", "")).split("?")[0].endswith("/login") \
                        and path != "/login":
                    raise SystemExit(f"{path}: not signed in (Lighthouse landed on the sign-in page)")
                scores = {k: round(v["score"] * 100) for k, v in report["categories"].items()}
                failed = sorted(a for a, v in report["audits"].items()
                                if v.get("score") is not None and v["score"] < 1 and v.get("scoreDisplayMode") == "binary")
                # Bytes over the wire for the whole first load (compressed as served), with performance runs.
                weight = report["audits"].get("total-byte-weight", {}).get("numericValue")
                if weight is not None:
                    scores["KB transferred"] = round(weight / 1024)
                shown = re.sub(r"[0-9a-f]{20,}|[A-Za-z0-9_-]{40,}", "…", path)
                print(f"{shown:<40} {scores} {('failed: ' + ', '.join(failed)) if failed else ''}", flush=True)
    finally:
        server.should_exit = True


if __name__ == "__main__":
    main()
