"""Attacks on the council counts of places where links grow (security issue 13, finding 6).

An analyst must not learn where any household has links from a cell below 10, and a scheme
worker must not unlock such a cell by padding it with households of their own, then learn the
real households' count by subtraction. Each test is one attack, through the API.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import timedelta

import pytest
from shapely.geometry import Point, shape
from sqlmodel import select

from kindmap.db import read_session, write_session
from kindmap.models import Area, Place, Region
from kindmap.models.common import utcnow
from kindmap.services.accounts.auth import add_user
from kindmap.services.households.link_counts import THRESHOLD
from tests.test_households import PASSWORD, build_world

OAKHAM = {"lon": -0.7280, "lat": 52.6700}
EXTRA_CARERS = {"carer_a3": "a", "carer_a4": "a", "carer_b2": "b"}
ROUND = 5  # the default Settings.link_counts_rounding


@pytest.fixture(scope="module")
def world(rutland, tmp_path_factory):
    """The households world plus three more carers (two in scheme A, one in B), all signed in."""
    w = build_world(rutland, tmp_path_factory.mktemp("disclosure"))
    with write_session(w.engine) as session:
        for who, scheme in EXTRA_CARERS.items():
            w.users[who] = add_user(session, email=f"{who}@example.org", password=PASSWORD, role="carer",
                                    scheme_id=w.schemes[scheme]).id
    with w.client:
        # Sign everyone in on the real clock: tokens then outlive every earlier clock the tests set.
        for who in w.users:
            w.headers(who)
        yield w


@pytest.fixture(scope="module")
def spots(world):
    """Places each in its own small area and category, plus an area and a category no test touches."""
    with read_session(world.engine) as session:
        region = session.exec(select(Region).where(Region.slug == "rutland")).one()
        areas = session.exec(select(Area).where(Area.region_id == region.id).order_by(Area.code)).all()
        places = session.exec(select(Place).where(Place.region_id == region.id).order_by(Place.id)).all()
        geoms = [(a.code, shape(json.loads(a.geometry_geojson))) for a in areas]
        chosen, used_areas, used_categories = {}, set(), set()
        for place in places:
            code = next((c for c, g in geoms if g.intersects(Point(place.lon, place.lat))), None)
            if code is None or code in used_areas or place.category in used_categories:
                continue
            chosen[len(chosen)] = (place.id, code, place.category)
            used_areas.add(code)
            used_categories.add(place.category)
            if len(chosen) == 4:
                break
        empty_area = next(c for c, _g in geoms if c not in used_areas)
        empty_category = next(p.category for p in places if p.category not in used_categories)
    names = ("presence", "padding", "legit", "spare")
    return {name: chosen[i] for i, name in enumerate(names)} | {"empty_area": empty_area, "empty_category": empty_category}


@contextmanager
def clock_at(world, when):
    """Run API calls as if at ``when`` (records made then carry that time)."""
    world.app.state.clock = lambda: when
    try:
        yield
    finally:
        world.app.state.clock = None


LONG_AGO = utcnow() - timedelta(days=60)  # well past the 28-day minimum age


def household(world, who: str, place_id: int, *, carer_ids: list[str] = (), when=LONG_AGO) -> int:
    """A household added by ``who`` (its carers ``carer_ids``) with an 'enjoyed' link to the place."""
    body = {"label": "Counted", **OAKHAM, "carer_ids": [world.users[c] for c in carer_ids]}
    with clock_at(world, when):
        r = world.client.post("/api/households", headers=world.headers(who), json=body)
        assert r.status_code == 201, r.text
        hid = r.json()["id"]
        r = world.client.post(f"/api/households/{hid}/links", headers=world.headers(who),
                              json={"on": "2025-05-01", "place_id": place_id, "outcome": "enjoyed"})
        assert r.status_code == 201, r.text
    return hid


def counts(world) -> dict:
    r = world.client.get("/api/link-counts", params={"region": "rutland"}, headers=world.headers("council_analyst"))
    assert r.status_code == 200, r.text
    return r.json()


def cell(data: dict, table: str, key: str) -> dict:
    return next(c for c in data[table] if c["key"] == key)


def bare(c: dict) -> str:
    """A cell as published, without its key and name: what it says about the households."""
    return json.dumps({k: v for k, v in c.items() if k not in ("key", "name")}, sort_keys=True)


def test_a_cell_with_some_households_looks_exactly_like_an_empty_one(world, spots):
    place, area, category = spots["presence"]
    before = counts(world)
    all_areas = [c["key"] for c in before["by_area"]]
    all_categories = [c["key"] for c in before["by_category"]]
    for n, carer in enumerate(["carer_a1", "carer_a2", "carer_a3", "carer_a4", "carer_b", "carer_b2",
                               "carer_a1", "carer_a2", "carer_b"], start=1):
        household(world, carer, place)
        data = counts(world)
        # The fixed geography's full set of cells, in the same order, whatever holds links.
        assert [c["key"] for c in data["by_area"]] == all_areas and [c["key"] for c in data["by_category"]] == all_categories
        assert bare(cell(data, "by_area", area)) == bare(cell(data, "by_area", spots["empty_area"])), n
        assert bare(cell(data, "by_category", category)) == bare(cell(data, "by_category", spots["empty_category"])), n
        assert bare(cell(data, "by_area", area)) == bare(cell(before, "by_area", area)), n


def test_a_scheme_worker_padding_a_cell_cannot_unlock_it(world, spots):
    place, area, _category = spots["padding"]
    empty = bare(cell(counts(world), "by_area", spots["empty_area"]))
    for carer in ("carer_a2", "carer_a3", "carer_b"):  # three real households, three carers
        household(world, carer, place)
    assert bare(cell(counts(world), "by_area", area)) == empty

    # The attack: worker_a adds households one by one under one carer, linked to the same place, and
    # watches for the cell to open (12 households / 16 links would give the real 3 by subtraction).
    for k in range(1, 11):
        household(world, "worker_a", place, carer_ids=["carer_a1"])
        assert bare(cell(counts(world), "by_area", area)) == empty, f"opened after {k} padding households"
    # Spread over three carers of the scheme: the creator is still one account.
    for k, carer in enumerate(["carer_a3", "carer_a4", "carer_a1"] * 4):
        household(world, "worker_a", place, carer_ids=[carer])
        assert bare(cell(counts(world), "by_area", area)) == empty, f"opened after {k} spread households"
    # Links added by the worker to households of their scheme are theirs too.
    with clock_at(world, LONG_AGO):
        mine = [h["id"] for h in world.client.get("/api/households", headers=world.headers("worker_a")).json()]
        for hid in mine[:12]:
            r = world.client.post(f"/api/households/{hid}/links", headers=world.headers("worker_a"),
                                  json={"on": "2025-05-01", "place_id": place, "outcome": "regular"})
            assert r.status_code == 201
    assert bare(cell(counts(world), "by_area", area)) == empty


def test_a_fresh_batch_counts_for_nothing_until_it_is_old_enough(world, spots):
    place, area, _category = spots["spare"]
    empty = bare(cell(counts(world), "by_area", spots["empty_area"]))
    carers = ["carer_a1", "carer_a2", "carer_a3", "carer_a4", "carer_b", "carer_b2"] * 3
    for carer in carers:  # 18 households from 6 carers, all recorded today
        household(world, carer, place, when=utcnow())
    assert bare(cell(counts(world), "by_area", area)) == empty


def test_a_legitimate_cell_publishes_rounded_counts_that_one_household_cannot_difference(world, spots):
    place, area, category = spots["legit"]
    made = []  # (household id, its scheme's worker)
    for carer in ["carer_a1", "carer_a2", "carer_a3", "carer_a4", "carer_b"] * 3:
        made.append((household(world, carer, place), "worker_b" if carer.startswith("carer_b") else "worker_a"))
    data = counts(world)
    shown = cell(data, "by_area", area)
    assert shown["suppressed"] is False
    assert (shown["households"], shown["links"], shown["places"]) == (15, 15, 1)
    assert cell(data, "by_category", category)["households"] == 15

    # One more household, then one fewer, one at a time down to nothing: every published value is a
    # multiple of 5 within 2 of the truth, and no state with fewer than 10 households (net of any one
    # account) is published, so no pair of states differences to a count below 10.
    made.append((household(world, "carer_b2", place), "worker_b"))
    states = [(16, cell(counts(world), "by_area", area))]
    assert states[0][1]["households"] == 15, "one more household changes nothing published"
    empty = bare(cell(counts(world), "by_area", spots["empty_area"]))
    while made:
        hid, worker = made.pop(0)
        assert world.client.delete(f"/api/households/{hid}", headers=world.headers(worker)).status_code == 204
        states.append((len(made), cell(counts(world), "by_area", area)))
    for true, c in states:
        if c["suppressed"]:
            assert bare(c) == empty
            continue
        assert true >= THRESHOLD
        for name in ("households", "links"):
            assert c[name] % ROUND == 0 and c[name] >= THRESHOLD and abs(c[name] - true) <= ROUND // 2
    for (t1, c1), (t2, c2) in zip(states, states[1:]):
        if not c1["suppressed"] and not c2["suppressed"] and c1["households"] != c2["households"]:
            assert min(t1, t2) >= THRESHOLD  # a rounding step shows an exact count only at 10 or more
    assert states[1][1]["households"] == 15 and states[-1][1]["suppressed"]
