"""The review queue: adding items (the API other modules use), one-call outcomes, local facts, and the API."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from kindmap.db import read_session, write_session
from kindmap.errors import Conflict, InvalidQuery, NotFound
from kindmap.models import (
    LocalFact,
    Place,
    PlaceSource,
    PlaceStatus,
    Region,
    ReviewItem,
)
from kindmap.services.community.review import (
    add_review_item,
    resolve_review_item,
    set_local_facts,
)


def _seed(engine) -> dict[str, int]:
    """A region and three places: two halls that are one hall, and a library."""
    with write_session(engine) as s:
        region = Region(slug="testshire", name="Testshire")
        s.add(region)
        s.flush()
        rows = {
            "hall": Place(name="Village Hall", category="community_centre", lon=-0.70, lat=52.60, region_id=region.id,
                          source="osm", source_id="way/1", phone=None),
            "hall2": Place(name="Village Hall (council list)", category="community_centre", lon=-0.7001, lat=52.6001,
                           region_id=region.id, source="csv", source_id="row-3", phone="01572 000000"),
            "library": Place(name="Library", category="library", lon=-0.72, lat=52.66, region_id=region.id,
                             source="osm", source_id="node/9", possibly_closed_since=None),
        }
        for p in rows.values():
            s.add(p)
        s.flush()
        for p in rows.values():
            s.add(PlaceSource(place_id=p.id, source=p.source, source_id=p.source_id,
                              values_json=json.dumps({"name": p.name, "phone": p.phone})))
        return {k: p.id for k, p in rows.items()} | {"region": region.id}


def test_add_review_item_validates_and_deduplicates(engine):
    ids = _seed(engine)
    with write_session(engine) as s:
        with pytest.raises(InvalidQuery, match="unknown review kind 'dupe'.*duplicate"):
            add_review_item(s, kind="dupe", place_id=ids["hall"], evidence={}, source="dedupe")
        with pytest.raises(NotFound, match="no place with id 999"):
            add_review_item(s, kind="problem_report", place_id=999, evidence={}, source="public")
        with pytest.raises(InvalidQuery, match="two different places"):
            add_review_item(s, kind="duplicate", place_id=ids["hall"], evidence={}, source="dedupe")
        first = add_review_item(s, kind="duplicate", place_id=ids["hall"], related_place_id=ids["hall2"],
                                evidence={"distance_m": 13}, source="dedupe")
        again = add_review_item(s, kind="duplicate", place_id=ids["hall2"], related_place_id=ids["hall"],
                                evidence={"distance_m": 12}, source="dedupe")
        assert again.id == first.id and again.evidence() == {"distance_m": 12}
        assert first.region_id == ids["region"] and first.status == "open"
        # A suggestion for a new place has no place yet.
        suggestion = add_review_item(s, kind="suggestion", place_id=None, evidence={"name": "Men's shed"}, source="resident")
        assert suggestion.id != first.id


def test_merge_moves_sources_facts_and_items_and_closes_the_other(engine):
    ids = _seed(engine)
    with write_session(engine) as s:
        set_local_facts(s, ids["hall2"], {"quiet_space": True}, note="quiet room available")
        set_local_facts(s, ids["hall"], {"warm_hospitality": True}, note="free tea on Tuesdays")
        report = add_review_item(s, kind="problem_report", place_id=ids["hall2"], evidence={"text": "door sticks"}, source="public")
        dup = add_review_item(s, kind="duplicate", place_id=ids["hall"], related_place_id=ids["hall2"], evidence={}, source="dedupe")
        resolve_review_item(s, dup.id, outcome="merge", by_user_id=3)
    with read_session(engine) as s:
        keep, other = s.get(Place, ids["hall"]), s.get(Place, ids["hall2"])
        assert (other.status, other.merged_into_id) == (PlaceStatus.closed, keep.id)
        assert keep.quiet_space is True and keep.warm_hospitality is True
        assert keep.phone == "01572 000000"  # filled from the duplicate, which knew it
        sources = s.exec(select(PlaceSource).where(PlaceSource.place_id == keep.id)).all()
        assert {(x.source_id, x.primary) for x in sources} == {("way/1", True), ("row-3", False)}
        assert {f.field for f in s.exec(select(LocalFact).where(LocalFact.place_id == keep.id)).all()} == {"quiet_space", "warm_hospitality"}
        assert s.get(ReviewItem, report.id).place_id == keep.id
        assert s.get(ReviewItem, dup.id).resolved_by == 3


def test_outcomes_edit_keep_confirm_and_refusals(engine):
    ids = _seed(engine)
    with write_session(engine) as s:
        lib = s.get(Place, ids["library"])
        lib.possibly_closed_since = lib.created_at
        item = add_review_item(s, kind="possibly_closed", place_id=lib.id, evidence={"source_id": "node/9"}, source="osm-reimport")
        with pytest.raises(InvalidQuery, match="confirm_closed, keep, edit"):
            resolve_review_item(s, item.id, outcome="dismiss")
        with pytest.raises(InvalidQuery, match="cannot edit colour"):
            resolve_review_item(s, item.id, outcome="edit", changes={"colour": "red"})
        with pytest.raises(InvalidQuery, match="opening_hours"):
            resolve_review_item(s, item.id, outcome="edit", changes={"opening_hours": "whenever it suits"})
        with pytest.raises(InvalidQuery, match="lat"):
            resolve_review_item(s, item.id, outcome="edit", changes={"lat": 123})
        resolve_review_item(s, item.id, outcome="edit", changes={"opening_hours": "Tu 10:00-12:00", "note": "new hours"})
        with pytest.raises(Conflict, match="already resolved"):
            resolve_review_item(s, item.id, outcome="keep")
    with read_session(engine) as s:
        lib = s.get(Place, ids["library"])
        assert lib.opening_hours == "Tu 10:00-12:00" and lib.opening_hours_valid is True
        assert lib.possibly_closed_since is None and lib.verified_at is not None and lib.status == "published"
    with write_session(engine) as s:
        closing = add_review_item(s, kind="problem_report", place_id=ids["hall"], evidence={"text": "it shut"}, source="public")
        resolve_review_item(s, closing.id, outcome="confirm_closed")
        assert s.get(Place, ids["hall"]).status == "closed"


def _user(engine, role: str):
    from kindmap.services.accounts.auth import add_scheme, add_user, issue_token

    with write_session(engine) as s:
        scheme_id = add_scheme(s, name=f"scheme-{role}").id if role in ("carer", "scheme_worker") else None
        user = add_user(s, email=f"{role}@example.org", password="a long pass phrase 42", role=role, scheme_id=scheme_id)
        raw, _ = issue_token(s, user, ttl=timedelta(hours=1))
    return {"Authorization": f"Bearer {raw}"}, user.id


def test_review_api_roles_filters_and_resolve(client, engine):
    ids = _seed(engine)
    with write_session(engine) as s:
        dup = add_review_item(s, kind="duplicate", place_id=ids["hall"], related_place_id=ids["hall2"],
                              evidence={"distance_m": 13}, source="dedupe").id
        add_review_item(s, kind="problem_report", place_id=ids["library"], evidence={"text": "<b>closed?</b>"}, source="public")
    assert client.get("/api/review").status_code == 401
    carer, _ = _user(engine, "carer")
    assert client.get("/api/review", headers=carer).status_code == 403
    mod, mod_id = _user(engine, "moderator")
    listed = client.get("/api/review", params={"kind": "duplicate", "region": "testshire"}, headers=mod)
    assert listed.status_code == 200
    body = listed.json()
    assert body["total"] == 1 and body["items"][0]["place"]["name"] == "Village Hall"
    assert body["items"][0]["related_place"]["source"] == "csv" and body["items"][0]["evidence"] == {"distance_m": 13}
    assert client.get("/api/review", params={"kind": "nonsense"}, headers=mod).json()["detail"].startswith("unknown kind")
    bad = client.post(f"/api/review/{dup}/resolve", json={"outcome": "confirm_closed"}, headers=mod)
    assert bad.status_code == 422 and "merge, keep, dismiss" in bad.json()["detail"]
    done = client.post(f"/api/review/{dup}/resolve", json={"outcome": "merge", "changes": {"keep_id": ids["hall2"]}}, headers=mod)
    assert done.status_code == 200 and done.json()["resolution"] == {"keep_id": ids["hall2"], "merged_id": ids["hall"]}
    assert client.post(f"/api/review/{dup}/resolve", json={"outcome": "merge"}, headers=mod).status_code == 409
    analyst, analyst_id = _user(engine, "council_analyst")
    facts = client.post(f"/api/places/{ids['library']}/facts", headers=analyst,
                        json={"changes": {"warm_hospitality": True}, "note": "free tea on Tuesdays"})
    assert facts.status_code == 200 and facts.json() == {"place_id": ids["library"], "changed": {"warm_hospitality": True}}
    with read_session(engine) as s:
        fact = s.exec(select(LocalFact).where(LocalFact.place_id == ids["library"])).one()
        merged = s.get(Place, ids["hall"])
        assert (fact.author_id, fact.source) == (analyst_id, "council")
        assert merged.merged_into_id == ids["hall2"] and s.get(ReviewItem, dup).resolved_by == mod_id
    # The public provenance names sources and dates, never who made an edit.
    prov = client.get(f"/api/places/{ids['library']}/provenance")
    assert prov.status_code == 200
    welcome = next(g for g in prov.json()["groups"] if g["group"] == "welcome")
    assert welcome["local_facts"][0]["note"] == "free tea on Tuesdays" and welcome["checked_on"] is not None
    # No field of a public fact names or numbers its author (a bare id could match a timestamp digit).
    assert not any("author" in key or "user" in key for fact in welcome["local_facts"] for key in fact)
    assert "author" not in prov.text
    assert client.get(f"/api/places/{ids['hall']}/provenance").status_code == 404  # merged away: not public
