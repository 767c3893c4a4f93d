"""The ``kindmap`` command. Each module registers its commands on the shared Typer apps."""

from kindmap.cli import (
    core,  # noqa: F401  (registers commands)
    councils,  # noqa: F401  (region setup)
    db,  # noqa: F401  (db backup, restore, check, upgrade)
    exports,  # noqa: F401  (registers commands)
    gaps,  # noqa: F401  (kindmap gaps)
    standards,  # noqa: F401
    trust,  # noqa: F401  (import osm with --force, review, facts, freshness)
    users,  # noqa: F401  (user, scheme, import activities)
)
from kindmap.cli.common import app


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main"]
