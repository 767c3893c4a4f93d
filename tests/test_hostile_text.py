"""Hostile text pushed in through every entry point comes out inert in every output.

A place, area or household text is data: it may never become part of a template's source
(Jinja ``{{ }}``, JavaScript `${}`), HTML markup, Rich console markup, a spreadsheet formula
or a terminal escape sequence. Each test pushes the corpus in where outsiders can reach
(approved suggestions, OSM/CSV/ORUK imports, household labels and notes) and reads it back
out of the gap map and report, the printable plan, place pages, exports and ``kindmap near``.
"""

from __future__ import annotations

import copy
import csv
import json
import logging
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from kindmap.config import get_settings
from kindmap.db import read_session, write_session
from kindmap.models import Area, Place, Region, ReviewItem
from kindmap.services.gaps.analysis import GapQuery, analyse_gaps
from kindmap.services.gaps.report import write_outputs
from tests.ingest.conftest import osm_xml
from tests.test_gaps import _pt, seed

JINJA = "Tea Room {{ 7*7 }}"
RAW = "Hall {% raw %} open"
COMMENT = "Shed {# note"
JS_TEMPLATE = "Club ${alert(1)} \\`"
SCRIPT = "</script><script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
SVG = "<svg onload=alert(1)>"
JS_URL = "javascript:alert(1)"
RICH_CLOSE = "Garden [/] Club"
RICH_LINK = "[link=https://evil.example]x[/link]"
RICH_STYLE = "[bold red]Loud"
HYPERLINK = '=HYPERLINK("http://x.example")'
CMD = "+cmd|' /C calc'!A0"
AT_SUM = "@SUM(1)"
LONG = "L" * 4990 + " {{ 1 }}"
ESCAPE = "Red \x1b[31m room"
BIDI = "Right \u202e txt.exe"
MATH = "Testville $\\frac{}$"  # matplotlib mathtext: a chart title with it would fail to draw
PID = "Pid {{ lipsum.__globals__.os.getpid() }}"  # ran under folium: no quotes, so no entity got in its way


def popen(marker: Path) -> str:
    """A Jinja payload that would create ``marker`` if it ever ran as template source."""
    return f"{{{{ lipsum.__globals__.os.popen('touch {marker}').read() }}}}"


def corpus(marker: Path) -> list[str]:
    """Every hostile text, the code-execution one aimed at ``marker``."""
    return [JINJA, RAW, COMMENT, JS_TEMPLATE, SCRIPT, IMG, SVG, JS_URL, RICH_CLOSE, RICH_LINK, RICH_STYLE,
            HYPERLINK, CMD, AT_SUM, LONG, ESCAPE, BIDI, PID, popen(marker)]


def map_data(html: str) -> dict:
    """The data block of a generated map page, parsed (the page's only JSON)."""
    found = re.search(r'<script type="application/json" id="map-data">(.*?)</script>', html, re.DOTALL)
    assert found, "map.html carries its data as one JSON block"
    return json.loads(found.group(1))


# --------------------------------------------------------------------------- pushing the corpus in


@dataclass
class Hostile:
    """A testville catalogue whose places came in through every entry point with hostile names."""

    marker: Path
    names: list[str]  # the corpus texts that fit a place name (≤ 200 characters)
    stored: dict[str, list[str]]  # entry point → the names it stored
    note_place: int  # a place with an approved hostile kindness note
    notes: list[str]


def _short(marker: Path) -> list[str]:
    return [n for n in corpus(marker) if len(n) <= 200]


def _osm_import(engine, settings, folder: Path, names: list[str]) -> list[str]:
    from kindmap.services.imports.files import import_osm

    lon, lat = _pt(0)
    # XML 1.0 cannot hold C0 control characters, so an OSM extract never carries them.
    fit = [n for n in names if not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", n)]
    nodes = [(i + 1, lon + 0.0004 * i, lat + 0.03, {"amenity": "library", "name": n}) for i, n in enumerate(fit)]
    path = folder / "hostile.osm"
    path.write_text(osm_xml(nodes=nodes), encoding="utf-8")
    # force: the synthetic extract lies beside, not over, the seeded places (the "other region?" check)
    import_osm(engine, region="testville", path=path, data_dir=settings.data_dir, force=True)
    return fit


def _csv_import(engine, settings, folder: Path, names: list[str]) -> list[str]:
    from kindmap.ingest.csv_places import CsvMapping
    from kindmap.services.imports.places import import_csv

    lon, lat = _pt(0)
    path = folder / "hostile.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Name", "Lon", "Lat", "Address"])
        for i, n in enumerate(names):
            w.writerow([n, f"{lon + 0.0004 * i:.6f}", f"{lat + 0.06:.6f}", n])
    mapping = CsvMapping(columns={"name": "Name", "lon": "Lon", "lat": "Lat", "address": "Address"}, category="library")
    import_csv(engine, region="testville", path=path, mapping=mapping, data_dir=settings.data_dir)
    return names


