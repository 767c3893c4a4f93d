"""OGC API – Features on a tiny synthetic catalogue: documents, paging, filters, 400s and 404s, privacy."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from shapely.geometry import box, mapping
from sqlmodel import select

from kindmap.db import read_session, write_session
from kindmap.models import Area, Place, PlaceStatus, Region
from kindmap.services.catalogue.export import PlaceRecord
from kindmap.services.standards.ogc import core as ogc

OLD, NEW = datetime(2021, 6, 1, 12, 0, tzinfo=timezone.utc), datetime(2023, 3, 1, 9, 30, tzinfo=timezone.utc)
PUBLIC_PROPS = set(PlaceRecord.model_fields) - {"id", "lon", "lat"}


@pytest.fixture
def world(engine):
    """25 published places (ids 1..25 in two regions), one closed and one pending far away, three areas."""
    with write_session(engine) as s:
        east, west = Region(slug="eastshire", name="Eastshire"), Region(slug="westshire", name="Westshire")
        s.add_all([east, west])
        s.flush()
        for i in range(25):
            s.add(Place(
                name=f"Place {i:02d}", category=["library", "park", "community_centre"][i % 3],
                lon=-1.0 + i * 0.01, lat=52.0 + i * 0.01, region_id=east.id if i < 15 else west.id,
                free_to_use=[True, False, None][i % 3 if i % 2 else 0], wifi=None, source="osm", source_id=f"node/{i}",
                source_licence="ODbL-1.0", updated_at=OLD if i < 10 else NEW,
            ))
        s.add(Place(name="Closed hall SECRET", category="library", lon=5.0, lat=60.0, status=PlaceStatus.closed,
                    footprint_geojson='{"type": "Point", "coordinates": [5, 60]}', updated_at=NEW))
        s.add(Place(name="Pending suggestion SECRET", category="library", lon=-0.9, lat=52.1, status=PlaceStatus.pending))
        for j, (decile, households) in enumerate([(1, 640), (5, 7), (10, 800)]):
            geom = box(-1.0 + j * 0.1, 52.0, -0.9 + j * 0.1, 52.1)
            s.add(Area(code=f"E0100000{j}", name=f"Area {j}", kind="LSOA 2011", population=1500, households=households,
                       deprivation_index="IMD 2019", deprivation_rank=100 * decile, deprivation_decile=decile,
                       centroid_lon=geom.centroid.x, centroid_lat=geom.centroid.y, region_id=east.id,
                       geometry_geojson=json.dumps(mapping(geom))))
    return engine


def _get(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, response.text
    return response.json()


def _bad(client, url):
    body = _get(client, url, 400)
    assert body["code"] == "InvalidParameterValue"
    assert body["description"] and body["detail"] == body["description"]
    return body["description"]


def _ids(doc):
    return [f["id"] for f in doc["features"]]


def test_landing_page_links_and_openapi(client, world):
    doc = _get(client, "/ogc")
    rels = {link["rel"]: link for link in doc["links"]}
    assert set(rels) >= {"self", "service-desc", "service-doc", "conformance", "data"}
    descs = {link["type"]: link["href"] for link in doc["links"] if link["rel"] == "service-desc"}
    assert set(descs) == {"application/vnd.oai.openapi+json;version=3.0", "application/vnd.oai.openapi+json;version=3.1"}
    spec = _get(client, urlsplit(descs["application/vnd.oai.openapi+json;version=3.0"]).path)
    assert spec["openapi"] == "3.0.3" and "/collections/places/items" in spec["paths"]
    assert _get(client, urlsplit(descs["application/vnd.oai.openapi+json;version=3.1"]).path)["openapi"] == "3.1.0"
    limit = [p for p in spec["paths"]["/collections/places/items"]["get"]["parameters"] if p["name"] == "limit"][0]
    assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": ogc.MAX_LIMIT, "default": ogc.DEFAULT_LIMIT}
    assert client.get(urlsplit(rels["service-doc"]["href"]).path).status_code == 200
    assert _get(client, urlsplit(rels["conformance"]["href"]).path)["conformsTo"] == list(ogc.CONFORMANCE)
    assert client.get("/ogc").headers["content-type"] == "application/json"


def test_collections_extent_from_public_data_only(client, world):
    doc = _get(client, "/ogc/collections")
    assert [c["id"] for c in doc["collections"]] == ["places", "areas", "opportunities"]
    places = _get(client, "/ogc/collections/places")
    # The closed place at (5, 60) is not part of the extent.
    assert places["extent"]["spatial"]["bbox"] == [[-1.0, 52.0, pytest.approx(-0.76), pytest.approx(52.24)]]
    assert places["extent"]["spatial"]["crs"] == ogc.CRS84
    assert places["extent"]["temporal"]["interval"] == [["2021-06-01T12:00:00Z", "2023-03-01T09:30:00Z"]]
    assert places["itemType"] == "feature"
    assert {link["rel"] for link in places["links"]} >= {"self", "items"}
    areas = _get(client, "/ogc/collections/areas")
    assert areas["extent"]["spatial"]["bbox"] == [[-1.0, 52.0, pytest.approx(-0.7), pytest.approx(52.1)]]
    assert "temporal" not in areas["extent"]


def test_paging_follows_next_links_to_every_published_place(client, world):
    url, seen, pages = "/ogc/collections/places/items?limit=10", [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200 and response.headers["content-type"] == "application/geo+json"
        doc = response.json()
        assert doc["type"] == "FeatureCollection" and doc["numberMatched"] == 25
        assert doc["numberReturned"] == len(doc["features"]) == [10, 10, 5][pages]
        assert datetime.fromisoformat(doc["timeStamp"]).tzinfo is not None
        links = {link["rel"]: link["href"] for link in doc["links"]}
        assert ("prev" in links) == (pages > 0)
        if pages == 1:
            assert parse_qs(urlsplit(links["prev"]).query) == {"limit": ["10"], "offset": ["0"]}
        seen += _ids(doc)
        url, pages = links.get("next"), pages + 1
    assert pages == 3 and seen == list(range(1, 26))


def test_limit_default_max_and_offset_past_the_end(client, world):
    assert _get(client, "/ogc/collections/places/items")["numberReturned"] == ogc.DEFAULT_LIMIT
    doc = _get(client, "/ogc/collections/places/items?limit=100000")  # larger than the maximum: capped, not an error
    assert doc["numberReturned"] == 25
    assert "limit=1000" in [link["href"] for link in doc["links"] if link["rel"] == "self"][0]
    doc = _get(client, "/ogc/collections/places/items?offset=40")
    assert doc["features"] == [] and doc["numberMatched"] == 25 and doc["numberReturned"] == 0


@pytest.mark.parametrize("query, says", [
    ("foo=1", "unknown query parameter 'foo'"),
    ("bbox=1,2,3", "four numbers"),
    ("bbox=a,b,c,d", "four numbers"),
    ("bbox=-1,52,-0.9,nan", "four numbers"),
    ("bbox=-1,95,0,96", "out of range"),
    ("bbox=-1,53,0,52", "out of range"),
    ("bbox=-1,52,0,-0.9,52.1", "or six"),
    ("bbox=-1,52,100,-0.9,52.1,0", "minimum height is above"),
    ("limit=0", "limit"),
    ("limit=ten", "limit"),
    ("limit=-5", "limit"),
    ("offset=-1", "offset"),
    ("datetime=yesterday", "RFC 3339"),
    ("datetime=2022-01-01T00:00:00", "time zone"),
    ("datetime=2023-01-01T00:00:00Z/2022-01-01T00:00:00Z", "starts after"),
    ("datetime=../..", "at least one end"),
    ("datetime=", "RFC 3339"),
    ("offset=4800638501671005061120", "at most 1000000000"),
    ("f=html", "JSON only"),
    ("limit=5&limit=6", "more than once"),
    ("free_to_use=maybe", "true or false"),
    ("category=casino", "unknown category"),
    ("wheelchair=sometimes", "yes, limited or no"),
    ("crs=http://www.opengis.net/def/crs/EPSG/0/27700", "CRS84"),
])
def test_bad_parameters_are_400_with_ogc_body(client, world, query, says):
    assert says in _bad(client, f"/ogc/collections/places/items?{query}")


def test_bad_parameters_elsewhere(client, world):
    assert "unknown query parameter" in _bad(client, "/ogc?limit=3")
    assert "unknown query parameter" in _bad(client, "/ogc/collections?bbox=1,2,3,4")
    assert "has no time property" in _bad(client, "/ogc/collections/areas/items?datetime=2022-01-01")
    assert "1 (most deprived) to 10" in _bad(client, "/ogc/collections/areas/items?deprivation_decile=11")
    assert "unknown query parameter 'category'" in _bad(client, "/ogc/collections/areas/items?category=library")


def test_property_filters(client, world):
    doc = _get(client, "/ogc/collections/places/items?category=library&limit=100")
    assert _ids(doc) == [i + 1 for i in range(25) if i % 3 == 0]
    assert all(f["properties"]["category"] == "library" for f in doc["features"])
    doc = _get(client, "/ogc/collections/places/items?free_to_use=true&category=park&limit=100")
    with read_session(world) as s:
        expected = sorted(p.id for p in s.exec(select(Place)).all()
                          if p.status == "published" and p.free_to_use is True and p.category == "park")
    assert expected and _ids(doc) == expected and doc["numberMatched"] == len(expected)
    doc = _get(client, "/ogc/collections/places/items?region=westshire&limit=100")
    assert _ids(doc) == list(range(16, 26)) and {f["properties"]["region"] for f in doc["features"]} == {"westshire"}
    assert _get(client, "/ogc/collections/places/items?region=nowhere")["numberMatched"] == 0
    assert _ids(_get(client, "/ogc/collections/areas/items?deprivation_decile=1")) == ["E01000000"]


def test_bbox_and_datetime(client, world):
    doc = _get(client, "/ogc/collections/places/items?bbox=-0.955,52.045,-0.905,52.095&limit=100")
    assert _ids(doc) == [6, 7, 8, 9, 10]  # lon -0.95 .. -0.91
    assert _get(client, "/ogc/collections/places/items?bbox=4,59,6,61")["numberMatched"] == 0  # only the closed place is there
    newer = _get(client, "/ogc/collections/places/items?datetime=2022-01-01T00:00:00Z/..&limit=100")
    assert _ids(newer) == list(range(11, 26))
    older = _get(client, "/ogc/collections/places/items?datetime=../2021-12-31T23:59:59Z&limit=100")
    assert _ids(older) == list(range(1, 11))
    assert _get(client, "/ogc/collections/places/items?datetime=2021-06-01")["numberMatched"] == 10  # a whole day
    offset = _get(client, "/ogc/collections/places/items?datetime=2023-03-01T10:30:00%2B01:00")  # = 09:30Z
    assert offset["numberMatched"] == 15
    # Next links keep the filters.
    doc = _get(client, "/ogc/collections/places/items?datetime=2022-01-01T00:00:00Z/..&limit=10")
    nxt = parse_qs(urlsplit([link["href"] for link in doc["links"] if link["rel"] == "next"][0]).query)
    assert nxt == {"datetime": ["2022-01-01T00:00:00Z/.."], "limit": ["10"], "offset": ["10"]}
    areas = _get(client, "/ogc/collections/areas/items?bbox=-0.85,52.05,-0.84,52.06")
    assert _ids(areas) == ["E01000001"]


def test_closed_and_pending_places_are_never_published(client, world):
    doc = _get(client, "/ogc/collections/places/items?limit=1000")
    assert doc["numberMatched"] == 25 and "SECRET" not in json.dumps(doc)
    with read_session(world) as s:
        hidden = [p.id for p in s.exec(select(Place)).all() if p.status != "published"]
    for fid in hidden:
        body = _get(client, f"/ogc/collections/places/items/{fid}", 404)
        assert body["code"] == "NotFound" and "SECRET" not in json.dumps(body)
    for feature in doc["features"]:
        assert set(feature["properties"]) == PUBLIC_PROPS  # no status, footprint, created_at, merged_into_id…


def test_single_features_and_404s(client, world):
    response = client.get("/ogc/collections/places/items/3")
    assert response.status_code == 200 and response.headers["content-type"] == "application/geo+json"
    feature = response.json()
    assert feature["id"] == 3 and feature["geometry"] == {"type": "Point", "coordinates": [-0.98, 52.02]}
    assert feature["properties"]["name"] == "Place 02" and feature["properties"]["updated_at"] == "2021-06-01T12:00:00Z"
    area = _get(client, "/ogc/collections/areas/items/E01000001")
    assert area["properties"]["households"] is None  # 7 households: suppressed
    assert area["properties"]["population"] == 1500 and area["geometry"]["type"] == "Polygon"
    for url in ("/ogc/collections/nothing", "/ogc/collections/nothing/items", "/ogc/collections/places/items/999",
                "/ogc/collections/places/items/abc", "/ogc/collections/areas/items/E0199"):
        assert _get(client, url, 404)["code"] == "NotFound"


def test_queryables_name_the_filters(client, world):
    doc = _get(client, "/ogc/collections/places/queryables")
    assert doc["properties"]["free_to_use"] == {"type": "boolean"} and "category" in doc["properties"]
    assert set(doc["properties"]) == set(ogc.COLLECTIONS["places"].filters)


def test_schema_types_every_property(client, world):
    response = client.get("/ogc/collections/places/schema")
    assert response.status_code == 200 and response.headers["content-type"] == "application/schema+json"
    props = response.json()["properties"]["properties"]["properties"]
    assert set(props) == PUBLIC_PROPS
    assert props["wifi"] == {"type": "boolean"} and props["updated_at"] == {"type": "string", "format": "date-time"}
    areas = _get(client, "/ogc/collections/areas/schema")
    assert areas["properties"]["id"] == {"type": "string"}
    assert areas["properties"]["properties"]["properties"]["households"] == {"type": "integer"}
    links = {link["rel"]: link["href"] for link in _get(client, "/ogc/collections/places")["links"]}
    assert links["describedBy"] == links["describedby"] and links["describedby"].endswith("/ogc/collections/places/schema")


def test_core_is_callable_without_http(world, client):
    with read_session(world) as s:
        direct = ogc.items(s, "places", root="http://testserver", params=[("category", "park"), ("limit", "3")])
        with pytest.raises(ogc.InvalidParameter):
            ogc.items(s, "places", root="http://x", params=[("bbox", "1,2")])
    over_http = _get(client, "/ogc/collections/places/items?category=park&limit=3")
    assert direct["features"] == over_http["features"] and direct["links"] == over_http["links"]


def test_a_new_collection_is_one_registration(client, world, monkeypatch):
    regions = ogc.Collection(
        id="regions", title="Regions", description="Council regions.", table=Region, key=Region.id, public=(),
        filters={"slug": ogc.Filter(str, lambda v: Region.slug == v)},
        feature=lambda r, _ctx: {"type": "Feature", "id": r.slug, "geometry": None, "properties": {"name": r.name}},
        fid=lambda text: Region.slug == text, bbox=lambda _s, _b: Region.id.is_(None), extent=lambda _s: None,
    )
    monkeypatch.setitem(ogc.COLLECTIONS, "regions", regions)
    assert "regions" in [c["id"] for c in _get(client, "/ogc/collections")["collections"]]
    assert _ids(_get(client, "/ogc/collections/regions/items?slug=westshire")) == ["westshire"]


def test_six_number_bbox_is_the_four_number_one_with_heights(client, world):
    flat = _get(client, "/ogc/collections/places/items?bbox=-0.955,52.045,-0.905,52.095&limit=100")
    high = _get(client, "/ogc/collections/places/items?bbox=-0.955,52.045,-100,-0.905,52.095,8848&limit=100")
    assert flat["numberMatched"] > 0 and _ids(high) == _ids(flat)


def test_landing_page_with_a_slash_is_answered_not_redirected(client, world):
    r = client.get("/ogc/", follow_redirects=False)
    assert r.status_code == 200 and r.json() == client.get("/ogc").json()


@pytest.mark.parametrize("path", ["/ogc", "/ogc/", "/ogc/conformance", "/ogc/collections", "/ogc/collections/places",
                                  "/ogc/collections/places/queryables", "/ogc/collections/places/schema",
                                  "/ogc/collections/places/items?limit=2", "/ogc/collections/places/items/1",
                                  "/ogc/collections/nope", "/openreferral/services", "/api/export.geojson"])
def test_head_wherever_get_is(client, world, path):
    got, head = client.get(path), client.head(path)
    assert head.status_code == got.status_code and head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]


def test_405_allow_lists_every_matching_route(client):
    r = client.options("/api/households/1/links/chart.png")
    assert r.status_code == 405 and set(r.headers["allow"].split(", ")) == {"GET", "HEAD", "DELETE"}
    r = client.put("/ogc/collections/places/items")
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
    r = client.delete("/api/households")
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD, POST"
