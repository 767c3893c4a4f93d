"""Schema migrations: the models match the newest migration; upgrading a populated database from
the first migration to the newest keeps every row; databases made before migrations are adopted."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlmodel import SQLModel
from typer.testing import CliRunner

from kindmap.cli import app as cli_app
from kindmap.config import get_settings
from kindmap.db import (
    create_schema,
    head_revision,
    include_name,
    make_engine,
    migration_config,
    schema_revision,
    upgrade,
)
from tests.conftest import copy_database, db_fingerprint

REGENERATE = 'models changed without a migration; run: kindmap db revision "what changed" (then review the file)'


def first_revision() -> str:
    script = ScriptDirectory.from_config(migration_config())
    return [r.revision for r in script.walk_revisions()][-1]


def test_models_match_the_newest_migration(engine):
    assert schema_revision(engine) == head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False, "include_name": include_name}), SQLModel.metadata)
    assert not diff, f"{REGENERATE}: {diff[:5]}"


def test_upgrade_from_the_first_migration_keeps_every_row(rutland, tmp_path):
    settings, engine, _ = rutland
    url = copy_database(settings.database_url, folder=tmp_path, name="migrate")
    copy = make_engine(url)
    upgrade(copy, revision=first_revision())  # no-op on a database already at head
    before = db_fingerprint(copy)
    assert int(before["place"].split(":")[0]) > 100 and int(before["postcode"].split(":")[0]) > 1000
    upgrade(copy)
    after = db_fingerprint(copy)
    assert schema_revision(copy) == head_revision()
    for table, print_ in before.items():
        assert after[table] == print_, f"{table} changed while migrating"
    copy.dispose()


def test_database_made_before_migrations_is_adopted_and_keeps_rows(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    SQLModel.metadata.create_all(engine)  # how create_schema made databases before Alembic
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO region (slug, name, created_at) VALUES ('rutland', 'Rutland', '2025-01-01')")
    before = db_fingerprint(engine)
    assert schema_revision(engine) is None
    create_schema(engine)
    assert schema_revision(engine) == head_revision()
    assert db_fingerprint(engine) == before
    assert set(inspect(engine).get_table_names()) >= set(SQLModel.metadata.tables)


def test_cli_upgrade(settings, monkeypatch):
    monkeypatch.setenv("KINDMAP_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    try:
        done = CliRunner().invoke(cli_app, ["db", "upgrade"])
        assert done.exit_code == 0 and head_revision() in done.output, done.output
        bad = CliRunner().invoke(cli_app, ["db", "upgrade", "--revision", "nope"])
        assert bad.exit_code == 2 and "nope" in bad.output
    finally:
        get_settings.cache_clear()
