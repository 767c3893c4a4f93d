"""Gap analysis measures: coverage within each threshold, median walk, E2SFCA access, and the result tables.

Figures are per small area, per deprivation decile and for the whole region; no private data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kindmap.geo import coverage as cov
from kindmap.services.gaps.inputs import Demand, Supply
from kindmap.services.gaps.query import (
    DEFAULT_UNKNOWN_HOURS,
    HORIZON_MINUTES,
    MAX_SUPPLY_HOURS,
    MOST_DEPRIVED,
    NO_DATA_BELOW,
    THRESHOLDS,
    GapQuery,
)


@dataclass
class GapResult:
    """Per-area measures, the deprivation-decile view and region totals; no private data."""

    region: str
    region_name: str
    query: GapQuery
    profile: str
    method: str
    thresholds: tuple[float, ...]
    places: Supply
    areas: list[dict]
    by_decile: list[dict]
    totals: dict
    notes: list[str] = field(default_factory=list)
    point_minutes: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    point_weights: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    unknown_hours: dict = field(default_factory=dict)  # coverage with and without places of unknown hours
    sources: list[dict] = field(default_factory=list)  # the data behind it, with dates and licences
    deprivation_index: str | None = None  # e.g. 'IMD 2019'


def supply_weight(weekly: np.ndarray) -> np.ndarray:
    """E2SFCA supply: weekly open hours capped at MAX_SUPPLY_HOURS; unknown → DEFAULT_UNKNOWN_HOURS."""
    return np.minimum(np.where(np.isfinite(weekly), weekly, DEFAULT_UNKNOWN_HOURS), MAX_SUPPLY_HOURS)


def measure(demand: Demand, supply: Supply, times, q: GapQuery, *, minutes: np.ndarray | None = None,
            median: np.ndarray | None = None) -> dict:
    """Every measure for one supply set; ``minutes`` (nearest place per point) and ``median`` (the
    weighted median of ``minutes`` per area, as :func:`~kindmap.geo.coverage.weighted_median_by_group`
    gives it) may be given precomputed."""
    n = len(demand.code)
    if minutes is None:
        minutes = times.nearest(supply.lon, supply.lat, horizon=HORIZON_MINUTES)
    thresholds = tuple(sorted(set(THRESHOLDS) | {q.minutes}))
    covered = cov.covered_by_group(minutes, demand.weight, demand.area, n, thresholds=thresholds)
    at = covered[thresholds.index(q.minutes)]
    rows, cols, mins = times.pairs(supply.lon, supply.lat, threshold=q.minutes)
    W = cov.decay_matrix(rows, cols, mins, shape=(demand.lon.size, len(supply)), threshold=q.minutes, decay=q.decay)
    access = cov.e2sfca(W, demand.weight, supply_weight(supply.weekly_hours))
    score = cov.weighted_mean_by_group(access.score * 1000.0, demand.weight, demand.area, n)
    return {"minutes": minutes, "thresholds": thresholds, "covered": covered, "covered_at": at,
            "median": cov.weighted_median_by_group(minutes, demand.weight, demand.area, n) if median is None else median,
            "score": score}


def share(part: float, whole: float) -> float | None:
    """``part / whole``, or None when there is no whole."""
    return float(part / whole) if whole > 0 else None


def area_tables(demand: Demand, m: dict, q: GapQuery) -> tuple[list[dict], list[dict], dict]:
    """(per-area rows, per-decile rows, region totals) for one set of measures.

    Areas mostly outside the region's OpenStreetMap extract (``map_share`` < NO_DATA_BELOW) have
    no data to judge: they keep their row, but no priority and no part in decile or region shares.
    """
    all_hh = demand.households
    shares = demand.map_share if demand.map_share is not None else np.full(all_hh.size, np.nan)
    judged = ~(shares < NO_DATA_BELOW)  # NaN (no extract recorded) is judged, as before
    hh = np.where(judged, all_hh, 0.0)
    uncovered = all_hh - m["covered_at"]
    priority = np.where(judged, cov.priority_score(np.where(judged, uncovered, 0.0), demand.decile), 0.0)
    areas = []
    for i, code in enumerate(demand.code):
        med = m["median"][i]
        areas.append({
            "code": code, "name": demand.name[i], "households": int(all_hh[i]),
            "share_covered": share(m["covered_at"][i], hh[i]),
            **{f"share_within_{t:g}": share(m["covered"][k][i], hh[i]) for k, t in enumerate(m["thresholds"])},
            "median_walk_minutes": float(med) if np.isfinite(med) else None,
            "uncovered_households": float(uncovered[i]) if judged[i] else 0.0, "e2sfca_score": float(np.nan_to_num(m["score"][i])),
            "deprivation_rank": None if np.isnan(demand.rank[i]) else int(demand.rank[i]),
            "deprivation_decile": None if np.isnan(demand.decile[i]) else int(demand.decile[i]),
            "priority": float(priority[i]), "geometry_geojson": demand.geometry[i],
        })
    deciles = []
    covered_at = np.where(judged, m["covered_at"], 0.0)
    m = {**m, "covered_at": covered_at, "covered": [np.where(judged, c, 0.0) for c in m["covered"]]}
    for d in sorted({a["deprivation_decile"] for a, j in zip(areas, judged) if j}, key=lambda x: (x is None, x)):
        sel = np.array([a["deprivation_decile"] == d for a in areas]) & judged
        h, c = float(hh[sel].sum()), float(m["covered_at"][sel].sum())
        deciles.append({"decile": d, "areas": int(sel.sum()), "households": h, "covered_households": c,
                        "uncovered_households": h - c, "share_covered": share(c, h)})
    total_h, total_c = float(hh.sum()), float(m["covered_at"].sum())
    deprived = np.isin(demand.decile, MOST_DEPRIVED)
    totals = {"households": total_h, "covered_households": total_c, "uncovered_households": total_h - total_c,
              "share_covered": share(total_c, total_h),
              **{f"share_within_{t:g}": share(float(m["covered"][k].sum()), total_h) for k, t in enumerate(m["thresholds"])},
              "most_deprived_households": float(hh[deprived].sum()),
              "most_deprived_covered": float(m["covered_at"][deprived].sum()),
              "most_deprived_share_covered": share(float(m["covered_at"][deprived].sum()), float(hh[deprived].sum())),
              "no_data_areas": int((~judged).sum()), "no_data_households": float(all_hh[~judged].sum()),
              "households_with_map_data_share": share(total_h, float(all_hh.sum()))}
    return areas, deciles, totals
