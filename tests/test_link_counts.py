"""Council counts of places where links grow: fixed geographies, withheld below 10 households (or none), rounded."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from kindmap.db import read_session, write_session
from kindmap.models import Place
from kindmap.models.activities import Opportunity
from kindmap.models.common import utcnow
from kindmap.services.accounts.auth import add_user
from kindmap.services.catalogue.activities import seed_sample_activities
from kindmap.services.households.link_counts import THRESHOLD, CountCell, _complement
from tests.test_households import PASSWORD, build_world

OAKHAM = {"lon": -0.7280, "lat": 52.6700}
# Six carers over two schemes, so a dozen households pass the rule "10 besides any one account's".
CARERS = ("carer_a1", "carer_a2", "carer_a3", "carer_a4", "carer_b", "carer_b2")
LONG_AGO = utcnow() - timedelta(days=60)  # links count once 28 days old


@pytest.fixture(scope="module")
def world(rutland, tmp_path_factory):
    w = build_world(rutland, tmp_path_factory.mktemp("counts"))
    seed_sample_activities(w.engine, region="rutland")
    with write_session(w.engine) as session:
        for who in ("carer_a3", "carer_a4", "carer_b2"):
            w.users[who] = add_user(session, email=f"{who}@example.org", password=PASSWORD, role="carer",
                                    scheme_id=w.schemes["b" if who.startswith("carer_b") else "a"]).id
    with w.client:
        for who in w.users:  # signed in on the real clock, so the tokens outlive the earlier one below
            w.headers(who)
        yield w


def household_with_links(world, links: list[dict], *, carer: str = "carer_a1") -> int:
    h = world.headers(carer)
    world.app.state.clock = lambda: LONG_AGO
    try:
        r = world.client.post("/api/households", headers=h, json={"label": "Counted", **OAKHAM})
        assert r.status_code == 201, r.text
        hid = r.json()["id"]
        for link in links:
            assert world.client.post(f"/api/households/{hid}/links", headers=h, json={"on": "2025-05-01", **link}).status_code == 201
    finally:
        world.app.state.clock = None
    return hid


def counts(world, who="council_analyst"):
    r = world.client.get("/api/link-counts", params={"region": "rutland"}, headers=world.headers(who))
    assert r.status_code == 200, r.text
    return r.json()


def cell(cells, key):
    return next(c for c in cells if c["key"] == key)


WITHHELD = {"places": None, "households": None, "links": None, "suppressed": True}


def test_link_counts_suppress_below_10_and_sum_when_shown(world):
    with read_session(world.engine) as session:
        library = session.exec(select(Place).where(Place.name == "Rutland County Library")).one()
        church = session.exec(select(Place).where(Place.name == "Uppingham Methodist Church")).one()
        knit = session.exec(select(Opportunity).where(Opportunity.place_id == library.id)).first()
        library_id, church_id, knit_id = library.id, church.id, knit.id
    empty = counts(world)
    assert empty["threshold"] == THRESHOLD == 10 and empty["total"] == {**empty["total"], **WITHHELD}
    # Every small area, fixed; an empty cell is withheld exactly like a small one (it used to say 0, which
    # told an analyst where the small ones were).
    assert len(empty["by_area"]) == 26 and all(c == {**c, **WITHHELD} for c in empty["by_area"] + empty["by_category"])

    # 9 households growing links at the library: below the threshold everywhere, and indistinguishable from none.
    for k in range(9):
        household_with_links(world, [{"place_id": library_id, "outcome": "regular"}], carer=CARERS[k % 6])
    data = counts(world)
    assert data["total"] == {**data["total"], **WITHHELD}
    assert data["by_area"] == empty["by_area"] and data["by_category"] == empty["by_category"]

    # Three more (12): one through the library's activity and with two links; 'tried' and 'not for us' never count.
    household_with_links(world, [{"opportunity_id": knit_id, "outcome": "enjoyed"},
                                 {"place_id": library_id, "outcome": "regular"}], carer=CARERS[9 % 6])
    household_with_links(world, [{"place_id": library_id, "outcome": "enjoyed"},
                                 {"place_id": church_id, "outcome": "tried"}], carer=CARERS[10 % 6])
    household_with_links(world, [{"place_id": library_id, "outcome": "regular"},
                                 {"place_id": church_id, "outcome": "not_for_us"}], carer=CARERS[11 % 6])
    data = counts(world)
    # 12 households and 13 links, published rounded to a multiple of 5.
    assert data["total"] == {"key": "all", "name": "Rutland", "places": 1, "households": 10, "links": 15,
                             "suppressed": False}
    shown = [c for c in data["by_area"] if not c["suppressed"]]
    assert len(shown) == 1 and shown[0]["households"] == 10 and shown[0]["places"] == 1 and shown[0]["links"] == 15
    assert cell(data["by_category"], "library")["households"] == 10
    for table in ("by_area", "by_category"):
        assert sum(c["households"] or 0 for c in data[table]) == data["total"]["households"]
        assert sum(c["links"] or 0 for c in data[table]) == data["total"]["links"]
        assert all(c == {**c, **WITHHELD} for c in data[table] if c["suppressed"])

    # Three households enjoying the church in Uppingham: that area and category stay withheld, like every
    # empty cell, while the total (now 15) is published.
    for k in range(3):
        household_with_links(world, [{"place_id": church_id, "outcome": "enjoyed"}], carer=CARERS[k])
    data = counts(world)
    assert data["total"]["households"] == 15 and data["total"]["places"] == 1  # the church alone is not publishable
    assert cell(data["by_category"], "place_of_worship") == {**cell(data["by_category"], "place_of_worship"), **WITHHELD}
    for table in ("by_area", "by_category"):
        assert [c["households"] for c in data[table] if not c["suppressed"]] == [10]


def test_a_lone_withheld_cell_takes_the_smallest_published_one_with_it():
    """Complementary suppression: with the total published, one withheld cell would be total minus the rest."""
    def shown(key, n):
        return CountCell(key=key, name=key, places=1, households=n, links=n, suppressed=False)

    total = shown("all", 60)
    cells = [shown("a", 20), shown("b", 15), CountCell(key="c", name="c", places=None, households=None, links=None,
                                                       suppressed=True), shown("d", 25)]
    _complement(cells, total)
    assert [c.key for c in cells if c.suppressed] == ["b", "c"] and cells[1].households is None
    _complement(cells, total)  # two withheld: nothing more
    assert [c.key for c in cells if c.suppressed] == ["b", "c"]


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
