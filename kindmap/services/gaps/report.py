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
from collections import Counter
from pathlib import Path

import numpy as np

from kindmap.config import ATTRIBUTION, Settings
from kindmap.errors import DataError, InvalidQuery
from kindmap.maps import gaps_map_html, safe_text
from kindmap.services.catalogue.export import neutralise
from kindmap.services.gaps.analysis import region_geojson
from kindmap.services.gaps.compare import Comparison
from kindmap.services.gaps.councils_report import councils_chart, councils_html
from kindmap.services.gaps.measure import GapResult
from kindmap.services.gaps import words
from kindmap.services.gaps.query import HORIZON_MINUTES, THRESHOLDS

CSV_COLUMNS = ("code", "name", "households", "share_covered", "median_walk_minutes", "uncovered_households",
               "e2sfca_score", "deprivation_rank", "deprivation_decile", "priority", "method")
FILES = ("areas.gpkg", "areas.csv", "map.html", "coverage_by_decile.png", "coverage_by_decile.svg",
         "coverage_by_minutes.png", "coverage_by_minutes.svg", "walk_times.png", "walk_times.svg",
         "area_map.png", "area_map.svg", "councils.png", "councils.svg", "report.html", "report.pdf")


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
    """Coverage by deprivation decile, coverage at 5/10/15/20 minutes, the walk-time distribution and
    a map of the small areas (PNG, SVG bytes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    est = " (estimated)" if result.method == "estimated" else ""
    rows = [d for d in result.by_decile if d["decile"] is not None]
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    ax.bar([str(d["decile"]) for d in rows], [100 * (d["share_covered"] or 0) for d in rows], color="#2c7fb8")
    total = result.totals["share_covered"] or 0
    ax.axhline(100 * total, color="#555", linestyle="--", linewidth=1, label=f"whole area {100 * total:.0f}%")
    ax.set_xlabel("deprivation decile (1 = most deprived)")
    ax.set_ylabel(f"% households within {result.query.minutes:g} min")
    ax.set_ylim(0, 100)
    ax.set_title(f"{result.region_name}: walking reach by deprivation decile{est}", **_PLAIN)
    ax.legend(loc="lower right")
    by_decile = _figure_bytes(fig)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.5, 3.0))
    steps = [t for t in THRESHOLDS]
    values = [100 * (result.totals.get(f"share_within_{t:g}") or 0) for t in steps]
    bars = ax.bar([f"{t} min" for t in steps], values, color=["#9ecae1", "#6baed6", "#3182bd", "#08519c"])
    for bar, v in zip(bars, values):
        ax.annotate(f"{v:.0f}%", (bar.get_x() + bar.get_width() / 2, v), ha="center", va="bottom", fontsize=9)
    ax.set_ylim(0, 110)
    ax.set_ylabel("% households within")
    ax.set_title(f"{result.region_name}: households within 5, 10, 15 and 20 minutes' walk{est}", **_PLAIN)
    by_minutes = _figure_bytes(fig)
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
    return {"coverage_by_decile": by_decile, "coverage_by_minutes": by_minutes, "walk_times": walk,
            "area_map": area_map(result)}


MAP_COLOURS = ("#800026", "#e31a1c", "#fd8d3c", "#fed976", "#ffffcc")  # 0–20% … 80–100% within reach


def coverage_colour(share: float | None) -> str:
    """The map colour for a share of households within reach (dark = few within reach)."""
    if share is None:
        return "#ffffff"
    return MAP_COLOURS[min(int(share * len(MAP_COLOURS)), len(MAP_COLOURS) - 1)]


DECILE_COLOURS = ("#3f007d", "#54278f", "#6a51a3", "#807dba", "#9e9ac8", "#bcbddc", "#dadaeb", "#efedf5", "#f7f5fb",
                  "#fcfbfd")  # decile 1 (most deprived, darkest) … 10


def _draw_areas(ax, result: GapResult, colour_of) -> None:
    from shapely.geometry import shape

    lats = []
    for a in result.areas:
        geom = shape(json.loads(a["geometry_geojson"]))
        for poly in getattr(geom, "geoms", [geom]):
            if not hasattr(poly, "exterior"):
                continue
            x, y = poly.exterior.xy
            lats.extend(y)
            colour = colour_of(a)
            if colour is None:
                ax.fill(x, y, facecolor="#ffffff", edgecolor="#555555", hatch="////", linewidth=0.5)
            else:
                ax.fill(x, y, facecolor=colour, edgecolor="#555555", linewidth=0.5)
    if lats:
        ax.set_aspect(1 / np.cos(np.radians(np.mean(lats))))
    ax.set_axis_off()


def area_map(result: GapResult) -> tuple[bytes, bytes]:
    """Side by side: the small areas coloured by share of households within reach ("no data" hatched),
    and by deprivation decile; each with its legend below it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    fig, (left, right) = plt.subplots(1, 2, figsize=(9.5, 5.6))
    _draw_areas(left, result, lambda a: None if a.get("no_data") else coverage_colour(a["share_covered"]))
    _draw_areas(right, result, lambda a: None if a["deprivation_decile"] is None else DECILE_COLOURS[a["deprivation_decile"] - 1])
    hatch = Patch(facecolor="#ffffff", edgecolor="#555555", hatch="////", label="no data")
    reach = [Patch(facecolor=c, edgecolor="#555555", label=f"{lo}–{lo + 20}%") for c, lo in zip(MAP_COLOURS, range(0, 100, 20))]
    left.legend(handles=reach + [hatch], loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3, fontsize=8, frameon=False,
                title=f"households within {result.query.minutes:g} minutes' walk", title_fontsize=9)
    dec = [Patch(facecolor=c, edgecolor="#555555", label=str(i + 1) + (" most deprived" if i == 0 else " least" if i == 9 else ""))
           for i, c in enumerate(DECILE_COLOURS)]
    right.legend(handles=dec + [Patch(facecolor="#ffffff", edgecolor="#555555", hatch="////", label="not known")],
                 loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=4, fontsize=8, frameon=False,
                 title=f"deprivation decile ({result.deprivation_index or 'national index'})", title_fontsize=9)
    left.set_title("Walking reach", **_PLAIN)
    right.set_title("Deprivation", **_PLAIN)
    fig.suptitle(f"{result.region_name}: small areas", **_PLAIN)
    out = _figure_bytes(fig)
    plt.close(fig)
    return out


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.0f}%"


