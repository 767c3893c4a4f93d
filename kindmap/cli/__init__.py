"""The ``kindmap`` command. Each module registers its commands on the shared Typer apps."""

from kindmap.cli import core  # noqa: F401  (registers commands)
from kindmap.cli import standards  # noqa: F401
from kindmap.cli import users  # noqa: F401  (user, scheme, import activities)
from kindmap.cli import exports  # noqa: F401  (registers commands)
from kindmap.cli import trust  # noqa: F401  (import osm with --force, review, facts, freshness)
from kindmap.cli import gaps  # noqa: F401  (kindmap gaps)
from kindmap.cli import db  # noqa: F401  (db backup, restore, check, upgrade)
from kindmap.cli.common import app


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main"]
