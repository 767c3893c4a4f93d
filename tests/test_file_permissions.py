"""Files that hold households are owner-only whatever the umask (security issue 13, finding 7): the
state folder 0700, the SQLite database and its -wal/-shm 0600, backups 0600, the gap analysis
outputs 0700/0600. Each test runs under umask 022, which made them 0755/0644 before."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kindmap.config import Settings, get_settings
from kindmap.db import create_schema, make_engine, write_session
from kindmap.models.places import Place

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _write(engine) -> None:
    with write_session(engine) as session:
        session.add(Place(name="Library", category="library", lon=-0.72, lat=52.67, source="test"))


@pytest.mark.sqlite_only
def test_a_new_state_folder_and_its_database_are_owner_only(umask_022, tmp_path):
    settings = Settings(database_url="", state_dir=tmp_path / "kindmap" / "state")
    engine = make_engine(settings.resolved_database_url(), settings=settings)
    create_schema(engine)
    _write(engine)
    database = settings.state_dir / "demo.sqlite3"
    try:
        assert mode(tmp_path / "kindmap") == 0o700 and mode(settings.state_dir) == 0o700
        assert mode(database) == 0o600
        companions = [database.with_name(database.name + s) for s in ("-wal", "-shm")]
        assert all(p.exists() for p in companions)  # WAL mode, mid-session
        assert all(mode(p) == 0o600 for p in companions)
    finally:
        engine.dispose()


@pytest.mark.sqlite_only
def test_an_existing_state_folder_of_ours_is_tightened(umask_022, tmp_path, caplog):
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    os.chmod(state, 0o755)
    settings = Settings(database_url="", state_dir=state)
    with caplog.at_level(logging.WARNING, logger="kindmap"):
        make_engine(settings.resolved_database_url(), settings=settings).dispose()
    assert mode(state) == 0o700 and mode(state / "demo.sqlite3") == 0o600
    assert any("owner-only" in r.getMessage() for r in caplog.records)


@pytest.mark.sqlite_only
def test_folders_kindmap_did_not_make_keep_their_modes(umask_022, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # like /tmp: sticky and shared, never ours to close
    elsewhere = tmp_path / "srv"
    elsewhere.mkdir()
    os.chmod(elsewhere, 0o755)
    settings = Settings(database_url=f"sqlite:///{elsewhere / 'kindmap.sqlite3'}", state_dir=shared)
    engine = make_engine(settings.database_url, settings=settings)
    create_schema(engine)
    engine.dispose()
    assert mode(shared) == 0o1777 and mode(elsewhere) == 0o755
    assert mode(elsewhere / "kindmap.sqlite3") == 0o600  # the file kindmap made is still owner-only


def test_a_backup_is_owner_only(umask_022, settings, engine, tmp_path, monkeypatch):
    from kindmap.cli import app as cli_app

    _write(engine)
    monkeypatch.setenv("KINDMAP_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    try:
        run = CliRunner().invoke(cli_app, ["db", "backup", str(tmp_path / "kindmap.backup")])
    finally:
        get_settings.cache_clear()
    assert run.exit_code == 0, run.output
    assert mode(tmp_path / "kindmap.backup") == 0o600


def test_gap_outputs_are_owner_only(umask_022, settings, engine, tmp_path, monkeypatch):
    from kindmap.cli import app as cli_app
    from tests.test_gaps import seed

    seed(engine)
    out = tmp_path / "gaps"
    monkeypatch.setenv("KINDMAP_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("KINDMAP_STATE_DIR", str(settings.state_dir))
    get_settings.cache_clear()
    try:
        run = CliRunner().invoke(cli_app, ["gaps", "--region", "testville", "--out", str(out)])
    finally:
        get_settings.cache_clear()
    assert run.exit_code == 0, run.output
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"areas.gpkg", "areas.csv", "map.html", "report.html"}
    assert mode(out) == 0o700 and all(mode(p) == 0o600 for p in files), {p.name: oct(mode(p)) for p in files}
