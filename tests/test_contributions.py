"""Public contributions (suggest, report, thank), their moderation, name search, clusters and place pages."""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pytest
from sqlmodel import select

from kindmap.db import read_session, write_session
from kindmap.models import (
    KindnessNote,
    Place,
    PlaceSource,
    Postcode,
    Region,
    ReviewItem,
)
from kindmap.services.accounts.ratelimit import ContributionLimiter, KindLimits, Limits, RateLimiter

XSS = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "${alert(1)}", "\\`"]


def _seed(engine) -> dict[str, int]:
    with write_session(engine) as s:
        region = Region(slug="testshire", name="Testshire")
        s.add(region)
        s.flush()
        rows = {
            "library": Place(name="Oakham Library", category="library", lon=-0.727, lat=52.670, region_id=region.id,
                             free_to_use=True, drop_in=True, opening_hours="24/7", source="osm", source_id="node/1"),
            "cafe": Place(name="Café Crème", category="community_cafe", lon=-0.730, lat=52.672, region_id=region.id,
                          quiet_space=True, website="javascript:alert(1)"),
            "hall": Place(name=XSS[1], category="community_centre", lon=-0.60, lat=52.60, region_id=region.id,
                          step_free=True, opening_hours="Mo-Fr 09:00-17:00"),
        }
        s.add_all(rows.values())
        s.add(Postcode(postcode="TE1 1ST", lon=-0.7270, lat=52.6700, region_id=region.id))
        s.flush()
        return {k: p.id for k, p in rows.items()}


def _user(engine, role: str):
    from kindmap.services.accounts.auth import add_scheme, add_user, issue_token

    with write_session(engine) as s:
        scheme_id = add_scheme(s, name=f"scheme-{role}").id if role in ("carer", "scheme_worker") else None
        user = add_user(s, email=f"{role}@example.org", password="a long pass phrase 42", role=role, scheme_id=scheme_id)
        raw, _ = issue_token(s, user, ttl=timedelta(hours=1))
    return {"Authorization": f"Bearer {raw}"}


def _items(engine, kind: str | None = None) -> list[ReviewItem]:
    with read_session(engine) as s:
        query = select(ReviewItem).order_by(ReviewItem.id)
        if kind:
            query = query.where(ReviewItem.kind == kind)
        return list(s.exec(query).all())


SUGGESTION = {"name": "  Cafe\u0301 Corner\u0007 ", "category": "community_cafe", "postcode": "te11st",
              "address": "2 Market Place", "website": "https://example.org/corner", "description": "Free tea.\nAll welcome."}


def test_suggestion_is_queued_normalised_and_approved_into_a_resident_place(client, engine):
    _seed(engine)
    r = client.post("/api/contributions/suggestions", json=SUGGESTION)
    assert r.status_code == 202 and r.json()["status"] == "received"
    [item] = _items(engine, "suggestion")
    ev = item.evidence()
    assert ev["submitted"]["name"] == "Café Corner"  # NFC (e + combining acute → é), control char gone, trimmed
    assert ev["submitted"]["postcode"] == "TE1 1ST" and ev["point"]["lon"] == pytest.approx(-0.727)
    assert ev["submitted"]["description"] == "Free tea.\nAll welcome."
    assert item.source == "public" and "testclient" not in item.evidence_json  # the client address is never stored
    # A second suggestion is its own item (not folded into the first).
    assert client.post("/api/contributions/suggestions", json={**SUGGESTION, "name": "Green Shed"}).status_code == 202
    assert len(_items(engine, "suggestion")) == 2

    # Not visible before approval.
    assert client.get("/api/places/search", params={"q": "corner"}).json()["features"] == []
    assert client.post(f"/api/contributions/{item.id}/approve", json={}).status_code == 401
    assert client.post(f"/api/contributions/{item.id}/approve", json={}, headers=_user(engine, "carer")).status_code == 403
    mod = _user(engine, "moderator")
    r = client.post(f"/api/contributions/{item.id}/approve", json={"changes": {"name": "Café Corner (Market Place)"}}, headers=mod)
    assert r.status_code == 200, r.text
    place_id = r.json()["place_id"]
    with read_session(engine) as s:
        place = s.get(Place, place_id)
        assert (place.source, place.source_id, place.status.value) == ("resident", f"suggestion/{item.id}", "published")
        assert place.verified_at is not None and place.region_id is not None
        assert s.exec(select(PlaceSource).where(PlaceSource.place_id == place_id)).one().source == "resident"
    found = client.get("/api/places/search", params={"q": "CAFE CORNER"}).json()["features"]
    assert [f["id"] for f in found] == [place_id]
    near = client.get("/api/places", params={"postcode": "TE1 1ST"}).json()["features"]
    assert place_id in [f["id"] for f in near]
    page = client.get(f"/places/{place_id}")
    assert "Suggested by a resident, approved on" in page.text
    # Deciding twice is a conflict; the resolved item says what happened.
    assert client.post(f"/api/contributions/{item.id}/approve", json={}, headers=mod).status_code == 409
    assert json.loads(_items(engine, "suggestion")[0].resolution_json)["place_id"] == place_id


