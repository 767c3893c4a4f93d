"""Shared fixtures: settings on a temporary database, and the real Rutland demo built once."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import Engine, text
from sqlmodel import SQLModel

from kindmap.config import Settings, default_data_dir
from kindmap.db import create_schema, make_engine


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Settings on an empty SQLite file; the real data directory."""
    return Settings(database_url=f"sqlite:///{tmp_path / 'test.sqlite3'}", state_dir=tmp_path / "state")


@pytest.fixture
def engine(settings) -> Engine:
    engine = make_engine(settings.database_url, settings=settings)
    create_schema(engine)
    return engine


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
def rutland(tmp_path_factory, data_dir):
    """A database holding the Rutland demo (areas, postcodes, OSM places), built once per run."""
    from kindmap.services.demo import import_region

    folder = tmp_path_factory.mktemp("rutland")
    settings = Settings(database_url=f"sqlite:///{folder / 'rutland.sqlite3'}", data_dir=data_dir, state_dir=folder)
    engine = make_engine(settings.database_url, settings=settings)
    create_schema(engine)
    reports = import_region(engine, settings=settings, region="rutland")
    return settings, engine, reports


def db_fingerprint(engine: Engine) -> dict[str, str]:
    """A hash of every row of every table, to prove an operation changed nothing."""
    prints = {}
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            rows = conn.execute(text(f'SELECT * FROM "{table.name}"')).fetchall()
            blob = json.dumps(sorted(map(repr, rows)))
            prints[table.name] = f"{len(rows)}:{hashlib.sha256(blob.encode()).hexdigest()}"
    return prints