def _mins(v) -> str:
    return f"over {HORIZON_MINUTES:g}" if v is None else f"{v:.0f}"


def _num(v) -> str:
    return "–" if v is None else (f"{v:,.0f}" if isinstance(v, (int, float)) else safe_text(v))


def grouped_names(names) -> list[str]:
    """Place names once each, with how many share a name ("Park (unnamed) × 20"), sorted."""
    counts = Counter(n for n in names)
    return [n if c == 1 else f"{n} × {c}" for n, c in sorted(counts.items(), key=lambda nc: (nc[0].casefold(), nc[0]))]


REPORT_CSS = """body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.6rem;line-height:1.2}h2{font-size:1.2rem;margin-top:1.6rem}
.lead{font-size:1.1rem}.lead p{margin:.4rem 0}
.box{border:2px solid #1b4f9c;background:#f2f6fc;padding:.5rem 1rem;margin:1rem 0}
.box h2{margin:.3rem 0;font-size:1.1rem}.box ul{margin:.3rem 0;padding-left:1.2rem}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #bbb;padding:.25rem .5rem;text-align:right;vertical-align:top}
th{background:#f4f4f4}td.l,th.l{text-align:left}.code{font-size:.8em;color:#555}
.est{background:#fff3cd;padding:.5rem;border:1px solid #e0c060}
img{max-width:100%}figure{margin:1rem 0;page-break-inside:avoid}table,tr{page-break-inside:avoid}
@page{size:A4;margin:15mm}"""


