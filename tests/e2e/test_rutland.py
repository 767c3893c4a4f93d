"""End to end on the real Rutland data: import, search, filters, bad input, through API and CLI."""

from __future__ import annotations

from datetime import datetime

import opening_hours
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select
from typer.testing import CliRunner

from kindmap.api.app import create_app
from kindmap.cli import app as cli_app
from kindmap.config import get_settings
from kindmap.db import read_session
from kindmap.geo.distance import haversine_m
from kindmap.models import Area, Place, Postcode
from tests.conftest import copy_database, db_fingerprint


@pytest.fixture(scope="module")
def api(rutland):
    settings, engine, _ = rutland
    with TestClient(create_app(settings, engine=engine)) as client:
        yield client


def _places(engine):
    """The places the public map lists: published and welcoming (facilities such as toilets are a layer of their own)."""
    return [p for p in _published(engine) if p.listing == "welcoming"]


def _published(engine):
    with read_session(engine) as s:
        return [p for p in s.exec(select(Place)).all() if p.status == "published"]


def test_demo_import_counts(rutland):
    _, engine, reports = rutland
    assert [r.kind for r in reports] == ["areas", "postcodes", "osm"]
    with read_session(engine) as s:
        areas = s.exec(select(Area)).all()
        # Rutland's 26 LSOA 2021 (23 LSOA 2011 before issue 16) with IMD 2025 and their wards.
        assert len(areas) == 26 and {a.deprivation_index for a in areas} == {"IMD 2025"}
        assert next(a for a in areas if a.name == "Rutland 001C").ward_name == "Greetham"
        assert all(a.map_share == 1.0 for a in areas)  # the county extract covers every area
        assert len(s.exec(select(Postcode)).all()) == 1267
    places = _places(engine)
    libraries = sorted(p.name for p in places if p.category == "library")
    assert len(libraries) == 4
    for town in ("Rutland County Library", "Uppingham", "Ketton", "Ryhall"):
        assert any(town in name for name in libraries), libraries
    by_cat = {c: sum(p.category == c for p in places) for c in {p.category for p in places}}
    assert by_cat["community_centre"] >= 20 and by_cat["place_of_worship"] >= 20
    assert all(-0.83 < p.lon < -0.42 and 52.52 < p.lat < 52.77 for p in places)


def test_search_order_equals_bruteforce_haversine(api, rutland):
    _, engine, _ = rutland
    body = api.get("/api/places", params={"postcode": "LE15 6HP", "radius_m": 5000, "limit": 500}).json()
    lon, lat = body["search"]["lon"], body["search"]["lat"]
    places = _places(engine)
    dist = {p.id: float(haversine_m(lon, lat, p.lon, p.lat)) for p in places}
    expected = sorted((i for i, d in dist.items() if d <= 5000), key=lambda i: (dist[i], i))
    assert [f["id"] for f in body["features"]] == expected
    assert body["search"]["matched"] == len(expected) > 30
    for f in body["features"]:
        assert f["properties"]["distance_m"] == pytest.approx(dist[f["id"]], abs=0.06)


def test_filters_and_open_at_agree_with_opening_hours_py(api, rutland):
    _, engine, _ = rutland
    places = _places(engine)
    for when in ("2026-11-23T10:30", "2026-11-28T11:00", "2026-11-29T19:00"):
        body = api.get("/api/places", params={"open_at": when, "free": "true", "limit": 500}).json()
        t = datetime.fromisoformat(when)
        expected = set()
        for p in places:
            if p.free_to_use is not True or not p.opening_hours:
                continue
            try:
                if opening_hours.OpeningHours(p.opening_hours).is_open(t):
                    expected.add(p.id)
            except opening_hours.ParserError:
                continue
        assert {f["id"] for f in body["features"]} == expected
    accessible = api.get("/api/places", params={"wheelchair": "true", "limit": 500}).json()
    assert {f["id"] for f in accessible["features"]} == {p.id for p in places if p.wheelchair == "yes"}
    # Rutland's only wheelchair=yes records are two public toilets: facilities, not welcoming places.
    assert {p.category for p in _published(engine) if p.wheelchair == "yes"} == {"public_toilets"}
    cats = api.get("/api/places", params={"category": ["library", "community_centre"], "limit": 500}).json()
    assert {f["id"] for f in cats["features"]} == {p.id for p in places if p.category in ("library", "community_centre")}


def test_place_details_and_health(api, rutland):
    _, engine, _ = rutland
    library = next(p for p in _places(engine) if p.name == "Rutland County Library")
    body = api.get(f"/api/places/{library.id}").json()
    assert body["properties"]["source"] == "osm" and body["properties"]["source_licence"] == "ODbL-1.0"
    assert body["properties"]["category_label"] == "Library"
    assert api.get("/readyz").json()["places"] == len(_published(engine))
    config = api.get("/api/config").json()
    assert config["regions"][0]["slug"] == "rutland" and "OpenStreetMap" in config["attribution"]


