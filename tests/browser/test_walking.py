"""Walking time and free times on the public map, in real Chromium (see conftest for the
street grid: a river north of the search point with one bridge 900 m east)."""

from __future__ import annotations

import json
import math
import re
import urllib.error
import urllib.request
from datetime import date, datetime, timedelta
from urllib.parse import quote, urlencode

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    ARTIFACTS,
    FAR_POSTCODE,
    XSS_IMG,
    axe_violations,
    open_filters,
    tab_to,
)
from tests.browser.test_public_flows import axe_page  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

ITEMS = "#place-list button.place-button"
PINS = ".leaflet-marker-pane .pin"
AREA = ".leaflet-overlay-pane path.walk-area"
PLACE_AREA = ".leaflet-overlay-pane path.walk-area-place"


def _api(server: str, **params) -> dict:
    with urllib.request.urlopen(f"{server}/api/places?{urlencode(params, doseq=True)}") as r:
        return json.load(r)


def _names(page) -> list[str]:
    return page.locator(f"{ITEMS} .place-name").all_text_contents()


def _api_names(body: dict) -> list[str]:
    return [f["properties"]["name"] for f in body["features"]]





def test_walking_time_orders_by_minutes_and_shades_the_reachable_area(page, server):
    by_walk = _api(server, postcode="TE1 1ST", max_walk_minutes=30)
    by_distance = _api(server, postcode="TE1 1ST", radius_m=3000)
    minutes = [f["properties"]["walk_minutes"] for f in by_walk["features"]]
    assert minutes == sorted(minutes) and len(minutes) == 5
    # Across the river: 400 m away but round by the bridge, so it comes last on foot.
    assert _api_names(by_walk)[-1] == XSS_IMG and _api_names(by_distance)[1] == XSS_IMG

    page.goto(f"{server}/?postcode=TE1+1ST")
    expect(page.locator(ITEMS)).to_have_count(6)
    open_filters(page)
    expect(page.locator("#walk-field")).to_be_hidden()
    page.check("#measure-walk")
    expect(page.locator("#radius-field")).to_be_hidden()
    page.select_option("#walk", "30")
    expect(page.locator("#results-heading")).to_have_text(
        "Places within a 30-minute walk of TE1 1ST, on footpaths and streets")
    expect(page.locator(ITEMS)).to_have_count(5)
    expect(page.locator(PINS)).to_have_count(5)
    assert _names(page) == _api_names(by_walk)
    metas = page.locator(f"{ITEMS} .place-meta").all_text_contents()
    for meta, m in zip(metas, minutes):
        assert f"{max(1, math.floor(m + 0.5))} min walk" in meta  # JavaScript rounds halves up
    assert "estimated" not in " ".join(metas)
    expect(page.locator("#status")).to_contain_text("5 places found near TE1 1ST, within a 30-minute walk, nearest on foot first")
    # The reachable area is drawn as one SVG path under the pins, with words beside the map.
    expect(page.locator(AREA)).to_have_count(1)
    assert page.locator(AREA).get_attribute("d").count("L") > 10
    expect(page.locator("#map-area-note")).to_have_text("The shaded area on the map is within a 30-minute walk of TE1 1ST.")
    assert "walk=30" in page.url and "radius_m" not in page.url
    # Back to distance: the area and the walking words go.
    page.check("#measure-distance")
    expect(page.locator(ITEMS)).to_have_count(6)
    expect(page.locator(AREA)).to_have_count(0)
    expect(page.locator("#results-heading")).to_have_text("Places")
    assert "walk=" not in page.url
    assert page.watch.page_errors == []


