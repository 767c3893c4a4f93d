"""OGC API – Features read by clients nobody on the project wrote: GDAL's OAPIF driver (ogrinfo and
ogr2ogr from Debian's gdal-bin, and pyogrio's own newer GDAL) and OWSLib, over real Rutland data."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
from sqlmodel import select

from kindmap.db import read_session
from kindmap.models import Area, Place, PlaceStatus

needs_gdal = pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="gdal-bin is not installed (.ci/run installs it)")


@pytest.fixture(scope="module")
def server(rutland):
    """uvicorn serving the Rutland database on a free 127.0.0.1 port, in a background thread."""
    import uvicorn

    from kindmap.api.app import create_app

    settings, engine, _ = rutland
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(settings, engine=engine), host="127.0.0.1", port=port, log_level="warning",
                            access_log=False)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/ogc"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def truth(rutland):
    """What the database says the public may see."""
    _, engine, _ = rutland
    with read_session(engine) as s:
        places = {p.id: p.name for p in s.exec(select(Place).where(Place.status == PlaceStatus.published,
                                                                  Place.listing == "welcoming")).all()}
        areas = {a.code for a in s.exec(select(Area)).all()}
    assert len(places) > 100 and len(areas) == 26  # real Rutland data: pages are really followed
    return places, areas


def _matched(url: str) -> int:
    return httpx.get(url + ("&" if "?" in url else "?") + "limit=1").json()["numberMatched"]


def _gdal(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "ERROR" not in done.stderr, done.stderr
    return done.stdout


@needs_gdal
def test_ogrinfo_lists_collections_with_the_api_counts(server, truth):
    summary = _gdal("ogrinfo", "-ro", "-al", "-so", f"OAPIF:{server}")
    assert "Layer name: places" in summary and "Layer name: areas" in summary
    counts = [int(line.split(":")[1]) for line in summary.splitlines() if line.startswith("Feature Count:")]
    assert counts == [_matched(f"{server}/collections/{c}/items") for c in ("places", "areas", "opportunities")]
    assert counts[:2] == [len(truth[0]), len(truth[1])]
    assert "Geometry: Point" in summary
    # Column types come from the collection's JSON Schema (describedBy link), not guessed from the first page,
    # where wifi and verified_at are null on every feature.
    places = summary[summary.index("Layer name: places"):summary.index("Layer name: areas")]
    for column in ("free_to_use: Integer(Boolean)", "wifi: Integer(Boolean)", "verified_at: DateTime",
                   "updated_at: DateTime", "name: String"):
        assert column in places
    assert "deprivation_decile: Integer" in summary[summary.index("Layer name: areas"):]


@needs_gdal
def test_ogr2ogr_reads_every_feature_following_next_links(server, truth, tmp_path):
    places, areas = truth
    out = tmp_path / "places.geojson"
    # GDAL's default page size here is 10, so this follows ~20 next links.
    _gdal("ogr2ogr", "-f", "GeoJSON", str(out), f"OAPIF:{server}", "places")
    features = json.loads(out.read_text())["features"]
    assert len(features) == _matched(f"{server}/collections/places/items") == len(places)
    assert {f["properties"]["name"] for f in features} == set(places.values())
    assert {f["properties"]["source_id"] for f in features} and all(f["geometry"]["type"] == "Point" for f in features)
    out = tmp_path / "areas.geojson"
    _gdal("ogr2ogr", "-f", "GeoJSON", str(out), f"OAPIF:{server}", "areas")
    assert {f["properties"]["code"] for f in json.loads(out.read_text())["features"]} == areas


@needs_gdal
def test_ogr2ogr_spatial_and_attribute_filters(server, truth):
    # -spat is sent to the server as bbox; compare with the API's own numberMatched.
    spat = ("-0.75", "52.62", "-0.70", "52.69")
    summary = _gdal("ogrinfo", "-ro", "-so", "-spat", *spat, f"OAPIF:{server}", "places")
    count = int(next(line for line in summary.splitlines() if line.startswith("Feature Count:")).split(":")[1])
    assert count == _matched(f"{server}/collections/places/items?bbox={','.join(spat)}") > 0
    assert count < len(truth[0])
    # -where is evaluated by GDAL (server-side where it can); either way the answer must match the API's filter.
    summary = _gdal("ogrinfo", "-ro", "-so", "-where", "category = 'library'", f"OAPIF:{server}", "places")
    count = int(next(line for line in summary.splitlines() if line.startswith("Feature Count:")).split(":")[1])
    assert count == _matched(f"{server}/collections/places/items?category=library") > 0


PYOGRIO_READ = """
import json, sys, pyogrio
out = {}
for layer in ("places", "areas"):
    frame = pyogrio.read_dataframe(sys.argv[1], layer=layer)
    out[layer] = {"rows": len(frame), "crs": frame.crs.to_string(), "names": sorted(frame["name"])}
print(json.dumps(out))
"""


def test_pyogrio_reads_every_feature(server, truth):
    pytest.importorskip("pyogrio")
    places, areas = truth
    # In a child process: pyogrio holds the GIL during GDAL's HTTP calls, which would starve this
    # process's server thread. pyogrio's newer GDAL reads the OpenAPI document and sends limit=1000, crs=CRS84.
    done = subprocess.run([sys.executable, "-c", PYOGRIO_READ, f"OAPIF:{server}"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    read = json.loads(done.stdout)
    assert read["places"]["rows"] == len(places) and read["places"]["names"] == sorted(places.values())
    assert read["areas"]["rows"] == len(areas) and read["places"]["crs"] == "OGC:CRS84"


def test_owslib_lists_collections_and_reads_items(server, truth):
    features_mod = pytest.importorskip("owslib.ogcapi.features")
    places, areas = truth
    api = features_mod.Features(server)
    assert set(api.conformance()["conformsTo"]) >= {
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson"}
    assert [c["id"] for c in api.collections()["collections"]] == ["places", "areas", "opportunities"]
    assert api.collection("places")["extent"]["spatial"]["crs"].endswith("CRS84")

    # OWSLib fetches one page per call; page with offset as the next links do.
    seen, offset = [], 0
    while True:
        page = api.collection_items("places", limit=50, offset=offset)
        seen += [f["id"] for f in page["features"]]
        if not any(link["rel"] == "next" for link in page["links"]):
            break
        offset += 50
    assert page["numberMatched"] == len(places) and sorted(seen) == sorted(places)

    libraries = api.collection_items("places", category="library", limit=1000)
    assert libraries["numberReturned"] == libraries["numberMatched"] > 0
    assert all(f["properties"]["category"] == "library" for f in libraries["features"])
    first = min(places)
    assert api.collection_item("places", str(first))["properties"]["name"] == places[first]
    deprived = api.collection_items("areas", deprivation_decile=1, limit=1000)
    assert all(f["properties"]["deprivation_decile"] == 1 for f in deprived["features"])
    assert len(api.collection_items("areas", limit=1000)["features"]) == len(areas)
    with pytest.raises(RuntimeError, match="InvalidParameterValue"):
        api.collection_items("places", bbox=[1, 2, 3])
