"""Gap analysis outputs: areas.gpkg, areas.csv, map.html, charts (PNG and SVG) and a self-contained report.html.

Everything is written into a temporary folder beside the target and renamed into place only
when every file is complete, so an error never leaves partial outputs. ``report.html`` holds
its charts as data URIs and escapes every text with :func:`kindmap.maps.safe_text`; ``map.html`` is
a fixed template whose data travels as JSON (see :mod:`kindmap.maps`). No area, place or region
name is ever part of a template's source, HTML markup or a chart's mathtext.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

from kindmap.config import ATTRIBUTION, Settings
from kindmap.errors import InvalidQuery
from kindmap.maps import gaps_map_html, safe_text
from kindmap.services.catalogue.export import neutralise
from kindmap.services.gaps.analysis import region_geojson
from kindmap.services.gaps.measure import GapResult
from kindmap.services.gaps.query import HORIZON_MINUTES, SLOTS

CSV_COLUMNS = ("code", "name", "households", "share_covered", "median_walk_minutes", "uncovered_households",
               "e2sfca_score", "deprivation_rank", "deprivation_decile", "priority", "method")
FILES = ("areas.gpkg", "areas.csv", "map.html", "coverage_by_decile.png", "coverage_by_decile.svg",
         "walk_times.png", "walk_times.svg", "report.html")


def _rows(result: GapResult) -> list[dict]:
    out = []
    for a in result.areas:
        row = {k: a[k] for k in CSV_COLUMNS if k != "method"}
        row["uncovered_households"] = round(a["uncovered_households"], 1)
        row["method"] = result.method
        out.append(row)
    return out


def write_csv(result: GapResult, path: Path) -> None:
    """One row per small area (text cells that could run as spreadsheet formulas are neutralised)."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        w.writeheader()
        for row in _rows(result):
            w.writerow({k: neutralise(v) if isinstance(v, str) else ("" if v is None else v) for k, v in row.items()})


def write_gpkg(result: GapResult, path: Path) -> None:
    """Areas with their measures as a GeoPackage layer ``areas`` (EPSG:4326) via pyogrio."""
    import geopandas as gpd
    import pyogrio
    from shapely.geometry import shape

    rows = _rows(result)
    for r, a in zip(rows, result.areas):
        for key, value in a.items():
            if key.startswith("share_within_"):
                r[key] = value
    geoms = [shape(json.loads(a["geometry_geojson"])) for a in result.areas]
    frame = gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")
    pyogrio.write_dataframe(frame, path, layer="areas", driver="GPKG")


# The region's name is data: drawn as plain text, never as mathtext ("$…$") or through LaTeX.
_PLAIN = {"parse_math": False, "usetex": False}


def _figure_bytes(fig) -> tuple[bytes, bytes]:
    png, svg = io.BytesIO(), io.BytesIO()
    fig.savefig(png, format="png", dpi=110, bbox_inches="tight")
    fig.savefig(svg, format="svg", bbox_inches="tight")
    return png.getvalue(), svg.getvalue()