def test_pace_changes_results_and_the_url_brings_it_all_back(page, server):
    usual = _api_names(_api(server, postcode="TE1 1ST", max_walk_minutes=15))
    slow = _api_names(_api(server, postcode="TE1 1ST", max_walk_minutes=15, profile="slow"))
    assert len(slow) < len(usual)

    page.goto(f"{server}/?postcode=TE1+1ST&walk=15")
    expect(page.locator("#measure-walk")).to_be_checked()
    expect(page.locator("#walk")).to_have_value("15")
    expect(page.locator(ITEMS)).to_have_count(len(usual))
    assert _names(page) == usual
    open_filters(page)
    page.select_option("#pace", "slow")
    expect(page.locator(ITEMS)).to_have_count(len(slow))
    assert _names(page) == slow
    expect(page.locator("#results-heading")).to_have_text(
        "Places within a 15-minute walk of TE1 1ST at a slower pace, on footpaths and streets")
    assert "pace=slow" in page.url and "walk=15" in page.url
    page.select_option("#pace", "step_free")
    expect(page.locator("#results-heading")).to_contain_text("a 15-minute step-free walk")
    assert "pace=step_free" in page.url

    page.goto(page.url)  # a shared link restores the same search
    expect(page.locator("#pace")).to_have_value("step_free")
    expect(page.locator("#measure-walk")).to_be_checked()
    open_filters(page)
    expect(page.locator("#walk-field")).to_be_visible()
    expect(page.locator("#results-heading")).to_have_text(
        "Places within a 15-minute step-free walk of TE1 1ST, on footpaths and streets")


def test_estimated_walking_times_are_labelled_where_there_is_no_path_map(page, server):
    body = _api(server, postcode=FAR_POSTCODE, max_walk_minutes=15)
    assert body["search"]["travel"] == "estimated"
    minutes = body["features"][0]["properties"]["walk_minutes"]

    page.goto(f"{server}/?postcode={quote(FAR_POSTCODE)}&walk=15")
    expect(page.locator(ITEMS)).to_have_count(1)
    expect(page.locator(ITEMS).first).to_contain_text(f"about {math.floor(minutes + 0.5)} min walk (estimated)")
    expect(page.locator("#results-heading")).to_have_text(
        f"Places within about a 15-minute walk of {FAR_POSTCODE}, estimated from straight-line distance "
        "(there is no footpath map for this area yet)")
    expect(page.locator("#status")).to_contain_text("Walking times here are estimates")
    expect(page.locator(AREA)).to_have_count(1)  # the estimated reach is still drawn…
    expect(page.locator("#map-area-note")).to_contain_text("(an estimate)")  # …and called an estimate
    page.locator(ITEMS).first.click()
    page.get_by_role("button", name="Show walking area").click()
    expect(page.locator("#details .details-walk-note")).to_contain_text(
        "within about a 15-minute walk of Far Away Library, estimated from straight-line distance")
    expect(page.locator(PLACE_AREA)).to_have_count(1)


def test_free_times_show_the_next_opening_and_bad_times_keep_the_input(page, server):
    # A day that is not today, so the next opening in that window starts when the window does.
    day = (date.today() + timedelta(days=2)).strftime("%a")
    body = _api(server, postcode="TE1 1ST", window=f"{day} 14:00-16:00")
    expected = []
    for f in body["features"]:
        when = datetime.fromisoformat(f["properties"]["next_open"])
        assert when.strftime("%a") == day and "14:00" <= when.strftime("%H:%M") < "16:00"
        expected.append(f"Open {when.strftime('%A')} from {when.strftime('%H:%M')}")

    page.goto(f"{server}/?postcode=TE1+1ST")
    expect(page.locator(ITEMS)).to_have_count(6)
    open_filters(page)
    expect(page.locator("#free-from")).to_be_hidden()  # optional, so folded away at first
    page.click("#when-box summary")
    page.select_option("#free-from", "14:00")
    page.select_option("#free-to", "16:00")
    expect(page.locator(ITEMS)).to_have_count(6)  # no day ticked: no time filter yet
    page.check(f"#day-{day.lower()}")
    expect(page.locator(ITEMS)).to_have_count(len(body["features"]))
    assert _names(page) == _api_names(body)
    assert page.locator(f"{ITEMS} .place-when").all_text_contents() == expected
    day_name = (date.today() + timedelta(days=2)).strftime("%A")
    assert f"Open {day_name} from 14:00" in expected  # the 24/7 library
    expect(page.locator("#status")).to_contain_text(f"open when you are free ({day} 14:00-16:00)")
    assert f"window={day}+14%3A00-16%3A00" in page.url

    # A time range that ends before it starts: the API's words, in the alert in the sheet beside
    # the times (the search box's message line would be behind it); the choices stay.
    status, detail = _status_detail(f"{server}/api/places?postcode=TE1%201ST&window={quote(day + ' 16:00-14:00')}")
    assert status == 422
    page.select_option("#free-from", "16:00")
    page.select_option("#free-to", "14:00")
    error = page.locator("#filters-error")
    expect(error).to_have_text(detail)
    expect(error).to_be_in_viewport()
    expect(error).to_have_attribute("role", "alert")
    expect(page.locator("#free-from")).to_have_value("16:00")
    expect(page.locator("#free-to")).to_have_value("14:00")
    expect(page.locator(f"#day-{day.lower()}")).to_be_checked()
    expect(page.locator("#free-to")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#postcode")).not_to_have_attribute("aria-invalid", "true")
    page.select_option("#free-to", "18:00")
    expect(error).to_be_hidden()
    expect(page.locator(ITEMS)).not_to_have_count(0)
    expect(page.locator("#free-to")).not_to_have_attribute("aria-invalid", "true")


def _status_detail(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url) as r:
            return r.status, ""
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)["detail"]