def _oruk_import(engine, settings, folder: Path, names: list[str]) -> list[str]:
    from kindmap.services.imports.places import import_oruk

    example = json.loads((settings.data_dir.parent / "schemas/openreferral-uk/examples/service_full.json").read_text())
    lon, lat = _pt(0)
    docs = []
    for i, n in enumerate(names):
        doc = copy.deepcopy(example)
        doc["id"], doc["name"] = str(uuid.uuid4()), n
        for sal in doc["service_at_locations"]:
            sal["id"] = str(uuid.uuid4())
            sal["location"]["latitude"], sal["location"]["longitude"] = lat + 0.09, lon + 0.0004 * i
            sal["location"]["name"] = n
        docs.append(doc)
    path = folder / "hostile-oruk.json"
    path.write_text(json.dumps(docs), encoding="utf-8")
    import_oruk(engine, region="testville", path=path, data_dir=settings.data_dir, default_category="social_facility")
    return names


def _suggest_and_approve(client, engine, names: list[str]) -> list[str]:
    from kindmap.services.accounts.ratelimit import ContributionLimiter, KindLimits
    from tests.test_contributions import _user

    client.app.state.contribution_limiter = ContributionLimiter.uniform(KindLimits(1000, 1000, 1000))
    sent = []
    for n in names:
        r = client.post("/api/contributions/suggestions",
                        json={"name": f"Resident {n}", "category": "community_cafe", "postcode": "TV1 3AA"})
        if r.status_code == 202:
            sent.append(f"Resident {n}")
    moderator = _user(engine, "moderator")
    with read_session(engine) as s:
        items = s.exec(select(ReviewItem).where(ReviewItem.kind == "suggestion")).all()
    for item in items:
        r = client.post(f"/api/contributions/{item.id}/approve", json={}, headers=moderator)
        assert r.status_code == 200, r.text
    return sent, moderator


def _kindness(client, engine, moderator, place_id: int, texts: list[str]) -> list[str]:
    for t in texts:
        assert client.post("/api/contributions/kindness-notes", json={"place_id": place_id, "text": t}).status_code == 202
    with read_session(engine) as s:
        [item] = s.exec(select(ReviewItem).where(ReviewItem.kind == "kindness_note")).all()
    assert client.post(f"/api/contributions/{item.id}/approve", json={}, headers=moderator).status_code == 200
    return texts


@pytest.fixture
def hostile(settings, engine, client, tmp_path) -> Hostile:
    marker = tmp_path / "PWNED"
    names = _short(marker)
    seed(engine)
    with write_session(engine) as s:  # a boundary round everything, so households get walking times
        region = s.exec(select(Region)).one()
        region.boundary_geojson = json.dumps({"type": "Polygon", "coordinates": [[
            [-0.1, 51.9], [0.2, 51.9], [0.2, 52.2], [-0.1, 52.2], [-0.1, 51.9]]]})
    stored = {"osm": _osm_import(engine, settings, tmp_path, names),
              "csv": _csv_import(engine, settings, tmp_path, names),
              "oruk": _oruk_import(engine, settings, tmp_path, [JINJA, RAW, RICH_CLOSE, SCRIPT, HYPERLINK, popen(marker)])}
    stored["suggestion"], moderator = _suggest_and_approve(client, engine, [JINJA, RAW, RICH_LINK, IMG, SVG, popen(marker)])
    with read_session(engine) as s:
        library = s.exec(select(Place).where(Place.name == "Hall")).one().id
    notes = _kindness(client, engine, moderator, library, [JINJA, RAW, SCRIPT, IMG, RICH_CLOSE, popen(marker)])
    for source, expected in stored.items():
        with read_session(engine) as s:
            got = set(s.exec(select(Place.name)).all())
        assert set(expected) <= got | {ESCAPE}, source  # stored exactly as written
        assert any(JINJA in n for n in expected) and any(RAW in n for n in expected), source
    return Hostile(marker, names, stored, library, notes)


def _published_names(engine) -> list[str]:
    with read_session(engine) as s:
        return list(s.exec(select(Place.name).where(Place.status == "published")).all())


def _cli(settings, *args: str):
    from kindmap.cli import app

    env = {"KINDMAP_DATABASE_URL": settings.database_url, "KINDMAP_STATE_DIR": str(settings.state_dir),
           "KINDMAP_DATA_DIR": str(settings.data_dir)}
    get_settings.cache_clear()  # the CLI reads settings once per process; this test has its own database
    try:
        return CliRunner().invoke(app, list(args), env=env)
    finally:
        get_settings.cache_clear()