def report_html(result: GapResult, images: dict[str, tuple[bytes, bytes]], comparison: Comparison | None = None) -> str:
    """A self-contained HTML report (charts as data URIs, every text escaped, no scripts): the headline in
    sentences, the method and assumptions in a box at the top, map and charts, the areas to look at first
    by the names people know, the councils loaded side by side (with ``comparison``; its chart is
    ``images["councils"]``), data sources with dates and licences."""
    e = safe_text  # the one escaper (kindmap.maps): HTML specials, backtick, $ and backslash
    q, t = result.query, result.totals
    img = {k: base64.b64encode(v[0]).decode("ascii") for k, v in images.items()}
    lead = "".join(f"<p>{e(s)}</p>" for s in words.headline(result))
    assumptions = "".join(f"<li>{e(s)}</li>" for s in words.assumptions(result))
    deciles = "".join(
        f"<tr><td class=l>{e(_decile_name(d['decile']))}</td><td>{d['areas']}</td>"
        f"<td>{_num(d['households'])}</td><td>{_pct(d['share_covered'])}</td><td>{_num(d['uncovered_households'])}</td></tr>"
        for d in result.by_decile)
    minutes = "".join(f"<tr><td class=l>{m} minutes</td><td>{_pct(t.get(f'share_within_{m}'))}</td></tr>" for m in THRESHOLDS)
    top = [a for a in sorted(result.areas, key=lambda a: -a["priority"]) if a["priority"] > 0][:20]
    areas = "".join(
        f"<tr><td class=l>{e(a.get('label') or a['name'])}<br><span class=code>{e(a['name'])} · {e(a['code'])}</span></td>"
        f"<td>{_num(a['households'])}</td><td>{_pct(a['share_covered'])}</td><td>{_mins(a['median_walk_minutes'])}</td>"
        f"<td>{_num(a['uncovered_households'])}</td><td>{e(str(a['deprivation_decile'] or '–'))}</td>"
        f"<td>{a['priority']:.0f}</td></tr>" for a in top)
    areas_part = (f"<table><tr><th class=l>area</th><th>households</th><th>within {q.minutes:g} min</th><th>median walk (min)</th>"
                  f"<th>households beyond</th><th>decile</th><th>priority</th></tr>{areas}</table>" if top else
                  "<p>No area has households beyond the walk.</p>")
    names = grouped_names(result.places.names)
    places = ", ".join(e(n) for n in names[:80]) + (f" and {len(names) - 80} more" if len(names) > 80 else "")
    sources = "".join(
        f"<tr><td class=l>{e(s['what'])}<br><span class=code>{e(s['file'])}</span></td><td class=l>{e(s['data_date'] or '–')}</td>"
        f"<td class=l>{e(s['imported'] or '–')}</td><td class=l>{e(s['licence'])}</td></tr>" for s in result.sources)
    sources_part = (f"<table><tr><th class=l>data</th><th class=l>dated</th><th class=l>imported</th><th class=l>licence</th></tr>"
                    f"{sources}</table>" if sources else "<p>No import records are kept for this area.</p>")
    other_notes = "".join(f"<li>{e(n)}</li>" for n in result.notes if "no opening hours" not in n)
    return f"""<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>{e(result.region_name)}: welcoming places within {q.minutes:g} minutes' walk</title>
<style>{REPORT_CSS}</style></head><body>
<h1>{e(result.region_name)}: who can walk to a welcoming, free place</h1>
{f'<p class="est"><strong>Estimated:</strong> {e(words.estimated_sentence(result))}</p>' if result.method == "estimated" else ''}
<div class="lead" id="headline">{lead}</div>
<section class="box" id="assumptions"><h2>Method and assumptions</h2><ul>{assumptions}{other_notes}</ul></section>
<figure><img alt="Map of {e(result.region_name)}'s small areas coloured by the share of households within {q.minutes:g} minutes' walk; areas without data hatched" src="data:image/png;base64,{img['area_map']}"></figure>
<h2>Within 5, 10, 15 and 20 minutes</h2>
<table><tr><th class=l>walk of at most</th><th>households within</th></tr>{minutes}</table>
<figure><img alt="Share of households within 5, 10, 15 and 20 minutes' walk" src="data:image/png;base64,{img['coverage_by_minutes']}"></figure>
<h2>By deprivation decile</h2>
<table><tr><th class=l>decile (1 = most deprived)</th><th>small areas</th><th>households</th><th>within {q.minutes:g} min</th><th>beyond</th></tr>{deciles}</table>
<figure><img alt="Share of households within reach by deprivation decile" src="data:image/png;base64,{img['coverage_by_decile']}"></figure>
<figure><img alt="Households by walk time to the nearest place" src="data:image/png;base64,{img['walk_times']}"></figure>
<h2>Areas to look at first</h2>
<p>Priority = households beyond {q.minutes:g} minutes × (11 − decile) ÷ 10, scaled so the highest area is 100.</p>
{areas_part}
{councils_html(comparison, images.get("councils", (None,))[0]) if comparison is not None else ""}
<h2>Places counted ({len(result.places)})</h2>
<p>{places}</p>
<h2>Data sources</h2>
{sources_part}
<p><small>{e(ATTRIBUTION)}</small></p>
</body></html>
"""


def _decile_name(d) -> str:
    if d is None:
        return "not known"
    return {1: "1 (most deprived)", 10: "10 (least deprived)"}.get(d, str(d))


def report_pdf(html_text: str) -> bytes:
    """The report as a PDF (WeasyPrint; A4). Raises DataError saying what to install when Pango is missing."""
    try:
        import weasyprint
    except OSError as exc:  # WeasyPrint needs the Pango library from the system
        raise DataError(f"the PDF report needs the Pango library (Debian/Ubuntu: apt install libpango-1.0-0): {exc}") from exc
    from weasyprint.urls import URLFetcher

    # The report carries its images as data: URIs; nothing else may be fetched (no file, no network).
    fetcher = URLFetcher(allowed_protocols={"data"}, allow_redirects=False)
    return weasyprint.HTML(string=html_text, url_fetcher=fetcher).write_pdf()


def _place_points(result: GapResult):
    return list(zip(result.places.lon.tolist(), result.places.lat.tolist(), result.places.names))


def with_councils(images: dict[str, tuple[bytes, bytes]], comparison: Comparison | None) -> dict[str, tuple[bytes, bytes]]:
    """The charts plus the councils chart when there are councils to set side by side."""
    if comparison is not None and len(comparison.rows) > 1:
        images = {**images, "councils": councils_chart(comparison)}
    return images


def write_outputs(result: GapResult, out: Path, *, settings: Settings, comparison: Comparison | None = None) -> list[Path]:
    """Write every output into ``out`` atomically (temporary folder, then rename); returns the paths.
    With ``comparison`` the report has the councils side by side (and councils.png/.svg)."""
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
        images = with_councils(charts(result), comparison)
        for name, (png, svg) in images.items():
            (tmp / f"{name}.png").write_bytes(png)
            (tmp / f"{name}.svg").write_bytes(svg)
        report = report_html(result, images, comparison)
        (tmp / "report.html").write_text(report, encoding="utf-8")
        try:
            (tmp / "report.pdf").write_bytes(report_pdf(report))
        except DataError:  # no Pango on this machine: every other output is still worth having
            pass
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
    return [out / f for f in FILES if (out / f).exists()]
