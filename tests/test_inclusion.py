"""Who is called welcoming (geodata/inclusion.json): each rule on a few synthetic tags, then the
real Newport and Rutland extracts, local decisions that survive re-imports, the support layer,
facilities near places, and re-classification of an existing database on upgrade."""

from __future__ import annotations

import json

import pytest
import shapely
from sqlmodel import select

from kindmap.db import read_session, write_session
from kindmap.errors import InvalidQuery
from kindmap.ingest.inclusion import LOCAL_RULE, load_rules
from kindmap.ingest.osm import StreetNamer
from kindmap.models import Listing, Place, PlaceCreate
from kindmap.models.activities import SupportService
from kindmap.services.community.review import set_local_facts
from kindmap.services.imports.files import import_osm
from kindmap.services.imports.runs import ImportReport
from kindmap.services.regions import add_region

RULES = load_rules()


def decide(category, tags=None, fields=None, name="A place"):
    d = RULES.decide(category=category, tags=tags or {}, fields=fields or {}, name=name)
    return d.listing.value, d.rule


# ----------------------------------------------------------------------------- each rule, synthetic tags

@pytest.mark.parametrize(("category", "tags", "fields", "name", "expected"), [
    # welcoming by default
    ("library", {"amenity": "library"}, {"free_to_use": True}, "Oakham Library", ("welcoming", "welcoming_by_default")),
    ("community_centre", {"amenity": "community_centre"}, {}, "Hall", ("welcoming", "welcoming_by_default")),
    ("park", {"leisure": "park"}, {"free_to_use": True}, "Park", ("welcoming", "welcoming_by_default")),
    ("place_of_worship", {"amenity": "place_of_worship"}, {}, "St Mary", ("welcoming", "welcoming_by_default")),
    ("museum_gallery", {"tourism": "museum"}, {}, "Museum", ("welcoming", "welcoming_by_default")),
    ("community_shed", {"club": "mens_shed"}, {}, "Shed", ("welcoming", "welcoming_by_default")),
    # only with evidence
    ("sports_leisure", {"leisure": "fitness_centre"}, {}, "Hot Yoga Health", ("excluded", "needs_evidence")),
    ("sports_leisure", {"leisure": "sports_centre"}, {}, "Leisure Centre", ("excluded", "needs_evidence")),
    ("sports_leisure", {"leisure": "sports_centre", "fee": "no"}, {"free_to_use": True}, "Rec", ("welcoming", "free_with_evidence")),
    # never
    ("library", {"amenity": "library", "fee": "yes"}, {"free_to_use": False}, "Paid library", ("excluded", "known_fee")),
    ("park", {"leisure": "garden"}, {"free_to_use": False}, "Gardens", ("excluded", "known_fee")),
    ("community_centre", {"amenity": "community_centre", "access": "members"}, {}, "Club hall", ("excluded", "restricted_access")),
    ("community_centre", {"amenity": "community_centre", "access": "customers"}, {}, "Hall", ("excluded", "restricted_access")),
    ("sports_leisure", {"leisure": "fitness_centre", "brand": "PureGym"}, {}, "PureGym", ("excluded", "commercial_chain")),
    ("sports_leisure", {"leisure": "sports_centre", "club": "sport"}, {}, "Whitehead Sports and Social Club", ("excluded", "members_club")),
    ("arts_centre", {"amenity": "arts_centre"}, {}, "The Westgate Hotel", ("excluded", "hotel")),
    ("arts_centre", {"amenity": "arts_centre", "tourism": "hotel"}, {}, "The Venue", ("excluded", "hotel")),
    # support services
    ("social_facility", {"amenity": "social_facility", "social_facility": "food_bank"}, {}, "Newport Food Bank", ("support", "support_service")),
    ("social_facility", {"amenity": "social_facility", "social_facility": "soup_kitchen"}, {}, "Soup kitchen", ("support", "support_service")),
    ("social_facility", {"amenity": "social_facility", "social_facility": "outreach"}, {}, "Advice", ("support", "support_service")),
    ("social_facility", {"amenity": "social_centre"}, {}, "Social centre", ("welcoming", "welcoming_by_default")),
    # facilities
    ("public_toilets", {"amenity": "toilets"}, {}, "Public toilets", ("facility", "facility")),
    ("playground", {"leisure": "playground"}, {}, "Playground", ("facility", "facility")),
    ("bench", {"amenity": "bench"}, {}, "Bench", ("facility", "facility")),
    ("drinking_water", {"amenity": "drinking_water"}, {}, "Drinking water", ("facility", "facility")),
])
def test_each_rule_on_synthetic_tags(category, tags, fields, name, expected):
    assert decide(category, tags, fields, name) == expected


