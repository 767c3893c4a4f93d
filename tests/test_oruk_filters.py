"""Every /services filter of the Open Referral UK profile honoured on the real Rutland demo: each answer is
checked against the full service documents the API itself serves (/services/{id}), read independently here."""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from kindmap.db import write_session
from kindmap.models import Place, PlaceStatus
from kindmap.services.standards.oruk.documents import stable_id, term_id
from kindmap.services.standards.oruk.taxonomy import taxonomy_id


@pytest.fixture(scope="module")
def client(rutland):
    from kindmap.api.app import create_app

    settings, engine, _ = rutland
    with write_session(engine) as s:  # one place with an hour-less schedule edge and a known update time
        place = s.exec(select(Place).where(Place.status == PlaceStatus.published, Place.listing == "welcoming")
                       .order_by(Place.id)).first()
        place.updated_at = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    with TestClient(create_app(settings, engine=engine)) as c:
        yield c


def _all(client, **params) -> list[dict]:
    out, page = [], 1
    while True:
        r = client.get("/openreferral/services?" + urlencode({**params, "page": page, "per_page": 200}))
        assert r.status_code == 200, r.text
        doc = r.json()
        out += doc["contents"]
        assert doc["total_items"] >= len(out)
        if doc["last_page"]:
            assert doc["total_items"] == len(out)
            return out
        page += 1


@pytest.fixture(scope="module")
def full(client) -> dict[str, dict]:
    """Every service's full document, as /services/{id} serves it."""
    docs = {}
    for item in _all(client):
        r = client.get(f"/openreferral/services/{item['id']}")
        assert r.status_code == 200
        docs[item["id"]] = r.json()
    assert len(docs) > 100
    return docs


def _ids(client, **params) -> list[str]:
    return [s["id"] for s in _all(client, **params)]


def _expect(full, keep) -> list[str]:
    return [sid for sid, doc in full.items() if keep(doc)]


def _terms(doc):
    return [a["taxonomy_term"] for a in doc.get("attributes", [])]


def _text(doc):
    return " ".join([doc["name"], doc.get("description", ""), *(t["name"] for t in _terms(doc))]).lower()


def test_no_filter_lists_everything_in_order(client, full):
    assert _ids(client) == list(full)


@pytest.mark.parametrize("words", ["library", "Oakham library", "church hall", "walking", "zzzz-nothing"])
def test_search(client, full, words):
    want = _expect(full, lambda d: all(w in _text(d) for w in words.lower().split()))
    got = _ids(client, search=words)
    assert got == want
    if words == "library":
        assert 0 < len(got) < len(full)


def test_taxonomy_term_and_taxonomy(client, full):
    for slug in ("library", "park", "free", "drop_in", "place_of_worship"):
        want = _expect(full, lambda d: term_id(slug) in {a["taxonomy_term_id"] for a in d.get("attributes", [])})
        assert _ids(client, taxonomy_term_id=term_id(slug)) == want, slug
    assert _expect(full, lambda d: term_id("library") in str(d))  # real terms are really filtered on
    for name in ("kindmap categories", "kindmap attributes"):
        want = _expect(full, lambda d: name in {t["taxonomy"] for t in _terms(d)})
        assert _ids(client, taxonomy_id=taxonomy_id(name)) == want and want, name
    assert _ids(client, taxonomy_term_id="00000000-0000-0000-0000-000000000000") == []


def _hms(clock: str) -> str:
    return clock if len(clock) == 8 else f"{clock}:00"


def _schedules(doc):
    return [s for s in doc.get("schedules", []) if s.get("byday")]


@pytest.mark.parametrize("params", [{"day": "MO"}, {"day": "SU"}, {"start_time": "09:00"}, {"end_time": "16:30"},
                                    {"day": "SA", "start_time": "08:00", "end_time": "16:00"},
                                    {"day": "TU", "start_time": "09:00:00"}])
