"""Freshness: per-group "checked on", the stale flag, the council view by category and small area."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import shapely
from sqlmodel import select

from kindmap.db import read_session, write_session
from kindmap.models import Area, Place, PlaceSource, Region
from kindmap.services.catalogue.freshness import region_freshness
from kindmap.services.community.review import set_local_facts

NOW = datetime(2024, 6, 1, tzinfo=timezone.utc)


def _square(x: float, y: float) -> str:
    return json.dumps({"type": "Polygon", "coordinates": [[[x, y], [x + 0.1, y], [x + 0.1, y + 0.1], [x, y + 0.1], [x, y]]]})


def _seed(engine) -> dict[str, int]:
    """Two small areas side by side; places checked by a person, edited on OSM recently, or long ago."""
    with write_session(engine) as s:
        region = Region(slug="testshire", name="Testshire")
        s.add(region)
        s.flush()
        for code, x in (("E01", 0.0), ("E02", 0.1)):
            s.add(Area(code=code, name=f"Area {code}", kind="LSOA 2011", centroid_lon=x + 0.05, centroid_lat=52.05,
                       region_id=region.id, geometry_geojson=_square(x, 52.0)))
        specs = {  # name: (lon, category, osm edit, person check)
            "old park": (0.02, "park", NOW - timedelta(days=900), None),
            "fresh park": (0.03, "park", NOW - timedelta(days=30), None),
            "checked hall": (0.15, "community_centre", NOW - timedelta(days=2000), NOW - timedelta(days=10)),
            "old hall": (0.16, "community_centre", NOW - timedelta(days=400), None),
            "outside": (0.5, "library", None, None),
        }
        ids = {}
        for name, (lon, cat, edited, checked) in specs.items():
            place = Place(name=name, category=cat, lon=lon, lat=52.05, region_id=region.id, source="osm",
                          source_id=f"node/{len(ids)}", source_timestamp=edited, verified_at=checked)
            s.add(place)
            s.flush()
            s.add(PlaceSource(place_id=place.id, source="osm", source_id=place.source_id, source_timestamp=edited,
                              values_json=json.dumps({"name": name, "opening_hours": None}), licence="ODbL-1.0"))
            ids[name] = place.id
        s.get(Place, ids["old hall"]).possibly_closed_since = NOW - timedelta(days=3)
    return ids


def test_region_freshness_by_category_area_and_oldest(engine):
    ids = _seed(engine)
    with read_session(engine) as s:
        summary = region_freshness(s, "testshire", stale_after_days=365, now=NOW)
    assert (summary.total.places, summary.total.fresh, summary.total.checked_by_person) == (5, 2, 1)
    cats = {c.key: (c.places, c.fresh) for c in summary.by_category}
    assert cats == {"park": (2, 1), "community_centre": (2, 1), "library": (1, 0)}
    areas = {a.key: (a.places, a.fresh) for a in summary.by_area}
    assert areas == {"E01": (2, 1), "E02": (2, 1), "outside": (1, 0)}
    order = [r["name"] for r in summary.oldest]
    # Possibly closed first, then never confirmed, then the longest unconfirmed.
    assert order == ["old hall", "outside", "old park", "fresh park", "checked hall"]
    with read_session(engine) as s:
        longer = region_freshness(s, "testshire", stale_after_days=1000, now=NOW)
    assert longer.total.fresh == 4 and summary.possibly_closed == 1 and ids


def test_provenance_groups_and_stale_after_days_setting(client, engine, monkeypatch):
    ids = _seed(engine)
    with write_session(engine) as s:
        set_local_facts(s, ids["old park"], {"quiet_space": True}, note="quiet corner by the pond")
    prov = client.get(f"/api/places/{ids['old park']}/provenance").json()
    groups = {g["group"]: g for g in prov["groups"]}
    assert groups["accessibility"]["checked_on"] is not None and groups["accessibility"]["may_be_out_of_date"] is False
    assert groups["identity"]["checked_on"] is None and groups["identity"]["edited_on_source"].startswith("20")
    assert groups["identity"]["may_be_out_of_date"] is True  # OSM edit 900 days before 2024-06, and no check
    assert groups["contact"]["edited_on_source"] is None  # the source said nothing about contact details
    assert prov["sources"] == [{**prov["sources"][0], "source": "osm", "licence": "ODbL-1.0", "primary": True}]
    assert prov["stale_after_days"] == 365
    client.app.state.settings = client.app.state.settings.model_copy(update={"stale_after_days": 100000})
    prov = client.get(f"/api/places/{ids['old park']}/provenance").json()
    assert prov["stale_after_days"] == 100000
    assert not any(g["may_be_out_of_date"] for g in prov["groups"] if g["last_confirmed"])


def test_freshness_api_is_for_council_roles(client, engine):
    from tests.test_review import _user

    _seed(engine)
    assert client.get("/api/freshness", params={"region": "testshire"}).status_code == 401
    carer, _ = _user(engine, "carer")
    assert client.get("/api/freshness", params={"region": "testshire"}, headers=carer).status_code == 403
    analyst, _ = _user(engine, "council_analyst")
    body = client.get("/api/freshness", params={"region": "testshire"}, headers=analyst).json()
    assert body["total"]["places"] == 5 and {a["key"] for a in body["by_area"]} == {"E01", "E02", "outside"}
    missing = client.get("/api/freshness", params={"region": "narnia"}, headers=analyst)
    assert missing.status_code == 404 and "unknown region 'narnia'" in missing.json()["detail"]


def test_real_rutland_areas_partition_the_places(rutland):
    """Every published place lands in exactly the small area that contains it (checked by brute force)."""
    settings, engine, _ = rutland
    with read_session(engine) as s:
        summary = region_freshness(s, "rutland", stale_after_days=365)
        places = s.exec(select(Place).where(Place.status == "published")).all()
        areas = s.exec(select(Area)).all()
    shapes = {a.code: shapely.from_geojson(a.geometry_geojson) for a in areas}
    expected: dict[str, int] = {}
    for p in places:
        point = shapely.Point(p.lon, p.lat)
        code = next((c for c in sorted(shapes) if shapes[c].intersects(point)), "outside")
        expected[code] = expected.get(code, 0) + 1
    got = {a.key: a.places for a in summary.by_area if a.places}
    assert got == expected and summary.total.places == len(places) > 150
    assert sum(c.places for c in summary.by_category) == len(places)
