"""Hostile names in real Chromium: the generated gap map (map.html, opened from disk) and a place page.

Nothing may fire a dialog, add an element the page did not build itself, or break the
page's CSP; each name must show exactly as written (see tests/test_hostile_text.py for the
corpus and the entry points).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from tests.test_hostile_text import (
    IMG,
    JINJA,
    JS_TEMPLATE,
    JS_URL,
    RAW,
    RICH_LINK,
    SCRIPT,
    SVG,
    corpus,
)

pytestmark = pytest.mark.browser


def _spread_places(engine, names: list[str]) -> None:
    """Testville (tests/test_gaps.py) plus one library per name, 120 m apart along its two areas."""
    from kindmap.db import write_session
    from kindmap.models import Area, Place
    from tests.test_gaps import _pt, seed

    seed(engine)
    with write_session(engine) as s:
        region_id = s.exec(select(Area)).first().region_id
        for i, name in enumerate(names):
            lon, lat = _pt(1000 + 120 * i)
            s.add(Place(name=name, category="library", lon=lon, lat=lat, region_id=region_id))
        areas = s.exec(select(Area).order_by(Area.code)).all()
        areas[0].name, areas[1].name = JINJA, RAW


def _no_harm(page) -> None:
    assert page.watch.dialogs == [] and page.watch.page_errors == []
    assert page.watch.csp_violations(page) == []
    assert page.locator("img[src='x'], svg[onload], [onerror], [onload]").count() == 0


def test_gap_map_shows_hostile_names_as_text(page, settings, engine, tmp_path):
    from kindmap.services.gaps.analysis import GapQuery, analyse_gaps
    from kindmap.services.gaps.report import write_outputs

    marker = tmp_path / "PWNED"
    names = [n for n in corpus(marker) if len(n) < 300]  # the 5,000-character name would cover the map
    _spread_places(engine, names)
    result = analyse_gaps(engine, settings, GapQuery(region="testville", minutes=15))
    write_outputs(result, tmp_path / "gaps", settings=settings.model_copy(update={"tile_url": ""}))
    page.goto((tmp_path / "gaps" / "map.html").as_uri())
    expect(page.locator("body[data-map-ready]")).to_have_count(1)
    # The page's own three scripts (data, Leaflet, the map) and nothing else.
    assert page.locator("script").count() == 3
    legend = page.locator(".gap-legend")
    expect(legend).to_contain_text("households beyond 15 min")
    attribution = page.locator(".leaflet-control-attribution").bounding_box()
    box = legend.bounding_box()
    assert box["y"] + box["height"] <= attribution["y"], "the legend sits above the attribution bar"

    shown = set()
    paths = page.locator("path.leaflet-interactive")
    for i in range(paths.count()):
        b = paths.nth(i).bounding_box()
        small = b["width"] < 20  # a place dot; otherwise an area: hover its corner, away from the dots
        page.mouse.move(b["x"] + b["width"] / 2 if small else b["x"] + 4, b["y"] + b["height"] / 2 if small else b["y"] + 4)
        tip = page.locator(".leaflet-tooltip")
        expect(tip).to_have_count(1)
        shown.add(tip.text_content())
    assert set(names) <= shown, set(names) - shown  # each name exactly as written (textContent)
    assert any(t.startswith(f"{JINJA} (T01)") for t in shown) and any(t.startswith(f"{RAW} (T02)") for t in shown)
    assert not any("Tea Room 49" in t for t in shown)
    _no_harm(page)
    assert not marker.exists()


# --------------------------------------------------------------------------- a place page


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory, _pg) -> Iterator[tuple[str, dict[str, int]]]:
    """A kindmap server of its own (the shared browser database keeps its place counts) with hostile places."""
    import uvicorn

    from kindmap.api.app import create_app
    from kindmap.config import Settings
    from kindmap.db import create_schema, make_engine, write_session
    from kindmap.models import Place, Region
    from tests.browser.conftest import TILE_URL, _free_port
    from tests.conftest import scratch_database

    folder = tmp_path_factory.mktemp("hostile-browser")
    names = [JINJA, RAW, SCRIPT, IMG, SVG, JS_TEMPLATE, RICH_LINK, f"{{{{ lipsum.__globals__.os.popen('touch {folder / 'PWNED'}').read() }}}}"]
    with scratch_database(_pg, folder=folder, label="hostile") as url:
        settings = Settings(database_url=url, tile_url=TILE_URL, state_dir=folder)
        engine = make_engine(url, settings=settings)
        create_schema(engine)
        ids = {}
        with write_session(engine) as s:
            region = Region(slug="hostileshire", name="Hostileshire")
            s.add(region)
            s.flush()
            for i, name in enumerate(names):
                p = Place(name=name, category="community_centre", lon=-0.72 + i / 1000, lat=52.67, region_id=region.id,
                          description=f"About {name}", address=name, website=JS_URL if i % 2 else f"https://example.org/{name}")
                s.add(p)
                s.flush()
                ids[name] = p.id
        engine.dispose()
        app = create_app(settings)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "the test server did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{server.config.port}", ids
        server.should_exit = True
        thread.join(timeout=10)
        app.state.engine.dispose()
        assert not (folder / "PWNED").exists()


def test_place_pages_show_hostile_names_as_text(page, hostile_server):
    base, ids = hostile_server
    for name, place_id in ids.items():
        response = page.goto(f"{base}/places/{place_id}")
        assert response.status == 200, name
        expect(page.locator("h1#place-name")).to_have_text(name)  # exactly as written, never rendered
        assert name in page.title()
        expect(page.locator(".page p").filter(has_text=f"About {name}")).to_have_count(1)
        # A javascript: website is shown as text, never a link that runs script.
        assert page.locator("a[href^='javascript:']").count() == 0
        _no_harm(page)
