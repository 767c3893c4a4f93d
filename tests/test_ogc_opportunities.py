"""OGC API – Features ``opportunities`` collection: public fields, filters, bbox, paging, 400s; Rutland samples."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlmodel import select

from kindmap.api.app import create_app
from kindmap.db import make_engine, read_session, write_session
from kindmap.models import Place, PlaceStatus, Region
from kindmap.models.activities import ActivityStatus, Booking, Cost, Opportunity
from kindmap.services.catalogue.activities import seed_sample_activities
from kindmap.services.standards.ogc.opportunities import OpportunityProperties
from tests.conftest import copy_database

URL = "/ogc/collections/opportunities/items"


@pytest.fixture
def world(engine):
    """Twelve published opportunities (two at a place), one pending, one at a pending place, one at a closed place."""
    with write_session(engine) as s:
        region = Region(slug="eastshire", name="Eastshire")
        s.add(region)
        s.flush()
        hall = Place(name="Village hall", category="community_centre", lon=-1.5, lat=52.5, region_id=region.id)
        pending = Place(name="Suggested barn", category="community_centre", lon=-1.6, lat=52.6, status=PlaceStatus.pending)
        closed = Place(name="Old library", category="library", lon=-1.7, lat=52.7, status=PlaceStatus.closed)
        s.add_all([hall, pending, closed])
        s.flush()
        for i in range(10):
            s.add(Opportunity(title=f"Walk {i:02d}", description="A gentle walk", lon=-1.0 + i * 0.01, lat=52.0 + i * 0.01,
                              interests=["walking"] if i % 2 else ["walking", "gardening"],
                              cost=[Cost.free, Cost.donation][i % 2], booking=[Booking.drop_in, Booking.booking][i % 3 == 0],
                              phone="01234 SECRET", email="secret@example.org", source="manual"))
        for title in ("Knit and natter", "Tea dance"):
            s.add(Opportunity(title=title, place_id=hall.id, lon=hall.lon, lat=hall.lat, region_id=region.id,
                              interests=["crafts"], cost=Cost.low, source="council", source_licence="OGL-UK-3.0"))
        s.add(Opportunity(title="Pending SECRET", lon=-1.0, lat=52.0, status=ActivityStatus.pending))
        s.add(Opportunity(title="At pending place SECRET", place_id=pending.id, lon=pending.lon, lat=pending.lat))
        s.add(Opportunity(title="At closed place SECRET", place_id=closed.id, lon=closed.lon, lat=closed.lat))
    return engine


def _get(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, response.text
    return response.json()


def _all(client, url):
    """Follow next links; every page reports the same numberMatched."""
    features, matched = [], None
    while url:
        doc = _get(client, url)
        matched = doc["numberMatched"] if matched is None else matched
        assert doc["numberMatched"] == matched and doc["numberReturned"] == len(doc["features"])
        features += doc["features"]
        url = next((link["href"] for link in doc["links"] if link["rel"] == "next"), None)
    assert len(features) == matched
    return features


def _titles(features):
    return sorted(f["properties"]["title"] for f in features)


def test_listed_with_extent_from_public_rows_only(client, world):
    doc = _get(client, "/ogc/collections")
    assert "opportunities" in [c["id"] for c in doc["collections"]]
    coll = _get(client, "/ogc/collections/opportunities")
    # The pending/closed-place opportunities at -1.6/-1.7 are outside the extent.
    assert coll["extent"]["spatial"]["bbox"] == [[-1.5, 52.0, pytest.approx(-0.91), 52.5]]
    queryables = _get(client, "/ogc/collections/opportunities/queryables")["properties"]
    assert set(queryables) == {"interest", "cost", "drop_in", "region", "source"}
    schema = _get(client, "/ogc/collections/opportunities/schema")
    assert set(schema["properties"]["properties"]["properties"]) == set(OpportunityProperties.model_fields)


def test_paging_reaches_every_public_opportunity_and_nothing_private(client, world):
    features = _all(client, f"{URL}?limit=5")
    assert len(features) == 12
    assert not [f for f in features if "SECRET" in f["properties"]["title"]]
    assert "SECRET" not in client.get(f"{URL}?limit=100").text
    assert "secret@example.org" not in client.get(f"{URL}?limit=100").text
    hall = [f for f in features if f["properties"]["title"] == "Tea dance"][0]
    assert hall["geometry"] == {"type": "Point", "coordinates": [-1.5, 52.5]}
    props = hall["properties"]
    assert set(props) == set(OpportunityProperties.model_fields)
    assert props["region"] == "eastshire" and props["place_id"] is not None and props["interests"] == "crafts"
    assert props["cost"] == "low" and props["drop_in"] is True and props["source_licence"] == "OGL-UK-3.0"
    one = _get(client, f"/ogc/collections/opportunities/items/{hall['id']}")
    assert one["properties"] == props


def test_filters_and_bbox(client, world):
    assert len(_all(client, f"{URL}?interest=gardening")) == 5
    assert _titles(_all(client, f"{URL}?interest=crafts")) == ["Knit and natter", "Tea dance"]
    assert len(_all(client, f"{URL}?cost=donation")) == 5
    assert len(_all(client, f"{URL}?cost=free")) == 5
    booked = _all(client, f"{URL}?drop_in=false")
    assert _titles(booked) == ["Walk 00", "Walk 03", "Walk 06", "Walk 09"]
    assert all(f["properties"]["booking"] == "booking" and not f["properties"]["drop_in"] for f in booked)
    assert len(_all(client, f"{URL}?drop_in=true")) == 8
    assert _titles(_all(client, f"{URL}?bbox=-1.005,51.99,-0.975,52.1")) == ["Walk 00", "Walk 01", "Walk 02"]
    assert _titles(_all(client, f"{URL}?bbox=-1.8,52.4,-1.4,52.8&region=eastshire")) == ["Knit and natter", "Tea dance"]
    assert len(_all(client, f"{URL}?cost=free&interest=gardening&drop_in=true")) == 3  # Walks 02, 04, 08


@pytest.mark.parametrize("query", ["colour=red", "interest=skydiving", "cost=cheap", "drop_in=maybe",
                                   "bbox=1,2,3", "limit=0", "interest=walking&interest=crafts"])
def test_bad_parameters_are_400(client, world, query):
    body = _get(client, f"{URL}?{query}", 400)
    assert body["code"] == "InvalidParameterValue" and body["detail"]


def test_unpublished_items_are_404(client, world):
    with read_session(world) as s:
        hidden = s.exec(select(Opportunity.id).where(Opportunity.title.contains("SECRET"))).all()
    assert len(hidden) == 3
    for fid in hidden:
        body = _get(client, f"/ogc/collections/opportunities/items/{fid}", 404)
        assert "SECRET" not in str(body)


def test_rutland_sample_opportunities(rutland, tmp_path):
    from fastapi.testclient import TestClient

    settings, engine, _reports = rutland
    url = copy_database(engine.url.render_as_string(hide_password=False), folder=tmp_path, name="ogc_opps")
    copy = make_engine(url, settings=settings)
    try:
        added = seed_sample_activities(copy)
        assert added > 0
        with write_session(copy) as s:  # one unpublished opportunity must never appear
            first = s.exec(select(Opportunity).order_by(Opportunity.id)).first()
            first.status = ActivityStatus.pending
            first.title = "Unpublished SECRET"
        with read_session(copy) as s:
            published = s.exec(select(Opportunity.id).where(Opportunity.status == ActivityStatus.published)).all()
        with TestClient(create_app(settings, engine=copy)) as client:
            features = _all(client, f"{URL}?limit=3")
            assert sorted(f["id"] for f in features) == sorted(published)
            assert len(features) == _get(client, URL)["numberMatched"]
            assert not [f for f in features if "SECRET" in f["properties"]["title"]]
            assert all(f["properties"]["sample"] and f["properties"]["region"] == "rutland" for f in features)
            minx, miny, maxx, maxy = _get(client, "/ogc/collections/opportunities")["extent"]["spatial"]["bbox"][0]
            assert all(minx <= f["geometry"]["coordinates"][0] <= maxx and miny <= f["geometry"]["coordinates"][1] <= maxy
                       for f in features)
            assert urlsplit(_get(client, URL)["links"][0]["href"]).path == URL
    finally:
        copy.dispose()
