"""A real kindmap server over a tiny synthetic database, and Chromium to drive it.

The places sit a few hundred metres around the postcode TE1 1ST (in Rutland's part of
the world, but fictional); tiles point at a closed port so the page must work without them.
The database is on the backend under test (tests/conftest.py): a temporary SQLite file, or,
with ``KINDMAP_TEST_DATABASE_URL`` set, a fresh PostgreSQL database dropped after the session.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).parent / "_artifacts"
TILE_URL = "http://127.0.0.1:9/{z}/{x}/{y}.png"

ORIGIN = (-0.7270, 52.6700)  # lon, lat of TE1 1ST
XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_TEMPLATE = "Café ${alert(1)} \\` corner"  # contains a backslash followed by a backtick
XSS_SCRIPT = "<script>alert(1)</script> Hall"
MODERATOR = ("moderator@example.org", "a long pass phrase 42")


def _offset(east_m: float, north_m: float) -> tuple[float, float]:
    """A lon/lat this many metres east and north of ORIGIN (good enough at this scale)."""
    import math

    lat = ORIGIN[1] + north_m / 111_320
    lon = ORIGIN[0] + east_m / (111_320 * math.cos(math.radians(ORIGIN[1])))
    return lon, lat


# name, category, (east m, north m), extra fields. Distances from the origin grow down the list.
PLACES = [
    ("Testshire Library", "library", (150, 0), dict(
        free_to_use=True, no_purchase_needed=True, drop_in=True, seating=True, toilets=True, wifi=True,
        wheelchair="yes", hearing_loop=True, opening_hours="24/7", website="https://example.org/library",
        phone="01572 000000", address="1 High Street, Testtown", postcode="TE1 1AA",
        source="osm", source_id="node/1", source_licence="ODbL")),
    (XSS_IMG, "community_centre", (0, 400), dict(drop_in=True, opening_hours="Mo-Fr 09:00-17:00")),
    (XSS_TEMPLATE, "community_cafe", (-700, 0), dict(
        free_to_use=False, warm_hospitality=True, website="javascript:alert(1)")),
    ("Riverside Park", "park", (0, -1000), dict(
        free_to_use=True, no_purchase_needed=True, drop_in=True, opening_hours="whenever the gate is open",
        step_free=True)),
    (XSS_SCRIPT, "community_centre", (1300, 300), dict(free_to_use=True, wheelchair="limited")),
    ("St Anne's Church Hall", "place_of_worship", (-1200, -1200), dict(
        free_to_use=True, opening_hours="Mo-Su 00:00-24:00", wheelchair="no", quiet_space=True)),
    ("Far Away Library", "library", (40_000, 40_000), dict(free_to_use=True)),
]
NEAR_NAMES = [p[0] for p in PLACES[:-1]]  # within the default 3 km, nearest first
TOILET_M = (150, 80)  # a public toilet (a facility, not a welcoming place) 80 m north of the library

# Testshire's path network: a street grid every 100 m, 1.5 km each way, with a river between
# 200 m and 300 m north crossed only by one bridge 900 m east. So the community centre 400 m
# north is a long walk round by the bridge. Farshire (round the far library) has no network,
# so its walking times are estimates.
GRID_M = 100
GRID_HALF = 15
RIVER_SOUTH_M, BRIDGE_EAST_M = 200, 900
FAR_POSTCODE = "FA1 1AA"
FAR_ORIGIN_M = (39_700, 40_000)


def _box(east_m: float, north_m: float, half_m: float) -> dict:
    (w, s), (e, n) = _offset(east_m - half_m, north_m - half_m), _offset(east_m + half_m, north_m + half_m)
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def _grid_network():
    """Testshire's street grid (see GRID_M) as a kindmap walking network."""
    import numpy as np

    from kindmap.geo.network import network_from_arrays

    steps = np.arange(-GRID_HALF, GRID_HALF + 1) * GRID_M
    east, north = np.meshgrid(steps, steps, indexing="ij")
    lon, lat = _offset(east.ravel(), north.ravel())
    side = steps.size
    index = np.arange(side * side).reshape(side, side)  # [east, north]
    u = [index[:-1, :].ravel(), index[:, :-1].ravel()]
    v = [index[1:, :].ravel(), index[:, 1:].ravel()]
    # Northward edges that would cross the river, except at the bridge.
    crossing = (north[:, :-1] == RIVER_SOUTH_M) & (east[:, :-1] != BRIDGE_EAST_M)
    keep_east = np.ones(u[0].size, bool)
    keep_north = ~crossing.ravel()
    edge_u = np.concatenate([u[0][keep_east], u[1][keep_north]])
    edge_v = np.concatenate([v[0][keep_east], v[1][keep_north]])
    return network_from_arrays(node_lon=np.asarray(lon), node_lat=np.asarray(lat), edge_u=edge_u, edge_v=edge_v)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seed(settings) -> None:
    """Testshire's walking network, regions, places, postcodes and a moderator, in ``settings``' database."""
    import json

    from kindmap.db import create_schema, make_engine, write_session
    from kindmap.models import Place, Postcode, Region
    from kindmap.services.accounts.auth import add_user
    from kindmap.services.walking import network_path

    path = network_path(settings, "testshire")
    path.parent.mkdir(parents=True, exist_ok=True)
    _grid_network().save(path)

    engine = make_engine(settings.database_url, settings=settings)
    create_schema(engine)
    imported = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
    with write_session(engine) as session:
        region = Region(slug="testshire", name="Testshire", boundary_geojson=json.dumps(_box(0, 0, 2000)))
        far = Region(slug="farshire", name="Farshire", boundary_geojson=json.dumps(_box(*FAR_ORIGIN_M, 2000)))
        session.add_all([region, far])
        session.flush()
        for name, category, (east, north), extra in PLACES:
            lon, lat = _offset(east, north)
            hours = extra.get("opening_hours")
            valid = None if hours is None else hours != "whenever the gate is open"
            home = far if east > 10_000 else region
            session.add(Place(name=name, category=category, lon=lon, lat=lat, region_id=home.id,
                              opening_hours_valid=valid, imported_at=imported, **extra))
        # A facility 80 m north of the library: never a search result, shown as "Nearby" on its details.
        toilet_lon, toilet_lat = _offset(*TOILET_M)
        session.add(Place(name="Public toilets", category="public_toilets", lon=toilet_lon, lat=toilet_lat,
                          region_id=region.id, listing="facility", listing_rule="facility", imported_at=imported))
        session.add(Postcode(postcode="TE1 1ST", lon=ORIGIN[0], lat=ORIGIN[1], region_id=region.id))
        session.add(Postcode(postcode=FAR_POSTCODE, lon=_offset(*FAR_ORIGIN_M)[0], lat=_offset(*FAR_ORIGIN_M)[1], region_id=far.id))
        add_user(session, email=MODERATOR[0], password=MODERATOR[1], role="moderator")
    engine.dispose()