def test_suggestion_without_a_known_postcode_needs_a_location_to_approve(client, engine):
    _seed(engine)
    r = client.post("/api/contributions/suggestions", json={"name": "Hill Shed", "category": "park", "postcode": "ZZ9 9ZZ"})
    assert r.status_code == 422 and "Postcode: we do not know" in r.json()["detail"]
    assert client.post("/api/contributions/suggestions", json={"name": "Hill Shed", "category": "park",
                                                               "address": "Top of the hill"}).status_code == 202
    [item] = _items(engine, "suggestion")
    mod = _user(engine, "admin")
    r = client.post(f"/api/contributions/{item.id}/approve", json={}, headers=mod)
    assert r.status_code == 422 and "lon and lat" in r.json()["detail"]
    r = client.post(f"/api/contributions/{item.id}/approve", json={"changes": {"lon": 999, "lat": 52.6}}, headers=mod)
    assert r.status_code == 422
    r = client.post(f"/api/contributions/{item.id}/approve", json={"changes": {"lon": -0.71, "lat": 52.66}}, headers=mod)
    assert r.status_code == 200


@pytest.mark.parametrize("body,words", [
    ({"category": "park", "address": "x"}, "Name of the place: please fill this in"),
    ({"name": "A", "category": "park", "address": "x"}, "Name of the place: please write at least 2 characters"),
    ({"name": "Shed", "category": "spaceport", "address": "x"}, "Type of place: choose one of the options"),
    ({"name": "Shed", "category": "park"}, "Address or postcode"),
    ({"name": "Shed", "category": "park", "address": "x", "website": "javascript:alert(1)"}, "Website: give a full web address"),
    ({"name": "Shed", "category": "park", "address": "x", "description": "y" * 2001}, "2000 characters or fewer"),
    ({"name": "Shed", "category": "park", "address": "x", "admin": True}, "this form has no such field"),
])
def test_bad_suggestions_get_a_422_saying_what_to_fix(client, engine, body, words):
    _seed(engine)
    r = client.post("/api/contributions/suggestions", json=body)
    assert r.status_code == 422 and words in r.json()["detail"], r.text
    assert _items(engine) == []


