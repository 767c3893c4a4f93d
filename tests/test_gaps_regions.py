"""Gap analysis names only regions that are imported: a region manifest alone is not analysable.

On an empty database the API (what-if, analysis, best sites) and the CLI say no region is
imported and give the real import command; with one imported they list it, never the
manifest-only regions.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from kindmap.config import get_settings
from kindmap.db import write_session
from kindmap.errors import NotFound
from kindmap.ingest.manifest import known_regions
from kindmap.models import Region
from kindmap.services.gaps.analysis import GapQuery, analyse_gaps
from kindmap.services.gaps.scenarios import what_if

# Manifest regions that are never imported in these tests: none may be named as a choice.
MANIFEST_ONLY = [slug for slug in known_regions() if slug != "rutland"]


@pytest.fixture
def analyst(engine):
    from tests.test_review import _user

    headers, _ = _user(engine, "council_analyst")
    return headers


def _no_manifest_choices(message: str) -> None:
    assert MANIFEST_ONLY, "the project ships manifests for more regions than rutland"
    for slug in MANIFEST_ONLY:
        assert slug not in message, message


def test_api_empty_database_says_none_imported_and_how(client, analyst):
    assert "rutland" in known_regions()
    calls = (("post", "/api/gaps/what-if", {"json": {"region": "rutland", "add": [{"lon": -0.7, "lat": 52.6}]}}),
             ("get", "/api/gaps", {"params": {"region": "rutland"}}),
             ("get", "/api/gaps/best-sites", {"params": {"region": "rutland"}}))
    for method, path, kwargs in calls:
        res = getattr(client, method)(path, headers=analyst, **kwargs)
        assert res.status_code == 404, (path, res.text)
        detail = res.json()["detail"]
        assert detail == ("unknown region 'rutland': no regions are imported yet; "
                          "import it with: kindmap import region rutland"), detail
        _no_manifest_choices(detail)
    # A slug without a manifest: the generic command and where to find the slugs, still naming no region.
    res = client.post("/api/gaps/what-if", headers=analyst, json={"region": "narnia"})
    assert res.status_code == 404
    detail = res.json()["detail"]
    assert "no regions are imported yet" in detail and "kindmap import region SLUG" in detail
    assert "kindmap region list" in detail and "rutland" not in detail
    _no_manifest_choices(detail)


def test_api_names_only_the_imported_regions(client, engine, analyst):
    with write_session(engine) as s:
        s.add(Region(slug="testville", name="Testville"))
    res = client.post("/api/gaps/what-if", headers=analyst, json={"region": "rutland"})
    assert res.status_code == 404
    detail = res.json()["detail"]
    assert detail == "unknown region 'rutland'; imported regions: testville; import it with: kindmap import region rutland"
    res = client.post("/api/gaps/what-if", headers=analyst, json={"region": "narnia"})
    assert res.status_code == 404 and res.json()["detail"] == "unknown region 'narnia'; imported regions: testville"


def test_services_raise_not_found(settings, engine):
    for run in (lambda q: analyse_gaps(engine, settings, q), lambda q: what_if(engine, settings, q)):
        with pytest.raises(NotFound, match="no regions are imported yet") as caught:
            run(GapQuery(region="rutland"))
        _no_manifest_choices(caught.value.message)


def test_cli_empty_database_exit_2_with_the_import_command(settings, engine, tmp_path, monkeypatch):
    from kindmap.cli import app

    monkeypatch.setenv("KINDMAP_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("KINDMAP_STATE_DIR", str(settings.state_dir))
    out = tmp_path / "out"
    runner = CliRunner()
    get_settings.cache_clear()  # the CLI reads settings once per process; this test has its own empty database
    try:
        res = runner.invoke(app, ["gaps", "--region", "rutland", "--out", str(out)])
    finally:
        get_settings.cache_clear()
    assert res.exit_code == 2, res.output
    assert ("unknown region 'rutland': no regions are imported yet; import it with: kindmap import region rutland"
            in res.output), res.output
    _no_manifest_choices(res.output)
    assert not out.exists()
    # The command the message suggests is a real one.
    assert runner.invoke(app, ["import", "region", "--help"]).exit_code == 0
