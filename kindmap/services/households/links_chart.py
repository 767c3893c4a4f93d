"""A chart of one household's community links over time, by outcome (matplotlib, Agg backend).

Monthly stacked bars: how many links were recorded each month as tried it / enjoyed /
going regularly / not for us. No label, note or place name is drawn, so the image
carries nothing that identifies the household.
"""

from __future__ import annotations

import io
from collections import Counter
from datetime import date, datetime

import matplotlib

matplotlib.use("Agg")  # no display on a server; set before pyplot is imported
import matplotlib.pyplot as plt  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from kindmap.models.accounts import User  # noqa: E402
from kindmap.models.households import LinkLog, Outcome  # noqa: E402
from kindmap.services.households.audit import record  # noqa: E402
from kindmap.services.households.records import visible_household  # noqa: E402

OUTCOMES = ((Outcome.tried, "Tried it", "#9ecae1"), (Outcome.enjoyed, "Enjoyed", "#4292c6"),
            (Outcome.regular, "Going regularly", "#08519c"), (Outcome.not_for_us, "Not for us", "#bdbdbd"))
FORMATS = {"png": "image/png", "svg": "image/svg+xml"}


def _months(first: date, last: date) -> list[date]:
    months, at = [], date(first.year, first.month, 1)
    while at <= last:
        months.append(at)
        at = date(at.year + (at.month == 12), at.month % 12 + 1, 1)
    return months


def monthly_counts(rows: list[tuple[date, Outcome]]) -> tuple[list[date], dict[Outcome, list[int]]]:
    """Months from the first to the last link, and per outcome the links recorded in each."""
    if not rows:
        return [], {o: [] for o, _l, _c in OUTCOMES}
    counts = Counter((date(on.year, on.month, 1), Outcome(outcome)) for on, outcome in rows)
    months = _months(min(r[0] for r in rows), max(r[0] for r in rows))
    return months, {o: [counts[(m, o)] for m in months] for o, _l, _c in OUTCOMES}


def render(months: list[date], series: dict[Outcome, list[int]], *, fmt: str = "png") -> bytes:
    """The chart as PNG or SVG bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    try:
        if not months:
            ax.text(0.5, 0.5, "No links recorded yet", ha="center", va="center", fontsize=16, transform=ax.transAxes)
            ax.set_axis_off()
        else:
            bottom = [0] * len(months)
            x = list(range(len(months)))
            for outcome, label, colour in OUTCOMES:
                values = series[outcome]
                ax.bar(x, values, bottom=bottom, label=label, color=colour, edgecolor="white")
                bottom = [b + v for b, v in zip(bottom, values)]
            ax.set_xticks(x, [m.strftime("%b %Y") for m in months], rotation=45 if len(months) > 6 else 0, ha="right"
                          if len(months) > 6 else "center")
            ax.set_ylabel("Links recorded")
            ax.yaxis.get_major_locator().set_params(integer=True)
            ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))  # beside, never over, the bars
            ax.spines[["top", "right"]].set_visible(False)
        ax.set_title("Community links over time", fontsize=14)
        fig.tight_layout()
        out = io.BytesIO()
        fig.savefig(out, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
        return out.getvalue()
    finally:
        plt.close(fig)


def links_chart(session: Session, user: User, household_id: int, *, fmt: str = "png",
                now: datetime | None = None) -> bytes:
    """The household's links chart (audited as a read of its links log)."""
    visible_household(session, user, household_id)
    record(session, user=user, household_id=household_id, action="read_links", detail=f"chart {fmt}", now=now)
    rows = session.exec(select(LinkLog.on, LinkLog.outcome).where(LinkLog.household_id == household_id)).all()
    months, series = monthly_counts([(on, outcome) for on, outcome in rows])
    return render(months, series, fmt=fmt)
