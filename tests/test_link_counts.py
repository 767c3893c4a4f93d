"""Council counts of places where links grow: fixed geographies, suppression below 10 households."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from kindmap.db import read_session
from kindmap.models import Place
from kindmap.models.activities import Opportunity
from kindmap.services.activities import seed_sample_activities
from kindmap.services.link_counts import THRESHOLD
from tests.test_households import build_world

OAKHAM = {"lon": -0.7280, "lat": 52.6700}


@pytest.fixture(scope="module")
def world(rutland, tmp_path_factory):
    w = build_world(rutland, tmp_path_factory.mktemp("counts"))
    seed_sample_activities(w.engine, region="rutland")
    with w.client:
        yield w


def household_with_links(world, links: list[dict]) -> int:
    h = world.headers("carer_a1")
    r = world.client.post("/api/households", headers=h, json={"label": "Counted", **OAKHAM})
    assert r.status_code == 201, r.text
    hid = r.json()["id"]
    for link in links:
        assert world.client.post(f"/api/households/{hid}/links", headers=h, json={"on": "2025-05-01", **link}).status_code == 201
    return hid


def counts(world, who="council_analyst"):
    r = world.client.get("/api/link-counts", params={"region": "rutland"}, headers=world.headers(who))
    assert r.status_code == 200, r.text
    return r.json()


def cell(cells, key):
    return next(c for c in cells if c["key"] == key)


def test_link_counts_suppress_below_10_and_sum_when_shown(world):
    with read_session(world.engine) as session:
        library = session.exec(select(Place).where(Place.name == "Rutland County Library")).one()
        church = session.exec(select(Place).where(Place.name == "Uppingham Methodist Church")).one()
        knit = session.exec(select(Opportunity).where(Opportunity.place_id == library.id)).first()
        library_id, church_id, knit_id = library.id, church.id, knit.id
    empty = counts(world)
    assert empty["threshold"] == THRESHOLD == 10 and empty["total"]["households"] == 0
    assert len(empty["by_area"]) == 23 and all(c["households"] == 0 for c in empty["by_area"])  # every small area, fixed

    # 9 households growing links at the library: below the threshold everywhere.
    for k in range(9):
        household_with_links(world, [{"place_id": library_id, "outcome": "regular"}])
    data = counts(world)
    assert data["total"] == {**data["total"], "places": None, "households": None, "links": None, "suppressed": True}
    assert all(c["households"] in (0, None) for c in data["by_area"] + data["by_category"])
    assert [c["key"] for c in data["by_category"] if c["suppressed"]] == ["library"]

    # Three more (12): one through the library's activity and with two links; 'tried' and 'not for us' never count.
    household_with_links(world, [{"opportunity_id": knit_id, "outcome": "enjoyed"},
                                 {"place_id": library_id, "outcome": "regular"}])
    household_with_links(world, [{"place_id": library_id, "outcome": "enjoyed"},
                                 {"place_id": church_id, "outcome": "tried"}])
    household_with_links(world, [{"place_id": library_id, "outcome": "regular"},
                                 {"place_id": church_id, "outcome": "not_for_us"}])
    data = counts(world)
    assert data["total"] == {"key": "all", "name": "Rutland", "places": 1, "households": 12, "links": 13,
                             "suppressed": False}
    shown = [c for c in data["by_area"] if c["households"]]
    assert len(shown) == 1 and shown[0]["households"] == 12 and shown[0]["places"] == 1 and shown[0]["links"] == 13
    assert cell(data["by_category"], "library")["households"] == 12
    for table in ("by_area", "by_category"):
        assert sum(c["households"] or 0 for c in data[table]) == data["total"]["households"]
        assert sum(c["links"] or 0 for c in data[table]) == data["total"]["links"]
        assert not any(c["suppressed"] for c in data[table])

    # Three households enjoying the church in Uppingham: that area and category are suppressed, and so is the
    # next smallest cell of each table, so the total (now 15) cannot reveal the 3 by subtraction.
    for k in range(3):
        household_with_links(world, [{"place_id": church_id, "outcome": "enjoyed"}])
    data = counts(world)
    assert data["total"]["households"] == 15 and data["total"]["places"] == 2
    church_cat = cell(data["by_category"], "place_of_worship")
    assert church_cat["suppressed"] and church_cat["households"] is None
    for table in ("by_area", "by_category"):
        hidden = [c for c in data[table] if c["suppressed"]]
        assert len(hidden) == 2 and all(c["households"] is None and c["places"] is None for c in hidden)
        assert all(c["households"] == 0 for c in data[table] if not c["suppressed"])


def test_link_counts_are_for_council_analysts_and_admins_and_name_no_household(world):
    assert counts(world, "admin")["region"] == "rutland"
    for who in ("carer_a1", "worker_a", "moderator"):
        r = world.client.get("/api/link-counts", params={"region": "rutland"}, headers=world.headers(who))
        assert r.status_code == 403
    assert world.client.get("/api/link-counts", params={"region": "rutland"}).status_code == 401
    r = world.client.get("/api/link-counts", params={"region": "atlantis"}, headers=world.headers("council_analyst"))
    assert r.status_code == 404 and "rutland" in r.json()["detail"] and "atlantis" in r.json()["detail"]
    r = world.client.get("/api/link-counts", headers=world.headers("council_analyst"))
    assert r.status_code == 422 and "region" in r.json()["detail"]
    keys = set()

    def walk(node):
        if isinstance(node, dict):
            keys.update(node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    data = counts(world)
    walk(data)
    assert keys.isdisjoint({"id", "household_id", "household_ids", "lon", "lat", "on", "note", "postcode"})
    assert "Counted" not in json.dumps(data)
