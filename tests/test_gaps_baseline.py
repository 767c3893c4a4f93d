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
