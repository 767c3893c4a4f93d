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
    if who == ANALYST:
        expect(page.locator("#council")).to_be_visible()
        expect(page.locator("#region option")).to_have_count(2)


def _show_testshire(page) -> None:
    page.select_option("#region", "testshire")
    expect(page.locator("#status")).to_have_text("Showing Testshire, 15 minutes' walk.")


def _sign_in_from_the_navigation(page, server: str) -> None:
    """Signed out on a public page: 'Sign in' in the navigation, then 'Council view' there."""
    page.goto(server + "/suggest")
    page.locator("nav.page-nav a", has_text="Sign in").click()
    expect(page).to_have_url(re.compile(r"/login\?next=/suggest$"))
    page.fill("#email", ANALYST[0])
    page.fill("#password", ANALYST[1])
    page.locator("form[action='/login'] button[type=submit]").click()
    expect(page).to_have_url(server + "/suggest")
    nav = page.locator("nav.page-nav a")
    assert "Council view" in nav.all_text_contents() and "Review queue" not in nav.all_text_contents()
    page.locator("nav.page-nav a", has_text="Council view").click()
    expect(page).to_have_url(server + "/council")
    expect(page.locator("#gaps")).to_be_visible(timeout=30_000)


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


def test_analyst_journey_map_charts_what_if_and_the_pdf_report(page, server, council_data, tmp_path, artifacts):
    token = _token(server)
    _sign_in_from_the_navigation(page, server)
    _show_testshire(page)
    gaps = _api(server, "/api/gaps?region=testshire&minutes=15&profile=walk&slot=any", token)
    fresh = _api(server, "/api/freshness?region=testshire", token)
    assert gaps["method"] == "network" and gaps["totals"]["households"] == 200

    # The headline in sentences and the assumptions box, as the API words them.
    assert page.locator("#headline p").all_text_contents() == gaps["headline"]
    expect(page.locator("#assumptions h3")).to_have_text("Method and assumptions")
    assert page.locator("#assumptions-list li").all_text_contents()[:len(gaps["assumptions"])] == gaps["assumptions"]
    # Two maps: one outline per small area on each, the legends visible under them.
    expect(page.locator("#reach-map path.area-shape")).to_have_count(2)
    expect(page.locator("#deprivation-map path.area-shape")).to_have_count(2)
    expect(page.locator("#reach-legend li")).to_have_count(6)
    expect(page.locator("#deprivation-legend li")).to_have_count(11)
    expect(page.locator("#reach-legend")).to_be_visible()
    # Charts: 5/10/15/20 minutes, and by decile (TS01 decile 2, TS02 decile 7).
    expect(page.locator("#chart-minutes rect.bar")).to_have_count(4)
    expect(page.locator("#chart-deciles rect.bar")).to_have_count(2)
    share15 = gaps["totals"]["share_within_15"]
    expect(page.locator("#chart-minutes text.value").nth(2)).to_have_text(f"{round(share15 * 100)}%")
    # Priority areas by name, code in small print; freshness as a chart.
    ranked = [a for a in sorted(gaps["areas"], key=lambda a: -a["priority"]) if a["priority"] > 0]
    assert page.locator("#priority .area-label").all_text_contents() == [a["label"] for a in ranked][:5]
    assert page.locator("#priority .area-code").all_text_contents() == [f"{a['name']} · {a['code']}" for a in ranked][:5]
    expect(page.locator("#chart-freshness rect.bar")).to_have_count(2 * len(fresh["by_category"]))
    links = page.locator("#oldest a")
    expect(links).to_have_count(len(fresh["oldest"]))
    assert links.all_text_contents() == [o["name"] for o in fresh["oldest"]]  # XSS payloads among them, as text

    # What-if: place a new welcoming place by clicking the reach map; the gain by decile is the API's.
    page.click("#what-if-toggle")
    expect(page.locator("#what-if-toggle")).to_have_attribute("aria-pressed", "true")
    box = page.locator("#reach-map").bounding_box()
    with page.expect_response(lambda r: "/api/gaps/what-if" in r.url) as answer:
        page.mouse.click(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.5)
    result = answer.value.json()
    gained = round(result["change_covered_households"])
    expect(page.locator("#what-if-result .what-if-headline")).to_contain_text("This new place would bring")
    if gained > 0:
        expect(page.locator("#what-if-result .what-if-headline")).to_contain_text(f"{gained:,} more")
    expect(page.locator("#what-if-deciles tbody tr")).to_have_count(len(result["change_by_decile"]))
    assert page.locator("#what-if-deciles tbody th").all_text_contents() == ["2", "7"]
    # A second one from the keyboard route: at the map's centre.
    with page.expect_response(lambda r: "/api/gaps/what-if" in r.url) as answer:
        page.click("#what-if-centre")
    assert len(answer.value.request.post_data_json["add"]) == 2
    expect(page.locator("#what-if-result .what-if-headline")).to_contain_text("These 2 new places")
    page.click("#what-if-clear")
    expect(page.locator("#what-if-result")).to_be_empty()

    # What-if, a place opens for longer, in weekday evenings (only the 24/7 library is open then).
    _longer_hours_by_map_and_by_keyboard(page, server, token)

    # The PDF report: headline, assumptions box and charts.
    pypdf = pytest.importorskip("pypdf")
    with page.expect_download(timeout=60_000) as dl:
        page.click("#report-pdf")
    path = tmp_path / "report.pdf"
    dl.value.save_as(path)
    pdf = pypdf.PdfReader(str(path))
    first = re.sub(r"\s+", " ", pdf.pages[0].extract_text())
    assert re.sub(r"\s+", " ", gaps["headline"][0])[:60] in first
    assert "Method and assumptions" in first
    assert sum(len(p.images) for p in pdf.pages) >= 4

    assert page.watch.csp_violations(page) == []
    assert page.watch.page_errors == [] and page.watch.dialogs == []
    assert not [e for e in page.watch.console_errors if "ERR_" not in e and "Failed to load resource" not in e]
    assert _storage_is_empty(page)

    page.click("#nav-sign-out")
    expect(page).to_have_url(server + "/")
    page.goto(server + "/council")
    expect(page.locator("#page-sign-in")).to_be_visible()
    assert page.locator("table").count() == 0


