"""A change counter for the public catalogue: one row, bumped by database triggers on every write to ``place``.

The in-memory catalogue index must know when places changed, also when another process
(an import beside the server, a second worker) wrote them. Reading this one row by its key
costs the same at 10⁶ places as at 10, where counting the place table and taking its newest
``updated_at`` grew with it (130–200 ms at 10⁶). Triggers, not application code, bump it, so
no write path (ORM, bulk SQL, a migration) can forget to.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, event
from sqlmodel import Field, SQLModel

TABLE = "catalogue_version"


class CatalogueVersion(SQLModel, table=True):
    """The catalogue's change counter (one row, id 1)."""

    __tablename__ = TABLE
    id: int = Field(default=1, primary_key=True)
    version: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))


def trigger_ddl(dialect: str) -> list[str]:
    """SQL that seeds the counter row and creates the triggers bumping it on every insert, update or delete of a place.

    Idempotent, so it can run after every upgrade: SQLite's batch migrations rebuild a table
    and drop its triggers, and this puts them back.
    """
    bump = f"UPDATE {TABLE} SET version = version + 1 WHERE id = 1"
    seed = f"INSERT INTO {TABLE} (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING"
    if dialect == "postgresql":
        # once per statement: a bulk import bumps it once, not once per row
        return [seed,
                f"CREATE OR REPLACE FUNCTION kindmap_bump_catalogue() RETURNS trigger AS $$ BEGIN {bump}; RETURN NULL; END $$ "
                "LANGUAGE plpgsql",
                "CREATE OR REPLACE TRIGGER place_catalogue_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON place "
                "FOR EACH STATEMENT EXECUTE FUNCTION kindmap_bump_catalogue()"]
    return [seed] + [f"CREATE TRIGGER IF NOT EXISTS place_catalogue_version_{op.lower()} AFTER {op} ON place BEGIN {bump}; END"
                     for op in ("INSERT", "UPDATE", "DELETE")]


def drop_ddl(dialect: str) -> list[str]:
    """SQL that removes the triggers (the downgrade)."""
    if dialect == "postgresql":
        return ["DROP TRIGGER IF EXISTS place_catalogue_version ON place", "DROP FUNCTION IF EXISTS kindmap_bump_catalogue()"]
    return [f"DROP TRIGGER IF EXISTS place_catalogue_version_{op}" for op in ("insert", "update", "delete")]


def ensure_triggers(connection) -> None:
    """Seed the counter and (re)create its triggers on this connection's database."""
    for sql in trigger_ddl(connection.dialect.name):
        connection.exec_driver_sql(sql)


@event.listens_for(SQLModel.metadata, "after_create")
def _after_create(_metadata, connection, **_kw) -> None:
    # create_all (tests, a database adopted from before migrations) makes the tables: add the row and
    # triggers too, once every table (place among them) exists
    from sqlalchemy import inspect

    names = set(inspect(connection).get_table_names())
    if {TABLE, "place"} <= names:
        ensure_triggers(connection)
