"""End to end on real Newport data: one command sets up a council from the national tables, a
walking search in the covered core answers by network, and the 33 areas the 2023 extract does
not reach are "no map data", not unserved. Bad input exits 2 with nothing written."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select
from typer.testing import CliRunner

from kindmap.api.app import create_app
from kindmap.cli import app as cli_app
from kindmap.config import Settings, get_settings
from kindmap.db import create_schema, make_engine, read_session
from kindmap.models import Area, Place, Postcode, Region
from kindmap.services.imports.council import setup_council
from tests.conftest import db_fingerprint, scratch_database

NO_DATA_WARDS = {"Beechwood", "Bettws", "Bishton and Langstone", "Caerleon", "Malpas", "Ringland", "Shaftesbury",
                 "St Julians"}


@pytest.fixture(scope="module")
def newport(tmp_path_factory, data_dir, _pg):
    folder = tmp_path_factory.mktemp("newport")
    with scratch_database(_pg, folder=folder, label="newport") as url:
        settings = Settings(database_url=url, data_dir=data_dir, state_dir=folder)
        engine = make_engine(settings.database_url, settings=settings)
        create_schema(engine)
        result = setup_council(engine, settings=settings, council="Newport",
                               osm=data_dir / "newport" / "newport-core_2023-06-12.osm.pbf")
        yield settings, engine, result
        engine.dispose()


def test_newport_from_the_national_tables(newport):
    _, engine, result = newport
    assert (result.slug, result.council.code, result.council.nation) == ("newport", "W06000022", "Wales")
    assert (result.areas, result.population, result.households) == (100, 161506, 66060)
    assert result.index_names == ["WIMD 2019"]
    with read_session(engine) as s:
        region = s.exec(select(Region).where(Region.slug == "newport")).one()
        areas = s.exec(select(Area).where(Area.region_id == region.id)).all()
        assert region.boundary_geojson and region.map_extent_geojson and region.code == "W06000022"
        assert len(areas) == 100 and all(a.kind == "LSOA 2021" and a.ward_name for a in areas)
        assert sum(a.deprivation_decile == 1 for a in areas) == 23
        assert all(a.deprivation_method.startswith("WIMD 2019 LSOA11") for a in areas)
        postcodes = s.exec(select(Postcode).where(Postcode.region_id == region.id)).all()
        # Every Code-Point Open unit of the council, each in one of its areas (33 by nearest, as the
        # README's point-in-polygon found), and every area gets postcodes.
        assert len(postcodes) == 3661 and {p.area_code for p in postcodes} == {a.code for a in areas}
        assert result.postcodes.nearest == 33 and result.postcodes.unassigned == 0
        assert s.get(Postcode, "NP20 1PA").area_code is not None
        places = s.exec(select(Place).where(Place.region_id == region.id)).all()
        assert sum(p.category == "library" for p in places) >= 1 and len(places) > 100


def test_coverage_is_honest_about_the_urban_core_extract(newport):
    _, engine, result = newport
    cov = result.coverage
    # The README's counts for the extract's box: 45 LSOAs wholly inside, 22 partly, 33 outside.
    assert (cov.wholly, cov.partly, cov.outside) == (45, 22, 33)
    assert set(cov.no_data_wards()) == NO_DATA_WARDS
    assert 0.5 < cov.household_share < 0.7
    with read_session(engine) as s:
        shares = [a.map_share for a in s.exec(select(Area)).all()]
    assert sum(x >= 0.99 for x in shares) == 45 and sum(x <= 0.01 for x in shares) == 33
    assert result.osm.network_edges > 10000 and result.osm.extent.how == "standalone nodes"


def test_walking_search_in_the_covered_core_is_by_network(newport):
    settings, engine, _ = newport
    with TestClient(create_app(settings, engine=engine)) as api:
        body = api.get("/api/places", params={"postcode": "NP20 1PA", "max_walk_minutes": 10}).json()
    assert body["search"]["travel"] == "network"
    names = [f["properties"]["name"] for f in body["features"]]
    assert "Newport Central Library" in names


def test_walking_search_outside_the_extract_says_there_is_no_map_data(newport):
    """A postcode in an area the 2023 extract does not reach (Bettws, Malpas, Caerleon…): the walk is refused
    as 'no map data here', not answered from the few ways that cross into it nor 'outside every region'."""
    settings, engine, _ = newport
    with read_session(engine) as s:
        outside = s.exec(select(Postcode).join(Area, Area.code == Postcode.area_code)
                         .where(Area.map_share <= 0.01).order_by(Postcode.postcode)).all()
    assert len(outside) > 500
    with TestClient(create_app(settings, engine=engine)) as api:
        for p in outside[::100]:
            r = api.get("/api/places", params={"postcode": p.postcode, "max_walk_minutes": 15})
            assert r.status_code == 422, (p.postcode, r.json())
            assert r.json()["detail"].startswith("No map data here: this point is in Newport"), r.json()
            assert api.get("/api/places", params={"postcode": p.postcode, "radius_m": 3000}).status_code == 200
        r = api.get("/api/isochrone", params={"postcode": outside[0].postcode, "minutes": 10})
        assert r.status_code == 422 and "No map data here" in r.json()["detail"]
        # Inside the covered core the same searches answer by network.
        assert api.get("/api/isochrone", params={"postcode": "NP20 1PA", "minutes": 10}).json()["properties"]["travel"] == "network"


def test_setting_up_again_changes_nothing(newport):
    settings, engine, _ = newport
    again = setup_council(engine, settings=settings, council="W06000022",
                          osm=settings.data_dir / "newport" / "newport-core_2023-06-12.osm.pbf")
    areas, postcodes, places = again.reports
    assert (areas.added, areas.updated, postcodes.added, postcodes.updated, places.added) == (0, 0, 0, 0, 0)


def test_gap_analysis_leaves_no_data_areas_out_of_every_share(newport):
    from kindmap.services.gaps.analysis import GapQuery, analyse_gaps

    settings, engine, _ = newport
    result = analyse_gaps(engine, settings, GapQuery(region="newport", minutes=15))
    no_data = [a for a in result.areas if a["no_data"]]
    judged_households = sum(a["households"] for a in result.areas if not a["no_data"])
    # Areas less than half inside the extract: not judged, no priority, not in the region's or deciles' shares.
    assert 33 <= len(no_data) < 45 and result.totals["no_data_areas"] == len(no_data)
    assert all(a["share_covered"] is None and a["priority"] == 0 and a["uncovered_households"] == 0 for a in no_data)
    assert result.totals["households"] == judged_households < 66060
    assert sum(d["households"] for d in result.by_decile) == judged_households
    assert result.totals["households_with_map_data_share"] == pytest.approx(judged_households / 66060)
    assert result.notes[0].startswith("map data covers ") and "not counted as no access" in result.notes[0]


@pytest.fixture
def cli_db(newport, monkeypatch):
    settings, engine, _ = newport
    monkeypatch.setenv("KINDMAP_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("KINDMAP_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("KINDMAP_STATE_DIR", str(settings.state_dir))
    get_settings.cache_clear()
    yield engine
    get_settings.cache_clear()


@pytest.mark.parametrize("args, says", [
    (["Newcastle"], "Newcastle upon Tyne (E08000021); Newcastle-under-Lyme (E07000195)"),
    (["E01013787"], "is not a council"),
    (["Atlantis"], "no council of England or Wales is called 'Atlantis'"),
    (["Rutland", "--slug", "newport"], "region 'newport' already exists for Newport"),
    (["Rutland", "--postcodes", "{data}/uk/codepoint-open-2025.4/data/np.csv"], "no postcodes of council E06000017"),
    (["Rutland", "--osm", "{data}/newport/newport-core_2023-06-12.osm.pbf"], "does not touch Rutland"),
])
def test_bad_input_exits_2_and_writes_nothing(cli_db, data_dir, args, says):
    before = db_fingerprint(cli_db)
    result = CliRunner().invoke(cli_app, ["region", "setup", *[a.format(data=data_dir) for a in args]])
    assert result.exit_code == 2, result.output
    assert says in " ".join(result.output.split())
    assert db_fingerprint(cli_db) == before


def test_newport_alone_says_only_one_council_is_loaded_and_names_its_neighbours(newport):
    from kindmap.services.gaps.compare import compare_councils

    settings, engine, _ = newport
    c = compare_councils(engine, settings, focus="newport")
    assert [r.region for r in c.rows] == ["newport"] and c.loaded == 1
    assert c.sentences[0].startswith("Only one council is loaded (Newport)")
    names = {name for _, name in c.neighbours}
    assert {"Cardiff", "Monmouthshire", "Torfaen", "Caerphilly"} <= names
    assert "kindmap region setup" in c.sentences[0] and "Cardiff (W06000015)" in c.sentences[0]


def test_rutland_and_newport_side_by_side(newport):
    """Last in this module: it adds Rutland (from the national tables) to Newport's database."""
    from kindmap.services.gaps.compare import compare_councils

    settings, engine, _ = newport
    setup_council(engine, settings=settings, council="Rutland", osm=settings.data_dir / "rutland" / "rutland-2022-11.osm.pbf")
    c = compare_councils(engine, settings, focus="newport")
    newport_row, rutland_row = c.rows
    assert (newport_row.region, rutland_row.region) == ("newport", "rutland") and c.loaded == 2
    assert (newport_row.deprivation_index, rutland_row.deprivation_index) == ("WIMD 2019", "IMD 2025")
    assert (newport_row.method, rutland_row.method) == ("network", "network")
    # Newport's urban-core extract: the areas outside it are out of every share; Rutland is covered whole.
    assert 0.5 < newport_row.map_data_share < 0.75 and rutland_row.map_data_share == 1.0
    assert newport_row.households == 66060 and newport_row.households_with_map_data < 66060
    for row in c.rows:
        within = [row.shares[t] for t in (5, 10, 15, 20)]
        assert within == sorted(within) and 0 < within[0] and within[-1] <= 1
    assert newport_row.deprived_areas >= 18 and newport_row.deprived_shares[20] > 0
    assert any("different deprivation indices" in s and "WIMD 2019 for Newport" in s and "IMD 2025 for Rutland" in s
               for s in c.sentences)
    assert any(s.startswith("Map data covers ") and "Newport's households" in s for s in c.sentences)
    with TestClient(create_app(settings, engine=engine)) as api:
        from tests.test_review import _user

        analyst, _ = _user(engine, "council_analyst")
        body = api.get("/api/gaps/councils", params={"region": "rutland"}, headers=analyst).json()
        assert [x["name"] for x in body["councils"]] == ["Rutland", "Newport"]
        page = api.get("/api/gaps/report.html", params={"region": "newport"}, headers=analyst)
        assert page.status_code == 200 and '<section id="councils">' in page.text and "IMD 2025" in page.text
