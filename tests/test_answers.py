"""Visitors help complete a place: one-question answers, moderated, rate-limited, with provenance;
conflicting answers go to review; an approved "step-free: yes" changes the filter count."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kindmap.db import read_session, write_session
from kindmap.models import LocalFact, Place, Postcode, Region, ReviewItem
from kindmap.services.community.answers import weekly_hours

HERE = {"lon": -0.727, "lat": 52.670, "radius_m": 2000}


def _seed(engine) -> dict[str, int]:
    with write_session(engine) as s:
        region = Region(slug="testshire", name="Testshire")
        s.add(region)
        s.flush()
        rows = {"hall": Place(name="Church Hall", category="community_centre", lon=-0.727, lat=52.671, region_id=region.id),
                "known": Place(name="Ramp Library", category="library", lon=-0.726, lat=52.670, region_id=region.id,
                               step_free=True)}
        s.add_all(rows.values())
        s.add(Postcode(postcode="TE1 1ST", lon=-0.727, lat=52.670, region_id=region.id))
        s.flush()
        return {k: p.id for k, p in rows.items()}


def _moderator(engine) -> dict[str, str]:
    from kindmap.services.accounts.auth import add_user, issue_token

    with write_session(engine) as s:
        user = add_user(s, email="mod@example.org", password="a long pass phrase 42", role="moderator")
        raw, _ = issue_token(s, user, ttl=timedelta(hours=1))
    return {"Authorization": f"Bearer {raw}"}


def _answer(client, **body):
    return client.post("/api/contributions/answers", json=body)


def _item(engine, place_id: int) -> ReviewItem:
    with read_session(engine) as s:
        return s.exec(ReviewItem.__table__.select().where(ReviewItem.place_id == place_id)).one()


def test_weekly_form_becomes_osm_opening_hours():
    span = ("09:00", "17:00")
    assert weekly_hours({d: span for d in ("mo", "tu", "we", "th", "fr")} | {"sa": ("10:00", "12:00")}) == \
        "Mo-Fr 09:00-17:00; Sa 10:00-12:00"
    assert weekly_hours({"mo": span, "tu": span, "th": span}) == "Mo,Tu 09:00-17:00; Th 09:00-17:00"
    assert weekly_hours({"su": ("14:00", "16:00")}) == "Su 14:00-16:00"


def test_approved_step_free_answer_changes_the_filter_count_and_shows_provenance(client, engine):
    ids = _seed(engine)
    before = client.get("/api/places", params={**HERE, "step_free": "true"}).json()["search"]
    assert before["matched"] == 1 and before["facts"]["step_free"] == {"yes": 1, "no": 0, "unknown": 1}
    page = client.get(f"/places/{ids['hall']}").text
    assert "Help complete this place" in page and "Is the entrance step-free" in page
    r = _answer(client, place_id=ids["hall"], question="step_free", answer="yes")
    assert r.status_code == 202, r.text
    # Nothing changes until a moderator confirms it.
    assert client.get("/api/places", params={**HERE, "step_free": "true"}).json()["search"]["matched"] == 1
    item = _item(engine, ids["hall"])
    mod = _moderator(engine)
    assert client.post(f"/api/contributions/{item.id}/approve", json={}).status_code == 401
    decided = client.post(f"/api/contributions/{item.id}/approve", json={}, headers=mod)
    assert decided.status_code == 200, decided.text
    assert decided.json()["facts_applied"] == {"step_free": True}
    after = client.get("/api/places", params={**HERE, "step_free": "true"}).json()["search"]
    assert after["matched"] == 2 and after["facts"]["step_free"] == {"yes": 2, "no": 0, "unknown": 0}
    with read_session(engine) as s:
        fact = s.exec(LocalFact.__table__.select().where(LocalFact.place_id == ids["hall"])).one()
        assert (fact.field, fact.source) == ("step_free", "visitor")
    page = client.get(f"/places/{ids['hall']}").text
    assert "Step-free entrance: yes" in page and "a visitor said so on" in page and "confirmed by a moderator on" in page
    assert "Is the entrance step-free" not in page  # answered: no longer asked
    assert "mod@example.org" not in page  # who confirmed it is never public


def test_conflicting_answers_go_to_review_and_the_moderator_chooses(client, engine):
    ids = _seed(engine)
    assert _answer(client, place_id=ids["known"], question="step_free", answer="no").status_code == 202  # disagrees with the record
    assert _answer(client, place_id=ids["hall"], question="quiet_space", answer="yes").status_code == 202
    assert _answer(client, place_id=ids["hall"], question="quiet_space", answer="no").status_code == 202
    item = _item(engine, ids["hall"])
    evidence = item.evidence() if hasattr(item, "evidence") else __import__("json").loads(item.evidence_json)
    assert [a["value"] for a in evidence["answers"]] == [True, False] and evidence["conflicts"] == ["quiet_space"]
    assert __import__("json").loads(_item(engine, ids["known"]).evidence_json)["conflicts"] == ["step_free"]
    mod = _moderator(engine)
    refused = client.post(f"/api/contributions/{item.id}/approve", json={}, headers=mod)
    assert refused.status_code == 422 and "disagree: quiet_space" in refused.json()["detail"]
    chosen = client.post(f"/api/contributions/{item.id}/approve", json={"changes": {"quiet_space": False}}, headers=mod)
    assert chosen.status_code == 200 and chosen.json()["facts_applied"] == {"quiet_space": False}
    with read_session(engine) as s:
        assert s.get(Place, ids["hall"]).quiet_space is False


def test_opening_hours_answer_and_bad_input(client, engine):
    ids = _seed(engine)
    week = {f"{d}_opens": "09:00" for d in ("mo", "tu", "we", "th", "fr")} | \
        {f"{d}_closes": "17:00" for d in ("mo", "tu", "we", "th", "fr")}
    assert _answer(client, place_id=ids["hall"], question="opening_hours", **week, sa_opens="10:00",
                   sa_closes="12:30").status_code == 202
    item = _item(engine, ids["hall"])
    assert __import__("json").loads(item.evidence_json)["answers"][0]["value"] == "Mo-Fr 09:00-17:00; Sa 10:00-12:30"
    bad = _answer(client, place_id=ids["hall"], question="opening_hours", mo_opens="09:00")
    assert bad.status_code == 422 and "Monday: give both" in bad.json()["detail"]
    assert "Tuesday: the closing time must be after" in _answer(
        client, place_id=ids["hall"], question="opening_hours", tu_opens="17:00", tu_closes="09:00").json()["detail"]
    assert "at least one day" in _answer(client, place_id=ids["hall"], question="opening_hours").json()["detail"]
    assert _answer(client, place_id=ids["hall"], question="step_free").status_code == 422  # no yes/no
    assert _answer(client, place_id=ids["hall"], question="colour", answer="yes").status_code == 422
    assert _answer(client, place_id=99999, question="step_free", answer="yes").status_code == 404
    mod = _moderator(engine)
    assert client.post(f"/api/contributions/{item.id}/approve", json={}, headers=mod).status_code == 200
    hall = client.get(f"/api/places/{ids['hall']}").json()["properties"]
    assert hall["opening_hours"] == "Mo-Fr 09:00-17:00; Sa 10:00-12:30"


def test_answers_are_rate_limited_per_place(client, engine):
    ids = _seed(engine)
    codes = [_answer(client, place_id=ids["hall"], question="seating", answer="yes").status_code for _ in range(9)]
    assert codes[:8] == [202] * 8 and codes[8] == 429


@pytest.mark.parametrize("body", [[], "yes", {"place_id": 1, "question": "seating", "answer": "maybe"}])
def test_bad_bodies_are_422(client, engine, body):
    _seed(engine)
    assert client.post("/api/contributions/answers", json=body).status_code == 422
