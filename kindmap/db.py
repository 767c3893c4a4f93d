"""Engine and sessions. SQLite (default) runs in WAL mode with foreign keys on, and
write sessions open with ``BEGIN IMMEDIATE`` so concurrent writers queue on the lock
instead of failing with "database is locked" half-way through a transaction. On
PostgreSQL the same queueing comes from a transaction-scoped advisory lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, event, inspect
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel, create_engine

import kindmap.models  # noqa: F401  (registers every table on SQLModel.metadata)
from kindmap.config import Settings
from kindmap.fileperms import private_dir, private_file

# Commits seen in this process, on any engine. Caches of database content (the catalogue
# index) compare it to know, without a query, that nothing here has written since they
# last looked. The engine event fires just before the COMMIT and the session event just
# after it, so a check that falls between the two is repeated on the next request.
_commits = [0]


def commit_count() -> int:
    """How many commits this process has made (any engine, any session)."""
    return _commits[0]


def _count_commit(*_args) -> None:
    _commits[0] += 1


event.listen(Engine, "commit", _count_commit)
event.listen(Session, "after_commit", _count_commit)


# SQLite (and PostgreSQL's "timestamp without time zone") hand stored datetimes back naive.
# kindmap writes them in UTC (models.common.utcnow), so every loaded row gets them back
# aware: one rule here instead of an as_utc() at each use, and no naive time on the wire.
_DATETIME_ATTRS: dict[type, tuple[str, ...]] = {}


def _datetime_attrs(cls: type) -> tuple[str, ...]:
    attrs = _DATETIME_ATTRS.get(cls)
    if attrs is None:
        from sqlalchemy import DateTime

        mapper = inspect(cls)
        attrs = _DATETIME_ATTRS[cls] = tuple(
            c.key for c in mapper.column_attrs if isinstance(c.columns[0].type, DateTime))
    return attrs


def _aware_on_load(target, *_args) -> None:
    state = target.__dict__
    for key in _datetime_attrs(type(target)):
        value = state.get(key)
        if value is not None and value.tzinfo is None:
            state[key] = value.replace(tzinfo=UTC)  # as loaded: no change is recorded


event.listen(SQLModel, "load", _aware_on_load, propagate=True)
event.listen(SQLModel, "refresh", _aware_on_load, propagate=True)


def make_engine(url: str, *, settings: Settings | None = None) -> Engine:
    """Create an engine; for SQLite, make the parent folder and set the pragmas."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return _postgres_engine(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        # Households are personal data: owner-only whatever the umask (see kindmap.fileperms).
        if settings is not None and settings.state_dir.exists():
            private_dir(settings.state_dir, tighten=True)
        path = Path(database).expanduser()
        private_dir(path.parent)
        private_file(path)  # before SQLite makes it 0644; its -wal and -shm take this file's mode
    synchronous = settings.sqlite_synchronous if settings else "NORMAL"
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - trivial
        # Let SQLAlchemy, not the driver, issue BEGIN, so we can choose IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if database not in ("", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:  # pragma: no cover - trivial
        immediate = conn.get_execution_options().get("kindmap_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


# Any constant works; it names kindmap's one write lock among the cluster's advisory locks.
WRITE_LOCK_KEY = 0x6B696E646D6170  # "kindmap"


def _postgres_engine(url: str) -> Engine:
    """PostgreSQL: write sessions take one transaction-scoped advisory lock first, so writers
    queue exactly as SQLite's ``BEGIN IMMEDIATE`` makes them (no lost read-modify-write updates,
    imports never interleave); readers never wait for it."""
    engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:  # pragma: no cover - trivial
        if conn.get_execution_options().get("kindmap_write", False):
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")

    return engine


MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
FOREIGN_TABLES = frozenset({"spatial_ref_sys"})  # PostGIS's own table: never kindmap's to migrate


def include_name(name, type_, _parent_names) -> bool:
    """Alembic filter: leave tables that belong to extensions (PostGIS) alone."""
    return not (type_ == "table" and name in FOREIGN_TABLES)


def migration_config(connection=None):
    """Alembic's configuration for kindmap's migrations (on ``connection`` when given)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def schema_revision(engine: Engine) -> str | None:
    """The database's Alembic revision (None before the first migration)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, *, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` in one write transaction (writers queue meanwhile)."""
    from alembic import command

    with engine.execution_options(kindmap_write=True).begin() as conn:
        command.upgrade(migration_config(conn), revision)
        _catalogue_triggers(conn)


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The newest migration's revision id (read once per process)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(migration_config()).get_current_head()


def create_schema(engine: Engine) -> None:
    """Bring the schema to the newest migration.

    A database made before migrations existed (tables but no revision) is completed with
    ``create_all`` and stamped. Tables whose models are newer than the last migration are
    created too, so work in progress keeps running until its migration is generated.
    """
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    head = head_revision()
    with engine.execution_options(kindmap_write=True).begin() as conn:
        config = migration_config(conn)
        current = MigrationContext.configure(conn).get_current_revision()
        if current != head:
            if current is None and head is not None and inspect(conn).has_table("place"):
                SQLModel.metadata.create_all(conn)
                command.stamp(config, "head")
            elif head is not None:
                command.upgrade(config, "head")
        SQLModel.metadata.create_all(conn)  # checkfirst: only tables no migration has made yet
        _catalogue_triggers(conn)


def _catalogue_triggers(conn) -> None:
    """Put the catalogue change counter's triggers back if a migration rebuilt the place table (SQLite batch mode)."""
    from kindmap.models.catalogue_version import ensure_triggers

    if inspect(conn).has_table("catalogue_version"):
        ensure_triggers(conn)


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for reading; it never takes the write lock."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """One transaction that commits on success and rolls back on any error."""
    with Session(engine.execution_options(kindmap_write=True), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
