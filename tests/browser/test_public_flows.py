"""Residents' flows in real Chromium: name search, more filters, place pages, contributions,
moderation, rate limits, XSS payloads and axe-core accessibility checks."""

from __future__ import annotations

import json
import re
import urllib.request
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    MODERATOR,
    XSS_IMG,
    XSS_SCRIPT,
    XSS_TEMPLATE,
    axe_violations,
    open_filters,
    tab_to,
)

pytestmark = pytest.mark.browser

ITEMS = "#place-list button.place-button"
PINS = ".leaflet-marker-pane .pin"
PAYLOADS = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "${alert(1)}", "back\\`tick",
            "javascript:alert(1)"]


def _names(page) -> list[str]:
    return page.locator(f"{ITEMS} .place-name").all_text_contents()


def _place_id(server: str, name: str) -> int:
    with urllib.request.urlopen(f"{server}/api/places/search?q={quote(name)}&limit=5") as r:
        data = json.load(r)
    return next(f["id"] for f in data["features"] if f["properties"]["name"] == name)








def test_search_by_place_name_ignores_case_and_accents(page, server):
    page.goto(server + "/")
    page.fill("#postcode", "LIBRARY")
    page.press("#postcode", "Enter")
    expect(page.locator(ITEMS)).to_have_count(2)
    assert sorted(_names(page)) == ["Far Away Library", "Testshire Library"]
    expect(page.locator(PINS)).to_have_count(2)
    expect(page.locator("#status")).to_contain_text("2 places found named like")
    assert "q=LIBRARY" in page.url
    page.fill("#postcode", "cafe")  # the place is "Café ${alert(1)} \` corner"
    page.press("#postcode", "Enter")
    expect(page.locator(ITEMS)).to_have_count(1)
    assert _names(page) == [XSS_TEMPLATE]
    # A shared URL restores the name search.
    page.goto(server + "/?q=riverside")
    expect(page.locator(ITEMS)).to_have_count(1)
    expect(page.locator("#postcode")).to_have_value("riverside")
    page.fill("#postcode", "no such place here")
    page.press("#postcode", "Enter")
    expect(page.locator("#status")).to_contain_text("No places found")
    expect(page.locator("#postcode")).to_have_value("no such place here")


def test_drop_in_step_free_quiet_and_open_at_filters_change_map_and_list(page, server):
    page.goto(server + "/?postcode=TE1+1ST")
    expect(page.locator(ITEMS)).to_have_count(6)
    open_filters(page)
    page.check("#drop-in")
    expect(page.locator(ITEMS)).to_have_count(3)
    expect(page.locator(PINS)).to_have_count(3)
    assert _names(page) == ["Testshire Library", XSS_IMG, "Riverside Park"]
    page.check("#step-free")
    expect(page.locator(ITEMS)).to_have_count(1)
    assert _names(page) == ["Riverside Park"]
    assert "drop_in=true" in page.url and "step_free=true" in page.url
    page.uncheck("#drop-in")
    page.uncheck("#step-free")
    page.check("#quiet")
    # Wait for the names, not the count: the step-free list before it also had one place.
    expect(page.locator(f"{ITEMS} .place-name")).to_have_text(["St Anne's Church Hall"])
    page.uncheck("#quiet")
    # Sunday 8 March 2026, 03:00: only the 24/7 library and the always-open hall.
    page.fill("#open-at", "2026-03-08T03:00")
    page.dispatch_event("#open-at", "change")
    expect(page.locator(ITEMS)).to_have_count(2)
    expect(page.locator(PINS)).to_have_count(2)
    assert _names(page) == ["Testshire Library", "St Anne's Church Hall"]
    assert "open_at=2026-03-08T03%3A00" in page.url
    expect(page.locator("#status")).to_contain_text("Showing only: open Sunday")


def test_place_page_is_a_real_url_with_everything_known(page, server):
    library = _place_id(server, "Testshire Library")
    response = page.goto(f"{server}/places/{library}")
    assert response.status == 200
    expect(page).to_have_title(re.compile("^Testshire Library"))
    expect(page.locator("h1")).to_have_text("Testshire Library")
    main = page.locator("main")
    for words in ("Free to use", "Drop in — no referral or membership", "Open now", "Wheelchair accessible",
                  "Hearing loop", "OpenStreetMap, ODbL", "Added to kindmap: 1 March 2026", "Activities here",
                  "Kindness notes", "Say thank you", "Report a problem"):
        expect(main).to_contain_text(words)
    # From the map's details panel, the full page is one link away.
    page.goto(f"{server}/?postcode=TE1+1ST#place={library}")
    expect(page.locator("#details a", has_text="Full page")).to_have_attribute("href", f"/places/{library}")