@contextmanager
def synthetic_app(tmp_path_factory: pytest.TempPathFactory, pg, label: str = "browser"):
    """A kindmap app over a fresh copy of the synthetic database (tests may swap its rate limiter)."""
    from kindmap.api.app import create_app
    from kindmap.config import Settings
    from kindmap.services.accounts.ratelimit import ContributionLimiter, KindLimits
    from tests.conftest import scratch_database

    state = tmp_path_factory.mktemp(label)
    with scratch_database(pg, folder=state, label=label) as url:
        settings = Settings(database_url=url, tile_url=TILE_URL, state_dir=state)
        _seed(settings)
        application = create_app(settings)
        # Every test posts from 127.0.0.1: a roomy limit here; the rate-limit test sets a tight one.
        application.state.contribution_limiter = ContributionLimiter.uniform(KindLimits(1000, 1000, 1000))
        yield application
        application.state.engine.dispose()  # the server has stopped (``serving`` tears down first)


@contextmanager
def serving(application) -> Iterator[str]:
    """Base URL of a real kindmap app (uvicorn in a thread)."""
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("kindmap test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@contextmanager
def own_server(tmp_path_factory: pytest.TempPathFactory, pg, label: str) -> Iterator[str]:
    """A server of its own for a module whose tests publish changes (approved suggestions, answers):
    the shared server's counts ("6 places found") stay what the other modules expect, in any order."""
    with synthetic_app(tmp_path_factory, pg, label) as application, serving(application) as url:
        yield url


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory, _pg):
    """The kindmap app over the synthetic database, shared by the modules that only read."""
    with synthetic_app(tmp_path_factory, _pg) as application:
        yield application


@pytest.fixture(scope="session")
def server(app) -> Iterator[str]:
    """Base URL of the shared app."""
    with serving(app) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session (Debian's /usr/bin/chromium)."""
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.skip("Chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class PageWatch:
    """What a page did that a test may want to check: dialogs, requests, CSP violations, errors."""

    def __init__(self, page) -> None:
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        page.on("dialog", self._dialog)
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        # Runs before any page script and is not subject to the page's CSP.
        page.add_init_script(
            "window.__csp = [];"
            "document.addEventListener('securitypolicyviolation', e =>"
            " window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
        )

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def csp_violations(self, page) -> list[str]:
        return page.evaluate("window.__csp")


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    pg.watch = PageWatch(pg)
    yield pg
    pg.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


AXE = Path(__file__).parent / "vendor" / "axe.min.js"


def axe_violations(page) -> list[str]:
    """axe-core (WCAG 2.0/2.1/2.2 A and AA rules) on the current page: the violations, readable."""
    page.add_script_tag(path=str(AXE))
    return page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}});
        return r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(' | '));
    }""")


def open_filters(page) -> None:
    """Open the filters sheet (a modal dialog: the page behind it waits) unless it is open."""
    from playwright.sync_api import expect

    if not page.evaluate("document.getElementById('filters').open"):
        page.click("#filters-open")
    expect(page.locator("#filters")).to_be_visible()


def close_filters(page) -> None:
    """Close the filters sheet with its "Show places" button, as a person would."""
    page.click("#filters-done")


def tab_to(page, predicate_js: str, limit: int = 80) -> None:
    """Press Tab until ``predicate_js`` is true in the page (keyboard-only tests)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(predicate_js):
            return
    raise AssertionError(f"Tab never reached: {predicate_js}")
