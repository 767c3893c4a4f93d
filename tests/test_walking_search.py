"""Search by walking time, free windows, and isochrones, on a tiny synthetic region.

The region has a river with one bridge: the place across the river is 67 m away in a
straight line but a 1.44 km walk round by the bridge.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import opening_hours
import pytest
from shapely.geometry import Point, shape

from kindmap.db import write_session
from kindmap.geo.distance import haversine_m
from kindmap.geo.network import network_from_arrays
from kindmap.schemas import PlaceCollection
from kindmap.models import Place, Postcode, Region
from sqlmodel import select
from kindmap.services.walking import network_path

# South bank along lat 52.0000, north bank along 52.0006, bridge at lon 0.010.
NODES_LON = np.array([0.000, 0.005, 0.010, 0.000, 0.005, 0.010])
NODES_LAT = np.array([52.0000, 52.0000, 52.0000, 52.0006, 52.0006, 52.0006])
EDGES = np.array([[0, 1], [1, 2], [2, 5], [5, 4], [4, 3]])
BOUNDARY = {"type": "Polygon", "coordinates": [[[-0.01, 51.99], [0.02, 51.99], [0.02, 52.01], [-0.01, 52.01], [-0.01, 51.99]]]}
FAR = {"type": "Polygon", "coordinates": [[[1.0, 53.0], [1.1, 53.0], [1.1, 53.1], [1.0, 53.1], [1.0, 53.0]]]}


@pytest.fixture
def river(settings, engine):
    net = network_from_arrays(node_lon=NODES_LON, node_lat=NODES_LAT, edge_u=EDGES[:, 0], edge_v=EDGES[:, 1])
    path = network_path(settings, "riverside")
    path.parent.mkdir(parents=True)
    net.save(path)
    with write_session(engine) as s:
        riverside = Region(slug="riverside", name="Riverside", boundary_geojson=json.dumps(BOUNDARY))
        nonet = Region(slug="nonet", name="No Network", boundary_geojson=json.dumps(FAR))
        s.add_all([riverside, nonet])
        s.flush()
        s.add(Place(name="Across the river", category="library", lon=0.000, lat=52.0006, region_id=riverside.id,
                    opening_hours="Mo-Fr 09:00-17:00"))
        s.add(Place(name="Along the bank", category="park", lon=0.005, lat=52.0000, region_id=riverside.id,
                    opening_hours="Sa 10:00-12:00"))
        s.add(Place(name="Hall far away", category="community_centre", lon=1.05, lat=53.05, region_id=nonet.id))
        s.add(Place(name="Hall a bit further", category="community_centre", lon=1.06, lat=53.05, region_id=nonet.id))
        s.add(Postcode(postcode="RV1 1AA", lon=0.0, lat=52.0, region_id=riverside.id))
    return settings


def _names(body):
    return [f["properties"]["name"] for f in body["features"]]


def test_walking_time_orders_differently_from_distance(client, river):
    by_distance = client.get("/api/places", params={"postcode": "RV1 1AA", "radius_m": 1000}).json()
    assert _names(by_distance) == ["Across the river", "Along the bank"]
    raw = client.get("/api/places", params={"postcode": "RV1 1AA", "max_walk_minutes": 30}).content
    # the bytes built without models are what the PlaceCollection model makes of them (postcode, minutes)
    assert PlaceCollection.model_validate_json(raw).model_dump_json().encode() == raw
    by_walk = json.loads(raw)
    assert _names(by_walk) == ["Along the bank", "Across the river"]
    assert by_walk["search"]["travel"] == "network" and by_walk["search"]["profile"] == "walk"
    bank = haversine_m(0.0, 52.0, 0.005, 52.0)
    round_by_bridge = 2 * haversine_m(0.0, 52.0, 0.010, 52.0) + haversine_m(0.010, 52.0, 0.010, 52.0006)
    minutes = [f["properties"]["walk_minutes"] for f in by_walk["features"]]
    assert minutes[0] == pytest.approx(bank / 80, abs=0.1)  # 4.8 km/h is 80 m a minute
    assert minutes[1] == pytest.approx(round_by_bridge / 80, abs=0.1)
    # The slow profile (3 km/h = 50 m a minute) keeps only what it reaches in time.
    slow = client.get("/api/places", params={"postcode": "RV1 1AA", "max_walk_minutes": 20, "profile": "slow"}).json()
    assert _names(slow) == ["Along the bank"]
    assert slow["features"][0]["properties"]["walk_minutes"] == pytest.approx(bank / 50, abs=0.1)


def test_estimated_where_there_is_no_network(client, river):
    body = client.get("/api/places", params={"lon": 1.05, "lat": 53.05, "max_walk_minutes": 20}).json()
    assert body["search"]["travel"] == "estimated"
    far = body["features"][1]["properties"]
    assert far["walk_minutes"] == pytest.approx(far["distance_m"] * 1.3 / 80, abs=0.1)


def test_walk_search_refuses_points_outside_regions(client, river):
    response = client.get("/api/places", params={"lon": 0.5, "lat": 52.5, "max_walk_minutes": 15})
    assert response.status_code == 422
    assert "km from the nearest region" in response.json()["detail"]
    for params, words in [({"postcode": "RV1 1AA", "max_walk_minutes": -1}, "greater than 0"),
                          ({"postcode": "RV1 1AA", "max_walk_minutes": 61}, "less than or equal to 60"),
                          ({"postcode": "RV1 1AA", "max_walk_minutes": 10, "profile": "jog"}, "unknown walking profile"),
                          ({"max_walk_minutes": 10}, "needs a starting point"),
                          ({"postcode": "RV1 1AA", "window": "Mon 12:00-10:00"}, "split overnight")]:
        r = client.get("/api/places", params=params)
        assert r.status_code == 422 and words in r.json()["detail"], (params, r.json())


def test_no_map_data_here_in_a_hole_or_outside_the_extract(client, river, engine):
    """Inside the region but where its map data has nothing: 422 saying so, never an empty answer."""
    hole = {"lon": 0.019, "lat": 52.009}  # in Riverside's outline, 1.1 km from the nearest path node
    for url, extra in (("/api/places", {"max_walk_minutes": 15}), ("/api/isochrone", {"minutes": 10})):
        r = client.get(url, params={**hole, **extra})
        assert r.status_code == 422 and r.json()["detail"].startswith("No map data here: this point is in Riverside"), r.json()
        assert "Search by distance instead of walking time" in r.json()["detail"]
    assert client.get("/api/places", params={**hole, "radius_m": 2000}).status_code == 200  # by distance still answers
    # An extract recorded as covering only the west: a point beside the bridge's path is outside it.
    west = {"type": "Polygon", "coordinates": [[[-0.01, 51.99], [0.006, 51.99], [0.006, 52.01], [-0.01, 52.01], [-0.01, 51.99]]]}
    with write_session(engine) as s:
        s.exec(select(Region).where(Region.slug == "riverside")).one().map_extent_geojson = json.dumps(west)
    east = {"lon": 0.0095, "lat": 52.0003}
    r = client.get("/api/places", params={**east, "max_walk_minutes": 15})
    assert r.status_code == 422 and "No map data here" in r.json()["detail"]
    assert "kindmap import osm EXTRACT --region riverside" in r.json()["detail"]
    assert client.get("/api/places", params={"postcode": "RV1 1AA", "max_walk_minutes": 15}).json()["search"]["travel"] == "network"


def test_a_home_outside_the_map_data_gets_estimated_walks_not_stray_streets(river, engine):
    """A household's walks (its suggestions and their map) are estimated, and say so, where the map data
    does not cover the home: never minutes along the few paths that happen to reach its area."""
    from kindmap.models.households import Household
    from kindmap.services.recommend.reach import home_router, walk_minutes

    to = (np.array([0.000, 0.005]), np.array([52.0006, 52.0000]))
    with write_session(engine) as s:
        in_hole = Household(label="H", lon=0.019, lat=52.009)  # 1.1 km from the nearest path node
        assert home_router(s, river, in_hole)[1] is None
        minutes, travel, slug = walk_minutes(s, river, in_hole, "walk", *to, cap=120)
        assert travel == "estimated" and slug == "riverside"
        metres = haversine_m(0.019, 52.009, to[0], to[1])
        assert minutes == pytest.approx(metres * river.circuity / 80, abs=0.1)
        on_paths = Household(label="P", lon=0.0, lat=52.0)
        assert home_router(s, river, on_paths)[1] is not None
        assert walk_minutes(s, river, on_paths, "walk", *to, cap=120)[1] == "network"


def test_free_windows_and_next_opening_agree_with_opening_hours_py(client, river):
    body = client.get("/api/places", params={"postcode": "RV1 1AA", "radius_m": 2000,
                                              "window": ["Sat 11:00-13:00", "Sun 10:00-11:00"]}).json()
    assert _names(body) == ["Along the bank"]
    assert body["search"]["windows"] == ["Sat 11:00-13:00", "Sun 10:00-11:00"]
    next_open = datetime.fromisoformat(body["features"][0]["properties"]["next_open"])
    # Local wall clock with the offset in force then (+00:00 in winter, +01:00 in summer).
    assert next_open.utcoffset() == ZoneInfo("Europe/London").utcoffset(next_open.replace(tzinfo=None))
    assert next_open.weekday() == 5 and next_open.hour == 11 and next_open.minute == 0
    assert opening_hours.OpeningHours("Sa 10:00-12:00").is_open(next_open.replace(tzinfo=None))
    assert -timedelta(minutes=1) <= next_open - datetime.now(UTC) <= timedelta(days=7)
    weekday = client.get("/api/places", params={"postcode": "RV1 1AA", "radius_m": 2000, "window": "Wed 16:30-18:00"}).json()
    assert _names(weekday) == ["Across the river"]
    assert datetime.fromisoformat(weekday["features"][0]["properties"]["next_open"]).strftime("%a %H:%M") == "Wed 16:30"


def test_isochrone_on_network_and_estimated(client, river):
    body = client.get("/api/isochrone", params={"postcode": "RV1 1AA", "minutes": 10}).json()
    area = shape(body["geometry"])
    assert body["properties"]["travel"] == "network"
    assert area.contains(Point(0.005, 52.0))          # 343 m along the bank: inside 10 minutes
    assert not area.contains(Point(0.000, 52.0006 + 0.0003))  # across the river, beyond the 50 m buffer: outside
    estimated = client.get("/api/isochrone", params={"lon": 1.05, "lat": 53.05, "minutes": 10}).json()
    assert estimated["properties"]["travel"] == "estimated"
    circle = shape(estimated["geometry"])
    radius = 10 * 80 / 1.3
    assert circle.contains(Point(1.05, 53.05 + (radius - 20) / 111_200))
    assert not circle.contains(Point(1.05, 53.05 + (radius + 20) / 111_200))
    assert client.get("/api/isochrone", params={"lon": 0.5, "lat": 52.5}).status_code == 422
    assert client.get("/api/isochrone", params={"minutes": 10}).status_code == 422


def test_walking_cache_is_bounded_and_loads_once(settings):
    """At most max_routers networks stay loaded (least recently used go); concurrent first loads build one router."""
    import threading

    from kindmap.services.walking import WalkingCache

    net = network_from_arrays(node_lon=NODES_LON, node_lat=NODES_LAT, edge_u=EDGES[:, 0], edge_v=EDGES[:, 1])
    for slug in ("a", "b", "c"):
        path = network_path(settings, slug)
        path.parent.mkdir(parents=True, exist_ok=True)
        net.save(path)
    cache = WalkingCache(max_routers=2, max_snaps=1)
    got = []
    threads = [threading.Thread(target=lambda: got.append(cache.router(settings, "a"))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(r) for r in got}) == 1
    first = got[0]
    cache.router(settings, "b")
    assert cache.router(settings, "a") is first  # used again: "b" is now the least recent
    cache.router(settings, "c")
    assert len(cache._routers) == 2 and network_path(settings, "b") not in cache._routers
    for sig in range(3):
        cache.place_snaps(first, path_key=network_path(settings, "a"), signature=(sig,), profile=first_profile(),
                          lon=np.array([0.001]), lat=np.array([52.0]))
    assert len(cache._snaps) == 1


def first_profile():
    from kindmap.geo.profiles import get_profile

    return get_profile("walk")


def test_server_start_up_loads_the_walking_networks(settings, engine, river):
    """A visitor's first walking search finds the network loaded and its structures built."""
    from kindmap.api.app import create_app
    from kindmap.services.walking import DEFAULT_WALKING, warm_networks

    assert warm_networks(settings) == ["riverside"]
    router = DEFAULT_WALKING.router(settings, "riverside")
    assert router._grid is not None and router._graphs and router._indexes
    from fastapi.testclient import TestClient

    with TestClient(create_app(settings, engine=engine)) as client:
        assert client.get("/api/places", params={"postcode": "RV1 1AA", "max_walk_minutes": 30}).status_code == 200


def test_places_snapped_when_first_needed_equal_snapping_the_whole_catalogue():
    """A walking search snaps only the places in reach (PlaceSnaps); the snaps equal one snap of every place."""
    from kindmap.services.walking import PlaceSnaps
    from tests.geo.test_local_search import irregular_network

    router = irregular_network()
    rng = np.random.default_rng(2)
    lon, lat = rng.uniform(-0.025, 0.025, 500), 52.0 + rng.uniform(-0.016, 0.016, 500)
    for name in ("walk", "step_free"):
        profile = first_profile() if name == "walk" else __import__("kindmap.geo.profiles", fromlist=["x"]).get_profile(name)
        whole = router.snap_many(lon, lat, profile=profile)
        lazy = PlaceSnaps(router, lon, lat, profile=profile)
        for _ in range(6):  # overlapping subsets, in any order, with repeats
            idx = rng.choice(500, size=120)
            got, want = lazy.take(idx), whole.take(idx)
            assert got.avoid_key == want.avoid_key
            for field in PlaceSnaps.FIELDS:
                np.testing.assert_array_equal(getattr(got, field), getattr(want, field))
        assert 0 < lazy._done.sum() < 500  # only the places asked for were snapped
