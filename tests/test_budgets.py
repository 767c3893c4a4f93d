"""Costly public computations are bounded, and each client has a budget for them (security
issue 13, finding 3): walking areas, walking-time searches and exports."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from kindmap.api.app import create_app
from kindmap.db import write_session
from kindmap.models import Place, Region

BOX = {"type": "Polygon", "coordinates": [[[-0.01, 51.99], [0.02, 51.99], [0.02, 52.01], [-0.01, 52.01], [-0.01, 51.99]]]}
POINT = {"lon": 0.0, "lat": 52.0}


@pytest.fixture
def region(engine):
    # No path network: walking areas are estimated circles, so the tests cost little themselves.
    with write_session(engine) as s:
        town = Region(slug="town", name="Town", boundary_geojson=json.dumps(BOX))
        s.add(town)
        s.flush()
        s.add(Place(name="Town library", category="library", lon=0.001, lat=52.001, region_id=town.id))
    return engine


def _clients(settings, engine, **update):
    app = create_app(settings.model_copy(update=update), engine=engine)
    return TestClient(app, client=("192.0.2.1", 40000)), TestClient(app, client=("192.0.2.2", 40000))


@pytest.mark.parametrize("path, name", [("/api/isochrone", "minutes"), ("/api/places", "max_walk_minutes")])
def test_a_three_hour_walk_is_refused_naming_the_maximum(client, region, path, name):
    response = client.get(path, params={**POINT, name: 180})
    assert response.status_code == 422, response.text
    assert name in response.json()["detail"] and "60" in response.json()["detail"]
    assert client.get(path, params={**POINT, name: 60}).status_code == 200


def test_bounds_are_published(client):
    doc = client.get("/openapi.json").json()
    minutes = {p["name"]: p for p in doc["paths"]["/api/isochrone"]["get"]["parameters"]}["minutes"]
    assert minutes["schema"]["maximum"] == 60
    walk = {p["name"]: p for p in doc["paths"]["/api/places"]["get"]["parameters"]}["max_walk_minutes"]
    assert any(s.get("maximum") == 60 for s in walk["schema"].get("anyOf", [walk["schema"]]))
    for path in ("/api/isochrone", "/api/export.csv", "/api/export.geojson", "/api/places"):
        assert "429" in doc["paths"][path]["get"]["responses"], path
    assert "KINDMAP_COST_BUDGET" in doc["info"]["description"]


def test_a_client_past_its_isochrone_budget_gets_429_and_another_does_not(settings, region):
    first, second = _clients(settings, region, cost_budget=8, cost_refill_per_min=1)
    codes = [first.get("/api/isochrone", params={**POINT, "minutes": 60}).status_code for _ in range(3)]
    assert codes[:2] == [200, 200] and codes[2] == 429, codes
    refused = first.get("/api/isochrone", params={**POINT, "minutes": 15})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "walking areas" in refused.json()["detail"] and "wait" in refused.json()["detail"]
    assert second.get("/api/isochrone", params={**POINT, "minutes": 60}).status_code == 200
    # Ordinary searches are not costly and are never refused by the budget.
    for _ in range(20):
        assert first.get("/api/places", params={**POINT, "radius_m": 2000}).status_code == 200


def test_walking_searches_and_exports_share_the_budget(settings, region):
    first, second = _clients(settings, region, cost_budget=8, cost_refill_per_min=1)
    assert first.get("/api/places", params={**POINT, "max_walk_minutes": 60}).status_code == 200
    assert first.get("/api/export.geojson").status_code == 200
    assert first.get("/api/export.csv").status_code == 429
    assert first.get("/api/places", params={**POINT, "max_walk_minutes": 15}).status_code == 429
    assert second.get("/api/export.csv").status_code == 200
    # The parameter's name escaped is the same parameter to the route, so the same cost.
    assert first.get("/api/places?lon=0&lat=52&max%5Fwalk%5Fminutes=15").status_code == 429


def test_the_budget_refills(settings, region):
    first, _second = _clients(settings, region, cost_budget=4, cost_refill_per_min=60)
    app = first.app
    budget = app.state.cost_budget
    now = [1000.0]
    budget._clock = lambda: now[0]
    assert first.get("/api/isochrone", params={**POINT, "minutes": 60}).status_code == 200
    assert first.get("/api/isochrone", params={**POINT, "minutes": 60}).status_code == 429
    now[0] += 4  # 60 units a minute: 4 units back in 4 seconds
    assert first.get("/api/isochrone", params={**POINT, "minutes": 60}).status_code == 200


@pytest.mark.parametrize("query", [
    "window=" + ",".join(["Mon 10:00-12:00"] * 60),
    "&".join(["window=Mon 10:00-12:00"] * 60),
    "&".join(["category=library"] * 200),
])
def test_search_lists_are_bounded(client, query):
    response = client.get(f"/api/places?lon=0&lat=52&{query}")
    assert response.status_code == 422, response.text


def test_refused_requests_give_their_units_back(settings, region):
    first, _second = _clients(settings, region, cost_budget=4, cost_refill_per_min=1)
    for _ in range(3):  # e.g. an old shared link asking for three hours
        assert first.get("/api/isochrone", params={**POINT, "minutes": 180}).status_code == 422
    assert first.get("/api/isochrone", params={"lon": 5.0, "lat": 5.0, "minutes": 60}).status_code in (404, 422)
    assert first.get("/api/isochrone", params={**POINT, "minutes": 60}).status_code == 200


def test_budget_keeps_only_salted_hashes_and_forgets_full_buckets():
    from kindmap.errors import RateLimited
    from kindmap.services.accounts.ratelimit import CostBudget

    now = [0.0]
    budget = CostBudget(capacity=4, refill_per_min=60, clock=lambda: now[0])
    budget.spend("192.0.2.7", 3)
    assert "192.0.2.7" not in repr(budget.__dict__)
    with pytest.raises(RateLimited) as caught:
        budget.spend("192.0.2.7", 2)
    assert caught.value.retry_after == 1  # 1 unit short at 1 unit a second
    budget.spend("192.0.2.8", 100)  # dearer than the whole budget: it empties the bucket, no more
    assert budget.tracked_clients() == 2
    now[0] = 4.0  # both buckets are full again: nothing worth keeping
    assert budget.tracked_clients() == 0


def test_one_ipv6_network_is_one_client():
    # A home or phone gets a whole /64; rotating inside it must not buy fresh limits.
    from kindmap.errors import RateLimited
    from kindmap.services.accounts.ratelimit import CostBudget, Limits, RateLimiter

    budget = CostBudget(capacity=2, refill_per_min=1)
    budget.spend("2001:db8:1:2::1", 2)
    with pytest.raises(RateLimited):
        budget.spend("2001:db8:1:2:ffff::9", 1)
    budget.spend("2001:db8:1:3::1", 1)  # another network is another client
    limiter = RateLimiter(Limits(per_client=1, total=10, window_s=60))
    limiter.hit("::ffff:192.0.2.1")
    with pytest.raises(RateLimited):
        limiter.hit("192.0.2.1")  # the same IPv4 client, written as IPv4-mapped IPv6 or not
