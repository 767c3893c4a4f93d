"""RFC 7946 GeoJSON everywhere kindmap outputs it: exterior rings counter-clockwise and holes clockwise
(right-hand rule), positions at no more than 7 decimals. Checked with validators nobody on the project
wrote: geojson-pydantic (structure) and geojson-rewind (winding: rewinding an RFC 7946 document changes
nothing), on synthetic shapes and on the real Rutland data."""

from __future__ import annotations

import copy

import pytest
import shapely
from fastapi.testclient import TestClient
from geojson_pydantic import Feature, FeatureCollection
from geojson_rewind import rewind
from shapely.geometry import LinearRing, MultiPolygon, Polygon

from kindmap.geo import rfc7946


def _positions(value):
    if isinstance(value, list) and value and isinstance(value[0], (int, float)):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _positions(v)


def _decimals(x: float) -> int:
    text = repr(float(x))
    return 0 if "e" in text or "." not in text else len(text.split(".")[1].rstrip("0"))


def assert_rfc7946(doc: dict) -> int:
    """Valid GeoJSON, wound by the right-hand rule, ≤7 decimals; returns how many polygon rings were seen."""
    (FeatureCollection if doc["type"] == "FeatureCollection" else Feature).model_validate(doc)
    assert rewind(copy.deepcopy(doc)) == doc, "a ring is wound against the right-hand rule"
    features = doc["features"] if doc["type"] == "FeatureCollection" else [doc]
    rings = 0
    for feature in features:
        geometry = feature["geometry"]
        assert all(_decimals(c) <= 7 for pos in _positions(geometry["coordinates"]) for c in pos), geometry
        polygons = {"Polygon": [geometry["coordinates"]], "MultiPolygon": geometry["coordinates"]}.get(geometry["type"], [])
        for polygon in polygons:
            assert LinearRing(polygon[0]).is_ccw and not any(LinearRing(h).is_ccw for h in polygon[1:])
            rings += len(polygon)
    return rings


def test_polygons_are_wound_by_the_right_hand_rule_and_rounded():
    clockwise = Polygon([(0, 0), (0, 1.123456789123), (1, 1), (1, 0)], [[(0.2, 0.2), (0.4, 0.2), (0.4, 0.4)]])
    assert not clockwise.exterior.is_ccw and clockwise.interiors[0].is_ccw  # both the wrong way round
    geometry = rfc7946.geometry(clockwise)
    assert geometry["coordinates"][0][3] == [0.0, 1.1234568]
    assert_rfc7946({"type": "Feature", "geometry": geometry, "properties": {}})
    multi = MultiPolygon([clockwise, Polygon([(5, 5), (6, 5), (6, 6)])])
    for source in (multi, multi.__geo_interface__, shapely.to_geojson(multi)):
        assert_rfc7946({"type": "Feature", "geometry": rfc7946.geometry(source), "properties": {}})
    assert rfc7946.geometry({"type": "Point", "coordinates": [-0.12345678912, 51.5]}) == \
        {"type": "Point", "coordinates": [-0.1234568, 51.5]}


def test_the_validator_catches_a_clockwise_ring():
    bad = {"type": "Feature", "properties": {},
           "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]]]}}
    with pytest.raises(AssertionError):
        assert_rfc7946(bad)


@pytest.fixture(scope="module")
def client(rutland):
    from kindmap.api.app import create_app

    settings, engine, _ = rutland
    with TestClient(create_app(settings, engine=engine)) as c:
        yield c


def test_ogc_areas_are_rfc7946(client):
    doc = client.get("/ogc/collections/areas/items?limit=1000").json()
    assert doc["numberReturned"] == 26  # Rutland's LSOA 2021
    assert assert_rfc7946(doc) >= 26
    one = client.get(f"/ogc/collections/areas/items/{doc['features'][0]['id']}").json()
    assert_rfc7946(one)


@pytest.mark.parametrize("path", ["/ogc/collections/places/items?limit=1000", "/ogc/collections/places/items/{id}",
                                  "/ogc/collections/opportunities/items?limit=1000", "/api/export.geojson",
                                  "/api/places?postcode=LE15%206HP&radius_m=5000&limit=500", "/api/places/{id}",
                                  "/api/places/search?q=library"])
def test_points_are_rfc7946(client, path):
    first = client.get("/ogc/collections/places/items?limit=1").json()["features"][0]["id"]
    r = client.get(path.format(id=first))
    assert r.status_code == 200, r.text
    assert_rfc7946(r.json())


@pytest.mark.parametrize("profile", ["walk", "slow", "step_free"])
def test_walking_areas_are_rfc7946(client, profile):
    r = client.get(f"/api/isochrone?postcode=LE15%206HP&minutes=15&profile={profile}")
    assert r.status_code == 200, r.text
    assert assert_rfc7946(r.json()) >= 1
