"""The names people use: other names, typos, kind + town, towns and partial postcodes, on tiny
synthetic catalogues and on the real Rutland extract."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from kindmap.db import write_session
from kindmap.ingest.localities import read_localities
from kindmap.models import Locality, Place, Postcode, Region


def _seed(engine) -> dict[str, int]:
    with write_session(engine) as s:
        region = Region(slug="testshire", name="Testshire")
        s.add(region)
        s.flush()
        rows = {
            "county_library": Place(name="Testshire County Library", category="library", lon=-0.727, lat=52.670,
                                    region_id=region.id),
            "mill": Place(name="The Old Mill", other_names="Mill House; Bridge Street Mill", category="community_centre",
                          lon=-0.60, lat=52.60, region_id=region.id),
            "far_chapel": Place(name="Grace Chapel", category="place_of_worship", lon=-0.20, lat=52.40, region_id=region.id),
            "near_chapel": Place(name="Grace Chapel", category="place_of_worship", lon=-0.726, lat=52.671,
                                 region_id=region.id),
        }
        s.add_all(rows.values())
        s.add_all([Locality(region_id=region.id, name="Oakton", kind="town", lon=-0.728, lat=52.669),
                   Locality(region_id=region.id, name="Millby", other_names="Millby-on-the-Hill", kind="village",
                            lon=-0.601, lat=52.601)])
        s.add_all([Postcode(postcode="TE15 6AA", lon=-0.720, lat=52.660, region_id=region.id),
                   Postcode(postcode="TE15 6AB", lon=-0.730, lat=52.680, region_id=region.id),
                   Postcode(postcode="TE15 7AA", lon=-0.600, lat=52.600, region_id=region.id)])
        s.flush()
        return {k: p.id for k, p in rows.items()}


def _ids(client: TestClient, **params) -> list[int]:
    r = client.get("/api/places/search", params=params)
    assert r.status_code == 200, r.text
    return [f["id"] for f in r.json()["features"]]


def test_kind_and_town_find_a_place_named_otherwise(client, engine):
    ids = _seed(engine)
    # "Oakton Library" is what people call Testshire County Library: a library, in Oakton.
    assert _ids(client, q="Oakton Library") == [ids["county_library"]]
    assert _ids(client, q="oakton libary") == [ids["county_library"]]  # a typo in each word
    assert _ids(client, q="Oakten library") == [ids["county_library"]]
    # A town alone is a location, not a place name: the answer is the places near it.
    town = client.get("/api/places/search", params={"q": "Oakton"}).json()
    assert town["search"]["located"]["name"] == "Oakton" and town["search"]["located"]["kind"] == "town"
    assert [f["id"] for f in town["features"]][:2] == [ids["county_library"], ids["near_chapel"]]


def test_other_names_and_prefixes(client, engine):
    ids = _seed(engine)
    assert _ids(client, q="Mill House") == [ids["mill"]]
    assert _ids(client, q="bridge street mill") == [ids["mill"]]
    assert _ids(client, q="old mil") == [ids["mill"]]
    detail = client.get(f"/api/places/{ids['mill']}").json()["properties"]
    assert detail["other_names"] == "Mill House; Bridge Street Mill"
    assert _ids(client, q="zzzz qqqq") == []


def test_nearer_places_rank_first_among_equal_names(client, engine):
    ids = _seed(engine)
    assert _ids(client, q="grace chapel", lon=-0.21, lat=52.41) == [ids["far_chapel"], ids["near_chapel"]]
    assert _ids(client, q="grace chapel", lon=-0.727, lat=52.670) == [ids["near_chapel"], ids["far_chapel"]]
    assert client.get("/api/places/search", params={"q": "grace", "lon": -0.2}).status_code == 422


def test_partial_postcodes_and_towns_are_locations(client, engine):
    ids = _seed(engine)
    district = client.get("/api/places/search", params={"q": "te15"}).json()
    assert district["search"]["located"] == {"name": "TE15", "kind": "postcode_district", "lon": pytest.approx(-0.683333, abs=1e-5),
                                             "lat": pytest.approx(52.646667, abs=1e-5), "postcodes": 3}
    sector = client.get("/api/places/search", params={"q": "TE15 6"}).json()
    located = sector["search"]["located"]
    assert (located["kind"], located["postcodes"], located["lon"], located["lat"]) == ("postcode_sector", 2, -0.725, 52.67)
    # Places near the sector's centroid, nearest first, with distances.
    features = sector["features"]
    assert features[0]["id"] in (ids["county_library"], ids["near_chapel"])
    assert all(f["properties"]["distance_m"] is not None for f in features)
    full = client.get("/api/places/search", params={"q": "te156ab"}).json()["search"]["located"]
    assert (full["name"], full["kind"]) == ("TE15 6AB", "postcode")
    # A village by another of its names, with a typo.
    village = client.get("/api/places/search", params={"q": "Milby on the hill"}).json()["search"]
    assert [loc["name"] for loc in village["locations"]] == ["Millby"]
    assert client.get("/api/places/search", params={"q": "ZZ9 9"}).json()["features"] == []


def test_localities_read_from_the_real_extract(data_dir):
    rows = read_localities(data_dir / "rutland" / "rutland-2022-11.osm.pbf")
    by_name = {r.name: r for r in rows}
    assert by_name["Oakham"].kind == "town" and by_name["Uppingham"].kind == "town"
    assert by_name["Braunston in Rutland"].other_names == "Braunston"
    assert 55 <= len(rows) <= 80  # 2 towns, 52 villages, 9 hamlets, 2 neighbourhoods
    assert not any(r.kind in ("farm", "isolated_dwelling", "locality") for r in rows)


@pytest.fixture(scope="module")
def rutland_client(rutland):
    from kindmap.api.app import create_app

    settings, engine, _ = rutland
    with TestClient(create_app(settings, engine=engine)) as c:
        yield c


def _names(client: TestClient, q: str) -> list[str]:
    r = client.get("/api/places/search", params={"q": q, "limit": 5})
    assert r.status_code == 200, r.text
    return [f["properties"]["name"] for f in r.json()["features"]]


def test_rutland_names_people_use(rutland_client):
    assert _names(rutland_client, "Oakham Library")[0] == "Rutland County Library"
    assert _names(rutland_client, "Uppinham libary")[0] == "Uppingham Library"
    assert _names(rutland_client, "St Matthews Church")[0] == "Normanton Church"  # its alt_name
    assert "Oakham Baptist Church" in _names(rutland_client, "oakham baptist")
    le15 = rutland_client.get("/api/places/search", params={"q": "LE15"}).json()
    located = le15["search"]["located"]
    assert (located["name"], located["kind"]) == ("LE15", "postcode_district") and located["postcodes"] > 1000
    assert le15["search"]["matched"] > 10 and le15["features"][0]["properties"]["distance_m"] is not None
    sector = rutland_client.get("/api/places/search", params={"q": "LE15 6"}).json()["search"]["located"]
    assert sector["kind"] == "postcode_sector" and 52.6 < sector["lat"] < 52.7
    town = rutland_client.get("/api/places/search", params={"q": "Uppingham"}).json()["search"]
    assert town["locations"][0]["name"] == "Uppingham" and town["locations"][0]["kind"] == "town"
