"""The community-links plan (API and printable page) and the links chart, on the real Rutland data."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from kindmap.db import read_session
from kindmap.models import Place
from kindmap.models.activities import Opportunity, SupportService
from kindmap.models.audit import AuditEntry
from kindmap.models.households import PlanItem
from kindmap.services.catalogue.activities import seed_sample_activities
from kindmap.services.walking import network_path
from tests.conftest import db_fingerprint
from tests.test_households import build_world

NOW = datetime(2026, 1, 7, 12, 0, tzinfo=UTC)
HOME = {"lon": -0.72713, "lat": 52.67168}  # Oakham; digits chosen to be searchable in pages
XSS = "<script>alert('plan')</script>"


@pytest.fixture(scope="module")
def world(rutland, tmp_path_factory):
    base, _engine, _reports = rutland
    w = build_world(rutland, tmp_path_factory.mktemp("plan"))
    target = network_path(w.settings, "rutland")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(network_path(base, "rutland"), target)
    seed_sample_activities(w.engine, region="rutland")
    w.app.state.clock = lambda: NOW
    with w.client:
        yield w


@pytest.fixture(scope="module")
def targets(world):
    with read_session(world.engine) as session:
        library = session.exec(select(Place).where(Place.name == "Rutland County Library")).one()
        park = session.exec(select(Place).where(Place.name == "Cutts Close Park")).one()
        knit = session.exec(select(Opportunity).where(Opportunity.title.contains("Knit and natter"))).one()
        support = session.exec(select(SupportService)).first()
        return {"library": library.id, "park": park.id, "knit": knit.id, "support": support.id,
                "coords": [(p.lon, p.lat) for p in (library, park)]}


def new_household(world, label="Plan household") -> int:
    r = world.client.post("/api/households", headers=world.headers("carer_a1"), json={"label": label, **HOME})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_carers_save_list_and_remove_plan_items(world, targets):
    hid = new_household(world)
    h = world.headers("carer_a1")
    url = f"/api/households/{hid}/plan"
    added = [world.client.post(url, headers=h, json=body) for body in (
        {"place_id": targets["library"], "note": "Ask about the knitting"},
        {"opportunity_id": targets["knit"]}, {"support_id": targets["support"]})]
    assert [r.status_code for r in added] == [201, 201, 201], [r.text for r in added]
    assert [r.json()["kind"] for r in added] == ["place", "opportunity", "support"]
    listed = world.client.get(url, headers=world.headers("worker_a")).json()  # the scheme worker sees it too
    assert [i["name"] for i in listed][0] == "Rutland County Library" and listed[0]["note"] == "Ask about the knitting"
    assert len(listed) == 3
    r = world.client.delete(url, headers=h, params={"item_id": added[1].json()["id"]})
    assert r.status_code == 204
    assert [i["kind"] for i in world.client.get(url, headers=h).json()] == ["place", "support"]


def test_plan_bad_input_is_4xx_with_what_to_fix_and_nothing_saved(world, targets):
    hid = new_household(world)
    h = world.headers("carer_a1")
    url = f"/api/households/{hid}/plan"
    assert world.client.post(url, headers=h, json={"place_id": targets["park"]}).status_code == 201
    before = db_fingerprint(world.engine)["planitem"]
    cases = [({}, 422, "exactly one"), ({"place_id": targets["park"], "support_id": targets["support"]}, 422, "exactly one"),
             ({"place_id": 10**8}, 422, "place_id"), ({"place_id": targets["park"]}, 409, "already in the plan"),
             ({"opportunity_id": targets["knit"], "note": "x" * 2001}, 422, "note")]
    for body, status, words in cases:
        r = world.client.post(url, headers=h, json=body)
        assert r.status_code == status and words in r.json()["detail"], (body, r.status_code, r.text)
    for params, status in (({}, 422), ({"item_id": 10**8}, 404)):
        assert world.client.delete(url, headers=h, params=params).status_code == status
    assert db_fingerprint(world.engine)["planitem"] == before
    # Someone else's household: 404 whatever the body, and the plan is untouched.
    assert world.client.post(url, headers=world.headers("carer_b"), json={"place_id": targets["library"]}).status_code == 404
    assert world.client.get(url, headers=world.headers("council_analyst")).status_code == 404
    assert world.client.get(url).status_code == 401


def test_printable_plan_renders_items_escaped_with_print_css_and_no_coordinates(world, targets):
    hid = new_household(world, label=f"Household {XSS}")
    h = world.headers("carer_a1")
    url = f"/api/households/{hid}/plan"
    for body in ({"place_id": targets["library"], "note": XSS}, {"place_id": targets["park"]},
                 {"opportunity_id": targets["knit"]}):
        assert world.client.post(url, headers=h, json=body).status_code == 201
    for who in ("carer_a1", "worker_a"):
        r = world.client.get(f"{url}/print", headers=world.headers(who))
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        page = r.text
        assert '<link rel="stylesheet" href="/static/plan.css">' in page
        for name in ("Rutland County Library", "Cutts Close Park", "Knit and natter"):
            assert name in page
        assert XSS not in page and "&lt;script&gt;alert(&#39;plan&#39;)&lt;/script&gt;" in page
        assert "Everyone is welcome" in page
        assert "Tuesdays 10am–12pm" in page
        # Walk times in bands only, even for the carer (paper gets left on tables).
        assert re.search(r"<strong>Walk:</strong> (under 10 min|10–20 min) walk", page)
        assert not re.search(r"\b\d+(\.\d+)? min walk", page.replace("under 10 min walk", "").replace("10–20 min walk", ""))
        # The sketch map: a numbered dot per located item, no home marker, no coordinates.
        # The activity is at the library, so it shares the library's dot.
        assert page.count('class="dot"') == 2 and ">1,3</text>" in page and ">2</text>" in page
        for lon, lat in [(HOME["lon"], HOME["lat"])] + targets["coords"]:
            assert f"{lon:.3f}" not in page and f"{lat:.3f}" not in page
    css = world.client.get("/static/plan.css")
    assert css.status_code == 200 and "@media print" in css.text and "@page" in css.text
    with read_session(world.engine) as session:
        audit = session.exec(select(AuditEntry).where(AuditEntry.household_id == hid,
                                                      AuditEntry.detail == "printable plan")).all()
    assert len(audit) == 2
    assert world.client.get(f"{url}/print", headers=world.headers("carer_a2")).status_code == 404
    assert world.client.get(f"{url}/print").status_code == 401


def test_empty_plan_page_says_what_to_do(world):
    hid = new_household(world)
    page = world.client.get(f"/api/households/{hid}/plan/print", headers=world.headers("carer_a1")).text
    assert "No places saved yet" in page and 'class="dot"' not in page


def test_links_chart_renders_png_and_svg_and_is_audited(world, targets):
    hid = new_household(world)
    h = world.headers("carer_a1")
    for on, outcome in (("2025-01-10", "tried"), ("2025-02-03", "enjoyed"), ("2025-03-05", "regular"),
                        ("2025-03-12", "regular"), ("2025-04-01", "not_for_us")):
        r = world.client.post(f"/api/households/{hid}/links", headers=h,
                              json={"on": on, "place_id": targets["library"], "outcome": outcome, "note": XSS})
        assert r.status_code == 201, r.text
    png = world.client.get(f"/api/households/{hid}/links/chart.png", headers=world.headers("worker_a"))
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n") and len(png.content) > 10_000
    svg = world.client.get(f"/api/households/{hid}/links/chart.svg", headers=world.headers("worker_a"))
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.lstrip().startswith("<?xml") and "<svg" in svg.text
    for words in ("Going regularly", "Not for us", "Jan 2025", "Apr 2025"):
        assert words in svg.text
    assert "<script" not in svg.text and "Plan household" not in svg.text  # no notes, no label
    empty = world.client.get(f"/api/households/{new_household(world)}/links/chart.png", headers=h)
    assert empty.status_code == 200 and empty.content.startswith(b"\x89PNG") and len(empty.content) > 5_000
    with read_session(world.engine) as session:
        reads = session.exec(select(AuditEntry.action, AuditEntry.detail).where(AuditEntry.household_id == hid,
                                                                                AuditEntry.action == "read_links")).all()
    assert sorted(reads) == [("read_links", "chart png"), ("read_links", "chart svg")]
    assert world.client.get(f"/api/households/{hid}/links/chart.png", headers=world.headers("carer_b")).status_code == 404
    assert world.client.get(f"/api/households/{hid}/links/chart.svg").status_code == 401


def test_deleting_a_household_removes_its_plan(world, targets):
    hid = new_household(world)
    world.client.post(f"/api/households/{hid}/plan", headers=world.headers("carer_a1"), json={"place_id": targets["park"]})
    assert world.client.delete(f"/api/households/{hid}", headers=world.headers("worker_a")).status_code == 204
    with read_session(world.engine) as session:
        assert session.exec(select(PlanItem).where(PlanItem.household_id == hid)).all() == []
