"""The carers' web app in Chromium at phone size (390×844), issue 15's journey end to end: a scheme
worker invites a carer, the carer sets a password, signs in, adds a household by postcode with a
wheelchair need and Tuesday mornings free (after a refused try that keeps what was typed), sees the
suggestions with their walks from home, adds three to the plan (the one place recorded as wheelchair
accessible, and two whose access nobody has recorded yet, marked "check before you go"), downloads
the PDF and opens the easy-read version (both checked for content), turns on "My places", where the
person says "I liked it", logs a visit, sees it on the chart, and the scheme worker's dashboard
shows the new link. axe-core on every page and state; a screenshot of each page goes to docs/."""

from __future__ import annotations

import io

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import XSS_TEMPLATE, axe_violations

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs"
WORKER = ("worker@testshire.example", "a long worker pass phrase")
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def scheme(app):
    """A Shared Lives scheme in Testshire with one scheme worker."""
    from kindmap.db import write_session
    from kindmap.services.accounts.auth import add_scheme, add_user

    with write_session(app.state.engine) as session:
        scheme = add_scheme(session, name="Testshire Shared Lives", region="testshire")
        add_user(session, email=WORKER[0], password=WORKER[1], role="scheme_worker", scheme_id=scheme.id)
    return scheme.id


@pytest.fixture
def phone(browser):
    ctx = browser.new_context(viewport=PHONE, locale="en-GB", device_scale_factor=1, is_mobile=True, has_touch=True,
                              bypass_csp=True)  # axe-core is injected inline; the CSP header is checked in test_carer_pages
    page = ctx.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    yield page
    ctx.close()


def check(page, shot: str | None = None) -> None:
    """No axe-core violations, nothing wider than the phone, no script errors; a screenshot when named."""
    assert axe_violations(page) == [], page.url
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], page.url
    assert page.errors == []
    if shot:
        page.screenshot(path=str(DOCS / f"carer-{shot}.png"), full_page=True)


