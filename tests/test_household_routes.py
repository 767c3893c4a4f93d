"""A household's suggestions on a map (GET /api/households/{id}/routes) on the real Rutland data: the home,
each suggestion in the list's order, and the walk from the home along Rutland's paths."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from kindmap.db import write_session
from kindmap.geo.distance import haversine_m
from kindmap.models.accounts import User
from kindmap.services.recommend.routes import household_routes
from tests.test_households import build_world, new_household


@pytest.fixture(scope="module")
def world(rutland, tmp_path_factory):
    base, _engine, _reports = rutland
    w = build_world(rutland, tmp_path_factory.mktemp("routes"))
    (w.settings.state_dir / "networks").mkdir(parents=True, exist_ok=True)
    shutil.copy(base.state_dir / "networks" / "rutland.npz", w.settings.state_dir / "networks" / "rutland.npz")
    with w.client:
        yield w


def line_metres(coords) -> float:
    xy = np.asarray(coords)
    return float(haversine_m(xy[:-1, 0], xy[:-1, 1], xy[1:, 0], xy[1:, 1]).sum())


def test_each_suggestion_has_its_walk_from_home_along_the_paths(world):
    household = new_household(world, interests=["reading"], access_needs=[], profile="walk", free_windows=None)
    hid = household["id"]
    got = world.client.get(f"/api/households/{hid}/routes", headers=world.headers("carer_a1"))
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["type"] == "FeatureCollection" and body["profile"] == "walk"
    home, *rest = body["features"]
    assert home["properties"]["role"] == "home"
    assert home["geometry"]["coordinates"] == pytest.approx([household["lon"], household["lat"]], abs=1e-6)
    # The same suggestions, in the same order and with the same numbers, as the list (one data path).
    items = world.client.get(f"/api/households/{hid}/recommendations", headers=world.headers("carer_a1")).json()["items"]
    located = [(n, i) for n, i in enumerate(items, start=1) if i["lon"] is not None]
    points = [f for f in rest if f["properties"]["role"] == "suggestion"]
    lines = [f for f in rest if f["properties"]["role"] == "route"]
    assert len(located) >= 3
    assert [(f["properties"]["number"], f["properties"]["kind"], f["properties"]["id"]) for f in points] == \
           [(n, i["kind"], i["id"]) for n, i in located]
    assert len(lines) == len(points)
    for line, (_n, item) in zip(lines, located):
        coords = line["geometry"]["coordinates"]
        assert line["geometry"]["type"] == "LineString" and line["properties"]["travel"] == "network"
        assert coords[0] == pytest.approx([household["lon"], household["lat"]], abs=1e-6)
        assert coords[-1] == pytest.approx([item["lon"], item["lat"]], abs=1e-6)
        assert len(coords) > 2, "a walk along streets has corners"
        walked = line_metres(coords)
        straight = float(haversine_m(household["lon"], household["lat"], item["lon"], item["lat"]))
        assert straight <= walked + 1
        # The line is the walk the minutes were measured on (80 m a minute), within a few metres.
        assert walked == pytest.approx(item["walk_minutes"] * 80, abs=max(15, 0.03 * walked))
        assert line["properties"]["walk"] == f"{max(1, round(item['walk_minutes']))} min"
    # The scheme's worker may see the home too; the walk is then told in bands, as the list does.
    worker = world.client.get(f"/api/households/{hid}/routes", headers=world.headers("worker_a")).json()
    assert worker["features"][0] == home
    assert all("min" in f["properties"]["walk"] and f["properties"]["walk"] == i["walk_band"]
               for f, (_n, i) in zip([f for f in worker["features"] if f["properties"]["role"] == "route"], located))
    audit = world.client.get(f"/api/households/{hid}/audit", headers=world.headers("worker_a")).json()
    assert sum(1 for e in audit if e["action"] == "read_location") >= 2


def test_without_a_path_network_the_route_is_a_straight_line_marked_estimated(world, tmp_path):
    household = new_household(world, interests=["reading"], access_needs=[], free_windows=None)
    bare = world.settings.model_copy(update={"state_dir": tmp_path})
    with write_session(world.engine) as session:
        carer = session.get(User, world.users["carer_a1"])
        found = household_routes(session, bare, carer, household["id"])
    routes = [f for f in found.features if f.properties.role == "route"]
    assert routes and all(f.properties.travel == "estimated" and len(f.geometry["coordinates"]) == 2 for f in routes)


def test_bad_limits_say_what_to_fix(world):
    household = new_household(world)
    for limit in ("0", "51", "x"):
        r = world.client.get(f"/api/households/{household['id']}/routes?limit={limit}", headers=world.headers("carer_a1"))
        assert r.status_code == 422 and "limit" in r.text