def test_malformed_and_oversized_bodies(client, engine):
    _seed(engine)
    r = client.post("/api/contributions/suggestions", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "JSON" in r.json()["detail"]
    r = client.post("/api/contributions/suggestions", content=b"[1, 2]", headers={"content-type": "application/json"})
    assert r.status_code == 422
    big = json.dumps({"name": "Shed", "category": "park", "address": "x" * 20_000}).encode()
    r = client.post("/api/contributions/suggestions", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "too long" in r.json()["detail"]

    def chunks():  # no Content-Length: the cap still holds while reading
        for _ in range(40):
            yield b"x" * 1000

    r = client.post("/api/contributions/kindness-notes", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert _items(engine) == []


def test_honeypot_looks_accepted_but_stores_nothing(client, engine):
    _seed(engine)
    r = client.post("/api/contributions/suggestions", json={**SUGGESTION, "nickname": "bot"})
    assert r.status_code == 202 and r.json() == client.post("/api/contributions/suggestions", json=SUGGESTION).json()
    assert len(_items(engine)) == 1  # only the honest one


def test_rate_limit_429_with_retry_after_per_client_and_global(client, engine):
    ids = _seed(engine)
    now = [1000.0]
    client.app.state.contribution_limiter = ContributionLimiter.uniform(
        KindLimits(per_target=3, per_client=100, total=100, window_s=600), clock=lambda: now[0])
    note = {"place_id": ids["library"], "text": "Thank you for the warm welcome"}
    for _ in range(3):
        assert client.post("/api/contributions/kindness-notes", json=note).status_code == 202
    r = client.post("/api/contributions/kindness-notes", json=note)
    assert r.status_code == 429 and int(r.headers["retry-after"]) == 600
    assert "Too many submissions" in r.json()["detail"]
    now[0] += 601
    assert client.post("/api/contributions/kindness-notes", json=note).status_code == 202
    # Everyone together: other clients are refused too once the global cap is reached.
    limiter = RateLimiter(Limits(per_client=5, total=2, window_s=60), clock=lambda: now[0])
    limiter.hit("10.0.0.1"), limiter.hit("10.0.0.2")
    with pytest.raises(Exception) as exc:
        limiter.hit("10.0.0.3")
    assert exc.value.retry_after == 60 and "from everyone" in exc.value.message
    # Limits are published in the API description of the public endpoints.
    spec = client.get("/openapi.json").json()
    desc = spec["paths"]["/api/contributions/kindness-notes"]["post"]["description"]
    assert "3 per 10 minutes about one place from one client, 30 per 10 minutes from one client" in desc
    assert "429" in desc and "Retry-After" in desc
    assert "requestBody" in spec["paths"]["/api/contributions/suggestions"]["post"]


def test_kindness_notes_shown_only_after_approval_and_escaped(client, engine):
    ids = _seed(engine)
    client.app.state.contribution_limiter = ContributionLimiter.uniform(KindLimits(per_target=50, per_client=50, total=50))
    lib = ids["library"]
    for text in ("Thank you for the warm welcome", *XSS):
        text = text if len(text) >= 3 else text + "!!"  # notes are at least 3 characters
        assert client.post("/api/contributions/kindness-notes", json={"place_id": lib, "text": text}).status_code == 202
    [item] = _items(engine, "kindness_note")  # one queue item per place; every note kept in it
    assert len(item.evidence()["notes"]) == 5
    assert client.get(f"/api/places/{lib}/kindness-notes").json() == []
    assert "Thank you for the warm welcome" not in client.get(f"/places/{lib}").text
    mod = _user(engine, "moderator")
    r = client.post(f"/api/contributions/{item.id}/approve", json={}, headers=mod)
    assert r.status_code == 200 and r.json()["notes_published"] == 5
    notes = client.get(f"/api/places/{lib}/kindness-notes").json()
    assert {n["text"] for n in notes} >= {"Thank you for the warm welcome", XSS[0], XSS[1]}
    html = client.get(f"/places/{lib}").text
    assert "Thank you for the warm welcome" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    # Unknown or unpublished places cannot be thanked.
    assert client.post("/api/contributions/kindness-notes", json={"place_id": 9999, "text": "Thanks a lot"}).status_code == 404
    # A rejected note never shows.
    client.post("/api/contributions/kindness-notes", json={"place_id": ids["cafe"], "text": "Not nice words here"})
    [item2] = [i for i in _items(engine, "kindness_note") if i.place_id == ids["cafe"]]
    assert client.post(f"/api/contributions/{item2.id}/reject", json={"reason": "rude"}, headers=mod).status_code == 200
    assert client.get(f"/api/places/{ids['cafe']}/kindness-notes").json() == []
    with read_session(engine) as s:
        assert len(s.exec(select(KindnessNote)).all()) == 5


def test_problem_report_goes_to_the_queue_and_is_resolved_by_review_outcomes(client, engine):
    ids = _seed(engine)
    r = client.post("/api/contributions/problems", json={"place_id": ids["cafe"], "problem": "closed"})
    assert r.status_code == 202
    r = client.post("/api/contributions/problems", json={"place_id": ids["cafe"], "problem": "other"})
    assert r.status_code == 422 and "What is wrong" in r.json()["detail"]
    r = client.post("/api/contributions/problems", json={"place_id": ids["cafe"], "problem": "haunted"})
    assert r.status_code == 422 and "choose one of the options" in r.json()["detail"]
    [item] = _items(engine, "problem_report")
    assert item.evidence()["reports"][0]["problem_label"] == "It has closed"
    mod = _user(engine, "moderator")
    assert client.post(f"/api/contributions/{item.id}/approve", json={}, headers=mod).status_code == 422  # use /api/review
    queue = client.get("/api/review", params={"kind": "problem_report"}, headers=mod).json()
    assert queue["total"] == 1
    r = client.post(f"/api/review/{item.id}/resolve", json={"outcome": "confirm_closed"}, headers=mod)
    assert r.status_code == 200
    assert client.get(f"/api/places/{ids['cafe']}").status_code == 404


def test_name_search_is_case_and_accent_insensitive_with_filters(client, engine):
    ids = _seed(engine)
    for q in ("café", "CAFE", "creme", "crè"):
        found = client.get("/api/places/search", params={"q": q}).json()
        assert [f["id"] for f in found["features"]] == [ids["cafe"]], q
    # Prefix matches rank before contains.
    assert [f["id"] for f in client.get("/api/places/search", params={"q": "lib"}).json()["features"]] == [ids["library"]]
    assert client.get("/api/places/search", params={"q": "cafe", "quiet": "true"}).json()["search"]["matched"] == 1
    assert client.get("/api/places/search", params={"q": "cafe", "drop_in": "true"}).json()["features"] == []
    assert client.get("/api/places/search", params={"q": "  "}).status_code == 422
    assert client.get("/api/places/search").status_code == 422
    # The route does not shadow /api/places/{id}.
    assert client.get(f"/api/places/{ids['library']}").json()["properties"]["name"] == "Oakham Library"


def test_clusters_group_by_screen_cells_and_filter(client, engine):
    ids = _seed(engine)
    bbox = "-1,52,0,53"
    low = client.get("/api/places/clusters", params={"bbox": bbox, "zoom": 6}).json()
    assert low["total"] == 3 and sum(c["count"] for c in low["clusters"]) == 3
    assert len(low["clusters"]) == 1 and low["clusters"][0]["id"] is None
    town = "-0.75,52.59,-0.59,52.68"  # a screen's worth of cells at zoom 15 (a 1° box there would be ~10⁵ cells)
    high = client.get("/api/places/clusters", params={"bbox": town, "zoom": 15}).json()
    assert sorted(c["id"] for c in high["clusters"]) == sorted(ids.values())
    assert client.get("/api/places/clusters", params={"bbox": town, "zoom": 15, "step_free": "true"}).json()["total"] == 1
    wide = client.get("/api/places/clusters", params={"bbox": bbox, "zoom": 18})
    assert wide.status_code == 422 and "lower the zoom or make the bbox smaller" in wide.json()["detail"]
    assert client.get("/api/places/clusters", params={"bbox": "1,2,3", "zoom": 5}).status_code == 422
    assert client.get("/api/places/clusters", params={"bbox": "0,0,1,1", "zoom": 40}).status_code == 422
    assert client.get("/api/places/clusters", params={"bbox": "2,0,1,1", "zoom": 4}).status_code == 422


def test_grid_clusters_on_a_synthetic_grid():
    from kindmap.geo.clusters import grid_clusters

    # Four points about 7 m apart and one far away: two clusters at zoom 10 (a cell is ~9 km),
    # five at zoom 22 (a cell is ~2 m).
    lon = np.array([0.0, 0.0001, 0.0002, 0.0003, 1.0])
    lat = np.array([51.0, 51.0, 51.0001, 51.0001, 51.5])
    ids = np.arange(1, 6)
    c10 = grid_clusters(lon, lat, ids, zoom=10)
    assert sorted(c.count for c in c10) == [1, 4]
    big = next(c for c in c10 if c.count == 4)
    assert big.lon == pytest.approx(0.00015) and big.bbox == (0.0, 51.0, 0.0003, 51.0001)
    assert next(c for c in c10 if c.count == 1).id == 5
    assert len(grid_clusters(lon, lat, ids, zoom=22)) == 5


def test_place_page_shows_everything_escaped_and_never_links_javascript(client, engine):
    ids = _seed(engine)
    r = client.get(f"/places/{ids['hall']}")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in r.text and "<img src=x" not in r.text
    assert "Step-free access" in r.text and "Mon-Fri 09:00-17:00" in r.text
    cafe = client.get(f"/places/{ids['cafe']}").text
    assert 'href="javascript' not in cafe and "not a web address, so not linked" in cafe
    assert "Quiet space" in cafe
    lib = client.get(f"/places/{ids['library']}").text
    for words in ("Oakham Library", "Free to use", "Drop in", "Open now", "OpenStreetMap, ODbL", "Kindness notes",
                  "Say thank you", "Report a problem", "No activities listed yet."):
        assert words in lib
    missing = client.get("/places/99999")
    assert missing.status_code == 404 and "Place not found" in missing.text
    assert client.get("/suggest").status_code == 200 and client.get("/moderate").status_code == 200


def test_contribution_limits_are_per_kind_and_per_place(client, engine):
    from kindmap.api.routes.contributions import DEFAULT_LIMITS

    ids = _seed(engine)
    client.app.state.contribution_limiter = ContributionLimiter(DEFAULT_LIMITS)
    lib = ids["library"]
    note = {"place_id": lib, "text": "Thank you for the warm welcome"}
    for _ in range(3):
        assert client.post("/api/contributions/kindness-notes", json=note).status_code == 202
    r = client.post("/api/contributions/kindness-notes", json=note)
    assert r.status_code == 429 and "Too many submissions from you" in r.json()["detail"]
    # Same client, another kind of contribution: its own count.
    r = client.post("/api/contributions/problems", json={"place_id": lib, "problem": "wrong_hours"})
    assert r.status_code == 202
    r = client.post("/api/contributions/suggestions", json=SUGGESTION)
    assert r.status_code == 202
    desc = client.get("/openapi.json").json()["paths"]["/api/contributions/suggestions"]["post"]["description"]
    assert "2 per 10 minutes about one suggested name from one client, 10 per 10 minutes from one client" in desc
