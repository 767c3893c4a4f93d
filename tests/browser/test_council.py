"""The council page in real Chromium: sign in as a council analyst, freshness at a glance and the
gap analysis filled from the API, a wrong password, a signed-out visit, axe-core and the real CSP."""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import FAR_ORIGIN_M, _box, _offset, axe_violations

pytestmark = pytest.mark.browser

ANALYST = ("analyst@example.org", "council pass phrase 77")
# code, name, region, centre (east m, north m), half-width m, households, decile. Testshire's two
# halves meet at the library's street; Farshire has no path network, so its walks are estimated.
AREAS = [
    ("TS01", "Testshire West", "testshire", (-1000, 0), 1000, 120, 2),
    ("TS02", "Testshire East", "testshire", (1000, 0), 1000, 80, 7),
    ("FS01", "Farshire Central", "farshire", FAR_ORIGIN_M, 2000, 40, 1),
]


@pytest.fixture(scope="module")
def council_data(app):
    """An analyst account and small areas with households, removed again so other tests see the seed as it was."""
    from sqlmodel import select

    from kindmap.db import write_session
    from kindmap.models import Area, Region
    from kindmap.models.accounts import User
    from kindmap.services.accounts.auth import add_user

    engine = app.state.engine
    with write_session(engine) as session:
        if not session.exec(select(User).where(User.email == ANALYST[0])).first():
            add_user(session, email=ANALYST[0], password=ANALYST[1], role="council_analyst")
        regions = {r.slug: r.id for r in session.exec(select(Region)).all()}
        for code, name, region, (east, north), half, households, decile in AREAS:
            lon, lat = _offset(east, north)
            session.add(Area(code=code, name=name, kind="test", households=households, deprivation_decile=decile,
                             deprivation_rank=decile * 100, centroid_lon=lon, centroid_lat=lat,
                             geometry_geojson=json.dumps(_box(east, north, half)), region_id=regions[region]))
    yield
    with write_session(engine) as session:
        for area in session.exec(select(Area).where(Area.code.in_([a[0] for a in AREAS]))).all():
            session.delete(area)


