"""Gap analysis: a synthetic region worked by hand, bad input, outputs, API roles, real Rutland and North Ayrshire."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from sqlmodel import select
from typer.testing import CliRunner

from kindmap.config import get_settings
from kindmap.db import write_session
from kindmap.errors import DataError, InvalidQuery, NotFound
from kindmap.geo.projection import LocalProjection
from kindmap.models import Area, Place, Postcode, Region
from kindmap.services.gaps.analysis import GapQuery, analyse_gaps
from kindmap.services.gaps.partition import analyse_partitioned
from kindmap.services.gaps.report import write_outputs
from kindmap.services.gaps.scenarios import Candidate, best_sites, what_if

PAYLOAD = "<script>alert(1)</script>${alert(1)}\\`"
PROJ = LocalProjection.centred_on(0.0, 52.0)


def _pt(x_m: float) -> tuple[float, float]:
    lon, lat = PROJ.inverse(np.array([x_m]), np.array([0.0]))
    return float(lon[0]), float(lat[0])


def _square(x_m: float) -> str:
    (a, b), (c, d) = _pt(x_m - 100), _pt(x_m + 100)
    return json.dumps({"type": "Polygon", "coordinates": [[[a, -0.001 + 52], [c, 52 - 0.001], [c, 52.001], [a, 52.001], [a, 52 - 0.001]]]})


def seed(engine, *, households=(100, 30), places=True) -> dict:
    """Region 'testville' with no path network (estimated walks, 1.3 × straight line at 80 m/min → 15 min = 923 m).

    Area A (decile 1, 100 households) has postcodes at 200 m and 2000 m east of a library at 0 m;
    area B (decile 9, 30 households) at 500, 3000 and 5000 m. Within 15 min: A 50, B 10.
    """
    with write_session(engine) as s:
        r = Region(slug="testville", name="Testville")
        s.add(r)
        s.flush()
        for code, name, hh, decile, x in (("T01", PAYLOAD, households[0], 1, 1000), ("T02", "Bside", households[1], 9, 3500)):
            lon, lat = _pt(x)
            s.add(Area(code=code, name=name, kind="test", households=hh, deprivation_decile=decile, deprivation_rank=decile * 10,
                       centroid_lon=lon, centroid_lat=lat, geometry_geojson=_square(x), region_id=r.id))
        for i, (code, x) in enumerate((("T01", 200), ("T01", 2000), ("T02", 500), ("T02", 3000), ("T02", 5000))):
            lon, lat = _pt(x)
            s.add(Postcode(postcode=f"TV1 {i}AA", lon=lon, lat=lat, area_code=code, region_id=r.id))
        ids = {}
        if places:
            for name, cat, x, hours in ((PAYLOAD, "library", 0, "Mo-Fr 10:00-16:00"), ("Hall", "place_of_worship", 3000, None),
                                        ("Evening club", "community_centre", 5000, "Mo-Fr 18:00-21:00")):
                lon, lat = _pt(x)
                p = Place(name=name, category=cat, lon=lon, lat=lat, opening_hours=hours, region_id=r.id)
                s.add(p)
                s.flush()
                ids[name] = p.id
    return ids


def test_synthetic_coverage_by_hand(settings, engine):
    seed(engine)
    r = analyse_gaps(engine, settings, GapQuery(region="testville", minutes=15, slot="weekday_daytime"))
    assert r.method == "estimated" and any("estimated" in n for n in r.notes)
    a, b = r.areas
    assert (a["households"], a["share_covered"], a["uncovered_households"]) == (100, 0.5, 50.0)
    assert b["share_covered"] == pytest.approx(1 / 3) and b["uncovered_households"] == pytest.approx(20.0)
    assert a["median_walk_minutes"] == pytest.approx(200 * 1.3 / 80, rel=1e-3)  # lower median of {200 m, 2000 m}
    assert b["median_walk_minutes"] == pytest.approx(3000 * 1.3 / 80, rel=1e-3)
    # priority: A 50 × 1.0 = 50, B 20 × 0.2 = 4 → 100 and 8
    assert a["priority"] == pytest.approx(100.0) and b["priority"] == pytest.approx(8.0)
    # E2SFCA: the library's 30 h/week (Mo–Fr 6 h) shared by the 50 households at 200 m and 10 at 500 m.
    assert a["e2sfca_score"] > b["e2sfca_score"] > 0
    d1 = next(d for d in r.by_decile if d["decile"] == 1)
    assert d1["covered_households"] == 50 and r.totals["most_deprived_share_covered"] == 0.5
    assert sum(d["households"] for d in r.by_decile) == r.totals["households"] == 130
    assert sum(d["covered_households"] for d in r.by_decile) == pytest.approx(r.totals["covered_households"]) == 60
    # Evening slot: only the evening club at 5000 m is open → B's 5000 m postcode only.
    ev = analyse_gaps(engine, settings, GapQuery(region="testville", minutes=15, slot="weekday_evening"))
    assert [x["uncovered_households"] for x in ev.areas] == pytest.approx([100.0, 20.0])


def test_what_if_adds_exactly_the_households_it_should(settings, engine):
    ids = seed(engine)
    q = GapQuery(region="testville", minutes=15, slot="weekday_daytime")
    far_b = _pt(3000)
    w = what_if(engine, settings, q, add=[Candidate(*far_b, "Mo-Fr 09:00-12:00")])
    assert w["change_covered_households"] == pytest.approx(10.0)  # B's 3000 m postcode; A's 2000 m is 1 km away
    assert w["change_most_deprived_covered"] == 0 and w["change_by_decile"] == {1: 0.0, 9: pytest.approx(10.0)}
    w2 = what_if(engine, settings, q, add=[Candidate(*_pt(2000), "Mo-Fr 09:00-12:00")])
    assert w2["change_most_deprived_covered"] == pytest.approx(50.0)
    # a candidate only open in the evening changes nothing in the daytime slot
    assert what_if(engine, settings, q, add=[Candidate(*far_b, "Mo-Fr 19:00-20:00")])["change_covered_households"] == 0
    # changing the evening club's hours to daytime brings B's 5000 m postcode into reach
    w3 = what_if(engine, settings, q, hours={ids["Evening club"]: "Mo-Fr 09:00-17:00"})
    assert w3["change_covered_households"] == pytest.approx(10.0) and w3["places_after"] == 2
    with pytest.raises(InvalidQuery, match="not among"):
        what_if(engine, settings, q, hours={ids["Hall"]: "Mo 10:00-12:00"})
    with pytest.raises(InvalidQuery):
        what_if(engine, settings, q, add=[Candidate(0.1, 52.0, "not hours at all")])
    sites = best_sites(engine, settings, q, k=3)
    # the hall (3000 m) and the evening club (5000 m) each add one of B's 10-household postcodes
    assert [s["households_added"] for s in sites["sites"]] == pytest.approx([10.0, 10.0])
    grid = best_sites(engine, settings, q, k=1, source="grid", grid_m=500)
    # grid x = 200, 700, …: the site at 2700 m reaches A's 2000 m (50) and B's 3000 m (10) postcodes
    assert grid["sites"][0]["households_added"] == pytest.approx(60.0)
    assert grid["sites"][0]["most_deprived_households_added"] == pytest.approx(50.0)


def test_bad_input_clear_messages(settings, engine):
    with pytest.raises(NotFound, match="unknown region"):
        analyse_gaps(engine, settings, GapQuery(region="narnia"))
    seed(engine, places=False)
    for minutes in (0, 61, float("nan")):
        with pytest.raises(InvalidQuery, match="minutes must be between"):
            analyse_gaps(engine, settings, GapQuery(region="testville", minutes=minutes))
    with pytest.raises(InvalidQuery, match="time slot"):
        analyse_gaps(engine, settings, GapQuery(region="testville", slot="brunch"))
    with pytest.raises(DataError, match="no places matching"):
        analyse_gaps(engine, settings, GapQuery(region="testville"))
    with write_session(engine) as s:
        s.exec(select(Area)).first().households = None
    with pytest.raises(DataError, match="have no households"):
        analyse_gaps(engine, settings, GapQuery(region="testville"))


def test_outputs_escaped_complete_and_atomic(settings, engine, tmp_path):
    seed(engine)
    r = analyse_gaps(engine, settings, GapQuery(region="testville", minutes=15))
    out = tmp_path / "gaps"
    paths = write_outputs(r, out, settings=settings)
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folders left
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "<script>alert(1)" not in report and "${alert" not in report and "\\`" not in report
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report
    assert "<script" not in report and "data:image/png;base64," in report and "Estimated" in report
    # map.html carries every name as JSON data (read with textContent by its fixed script), so the
    # check is that the payload arrives exactly and never as markup (see tests/test_hostile_text.py).
    from tests.test_hostile_text import map_data

    mapped = (out / "map.html").read_text(encoding="utf-8")
    assert "<script>alert(1)" not in mapped and "cdn.jsdelivr" not in mapped and "code.jquery" not in mapped
    data = map_data(mapped)
    assert PAYLOAD in {p["name"] for p in data["places"]} and PAYLOAD in {f["properties"]["name"] for f in data["areas"]["features"]}
    rows = list(csv.DictReader(open(out / "areas.csv", encoding="utf-8")))
    assert [r_["code"] for r_ in rows] == ["T01", "T02"] and rows[0]["name"] == PAYLOAD and rows[0]["method"] == "estimated"
    import pyogrio

    frame = pyogrio.read_dataframe(out / "areas.gpkg")
    assert len(frame) == 2 and frame.crs.to_epsg() == 4326 and list(frame["uncovered_households"]) == [50.0, 10.0]  # slot any: the evening club counts too


def test_cli_exit_2_and_no_partial_outputs(settings, engine, tmp_path, monkeypatch):
    from kindmap.cli import app

    monkeypatch.setenv("KINDMAP_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("KINDMAP_STATE_DIR", str(settings.state_dir))
    seed(engine, places=False)
    monkeypatch.setattr("kindmap.services.gaps.partition.CONNECT_TIMEOUT_S", 1)
    out = tmp_path / "out"
    runner = CliRunner()
    get_settings.cache_clear()  # the CLI reads settings once per process; this test has its own database
    try:
        for args, message in ((["--region", "narnia"], "unknown region"), (["--region", "testville", "--minutes", "90"], "minutes"),
                              (["--region", "testville"], "no places matching"),
                              (["--region", "testville", "--tiles", "2", "--scheduler", "tcp://"], "unknown scheduler"),
                              (["--region", "testville", "--tiles", "2", "--scheduler", "tcp://127.0.0.1:9"],
                               "could not reach a Dask scheduler")):
            res = runner.invoke(app, ["gaps", *args, "--out", str(out)])
            assert res.exit_code == 2 and message in res.output, res.output
            assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]
    finally:
        get_settings.cache_clear()


def test_api_roles_and_body(client, engine):
    from tests.test_review import _user

    seed(engine)
    params = {"region": "testville", "minutes": 15}
    assert client.get("/api/gaps", params=params).status_code == 401
    carer, _ = _user(engine, "carer")
    assert client.get("/api/gaps", params=params, headers=carer).status_code == 403
    analyst, _ = _user(engine, "council_analyst")
    body = client.get("/api/gaps", params=params, headers=analyst).json()
    assert body["method"] == "estimated" and len(body["areas"]) == 2 and body["totals"]["households"] == 130
    assert "geometry_geojson" not in body["areas"][0]
    bad = client.get("/api/gaps", params={"region": "testville", "minutes": 0}, headers=analyst)
    assert bad.status_code == 422 and "minutes" in bad.json()["detail"]
    assert client.get("/api/gaps", params={"region": "narnia"}, headers=analyst).status_code == 404
    w = client.post("/api/gaps/what-if", headers=analyst, json={"region": "testville", "add": [
        {"lon": _pt(2000)[0], "lat": _pt(2000)[1], "opening_hours": "Mo 10:00-12:00"}]}).json()
    assert w["change_most_deprived_covered"] == pytest.approx(50.0)
    sites = client.get("/api/gaps/best-sites", params={"region": "testville", "k": 2}, headers=analyst).json()
    # slot any: the evening club already counts, so only the hall is a candidate (+10), then nothing is left to add
    assert [(x["name"], x["households_added"]) for x in sites["sites"]] == [("Hall", pytest.approx(10.0))]


def test_rutland_partitioned_equals_whole(rutland):
    settings, engine, _ = rutland
    q = GapQuery(region="rutland", minutes=15)
    whole = analyse_gaps(engine, settings, q)
    assert whole.method == "network" and len(whole.areas) == 26 and len(whole.places) > 20
    assert sum(d["households"] for d in whole.by_decile) == whole.totals["households"]
    assert sum(d["covered_households"] for d in whole.by_decile) == pytest.approx(whole.totals["covered_households"])
    for tiles in ((2, 1), (2, 2)):
        part = analyse_partitioned(engine, settings, q, tiles=tiles)
        fin = np.isfinite(whole.point_minutes)
        assert np.array_equal(fin, np.isfinite(part.point_minutes))
        assert np.allclose(whole.point_minutes[fin], part.point_minutes[fin], rtol=0, atol=1e-9)
        for a, b in zip(whole.areas, part.areas):
            assert a.keys() == b.keys()
            for k in a:
                assert a[k] == pytest.approx(b[k], abs=1e-9) if isinstance(a[k], float) else a[k] == b[k], k


def test_partitioned_estimated_equals_whole(settings, engine):
    """Without a path network, tiles estimate walks in the CRS the whole-region run uses (centred
    on every household), so the result is the same; areas split between tiles or not."""
    seed(engine)
    for slot in ("any", "weekday_daytime"):
        q = GapQuery(region="testville", minutes=15, slot=slot)
        whole = analyse_gaps(engine, settings, q)
        for tiles in ((2, 1), (1, 2), (3, 3)):
            part = analyse_partitioned(engine, settings, q, tiles=tiles, scheduler="sync")
            assert part.method == "estimated" and part.totals == pytest.approx(whole.totals, abs=1e-12)
            assert np.array_equal(part.point_minutes, whole.point_minutes) and part.unknown_hours == whole.unknown_hours
            for a, b in zip(whole.areas, part.areas, strict=True):
                for k in a:
                    assert a[k] == pytest.approx(b[k], abs=1e-12) if isinstance(a[k], float) else a[k] == b[k], k


@pytest.fixture(scope="module")
def north_ayrshire(tmp_path_factory, data_dir):
    from kindmap.config import Settings
    from kindmap.db import create_schema, make_engine
    from kindmap.ingest.csv_places import preset
    from kindmap.services.imports.demo import import_region
    from kindmap.services.imports.places import import_csv

    folder = tmp_path_factory.mktemp("na")
    settings = Settings(database_url=f"sqlite:///{folder / 'na.sqlite3'}", data_dir=data_dir, state_dir=folder)
    engine = make_engine(settings.database_url, settings=settings)
    create_schema(engine)
    import_region(engine, settings=settings, region="north-ayrshire")
    res = import_csv(engine, region="north-ayrshire", path=data_dir / "north-ayrshire" / "libraries_north_ayrshire.csv",
                     mapping=preset("libraries-schema"), data_dir=data_dir, skip_invalid=True)
    assert res.report.added >= 15
    return settings, engine


def test_north_ayrshire_estimated_186_data_zones(north_ayrshire, tmp_path):
    settings, engine = north_ayrshire
    r = analyse_gaps(engine, settings, GapQuery(region="north-ayrshire", minutes=15))
    assert r.method == "estimated" and len(r.areas) == 186 and len(r.places) >= 15
    assert {d["decile"] for d in r.by_decile} == set(range(1, 11))
    assert sum(d["households"] for d in r.by_decile) == r.totals["households"] == sum(a["households"] for a in r.areas)
    write_outputs(r, tmp_path / "na", settings=settings)
    rows = list(csv.DictReader(open(tmp_path / "na" / "areas.csv", encoding="utf-8")))
    assert len(rows) == 186 and {x["method"] for x in rows} == {"estimated"}
    assert "estimated" in (tmp_path / "na" / "report.html").read_text(encoding="utf-8").lower()