@pytest.mark.parametrize("params, status, words", [
    ({"lon": -0.7, "lat": 95}, 422, "lat"),
    ({"lon": "nan", "lat": 52.6}, 422, "finite"),
    ({"postcode": "ZZ9 9ZZ"}, 404, "ZZ9 9ZZ"),
    ({"postcode": "hello"}, 422, "not a UK postcode"),
    ({"postcode": "x" * 40}, 422, "postcode"),
    ({"postcode": "LE15 6HP", "radius_m": -100}, 422, "radius_m"),
    ({"postcode": "LE15 6HP", "radius_m": 1e9}, 422, "radius_m"),
    ({"category": "pub"}, 422, "unknown category"),
    ({"open_at": "next tuesday"}, 422, "open_at"),
    ({"bbox": "1,2,3"}, 422, "bbox"),
    ({"limit": 0}, 422, "limit"),
])
def test_bad_queries_are_clear_4xx(api, rutland, params, status, words):
    before = db_fingerprint(rutland[1])
    response = api.get("/api/places", params=params)
    assert response.status_code == status
    assert words in response.json()["detail"]
    assert db_fingerprint(rutland[1]) == before


def test_unknown_place_is_404(api):
    response = api.get("/api/places/999999")
    assert response.status_code == 404 and "999999" in response.json()["detail"]
    assert api.get("/api/places/abc").status_code == 422


@pytest.fixture
def cli_env(rutland, monkeypatch, tmp_path):
    """The CLI pointed at a copy of the Rutland database."""
    settings, engine, _ = rutland
    copy = copy_database(settings.database_url, folder=tmp_path, name="cli")
    monkeypatch.setenv("KINDMAP_DATABASE_URL", copy)
    monkeypatch.setenv("KINDMAP_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    yield copy
    get_settings.cache_clear()


def test_cli_near(cli_env):
    result = CliRunner().invoke(cli_app, ["near", "LE15 6HP", "--radius", "2000", "--category", "library", "--json"])
    assert result.exit_code == 0, result.output
    assert '"Rutland County Library"' in result.output


def _copy_engine(url):
    from kindmap.db import make_engine

    return make_engine(url)


@pytest.mark.parametrize("args, words", [
    (["near", "ZZ9 9ZZ"], "not in kindmap's postcode list"),
    (["near", "--lon", "0", "--lat", "95"], "out of range"),
    (["near", "LE15 6HP", "--radius", "-5"], "more than 0"),
    (["near", "LE15 6HP", "--category", "pub"], "unknown category"),
    (["import", "osm", "TRUNCATED", "--region", "rutland"], "not a readable OSM"),
    (["import", "osm", "REAL", "--region", "narnia"], "unknown region 'narnia'"),
    (["import", "postcodes", "BADCSV", "--region", "rutland"], "no postcode, lon, lat column"),
])
def test_cli_bad_input_exits_2_and_changes_nothing(cli_env, data_dir, tmp_path, args, words):
    real = data_dir / "rutland" / "rutland-2022-11.osm.pbf"
    truncated = tmp_path / "truncated.osm.pbf"
    truncated.write_bytes(real.read_bytes()[: real.stat().st_size // 2])
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("code,value\nLE15 6HP,1\n")
    args = [{"TRUNCATED": str(truncated), "REAL": str(real), "BADCSV": str(bad_csv)}.get(a, a) for a in args]
    engine = _copy_engine(cli_env)
    before = db_fingerprint(engine)
    result = CliRunner().invoke(cli_app, args)
    assert result.exit_code == 2, result.output
    assert words in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert db_fingerprint(engine) == before


def test_reimport_is_idempotent(cli_env, data_dir):
    engine = _copy_engine(cli_env)
    before = db_fingerprint(engine)
    result = CliRunner().invoke(cli_app, ["import", "osm", str(data_dir / "rutland" / "rutland-2022-11.osm.pbf"),
                                          "--region", "rutland", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "0 new, 0 updated" in result.output
    assert db_fingerprint(engine) == before


def test_walking_search_on_the_real_network(api, rutland):
    body = api.get("/api/places", params={"postcode": "LE15 6HP", "max_walk_minutes": 15, "limit": 500}).json()
    assert body["search"]["travel"] == "network" and body["features"]
    minutes = [f["properties"]["walk_minutes"] for f in body["features"]]
    assert minutes == sorted(minutes) and max(minutes) <= 15
    # Walking is never shorter than the straight line (at 80 m a minute).
    assert all(f["properties"]["walk_minutes"] * 80 >= f["properties"]["distance_m"] - 1 for f in body["features"])
    slow = api.get("/api/places", params={"postcode": "LE15 6HP", "max_walk_minutes": 15, "profile": "slow", "limit": 500}).json()
    assert {f["id"] for f in slow["features"]} < {f["id"] for f in body["features"]}
    library = next(f for f in body["features"] if f["properties"]["name"] == "Rutland County Library")
    area = api.get("/api/isochrone", params={"postcode": "LE15 6HP", "minutes": 15}).json()
    from shapely.geometry import Point, shape

    assert shape(area["geometry"]).contains(Point(*library["geometry"]["coordinates"]))
