"""Councils side by side on the council view, in real Chromium: Testshire (walked on its paths, IMD 2025)
and Farshire (estimated, WIMD 2019) as the API compares them — sentences, table and charts — with
axe-core 0 violations at desktop and phone widths."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import FAR_ORIGIN_M, _box, _offset, axe_violations

pytestmark = pytest.mark.browser

# An analyst of its own: sign-in attempts are limited per account, and test_council signs its analyst in often.
ANALYST = ("councils-analyst@example.org", "council pass phrase 88")
# code, name, region, centre (east m, north m), half-width m, households, decile, index
AREAS = [
    ("CS01", "Testshire West", "testshire", (-1000, 0), 1000, 120, 2, "IMD 2025"),
    ("CS02", "Testshire East", "testshire", (1000, 0), 1000, 80, 7, "IMD 2025"),
    ("CS03", "Farshire Central", "farshire", FAR_ORIGIN_M, 2000, 40, 1, "WIMD 2019"),
]


@pytest.fixture(scope="module")
def two_councils(app):
    """An analyst and small areas in both regions (two deprivation indices), removed again afterwards."""
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
        for code, name, region, (east, north), half, households, decile, index in AREAS:
            lon, lat = _offset(east, north)
            session.add(Area(code=code, name=name, kind="test", households=households, deprivation_decile=decile,
                             deprivation_rank=decile * 100, deprivation_index=index, centroid_lon=lon, centroid_lat=lat,
                             geometry_geojson=json.dumps(_box(east, north, half)), region_id=regions[region]))
    yield
    with write_session(engine) as session:
        for area in session.exec(select(Area).where(Area.code.in_([a[0] for a in AREAS]))).all():
            session.delete(area)


def _show(page, server: str, region: str = "testshire", name: str = "Testshire") -> None:
    page.goto(server + "/council")
    page.fill("#si-email", ANALYST[0])
    page.fill("#si-password", ANALYST[1])
    page.click("#page-sign-in button[type=submit]")
    expect(page.locator("#region option")).to_have_count(2)
    page.select_option("#region", region)
    expect(page.locator("#status")).to_have_text(f"Showing {name}, 15 minutes' walk.", timeout=30_000)
    expect(page.locator("#councils-status")).to_have_text("2 councils side by side.", timeout=30_000)


def test_councils_side_by_side_as_the_api_compares_them(page, server, two_councils):
    _show(page, server)
    body = page.request.get(server + "/api/gaps/councils?region=testshire&profile=walk&slot=any").json()  # the page's session
    assert [c["name"] for c in body["councils"]] == ["Testshire", "Farshire"]
    assert body["indices"] == ["IMD 2025", "WIMD 2019"]
    expect(page.locator("#councils-heading")).to_have_text("Councils side by side")
    assert page.locator("#councils-sentences p").all_text_contents() == body["sentences"]
    assert any("different deprivation indices" in s for s in body["sentences"])
    assert any(s.startswith("Walks in Farshire are estimated") for s in body["sentences"])

    rows = page.locator("#councils-compare tbody tr")
    expect(rows).to_have_count(2)
    assert page.locator("#councils-compare tbody .area-label").all_text_contents() == ["Testshire", "Farshire"]
    first = rows.nth(0).locator("td").all_text_contents()
    t = body["councils"][0]
    assert first[0] == "IMD 2025" and first[1] == "100% of 200"
    assert first[2:6] == [f"{round(t['within'][m] * 100)}%" for m in ("5", "10", "15", "20")]
    assert first[6:] == [f"{round(t['deprived_within'][m] * 100)}%" for m in ("5", "10", "15", "20")]
    assert rows.nth(1).locator("td").first.text_content() == "WIMD 2019"

    # Two charts of the same figures, one bar per council and walk that has a figure, each named.
    for chart, key in (("#chart-councils-all", "within"), ("#chart-councils-deprived", "deprived_within")):
        expect(page.locator(chart)).to_be_visible()
        bars = sum(c[key][m] is not None for c in body["councils"] for m in ("5", "10", "15", "20") if c["deprived_areas"]
                   or key == "within")
        expect(page.locator(f"{chart} rect.council-bar")).to_have_count(bars)
        expect(page.locator(f"{chart} svg[role=img] > title")).to_contain_text("The same figures are in the table above.")
        assert page.locator(f"{chart} figcaption .legend li").all_text_contents() == ["Testshire (IMD 2025)", "Farshire (WIMD 2019)"]
    assert page.watch.csp_violations(page) == [] and page.watch.page_errors == []


@pytest.mark.parametrize("width", [1280, 375])
def test_axe_finds_no_violations_in_the_councils_section(browser, server, two_councils, artifacts, width):
    ctx = browser.new_context(viewport={"width": width, "height": 900}, locale="en-GB", bypass_csp=True)
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    try:
        _show(page, server)
        expect(page.locator("#councils-compare")).to_be_visible()
        assert axe_violations(page) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        # docs/council-councils.png is the same section on the real Rutland and Newport data
        page.locator("#councils").screenshot(path=str(artifacts / f"council-councils-{width}.png"))
    finally:
        ctx.close()