def _longer_hours_by_map_and_by_keyboard(page, server: str, token: str) -> None:
    """Choose a place by its ring on the map, then another from the list by keyboard with times typed in;
    each answer is the API's, in words and by decile."""
    page.select_option("#slot", "weekday_evening")
    with page.expect_response(lambda r: "/api/gaps/places" in r.url) as listed:
        page.click("#gaps-form button[type=submit]")
    expect(page.locator("#status")).to_have_text("Showing Testshire, 15 minutes' walk.")
    places = listed.value.json()["places"]
    assert places == _api(server, "/api/gaps/places?region=testshire&minutes=15&profile=walk&slot=weekday_evening", token)["places"]
    expect(page.locator("#longer-place option")).to_have_count(len(places))
    closed = next(p for p in places if not p["open_in_slot"] and p["opening_hours"])  # the community centre, Mo-Fr 09:00-17:00
    # By the map: "Choose a place on the map" rings every place counted; clicking one works it out.
    page.click("#longer-pick")
    expect(page.locator("#longer-pick")).to_have_attribute("aria-pressed", "true")
    rings = page.locator("#reach-map path.longer-hours-place")
    expect(rings).to_have_count(len(places))
    with page.expect_response(lambda r: "/api/gaps/what-if/hours" in r.url) as answer:
        rings.nth(places.index(closed)).click()
    sent, got = answer.value.request.post_data_json, answer.value.json()
    assert (sent["place_id"], sent["add"], sent["slot"]) == (closed["place_id"], "weekday_evening", "weekday_evening")
    assert got["place"]["hours_after"] == "Mo-Fr 09:00-21:00" and got["place"]["open_in_slot_after"]
    expect(page.locator("#longer-pick")).to_have_attribute("aria-pressed", "false")
    expect(rings).to_have_count(0)
    expect(page.locator("#longer-place")).to_have_value(str(closed["place_id"]))
    headline = page.locator("#longer-result .what-if-headline")
    expect(headline).to_contain_text("Opening " + closed["name"] + " on weekday evenings")
    gained = round(got["change_covered_households"])
    expect(headline).to_contain_text(f"{gained:,} more" if gained > 0 else "no more households")
    expect(page.locator("#longer-result")).to_contain_text("Opening hours with the change: Mo-Fr 09:00-21:00")
    expect(page.locator("#longer-hours-deciles tbody tr")).to_have_count(len(got["change_by_decile"]))
    # By keyboard: the list, "Times I choose", typed times, Enter.
    other = next(p for p in places if p["place_id"] != closed["place_id"] and not p["open_in_slot"])
    page.focus("#longer-place")
    page.keyboard.press("Home")
    for _ in range(places.index(other)):
        page.keyboard.press("ArrowDown")
    expect(page.locator("#longer-place")).to_have_value(str(other["place_id"]))
    page.keyboard.press("Tab")
    expect(page.locator("#longer-add")).to_be_focused()
    page.select_option("#longer-add", "windows")
    expect(page.locator("#longer-windows")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.locator("#longer-windows")).to_be_focused()
    page.keyboard.type("Tue 18:00-20:00")
    with page.expect_response(lambda r: "/api/gaps/what-if/hours" in r.url) as answer:
        page.keyboard.press("Enter")
    got = answer.value.json()
    assert answer.value.request.post_data_json["windows"] == "Tue 18:00-20:00" and got["place"]["open_in_slot_after"]
    expect(page.locator("#longer-result .what-if-headline")).to_contain_text("at Tue 18:00-20:00")
    # Times that mean nothing: the API's words, shown where the answer would be.
    page.fill("#longer-windows", "Tue 20:00-18:00")
    page.press("#longer-windows", "Enter")
    expect(page.locator("#longer-result")).to_contain_text("ends before it starts")