def test_show_walking_area_from_a_place(page, server):
    page.goto(f"{server}/?postcode=TE1+1ST&pace=slow")
    expect(page.locator(ITEMS)).to_have_count(6)
    page.locator(ITEMS).filter(has_text="Riverside Park").click()
    expect(page.locator("#details-name")).to_have_text("Riverside Park")
    button = page.get_by_role("button", name="Show walking area")
    expect(button).to_have_attribute("aria-pressed", "false")
    button.click()
    expect(page.locator(PLACE_AREA)).to_have_count(1)
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#details .details-walk-note")).to_have_text(
        "The dashed shaded area on the map is within a 15-minute walk of Riverside Park at a slower pace, "
        "on footpaths and streets.")
    assert any("/api/isochrone?" in u and "profile=slow" in u and "minutes=15" in u for u in page.watch.requests)
    button.click()  # pressed again: hidden
    expect(page.locator(PLACE_AREA)).to_have_count(0)
    button.click()
    expect(page.locator(PLACE_AREA)).to_have_count(1)
    page.click("#details .details-close")  # closing the panel takes its area away
    expect(page.locator(PLACE_AREA)).to_have_count(0)
    assert page.watch.page_errors == []


def test_keyboard_only_walking_time_free_days_and_place_area(page, server):
    page.goto(server + "/")
    expect(page.locator("#category option")).not_to_have_count(1)
    tab_to(page, "document.activeElement.id === 'postcode'")
    page.keyboard.type("TE1 1ST")
    page.keyboard.press("Enter")
    expect(page.locator(ITEMS)).to_have_count(6)
    expect(page.locator("#status")).to_be_focused()  # focus moves to the result summary
    # The filters sheet opens from its button; focus goes into it.
    tab_to(page, "document.activeElement.id === 'filters-open'")
    page.keyboard.press("Enter")
    expect(page.locator("#filters")).to_be_visible()
    # The radio group: Tab reaches the chosen one, an arrow key picks walking time.
    tab_to(page, "document.activeElement.id === 'measure-distance'")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#measure-walk")).to_be_checked()
    expect(page.locator("#walk-field")).to_be_visible()
    expect(page.locator("#results-heading")).to_contain_text("15-minute walk")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "walk"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("ArrowDown")  # 15 -> 20 minutes
    expect(page.locator("#walk")).to_have_value("20")
    expect(page.locator("#results-heading")).to_contain_text("20-minute walk")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "pace"
    page.keyboard.press("ArrowDown")
    expect(page.locator("#pace")).to_have_value("slow")
    expect(page.locator("#results-heading")).to_contain_text("slower pace")
    tab_to(page, "document.activeElement.tagName === 'SUMMARY'")
    page.keyboard.press("Enter")  # unfold "When can you go?"
    expect(page.locator("#day-sat")).to_be_visible()
    tab_to(page, "document.activeElement.id === 'day-sat'")
    page.keyboard.press("Space")
    expect(page.locator("#day-sat")).to_be_checked()
    expect(page.locator("#status")).to_contain_text("Sat 10:00-12:00")
    expect(page.locator(f"{ITEMS} .place-when").first).to_contain_text(re.compile(r"^Open Saturday from \d\d:\d\d$"))
    page.keyboard.press("Escape")  # closes the sheet; focus goes back to its button
    expect(page.locator("#filters")).to_be_hidden()
    expect(page.locator("#filters-open")).to_be_focused()
    tab_to(page, "document.activeElement.classList.contains('place-button')")
    page.keyboard.press("Enter")
    expect(page.locator("#details-name")).to_be_focused()
    tab_to(page, "document.activeElement.textContent === 'Show walking area'", limit=10)
    page.keyboard.press("Enter")
    expect(page.locator(PLACE_AREA)).to_have_count(1)
    expect(page.locator("#details .details-walk-note")).to_contain_text("within a 15-minute walk of Testshire Library at a slower pace")
    assert "walk=20" in page.url and "pace=slow" in page.url and "window=Sat" in page.url


