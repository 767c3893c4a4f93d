"""Hostile text pushed in through every entry point comes out inert in every output.

A place, area or household text is data: it may never become part of a template's source
(Jinja ``{{ }}``, JavaScript `${}`), HTML markup, Rich console markup, a spreadsheet formula
or a terminal escape sequence. Each test pushes the corpus in where outsiders can reach
(approved suggestions, OSM/CSV/ORUK imports, household labels and notes) and reads it back
out of the gap map and report, the printable plan, place pages, exports and ``kindmap near``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from kindmap.services.gaps import GapQuery, analyse_gaps
from kindmap.services.gaps_report import write_outputs
from tests.test_gaps import seed

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
    found = re.search(r'<script type="application/json" id="map-data">(.*?)</script>', html, re.S)
    assert found, "map.html carries its data as one JSON block"
    return json.loads(found.group(1))


# --------------------------------------------------------------------------- gap map and report


def _seed_hostile_gaps(engine, names: list[str]) -> None:
    from sqlmodel import select

    from kindmap.db import write_session
    from kindmap.models import Area, Place

    seed(engine)
    with write_session(engine) as s:
        base = s.exec(select(Place)).first()
        for i, name in enumerate(names):
            s.add(Place(name=name, category="library", lon=base.lon + 1e-5 * i, lat=base.lat, region_id=base.region_id))
        areas = s.exec(select(Area).order_by(Area.code)).all()
        areas[0].name, areas[1].name = JINJA, RAW


def test_gap_map_and_report_show_hostile_names_as_text(settings, engine, tmp_path):
    marker = tmp_path / "PWNED"
    names = corpus(marker)
    _seed_hostile_gaps(engine, names)
    result = analyse_gaps(engine, settings, GapQuery(region="testville", minutes=15))
    out = tmp_path / "gaps"
    write_outputs(result, out, settings=settings)  # the same path `kindmap gaps` takes; {% raw %} must not raise
    assert not marker.exists(), "a place name ran as template code"
    page = (out / "map.html").read_text(encoding="utf-8")
    # Markup-like names appear only \u003c-escaped inside the JSON block, never as tags.
    assert "Tea Room 49" not in page and "<img src=x" not in page and "<svg onload" not in page
    assert "<script>alert(1)" not in page and f"Pid {os.getpid()}" not in page
    data = map_data(page)
    shown = {p["name"] for p in data["places"]}
    assert set(names) <= shown  # every name arrives exactly, as data
    assert {f["properties"]["name"] for f in data["areas"]["features"]} == {JINJA, RAW}
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "Tea Room {{ 7*7 }}" in report and "Tea Room 49" not in report and "{% raw %}" in report
    assert "<script" not in report and "<img src=x" not in report and "<svg onload" not in report
    assert not marker.exists()
