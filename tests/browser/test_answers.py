"""Visitors help complete a place in real Chromium: answer one question, send opening hours on the
weekly form, a moderator approves them, the page shows who-said-what-when; axe-core finds nothing."""

from __future__ import annotations

import json
import urllib.request
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import MODERATOR, axe_violations, own_server


@pytest.fixture(scope="module")
def server(tmp_path_factory, _pg):
    """This module publishes what moderators approve: it gets a server of its own, so the shared
    one keeps the places and facts the other modules count."""
    with own_server(tmp_path_factory, _pg, "answers") as url:
        yield url

pytestmark = pytest.mark.browser
NAME = "Far Away Library"  # 40 km from the other tests' searches, so their counts stay put


def _place_id(server: str, name: str) -> int:
    with urllib.request.urlopen(f"{server}/api/places/search?q={quote(name)}&limit=5") as r:
        data = json.load(r)
    return next(f["id"] for f in data["features"] if f["properties"]["name"] == name)


@pytest.fixture
def axe_page(browser):
    """A page whose CSP lets the test inject axe-core (users never get axe)."""
    from tests.browser.conftest import PageWatch

    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB", bypass_csp=True)
    pg = ctx.new_page()
    pg.set_default_timeout(10_000)
    pg.watch = PageWatch(pg)
    yield pg
    ctx.close()


def test_answer_questions_then_a_moderator_confirms_them(page, server):
    place = _place_id(server, NAME)
    page.goto(f"{server}/places/{place}")
    form = page.locator("#answer-hearing_loop-form")
    expect(form.locator("legend")).to_have_text("Is there a hearing loop?")
    form.locator("button", has_text="Send answer").click()  # nothing chosen: told what to do, nothing sent
    expect(form.locator("[data-error]")).to_contain_text("please fill this in")
    form.get_by_label("Yes").check()
    form.locator("button", has_text="Send answer").click()
    expect(form.locator("[data-done]")).to_contain_text("A moderator will check your answer")

    hours = page.locator("#answer-opening_hours-form")
    hours.get_by_label("Tuesday opens").fill("10:00")
    hours.get_by_label("Tuesday closes").fill("09:00")
    hours.locator("button", has_text="Send opening hours").click()
    expect(hours.locator("[data-error]")).to_contain_text("Tuesday: the closing time must be after the opening time")
    hours.get_by_label("Tuesday closes").fill("12:00")
    hours.get_by_label("Saturday opens").fill("09:30")
    hours.get_by_label("Saturday closes").fill("11:30")
    hours.locator("button", has_text="Send opening hours").click()
    expect(hours.locator("[data-done]")).to_contain_text("A moderator will check your answer")

    page.goto(server + "/moderate")
    if page.locator("#page-sign-in").count():
        page.fill("#si-email", MODERATOR[0])
        page.fill("#si-password", MODERATOR[1])
        page.click("#page-sign-in button[type=submit]")
    item = page.locator(".queue-item", has_text=f"Suggested change: {NAME}")
    expect(item).to_contain_text("Tu 10:00-12:00; Sa 09:30-11:30")
    item.get_by_role("button", name="Approve", exact=True).click()
    expect(page.locator("#queue-status")).to_contain_text("Change approved")

    page.goto(f"{server}/places/{place}")
    main = page.locator("main")
    expect(main).to_contain_text("Hearing loop: yes — a visitor said so on")
    expect(main).to_contain_text("confirmed by a moderator on")
    expect(main).to_contain_text("Tue 10:00-12:00")
    expect(page.locator("#answer-hearing_loop-form")).to_have_count(0)  # answered, no longer asked
    assert page.watch.page_errors == []


def test_help_complete_forms_have_no_axe_violations(axe_page, server):
    page = axe_page
    page.goto(f"{server}/places/{_place_id(server, 'Riverside Park')}")
    expect(page.locator("#answer-seating-form")).to_be_visible()
    assert axe_violations(page) == []
    page.locator("#answer-seating-form button").click()  # the error state
    expect(page.locator("#answer-seating-form [data-error]")).to_be_visible()
    assert axe_violations(page) == []
