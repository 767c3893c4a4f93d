"""Unknown is shown as unknown: "yes" and "yes, or not known yet" filters, counts of each state,
and an empty result that names the missing fact; on a tiny synthetic catalogue and on Rutland."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from kindmap.db import write_session
from kindmap.models import Place, Postcode, Region

HERE = {"lon": -0.727, "lat": 52.670}


def _seed(engine) -> dict[str, int]:
    with write_session(engine) as s:
        region = Region(slug="testshire", name="Testshire")
        s.add(region)
        s.flush()
        rows = {
            "ramp": Place(name="Ramp Hall", category="community_centre", lon=-0.727, lat=52.671, region_id=region.id,
                          step_free=True, wheelchair="yes", opening_hours="Tu 09:00-12:00"),
            "steps": Place(name="Steps Chapel", category="place_of_worship", lon=-0.728, lat=52.670, region_id=region.id,
                           step_free=False, wheelchair="limited", opening_hours="Sa 10:00-12:00"),
            "unknown": Place(name="Unknown Library", category="library", lon=-0.726, lat=52.669, region_id=region.id),
            "far": Place(name="Far Park", category="park", lon=-0.20, lat=52.40, region_id=region.id, step_free=True),
        }
        s.add_all(rows.values())
        s.add(Postcode(postcode="TE1 1ST", lon=-0.727, lat=52.670, region_id=region.id))
        s.flush()
        return {k: p.id for k, p in rows.items()}


def _search(client: TestClient, **params) -> dict:
    r = client.get("/api/places", params={**HERE, "radius_m": 2000, **params})
    assert r.status_code == 200, r.text
    return r.json()


def test_yes_and_yes_or_not_known(client, engine):
    ids = _seed(engine)
    known = _search(client, step_free="true")
    assert [f["id"] for f in known["features"]] == [ids["ramp"]] and known["search"]["include_unknown"] is False
    both = _search(client, step_free="true", include_unknown="true")
    assert {f["id"] for f in both["features"]} == {ids["ramp"], ids["unknown"]}  # never the one recorded "no"
    assert {f["id"] for f in _search(client, step_free="false", include_unknown="true")["features"]} == {
        ids["steps"], ids["unknown"]}
    # wheelchair "limited" is not "yes"; unknown is not "no".
    assert [f["id"] for f in _search(client, wheelchair="true")["features"]] == [ids["ramp"]]
    assert {f["id"] for f in _search(client, wheelchair="true", include_unknown="true")["features"]} == {
        ids["ramp"], ids["unknown"]}


def test_counts_for_each_state_nearby(client, engine):
    _seed(engine)
    facts = _search(client)["search"]["facts"]
    assert facts["step_free"] == {"yes": 1, "no": 1, "unknown": 1}  # Far Park is not nearby
    assert facts["wheelchair"] == {"yes": 1, "no": 1, "unknown": 1}
    assert facts["quiet"] == {"yes": 0, "no": 0, "unknown": 3}
    assert facts["hours"] == {"known": 2, "unknown": 1}
    # With a time: open / closed then among those with known hours (Tuesday 10:30).
    timed = _search(client, open_at="2026-12-08T10:30")["search"]["facts"]["hours"]
    assert timed == {"known": 2, "unknown": 1, "open": 1, "closed": 1}
    # Counted before the criteria filters, so the counts beside each control stay put.
    assert _search(client, step_free="true")["search"]["facts"] == _search(client)["search"]["facts"]


def test_an_empty_result_names_the_missing_fact(client, engine):
    ids = _seed(engine)
    empty = _search(client, quiet="true")
    assert empty["features"] == []
    hint = empty["search"]["hint"]
    assert hint.startswith("Whether there is a quiet space is known for 0 of 3 places nearby.")
    assert "yes, or not known yet" in hint and "larger distance" not in hint
    sat = _search(client, window="Sun 10:00-12:00")
    assert sat["features"] == [] and sat["search"]["hint"].startswith("Hours are known for 2 of 3 places nearby.")
    with_unknown = _search(client, window="Sun 10:00-12:00", include_unknown="true")
    assert [f["id"] for f in with_unknown["features"]] == [ids["unknown"]]
    assert with_unknown["features"][0]["properties"]["open"] is None  # shown as not known, not as open
    # Only when nothing of that kind is near does the hint suggest a larger distance.
    nothing = _search(client, category="market")
    assert "larger distance" in nothing["search"]["hint"]
    assert _search(client)["search"]["hint"] is None


def test_name_search_and_clusters_take_include_unknown(client, engine):
    ids = _seed(engine)
    r = client.get("/api/places/search", params={"q": "library", "open_at": "2026-12-08T10:30"}).json()
    assert r["features"] == []
    r = client.get("/api/places/search", params={"q": "library", "open_at": "2026-12-08T10:30", "include_unknown": "true"})
    assert [f["id"] for f in r.json()["features"]] == [ids["unknown"]]
    box = "-0.8,52.6,-0.6,52.7"
    assert client.get("/api/places/clusters", params={"bbox": box, "zoom": 12, "quiet": "true"}).json()["total"] == 0
    assert client.get("/api/places/clusters", params={"bbox": box, "zoom": 12, "quiet": "true",
                                                      "include_unknown": "true"}).json()["total"] == 3


@pytest.fixture(scope="module")
def rutland_client(rutland):
    from kindmap.api.app import create_app

    settings, engine, _ = rutland
    with TestClient(create_app(settings, engine=engine)) as c:
        yield c


def test_rutland_filters_show_their_not_known_counterparts(rutland_client):
    """The issue's table on the demo: each filter with how many are not known."""
    county = "-0.85,52.52,-0.42,52.77"

    def get(**params):
        r = rutland_client.get("/api/places", params={"bbox": county, "limit": 500, **params})
        assert r.status_code == 200, r.text
        return r.json()["search"]

    every = get()
    total = every["matched"]
    facts = every["facts"]
    for name in ("wheelchair", "step_free", "quiet"):
        known = get(**{name: "true"})["matched"]
        assert known == facts[name]["yes"]
        assert get(**{name: "true", "include_unknown": "true"})["matched"] == facts[name]["yes"] + facts[name]["unknown"]
    assert facts["step_free"]["unknown"] == total and facts["wheelchair"]["unknown"] >= total - 5
    step = get(step_free="true")
    assert step["matched"] == 0 and step["hint"].startswith(f"Step-free access is known for 0 of {total} places")
    saturday = get(open_at="2026-12-12T10:30")
    assert saturday["facts"]["hours"]["unknown"] > 0.9 * total  # hours are recorded for a handful
    assert get(open_at="2026-12-12T10:30", include_unknown="true")["matched"] == (
        saturday["matched"] + saturday["facts"]["hours"]["unknown"])
