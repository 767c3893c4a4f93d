"""Open Referral UK export of opportunities and support services: every document validates; paging includes them."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from kindmap.api.app import create_app
from kindmap.db import make_engine, read_session, write_session
from kindmap.models import Place, PlaceStatus, Region
from kindmap.models.activities import (
    ActivityStatus,
    Booking,
    Cost,
    Opportunity,
    ScheduleKind,
    SupportKind,
    SupportService,
)
from kindmap.services.catalogue.activities import seed_sample_activities
from kindmap.services.standards.oruk import activities as oruk_activities
from kindmap.services.standards.oruk import documents as oruk
from tests.conftest import copy_database
from tests.test_oruk import _valid, validators  # noqa: F401  (the module-scoped fixture of compiled-schema validators)


@pytest.fixture
def world(engine):
    """A place, five published opportunities (RRULE, hours, own point), two support services, and hidden rows."""
    with write_session(engine) as s:
        region = Region(slug="eastshire", name="Eastshire")
        s.add(region)
        s.flush()
        hall = Place(name="Village hall", category="community_centre", lon=-1.5, lat=52.5, region_id=region.id,
                     postcode="LE15 6HP", address="Main Street, Oakham", free_to_use=True)
        barn = Place(name="Suggested barn", category="community_centre", lon=-1.6, lat=52.6, status=PlaceStatus.pending)
        s.add_all([hall, barn])
        s.flush()
        common = dict(source="council", source_licence="OGL-UK-3.0", website="https://example.org/x", email="a@example.org")
        s.add_all([
            Opportunity(title="Tea dance", place_id=hall.id, lon=hall.lon, lat=hall.lat, interests=["music", "social"],
                        schedule_kind=ScheduleKind.rrule, duration_minutes=90,
                        schedule="DTSTART:20250102T140000\nRRULE:FREQ=WEEKLY;BYDAY=TH", cost=Cost.donation, **common),
            Opportunity(title="Monthly repair café", place_id=hall.id, lon=hall.lon, lat=hall.lat, interests=["crafts"],
                        schedule_kind=ScheduleKind.rrule,
                        schedule="DTSTART:20250104T100000\nRRULE:FREQ=MONTHLY;BYDAY=1SA;UNTIL=20261231T000000",
                        cost=Cost.free, booking=Booking.booking),
            Opportunity(title="Daily walk", lon=-1.0, lat=52.0, interests=["walking"], schedule_kind=ScheduleKind.rrule,
                        schedule="DTSTART:20250101T090000\nRRULE:FREQ=DAILY;COUNT=30", cost=Cost.low),
            Opportunity(title="Gardening", lon=-1.1, lat=52.1, interests=["gardening"],
                        schedule_kind=ScheduleKind.opening_hours, schedule="Mo,Th 14:00-16:00"),
            Opportunity(title="Holiday club", lon=-1.2, lat=52.2, schedule_kind=ScheduleKind.opening_hours,
                        schedule="Jul-Aug Mo-Fr 10:00-12:00"),
            Opportunity(title="Pending SECRET", lon=-1.0, lat=52.0, status=ActivityStatus.pending),
            Opportunity(title="At pending place SECRET", place_id=barn.id, lon=barn.lon, lat=barn.lat),
            SupportService(name="Carers advice", kind=SupportKind.carers_support, region="eastshire",
                           area_codes=["E01000001", "E01000002"], place_id=hall.id, opening_hours="Tu 10:00-12:00",
                           eligibility="Unpaid carers"),
            SupportService(name="Befriending line", kind=SupportKind.befriending, region="eastshire"),
            SupportService(name="Hidden SECRET", kind=SupportKind.advice, region="eastshire", status=ActivityStatus.pending),
        ])
    return engine


def _docs(engine):
    with read_session(engine) as s:
        return oruk_activities.all_services(s)


def test_every_export_validates_and_maps_schedules_costs_areas_terms(world, validators):  # noqa: F811
    docs = _docs(world)
    assert [d["name"] for d in docs] == ["Tea dance", "Monthly repair café", "Daily walk", "Gardening", "Holiday club",
                                         "Carers advice", "Befriending line"]
    for doc in docs:
        _valid(validators["service"], doc)
        _valid(validators["service_list"], {k: v for k, v in doc.items() if not isinstance(v, list)})
        for sal in doc["service_at_locations"]:
            _valid(validators["service_at_location"], {**sal, "service": {k: v for k, v in doc.items()
                                                                         if k != "service_at_locations"}})
        assert uuid.UUID(doc["id"]).version == 5
    assert "SECRET" not in str(docs)
    by = {d["name"]: d for d in docs}
    tea = by["Tea dance"]
    assert tea["schedules"][0] | {"id": None} == {
        "id": None, "service_id": tea["id"], "freq": "WEEKLY", "interval": 1, "byday": "TH", "dtstart": "2025-01-02",
        "valid_from": "2025-01-02", "opens_at": "14:00:00", "closes_at": "15:30:00",
        "description": "RFC 5545 recurrence: DTSTART:20250102T140000\nRRULE:FREQ=WEEKLY;BYDAY=TH"}
    assert [c["option"] for c in tea["cost_options"]] == ["Donation"] and "amount" not in tea["cost_options"][0]
    assert {a["taxonomy_term"]["term"] for a in tea["attributes"]} == {"music", "social", "drop_in"}
    assert tea["service_at_locations"][0]["location"]["addresses"][0]["postal_code"] == "LE15 6HP"
    repair = by["Monthly repair café"]
    assert (repair["schedules"][0]["freq"], repair["schedules"][0]["byday"], repair["schedules"][0]["valid_to"]) == \
        ("MONTHLY", "1SA", "2026-12-31")
    assert repair["cost_options"][0]["amount"] == 0 and repair["fees"] == "Free"
    assert {a["taxonomy_term"]["term"] for a in repair["attributes"]} == {"crafts", "free"}
    walk = by["Daily walk"]  # DAILY is not an ORUK freq: kept as text, not dropped
    assert walk["schedules"][0]["description"].endswith("FREQ=DAILY;COUNT=30") and "freq" not in walk["schedules"][0]
    assert walk["service_at_locations"][0]["location"]["latitude"] == 52.0
    assert [(s["byday"], s["opens_at"]) for s in by["Gardening"]["schedules"]] == [("MO,TH", "14:00:00")]
    assert "Jul-Aug" in by["Holiday club"]["schedules"][0]["description"]
    carers = by["Carers advice"]
    assert [a["name"] for a in carers["service_areas"]] == ["eastshire", "E01000001", "E01000002"]
    assert carers["schedules"][0]["byday"] == "TU" and "Unpaid carers" in carers["description"]
    assert carers["attributes"][0]["taxonomy_term"]["term"] == "support_carers_support"
    assert by["Befriending line"]["service_at_locations"] == []


def test_services_paging_includes_activities_and_lookup_by_id(client, world, validators):  # noqa: F811
    seen = []
    for page in (1, 2, 3):
        body = client.get(f"/openreferral/services?page={page}&per_page=3").json()
        _valid(validators["page"], body)
        assert body["total_items"] == 8 and body["total_pages"] == 3
        for item in body["contents"]:
            _valid(validators["service_list"], item)
        seen += [c["name"] for c in body["contents"]]
    assert seen == ["Village hall", "Tea dance", "Monthly repair café", "Daily walk", "Gardening", "Holiday club",
                    "Carers advice", "Befriending line"]
    for doc in _docs(world):
        response = client.get(f"/openreferral/services/{doc['id']}")
        assert response.status_code == 200 and response.json() == doc
    with read_session(world) as s:
        hidden = s.exec(select(Opportunity.id).where(Opportunity.title.contains("SECRET"))).all()
    for row_id in hidden:
        response = client.get(f"/openreferral/services/{oruk.stable_id('opportunity', row_id)}")
        assert response.status_code == 404 and "SECRET" not in response.text


def test_rutland_samples_export_valid_oruk(rutland, tmp_path, validators):  # noqa: F811
    settings, engine, _ = rutland
    url = copy_database(engine.url.render_as_string(hide_password=False), folder=tmp_path, name="oruk_acts")
    copy = make_engine(url, settings=settings)
    try:
        assert seed_sample_activities(copy) > 0
        docs = _docs(copy)
        with read_session(copy) as s:
            expected = len(s.exec(select(Opportunity.id)).all()) + len(s.exec(select(SupportService.id)).all())
            places = len(s.exec(select(Place.id).where(Place.status == PlaceStatus.published,
                                                       Place.listing == "welcoming")).all())
        assert len(docs) == expected
        for doc in docs:
            _valid(validators["service"], doc)
        with TestClient(create_app(settings, engine=copy)) as client:
            ids, page, body = [], 1, {"last_page": False}
            while not body["last_page"]:
                body = client.get(f"/openreferral/services?per_page=50&page={page}").json()
                assert body["total_items"] == places + expected
                ids, page = ids + [c["id"] for c in body["contents"]], page + 1
            assert len(ids) == len(set(ids)) == places + expected
            assert ids[-expected:] == [d["id"] for d in docs]
    finally:
        copy.dispose()
