"""The public map page in real Chromium, against a real kindmap server (see conftest)."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    NEAR_NAMES,
    TILE_URL,
    XSS_IMG,
    close_filters,
    open_filters,
    XSS_SCRIPT,
    XSS_TEMPLATE,
)

pytestmark = pytest.mark.browser

PINS = ".leaflet-marker-pane .pin"
ITEMS = "#place-list button.place-button"


def _get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def _place_id(server: str, name: str) -> int:
    _, data = _get_json(f"{server}/api/places?postcode={quote('TE1 1ST')}&limit=50")
    return next(f["id"] for f in data["features"] if f["properties"]["name"] == name)


def _search(page, server: str, postcode: str = "TE1 1ST") -> None:
    page.goto(server + "/")
    page.fill("#postcode", postcode)
    page.click("button[type=submit]")


def _names(page) -> list[str]:
    return page.locator(f"{ITEMS} .place-name").all_text_contents()


def _wait_results(page, count: int) -> None:
    expect(page.locator(ITEMS)).to_have_count(count)
    expect(page.locator(PINS)).to_have_count(count)


def test_postcode_search_shows_nearest_places_on_map_and_list(page, server):
    _search(page, server)
    expect(page.locator("#status")).to_have_text(re.compile(r"^6 places found near TE1 1ST"))
    _wait_results(page, len(NEAR_NAMES))
    assert _names(page) == NEAR_NAMES  # nearest first; the far library is outside 3 km
    first = page.locator(ITEMS).first
    expect(first).to_contain_text("Library")
    expect(first).to_contain_text("150 m away")
    expect(first).to_contain_text("Open now")
    # The map numbers match the list numbers.
    assert page.locator(f"{PINS} .pin-label").all_text_contents() == [str(i) for i in range(1, 7)]
    assert "postcode=TE1+1ST" in page.url
    assert page.watch.page_errors == []


def test_category_and_free_filters_change_map_and_list(page, server):
    _search(page, server)
    _wait_results(page, 6)

    open_filters(page)
    page.select_option("#category", "library")
    _wait_results(page, 1)  # the results behind the sheet update as filters change
    assert _names(page) == ["Testshire Library"]
    expect(page.locator("#status")).to_contain_text("1 place found near TE1 1ST")
    expect(page.locator("#filters-status")).to_have_text("1 place matches")
    assert "category=library" in page.url

    page.select_option("#category", "")
    _wait_results(page, 6)
    page.check("#free")
    _wait_results(page, 4)  # known free only: unknown is not "free", the café is not free
    assert _names(page) == ["Testshire Library", "Riverside Park", XSS_SCRIPT, "St Anne's Church Hall"]
    assert "free=true" in page.url

    page.select_option("#radius", "25000")
    _wait_results(page, 4)  # the far library is 56 km away
    page.select_option("#radius", "1000")
    _wait_results(page, 2)
    close_filters(page)
    expect(page.locator("#filter-count")).to_have_text("2")  # free, and a distance of 1 km
    expect(page.locator("#filters-open")).to_have_accessible_name("Filters (2 on)")
    expect(page.locator("#status")).to_be_focused()  # "Show places" goes to the result summary


def test_keyboard_only_search_and_details(page, server):
    page.goto(server + "/")
    expect(page.locator("#category option")).not_to_have_count(1)  # categories loaded
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "postcode":
            break
    assert page.evaluate("document.activeElement.id") == "postcode"
    page.keyboard.type("TE1 1ST")
    page.keyboard.press("Enter")
    _wait_results(page, 6)
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('place-button')"):
            break
    focused = page.evaluate("document.activeElement.dataset.id")
    assert focused, "Tab never reached the list"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"  # visible focus
    page.keyboard.press("Enter")
    expect(page.locator("#details")).to_be_visible()
    expect(page.locator("#details-name")).to_be_focused()
    expect(page.locator("#details-name")).to_have_text("Testshire Library")
    assert page.url.endswith(f"#place={focused}")
    # Escape closes the panel and puts focus back on the list item.
    page.keyboard.press("Escape")
    expect(page.locator("#details")).to_be_hidden()
    assert page.evaluate("document.activeElement.dataset.id") == focused


def test_marker_click_opens_details(page, server):
    _search(page, server)
    _wait_results(page, 6)
    # The map may still be easing to fit the results (a pin moves under the pointer on a busy
    # machine): click again until the panel opens, then check it is the pin's place.
    for _attempt in range(3):
        page.locator(PINS).nth(3).click()
        try:
            page.locator("#details-name").wait_for(state="visible", timeout=3000)
            break
        except Exception:  # noqa: BLE001 - playwright's TimeoutError: try the click again
            continue
    expect(page.locator("#details-name")).to_have_text("Riverside Park")
    expect(page.locator(ITEMS).nth(3)).to_have_attribute("aria-current", "true")


def test_xss_payloads_stay_text(page, server):
    _search(page, server)
    _wait_results(page, 6)
    names = _names(page)
    for payload in (XSS_IMG, XSS_TEMPLATE, XSS_SCRIPT):
        assert payload in names
    # Open every place's details and hover every marker (tooltips), then look for side effects.
    for i in range(6):
        page.locator(ITEMS).nth(i).click()
        expect(page.locator("#details .details-close")).to_be_visible()
        page.locator(PINS).nth(i).hover()
    page.locator(PINS).nth(1).hover()
    # Tooltips are text too (the last one may still be fading out, hence the filter).
    expect(page.locator(".leaflet-tooltip").filter(has_text=XSS_IMG)).to_have_text(f"2. {XSS_IMG}")
    page.locator(ITEMS).nth(2).click()
    expect(page.locator("#details-name")).to_have_text(XSS_TEMPLATE)
    expect(page.locator("#details")).to_contain_text("javascript:alert(1)")  # shown as words…
    assert page.locator("a[href^='javascript']").count() == 0  # …never as a link
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("#place-list script, #details script, .leaflet-pane script").count() == 0
    page.wait_for_timeout(300)
    assert page.watch.dialogs == []
    assert page.watch.page_errors == []


def test_details_show_criteria_hours_and_source(page, server):
    library = _place_id(server, "Testshire Library")
    page.goto(f"{server}/?postcode=TE1%201ST#place={library}")
    details = page.locator("#details")
    expect(page.locator("#details-name")).to_have_text("Testshire Library")
    for words in ("Free to use", "No need to buy anything", "Drop in — no referral or membership",
                  "Toilets", "Seating", "Wi-Fi", "Open now", "Wheelchair accessible", "Hearing loop",
                  "OpenStreetMap, ODbL", "Added to kindmap: 1 March 2026", "1 High Street, Testtown, TE1 1AA"):
        expect(details).to_contain_text(words)
    expect(details.locator("a[href='https://example.org/library']")).to_have_count(1)
    expect(details.locator("a[href='tel:01572000000']")).to_have_count(1)
    expect(details).not_to_contain_text("Free tea or coffee")  # unknown, so not listed

    page.locator(ITEMS).filter(has_text="Riverside Park").click()
    expect(page.locator("#details-name")).to_have_text("Riverside Park")
    expect(details).to_contain_text("Hours not known")
    expect(details).to_contain_text("We could not read these hours")
    expect(details).to_contain_text("whenever the gate is open")

    page.locator(ITEMS).filter(has_text=XSS_IMG).click()
    expect(page.locator("#details-name")).to_have_text(XSS_IMG)
    expect(details).to_contain_text("Drop in")
    expect(details).not_to_contain_text("Free to use")  # unknown is not shown as anything
    expect(details).not_to_contain_text("Not free")
    expect(details).to_contain_text("Accessibility")
    expect(details).to_contain_text("Not recorded yet.")


def test_unknown_postcode_shows_the_api_message_and_keeps_the_input(page, server):
    status, body = _get_json(f"{server}/api/places?postcode={quote('ZZ9 9ZZ')}")
    assert 400 <= status < 500 and body["detail"]
    _search(page, server, "ZZ9 9ZZ")
    error = page.locator("#search-error")
    expect(error).to_have_text(body["detail"])
    expect(error).to_be_visible()
    expect(error).to_have_attribute("role", "alert")
    expect(page.locator("#postcode")).to_have_value("ZZ9 9ZZ")
    expect(page.locator("#postcode")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(ITEMS)).to_have_count(0)
    # A good search clears the message.
    page.fill("#postcode", "TE1 1ST")
    page.press("#postcode", "Enter")
    _wait_results(page, 6)
    expect(error).to_be_hidden()


def test_page_works_without_tiles_and_only_talks_to_its_server(page, server):
    page.goto(server + "/")
    # With no search, the region's places are shown A to Z.
    expect(page.locator("#status")).to_contain_text("7 places found on this part of the map, A to Z")
    expect(page.locator(PINS)).to_have_count(7)
    expect(page.locator("#map-note")).to_be_visible()  # tiles failed, and we say so
    _search(page, server)
    _wait_results(page, 6)
    server_origin = urlsplit(server).netloc
    tile_origin = urlsplit(TILE_URL).netloc
    hosts = {urlsplit(u).netloc for u in page.watch.requests if not u.startswith(("data:", "blob:"))}
    assert hosts <= {server_origin, tile_origin}, hosts
    assert page.watch.page_errors == []


def test_csp_is_sent_and_nothing_is_blocked(page, server):
    response = page.goto(server + "/")
    csp = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    page.fill("#postcode", "TE1 1ST")
    page.press("#postcode", "Enter")
    _wait_results(page, 6)
    page.locator(ITEMS).first.click()
    expect(page.locator("#details-name")).to_be_visible()
    page.locator(PINS).nth(1).hover()
    assert page.watch.csp_violations(page) == []
    assert not [m for m in page.watch.console_errors if "Content Security Policy" in m]


def test_shareable_url_restores_search_filters_and_place(page, server):
    library = _place_id(server, "Testshire Library")
    page.goto(f"{server}/?postcode=TE1+1ST&free=true&category=library#place={library}")
    _wait_results(page, 1)
    expect(page.locator("#postcode")).to_have_value("TE1 1ST")
    expect(page.locator("#free")).to_be_checked()
    expect(page.locator("#category")).to_have_value("library")
    expect(page.locator("#details-name")).to_have_text("Testshire Library")
    expect(page.locator(ITEMS).first).to_have_attribute("aria-current", "true")


def test_location_search_uses_coordinates(browser, server):
    ctx = browser.new_context(geolocation={"latitude": 52.6701, "longitude": -0.7269}, permissions=["geolocation"])
    page = ctx.new_page()
    page.goto(server + "/")
    expect(page.locator("#category option")).not_to_have_count(1)
    page.click("#locate")
    expect(page.locator("#status")).to_have_text(re.compile(r"^6 places found near your location"))
    assert "lat=52.67" in page.url and "lon=-0.727" in page.url
    ctx.close()


def _targets_too_small(page) -> list[str]:
    return page.evaluate(
        """() => [...document.querySelectorAll('main button, main input, main select, .leaflet-control-zoom a')]
            .filter(e => e.offsetParent !== null)
            .map(e => [e.id || e.className || e.textContent, e.getBoundingClientRect()])
            .filter(([, r]) => r.width < 24 || r.height < 24)
            .map(([n, r]) => `${n} ${r.width}x${r.height}`)"""
    )


@pytest.mark.parametrize("width,height,name", [(375, 812, "mobile-375"), (640, 450, "zoom-200")])
def test_narrow_screens_and_zoom(browser, server, artifacts, width, height, name):
    ctx = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=2,
                              is_mobile=width < 400, has_touch=width < 400)
    page = ctx.new_page()
    page.goto(f"{server}/?postcode=TE1+1ST")
    expect(page.locator(ITEMS)).to_have_count(6)
    # Narrow screens show the list or the map, one at a time: the list first.
    expect(page.locator("#map")).to_be_hidden()
    expect(page.locator("#show-list")).to_have_attribute("aria-pressed", "true")
    page.locator(ITEMS).nth(2).click()
    expect(page.locator("#details-name")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scrolling
    assert _targets_too_small(page) == []
    page.click("#show-map")
    expect(page.locator("#map")).to_be_visible()
    expect(page.locator("#place-list")).to_be_hidden()
    expect(page.locator(PINS)).to_have_count(6)  # the same places, numbered the same
    expect(page.locator("#details-name")).to_be_visible()  # the details stay under the map
    page.wait_for_timeout(400)  # let the map finish panning before the picture
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert _targets_too_small(page) == []
    ctx.close()


def test_first_load_is_small(page, server):
    sizes: dict[str, int] = {}

    def finished(request):
        if urlsplit(request.url).netloc == urlsplit(TILE_URL).netloc:
            return
        s = request.sizes()
        sizes[request.url] = s["responseBodySize"] + s["responseHeadersSize"]

    page.on("requestfinished", finished)
    page.goto(server + "/", wait_until="networkidle")
    expect(page.locator(PINS)).to_have_count(7)
    total = sum(sizes.values())
    print(f"first load: {total} bytes in {len(sizes)} requests")
    for url, size in sorted(sizes.items(), key=lambda kv: -kv[1]):
        print(f"  {size:>8}  {url}")
    assert total < 300_000


CONTRAST_JS = """() => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = el => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const bad = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n; (n = walker.nextNode());) {
    const el = n.parentElement;
    if (!n.textContent.trim() || !el || el.closest('.leaflet-container,.visually-hidden,noscript')) continue;
    if (!el.getClientRects().length) continue;
    const fg = lum(rgb(getComputedStyle(el).color)), bg = lum(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 4.5) bad.push(`${ratio.toFixed(2)} ${n.textContent.trim().slice(0, 40)}`);
  }
  return bad;
}"""


def test_text_contrast_is_at_least_4_5(page, server):
    _search(page, server, "ZZ9 9ZZ")  # the error message is on screen too
    expect(page.locator("#search-error")).to_be_visible()
    page.fill("#postcode", "TE1 1ST")
    page.press("#postcode", "Enter")
    _wait_results(page, 6)
    page.locator(ITEMS).first.click()
    expect(page.locator("#details-name")).to_be_visible()
    assert page.evaluate(CONTRAST_JS) == []


def test_back_button_restores_the_previous_search(page, server):
    _search(page, server)
    _wait_results(page, 6)
    open_filters(page)
    page.select_option("#category", "library")
    _wait_results(page, 1)
    close_filters(page)
    page.fill("#postcode", "ZZ9 9ZZ")
    page.press("#postcode", "Enter")
    expect(page.locator("#search-error")).to_be_visible()
    page.go_back()
    expect(page.locator("#postcode")).to_have_value("TE1 1ST")
    expect(page.locator("#category")).to_have_value("library")
    _wait_results(page, 1)
    expect(page.locator("#search-error")).to_be_hidden()


def test_typing_before_the_page_is_ready_is_kept_and_searched(page, server):
    """On a slow connection people type and press Enter before the config has arrived."""

    def slow_config(route):
        page.wait_for_timeout(1500)
        route.continue_()

    page.route("**/api/config", slow_config)
    page.goto(server + "/", wait_until="commit")
    page.locator("#postcode").wait_for()
    page.fill("#postcode", "TE1 1ST")
    page.press("#postcode", "Enter")
    assert not page.evaluate("document.querySelector('.leaflet-container')"), "the page was ready already"
    expect(page.locator("#status")).to_have_text(re.compile(r"^6 places found near TE1 1ST"))
    expect(page.locator("#postcode")).to_have_value("TE1 1ST")
    _wait_results(page, 6)


def test_details_say_which_facilities_are_near_and_facilities_are_not_results(page, server):
    """Issue 17: toilets are facilities, shown near places ("Public toilets, 80 m away"), never listed as places."""
    library = _place_id(server, "Testshire Library")
    page.goto(f"{server}/?postcode=TE1%201ST#place={library}")
    expect(page.locator("#details-name")).to_have_text("Testshire Library")
    nearby = page.locator("#details .details-section", has=page.locator("h3", has_text="Nearby"))
    expect(nearby).to_contain_text("Public toilets, 80 m away")
    expect(page.locator("#place-list")).not_to_contain_text("Public toilets")
    # axe-core runs on this same panel in test_public_flows (the library's details, Nearby included).
    assert page.watch.page_errors == [] and page.watch.csp_violations(page) == []
