"""The analysis kept between requests (services/gaps/baseline.py) is the analysis computed afresh, and
follows every change of the data behind it: a place, an area's households."""

from __future__ import annotations

from sqlmodel import select

from kindmap.db import write_session
from kindmap.models import Area, Place
from kindmap.services.gaps.analysis import GapQuery, analyse_gaps
from kindmap.services.gaps.baseline import baseline
from tests.test_gaps import seed


def test_cached_analysis_follows_every_change_of_the_data(settings, engine):
    ids = seed(engine)
    q = GapQuery(region="testville", minutes=15, slot="weekday_daytime")
    first = baseline(engine, settings, q)
    assert baseline(engine, settings, q) is first  # nothing changed: the same analysis
    fresh = analyse_gaps(engine, settings, q)
    assert first.result.totals == fresh.totals and first.result.areas == fresh.areas and first.result.by_decile == fresh.by_decile
    with write_session(engine) as s:  # a place changed
        s.get(Place, ids["Evening club"]).opening_hours = "Mo-Fr 09:00-17:00"
    second = baseline(engine, settings, q)
    assert second is not first and second.result.totals["covered_households"] == 70
    with write_session(engine) as s:  # an area's households changed (an import)
        s.exec(select(Area).where(Area.code == "T02")).one().households = 60
    third = baseline(engine, settings, q)
    assert third.result.totals == analyse_gaps(engine, settings, q).totals and third.result.totals["households"] == 160


def test_analyses_kept_are_bounded_by_their_size(settings, engine, monkeypatch):
    from kindmap.services.gaps import baseline as kept

    seed(engine)  # 5 postcodes
    monkeypatch.setattr(kept, "MAX_POINTS_KEPT", 12)
    first = baseline(engine, settings, GapQuery(region="testville", minutes=15))
    second = baseline(engine, settings, GapQuery(region="testville", minutes=10))
    assert baseline(engine, settings, GapQuery(region="testville", minutes=10)) is second
    third = baseline(engine, settings, GapQuery(region="testville", minutes=5))  # 15 points: the oldest goes
    assert baseline(engine, settings, GapQuery(region="testville", minutes=5)) is third
    assert baseline(engine, settings, GapQuery(region="testville", minutes=15)) is not first
    monkeypatch.setattr(kept, "MAX_POINTS_KEPT", 4)  # larger than the bound alone: computed, never kept
    q = GapQuery(region="testville", minutes=20)
    assert baseline(engine, settings, q) is not baseline(engine, settings, q)
