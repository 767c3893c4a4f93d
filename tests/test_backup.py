"""Backups and restores: a copy taken while writing, restored over later changes, refused bad files, CLI."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from kindmap.cli import app as cli_app
from kindmap.config import get_settings
from kindmap.db import create_schema, make_engine, write_session
from kindmap.errors import DataError, InvalidQuery
from kindmap.models.places import Place
from kindmap.services.backup import backup, integrity, restore
from tests.conftest import db_fingerprint


def _add_place(engine, name: str) -> None:
    with write_session(engine) as session:
        session.add(Place(name=name, category="library", lon=-0.72, lat=52.67, source="test"))


@pytest.fixture
def filled(engine):
    for n in range(5):
        _add_place(engine, f"Library {n}")
    return engine


def test_backup_then_restore_brings_back_exactly_the_saved_rows(filled, tmp_path):
    before = db_fingerprint(filled)
    result = backup(filled, tmp_path / "kindmap.backup")
    assert result.bytes > 0 and result.path.exists()
    assert not list(tmp_path.glob("*.partial"))
    _add_place(filled, "Added after the backup")
    with write_session(filled) as session:
        session.exec(text("DELETE FROM place WHERE name = 'Library 0'"))
    assert db_fingerprint(filled) != before
    restore(filled, tmp_path / "kindmap.backup")
    assert db_fingerprint(filled) == before
    assert integrity(filled) == "ok"


def test_backup_refuses_to_overwrite_without_asking(filled, tmp_path):
    target = tmp_path / "b"
    target.write_text("keep me")
    with pytest.raises(InvalidQuery, match="already exists"):
        backup(filled, target)
    assert target.read_text() == "keep me"
    backup(filled, target, overwrite=True)
    assert target.read_text(errors="ignore") != "keep me"


@pytest.mark.sqlite_only
def test_sqlite_backup_is_a_standalone_checked_file(filled, tmp_path):
    backup(filled, tmp_path / "copy.sqlite3")
    assert not (tmp_path / "copy.sqlite3-wal").exists()
    with sqlite3.connect(tmp_path / "copy.sqlite3") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("SELECT count(*) FROM place").fetchone()[0] == 5


@pytest.mark.sqlite_only
def test_restore_refuses_files_that_are_not_kindmap_databases(filled, tmp_path):
    before = db_fingerprint(filled)
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(DataError, match="not a readable SQLite database"):
        restore(filled, junk)
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (x)")
    with pytest.raises(DataError, match="not a kindmap database"):
        restore(filled, other)
    assert db_fingerprint(filled) == before


def test_restore_of_a_missing_file_is_refused(filled, tmp_path):
    with pytest.raises(InvalidQuery, match="is not a file"):
        restore(filled, tmp_path / "nope")


def test_cli_backup_and_restore(filled, settings, tmp_path, monkeypatch):
    monkeypatch.setenv("KINDMAP_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    try:
        before = db_fingerprint(filled)
        run = CliRunner().invoke(cli_app, ["db", "backup", str(tmp_path / "cli.backup")])
        assert run.exit_code == 0, run.output
        _add_place(filled, "Later")
        refused = CliRunner().invoke(cli_app, ["db", "restore", str(tmp_path / "cli.backup")])
        assert refused.exit_code == 2 and "--yes" in refused.output
        run = CliRunner().invoke(cli_app, ["db", "restore", str(tmp_path / "cli.backup"), "--yes"])
        assert run.exit_code == 0, run.output
        fresh = make_engine(settings.database_url)
        create_schema(fresh)
        assert db_fingerprint(fresh) == before
        fresh.dispose()
        bad = CliRunner().invoke(cli_app, ["db", "backup", str(tmp_path / "no-such-folder" / "x")])
        assert bad.exit_code == 2 and "does not exist" in bad.output
        check = CliRunner().invoke(cli_app, ["db", "check"])
        assert check.exit_code == 0 and "ok" in check.output
    finally:
        get_settings.cache_clear()


