"""``kindmap export oruk``: a JSON list of full ORUK services (places, opportunities, support), valid, atomic."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from kindmap.cli import app as cli_app
from kindmap.config import get_settings
from kindmap.db import read_session
from kindmap.services.standards.oruk import activities as oruk_activities
from tests.test_oruk import _valid, validators  # noqa: F401
from tests.test_oruk_activities import world  # noqa: F401


@pytest.fixture
def cli_env(world, settings, monkeypatch):  # noqa: F811
    monkeypatch.setenv("KINDMAP_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    yield world
    get_settings.cache_clear()


def test_export_oruk_writes_every_service_valid(cli_env, tmp_path, validators):  # noqa: F811
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "services.json"
    out.write_text("old")
    result = CliRunner().invoke(cli_app, ["export", "oruk", "--out", str(out)])
    assert result.exit_code == 0, result.output
    docs = json.loads(out.read_text(encoding="utf-8"))
    assert "wrote 8 Open Referral UK service(s)" in result.output and len(docs) == 8
    for doc in docs:
        _valid(validators["service"], doc)
    with read_session(cli_env) as s:
        assert docs[1:] == oruk_activities.all_services(s)
    assert docs[0]["name"] == "Village hall" and "SECRET" not in out.read_text()
    assert [p.name for p in folder.iterdir()] == ["services.json"]  # no temporary file left behind


@pytest.mark.parametrize("where, says", [("missing/dir/out.json", "does not exist"), (".", "is a folder")])
def test_export_oruk_bad_path_exits_2(cli_env, tmp_path, where, says):
    result = CliRunner().invoke(cli_app, ["export", "oruk", "--out", str(tmp_path / where)])
    assert result.exit_code == 2 and says in result.output
