"""Every page of the carers' app at 320 CSS px wide, and at 200 % zoom, in Chromium: nothing scrolls
sideways, nothing sits off the screen, no text is clipped (WCAG 2.2 1.4.10 Reflow, 1.4.4 Resize text),
and axe-core finds nothing.

200 % zoom is what the browser's zoom does to a 1280×800 window: a 640×400 CSS-pixel viewport drawn
at two device pixels per CSS pixel (Chromium's zoom and ``device_scale_factor`` lay out the same way).
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import PageWatch, axe_violations, serving, synthetic_app

pytestmark = pytest.mark.browser

WORKER = ("reflow.worker@testshire.example", "a long worker pass phrase")
CARER = ("reflow.carer@testshire.example", "a long carer pass phrase")
SIZES = {"320px": dict(viewport={"width": 320, "height": 640}), "zoom200": dict(viewport={"width": 640, "height": 400},
                                                                             device_scale_factor=2)}

# What does not fit: the page scrolling sideways, a visible element past either edge, text cut off by
# its box. The map's own panes pan by design, and visually-hidden text and the skip link are off
# screen on purpose. A form field scrolls its own text, and a map clips its panes, by design.
REFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const found = [];
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  if (document.documentElement.scrollWidth > width) found.push('scrolls sideways: ' + document.documentElement.scrollWidth + ' > ' + width);
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('.visually-hidden, .skip-link, .leaflet-pane, .leaflet-control-container')) continue;
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    if (box.right > width + 1 || box.left < -1) found.push(name(el) + ' off screen (' + Math.round(box.left) + '..' + Math.round(box.right) + ')');
    const scrolls = ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName) || el.classList.contains('leaflet-container');
    if (!scrolls && ['hidden', 'clip'].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1) found.push(name(el) + ' clips its text');
  }
  return found.slice(0, 10);
}"""


@pytest.fixture(scope="module")
def app_with_a_plan(tmp_path_factory, _pg):
    """A scheme with a worker, a carer, a household with three places in its plan, a visit, and My places turned on."""
    from datetime import date

    from kindmap.db import write_session
    from kindmap.models import Place
    from kindmap.models.households import HouseholdCreate, LinkCreate
    from kindmap.services.accounts import links
    from kindmap.services.accounts.auth import add_scheme, add_user
    from kindmap.services.households import my_places
    from kindmap.services.households.records import add_link, create_household
    from kindmap.services.recommend.plan import PlanItemCreate, add_to_plan
    from sqlmodel import select

    with synthetic_app(tmp_path_factory, _pg, "reflow") as application, serving(application) as url:
        with write_session(application.state.engine) as session:
            scheme = add_scheme(session, name="Reflow Shared Lives Scheme With A Long Name", region="testshire")
            worker = add_user(session, email=WORKER[0], password=WORKER[1], role="scheme_worker", scheme_id=scheme.id)
            carer = add_user(session, email=CARER[0], password=CARER[1], role="carer", scheme_id=scheme.id,
                             display_name="Samantha Carer-Longname")
            made = create_household(session, carer, HouseholdCreate(
                label="Household with a rather long name", postcode="TE1 1ST", comfortable_walk_minutes=20,
                interests=["gardening", "reading"], access_needs=["wheelchair"], free_windows="Tue 09:00-12:00"))
            places = session.exec(select(Place.id).where(Place.name.in_(
                ["Testshire Library", "Riverside Park", "St Anne's Church Hall"]))).all()
            for place_id in places:
                add_to_plan(session, carer, made.id, PlanItemCreate(place_id=place_id, note="Tuesday after breakfast"))
            add_link(session, carer, made.id, LinkCreate(on=date.today(), place_id=places[0], outcome="enjoyed",
                                                        what="made_a_friend", feeling="good"))
            my_token = my_places.turn_on(session, carer, made.id)
            _invited, invite_token = links.invite_carer(session, worker, email="new.carer@testshire.example",
                                                        display_name="New Carer")
        yield url, made.id, my_token, invite_token


def pages(household_id: int, my_token: str, invite_token: str) -> dict[str | None, list[str]]:
    h = f"/carer/households/{household_id}"
    return {None: ["/login", f"/my/{my_token}", f"/invite/{invite_token}"],
            CARER: ["/carer", "/carer/households/new", h, f"{h}/edit", f"{h}/plan", f"{h}/plan/easy-read", f"{h}/visit",
                    f"/api/households/{household_id}/plan/print"],
            WORKER: ["/scheme"]}


@pytest.mark.parametrize("size", sorted(SIZES))
def test_every_carer_page_reflows_at_320px_and_200_percent_zoom(browser, app_with_a_plan, size):
    server, household_id, my_token, invite_token = app_with_a_plan
    problems = {}
    for account, paths in pages(household_id, my_token, invite_token).items():
        ctx = browser.new_context(locale="en-GB", bypass_csp=True, **SIZES[size])  # axe-core is injected inline
        page = ctx.new_page()
        page.set_default_timeout(10_000)
        page.watch = PageWatch(page)
        if account:
            page.goto(server + "/login")
            page.fill("#email", account[0])
            page.fill("#password", account[1])
            page.click("button:has-text('Sign in')")
            page.wait_for_url(lambda u: "/login" not in u)
        for path in paths:
            response = page.goto(server + path)
            assert response.status == 200, (path, response.status)
            if page.locator(".routes-panel").count():
                page.locator(".routes-panel").scroll_into_view_if_needed()
                page.locator("[data-routes-status]").filter(has_text="walks from home").wait_for()
            found = page.evaluate(REFLOW)
            violations = axe_violations(page)
            if found or violations:
                problems[path] = found + violations
        assert page.watch.page_errors == []
        ctx.close()
    assert problems == {}