def test_a_known_fee_beats_every_kind_that_is_welcoming_by_default():
    for category in ("library", "community_centre", "park", "place_of_worship", "museum_gallery", "market", "other"):
        assert decide(category, fields={"free_to_use": False}) == ("excluded", "known_fee"), category


def test_without_tags_places_are_decided_on_category_fields_and_name():
    # A CSV or suggested place has no OSM tags: the kind, the fee and the name still decide.
    assert decide("social_facility", name="Oakham Food Bank") == ("support", "support_service")
    assert decide("sports_leisure", name="Active Hub") == ("excluded", "needs_evidence")
    assert decide("other", name="Community room") == ("welcoming", "welcoming_by_default")
    assert RULES.support_kind(category="social_facility", name="Oakham Food Bank") == "food_support"
    assert RULES.support_kind(category="social_facility", tags={"social_facility": "soup_kitchen"}) == "food_support"
    assert RULES.support_kind(category="social_facility", name="Day centre") == "other"


def test_a_malformed_rule_file_says_what_to_fix(tmp_path):
    from kindmap.errors import DataError
    from kindmap.ingest.inclusion import load_rules as load

    bad = tmp_path / "inclusion.json"
    bad.write_text(json.dumps({"rules": [{"id": "x", "outcome": "welcoming", "when": {"category": ["nope"]}}]}))
    with pytest.raises(DataError, match="unknown category nope.*fix geodata/inclusion.json"):
        load(bad)
    bad.write_text(json.dumps({"rules": [{"id": "x", "outcome": "maybe"}]}))
    with pytest.raises(DataError, match="inclusion rule is malformed"):
        load(bad)


def test_unnamed_parks_take_the_nearest_named_street():
    # Two streets ~60 m and ~400 m from a small square park (EPSG:4326 near 52.67 N).
    near = shapely.LineString([(-0.7300, 52.6705), (-0.7280, 52.6705)])
    far = shapely.LineString([(-0.7300, 52.6740), (-0.7280, 52.6740)])
    park = shapely.Polygon([(-0.7295, 52.6690), (-0.7285, 52.6690), (-0.7285, 52.66995), (-0.7295, 52.66995)])
    namer = StreetNamer([("Station Road", near), ("High Street", far)])
    assert namer.nearest(park, within_m=150) == "Station Road"
    assert namer.nearest(park, within_m=30) is None  # nothing that close: the generic name stays
    assert StreetNamer([]).nearest(park, within_m=150) is None


def test_the_report_lists_what_was_left_out_per_rule_with_names():
    report = ImportReport(kind="osm", region="x", file="f")
    report.inclusion = {"left_out": [
        {"rule": "facility", "listing": "facility", "reason": "a facility", "count": 3, "names": ["Bench", "Bench", "Playground"]},
        {"rule": "known_fee", "listing": "excluded", "reason": "a fee", "count": 1, "names": ["Tennis Centre"]}]}
    assert "not listed as welcoming: 3 facility, 1 known_fee" in report.summary()
    assert report.left_out_lines() == ["3 facility — facility: a facility (Bench ×2, Playground)",
                                       "1 excluded — known_fee: a fee (Tennis Centre)"]


# ----------------------------------------------------------------------------- Newport, real extract

NEWPORT_NOT_WELCOMING = {
    "PureGym": "excluded", "JD Gyms": "excluded", "One Gym": "excluded", "Sports Direct Fitness Centre": "excluded",
    "Bannatyne Health Club": "excluded", "Hot Yoga Health": "excluded", "Yoga and Nourish": "excluded",
    "The Westgate Hotel": "excluded", "Newport Tennis Centre": "excluded",
    "Newport Food Bank": "support", "Feed Newport Soup Kitchen": "support",
}


@pytest.fixture(scope="module")
def newport(tmp_path_factory, data_dir):
    """Newport imported as a new region (no manifest: a boundary and the 2023 OSM extract)."""
    from kindmap.config import Settings
    from kindmap.db import create_schema, make_engine

    folder = tmp_path_factory.mktemp("newport")
    settings = Settings(database_url=f"sqlite:///{folder / 'newport.sqlite3'}", data_dir=data_dir, state_dir=folder)
    engine = make_engine(settings.database_url, settings=settings)
    create_schema(engine)
    with write_session(engine) as session:
        add_region(session, slug="newport", name="Newport", code="W06000022",
                   boundary=data_dir / "newport" / "newport_ltla2024.geojson")
    report = import_osm(engine, region="newport", path=data_dir / "newport" / "newport-core_2023-06-12.osm.pbf",
                        data_dir=data_dir)
    yield settings, engine, report
    engine.dispose()


