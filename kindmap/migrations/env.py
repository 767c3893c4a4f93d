"""Alembic environment: kindmap's SQLModel metadata; the connection comes from ``kindmap.db``
(``config.attributes["connection"]``) or from the configured database URL."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import kindmap.models  # noqa: F401  (registers every table on SQLModel.metadata)
from kindmap.db import include_name

config = context.config
target_metadata = SQLModel.metadata


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
    )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    from kindmap.config import get_settings
    from kindmap.db import make_engine

    engine = make_engine(get_settings().resolved_database_url())
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