def test_farshire_without_a_path_network_says_its_figures_are_estimated(page, server, council_data):
    _sign_in(page, server)
    page.select_option("#region", "farshire")
    expect(page.locator("#status")).to_have_text("Showing Farshire, 15 minutes' walk.", timeout=30_000)
    expect(page.locator("#gaps-estimated")).to_contain_text("Estimated")
    expect(page.locator("#gaps-areas tbody .area-code")).to_have_text(["Farshire Central · FS01"])


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


@pytest.mark.parametrize("width", [1280, 375])
def test_axe_finds_no_violations_in_every_state(browser, server, council_data, artifacts, width):
    ctx = browser.new_context(viewport={"width": width, "height": 900}, locale="en-GB", bypass_csp=True)
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(server + "/council")
        assert axe_violations(page) == []  # signed out
        _sign_in(page, server)
        _show_testshire(page)
        assert axe_violations(page) == []  # maps, charts, tables
        page.click("#what-if-centre")
        expect(page.locator("#what-if-deciles")).to_be_visible()
        page.click("#best-sites")
        expect(page.locator("#best-sites-result")).not_to_have_text(re.compile("Finding"))
        page.select_option("#longer-add", "windows")
        page.fill("#longer-windows", "Sat 10:00-12:00")
        page.click("#longer-run")
        expect(page.locator("#longer-result .what-if-headline")).to_be_visible()
        page.click("#longer-pick")
        expect(page.locator("#reach-map path.longer-hours-place").first).to_be_attached()
        page.locator("details.council-details summary").first.click()
        assert axe_violations(page) == []  # what-if, best sites, longer hours, the full table open
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(artifacts / f"council-{width}.png"), full_page=True)
    finally:
        ctx.close()


def test_axe_on_the_not_for_your_account_page(browser, server, council_data):
    from tests.browser.conftest import MODERATOR

    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB", bypass_csp=True)
    page = ctx.new_page()
    try:
        _sign_in(page, server, MODERATOR)
        expect(page.locator("h1")).to_have_text("The council view is not for your account")
        assert axe_violations(page) == []
    finally:
        ctx.close()


def test_password_never_reaches_the_url(page, server, council_data):
    _sign_in(page, server)
    assert re.fullmatch(re.escape(server) + r"/council", page.url)
    assert page.locator("#si-password").count() == 0