# --------------------------------------------------------------------------- gap map and report


def _seed_hostile_gaps(engine, names: list[str]) -> None:
    seed(engine)
    with write_session(engine) as s:
        base = s.exec(select(Place)).first()
        for i, name in enumerate(names):
            s.add(Place(name=name, category="library", lon=base.lon + 1e-5 * i, lat=base.lat, region_id=base.region_id))
        areas = s.exec(select(Area).order_by(Area.code)).all()
        areas[0].name, areas[1].name = JINJA, RAW
        s.exec(select(Region)).one().name = MATH


def _assert_inert_map(page: str, names: list[str], marker: Path) -> None:
    assert not marker.exists(), "a place name ran as template code"
    # Markup-like names appear only \u003c-escaped inside the JSON block, never as tags.
    assert "Tea Room 49" not in page and "<img src=x" not in page and "<svg onload" not in page
    assert "<script>alert(1)" not in page and f"Pid {os.getpid()}" not in page
    shown = {p["name"] for p in map_data(page)["places"]}
    assert set(names) <= shown  # every name arrives exactly, as data


def _assert_inert_report(report: str, marker: Path) -> None:
    assert not marker.exists()
    assert "Tea Room {{ 7*7 }}" in report and "Tea Room 49" not in report and "{% raw %}" in report
    assert "<script" not in report and "<img src=x" not in report and "<svg onload" not in report


def test_gap_map_and_report_show_hostile_names_as_text(settings, engine, tmp_path):
    marker = tmp_path / "PWNED"
    names = _short(marker)  # a place name is at most 200 characters (PostgreSQL enforces it)
    _seed_hostile_gaps(engine, names)
    result = analyse_gaps(engine, settings, GapQuery(region="testville", minutes=15))
    out = tmp_path / "gaps"
    write_outputs(result, out, settings=settings)  # the same path `kindmap gaps` takes; {% raw %} must not raise
    page = (out / "map.html").read_text(encoding="utf-8")
    _assert_inert_map(page, names, marker)
    assert {f["properties"]["name"] for f in map_data(page)["areas"]["features"]} == {JINJA, RAW}
    assert map_data(page)["legend"]["title"].startswith(f"{MATH}, 15 min")  # and the charts drew it as text
    _assert_inert_report((out / "report.html").read_text(encoding="utf-8"), marker)


def test_kindmap_gaps_over_imported_and_suggested_places(settings, hostile, tmp_path):
    out = tmp_path / "gaps-cli"
    for _run in range(2):  # a hostile name must not break the next run either
        res = _cli(settings, "gaps", "--region", "testville", "--out", str(out))
        assert res.exit_code == 0, res.output
    libraries = hostile.stored["osm"] + hostile.stored["csv"]  # the places a default gap query counts
    _assert_inert_map((out / "map.html").read_text(encoding="utf-8"), libraries, hostile.marker)
    _assert_inert_report((out / "report.html").read_text(encoding="utf-8"), hostile.marker)


# --------------------------------------------------------------------------- the command line


def test_kindmap_near_prints_names_literally(settings, hostile, monkeypatch):
    from kindmap.cli.common import out

    monkeypatch.setattr(out, "_width", 20_000)  # one line per place, so each name can be found whole
    lon, lat = _pt(0)
    res = _cli(settings, "near", "--lon", str(lon), "--lat", str(lat), "--radius", "20000", "--limit", "200")
    assert res.exit_code == 0, res.output
    text = res.output
    for name in {n for names in hostile.stored.values() for n in names}:
        if name in (ESCAPE, BIDI):
            continue
        assert name in text, name  # Rich markup such as [/] or [link=…] shown as typed, not read
    assert "\x1b" not in text and "\u202e" not in text  # terminal controls shown as escapes
    assert "Red \\x1b[31m room" in text and "Right \\u202e txt.exe" in text
    assert not hostile.marker.exists()


def test_cli_import_report_and_errors_print_data_literally(settings, engine, tmp_path):
    seed(engine)
    lon, lat = _pt(0)
    path = tmp_path / "bad.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Name", "Lon", "Lat"])
        w.writerow([RICH_CLOSE, f"{lon:.6f}", f"{lat:.6f}"])
        w.writerow([LONG, f"{lon:.6f}", f"{lat + 0.01:.6f}"])  # too long for a name: a row problem
        w.writerow([RICH_LINK, "[/]", "north"])  # coordinates that are not numbers: another
    args = ("import", "csv", str(path), "--region", "testville", "--col", "name=Name", "--col", "lon=Lon",
            "--col", "lat=Lat", "--col", "category=library")
    refused = _cli(settings, *args)
    assert refused.exit_code == 2 and "Traceback" not in refused.output, refused.output
    done = _cli(settings, *args, "--skip-invalid")
    assert done.exit_code == 0, done.output
    assert "skipped" in done.output and "[/]" in done.output
    res = _cli(settings, "gaps", "--region", RICH_CLOSE, "--out", str(tmp_path / "g"))
    assert res.exit_code == 2 and RICH_CLOSE in " ".join(res.output.split()), res.output  # the error names it as typed


