"""``kindmap db``: backup, restore, integrity check, schema upgrade and new migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kindmap.cli.common import app, fail, open_engine, out
from kindmap.config import get_settings
from kindmap.errors import DataError, KindmapError

db_app = typer.Typer(help="Database backup, restore, checks and schema upgrades.", no_args_is_help=True)
app.add_typer(db_app, name="db")

DemoOpt = Annotated[bool, typer.Option("--demo", help="Act on the demo database instead.")]


@db_app.command("backup")
def backup_cmd(
    path: Annotated[Path, typer.Argument(help="New file to write (SQLite file, or pg_dump custom format).")],
    overwrite: Annotated[bool, typer.Option(help="Replace PATH if it exists.")] = False,
    demo: DemoOpt = False,
) -> None:
    """Copy the live database to PATH while it keeps serving (atomic; checked after writing)."""
    from kindmap.services.backup import backup

    try:
        result = backup(open_engine(get_settings(), demo=demo), path, overwrite=overwrite)
    except KindmapError as exc:
        fail(exc)
    out.print(f"backed up the {result.backend} database to {result.path} ({result.bytes:,} bytes)", highlight=False)


@db_app.command("restore")
def restore_cmd(
    path: Annotated[Path, typer.Argument(help="A file written by `kindmap db backup`.")],
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: the current contents are replaced.")] = False,
    demo: DemoOpt = False,
) -> None:
    """Replace the database's contents with a backup (checked before anything is replaced)."""
    from kindmap.services.backup import restore

    if not yes:
        fail(DataError("restoring replaces every row in the database; run again with --yes to confirm"))
    try:
        result = restore(open_engine(get_settings(), demo=demo), path)
    except KindmapError as exc:
        fail(exc)
    out.print(f"restored the {result.backend} database from {result.path}", highlight=False)


@db_app.command("check")
def check_cmd(demo: DemoOpt = False) -> None:
    """Run the integrity check (SQLite) or a connection check (PostgreSQL); exit 2 unless ok."""
    from kindmap.services.backup import integrity

    result = integrity(open_engine(get_settings(), demo=demo))
    if result != "ok":
        fail(DataError(f"integrity check failed: {result}"))
    out.print("ok", highlight=False)


@db_app.command("upgrade")
def upgrade_cmd(
    revision: Annotated[str, typer.Option(help="Target migration (default: the newest).")] = "head",
    demo: DemoOpt = False,
) -> None:
    """Apply schema migrations (Alembic) to the configured database."""
    from kindmap.config import get_settings as settings_now
    from kindmap.db import make_engine, schema_revision, upgrade

    settings = settings_now()
    engine = make_engine(settings.resolved_database_url(demo=demo), settings=settings)
    try:
        upgrade(engine, revision=revision)
    except Exception as exc:  # alembic's errors (unknown revision) are user errors here
        if type(exc).__module__.startswith("alembic"):
            fail(DataError(f"cannot upgrade to {revision!r}: {exc}"))
        raise
    out.print(f"database schema at {schema_revision(engine)}", highlight=False)


@db_app.command("revision")
def revision_cmd(
    message: Annotated[str, typer.Argument(help="What changed, e.g. 'households: add notes'.")],
) -> None:
    """Write a new migration from the difference between the models and the newest migration
    (for developers; review the generated file before committing it)."""
    import tempfile
    from pathlib import Path

    from alembic import command

    from kindmap.db import make_engine, migration_config, upgrade

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'head.sqlite3'}")
        upgrade(engine)
        with engine.begin() as conn:
            script = command.revision(migration_config(conn), message=message, autogenerate=True)
        engine.dispose()
    out.print(f"wrote {script.path}", highlight=False)