def test_newport_lists_no_gym_class_hotel_or_food_service_as_welcoming(newport):
    settings, engine, report = newport
    with read_session(engine) as session:
        places = session.exec(select(Place)).all()
    by_name = {}
    for p in places:
        by_name.setdefault(p.name, set()).add(p.listing)
    for name, listing in NEWPORT_NOT_WELCOMING.items():
        assert by_name.get(name) == {listing}, (name, by_name.get(name))
    welcoming = [p for p in places if p.listing == "welcoming"]
    assert all(p.free_to_use is not False for p in welcoming)
    assert {p.category for p in welcoming}.isdisjoint({"public_toilets", "playground", "bench", "drinking_water"})
    # Measured on the 2023-06-12 extract: 366 places, 121 welcoming, 222 facilities, 19 excluded, 4 support.
    counts = report.inclusion["listings"]
    assert counts == {"welcoming": 121, "facility": 222, "excluded": 19, "support": 4}, counts


def test_newport_report_gives_counts_and_names_per_rule(newport):
    _settings, _engine, report = newport
    left = {e["rule"]: e for e in report.inclusion["left_out"]}
    assert set(left["commercial_chain"]["names"]) >= {"PureGym", "JD Gyms"}
    assert set(left["needs_evidence"]["names"]) >= {"One Gym", "Sports Direct Fitness Centre", "Hot Yoga Health",
                                                     "Yoga and Nourish"}
    assert set(left["known_fee"]["names"]) >= {"Bannatyne Health Club", "Newport Tennis Centre"}
    assert left["hotel"]["names"] == ["The Westgate Hotel"]
    assert set(left["support_service"]["names"]) >= {"Newport Food Bank", "Feed Newport Soup Kitchen"}
    for entry in report.inclusion["left_out"]:
        assert entry["count"] >= 1 and entry["reason"]
        if entry["rule"] != "unnamed":
            assert entry["count"] == len(entry["names"])
    assert left["unnamed"]["listing"] == "not imported"


def test_newport_support_services_are_their_own_layer_and_never_places(newport):
    settings, engine, _report = newport
    from fastapi.testclient import TestClient

    from kindmap.api.app import create_app

    with TestClient(create_app(settings, engine=engine)) as client:
        support = client.get("/api/support", params={"region": "newport", "limit": 100}).json()
        kinds = {s["name"]: s["kind"] for s in support}
        assert kinds["Newport Food Bank"] == "food_support" and kinds["Feed Newport Soup Kitchen"] == "food_support"
        centre = {"lon": -2.9977, "lat": 51.5877, "radius_m": 5000, "limit": 500}  # Newport city centre
        places = client.get("/api/places", params=centre).json()["features"]
        names = {f["properties"]["name"] for f in places}
        assert names.isdisjoint(NEWPORT_NOT_WELCOMING), names & set(NEWPORT_NOT_WELCOMING)
        assert not {f["properties"]["category"] for f in places} & {"public_toilets", "playground", "bench"}
        by_name = client.get("/api/places/search", params={"q": "PureGym"})
        assert by_name.status_code == 200 and not by_name.json()["features"]
        with read_session(engine) as session:
            gym = session.exec(select(Place).where(Place.name == "PureGym")).one()
            bank = session.exec(select(Place).where(Place.name == "Newport Food Bank")).one()
        assert client.get(f"/api/places/{gym.id}").status_code == 404  # excluded: never shown
        assert client.get(f"/api/places/{bank.id}").json()["properties"]["listing"] == "support"


# ----------------------------------------------------------------------------- Rutland, real extract

def test_rutland_every_recorded_fee_is_out_and_facilities_are_a_layer(rutland):
    settings, engine, _reports = rutland
    with read_session(engine) as session:
        places = session.exec(select(Place)).all()
    assert not [p.name for p in places if p.free_to_use is False and p.listing == "welcoming"]
    counts = {}
    for p in places:
        counts[p.listing] = counts.get(p.listing, 0) + 1
    # Measured: 235 places from the 2022-11 extract, 146 welcoming, 81 facilities, 8 excluded (clubs, no evidence).
    assert counts == {"welcoming": 146, "facility": 81, "excluded": 8}, counts
    names = {p.name for p in places if p.listing == "welcoming"}
    assert "Park (unnamed)" not in names and "Playground" not in names and "Public toilets" not in names
    assert "Park off Melton Road" in names


