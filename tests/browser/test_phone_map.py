"""The public map on a 390 × 844 phone (issue 18): the summary and the first results in view after
a search, errors in view, the filters sheet and its badge, one walking area with a legend, details
that close when their place leaves the results, 20 results then "show more", a light first load,
and axe-core with no violations in every state."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import TILE_URL, PageWatch, axe_violations, close_filters, open_filters

pytestmark = pytest.mark.browser

ITEMS = "#place-list button.place-button"
PINS = ".leaflet-marker-pane .pin"
AREA = ".leaflet-overlay-pane path.walk-area"
PLACE_AREA = ".leaflet-overlay-pane path.walk-area-place"


@pytest.fixture
def phone(browser):
    """A 390 × 844 phone; the CSP is bypassed only so that axe-core can be injected."""
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                              has_touch=True, locale="en-GB", bypass_csp=True)
    page = ctx.new_page()
    page.set_default_timeout(10_000)
    page.watch = PageWatch(page)
    yield page
    ctx.close()


def _search(page, server: str, text: str) -> None:
    page.goto(server + "/")
    expect(page.locator("#category option")).not_to_have_count(1)
    page.fill("#postcode", text)
    page.click("#search-button")


def test_search_brings_the_summary_and_first_results_into_view(phone, server):
    page = phone
    page.goto(server + "/")
    # The first screen says what kindmap is and that everyone is welcome; no map code is loaded.
    expect(page.locator(".purpose")).to_contain_text("Everyone welcome")
    expect(page.locator(".purpose")).to_be_in_viewport()
    expect(page.locator("#postcode")).to_be_in_viewport()
    expect(page.locator("#status")).to_contain_text("Type your postcode or use your location to see the nearest first")
    assert not any("leaflet" in u for u in page.watch.requests)
    assert axe_violations(page) == []

    page.fill("#postcode", "TE1 1ST")
    page.click("#search-button")
    status = page.locator("#status")
    expect(status).to_have_text("6 places found near TE1 1ST, within 3 km, nearest first.")
    expect(status).to_be_focused()
    expect(status).to_have_attribute("aria-live", "polite")
    expect(status).to_be_in_viewport(ratio=1)
    for i in range(2):  # the nearest places are on screen, no scrolling needed
        expect(page.locator(ITEMS).nth(i)).to_be_in_viewport(ratio=1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert axe_violations(page) == []
    assert page.watch.page_errors == []


def test_a_postcode_district_lists_the_places_near_it(phone, server):
    import json
    import urllib.request

    with urllib.request.urlopen(f"{server}/api/places/search?q=TE1&limit=50") as r:
        body = json.load(r)
    assert body["search"]["located"]["name"] == "TE1"  # the API found the district (issue 17)
    page = phone
    _search(page, server, "TE1")
    n = len(body["features"])
    expect(page.locator("#status")).to_have_text(f"{n} places found near TE1, within 3 km, nearest first.")
    expect(page.locator(ITEMS)).to_have_count(n)


def test_a_bad_postcode_says_what_to_fix_in_view(phone, server):
    page = phone
    _search(page, server, "ZZ9 9ZZ")
    error = page.locator("#search-error")
    expect(error).to_contain_text("ZZ9 9ZZ is not in kindmap's postcode list")
    expect(error).to_be_in_viewport(ratio=1)
    expect(page.locator("#postcode")).to_be_in_viewport(ratio=1)
    expect(page.locator("#postcode")).to_be_focused()  # described by the message, so it is read out
    expect(page.locator("#postcode")).to_have_attribute("aria-invalid", "true")
    assert axe_violations(page) == []
    page.fill("#postcode", "")  # nothing typed: the same place, the same way
    page.click("#search-button")
    expect(error).to_contain_text("Enter a postcode")
    expect(error).to_be_in_viewport(ratio=1)


def test_filters_sheet_updates_results_and_the_badge(phone, server):
    page = phone
    page.goto(server + "/?postcode=TE1+1ST")
    expect(page.locator(ITEMS)).to_have_count(6)
    expect(page.locator("#filter-count")).to_be_hidden()
    expect(page.locator("#filters-open")).to_have_accessible_name("Filters")
    open_filters(page)
    expect(page.locator("#filters-close")).to_be_focused()
    assert axe_violations(page) == []
    page.check("#free")
    expect(page.locator(ITEMS)).to_have_count(4)  # the list behind the sheet updates at once
    expect(page.locator("#filters-status")).to_have_text("4 places match")
    page.check("#drop-in")
    expect(page.locator(ITEMS)).to_have_count(2)
    expect(page.locator("#filters-status")).to_have_text("2 places match")
    close_filters(page)
    expect(page.locator("#filters")).to_be_hidden()
    expect(page.locator("#filter-count")).to_have_text("2")
    expect(page.locator("#filters-open")).to_have_accessible_name("Filters (2 on)")
    expect(page.locator("#status")).to_be_focused()
    expect(page.locator("#status")).to_contain_text("Showing only: free to use, drop in")
    expect(page.locator("#status")).to_be_in_viewport()
    # Clear filters: everything back, the badge gone.
    open_filters(page)
    page.click("#filters-clear")
    expect(page.locator(ITEMS)).to_have_count(6)
    expect(page.locator("#free")).not_to_be_checked()
    page.keyboard.press("Escape")
    expect(page.locator("#filters-open")).to_be_focused()
    expect(page.locator("#filter-count")).to_be_hidden()
    assert "free=true" not in page.url


def test_walking_time_shows_one_area_with_a_legend(phone, server):
    page = phone
    page.goto(server + "/?postcode=TE1+1ST&walk=30")
    expect(page.locator(ITEMS)).to_have_count(5)
    # Walking times and distances say which is which.
    meta = page.locator(f"{ITEMS} .place-meta").first
    expect(meta).to_contain_text("min walk on paths")
    expect(meta).to_contain_text("in a straight line")
    page.click("#show-map")
    expect(page.locator(AREA)).to_have_count(1)
    legend = page.locator("#map-legend")
    expect(legend).to_be_visible()
    expect(page.locator("#map-area-note")).to_have_text("The shaded area on the map is within a 30-minute walk of TE1 1ST.")
    expect(page.locator("#map-legend-swatch")).to_have_class("swatch")
    assert axe_violations(page) == []
    # A place's own area replaces the search's: one area, and the legend says whose.
    page.locator(PINS).first.click()
    expect(page.locator("#details-name")).to_be_visible()
    page.get_by_role("button", name="Show walking area").click()
    expect(page.locator(PLACE_AREA)).to_have_count(1)
    expect(page.locator(AREA)).to_have_count(1)  # the place's path is the only .walk-area
    expect(page.locator("#map-area-note")).to_contain_text("The dashed shaded area on the map is within a 15-minute walk of")
    expect(page.locator("#map-legend-swatch")).to_have_class("swatch swatch-place")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Show walking area").click()  # hidden: the search's area is back
    expect(page.locator(PLACE_AREA)).to_have_count(0)
    expect(page.locator(AREA)).to_have_count(1)
    expect(page.locator("#map-area-note")).to_contain_text("within a 30-minute walk of TE1 1ST")
    assert page.watch.page_errors == []


def test_details_close_when_their_place_leaves_the_results(phone, server):
    page = phone
    page.goto(server + "/?postcode=TE1+1ST")
    expect(page.locator(ITEMS)).to_have_count(6)
    page.locator(ITEMS).filter(has_text="Riverside Park").click()
    expect(page.locator("#details-name")).to_have_text("Riverside Park")
    expect(page.locator("#details-name")).to_be_focused()
    expect(page.locator("#details .details-links")).to_be_visible()
    assert axe_violations(page) == []
    open_filters(page)
    page.select_option("#category", "library")
    expect(page.locator(ITEMS)).to_have_count(1)
    expect(page.locator("#details")).to_be_hidden()
    expect(page.locator("#status")).to_contain_text("The place you had open is not in these results")
    assert "#place=" not in page.url


def test_twenty_results_then_show_more(phone, server):
    """The list code itself, fed 45 places: 20 drawn, then 20 more, then the last 5."""
    page = phone
    page.goto(server + "/?postcode=TE1+1ST")
    expect(page.locator(ITEMS)).to_have_count(6)
    expect(page.locator("#show-more")).to_be_hidden()  # 6 places: nothing more to show
    page.evaluate("""async () => {
        const { app } = await import('/static/js/state.js');
        const { renderList } = await import('/static/js/list.js');
        app.features = Array.from({length: 45}, (_, i) => ({id: 1000 + i, geometry: null,
            properties: {name: 'Place ' + (i + 1), category: 'library', distance_m: 100 * (i + 1), open: null}}));
        renderList();
    }""")
    expect(page.locator(ITEMS)).to_have_count(20)
    more = page.locator("#show-more")
    expect(more).to_have_text("Show 20 more places (20 of 45 shown)")
    more.click()
    expect(page.locator(ITEMS)).to_have_count(40)
    expect(page.locator(ITEMS).nth(20)).to_be_focused()  # keyboard users carry on from the new ones
    expect(more).to_have_text("Show 5 more places (40 of 45 shown)")
    more.click()
    expect(page.locator(ITEMS)).to_have_count(45)
    expect(more).to_be_hidden()
    expect(page.locator(f"{ITEMS} .place-num").last).to_have_text("45")
    assert axe_violations(page) == []


def test_wide_screen_sheet_and_map_have_no_axe_violations(browser, server):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB", bypass_csp=True)
    page = ctx.new_page()
    page.set_default_timeout(10_000)
    page.goto(server + "/?postcode=TE1+1ST&walk=30")
    expect(page.locator(PINS)).to_have_count(5)  # map and list side by side, no toggle
    expect(page.locator(AREA)).to_have_count(1)
    expect(page.locator(".view-toggle")).to_be_hidden()
    open_filters(page)
    expect(page.locator("#filter-count")).to_have_text("1")  # walking time
    assert axe_violations(page) == []
    ctx.close()


def test_phone_first_load_is_under_150_kb(phone, server):
    sizes: dict[str, int] = {}

    def finished(request):
        if urlsplit(request.url).netloc == urlsplit(TILE_URL).netloc:
            return
        s = request.sizes()
        sizes[request.url] = s["responseBodySize"] + s["responseHeadersSize"]

    page = phone
    page.on("requestfinished", finished)
    page.goto(server + "/?postcode=TE1+1ST", wait_until="networkidle")
    expect(page.locator(ITEMS)).to_have_count(6)
    total = sum(sizes.values())
    print(f"phone first load: {total} bytes in {len(sizes)} requests")
    assert total < 150_000
    assert not any("leaflet" in u for u in sizes)  # the map's code comes when the map is shown


def test_places_where_a_fact_is_not_known_yet_can_be_included(phone, server):
    import json
    import urllib.request

    def api(query: str) -> dict:
        with urllib.request.urlopen(f"{server}/api/places?postcode=TE1%201ST&{query}") as r:
            return json.load(r)

    known = api("quiet=true")["features"]
    either = api("quiet=true&include_unknown=true")["features"]
    assert len(either) > len(known)  # the API's "yes, or not known yet" (issue 17)
    page = phone
    page.goto(server + "/?postcode=TE1+1ST&quiet=true")
    expect(page.locator(ITEMS)).to_have_count(len(known))
    open_filters(page)
    page.check("#include-unknown")
    expect(page.locator(ITEMS)).to_have_count(len(either))
    close_filters(page)
    expect(page.locator("#filter-count")).to_have_text("2")
    expect(page.locator("#status")).to_contain_text("Showing only: quiet space (or not known yet).")
    assert "include_unknown=true" in page.url
    assert axe_violations(page) == []
    # Nothing known to match: the summary names the missing facts (the API's search.hint).
    page.goto(server + "/?postcode=TE1+1ST&wheelchair=true&quiet=true")
    expect(page.locator("#status")).to_contain_text("No places found near TE1 1ST. Wheelchair access is known for")
    expect(page.locator("#status")).to_contain_text("Choose \u201cyes, or not known yet\u201d")
    open_filters(page)
    expect(page.get_by_label("Yes, or not known yet")).not_to_be_checked()
