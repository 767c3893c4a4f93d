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