def sign_in(page, server, email, password):
    page.goto(server + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button:has-text('Sign in')")


def test_invite_set_password_sign_in_and_add_a_household(phone, server, scheme):
    page = phone
    page.goto(server + "/carer")
    expect(page).to_have_url(server + "/login?next=/carer")
    check(page, "login")
    page.fill("#email", WORKER[0])
    page.fill("#password", "not the password")
    page.click("button:has-text('Sign in')")
    expect(page.locator(".error-summary")).to_contain_text("Incorrect email or password")
    expect(page.locator("#email")).to_have_value(WORKER[0])
    check(page)

    sign_in(page, server, *WORKER)
    expect(page).to_have_url(server + "/scheme")
    page.fill("#invite-email", "carer@testshire.example")
    page.fill("#invite-name", "Sam Carer")
    page.click("button:has-text('Make an invitation link')")
    link = page.locator("#the-link").input_value()
    assert link.startswith(server + "/invite/")
    expect(page.locator(".household-card")).to_contain_text("invited, password not set yet")
    check(page, "scheme-invite")
    page.click("button:has-text('Sign out')")
    expect(page.locator(".notice")).to_have_text("You have signed out.")

    page.goto(link)
    expect(page.locator("h1")).to_have_text("Set your password")
    page.fill("#password", "short")
    page.fill("#confirm", "short")
    page.click("button:has-text('Save password')")
    expect(page.locator("#password-error")).to_contain_text("10 to 1024 characters")
    check(page, "set-password")
    page.fill("#password", "sunny tuesday walks")
    page.fill("#confirm", "sunny tuesday walks")
    page.click("button:has-text('Save password')")
    expect(page.locator(".notice")).to_contain_text("Your password is set")

    sign_in(page, server, "carer@testshire.example", "sunny tuesday walks")
    expect(page).to_have_url(server + "/carer")
    expect(page.locator("h1")).to_have_text("My households")
    check(page)
    page.click("text=Add a household")
    check(page)
    # A first try with no name: the message is next to the field, what was typed stays, nothing is saved.
    page.fill("#postcode", "TE1 1ST")
    page.locator("label.chip", has_text="Wheelchair access").click()
    page.check("input[name=free][value=Tue-morning]")
    page.click("button:has-text('Save household')")
    expect(page.locator("#label-error")).to_contain_text("Enter a name for the household")
    expect(page.locator("#postcode")).to_have_value("TE1 1ST")
    expect(page.locator("input[name=access_needs][value=wheelchair]")).to_be_checked()
    expect(page.locator("input[name=free][value=Tue-morning]")).to_be_checked()
    check(page, "household-form-error")
    page.click("#error-summary a")
    expect(page.locator("#label")).to_be_focused()
    page.fill("#label", "Household T")
    page.locator("label.chip", has_text="Gardening").click()
    page.select_option("#comfortable_walk_minutes", "20")
    page.click("button:has-text('Save household')")
    expect(page.locator("h1")).to_have_text("Household T")
    expect(page.locator(".notice")).to_have_text("Saved.")
    expect(page.locator(".facts")).to_contain_text("Wheelchair access")
    expect(page.locator(".facts")).to_contain_text("Tue 09:00-12:00")
    expect(page.locator(".facts")).to_contain_text("TE1 1ST")
    # Suggestions: recorded wheelchair access first, with reasons; not known yet is marked "check before you go";
    # recorded "no" (the church hall) is left out.
    library = page.locator(".suggestion").first
    expect(library.locator("h3")).to_have_text("Testshire Library")
    expect(library.locator(".reason")).to_contain_text("min walk, wheelchair access")
    expect(page.locator(".suggestion", has_text="St Anne's Church Hall")).to_have_count(0)
    expect(page.locator(".check-first").first).to_contain_text("check before you go")
    # The walks from home, drawn when the map comes into view (below the list on a phone), no tiles needed.
    page.locator(".routes-panel").scroll_into_view_if_needed()
    expect(page.locator("[data-routes-status]")).to_contain_text("walks from home on the map")
    assert page.locator("#routes-map .leaflet-overlay-pane path").count() >= 3
    expect(page.locator("#routes-map .route-home")).to_have_count(1)
    check(page)
    page.locator(".routes-panel").screenshot(path=str(DOCS / "carer-household-map.png"))
    library.locator("button:has-text('Add to plan')").click()
    expect(page.locator(".notice")).to_have_text("Added to the plan.")
    expect(page.locator(".suggestion", has_text="Testshire Library").locator(".in-plan")).to_have_text("✓ In the plan")
    # Two more whose wheelchair access nobody has recorded: suggested after the known one, to check first.
    for name in ("Café", "Riverside Park"):
        card = page.locator(".suggestion", has_text=name)
        expect(card.locator(".check-first")).to_contain_text("wheelchair access")
        card.locator("button:has-text('Add to plan')").click()
        expect(page.locator(".notice")).to_have_text("Added to the plan.")
        expect(page.locator(".suggestion", has_text=name).locator(".in-plan")).to_have_text("✓ In the plan")
    check(page, "household")
    page.click("text=Our plan")
    plan_url = page.url
    expect(page.locator(".plan-item h2")).to_contain_text(["Testshire Library", "Café", "Riverside Park"])
    page.locator("textarea[name=note]").first.fill("Tuesday after breakfast")
    page.locator("button:has-text('Save note')").first.click()
    expect(page.locator(".notice")).to_have_text("Note saved.")
    expect(page.locator("textarea[name=note]").first).to_have_value("Tuesday after breakfast")
    check(page, "plan")
    # The print view opens from the app signed in; its sketch map is drawn from Testshire's own street
    # grid (pixels only), with the library's number and no home marker.
    page.click("text=Print the plan (one page)")
    expect(page.locator("h1")).to_have_text("Our places to go")
    streets = page.locator(".sketch path.street").get_attribute("d")
    assert streets.count("M") > 50, "the region's streets are drawn"
    expect(page.locator(".sketch .dot")).to_have_count(3)
    assert "52.6" not in page.content() and "TE1 1ST" not in page.content()
    check(page, "print")
    page.go_back()
    with page.expect_download() as got:
        page.click("text=Download the plan as PDF")
    assert got.value.suggested_filename == "our-places-plan.pdf"
    pdf = Path(got.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(" ".join(p.extract_text().split()) for p in reader.pages)
    assert len(reader.pages) == 1, "the plan fits one A4 page"
    for words in ("Our places to go", "Testshire Library", "Café", "Riverside Park", "Tuesday after breakfast"):
        assert words in text, words
    assert "TE1 1ST" not in text and "52.6" not in text, "no home in the PDF"
    page.click("text=Easy-read version")
    expect(page.locator(".easy-page h2")).to_have_text(["Testshire Library", XSS_TEMPLATE, "Riverside Park"])
    expect(page.locator("main")).not_to_contain_text("TE1 1ST")
    expect(page.locator(".easy-page").nth(1)).to_contain_text("Tuesday after breakfast")
    check(page, "easy-read")
    page.go_back()
    # "My places": the carer turns it on; the person opens it (no account) and says "I liked it".
    page.click("button:has-text('Turn on My places')")
    my_link = page.locator("#my-places-link").input_value()
    assert "/my/" in my_link
    person = page.context.browser.new_context(viewport=PHONE, locale="en-GB", bypass_csp=True)
    mine = person.new_page()
    mine.errors = []
    mine.goto(my_link)
    expect(mine.locator(".easy-page h2")).to_have_text(["Testshire Library", XSS_TEMPLATE, "Riverside Park"])
    expect(mine.locator("main")).not_to_contain_text("TE1 1ST")
    check(mine)
    mine.locator("button:has-text('I liked it')").first.click()
    expect(mine.locator(".easy-said")).to_contain_text("I liked it")
    check(mine, "my-places")
    person.close()
    page.goto(plan_url)
    expect(page.locator(".person-said")).to_contain_text("I liked it")
    # After the visit: three taps (where, what happened, how it felt; the third tap saves).
    page.goto(plan_url.split("?")[0].replace("/plan", "/visit"))
    expect(page.locator("input[name=where]")).to_have_count(3)
    check(page, "visit")
    page.locator("label.tap", has_text="Testshire Library").click()
    page.locator("label.tap", has_text="Had a chat").click()
    page.locator("label.tap").filter(has=page.locator("input[value=good]")).click()
    expect(page.locator(".notice")).to_have_text("Visit saved. Thank you.")
    expect(page.locator("#chart-desc")).to_contain_text("met people 1 time, 1 place feels like theirs")
    expect(page.locator(".links-chart rect.bar[height='100.0']")).to_have_count(1)
    page.locator("#links").screenshot(path=str(DOCS / "carer-links-chart.png"))
    page.goto(server + "/carer")
    expect(page.locator(".household-card")).to_contain_text("Household T")
    check(page, "households")
    page.click("button:has-text('Sign out')")
    page.goto(server + "/carer")
    expect(page).to_have_url(server + "/login?next=/carer")
    # The scheme worker's dashboard shows the household's new link (labels and counts, no home).
    sign_in(page, server, *WORKER)
    row = page.locator(".scheme-table tbody tr", has_text="Household T")
    expect(row.locator("td").nth(0)).not_to_have_text("None yet")
    expect(row.locator("td").nth(1)).to_have_text("1")
    expect(page.locator("main")).not_to_contain_text("TE1 1ST")
    check(page, "scheme")
    # Where links grow in the scheme (places and counts, never who went), and who cares for which household.
    grows = page.locator(".growing-table tbody tr", has_text="Testshire Library")
    expect(grows.locator("td")).to_have_text(["1", "1", "1"])
    expect(page.locator(".growing-table")).not_to_contain_text("Household T")
    cared = page.locator(".cared-for", has_text="Household T")
    expect(cared.locator(".carer-names")).to_contain_text("Sam Carer")
    # Only scheme workers change it: take Sam off, then add Sam back (each change is audited).
    cared.locator("button:has-text('Take off')").click()
    expect(page.locator(".notice")).to_have_text("Saved: the carer was taken off the household.")
    cared = page.locator(".cared-for", has_text="Household T")
    expect(cared).to_contain_text("No carer yet.")
    check(page)
    cared.locator("select[name=carer]").select_option(label="Sam Carer")
    cared.locator("button:has-text('Add')").click()
    expect(page.locator(".notice")).to_have_text("Saved: the carer was added to the household.")
    expect(page.locator(".cared-for", has_text="Household T").locator(".carer-names")).to_contain_text("Sam Carer")
    check(page, "scheme-who-cares")