def _api(server: str, path: str, token: str) -> dict:
    req = urllib.request.Request(server + path, headers={"Authorization": "Bearer " + token, "Accept": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def _token(server: str) -> str:
    body = urllib.parse.urlencode({"username": ANALYST[0], "password": ANALYST[1]}).encode()
    with urllib.request.urlopen(urllib.request.Request(server + "/api/auth/token", data=body)) as r:
        return json.load(r)["access_token"]


def _pct(part: float, whole: float) -> str:
    return f"{round(part / whole * 100)}%"


def _sign_in(page, server: str, who=ANALYST) -> None:
    page.goto(server + "/council")
    page.fill("#si-email", who[0])
    page.fill("#si-password", who[1])
    page.click("#page-sign-in button[type=submit]")
    expect(page.locator("#council")).to_be_visible()
    expect(page.locator("#region option")).to_have_count(2)


def _show_testshire(page) -> None:
    page.select_option("#region", "testshire")
    expect(page.locator("#status")).to_have_text("Freshness for Testshire loaded.")


def _storage_is_empty(page) -> bool:
    return page.evaluate("localStorage.length === 0 && sessionStorage.length === 0")


def test_signed_out_visit_shows_only_the_sign_in_form(page, server, council_data):
    page.goto(server + "/council")
    expect(page.locator("#page-sign-in")).to_be_visible()
    expect(page.locator("#si-email")).to_be_visible()
    expect(page.locator("nav a", has_text="Sign in")).to_have_attribute("href", "/login?next=/council")
    for absent in ("#council", "#freshness-heading", "#gaps-heading", "#gaps-form"):
        expect(page.locator(absent)).to_have_count(0)
    assert page.locator("table").count() == 0
    assert not [u for u in page.watch.requests if "/api/" in u]  # nothing asked for before signing in
    # The API behind the page refuses a signed-out visitor as well.
    for path in ("/api/freshness?region=testshire", "/api/gaps?region=testshire"):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(server + path)
        assert err.value.code == 401


def test_wrong_password_shows_the_message_and_keeps_the_email(page, server, council_data):
    page.goto(server + "/council")
    page.fill("#si-email", ANALYST[0])
    page.fill("#si-password", "not the right password")
    page.click("#page-sign-in button[type=submit]")
    expect(page.locator("#si-error")).to_have_text("incorrect email or password")
    expect(page.locator("#si-error")).to_be_focused()
    expect(page.locator("#si-email")).to_have_value(ANALYST[0])
    expect(page.locator("#si-password")).to_have_value("")
    expect(page.locator("#council")).to_have_count(0)
    assert "password" not in page.url and not any("not the right" in u or "not+the+right" in u for u in page.watch.requests)
    assert _storage_is_empty(page)


def test_analyst_sees_freshness_and_gaps_from_the_api_under_the_real_csp(page, server, council_data):
    token = _token(server)
    fresh = _api(server, "/api/freshness?region=testshire", token)
    _sign_in(page, server)
    _show_testshire(page)

    # Freshness at a glance: the summary and both tables carry the API's figures.
    t = fresh["total"]
    assert t["places"] == 6
    summary = page.locator("#freshness-summary")
    expect(summary).to_contain_text(f"{_pct(t['fresh'], t['places'])} ({t['fresh']} of {t['places']})")
    expect(summary).to_contain_text(f"{_pct(t['checked_by_person'], t['places'])} ({t['checked_by_person']} of {t['places']}) were checked by a person")
    cat_rows = page.locator("#fresh-by-category tbody tr")
    expect(cat_rows).to_have_count(len(fresh["by_category"]))
    assert page.locator("#fresh-by-category tbody th[scope=row]").all_text_contents() == [c["label"] for c in fresh["by_category"]]
    first = fresh["by_category"][0]
    assert cat_rows.first.locator("td").first.text_content() == str(first["places"])
    area_labels = page.locator("#fresh-by-area tbody th[scope=row]").all_text_contents()
    assert area_labels == [a["label"] for a in fresh["by_area"]]
    assert {"Testshire West", "Testshire East"} <= set(area_labels)
    assert sum(a["places"] for a in fresh["by_area"]) == 6
    assert page.locator("#fresh-by-area caption").text_content() == "By small area"
    # Oldest records link to their place pages; names (XSS payloads among them) are plain text.
    links = page.locator("#oldest a")
    expect(links).to_have_count(len(fresh["oldest"]))
    assert [links.nth(i).get_attribute("href") for i in range(links.count())] == [f"/places/{o['place_id']}" for o in fresh["oldest"]]
    assert links.all_text_contents() == [o["name"] for o in fresh["oldest"]]

    # Gaps: 10 minutes' walk on Testshire's path network.
    page.select_option("#minutes", "10")
    page.select_option("#pace", "walk")
    page.click("#gaps-form button[type=submit]")
    expect(page.locator("#gaps-results-heading")).to_be_focused()
    gaps = _api(server, "/api/gaps?region=testshire&minutes=10&profile=walk&slot=any", token)
    assert gaps["method"] == "network" and gaps["totals"]["households"] == 200
    tot = gaps["totals"]
    expect(page.locator("#gaps-summary")).to_contain_text(
        f"{_pct(tot['covered_households'], tot['households'])} of households ({round(tot['covered_households'])} of 200)")
    expect(page.locator("#gaps-estimated")).to_have_count(0)
    deciles = page.locator("#gaps-by-decile tbody tr")
    expect(deciles).to_have_count(len(gaps["by_decile"]))
    decile_heads = page.locator("#gaps-by-decile tbody th[scope=row]").all_text_contents()
    assert "2" in decile_heads and "7" in decile_heads
    priority = page.locator("#gaps-priority tbody th[scope=row]").all_text_contents()
    ranked = sorted(gaps["areas"], key=lambda a: -a["priority"])[:10]
    assert priority == [f"{a['name']} ({a['code']})" for a in ranked]
    assert page.locator("#gaps-priority thead th[scope=col]").count() == 6

    # Farshire has no path network: the page says its figures are estimated.
    page.select_option("#region", "farshire")
    expect(page.locator("#status")).to_have_text("Freshness for Farshire loaded.")
    page.select_option("#pace", "slow")
    page.click("#gaps-form button[type=submit]")
    expect(page.locator("#gaps-estimated")).to_contain_text("Estimated")
    expect(page.locator("#gaps-by-decile tbody th[scope=row]")).to_have_text(["1 (most deprived)"])
    expect(page.locator("#gaps-priority tbody th[scope=row]")).to_have_text(["Farshire Central (FS01)"])

    assert page.watch.csp_violations(page) == []
    assert page.watch.console_errors == [] and page.watch.page_errors == [] and page.watch.dialogs == []
    assert not any(ANALYST[1].replace(" ", "+") in u or ANALYST[1].replace(" ", "%20") in u for u in page.watch.requests)
    assert _storage_is_empty(page)

    page.click("#nav-sign-out")
    expect(page).to_have_url(server + "/")
    page.goto(server + "/council")
    expect(page.locator("#page-sign-in")).to_be_visible()
    assert page.locator("table").count() == 0


def test_a_moderator_gets_a_plain_not_for_your_account_page(page, server, council_data):
    from tests.browser.conftest import MODERATOR

    page.goto(server + "/council")
    page.fill("#si-email", MODERATOR[0])
    page.fill("#si-password", MODERATOR[1])
    page.click("#page-sign-in button[type=submit]")
    expect(page.locator("h1")).to_have_text("The council view is not for your account")
    assert page.locator("form").count() == 0 and page.locator("#gaps-form").count() == 0
    nav = page.locator("nav.page-nav a")
    assert "Review queue" in nav.all_text_contents() and "Council view" not in nav.all_text_contents()
    page.click("#nav-sign-out")
    expect(page).to_have_url(server + "/")


def test_axe_finds_no_violations_and_the_page_fits_375_px(browser, server, council_data):
    ctx = browser.new_context(viewport={"width": 375, "height": 800}, locale="en-GB", bypass_csp=True)
    page = ctx.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(server + "/council")
        assert axe_violations(page) == []
        _sign_in(page, server)
        _show_testshire(page)
        page.click("#gaps-form button[type=submit]")
        expect(page.locator("#gaps-priority")).to_be_visible()
        assert axe_violations(page) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        box = page.locator("#gaps-form button[type=submit]").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375
    finally:
        ctx.close()





def test_password_never_reaches_the_url(page, server, council_data):
    _sign_in(page, server)
    assert re.fullmatch(re.escape(server) + r"/council", page.url)
    assert page.locator("#si-password").count() == 0
