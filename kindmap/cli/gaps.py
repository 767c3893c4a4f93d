"""``kindmap gaps``: the council gap analysis for a region, written as files (exit 2 on bad input)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from kindmap.cli.common import app, err, fail, open_engine, out
from kindmap.config import get_settings
from kindmap.errors import KindmapError
from kindmap.fileperms import private_tree


@app.command("gaps")
def gaps(
    region: Annotated[str, typer.Option(help="Region slug, e.g. rutland or north-ayrshire.")],
    minutes: Annotated[float, typer.Option(help="Walking threshold in minutes (1–60).")] = 15.0,
    profile: Annotated[Optional[str], typer.Option(help="Walking profile: walk, slow or step_free.")] = None,
    slot: Annotated[str, typer.Option(help="any, weekday_daytime, weekday_evening or weekend.")] = "any",
    category: Annotated[Optional[list[str]], typer.Option(help="Place category to count; repeatable.")] = None,
    free: Annotated[bool, typer.Option("--free", help="Only places recorded as free to use.")] = False,
    drop_in: Annotated[bool, typer.Option("--drop-in", help="Only places recorded as drop-in.")] = False,
    step_free: Annotated[bool, typer.Option("--step-free", help="Only places recorded as step-free.")] = False,
    include_unknown_hours: Annotated[bool, typer.Option("--include-unknown-hours",
                                                        help="Count places without hours as open in the slot.")] = False,
    decay: Annotated[str, typer.Option(help="E2SFCA distance decay: gaussian or stepped.")] = "gaussian",
    tiles: Annotated[int, typer.Option(help="Run in N×N tiles on Dask (same results; for big regions).")] = 1,
    scheduler: Annotated[str, typer.Option(help="Dask scheduler for --tiles: distributed (a cluster of worker "
                                                "processes on this machine, one per core), processes, threads, sync, "
                                                "or a running Dask scheduler's address (tcp://HOST:8786) whose "
                                                "workers may be on other machines.")] = "distributed",
    workers: Annotated[Optional[int], typer.Option(help="Worker processes for --scheduler distributed or "
                                                        "processes (default: one per core).")] = None,
    best: Annotated[int, typer.Option(help="Also list the best K new sites (greedy maximal coverage).")] = 0,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the outputs (replaced atomically).")] = Path("gaps"),
) -> None:
    """Where welcoming free places are out of walking reach, by small area and deprivation decile."""
    from kindmap.services.gaps.analysis import GapQuery, analyse_gaps
    from kindmap.services.gaps.compare import compare_councils
    from kindmap.services.gaps.partition import analyse_partitioned
    from kindmap.services.gaps.report import write_outputs
    from kindmap.services.gaps.scenarios import best_sites

    settings = get_settings()
    q = GapQuery(region=region, minutes=minutes, profile=profile, slot=slot, categories=tuple(category) if category else None,
                 free=free, drop_in=drop_in, step_free=step_free, include_unknown_hours=include_unknown_hours, decay=decay)
    try:
        from kindmap.errors import InvalidQuery
        from kindmap.services.gaps.partition import check_scheduler

        if not 1 <= tiles <= 16:
            raise InvalidQuery("--tiles must be between 1 and 16")
        if tiles > 1:
            check_scheduler(scheduler)  # before any reading: a typo is exit 2 at once
        engine = open_engine(settings)
        if tiles > 1:
            result = analyse_partitioned(engine, settings, q, tiles=(tiles, tiles), scheduler=scheduler, workers=workers)
        else:
            result = analyse_gaps(engine, settings, q)
        sites = best_sites(engine, settings, q, k=best) if best else None
        comparison = compare_councils(engine, settings, focus=result.region, profile=profile, slot=slot)
        paths = write_outputs(result, out_dir, settings=settings, comparison=comparison)
        private_tree(out_dir)  # household counts by area: owner-only, whatever the umask (kindmap.fileperms)
    except KindmapError as exc:
        fail(exc)
    t = result.totals
    pct = (lambda v: "–" if v is None else f"{100 * v:.1f}%")
    est = " (estimated: no path network)" if result.method == "estimated" else ""
    out.print(f"{result.region_name}: {pct(t['share_covered'])} of {t['households']:,.0f} households within "
              f"{q.minutes:g} min{est}; most deprived deciles 1–2: {pct(t['most_deprived_share_covered'])}", highlight=False)
    for d in result.by_decile:
        out.print(f"  decile {d['decile']}: {pct(d['share_covered'])} of {d['households']:,.0f}", highlight=False)
    for note in result.notes:
        err.print(f"  note: {note}", highlight=False, soft_wrap=True)
    if sites:
        for s in sites["sites"]:
            out.print(f"  site {s['rank']}: {s['name']} +{s['households_added']:,.0f} households", highlight=False)
    out.print(f"wrote {len(paths)} files to {out_dir}", highlight=False)
