"""Times with a UTC offset on the wire are shown as the place's own wall clock, whatever zone
the browser is set to (here Auckland, 11-13 hours from London), in real Chromium."""

from __future__ import annotations

import json
import re
import urllib.request
from datetime import date, datetime, timedelta
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import XSS_IMG, PageWatch

pytestmark = pytest.mark.browser

ITEMS = "#place-list button.place-button"
FAR_ZONE = "Pacific/Auckland"
OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _api(server: str, path: str, **params) -> dict:
    with urllib.request.urlopen(f"{server}{path}?{urlencode(params, doseq=True)}") as r:
        return json.load(r)


def _place_id(server: str, name: str) -> int:
    data = _api(server, "/api/places", postcode="TE1 1ST", limit=50)
    return next(f["id"] for f in data["features"] if f["properties"]["name"] == name)


def _london_offset_ok(value: str) -> bool:
    when = datetime.fromisoformat(value)
    return when.utcoffset() == ZoneInfo("Europe/London").utcoffset(when.replace(tzinfo=None))


@pytest.fixture
def far_page(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB", timezone_id=FAR_ZONE)
    pg = ctx.new_page()
    pg.set_default_timeout(10_000)
    pg.watch = PageWatch(pg)
    assert pg.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == FAR_ZONE
    yield pg
    ctx.close()


def test_format_helpers_read_the_wall_clock_of_offset_strings(far_page, server):
    far_page.goto(server + "/")
    got = far_page.evaluate("""async () => {
        const f = await import('/static/js/format.js');
        const values = ['2026-07-13T10:00:00+01:00', '2026-11-30T10:00:00+00:00', '2026-11-30T10:00:00Z',
                        '2026-11-30T10:00:00.250+00:00', '2026-07-13T10:00', '2026-03-29T02:30:00+01:00',
                        '2026-09-27T02:30:00+01:00', 'Monday', '2026-07-13 10:00', '', null];
        return values.map(v => [v, f.formatWhen(v), f.formatOpenFrom(v)]);
    }""")
    shown = {v: (when, open_from) for v, when, open_from in got}
    assert len(shown) == len(got)
    for value, day in [("2026-07-13T10:00:00+01:00", "Monday 13 July"), ("2026-11-30T10:00:00+00:00", "Monday 30 November"),
                       ("2026-11-30T10:00:00Z", "Monday 30 November"), ("2026-11-30T10:00:00.250+00:00", "Monday 30 November"),
                       ("2026-07-13T10:00", "Monday 13 July")]:
        when, open_from = shown[value]
        assert when.startswith(day) and when.endswith("10:00"), (value, when)
        assert open_from == "Open Monday from 10:00", (value, open_from)
    # The first hour of summer time, as the server writes it (kindmap.hours.localize): its own clock.
    assert shown["2026-03-29T02:30:00+01:00"][1] == "Open Sunday from 02:30"
    # 02:30 on 27 September 2026 is a real time in London but never happens in Auckland (its clocks
    # go forward then): the place's time is still shown, not moved by the browser's own clock change.
    assert shown["2026-09-27T02:30:00+01:00"][1] == "Open Sunday from 02:30"
    for bad in ("Monday", "2026-07-13 10:00", "", None):
        assert shown[bad] == (None, None), bad


@pytest.mark.parametrize(("next_open", "day"), [
    ("2026-07-13T10:00:00+01:00", "Monday 13 July"),  # summer: BST
    ("2026-11-30T10:00:00+00:00", "Monday 30 November"),  # winter: GMT
    ("2026-11-30T10:00:00Z", "Monday 30 November"),  # the same instant, written the other way
])
def test_details_show_the_next_opening_in_the_places_own_time(far_page, server, next_open, day):
    place = _place_id(server, XSS_IMG)  # Mo-Fr 09:00-17:00
    real = _api(server, f"/api/places/{place}")["properties"]["next_open"]
    assert real is None or (OFFSET.match(real) and _london_offset_ok(real)), real

    def answer(route):
        response = route.fetch()
        body = response.json()
        body["properties"].update(open=False, next_open=next_open)
        route.fulfill(response=response, json=body)

    far_page.route(re.compile(rf"/api/places/{place}$"), answer)
    far_page.goto(f"{server}/?postcode={quote('TE1 1ST')}#place={place}")
    details = far_page.locator("#details")
    expect(far_page.locator("#details-name")).to_have_text(XSS_IMG)
    line = details.locator("p", has_text="Opens next:")
    expect(line).to_have_count(1)
    text = line.text_content()
    assert text.startswith(f"Opens next: {day}") and text.endswith("10:00"), text
    assert far_page.watch.page_errors == []


def test_free_time_list_shows_opening_times_from_real_offset_strings(far_page, server):
    day = (date.today() + timedelta(days=2)).strftime("%a")  # not today: openings start with the window
    body = _api(server, "/api/places", postcode="TE1 1ST", window=f"{day} 14:00-16:00")
    expected = []
    for f in body["features"]:
        value = f["properties"]["next_open"]
        assert OFFSET.match(value) and _london_offset_ok(value), value
        when = datetime.fromisoformat(value)
        expected.append(f"Open {when:%A} from {when:%H:%M}")
    assert expected and all(e.endswith("14:00") for e in expected)

    far_page.goto(f"{server}/?postcode={quote('TE1 1ST')}&window={quote(day + ' 14:00-16:00')}")
    expect(far_page.locator(ITEMS)).to_have_count(len(body["features"]))
    assert far_page.locator(f"{ITEMS} .place-when").all_text_contents() == expected
