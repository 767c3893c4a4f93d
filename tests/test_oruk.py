"""Open Referral UK: every exported document validates; the API pages and filters; official examples import."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator
from sqlmodel import select
from typer.testing import CliRunner

from kindmap.api.app import create_app
from kindmap.cli import app
from kindmap.config import get_settings
from kindmap.db import read_session
from kindmap.geo.distance import haversine_m
from kindmap.models import Place, PlaceExtra, PlaceStatus, Postcode
from kindmap.services.imports.places import import_oruk
from kindmap.services.standards.oruk import documents as oruk
from tests.conftest import db_fingerprint
from tests.test_dedupe import copy_rutland

SCHEMAS = Path("/work/shared/schemas/openreferral-uk")


@pytest.fixture(scope="module")
def validators(data_dir):
    folder = data_dir.parent / "schemas" / "openreferral-uk"
    names = ("service", "service_list", "service_at_location", "service_at_location_list")
    out = {n: Draft202012Validator(json.loads((folder / "compiled" / f"{n}.json").read_text()),
                                   format_checker=Draft202012Validator.FORMAT_CHECKER) for n in names}
    page = json.loads((folder / "openapi.json").read_text())["components"]["schemas"]["Page"]
    out["page"] = Draft202012Validator({**page, "required": list(page["properties"]) + ["contents"]},
                                       format_checker=Draft202012Validator.FORMAT_CHECKER)
    return out


def _valid(validator, doc):
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]
    assert not errors, errors[:5]


def test_every_rutland_place_exports_valid_oruk(rutland, validators):
    _settings, engine, _ = rutland
    with read_session(engine) as s:
        places = s.exec(select(Place).where(Place.status == PlaceStatus.published)).all()
    assert len(places) > 150
    ids = set()
    for place in places:
        service = oruk.place_service(place)
        _valid(validators["service"], service)
        _valid(validators["service_list"], oruk.service_list_item(place))
        _valid(validators["service_at_location"], oruk.service_at_location(place))
        _valid(validators["service_at_location_list"], oruk.service_at_location(place, full=False))
        assert uuid.UUID(service["id"]).version == 5 and service == oruk.place_service(place)  # stable
        ids.add(service["id"])
        assert service["attributes"][0]["taxonomy_term"]["term"] == place.category
        if place.free_to_use:
            assert service["cost_options"][0]["amount"] == 0
            assert any(a["taxonomy_term"]["term"] == "free" for a in service["attributes"])
    assert len(ids) == len(places)


def test_hours_map_to_weekly_schedules_or_stay_text():
    schedules, raw = oruk.osm_to_schedules("Mo-Fr 09:30-17:00; Sa 10:00-12:00,13:00-16:00", link_key="k", service_id=oruk.stable_id("s"))
    assert raw is None
    assert [(s["byday"], s["opens_at"], s["closes_at"], s["freq"]) for s in schedules] == [
        ("MO,TU,WE,TH,FR", "09:30:00", "17:00:00", "WEEKLY"), ("SA", "10:00:00", "12:00:00", "WEEKLY"),
        ("SA", "13:00:00", "16:00:00", "WEEKLY")]
    for text in ("Mo-Fr 09:00-17:00; PH off", "Apr-Sep Sa 10:00-16:00", "Fr 18:00-02:00", "sunrise-sunset"):
        assert oruk.osm_to_schedules(text, link_key="k", service_id="x") == ([], text)


def test_accessibility_entries(rutland, validators):
    place = Place(id=999999, name="Hall", category="community_centre", lon=-0.72, lat=52.67, wheelchair="yes",
                  step_free=True, hearing_loop=False, accessible_toilet=True, source="manual", opening_hours="Mo 09:00-12:00")
    doc = oruk.place_service(place)
    _valid(validators["service"], doc)
    texts = [a["description"] for a in doc["service_at_locations"][0]["location"]["accessibility"]]
    assert texts == ["Wheelchair accessible", "Step-free access", "No hearing loop", "Accessible toilet"]


def test_api_pages_and_filters(rutland, validators):
    settings, engine, _ = rutland
    with TestClient(create_app(settings, engine=engine)) as client:
        info = client.get("/openreferral/").json()
        assert info["version"] == "3.0" and info["openapi_url"].endswith("/openapi.json")
        first = client.get("/openreferral/services", params={"per_page": 40}).json()
        _valid(validators["page"], first)
        total = first["total_items"]
        assert first["first_page"] and not first["last_page"] and first["size"] == 40 and first["total_pages"] == -(-total // 40)
        last = client.get("/openreferral/services", params={"per_page": 40, "page": first["total_pages"]}).json()
        assert last["last_page"] and last["size"] == total - 40 * (first["total_pages"] - 1)
        beyond = client.get("/openreferral/services", params={"per_page": 40, "page": first["total_pages"] + 1}).json()
        assert beyond["empty"] and beyond["contents"] == []
        for item in first["contents"]:
            _valid(validators["service_list"], item)
        one = client.get(f"/openreferral/services/{first['contents'][0]['id']}").json()
        _valid(validators["service"], one)
        near = client.get("/openreferral/service_at_locations", params={"postcode": "le15 6hw", "proximity": 400}).json()
        _valid(validators["page"], near)
        with read_session(engine) as s:
            centre = s.get(Postcode, "LE15 6HW")
        dists = [float(haversine_m(centre.lon, centre.lat, c["location"]["longitude"], c["location"]["latitude"]))
                 for c in near["contents"]]
        assert near["total_items"] == len(dists) > 0 and dists == sorted(dists) and max(dists) <= 400
        for item in near["contents"]:
            _valid(validators["service_at_location_list"], item)
        sal = client.get(f"/openreferral/service_at_locations/{near['contents'][0]['id']}").json()
        _valid(validators["service_at_location"], sal)
        assert client.get("/openreferral/services/not-a-uuid").status_code == 422
        missing = client.get(f"/openreferral/services/{uuid.uuid4()}")
        assert missing.status_code == 404 and "detail" in missing.json()
        assert client.get("/openreferral/services", params={"per_page": 0}).status_code == 422
        assert client.get("/openreferral/service_at_locations", params={"proximity": 100}).status_code == 422
        assert client.get("/openreferral/service_at_locations", params={"postcode": "ZZ1 1ZZ"}).status_code == 404


def _cli(settings, *args):
    env = {"KINDMAP_DATABASE_URL": settings.database_url, "KINDMAP_STATE_DIR": str(settings.state_dir),
           "KINDMAP_DATA_DIR": str(settings.data_dir)}
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, ["import", "oruk", *map(str, args)], env=env)
    finally:
        get_settings.cache_clear()


def test_official_examples_import(rutland, tmp_path, data_dir):
    settings, engine = copy_rutland(rutland, tmp_path)
    examples = sorted((data_dir.parent / "schemas" / "openreferral-uk" / "examples").glob("*.json"))
    assert len(examples) == 10
    for path in examples:
        before = db_fingerprint(engine)
        result = _cli(settings, path, "--region", "rutland")
        out = " ".join(result.output.split())
        if path.name in ("service_full.json", "service_at_location_full.json", "service_at_location_list.json",
                         "organization_full.json"):
            # Their location is latitude 100 (longitude 101): refused row by row, saying what to fix; nothing written.
            assert result.exit_code == 2, (path.name, result.output)
            where = {"service_full.json": "$.service_at_locations[0]", "service_at_location_full.json": "$",
                     "service_at_location_list.json": "$.contents[0]",
                     "organization_full.json": "$.services[0].service_at_locations[0]"}[path.name]
            assert f"row 1, column '{where}.location.latitude': service 'Community Counselling'" in out
            assert "(id 3a19ff88-4620-4d17-9830-ac1d859eb5d5): latitude 100 is outside -90..90" in out
            assert ".location.longitude" not in out  # 101 is a longitude on Earth (in China): only the latitude is wrong
            assert "nothing was imported" in out and "not on the map" not in out
            assert db_fingerprint(engine) == before
        else:
            assert result.exit_code == 0, (path.name, result.output)
    # service_list's service has no location at all: kept for reference, not an error.
    with read_session(engine) as s:
        extras = s.exec(select(PlaceExtra).where(PlaceExtra.source == "oruk")).all()
        assert s.exec(select(Place).where(Place.source == "oruk")).all() == []
    assert [e.note for e in extras] == ["no location: a service without a place cannot go on the map"]
    assert "Community Counselling" in extras[0].data_json  # the whole original, not dropped


def test_out_of_range_coordinates_skipped_with_skip_invalid(rutland, tmp_path, data_dir):
    settings, engine = copy_rutland(rutland, tmp_path)
    doc = json.loads((data_dir.parent / "schemas/openreferral-uk/examples/service_full.json").read_text())
    good = copy.deepcopy(doc)
    good["id"], good["name"] = str(uuid.uuid4()), "Oakham drop-in"
    good["service_at_locations"][0].update(id=str(uuid.uuid4()))
    good["service_at_locations"][0]["location"].update(latitude=52.669, longitude=-0.725)
    good["cost_options"] = [{"id": str(uuid.uuid4()), "amount": 0}]
    doc["service_at_locations"][0]["location"]["longitude"] = -0.725  # only the latitude is wrong
    path = tmp_path / "two.json"
    path.write_text(json.dumps([doc, good]))
    refused = _cli(settings, path, "--region", "rutland", "--dry-run")
    assert refused.exit_code == 2 and "1 row(s) have problems" in refused.output and ".location.longitude" not in refused.output
    result = _cli(settings, path, "--region", "rutland", "--skip-invalid")
    out = " ".join(result.output.split())
    assert result.exit_code == 0, result.output
    assert "imported 1 new" in out and "skipped row 1, column '$[0].service_at_locations[0].location.latitude'" in out
    with read_session(engine) as s:
        assert [p.name for p in s.exec(select(Place).where(Place.source == "oruk")).all()] == ["Oakham drop-in"]


def test_valid_coordinates_outside_the_region_still_import(rutland, tmp_path, data_dir):
    settings, engine = copy_rutland(rutland, tmp_path)
    doc = json.loads((data_dir.parent / "schemas/openreferral-uk/examples/service_full.json").read_text())
    doc["service_at_locations"][0]["location"].update(latitude=51.5072, longitude=-0.1276)  # London: a real point
    path = tmp_path / "london.json"
    path.write_text(json.dumps(doc))
    result = _cli(settings, path, "--region", "rutland")
    assert result.exit_code == 0, result.output
    assert "imported 1 new" in result.output


def test_example_with_a_real_location_maps_onto_a_place(rutland, tmp_path, data_dir):
    settings, engine = copy_rutland(rutland, tmp_path)
    doc = json.loads((data_dir.parent / "schemas/openreferral-uk/examples/service_full.json").read_text())
    doc = copy.deepcopy(doc)
    loc = doc["service_at_locations"][0]["location"]
    loc["latitude"], loc["longitude"] = 52.6690, -0.7250
    loc["addresses"][0].update(postal_code="LE15 6HW", country="GB")
    doc["schedules"][0].pop("bymonthday")
    doc["cost_options"].append({"id": str(uuid.uuid4()), "option": "Drop in", "amount": 0})
    path = tmp_path / "service.json"
    path.write_text(json.dumps(doc))
    result = import_oruk(engine, region="rutland", path=path, data_dir=data_dir, default_category="social_facility")
    assert result.report.added == 1 and not result.unplaced
    with read_session(engine) as s:
        place = s.exec(select(Place).where(Place.source == "oruk")).one()
        extra = s.exec(select(PlaceExtra).where(PlaceExtra.source == "oruk")).one()
    assert (place.name, place.lat, place.lon, place.postcode) == ("Community Counselling", 52.669, -0.725, "LE15 6HW")
    assert place.opening_hours == "Th 10:00-18:00; Fr 10:00-18:00" and place.opening_hours_valid
    assert place.free_to_use is True and place.hearing_loop is True and place.wheelchair == "yes"
    assert place.website == "http://example.com/counselling" and place.email == "email@example.com"
    assert extra.place_id == place.id and json.loads(extra.data_json)["service"]["funding"][0]["source"].startswith("This service")


def test_schema_invalid_oruk_is_refused_with_json_paths(rutland, tmp_path, data_dir):
    settings, engine = copy_rutland(rutland, tmp_path)
    doc = json.loads((data_dir.parent / "schemas/openreferral-uk/examples/service_full.json").read_text())
    doc["id"] = "not-a-uuid"
    doc["service_at_locations"][0]["location"]["latitude"] = "north"
    del doc["status"]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([doc]))
    before = db_fingerprint(engine)
    result = _cli(settings, path, "--region", "rutland")
    out = " ".join(result.output.split())
    assert result.exit_code == 2
    assert "$[0].id: 'not-a-uuid' is not a 'uuid'" in out
    assert "$[0].service_at_locations[0].location.latitude: 'north' is not of type 'number'" in out
    assert db_fingerprint(engine) == before
    path.write_text("{not json")
    assert _cli(settings, path, "--region", "rutland").exit_code == 2


def test_export_then_import_round_trip(rutland, tmp_path, data_dir):
    settings, engine = copy_rutland(rutland, tmp_path)
    with read_session(engine) as s:
        place = s.exec(select(Place).where(Place.opening_hours == "Mo-Fr 09:30-17:00")).first()
        doc = oruk.place_service(place)
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"total_items": 1, "contents": [doc]}))
    result = import_oruk(engine, region="rutland", path=path, data_dir=data_dir)
    # The same place comes back: matched to itself by the duplicate rules, not added twice.
    assert result.report.added == 0 and [m.place_id for m in result.dedupe.merges] == [place.id]