def charts(result: GapResult) -> dict[str, tuple[bytes, bytes]]:
    """Coverage by deprivation decile and the household-weighted walk-time distribution (PNG, SVG bytes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    est = " (estimated)" if result.method == "estimated" else ""
    rows = [d for d in result.by_decile if d["decile"] is not None]
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    ax.bar([str(d["decile"]) for d in rows], [100 * (d["share_covered"] or 0) for d in rows], color="#2c7fb8")
    total = result.totals["share_covered"] or 0
    ax.axhline(100 * total, color="#555", linestyle="--", linewidth=1, label=f"region {100 * total:.0f}%")
    ax.set_xlabel("deprivation decile (1 = most deprived)")
    ax.set_ylabel(f"% households within {result.query.minutes:g} min")
    ax.set_ylim(0, 100)
    ax.set_title(f"{result.region_name}: walking reach by deprivation decile{est}", **_PLAIN)
    ax.legend(loc="lower right")
    by_decile = _figure_bytes(fig)
    plt.close(fig)

    m = np.minimum(result.point_minutes, HORIZON_MINUTES + 2.5)
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    ax.hist(m, bins=np.arange(0, HORIZON_MINUTES + 5.1, 2.5), weights=result.point_weights, color="#41ab5d")
    ax.axvline(result.query.minutes, color="#b30000", linewidth=1.2, label=f"{result.query.minutes:g} min")
    ax.set_xlabel(f"walk minutes to the nearest place{est} (last bar: over {HORIZON_MINUTES:g} or none)")
    ax.set_ylabel("households")
    ax.set_title(f"{result.region_name}: walk time to the nearest welcoming place", **_PLAIN)
    ax.legend()
    walk = _figure_bytes(fig)
    plt.close(fig)
    return {"coverage_by_decile": by_decile, "walk_times": walk}


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.0f}%"


def _mins(v) -> str:
    return f"over {HORIZON_MINUTES:g}" if v is None else f"{v:.0f}"


def _num(v) -> str:
    return "–" if v is None else (f"{v:,.0f}" if isinstance(v, (int, float)) else safe_text(v))


def report_html(result: GapResult, images: dict[str, tuple[bytes, bytes]]) -> str:
    """A self-contained HTML report (charts as data URIs, every text escaped, no scripts)."""
    e = safe_text  # the one escaper (kindmap.maps): HTML specials, backtick, $ and backslash
    q, t = result.query, result.totals
    est = result.method == "estimated"
    label = "estimated (straight-line distance × circuity; no path network)" if est else "walked on the path network"
    img = {k: base64.b64encode(v[0]).decode("ascii") for k, v in images.items()}
    deciles = "".join(
        f"<tr><td>{e(str(d['decile']) if d['decile'] is not None else 'unknown')}</td><td>{d['areas']}</td>"
        f"<td>{_num(d['households'])}</td><td>{_num(d['uncovered_households'])}</td><td>{_pct(d['share_covered'])}</td></tr>"
        for d in result.by_decile)
    top = sorted(result.areas, key=lambda a: -a["priority"])[:20]
    areas = "".join(
        f"<tr><td>{e(a['code'])}</td><td>{e(a['name'])}</td><td>{_num(a['households'])}</td>"
        f"<td>{_pct(a['share_covered'])}</td><td>{_mins(a['median_walk_minutes'])}</td>"
        f"<td>{_num(a['uncovered_households'])}</td><td>{e(str(a['deprivation_decile'] or '–'))}</td>"
        f"<td>{a['priority']:.0f}</td></tr>" for a in top)
    places = ", ".join(e(n) for n in sorted(result.places.names)[:60])
    notes = "".join(f"<li>{e(n)}</li>" for n in result.notes)
    slot_text = SLOTS[q.slot] or "any time"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>{e(result.region_name)}: welcoming places within {q.minutes:g} minutes' walk</title>
<style>body{{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}}
table{{border-collapse:collapse;margin:1rem 0}}td,th{{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}}
td:nth-child(2),th:nth-child(2){{text-align:left}}.est{{background:#fff3cd;padding:.5rem;border:1px solid #e0c060}}
img{{max-width:100%}}</style></head><body>
<h1>{e(result.region_name)}: where welcoming free places are out of walking reach</h1>
{'<p class="est"><strong>Estimated:</strong> this region has no path network, so walk times are straight-line distances × a detour factor, not routes.</p>' if est else ''}
<p><strong>{_pct(t['share_covered'])}</strong> of {_num(t['households'])} households live within {q.minutes:g} minutes' walk
({e(result.profile)} pace, {e(label)}) of one of {len(result.places)} welcoming places;
<strong>{_num(t['uncovered_households'])}</strong> households do not.
In the most deprived deciles (1–2): {_pct(t['most_deprived_share_covered'])} of {_num(t['most_deprived_households'])} households.</p>
<p>Within 5 / 10 / 15 / 20 minutes: {_pct(t.get('share_within_5'))} / {_pct(t.get('share_within_10'))} /
{_pct(t.get('share_within_15'))} / {_pct(t.get('share_within_20'))}.</p>
<h2>By deprivation decile</h2>
<table><tr><th>decile (1 = most deprived)</th><th>areas</th><th>households</th><th>beyond {q.minutes:g} min</th><th>within</th></tr>{deciles}</table>
<img alt="Share of households within reach by deprivation decile" src="data:image/png;base64,{img['coverage_by_decile']}">
<img alt="Households by walk time to the nearest place" src="data:image/png;base64,{img['walk_times']}">
<h2>Highest priority areas</h2>
<p>Priority = households beyond {q.minutes:g} min × (11 − decile)/10, scaled so the highest area is 100.</p>
<table><tr><th>code</th><th>name</th><th>households</th><th>within</th><th>median min</th><th>beyond</th><th>decile</th><th>priority</th></tr>{areas}</table>
<h2>Method</h2>
<ul><li>Households per small area (census) shared equally among the area's postcode centroids.</li>
<li>Places counted: {e(', '.join(q.categories or ()) or 'libraries, community centres and cafés, gardens, sheds, parks, arts centres')}
{'; free only' if q.free else ''}{'; drop-in only' if q.drop_in else ''}{'; step-free only' if q.step_free else ''};
time slot {e(q.slot)} ({e(slot_text)}).</li>
<li>E2SFCA score: weekly open hours per 1,000 households within reach ({e(q.decay)} distance decay to {q.minutes:g} min).</li>
{notes}</ul>
<p>Places: {places}{' …' if len(result.places) > 60 else ''}</p>
<p><small>{e(ATTRIBUTION)}</small></p>
</body></html>
"""


def _place_points(result: GapResult):
    return list(zip(result.places.lon.tolist(), result.places.lat.tolist(), result.places.names))


def write_outputs(result: GapResult, out: Path, *, settings: Settings) -> list[Path]:
    """Write every output into ``out`` atomically (temporary folder, then rename); returns the paths."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InvalidQuery(f"{out} exists and is not a folder; choose a folder for the outputs")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        write_gpkg(result, tmp / "areas.gpkg")
        write_csv(result, tmp / "areas.csv")
        title = f"{result.region_name}, {result.query.minutes:g} min ({result.profile}, {result.query.slot})"
        page = gaps_map_html(region_geojson(result)["features"], title=title, minutes=result.query.minutes,
                             method=result.method, tile_url=settings.tile_url, places=_place_points(result))
        (tmp / "map.html").write_text(page, encoding="utf-8")
        images = charts(result)
        for name, (png, svg) in images.items():
            (tmp / f"{name}.png").write_bytes(png)
            (tmp / f"{name}.svg").write_bytes(svg)
        (tmp / "report.html").write_text(report_html(result, images), encoding="utf-8")
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.old-{tmp.name[-8:]}")
            out.rename(old)
        tmp.rename(out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [out / f for f in FILES]
