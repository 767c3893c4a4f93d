"""The four surprises of issue 16, fixed: ``import osm`` for an unknown region says how to set one up;
``network`` works for any region in the database; ``import osm`` builds the walking network in the
same step; a region added without an outline takes the extract's extent, so walking searches work."""

from __future__ import annotations

import json

import pytest
from shapely.geometry import shape
from sqlmodel import select
from typer.testing import CliRunner

from kindmap.cli import app as cli_app
from kindmap.config import get_settings
from kindmap.db import read_session
from kindmap.models import Region
from kindmap.services.catalogue.search import SearchQuery, search_places
from kindmap.services.walking import network_path


@pytest.fixture
def cli(settings, engine, data_dir, monkeypatch):
    monkeypatch.setenv("KINDMAP_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("KINDMAP_DATA_DIR", str(data_dir))
    monkeypatch.setenv("KINDMAP_STATE_DIR", str(settings.state_dir))
    get_settings.cache_clear()
    yield lambda *args: CliRunner().invoke(cli_app, [str(a) for a in args])
    get_settings.cache_clear()


def _said(result) -> str:
    return " ".join(result.output.split())


def test_a_region_added_without_an_outline_gets_places_network_and_extent_in_one_step(cli, settings, engine, data_dir):
    pbf = data_dir / "rutland" / "rutland-2022-11.osm.pbf"
    unknown = cli("import", "osm", pbf, "--region", "oakhamish")
    assert unknown.exit_code == 2 and "kindmap region setup" in _said(unknown)

    assert cli("region", "add", "oakhamish", "--name", "Oakhamish").exit_code == 0
    no_source = cli("network", "--region", "oakhamish")
    assert no_source.exit_code == 2 and "give the extract: kindmap network --region oakhamish FILE" in _said(no_source)
    assert cli("network", "--region", "atlantis").exit_code == 2

    imported = cli("import", "osm", pbf, "--region", "oakhamish")
    assert imported.exit_code == 0, imported.output
    assert "walking network:" in imported.output and network_path(settings, "oakhamish").is_file()
    with read_session(engine) as s:
        region = s.exec(select(Region).where(Region.slug == "oakhamish")).one()
        # The extract's header box (Geofabrik's) is now the region's extent and outline.
        assert shape(json.loads(region.boundary_geojson)).bounds == pytest.approx((-0.822934, 52.52355, -0.427654, 52.76109))
        result = search_places(s, SearchQuery(lon=-0.7258, lat=52.6694, max_walk_minutes=10), settings=settings)
    assert result.travel == "network" and result.total > 0

    network_path(settings, "oakhamish").unlink()
    rebuilt = cli("network", "--region", "oakhamish")  # from the extract import osm remembered
    assert rebuilt.exit_code == 0 and network_path(settings, "oakhamish").is_file()
