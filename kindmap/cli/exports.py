"""``kindmap export csv|geojson|gpkg``: the public catalogue, written atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from kindmap.cli.common import err, export_app, fail, open_engine
from kindmap.config import get_settings
from kindmap.errors import KindmapError

OutOption = Annotated[Path, typer.Option("--out", "-o", help="File to write (replaced atomically).")]
RegionOption = Annotated[Optional[str], typer.Option(help="Only this region (slug, e.g. rutland).")]
CategoryOption = Annotated[Optional[list[str]], typer.Option(help="Category slug; repeatable.")]
DemoOption = Annotated[bool, typer.Option("--demo", help="Export the demo database.")]


def _export(fmt: str, out: Path, region: str | None, category: list[str] | None, demo: bool) -> None:
    from kindmap.db import read_session
    from kindmap.services.catalogue.export import export_catalogue

    try:
        engine = open_engine(get_settings(), demo=demo)
        with read_session(engine) as session:
            result = export_catalogue(session, fmt=fmt, out=out, region=region, categories=category)
    except KindmapError as exc:
        fail(exc)
    err.print(f"wrote {result.count} published place(s) to {result.path} ({fmt})", highlight=False, soft_wrap=True)


@export_app.command("csv")
def export_csv(out: OutOption, region: RegionOption = None, category: CategoryOption = None, demo: DemoOption = False) -> None:
    """Published places as CSV (UTF-8; formula-like cells prefixed with ' ; attribution column)."""
    _export("csv", out, region, category, demo)


@export_app.command("geojson")
def export_geojson(out: OutOption, region: RegionOption = None, category: CategoryOption = None, demo: DemoOption = False) -> None:
    """Published places as a GeoJSON FeatureCollection (EPSG:4326) with the attribution."""
    _export("geojson", out, region, category, demo)


@export_app.command("gpkg")
def export_gpkg(out: OutOption, region: RegionOption = None, category: CategoryOption = None, demo: DemoOption = False) -> None:
    """Published places as a GeoPackage layer 'places' (EPSG:4326); attribution in the layer description."""
    _export("gpkg", out, region, category, demo)


@export_app.command("oruk")
def export_oruk(out: OutOption, demo: DemoOption = False) -> None:
    """Published places, opportunities and support services as a JSON list of full Open Referral UK services."""
    from kindmap.db import read_session
    from kindmap.services.standards.oruk.activities import export_services

    try:
        engine = open_engine(get_settings(), demo=demo)
        with read_session(engine) as session:
            count = export_services(session, out=out)
    except KindmapError as exc:
        fail(exc)
    err.print(f"wrote {count} Open Referral UK service(s) to {out}", highlight=False, soft_wrap=True)
