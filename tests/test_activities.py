"""Opportunities and support: validation, schedules, search, writes by role, CSV import, samples."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import ValidationError
from sqlmodel import select
from typer.testing import CliRunner

from kindmap.db import read_session
from kindmap.hours import parse_windows
from kindmap.models.activities import Opportunity, OpportunityCreate, SupportService
from kindmap.services.catalogue.activities import (
    SAMPLE,
    next_on,
    on_during,
    seed_sample_activities,
    window_spans,
)
from kindmap.services.imports.activities import import_activities
from tests.conftest import db_fingerprint
from tests.test_households import build_world


@pytest.fixture(scope="module")
def world(rutland, tmp_path_factory):
    w = build_world(rutland, tmp_path_factory.mktemp("activities"))
    added = seed_sample_activities(w.engine, region="rutland")
    assert added == 8
    with w.client:
        yield w


def test_samples_are_clearly_marked_at_real_places_and_idempotent(world):
    assert seed_sample_activities(world.engine, region="rutland") == 0
    with read_session(world.engine) as session:
        opps = session.exec(select(Opportunity)).all()
        support = session.exec(select(SupportService)).all()
    assert len(opps) == 6 and len(support) == 2
    assert all(o.sample and o.title.startswith(SAMPLE) and SAMPLE in o.description for o in opps)
    assert all(o.place_id is not None for o in opps)
    assert all(s.sample and s.name.startswith(SAMPLE) for s in support)
    listed = world.client.get("/api/opportunities").json()
    names = {o["place_name"] for o in listed}
    assert {"Rutland County Library", "Pillings Road Allotments", "Cutts Close Park"} <= names
    assert all(o["audience"] == "everyone welcome" for o in listed)


@pytest.mark.parametrize(("fields", "message"), [
    ({"schedule_kind": "opening_hours", "schedule": "Thursdays at two"}, "not a valid opening_hours value"),
    ({"schedule_kind": "rrule", "schedule": "RRULE:FREQ=SOMETIMES"}, "not a valid RFC 5545 recurrence"),
    ({"schedule": "Th 14:00-16:00"}, "give schedule_kind"),
    ({"interests": ["knitting"]}, "unknown interests"),
    ({"lon": None, "lat": None}, "give place_id, or lon and lat"),
    ({"lon": None}, "give both lon and lat"),
    ({"lat": float("nan")}, "finite"),
    ({"cost": "expensive"}, "cost"),
])
def test_opportunity_validation(fields, message):
    body = {"title": "Walk", "lon": -0.72, "lat": 52.67} | fields
    with pytest.raises(ValidationError, match=message):
        OpportunityCreate.model_validate({k: v for k, v in body.items() if v is not None})


def test_schedules_next_on_and_windows():
    weekly = Opportunity(title="t", lon=0, lat=0, schedule_kind="rrule", duration_minutes=90,
                         schedule="DTSTART:20250104T100000\nRRULE:FREQ=WEEKLY;BYDAY=SA")
    hours = Opportunity(title="t", lon=0, lat=0, schedule_kind="opening_hours", schedule="Th 14:00-16:00")
    wednesday = datetime(2025, 3, 5, 12, 0)
    assert next_on(weekly, wednesday) == datetime(2025, 3, 8, 10, 0)
    assert next_on(hours, wednesday) == datetime(2025, 3, 6, 14, 0)
    saturday_morning = window_spans(parse_windows("Sat 09:00-10:30"), wednesday)
    thursday_morning = window_spans(parse_windows("Thu 09:00-12:00"), wednesday)
    assert on_during(weekly, saturday_morning) and not on_during(hours, saturday_morning)
    assert not on_during(weekly, thursday_morning) and not on_during(hours, thursday_morning)
    assert on_during(hours, window_spans(parse_windows("Thu 15:30-18:00"), wednesday))


def test_search_by_point_interest_free_and_windows(world):
    near = world.client.get("/api/opportunities", params={"lon": -0.7259, "lat": 52.6693, "radius_m": 1500}).json()
    assert near and all(o["distance_m"] <= 1500 for o in near)
    assert [o["distance_m"] for o in near] == sorted(o["distance_m"] for o in near)
    crafts = world.client.get("/api/opportunities", params={"interest": "crafts"}).json()
    assert [o["title"].split(": ")[1] for o in crafts] == ["Knit and natter"]
    assert all(o["cost"] == "free" for o in world.client.get("/api/opportunities", params={"free": "true"}).json())
    saturday = world.client.get("/api/opportunities", params={"windows": "Sat 09:00-12:00"}).json()
    assert {o["title"].split(": ")[1] for o in saturday} == {"Saturday stroll", "Local history drop-in"}
    assert world.client.get("/api/opportunities", params={"interest": "knitting"}).status_code == 422
    bad = world.client.get("/api/opportunities", params={"windows": "Sat 12:00-09:00"})
    assert bad.status_code == 422 and "ends before it starts" in bad.json()["detail"]
    by_postcode = world.client.get("/api/support", params={"postcode": "LE15 6HP"}).json()
    assert {s["kind"] for s in by_postcode} == {"shared_lives_scheme_office", "carers_support"}
    assert world.client.get("/api/support", params={"region": "elsewhere"}).json() == []


def test_writes_need_admin_or_council(world):
    body = {"title": "Community choir", "interests": ["music"], "lon": -0.72, "lat": 52.67,
            "schedule_kind": "opening_hours", "schedule": "Mo 19:00-21:00", "status": "pending"}
    assert world.client.post("/api/opportunities", json=body).status_code == 401
    for who in ("carer_a1", "worker_a", "moderator"):
        assert world.client.post("/api/opportunities", json=body, headers=world.headers(who)).status_code == 403
    made = world.client.post("/api/opportunities", json=body, headers=world.headers("council_analyst"))
    assert made.status_code == 201, made.text
    oid = made.json()["id"]
    assert world.client.get(f"/api/opportunities/{oid}").status_code == 404, "pending is not public"
    body["status"] = "published"
    assert world.client.put(f"/api/opportunities/{oid}", json=body, headers=world.headers("admin")).status_code == 200
    assert world.client.get(f"/api/opportunities/{oid}").json()["next_on"] is not None
    assert world.client.delete(f"/api/opportunities/{oid}", headers=world.headers("admin")).status_code == 204
    support = {"name": "Food bank", "kind": "food_support", "region": "rutland", "eligibility": "Anyone who needs it"}
    r = world.client.post("/api/support", json=support, headers=world.headers("admin"))
    assert r.status_code == 201 and r.json()["region"] == "rutland"
    nowhere = world.client.post("/api/support", json=support | {"region": "atlantis"}, headers=world.headers("admin"))
    assert nowhere.status_code == 422 and "atlantis" in nowhere.json()["detail"]


CSV = """Activity,place_name,interests,schedule,cost,source_id,lon,lat
Chess club,Rutland County Library,games;social,We 18:00-20:00,free,chess-1,,
Choir,,music,"DTSTART:20250106T190000\\nRRULE:FREQ=WEEKLY;BYDAY=MO",donation,choir-1,-0.72,52.67
Bad hours,,music,Thursdays at two,free,bad-1,-0.72,52.67
Nowhere,No Such Hall,social,,free,bad-2,,
"""


def test_csv_import_is_transactional_with_row_problems_and_dry_run(world, tmp_path):
    path = tmp_path / "acts.csv"
    path.write_text(CSV, encoding="utf-8")
    before = db_fingerprint(world.engine)
    from kindmap.errors import DataError

    with pytest.raises(DataError) as caught:
        import_activities(world.engine, path=path, kind="opportunity", columns={"title": "Activity"})
    assert "row 3, column 'schedule'" in caught.value.message and "row 4" in caught.value.message
    assert db_fingerprint(world.engine) == before
    dry = import_activities(world.engine, path=path, kind="opportunity", columns={"title": "Activity"},
                            dry_run=True, skip_invalid=True)
    assert (dry.added, dry.skipped) == (2, 2)
    assert db_fingerprint(world.engine) == before
    done = import_activities(world.engine, path=path, kind="opportunity", columns={"title": "Activity"}, skip_invalid=True)
    assert (done.added, done.skipped) == (2, 2)
    again = import_activities(world.engine, path=path, kind="opportunity", columns={"title": "Activity"}, skip_invalid=True)
    assert (again.added, again.updated) == (0, 2)
    chess = world.client.get("/api/opportunities", params={"interest": "games"}).json()
    assert chess[0]["place_name"] == "Rutland County Library" and chess[0]["schedule"] == "We 18:00-20:00"


def test_cli_import_exit_codes(world, tmp_path, monkeypatch):
    from kindmap.cli import app as cli_app
    from kindmap.config import get_settings

    monkeypatch.setenv("KINDMAP_DATABASE_URL", world.settings.database_url)
    get_settings.cache_clear()
    path = tmp_path / "support.csv"
    path.write_text("name,kind,region\nAdvice line,advice,rutland\nOops,astrology,rutland\n", encoding="utf-8")
    try:
        runner = CliRunner()
        bad = runner.invoke(cli_app, ["import", "activities", str(path), "--kind", "support"])
        assert bad.exit_code == 2 and "row 2" in bad.output
        dry = runner.invoke(cli_app, ["import", "activities", str(path), "--kind", "support", "--skip-invalid", "--dry-run"])
        assert dry.exit_code == 0 and "would import 1 new" in dry.output
        wrong = runner.invoke(cli_app, ["import", "activities", str(path), "--kind", "event"])
        assert wrong.exit_code == 2
        mapping = runner.invoke(cli_app, ["import", "activities", str(path), "--kind", "support", "--column", "name"])
        assert mapping.exit_code == 2 and "FIELD=HEADER" in mapping.output
    finally:
        get_settings.cache_clear()
