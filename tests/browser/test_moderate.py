"""The review queue in real Chromium, worked by keyboard alone: approve, edit and reject items;
plain labels and relative dates; a suggested change side by side with the current record; filters
and bulk actions; axe-core 0 violations in every state, under the real CSP."""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import MODERATOR, axe_violations, own_server, tab_to


@pytest.fixture(scope="module")
def server(tmp_path_factory, _pg):
    """This module publishes what moderators approve: it gets a server of its own, so the shared
    one keeps the places and facts the other modules count."""
    with own_server(tmp_path_factory, _pg, "moderate") as url:
        yield url

pytestmark = pytest.mark.browser
SHED = "Keyboard Lane Shed"
HALL = "St Anne's Church Hall"


def _post(server: str, path: str, body: dict) -> int:
    req = urllib.request.Request(server + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return r.status


def _place_id(server: str, name: str) -> int:
    with urllib.request.urlopen(server + "/api/places/search?q=" + urllib.parse.quote(name)) as r:
        return json.load(r)["features"][0]["id"]


@pytest.fixture
def queue(server):
    """A suggested new place, two thank-you notes, and visitors disagreeing about step-free access."""

    hall = _place_id(server, HALL)
    assert _post(server, "/api/contributions/suggestions", {"name": SHED, "category": "community_shed", "postcode": "TE1 1ST",
                                                          "description": "Tea and tools, everyone welcome"}) == 202
    assert _post(server, "/api/contributions/suggestions", {"name": "Spam Hall", "category": "community_centre", "postcode": "TE1 1ST"}) == 202
    for text in ("Lovely warm welcome", "Thanks for the tea"):
        assert _post(server, "/api/contributions/kindness-notes", {"place_id": hall, "text": text}) == 202
    for answer in ("yes", "no"):
        assert _post(server, "/api/contributions/answers", {"place_id": hall, "question": "step_free", "answer": answer}) == 202
    return hall


def _sign_in(page, server):
    page.goto(server + "/moderate")
    page.fill("#si-email", MODERATOR[0])
    page.fill("#si-password", MODERATOR[1])
    page.press("#si-password", "Enter")
    expect(page.locator("#queue-status")).to_contain_text("waiting shown")


def _focused(page, js: str) -> None:
    tab_to(page, f"(() => {{ const a = document.activeElement; return !!a && ({js}); }})()", limit=200)


def _item(page, text):
    return page.locator(".queue-item", has_text=text)


def test_moderator_approves_edits_and_rejects_by_keyboard_alone(page, server, queue, artifacts):
    _sign_in(page, server)
    shed = _item(page, SHED)
    expect(shed).to_contain_text("Men's or community shed")  # the category's label, not its slug
    expect(shed).not_to_contain_text("community_shed")
    expect(shed.locator(".queue-when time")).to_have_text(re.compile(r"^(just now|\d+ (seconds?|minutes?) ago)$"))
    # The suggested change, side by side: recorded now vs suggested, with where the record came from.
    change = _item(page, "Suggested change: " + HALL)
    expect(change.locator(".diff-table thead th")).to_have_text(["", "Recorded now", "Suggested"])
    expect(change.locator(".diff-table tbody th")).to_have_text(["Step-free entrance"])
    expect(change.locator(".diff-table legend")).to_have_text("Visitors disagree: which holds?")
    expect(change.locator(".diff-source").first).to_contain_text("from")

    # Filter by keyboard: only suggested new places.
    page.focus("#filter-kind")
    page.keyboard.press("ArrowDown")
    expect(page.locator("#filter-kind")).to_have_value("new_place")
    expect(page.locator(".queue-item")).to_have_count(2)

    # Edit, then approve: the name is corrected before publishing.
    _focused(page, f"a.textContent === 'Edit before approving' && a.closest('li').textContent.includes({json.dumps(SHED)})")
    page.keyboard.press("Enter")
    expect(page.locator(f"[id^=name-]:focus")).to_have_value(SHED)
    page.keyboard.press("Control+A")
    page.keyboard.type(SHED + " (Oakham)")
    _focused(page, "a.textContent === 'Approve and publish'")
    page.keyboard.press("Enter")
    expect(page.locator("#queue-status")).to_have_text(f"Published: {SHED} (Oakham).")
    expect(page.locator(".queue-item h3:focus")).to_have_text("Suggested new place: Spam Hall")

    # Reject with a reason.
    _focused(page, "a.textContent === 'Reject…'")
    page.keyboard.press("Enter")
    expect(page.locator("[id^=reason-]:focus")).to_be_visible()
    page.keyboard.type("Not a real place")
    _focused(page, "a.textContent === 'Reject with this reason'")
    page.keyboard.press("Enter")
    expect(page.locator("#queue-status")).to_have_text("Rejected.")
    expect(page.locator(".queue-item")).to_have_count(0)

    # Back to everything; choose which answer holds, then approve the change.
    page.focus("#filter-kind")
    page.keyboard.press("ArrowUp")
    expect(page.locator("#filter-kind")).to_have_value("all")
    _focused(page, "a.type === 'radio' && a.nextElementSibling && a.nextElementSibling.textContent === 'Yes'")
    page.keyboard.press("Space")
    _focused(page, "a.textContent === 'Approve' && a.closest('li').textContent.includes('Suggested change')")
    page.keyboard.press("Enter")
    expect(page.locator("#queue-status")).to_have_text("Change approved: the place's record is updated.")

    # Bulk: select the thank-you notes with the keyboard and approve them.
    _focused(page, "a.classList.contains('queue-pick')")
    page.keyboard.press("Space")
    expect(page.locator("#bulk-count")).to_have_text("1 item selected.")
    _focused(page, "a.id === 'bulk-approve'")
    page.keyboard.press("Enter")
    expect(page.locator("#queue-status")).to_have_text("Approved 1 of 1 selected.")
    expect(page.locator("#queue-status")).to_be_visible()
    expect(page.locator(".queue-item")).to_have_count(0)

    # The decisions happened: the edited place is public, the notes are on the hall's page.
    with urllib.request.urlopen(server + "/api/places/search?q=" + urllib.parse.quote("Keyboard Lane")) as r:
        assert [f["properties"]["name"] for f in json.load(r)["features"]] == [SHED + " (Oakham)"]
    with urllib.request.urlopen(f"{server}/api/places/{queue}/kindness-notes") as r:
        assert {n["text"] for n in json.load(r)} >= {"Lovely warm welcome", "Thanks for the tea"}
    assert page.watch.csp_violations(page) == [] and page.watch.page_errors == [] and page.watch.dialogs == []


def test_axe_finds_no_violations_in_every_state(browser, server, queue, artifacts):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB", bypass_csp=True)
    page = ctx.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(server + "/moderate")
        assert axe_violations(page) == []  # signed out
        _sign_in(page, server)
        assert axe_violations(page) == []  # the queue
        page.screenshot(path=str(artifacts / "moderation.png"), full_page=True)  # docs/moderation.png is one of these
        shed = _item(page, SHED)
        shed.locator("button", has_text="Edit before approving").click()
        shed.locator("button", has_text="Reject…").click()
        page.locator(".queue-pick").first.check()
        assert axe_violations(page) == []  # editing, a reason box open, one selected
        page.select_option("#filter-kind", "problem_report")
        expect(page.locator("#queue-status")).to_contain_text("0 of")
        assert axe_violations(page) == []  # nothing shown
        page.set_viewport_size({"width": 375, "height": 800})
        page.select_option("#filter-kind", "all")
        assert axe_violations(page) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
    finally:
        ctx.close()