def test_axe_finds_no_violations_with_walking_time_and_free_times_on(axe_page, server):  # noqa: F811
    page = axe_page
    page.goto(f"{server}/?postcode=TE1+1ST&walk=30&pace=slow&window=Thu+14%3A00-16%3A00")
    expect(page.locator(AREA)).to_have_count(1)
    expect(page.locator(f"{ITEMS} .place-when")).not_to_have_count(0)
    page.locator(ITEMS).first.click()
    page.get_by_role("button", name="Show walking area").click()
    expect(page.locator(PLACE_AREA)).to_have_count(1)
    assert axe_violations(page) == []
    page.screenshot(path=str(ARTIFACTS / "desktop-walking.png"))
    page.goto(f"{server}/?postcode={quote(FAR_POSTCODE)}&walk=15")
    expect(page.locator(ITEMS)).to_have_count(1)
    assert axe_violations(page) == []


def test_mobile_walking_screenshot(browser, server, artifacts):
    ctx = browser.new_context(viewport={"width": 375, "height": 812}, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    page.goto(f"{server}/?postcode=TE1+1ST&walk=30&window=Thu+14%3A00-16%3A00")
    expect(page.locator(ITEMS)).not_to_have_count(0)
    page.click("#show-map")  # phones show the list or the map; the map draws the area
    expect(page.locator(AREA)).to_have_count(1)
    expect(page.locator("#map-legend")).to_be_visible()
    open_filters(page)
    expect(page.locator("#day-thu")).to_be_visible()  # the link's free times are unfolded and ticked
    expect(page.locator("#day-thu")).to_be_checked()
    page.wait_for_timeout(400)
    page.screenshot(path=str(artifacts / "mobile-walking.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    small = page.evaluate(
        """() => [...document.querySelectorAll('main button, main input, main select')]
            .filter(e => e.offsetParent !== null)
            .map(e => [e.id || e.className, e.getBoundingClientRect()])
            .filter(([, r]) => r.width < 24 || r.height < 24).map(([n]) => n)""")
    assert small == []
    ctx.close()


def test_a_form_sent_before_the_scripts_ran_is_read_the_same_way(page, server):
    """On a slow connection Enter can send the plain HTML form: every field, hidden ones too."""
    page.goto(f"{server}/?postcode=TE1+1ST&measure=distance&radius_m=3000&walk=15&pace=walk"
              "&day=Thu&free_from=14%3A00&free_to=16%3A00")
    expect(page.locator("#measure-distance")).to_be_checked()
    expect(page.locator("#results-heading")).to_have_text("Places")  # distance, not walking time
    expect(page.locator("#day-thu")).to_be_checked()
    expect(page.locator("#status")).to_contain_text("open when you are free (Thu 14:00-16:00)")
    expect(page.locator(ITEMS)).to_have_count(len(_api(server, postcode="TE1 1ST", window="Thu 14:00-16:00")["features"]))
    page.goto(f"{server}/?postcode=TE1+1ST&measure=walk&walk=10&pace=slow")
    expect(page.locator("#results-heading")).to_contain_text("a 10-minute walk of TE1 1ST at a slower pace")
