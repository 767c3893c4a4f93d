"""The "councils side by side" part of the gap report: a table, a chart (PNG for the PDF, SVG beside it)
and the sentences to read them by (:mod:`kindmap.services.gaps.compare`).

Every text is escaped with :func:`kindmap.maps.safe_text`; council names are drawn as plain text,
never as mathtext. Aggregates only.
"""

from __future__ import annotations

import base64
import io

from kindmap.maps import safe_text
from kindmap.services.gaps.compare import Comparison, CouncilRow

SERIES = ("#1b4f9c", "#b35806", "#1a7837", "#762a83", "#8c2d04", "#01665e", "#c51b7d", "#4d4d4d")


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.0f}%"


def _deprived_cell(r: CouncilRow, t: int) -> str:
    if r.problem or r.households_with_map_data <= 0:
        return "–"
    if not r.deprived_areas:
        return "no areas"
    return _pct(r.deprived_shares.get(t))


def councils_chart(c: Comparison) -> tuple[bytes, bytes]:
    """Two panels of grouped bars, one bar per council at each walk: all households, and deciles 1–2 (PNG, SVG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = c.rows
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.8), sharey=True)
    x = np.arange(len(c.thresholds))
    width = 0.8 / max(len(rows), 1)
    for ax, title, key in ((axes[0], "All households", "shares"), (axes[1], "Deciles 1–2 of each council's own index", "deprived_shares")):
        for k, r in enumerate(rows):
            values = [getattr(r, key).get(t) for t in c.thresholds]
            heights = [100 * v if v is not None else 0 for v in values]
            label = f"{r.name} ({r.deprivation_index})" if r.deprivation_index else r.name
            ax.bar(x - 0.4 + width * (k + 0.5), heights, width, color=SERIES[k % len(SERIES)], label=label)
        ax.set_xticks(x, [f"{t} min" for t in c.thresholds])
        ax.set_ylim(0, 100)
        ax.set_title(title, parse_math=False)
    axes[0].set_ylabel("% households within the walk")
    axes[0].legend(loc="upper center", bbox_to_anchor=(1.05, -0.12), ncol=min(len(rows), 3), fontsize=8, frameon=False)
    for text in axes[0].get_legend().get_texts():
        text.set_parse_math(False)  # council names are data
    missing = [r.name for r in rows if not r.problem and r.households_with_map_data > 0 and not r.deprived_areas]
    if missing:
        axes[1].text(0.5, -0.28, "No areas in deciles 1–2: " + ", ".join(missing), transform=axes[1].transAxes,
                     ha="center", va="top", fontsize=8, parse_math=False)
    fig.suptitle("Councils side by side: households within a walk of a welcoming place", parse_math=False)
    png, svg = io.BytesIO(), io.BytesIO()
    fig.savefig(png, format="png", dpi=110, bbox_inches="tight")
    fig.savefig(svg, format="svg", bbox_inches="tight")
    plt.close(fig)
    return png.getvalue(), svg.getvalue()


def councils_html(c: Comparison, chart_png: bytes | None) -> str:
    """The section for report.html: sentences, the table and (with two councils or more) the chart."""
    e = safe_text
    sentences = "".join(f"<p>{e(s)}</p>" for s in c.sentences)
    if not c.rows:
        return f'<section id="councils"><h2>Councils side by side</h2>{sentences}</section>'
    head = "".join(f"<th>{t} min</th>" for t in c.thresholds)
    body = "".join(
        f"<tr><td class=l>{e(r.name)}<br><span class=code>{e(r.code or r.region)}</span></td>"
        f"<td class=l>{e(r.deprivation_index or 'not known')}</td><td>{_pct(r.map_data_share)}</td>"
        + "".join(f"<td>{'–' if r.problem else _pct(r.shares.get(t))}</td>" for t in c.thresholds)
        + "".join(f"<td>{_deprived_cell(r, t)}</td>" for t in c.thresholds) + "</tr>"
        for r in c.rows)
    table = (f"<table><caption>Share of households within a walk of a welcoming place "
             f"(households with map data only)</caption>"
             f"<tr><th class=l rowspan=2>council</th><th class=l rowspan=2>deprivation index</th>"
             f"<th rowspan=2>households covered by map data</th><th colspan={len(c.thresholds)}>all households</th>"
             f"<th colspan={len(c.thresholds)}>deciles 1–2</th></tr><tr>{head}{head}</tr>{body}</table>")
    figure = ""
    if chart_png is not None and len(c.rows) > 1:
        data = base64.b64encode(chart_png).decode("ascii")
        figure = (f'<figure><img alt="Bar charts of the table above: for each council, the share of all households '
                  f'and of households in deciles 1–2 within 5, 10, 15 and 20 minutes\' walk" '
                  f'src="data:image/png;base64,{data}"></figure>')
    return f'<section id="councils"><h2>Councils side by side</h2>{sentences}{table}{figure}</section>'
