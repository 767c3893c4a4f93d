"""``kindmap region setup``: any council of England and Wales from the national tables, in one command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from kindmap.cli.common import err, fail, open_engine, osm_progress, out, region_app
from kindmap.config import get_settings
from kindmap.errors import KindmapError


def _pct(x: float | None) -> str:
    return "unknown" if x is None else f"{x:.0%}"


def print_setup(result) -> None:
    """The set-up summary: areas, households, postcodes, places, network and honest coverage."""
    c = result.council
    table = Table(title=f"{c.name} ({c.code}, {c.nation}) → region {result.slug} in {result.seconds:.1f} s")
    table.add_column("what")
    table.add_column("")
    table.add_row("small areas", f"{result.areas} LSOA 2021 ({', '.join(result.index_names) or 'no deprivation index'})")
    table.add_row("people, households", f"{result.population:,} (mid-2022), {result.households:,} (Census 2021)")
    if result.postcodes:
        p = result.postcodes
        extra = f"; {p.nearest} nearest an area (≤ 250 m)" if p.nearest else ""
        extra += f"; {p.unassigned} not in any area" if p.unassigned else ""
        table.add_row("postcodes", f"{p.within + p.nearest + p.unassigned:,} from {p.source}{extra}")
    if result.osm:
        o = result.osm
        table.add_row("places", f"{o.report.added} new, {o.report.updated} updated, {o.report.unchanged} unchanged")
        table.add_row("walking network", f"{o.network_nodes:,} nodes, {o.network_edges:,} edges, {o.network_km:,.0f} km")
        cov = o.coverage
        table.add_row("map data covers", f"{cov.wholly} areas wholly, {cov.partly} partly, {cov.outside} not at all; "
                                          f"{_pct(cov.household_share)} of households")
    out.print(table)
    cov = result.coverage
    if cov and cov.outside:
        out.print(f"No map data (not 'no access') in {cov.outside} area(s), wards: {', '.join(cov.no_data_wards())}. "
                  "Import an extract that covers them to measure walks there.", highlight=False, soft_wrap=True)
    for note in result.notes:
        out.print(f"note: {note}", highlight=False, soft_wrap=True)


@region_app.command("setup")
def region_setup(
    council: Annotated[str, typer.Argument(help="GSS code (E06000017) or council name ('Newport').")],
    osm: Annotated[Optional[Path], typer.Option(help="OpenStreetMap extract (.osm.pbf) covering the council.")] = None,
    postcodes: Annotated[Optional[Path], typer.Option(
        help="Code-Point Open folder or area file, or a postcode CSV (default: Code-Point Open in the data directory).")] = None,
    slug: Annotated[Optional[str], typer.Option(help="Region slug (default: from the council's name).")] = None,
    demo_db: Annotated[bool, typer.Option("--demo")] = False,
) -> None:
    """Set up a council of England or Wales: outline, LSOA 2021 areas with IMD 2025 / WIMD 2019,
    postcodes, and with --osm its places, walking network and map coverage."""
    from kindmap.services.imports.council import setup_council

    settings = get_settings()
    try:
        progress, tick = osm_progress()
        with progress:
            result = setup_council(open_engine(settings, demo=demo_db), settings=settings, council=council, osm=osm,
                                   postcodes=postcodes, slug=slug, osm_progress=tick,
                                   on_step=lambda s: err.print(s, style="dim", highlight=False))
    except KindmapError as exc:
        fail(exc)
    print_setup(result)
