"""A household's suggestions and the map of walks from home, in Chromium: beside the list on a wide
screen, below it on a phone; drawn from /api/households/{id}/routes with no tile server (tiles point
at a closed port); names (hostile ones too) reach popups and the status line as text; axe-core 0."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import FAR_POSTCODE, XSS_IMG, PageWatch, axe_violations, serving, synthetic_app

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs"
CARER = ("route.carer@testshire.example", "a long carer pass phrase")


@pytest.fixture(scope="module")
def household(tmp_path_factory, _pg):
    """A server of its own with one carer and a household at TE1 1ST that walks up to 30 minutes."""
    from kindmap.db import write_session
    from kindmap.models.households import HouseholdCreate
    from kindmap.services.accounts.auth import add_scheme, add_user
    from kindmap.services.households.records import create_household

    with synthetic_app(tmp_path_factory, _pg, "routes") as application, serving(application) as url:
        with write_session(application.state.engine) as session:
            scheme = add_scheme(session, name="Route Scheme", region="testshire")
            carer = add_user(session, email=CARER[0], password=CARER[1], role="carer", scheme_id=scheme.id)
            made = create_household(session, carer, HouseholdCreate(label="Household R", postcode="TE1 1ST",
                                                                    comfortable_walk_minutes=30))
            far = create_household(session, carer, HouseholdCreate(label="Household F", postcode=FAR_POSTCODE,
                                                                   comfortable_walk_minutes=30))
        assert far.id == made.id + 1
        yield url, made.id


def signed_in(browser, server, **options):
    ctx = browser.new_context(locale="en-GB", **options)
    page = ctx.new_page()
    page.set_default_timeout(10_000)
    page.watch = PageWatch(page)
    page.goto(server + "/login")
    page.fill("#email", CARER[0])
    page.fill("#password", CARER[1])
    page.click("button:has-text('Sign in')")
    expect(page).to_have_url(server + "/carer")
    return ctx, page


def routes_of(page, household_id):
    return page.evaluate(f"fetch('/api/households/{household_id}/routes').then(r => r.json())")


def test_wide_screen_map_beside_the_list_with_each_walk_from_home(browser, household):
    server, hid = household
    ctx, page = signed_in(browser, server, viewport={"width": 1280, "height": 900})  # the real CSP
    page.goto(f"{server}/carer/households/{hid}")
    status = page.locator("[data-routes-status]")
    expect(status).to_contain_text("walks from home on the map")
    data = routes_of(page, hid)
    walks = [f for f in data["features"] if f["properties"]["role"] == "route"]
    assert len(walks) >= 4 and all(w["properties"]["travel"] == "network" for w in walks)
    # Every walk, pin and the home are drawn without any tile.
    expect(page.locator("#routes-map .leaflet-overlay-pane path")).to_have_count(len(walks))
    expect(page.locator("#routes-map .route-pin")).to_have_count(len(walks))
    expect(page.locator("#routes-map .route-home")).to_have_count(1)
    expect(page.locator(".key-guess")).to_be_hidden()  # every walk is along paths here
    assert page.locator(".leaflet-tile-loaded").count() == 0
    # Side by side: the map to the right of the list, both starting near the same height.
    listed, drawn = page.locator(".suggestion-list").bounding_box(), page.locator("#routes-map").bounding_box()
    assert drawn["x"] >= listed["x"] + listed["width"] - 1 and abs(drawn["y"] - listed["y"]) < 200
    # The numbers on the map are the list's.
    names = page.locator(".suggestion h3").all_text_contents()
    for w in walks:
        assert names[w["properties"]["number"] - 1] == w["properties"]["name"]
    # The community centre (a hostile name) is north across the river: its walk goes round by the bridge 900 m east.
    centre = next(w for w in walks if w["properties"]["name"] == XSS_IMG)
    lons = [c[0] for c in centre["geometry"]["coordinates"]]
    assert max(lons) - lons[0] > 0.012, "about 900 m east to the bridge"
    item = page.locator(f".suggestion[data-number='{centre['properties']['number']}']")
    item.locator("button.show-walk").click()
    expect(status).to_have_text(f"Showing the walk to {XSS_IMG}: {centre['properties']['walk']}.")
    expect(page.locator(".leaflet-popup-content")).to_contain_text(XSS_IMG)
    expect(item).to_have_class("suggestion is-shown")
    expect(page.locator("#routes-map path[stroke='#a4262c']")).to_have_count(1)
    assert page.watch.dialogs == [] and page.watch.page_errors == [] and page.watch.csp_violations(page) == []
    page.locator(".suggestions").screenshot(path=str(DOCS / "carer-suggestions-map-wide.png"))
    ctx.close()


@pytest.mark.parametrize("width", [1280, 390, 320])
def test_axe_and_a_phone_shows_the_list_first(browser, household, width):
    server, hid = household
    ctx, page = signed_in(browser, server, viewport={"width": width, "height": 900}, bypass_csp=True)
    page.goto(f"{server}/carer/households/{hid}")
    panel = page.locator(".routes-panel")
    panel.scroll_into_view_if_needed()
    expect(page.locator("[data-routes-status]")).to_contain_text("walks from home on the map")
    assert axe_violations(page) == []
    page.locator("button.show-walk").first.click()
    expect(page.locator("[data-routes-status]")).to_contain_text("Showing the walk to")
    assert axe_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if width < 900:
        listed, drawn = page.locator(".suggestion-list").bounding_box(), page.locator("#routes-map").bounding_box()
        assert drawn["y"] >= listed["y"] + listed["height"] - 1, "on a phone the list comes first"
    assert page.watch.page_errors == []
    ctx.close()


def test_a_phone_fetches_no_map_code_until_the_map_is_near(browser, household):
    server, hid = household
    ctx, page = signed_in(browser, server, viewport={"width": 390, "height": 700})
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    page.goto(f"{server}/carer/households/{hid}")
    page.wait_for_load_state("networkidle")
    top = page.locator(".routes-panel").bounding_box()["y"]
    assert top > 700 + 300, "the list is longer than the screen"
    assert not any("vendor/leaflet" in u or u.endswith("/routes") for u in asked), asked
    page.locator(".routes-panel").scroll_into_view_if_needed()
    expect(page.locator("[data-routes-status]")).to_contain_text("walks from home on the map")
    assert any("leaflet.js" in u for u in asked)
    ctx.close()


def test_without_a_path_network_the_walk_is_a_dashed_straight_line_and_the_key_says_so(browser, household):
    server, hid = household
    ctx, page = signed_in(browser, server, viewport={"width": 1280, "height": 900})
    page.goto(f"{server}/carer/households/{hid + 1}")  # Household F, in Farshire, which has no path network
    expect(page.locator("h1")).to_have_text("Household F")
    expect(page.locator("[data-routes-status]")).to_have_text("1 walk from home on the map.")
    line = page.locator("#routes-map .leaflet-overlay-pane path")
    expect(line).to_have_count(1)
    assert line.get_attribute("stroke-dasharray") == "8 8"
    expect(page.locator(".key-guess")).to_be_visible()
    ctx.close()