def test_place_pages_say_which_facilities_are_near(rutland, tmp_path):
    settings, engine, _reports = rutland
    from fastapi.testclient import TestClient

    from kindmap.api.app import create_app

    with read_session(engine) as session:
        toilets = session.exec(select(Place).where(Place.category == "public_toilets")).all()
        places = session.exec(select(Place).where(Place.listing == "welcoming")).all()
    from kindmap.geo.distance import haversine_m

    # An independent pairing: the welcoming place with a public toilet closest to it.
    best = min(((float(haversine_m(p.lon, p.lat, t.lon, t.lat)), p, t) for p in places for t in toilets),
               key=lambda x: x[0])
    assert best[0] < 500
    with TestClient(create_app(settings, engine=engine)) as client:
        detail = client.get(f"/api/places/{best[1].id}").json()["properties"]
        near = {f["category"]: f for f in detail["nearby_facilities"]}
        assert near["public_toilets"]["id"] == best[2].id
        assert near["public_toilets"]["distance_m"] == pytest.approx(best[0], abs=1)
        layer = client.get("/api/facilities", params={"lon": best[1].lon, "lat": best[1].lat, "radius_m": 500}).json()
        assert best[2].id in {f["id"] for f in layer["features"]}
        assert {f["properties"]["category"] for f in layer["features"]} <= {"public_toilets", "playground", "bench",
                                                                           "drinking_water"}
        page = client.get(f"/places/{best[1].id}")
        assert page.status_code == 200 and "Nearby" in page.text and best[2].name in page.text
        too_far = client.get("/api/facilities", params={"lon": -0.7, "lat": 52.6, "radius_m": 5000})
        assert too_far.status_code == 422 and "radius_m" in too_far.text
        bad = client.get("/api/facilities", params={"lon": -0.7, "lat": 52.6, "category": "library"})
        assert bad.status_code == 422 and "not a facility" in bad.text and "public_toilets" in bad.text


# ----------------------------------------------------------------------------- a person decides one place

def _rutland_copy(rutland, tmp_path):
    from kindmap.config import Settings
    from kindmap.db import make_engine
    from tests.conftest import copy_database

    settings, engine, _ = rutland
    url = copy_database(settings.database_url, folder=tmp_path, name="incl")
    return Settings(database_url=url, data_dir=settings.data_dir, state_dir=tmp_path), make_engine(url)


def test_a_moderators_decision_survives_a_reimport(rutland, tmp_path, data_dir):
    settings, engine = _rutland_copy(rutland, tmp_path)
    with write_session(engine) as session:
        hub = session.exec(select(Place).where(Place.name == "Active Rutland Hub")).first()
        library = session.exec(select(Place).where(Place.name == "Rutland County Library")).first()
        assert hub.listing == "excluded" and library.listing == "welcoming"
        set_local_facts(session, hub.id, {"listing": "welcoming", "note": "free drop-in sessions"}, source="moderator")
        set_local_facts(session, library.id, {"listing": "excluded"}, source="moderator")
        hub_id, library_id = hub.id, library.id
    report = import_osm(engine, region="rutland", path=data_dir / "rutland" / "rutland-2022-11.osm.pbf",
                        data_dir=data_dir, force=True)
    with read_session(engine) as session:
        hub, library = session.get(Place, hub_id), session.get(Place, library_id)
        assert (hub.listing, hub.listing_rule) == ("welcoming", LOCAL_RULE)
        assert (library.listing, library.listing_rule) == ("excluded", LOCAL_RULE)
    left = {e["rule"]: e for e in report.inclusion["left_out"]}
    assert "Rutland County Library" in left[LOCAL_RULE]["names"]
    assert "Active Rutland Hub" not in left["needs_evidence"]["names"]
    engine.dispose()


def test_a_fee_recorded_later_takes_a_place_out_and_a_fee_place_cannot_be_included(rutland, tmp_path):
    settings, engine = _rutland_copy(rutland, tmp_path)
    with write_session(engine) as session:
        museum = session.exec(select(Place).where(Place.category == "museum_gallery", Place.listing == "welcoming")).first()
        set_local_facts(session, museum.id, {"free_to_use": False, "note": "entry £5"}, source="council")
        assert (museum.listing, museum.listing_rule) == ("excluded", "known_fee")
        with pytest.raises(InvalidQuery, match="free_to_use"):
            set_local_facts(session, museum.id, {"listing": "welcoming"}, source="moderator")
        set_local_facts(session, museum.id, {"listing": "welcoming", "free_to_use": True}, source="moderator")
        assert museum.listing == "welcoming"
    engine.dispose()