def test_day_and_times(client, full, params):
    def keep(doc):
        return any((not params.get("day") or params["day"] in s["byday"].split(","))
                   and (not params.get("start_time") or s.get("opens_at", "") >= _hms(params["start_time"]))
                   and (not params.get("end_time") or s.get("closes_at", "99") <= _hms(params["end_time"]))
                   for s in _schedules(doc))
    want = _expect(full, keep)
    assert _ids(client, **params) == want
    assert len(want) < len(full) and (want or params == {"day": "SU"})


def test_ages(client, full):
    # Everyone welcome: no service in the demo records an age limit, so none has a minimum or maximum to compare.
    assert not any("minimum_age" in d or "maximum_age" in d for d in full.values())
    assert _ids(client, minimum_age=18) == [] and _ids(client, maximum_age=99) == []
    assert client.get("/openreferral/services?minimum_age=-1").status_code == 422


def test_modified_after_and_organization(client, full):
    want = _expect(full, lambda d: d.get("last_modified", "") >= "2030")
    assert len(want) == 1 and _ids(client, modified_after="2030-01-01T00:00:00Z") == want
    assert _ids(client, modified_after="2030-01-02T03:04:06Z") == []
    osm = stable_id("organization", "osm")
    assert _ids(client, organization_id=osm) == _expect(full, lambda d: d["organization_id"] == osm)


def test_filters_combine(client, full):
    want = _expect(full, lambda d: "library" in _text(d) and any("MO" in s["byday"] for s in _schedules(d)))
    assert _ids(client, search="library", day="MO") == want and want


def test_minimal(client, full):
    items = _all(client, minimal="true")
    assert [i["id"] for i in items] == list(full)
    assert all(set(i) <= {"id", "last_modified"} for i in items)
    assert _all(client, minimal="true", search="library") == [
        {k: v for k, v in full[i].items() if k in ("id", "last_modified")} for i in _ids(client, search="library")]


@pytest.mark.parametrize("query, says", [("day=XX", "day"), ("start_time=9am", "start_time"),
                                         ("modified_after=yesterday", "RFC 3339"), ("format=ndjson", "format"),
                                         ("maximum_age=200", "maximum_age")])
def test_malformed_filters_say_what_to_fix(client, query, says):
    r = client.get(f"/openreferral/services?{query}")
    assert r.status_code in (400, 422) and says in r.json()["detail"]


def test_paging_counts_only_matches(client, full):
    r = client.get("/openreferral/services?search=library&per_page=2&page=2").json()
    want = _expect(full, lambda d: "library" in _text(d))
    assert r["total_items"] == len(want) and [s["id"] for s in r["contents"]] == want[2:4]


def test_activity_documents_are_judged_by_the_same_rules():
    from kindmap.services.standards.oruk import filters

    doc = {"id": "x", "organization_id": "org", "name": "Tea dance", "description": "Music and friends",
           "last_modified": "2024-05-01T10:00:00+00:00", "minimum_age": 16, "maximum_age": 99,
           "attributes": [{"taxonomy_term_id": term_id("music"),
                           "taxonomy_term": {"name": "Music", "taxonomy": "kindmap interests"}}],
           "schedules": [{"byday": "2TU,FR", "opens_at": "14:00:00", "closes_at": "16:00:00"}]}
    facts = filters.document_facts(doc)

    def ok(**given):
        return filters.matches(facts, filters.parse(**given))

    assert ok(search="tea MUSIC") and not ok(search="tea garden")
    assert ok(taxonomy_term_id=term_id("music")) and ok(taxonomy_id=taxonomy_id("kindmap interests"))
    assert ok(day="TU", start_time="13:00", end_time="16:00") and not ok(day="TU", end_time="15:00")
    assert ok(minimum_age=16) and not ok(minimum_age=18) and ok(maximum_age=99) and not ok(maximum_age=65)
    assert ok(modified_after="2024-05-01T10:00:00Z") and not ok(modified_after="2024-05-02")
    assert ok(organization_id="ORG") and not ok(organization_id="other")
