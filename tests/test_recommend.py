"""Recommendations on the real Rutland data (places, path network, sample activities) for synthetic households."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import opening_hours
import pytest
from dateutil.rrule import rrulestr
from sqlmodel import select

from kindmap.db import read_session, write_session
from kindmap.geo.graph import Router
from kindmap.geo.network import WalkNetwork
from kindmap.geo.profiles import get_profile
from kindmap.models import Place
from kindmap.models.activities import Opportunity
from kindmap.models.audit import AuditEntry
from kindmap.services.catalogue.activities import seed_sample_activities
from kindmap.services.recommend.recommendations import walk_band
from kindmap.services.walking import network_path
from tests.test_households import build_world

# Wednesday 7 January 2026, noon in London: the next Saturday morning is 10 January.
NOW = datetime(2026, 1, 7, 12, 0, tzinfo=UTC)
SATURDAY = (datetime(2026, 1, 10, 9, 0), datetime(2026, 1, 10, 12, 0))
OAKHAM = {"lon": -0.7280, "lat": 52.6700}
# The foot of a flight of steps in Oakham (a real highway=steps edge of the Rutland network): walking
# up them, Elm Close Allotments is ~800 m away; without steps the path is ~1,185 m.
STEPS_FOOT = {"lon": -0.7259548, "lat": 52.6712795}


@pytest.fixture(scope="module")
def world(rutland, tmp_path_factory):
    base, _engine, _reports = rutland
    folder = tmp_path_factory.mktemp("recommend")
    w = build_world(rutland, folder)
    target = network_path(w.settings, "rutland")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(network_path(base, "rutland"), target)
    seed_sample_activities(w.engine, region="rutland")
    w.app.state.clock = lambda: NOW
    with w.client:
        yield w


def add_household(world, who="carer_a1", **fields) -> int:
    body = {"label": "Household", **OAKHAM, **fields}
    r = world.client.post("/api/households", headers=world.headers(who), json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def recommendations(world, household_id, who="carer_a1", **params):
    r = world.client.get(f"/api/households/{household_id}/recommendations", headers=world.headers(who), params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_ranked_and_explained_by_the_documented_score(world):
    hid = add_household(world, interests=["reading", "crafts"], comfortable_walk_minutes=20)
    data = recommendations(world, hid)
    assert data["travel"] == "network" and data["profile"] == "walk" and data["exact_minutes"] is True
    items = data["items"]
    assert len(items) >= 5
    assert [i["score"] for i in items] == sorted((i["score"] for i in items), reverse=True)
    for item in items:
        parts = item["score_parts"]
        assert item["score"] == pytest.approx(0.4 * parts["walk"] + 0.3 * parts["interest"] + 0.2 * parts["welcome"]
                                              + 0.1 * parts["soon"], abs=0.002)
        if item["walk_minutes"] is not None:
            assert item["walk_minutes"] <= 20
            assert item["reason"].startswith(f"{max(1, round(item['walk_minutes']))} min walk")
            assert item["walk_band"] == walk_band(item["walk_minutes"])[0]
    library = next(i for i in items if i["name"] == "Rutland County Library")
    assert library["matched_interests"] == ["reading"] and "you like reading" in library["reason"]
    assert "free" in library["reason"]
    knit = next(i for i in items if "Knit and natter" in i["name"])
    assert knit["matched_interests"] == ["crafts"] and "Tuesdays 10am–12pm" in knit["reason"]
    assert "you like crafts" in knit["reason"]
    # Interest-matched items outrank otherwise similar unmatched ones (same band, same welcome).
    top = items[0]
    assert top["matched_interests"], top
    # The home's coordinates never appear, to any precision we stored them at.
    assert "52.67," not in str(data) and "-0.728," not in str(data)
    assert "52.67" not in [str(i["lat"]) for i in items]


def test_bands_for_everyone_but_the_households_own_carers(world):
    hid = add_household(world, interests=["reading"], comfortable_walk_minutes=25)
    mine = recommendations(world, hid, "carer_a1")
    assert world.client.get(f"/api/households/{hid}/recommendations", headers=world.headers("admin")).status_code == 404
    for who in ("worker_a",):
        theirs = recommendations(world, hid, who)
        assert theirs["exact_minutes"] is False
        assert all(i["walk_minutes"] is None for i in theirs["items"])
        assert all(i["walk_band"] in ("under 10 min", "10–20 min", "20–30 min", None) for i in theirs["items"])
        for item in theirs["items"]:
            assert " min walk" not in item["reason"] or item["reason"].startswith(f"{item['walk_band']} walk")
        # Same order for every viewer: the walk term is scored on the band, so the order reveals no more.
        assert [(i["kind"], i["id"]) for i in theirs["items"]] == [(i["kind"], i["id"]) for i in mine["items"]]
    assert any(i["walk_minutes"] is not None for i in mine["items"])
    # A carer of the same scheme who is not this household's carer cannot see it at all.
    r = world.client.get(f"/api/households/{hid}/recommendations", headers=world.headers("carer_a2"))
    assert r.status_code == 404
    assert world.client.get(f"/api/households/{hid}/recommendations").status_code == 401


def _open_in(place: Place, a: datetime, b: datetime) -> bool:
    parsed = opening_hours.OpeningHours(place.opening_hours)
    return any(state == opening_hours.State.OPEN for _s, _e, state, _c in parsed.intervals(a, b))


def _on_in(opp: Opportunity, a: datetime, b: datetime) -> bool:
    if opp.schedule_kind == "opening_hours":
        parsed = opening_hours.OpeningHours(opp.schedule)
        return any(state == opening_hours.State.OPEN for _s, _e, state, _c in parsed.intervals(a, b))
    rule = rrulestr(opp.schedule, forceset=True)
    return bool(rule.between(a - timedelta(minutes=opp.duration_minutes), b, inc=False))


def test_free_only_on_saturday_mornings_gets_only_what_is_open_then(world):
    hid = add_household(world, interests=["walking", "history"], comfortable_walk_minutes=30,
                        free_windows="Sat 09:00-12:00")
    data = recommendations(world, hid, limit=200)
    items = data["items"]
    names = [i["name"] for i in items]
    assert any("Saturday stroll" in n for n in names) and any("Local history drop-in" in n for n in names)
    assert not any("Knit and natter" in n or "Carers' café" in n for n in names)  # Tuesday, Wednesday
    # Places without recorded hours are shown after every known one, marked to check, never dropped.
    unknown = [k for k, i in enumerate(items) if "opening times" in i["not_known"]]
    assert unknown and data["shown_not_known"] >= len(unknown)
    assert all(i["not_known"] for i in items[unknown[0]:])
    assert all(i["check_before_you_go"] == "not known — check before you go" for i in items if i["not_known"])
    a, b = SATURDAY
    with read_session(world.engine) as session:
        for item in items:
            if item["kind"] == "place" and "opening times" in item["not_known"]:
                assert "opening times not known — check before you go" in item["reason"] and item["next_on"] is None
                continue
            elif item["kind"] == "place":
                assert _open_in(session.get(Place, item["id"]), a, b), item["name"]
            elif item["kind"] == "opportunity":
                assert _on_in(session.get(Opportunity, item["id"]), a, b), item["name"]
            else:
                assert item["next_on"] is None and "no set opening times" in item["reason"]
                continue
            start = datetime.fromisoformat(item["next_on"])
            assert start.utcoffset() == timedelta(0), item  # local time in January: GMT, offset given
            assert a <= start.replace(tzinfo=None) < b, item


def test_a_wheelchair_user_is_never_sent_up_steps(world):
    """From the foot of real steps, the route to Elm Close Allotments is the longer step-free one."""
    with write_session(world.engine) as session:
        allotment = session.exec(select(Place).where(Place.name == "Elm Close Allotments")).one()
        allotment.wheelchair = "yes"  # synthetic: recorded accessible, so the wheelchair filter keeps it
        session.add(allotment)
        allotment_id, lon, lat = allotment.id, allotment.lon, allotment.lat
    hid = add_household(world, **STEPS_FOOT, interests=["gardening"], access_needs=["wheelchair"],
                        profile="walk", comfortable_walk_minutes=30)
    data = recommendations(world, hid, limit=200)
    assert data["profile"] == "step_free" and data["travel"] == "network"
    router = Router(WalkNetwork.load(network_path(world.settings, "rutland")))
    walk, step_free = get_profile("walk"), get_profile("step_free")
    up_steps_m = float(router.walk_minutes(STEPS_FOOT["lon"], STEPS_FOOT["lat"], [lon], [lat], profile=walk)[0]) \
        * walk.metres_per_minute
    no_steps_min = float(router.walk_minutes(STEPS_FOOT["lon"], STEPS_FOOT["lat"], [lon], [lat], profile=step_free)[0])
    assert no_steps_min * step_free.metres_per_minute > up_steps_m + 300  # the steps really are a short cut
    item = next(i for i in data["items"] if i["kind"] == "place" and i["id"] == allotment_id)
    assert item["walk_minutes"] == pytest.approx(no_steps_min, abs=0.06)
    assert item["walk_minutes"] > up_steps_m / step_free.metres_per_minute + 5
    assert "wheelchair access" in item["reason"] and "you like gardening" in item["reason"]
    # Every suggestion visited in person is recorded wheelchair accessible, or marked not known (after them).
    with read_session(world.engine) as session:
        for i in data["items"]:
            if i["place_id"] is not None and "wheelchair access" in i["not_known"]:
                assert session.get(Place, i["place_id"]).wheelchair is None and i["check_before_you_go"], i
            elif i["place_id"] is not None:
                assert session.get(Place, i["place_id"]).wheelchair == "yes", i
            else:
                assert i["kind"] == "support" and i["lon"] is None, i


def test_every_recommendation_read_is_audited(world):
    hid = add_household(world)
    with read_session(world.engine) as session:
        before = len(session.exec(select(AuditEntry).where(AuditEntry.household_id == hid)).all())
    recommendations(world, hid, "carer_a1")
    recommendations(world, hid, "worker_a")
    with read_session(world.engine) as session:
        rows = session.exec(select(AuditEntry).where(AuditEntry.household_id == hid).order_by(AuditEntry.id)).all()
    new = rows[before:]
    assert [(r.user_id, r.action, r.detail) for r in new] == [
        (world.users["carer_a1"], "read_location", "recommendations"),
        (world.users["worker_a"], "read_location", "recommendations")]
    # A refused read (hidden household) leaves no entry and says nothing.
    r = world.client.get(f"/api/households/{hid}/recommendations", headers=world.headers("worker_b"))
    assert r.status_code == 404 and r.json() == {"detail": "household not found"}


def test_bad_limit_is_422_with_what_to_fix(world):
    hid = add_household(world)
    r = world.client.get(f"/api/households/{hid}/recommendations", headers=world.headers("carer_a1"),
                         params={"limit": "0"})
    assert r.status_code == 422 and "limit" in r.json()["detail"]


def test_wheelchair_household_free_on_tuesday_mornings_gets_honest_suggestions(world):
    """Unknown is not "no": places whose access or hours nobody recorded are suggested after the known
    ones, marked "not known — check before you go" with phone and website; recorded "no" is left out."""
    with write_session(world.engine) as s:
        no_place = s.exec(select(Place).where(Place.name == "Rutland County Library")).one()
        no_place.wheelchair = "no"  # recorded as not accessible: never suggested
        no_id = no_place.id
    hid = add_household(world, access_needs=["wheelchair"], comfortable_walk_minutes=20,
                        free_windows="Tue 09:00-12:00", interests=["reading", "social"])
    data = recommendations(world, hid, limit=50)
    items = data["items"]
    assert len(items) >= 5 and data["profile"] == "step_free"
    assert no_id not in [i["id"] for i in items if i["kind"] == "place"] and data["not_shown_access_not_met"] >= 1
    first_unknown = next(k for k, i in enumerate(items) if i["not_known"])
    assert all(not i["not_known"] for i in items[:first_unknown]) and all(i["not_known"] for i in items[first_unknown:])
    with read_session(world.engine) as session:
        for item in items:
            place = session.get(Place, item["place_id"]) if item["place_id"] else None
            if item["kind"] != "place":
                continue
            wheelchair = getattr(place.wheelchair, "value", place.wheelchair)
            if wheelchair == "yes":
                assert "wheelchair" in item["access_met"] and "wheelchair access" not in item["not_known"]
            else:
                assert wheelchair is None and "wheelchair access" in item["not_known"]
                assert "wheelchair access" in item["reason"] and "check before you go" in item["reason"]
            assert (item["phone"], item["website"]) == (place.phone, place.website)
    with write_session(world.engine) as s:
        s.get(Place, no_id).wheelchair = None
