"""Shared pieces of the ``kindmap`` command: the Typer apps, consoles, and error exit."""

from __future__ import annotations

import re

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from kindmap.config import Settings
from kindmap.errors import KindmapError

app = typer.Typer(help="kindmap: find and grow welcoming, free, everyday places where people connect.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
import_app = typer.Typer(help="Import open data into the catalogue (one transaction each).", no_args_is_help=True)
region_app = typer.Typer(help="Council regions.", no_args_is_help=True)
export_app = typer.Typer(help="Export the public catalogue.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(region_app, name="region")
app.add_typer(export_app, name="export")

# C0/C1 controls except newline and tab (a name with ESC [31m could recolour or rewrite the terminal) and
# the bidirectional overrides and isolates (U+202E can make "exe.txt" read as "txt.exe").
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """``text`` with control and bidi-override characters shown as escapes (``\\x1b``, ``\\u202e``)."""
    return _CONTROLS.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class PlainConsole(Console):
    """A console for output that holds data: place names, file names, e-mail addresses.

    Every string it draws (``print`` arguments, table cells and titles) goes through
    ``render_str``, so this is the one place that makes data inert: Rich markup (``[/]``,
    ``[link=…]``) and ``:emoji:`` codes are never read, and control characters are shown as
    escapes. Styling is given with ``style=`` or :class:`rich.text.Text`, never as markup.
    """

    def render_str(self, text: str, **kwargs) -> Text:
        """The string as plain text (no markup, no emoji codes, controls escaped)."""
        kwargs.update(markup=False, emoji=False)
        return super().render_str(visible(text), **kwargs)


out = PlainConsole(markup=False, emoji=False)
err = PlainConsole(stderr=True, markup=False, emoji=False)


def settings_problem(exc) -> str:
    """A pydantic ``ValidationError`` from ``Settings`` as one line naming each variable and what it
    accepts; never the value (a database URL may hold a password)."""
    def one(e: dict) -> str:
        name = "KINDMAP_" + "_".join(map(str, e["loc"])).upper()
        if e["type"] == "string_pattern_mismatch":
            return f"{name}: should be one of {', '.join(e['ctx']['pattern'].strip('^$()').split('|'))}"
        return f"{name}: {e['msg']}"

    return "; ".join(one(e) for e in exc.errors())


@app.callback()
def _check_settings() -> None:
    # Every command reads the KINDMAP_* settings: a bad value is bad input (exit 2 with what to
    # fix), not a traceback.
    from pydantic import ValidationError

    from kindmap.config import get_settings
    from kindmap.errors import InvalidQuery

    try:
        get_settings()
    except ValidationError as exc:
        fail(InvalidQuery(settings_problem(exc)))


def fail(exc: KindmapError) -> None:
    """Print a domain error for people and exit with status 2 (the database is unchanged)."""
    err.print(Text.assemble(("error:", "bold red"), " ", visible(exc.message)), highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


def open_engine(settings: Settings, *, demo: bool = False):
    """The engine for the configured (or demo) database, with its schema in place."""
    from kindmap.db import create_schema, make_engine

    engine = make_engine(settings.resolved_database_url(demo=demo), settings=settings)
    create_schema(engine)
    return engine


def osm_progress():
    """A rich spinner with a running element count (an OSM file's element total is not known up front)."""
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                        TextColumn("{task.completed:,} OSM elements"), TimeElapsedColumn(), console=err, transient=True)
    task = progress.add_task("reading OSM", total=None)
    return progress, lambda n: progress.update(task, completed=n)