def test_support_layer_follows_a_moderators_decision(rutland, tmp_path):
    settings, engine = _rutland_copy(rutland, tmp_path)
    with write_session(engine) as session:
        hall = session.exec(select(Place).where(Place.category == "community_centre")).first()
        set_local_facts(session, hall.id, {"listing": "support"}, source="moderator")
        row = session.exec(select(SupportService).where(SupportService.place_id == hall.id)).one()
        assert row.status == "published" and row.name == hall.name and row.source == "place"
        set_local_facts(session, hall.id, {"listing": "welcoming"}, source="moderator")
        assert row.status == "pending"  # hidden, never deleted: a plan holding it still resolves
    engine.dispose()


def test_places_made_without_a_listing_get_one():
    place = PlaceCreate(name="Oakham toilets", category="public_toilets", lon=-0.73, lat=52.67)
    assert place.listing is None
    assert RULES.decide(category=place.category, name=place.name).listing is Listing.facility


# ----------------------------------------------------------------------------- upgrade of an existing database

def test_upgrade_reclassifies_an_existing_database_with_a_report(settings, tmp_path, monkeypatch):
    from sqlalchemy import text

    from kindmap.config import get_settings
    from kindmap.db import make_engine, schema_revision, upgrade

    monkeypatch.setenv("KINDMAP_STATE_DIR", str(tmp_path / "state"))
    get_settings.cache_clear()
    engine = make_engine(settings.database_url)  # empty: SQLite, or PostgreSQL with KINDMAP_TEST_DATABASE_URL
    try:
        if schema_revision(engine) is None:
            upgrade(engine, revision="0005_carer_not_for_us")
        else:  # PostgreSQL scratch databases come at head: step back over this migration (its downgrade)
            from alembic import command

            from kindmap.db import migration_config

            with engine.begin() as conn:
                command.downgrade(migration_config(conn), "0005_carer_not_for_us")
        assert schema_revision(engine) == "0005_carer_not_for_us"
        now = "2025-01-01 00:00:00"
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO region (id, slug, name, created_at) VALUES (1, 'rutland', 'Rutland', :t)"), {"t": now})
            rows = [("Rutland County Library", "library", None), ("Public toilets", "public_toilets", None),
                    ("Oakham Food Bank", "social_facility", None), ("Gym", "sports_leisure", None),
                    ("Paid Gardens", "park", False)]
            for i, (name, category, free) in enumerate(rows, start=1):
                conn.execute(text(
                    "INSERT INTO place (id, name, category, lon, lat, region_id, source, status, free_to_use, created_at, "
                    "updated_at) VALUES (:i, :n, :c, -0.73, 52.67, 1, 'osm', 'published', :f, :t, :t)"),
                    {"i": i, "n": name, "c": category, "f": free, "t": now})
        upgrade(engine, revision="0005_inclusion")  # this migration (later ones may follow it on main)
        assert schema_revision(engine) == "0005_inclusion"
        with engine.connect() as conn:
            got = dict(conn.execute(text("SELECT name, listing FROM place")).all())
            support = conn.execute(text("SELECT name, kind, status, place_id FROM supportservice")).all()
        assert got == {"Rutland County Library": "welcoming", "Public toilets": "facility",
                       "Oakham Food Bank": "support", "Gym": "excluded", "Paid Gardens": "excluded"}
        assert [tuple(r) for r in support] == [("Oakham Food Bank", "food_support", "published", 3)]
        reports = list((tmp_path / "state" / "reports").glob("reclassify-upgrade-*.json"))
        assert len(reports) == 1
        saved = json.loads(reports[0].read_text())
        assert saved["listings"] == {"welcoming": 1, "facility": 1, "support": 1, "excluded": 2}
        by_rule = {e["rule"]: [p["name"] for p in e["places"]] for e in saved["left_out"]}
        assert by_rule == {"facility": ["Public toilets"], "support_service": ["Oakham Food Bank"],
                           "needs_evidence": ["Gym"], "known_fee": ["Paid Gardens"]}
    finally:
        engine.dispose()
        get_settings.cache_clear()