def test_keyboard_only_search_open_place_and_send_a_kindness_note(page, server, app):
    page.goto(server + "/")
    expect(page.locator("#category option")).not_to_have_count(1)
    tab_to(page, "document.activeElement.id === 'postcode'")
    page.keyboard.type("TE1 1ST")
    page.keyboard.press("Enter")
    expect(page.locator(ITEMS)).to_have_count(6)
    tab_to(page, "document.activeElement.classList.contains('place-button')")
    page.keyboard.press("Enter")
    expect(page.locator("#details-name")).to_be_focused()
    tab_to(page, "document.activeElement.textContent.startsWith('Say thank you')")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Testshire Library")
    tab_to(page, "document.activeElement.id === 'kindness-text'")
    page.keyboard.type("Thank you for the warm welcome every Tuesday.")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Send thank-you note"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    done = page.locator("#kindness-form [data-done]")
    expect(done).to_contain_text("Your note will appear on this page once a moderator has read it")
    expect(done).to_be_focused()
    expect(page.locator("#kindness-text")).to_have_value("")  # accepted, so the box is ready for another


def test_empty_and_bad_forms_keep_what_was_typed(page, server):
    page.goto(server + "/suggest")
    page.click("text=Send suggestion")
    error = page.locator("#suggest-form [data-error]")
    expect(error).to_contain_text("Name of the place: please fill this in")
    expect(page.locator("#s-name")).to_have_attribute("aria-invalid", "true")
    page.fill("#s-name", "Hill Shed")
    page.select_option("#s-category", "park")
    page.fill("#s-postcode", "ZZ9 9ZZ")
    page.fill("#s-description", "Tea and a chat.\nEveryone welcome.")
    page.click("text=Send suggestion")
    expect(error).to_contain_text("Postcode: we do not know ZZ9 9ZZ")
    expect(page.locator("#s-postcode")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#s-name")).to_have_value("Hill Shed")
    expect(page.locator("#s-description")).to_have_value("Tea and a chat.\nEveryone welcome.")
    expect(page.locator("#s-category")).to_have_value("park")


def test_rate_limit_shows_a_friendly_message_and_keeps_the_text(page, server, app):
    from kindmap.services.accounts.ratelimit import ContributionLimiter, KindLimits

    roomy = app.state.contribution_limiter
    app.state.contribution_limiter = ContributionLimiter.uniform(KindLimits(per_target=1, per_client=100, total=100))
    try:
        library = _place_id(server, "Testshire Library")
        page.goto(f"{server}/places/{library}")
        page.fill("#kindness-text", "First thank-you note")
        page.click("text=Send thank-you note")
        expect(page.locator("#kindness-form [data-done]")).to_contain_text("Thank you")
        page.fill("#kindness-text", "Second thank-you note, kept on screen")
        page.click("text=Send thank-you note")
        error = page.locator("#kindness-form [data-error]")
        expect(error).to_contain_text("Too many submissions from you in a short time")
        expect(error).to_contain_text("what you wrote is kept")
        expect(page.locator("#kindness-text")).to_have_value("Second thank-you note, kept on screen")
    finally:
        app.state.contribution_limiter = roomy


def _moderate(page, server) -> None:
    page.goto(server + "/moderate")
    if page.locator("#page-sign-in").count():
        page.fill("#si-email", MODERATOR[0])
        page.fill("#si-password", MODERATOR[1])
        page.click("#page-sign-in button[type=submit]")
    expect(page.locator("#queue")).to_be_visible()
    expect(page.locator("#queue-status")).to_contain_text("waiting")


def test_suggestion_approved_by_a_moderator_appears_on_the_map_and_payloads_stay_inert(page, server):
    name = "Green Shed " + PAYLOADS[1]
    page.goto(server + "/suggest")
    page.fill("#s-name", name)
    page.select_option("#s-category", "community_centre")
    page.fill("#s-postcode", "TE1 1ST")
    page.fill("#s-address", PAYLOADS[0])
    page.fill("#s-description", " ".join(PAYLOADS))
    page.fill("#s-website", "javascript:alert(1)")
    page.click("text=Send suggestion")
    expect(page.locator("#suggest-form [data-error]")).to_contain_text("Website: give a full web address")
    page.fill("#s-website", "https://example.org/shed")
    page.click("text=Send suggestion")
    expect(page.locator("#suggest-form [data-done]")).to_contain_text("A moderator will check your suggestion")

    _moderate(page, server)
    item = page.locator(".queue-item", has_text=name)
    expect(item).to_contain_text(PAYLOADS[0])  # shown as text
    # The moderator moves the pin (away from the other tests' postcode, so their counts stay put).
    item.locator("button", has_text="Edit before approving").click()
    expect(item.locator("input[id^=lon-]")).to_have_value(re.compile(r"^-0\.72"))
    item.locator("input[id^=lon-]").fill("-0.2")
    item.locator("input[id^=lat-]").fill("53.1")
    item.locator("button", has_text="Approve and publish").click()
    expect(page.locator("#queue-status")).to_contain_text("Published")

    page.goto(server + "/?q=green+shed")
    expect(page.locator(ITEMS)).to_have_count(1)
    assert _names(page) == [name]
    page.locator(ITEMS).first.click()
    expect(page.locator("#details")).to_contain_text("Suggested by a resident")
    expect(page.locator("#details")).to_contain_text("Approved on")
    expect(page.locator(PINS)).to_have_count(1)
    page.wait_for_timeout(200)
    assert page.watch.dialogs == [] and page.watch.page_errors == []
    assert page.locator("img[src='x']").count() == 0


def test_kindness_notes_with_payloads_are_shown_after_approval_as_text(page, server):
    hall = _place_id(server, "St Anne's Church Hall")
    page.goto(f"{server}/places/{hall}")
    expect(page.locator("#h-notes + p")).to_contain_text("No notes yet")
    for text in PAYLOADS[:4]:
        page.fill("#kindness-text", f"Thanks {text}")
        page.click("text=Send thank-you note")
        expect(page.locator("#kindness-form [data-done]")).to_contain_text("Thank you")
    page.reload()
    expect(page.locator(".notes li")).to_have_count(0)  # not before approval

    _moderate(page, server)
    item = page.locator(".queue-item", has_text="St Anne's Church Hall")
    item.locator("button", has_text="Approve").first.click()
    expect(page.locator("#queue-status")).to_contain_text("Thank-you notes approved")

    page.goto(f"{server}/places/{hall}")
    notes = page.locator(".notes blockquote").all_text_contents()
    assert sorted(notes) == sorted(f"Thanks {t}" for t in PAYLOADS[:4])
    page.goto(f"{server}/?postcode=TE1+1ST#place={hall}")
    expect(page.locator("#details .kindness-notes li")).to_have_count(4)
    page.wait_for_timeout(200)
    assert page.watch.dialogs == [] and page.watch.page_errors == []
    assert page.locator("script:not([src])").count() == 0


@pytest.fixture
def axe_page(browser):
    """A page whose CSP lets the test inject axe-core (users never get axe; the other tests keep the CSP)."""
    from tests.browser.conftest import PageWatch

    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB", bypass_csp=True)
    pg = ctx.new_page()
    pg.set_default_timeout(10_000)
    pg.watch = PageWatch(pg)
    yield pg
    ctx.close()


def test_axe_finds_no_violations_on_map_place_and_form_pages(axe_page, server):
    page = axe_page
    library = _place_id(server, "Testshire Library")
    page.goto(f"{server}/?postcode=TE1+1ST#place={library}")
    expect(page.locator("#details-name")).to_have_text("Testshire Library")
    expect(page.locator("#details .details-links")).to_be_visible()
    assert axe_violations(page) == []
    page.goto(f"{server}/")  # browsing, no search
    expect(page.locator(PINS)).not_to_have_count(0)
    assert axe_violations(page) == []
    page.goto(f"{server}/places/{_place_id(server, XSS_SCRIPT)}")
    assert axe_violations(page) == []
    page.click("text=Send report")  # the error state of a form
    expect(page.locator("#problem-form [data-error]")).to_be_visible()
    assert axe_violations(page) == []
    page.goto(f"{server}/suggest")
    page.click("text=Send suggestion")
    expect(page.locator("#suggest-form [data-error]")).to_be_visible()
    assert axe_violations(page) == []
    page.goto(f"{server}/moderate")
    assert axe_violations(page) == []


@pytest.mark.parametrize("path", ["/?postcode=TE1+1ST", "/places/{library}"])
def test_mobile_screenshots(browser, server, artifacts, path):
    ctx = browser.new_context(viewport={"width": 375, "height": 812}, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    page.goto(server + path.format(library=_place_id(server, "Testshire Library")))
    page.locator("h1").first.wait_for()
    if "postcode" in path:
        expect(page.locator(ITEMS)).to_have_count(6)
    page.wait_for_timeout(300)
    name = "mobile-map" if "postcode" in path else "mobile-place"
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    ctx.close()
