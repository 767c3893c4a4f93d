"""Shared fixtures: settings on a temporary database, and the real Rutland demo built once.

The suite runs on SQLite by default. With ``KINDMAP_TEST_DATABASE_URL`` set to a PostgreSQL
URL (``postgresql+psycopg://user@127.0.0.1:PORT/anything``; ``.ci/run`` starts a throwaway
cluster), every test gets a fresh database cloned from a template that already holds the
schema and PostGIS, so tests stay as isolated as with a temporary SQLite file.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from kindmap.config import Settings, default_data_dir
from kindmap.db import create_schema, make_engine

PG_URL = os.environ.get("KINDMAP_TEST_DATABASE_URL", "")
TEMPLATE = f"kindmap_tpl_{os.getpid()}"
_serial = itertools.count()


def backend() -> str:
    """The database backend the suite runs on: ``sqlite`` or ``postgresql``."""
    return make_url(PG_URL).get_backend_name() if PG_URL else "sqlite"


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "sqlite_only: inherently SQLite (PRAGMA, the sqlite3 backup API)")


def pytest_collection_modifyitems(config, items) -> None:
    if backend() == "sqlite":
        return
    inherent = pytest.mark.skip(reason="inherently SQLite; this run is on PostgreSQL")
    for item in items:
        if item.get_closest_marker("sqlite_only"):
            item.add_marker(inherent)


class _Postgres:
    """Creates and drops per-test databases on the throwaway cluster."""

    def __init__(self, url: str) -> None:
        self.base = make_url(url)
        self.admin = create_engine(self.base.set(database="postgres"), isolation_level="AUTOCOMMIT")
        self.ready = False

    def _template(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{TEMPLATE}"'))
        engine = make_engine(self.url(TEMPLATE))
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        create_schema(engine)
        engine.dispose()
        self.ready = True

    def url(self, name: str) -> str:
        return self.base.set(database=name).render_as_string(hide_password=False)

    def create(self, label: str) -> str:
        """A new database holding the schema; returns its name."""
        if not self.ready:
            self._template()
        name = f"kmt_{os.getpid()}_{label}_{next(_serial)}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}" STRATEGY FILE_COPY'))
        return name

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        if self.ready:
            self.drop(TEMPLATE)
        self.admin.dispose()


@pytest.fixture(scope="session")
def _pg():
    if backend() == "sqlite":
        yield None
        return
    pg = _Postgres(PG_URL)
    yield pg
    pg.close()


@contextmanager
def scratch_database(pg: _Postgres | None, *, folder: Path, label: str) -> Iterator[str]:
    """The URL of a new database on the backend under test, removed again when the block ends.

    SQLite: ``folder/label.sqlite3`` (not yet created; the folder goes with the test's temp dir).
    PostgreSQL (``pg`` is the session's ``_pg``): a fresh database cloned from the schema
    template, dropped afterwards (its remaining connections are closed by ``WITH (FORCE)``).
    """
    if pg is None:
        yield f"sqlite:///{folder / f'{label}.sqlite3'}"
        return
    name = pg.create(label)
    try:
        yield pg.url(name)
    finally:
        pg.drop(name)


@pytest.fixture
def settings(tmp_path, _pg) -> Settings:
    """Settings on an empty database (a temporary SQLite file, or a fresh PostgreSQL database)."""
    with scratch_database(_pg, folder=tmp_path, label="test") as url:
        yield Settings(database_url=url, state_dir=tmp_path / "state")


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory, _pg):
    """An SQLite file built through the migrations once; tests start from copies of it."""
    if _pg is not None:
        return None
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def engine(settings, _sqlite_template) -> Engine:
    url = make_url(settings.database_url)
    if _sqlite_template is not None and url.get_backend_name() == "sqlite" and not Path(url.database).exists():
        shutil.copyfile(_sqlite_template, url.database)  # a file copy is ~100× faster than migrating
    engine = make_engine(settings.database_url, settings=settings)
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def client(settings, engine):
    from fastapi.testclient import TestClient

    from kindmap.api.app import create_app

    with TestClient(create_app(settings, engine=engine)) as c:
        yield c


@pytest.fixture(scope="session")
def data_dir():
    path = default_data_dir()
    assert (path / "rutland").is_dir(), f"the real data is expected at {path}"
    return path


@pytest.fixture(scope="session")
def rutland(tmp_path_factory, data_dir, _pg):
    """A database holding the Rutland demo (areas, postcodes, OSM places), built once per run."""
    from kindmap.services.imports.demo import import_region

    folder = tmp_path_factory.mktemp("rutland")
    url = f"sqlite:///{folder / 'rutland.sqlite3'}" if _pg is None else _pg.url(_pg.create("rutland"))
    settings = Settings(database_url=url, data_dir=data_dir, state_dir=folder)
    engine = make_engine(settings.database_url, settings=settings)
    create_schema(engine)
    reports = import_region(engine, settings=settings, region="rutland")
    return settings, engine, reports


def copy_database(source_url: str, *, folder, name: str = "copy") -> str:
    """An independent copy of a database on the same backend; returns its URL.

    SQLite: the online backup API into ``folder/name.sqlite3``. PostgreSQL: a new database
    cloned with ``CREATE DATABASE … TEMPLATE`` (other sessions on the source are closed first).
    """
    url = make_url(source_url)
    if url.get_backend_name() == "sqlite":
        import sqlite3

        target = folder / f"{name}.sqlite3"
        src, dst = sqlite3.connect(url.database), sqlite3.connect(target)
        with dst:
            src.backup(dst)
        src.close()
        dst.close()
        return f"sqlite:///{target}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    clone = f"kmt_{os.getpid()}_{name}_{next(_serial)}"
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid()"),
                     {"d": url.database})
        conn.execute(text(f'CREATE DATABASE "{clone}" TEMPLATE "{url.database}" STRATEGY FILE_COPY'))
    admin.dispose()
    return url.set(database=clone).render_as_string(hide_password=False)


def db_fingerprint(engine: Engine) -> dict[str, str]:
    """A hash of every row of every table, to prove an operation changed nothing."""
    prints = {}
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            rows = conn.execute(text(f'SELECT * FROM "{table.name}"')).fetchall()
            blob = json.dumps(sorted(map(repr, rows)))
            prints[table.name] = f"{len(rows)}:{hashlib.sha256(blob.encode()).hexdigest()}"
    return prints