# --------------------------------------------------------------------------- exports


def test_csv_and_geojson_exports_neutralise_formulas(settings, hostile, tmp_path):
    names = _published_names(_engine_for(settings))
    assert _cli(settings, "export", "csv", "--out", str(tmp_path / "places.csv")).exit_code == 0
    assert _cli(settings, "export", "geojson", "--out", str(tmp_path / "places.geojson")).exit_code == 0
    with open(tmp_path / "places.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    cells = [v for row in rows for v in row.values() if v]
    assert not [c for c in cells if c.startswith(("=", "+", "@")) or (c.startswith("-") and not _number(c))], \
        "a cell a spreadsheet would run as a formula"
    exported = {r["name"] for r in rows}
    for formula in (HYPERLINK, CMD, AT_SUM):
        assert "'" + formula in exported
    assert {n for n in names if not n.startswith(("=", "+", "@", "-"))} <= exported
    doc = json.loads((tmp_path / "places.geojson").read_text(encoding="utf-8"))
    assert set(names) <= {f["properties"]["name"] for f in doc["features"]}  # JSON keeps the exact text


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _engine_for(settings):
    from kindmap.db import make_engine

    return make_engine(settings.database_url)


# --------------------------------------------------------------------------- place pages, plan, logs


def _assert_inert_html(page: str, marker: Path) -> None:
    assert not marker.exists()
    assert "Tea Room 49" not in page and "<img src=x" not in page and "<svg onload" not in page
    assert "<script>alert(1)" not in page and "</script><script>" not in page


def test_place_pages_show_hostile_names_and_notes_as_text(client, engine, hostile, caplog):
    caplog.set_level(logging.INFO)
    with read_session(engine) as s:
        # Only places the public may see: the inclusion rule keeps an excluded one (the ORUK social facility) from them.
        places = s.exec(select(Place).where(Place.name.in_([JINJA, RAW, RICH_LINK, IMG, SVG, SCRIPT, JS_URL]),
                                            Place.listing != "excluded")).all()
    assert len(places) >= 7
    for place in places:
        r = client.get(f"/places/{place.id}")
        assert r.status_code == 200, (place.name, r.status_code)
        _assert_inert_html(r.text, hostile.marker)
    page = client.get(f"/places/{next(p.id for p in places if p.name == JINJA)}").text
    assert "Tea Room {{ 7*7 }}" in page
    notes = client.get(f"/places/{hostile.note_place}").text
    _assert_inert_html(notes, hostile.marker)
    assert "Tea Room {{ 7*7 }}" in notes and "Hall {% raw %} open" in notes and "&lt;img src=x" in notes
    # Logs name routes, never the texts that came in.
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "{{" not in logged and "alert(1)" not in logged and "[/]" not in logged


def test_printable_plan_shows_hostile_labels_and_notes_as_text(client, engine, hostile):
    from tests.test_contributions import _user

    carer = _user(engine, "carer")
    lon, lat = _pt(1000)
    r = client.post("/api/households", headers=carer, json={"label": f"Home {JINJA} {RAW} {SCRIPT}", "lon": lon, "lat": lat,
                                                             "notes": f"{popen(hostile.marker)} {RICH_CLOSE}"})
    assert r.status_code == 201, r.text
    hid = r.json()["id"]
    with read_session(engine) as s:
        ids = [p.id for p in s.exec(select(Place).where(Place.name.in_([JINJA, RAW, IMG]))).all()][:3]
    for i, pid in enumerate(ids):
        note = [popen(hostile.marker), SVG, COMMENT][i]
        r = client.post(f"/api/households/{hid}/plan", headers=carer, json={"place_id": pid, "note": note})
        assert r.status_code == 201, r.text
    page = client.get(f"/api/households/{hid}/plan/print", headers=carer)
    assert page.status_code == 200, page.text
    _assert_inert_html(page.text, hostile.marker)
    assert "Home Tea Room {{ 7*7 }} Hall {% raw %} open" in page.text and "Shed {# note" in page.text
    assert "lipsum.__globals__" in page.text and "&lt;svg onload" in page.text
