"""What-if, a place opens for longer: the hours written, and the households gained checked against
the straightforward computation (the whole analysis rerun with the place's hours changed in the
database), on the synthetic region of tests/test_gaps.py and on real Rutland; the API's bounds,
roles and cost budget."""

from __future__ import annotations

import numpy as np
import pytest
from sqlmodel import select

from kindmap.db import write_session
from kindmap.errors import InvalidQuery
from kindmap.models import Area, Place
from kindmap.services.gaps.analysis import GapQuery, analyse_gaps
from kindmap.services.gaps.inputs import open_in_slot
from kindmap.services.gaps.longer_hours import added_times, extended_hours, week_mask
from kindmap.services.gaps.scenarios import longer_hours, places_to_extend, what_if
from kindmap.windows import parse_windows
from tests.test_gaps import seed


def _set_hours(engine, place_id: int, hours: str | None) -> None:
    with write_session(engine) as s:
        s.get(Place, place_id).opening_hours = hours


def _straightforward(engine, settings, q: GapQuery, place_id: int, hours_after: str) -> dict:
    """Gain by rerunning the whole (uncached) analysis before and after writing the new hours."""
    with write_session(engine) as s:
        before_text = s.get(Place, place_id).opening_hours
    before = analyse_gaps(engine, settings, q)
    _set_hours(engine, place_id, hours_after)
    try:
        after = analyse_gaps(engine, settings, q)
    finally:
        _set_hours(engine, place_id, before_text)
    deciles = {d["decile"]: d["covered_households"] for d in before.by_decile}
    return {"total": after.totals["covered_households"] - before.totals["covered_households"],
            "deprived": after.totals["most_deprived_covered"] - before.totals["most_deprived_covered"],
            "by_decile": {d["decile"]: d["covered_households"] - deciles[d["decile"]] for d in after.by_decile}}


@pytest.mark.parametrize(("hours", "add", "windows", "expected"), [
    (None, "weekday_evening", None, "Mo-Fr 17:00-21:00"),
    ("Mo-Fr 10:00-16:00", "weekday_evening", None, "Mo-Fr 10:00-16:00,17:00-21:00"),
    ("Mo-Fr 10:00-16:00", "weekend", None, "Mo-Su 10:00-16:00"),
    ("Mo-Fr 09:00-17:00; PH off", "free_times", None, "Mo-Fr 09:00-21:00; Sa,Su 10:00-16:00"),
    ("24/7", "weekend", None, "24/7"),
    ("Fr 22:00-02:00", "windows", "Sun 14:00-16:00", "Fr 22:00-24:00; Sa 00:00-02:00; Su 14:00-16:00"),
    ("Mo 10:00-12:00", "windows", "mon 11-13, wed 10:00-12:00", "Mo 10:00-13:00; We 10:00-12:00"),
    ("not hours at all", "weekend", None, "Sa,Su 10:00-16:00"),  # unreadable hours count as unknown
])
def test_hours_written_are_the_old_week_plus_the_added_times(hours, add, windows, expected):
    words, added = added_times(add, windows)
    text = extended_hours(hours, added)
    assert text == expected and words
    # Read back, the week is exactly the old open minutes plus the windows.
    mask = week_mask(None if hours == "not hours at all" else hours)
    for w in added:
        mask[w.weekday * 1440 + w.start_minute:w.weekday * 1440 + w.end_minute] = True
    assert np.array_equal(week_mask(text), mask)


def test_bad_extensions_say_what_to_fix():
    for add, windows, message in (("brunch", None, "unknown hours to add"), ("windows", None, "say which times"),
                                  ("windows", "  ", "say which times"), ("windows", "Tue 20:00-18:00", "ends before"),
                                  ("windows", "Caturday 10-12", "not a day name")):
        with pytest.raises(InvalidQuery, match=message):
            added_times(add, windows)
    # 9 short windows a day, a minute later each day: no two days alike, far past OSM's 255 characters
    many = ",".join(f"{d} {h:02d}:{i:02d}-{h:02d}:30" for i, d in enumerate(("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"))
                    for h in range(0, 18, 2))
    with pytest.raises(InvalidQuery, match="characters"):
        extended_hours(None, parse_windows(many))


def test_synthetic_gain_equals_the_whole_analysis_rerun(settings, engine):
    ids = seed(engine)
    library = ids[next(k for k in ids if k.startswith("<script>"))]
    # Evenings: only the evening club (5000 m) is open; the library (0 m) opening evenings reaches
    # A's 200 m postcode (50 households, decile 1) and B's 500 m one (10, decile 9).
    q = GapQuery(region="testville", minutes=15, slot="weekday_evening")
    r = longer_hours(engine, settings, q, place_id=library, add="weekday_evening")
    assert r["change_covered_households"] == pytest.approx(60.0)
    assert r["change_by_decile"] == {1: pytest.approx(50.0), 9: pytest.approx(10.0)}
    assert r["change_most_deprived_covered"] == pytest.approx(50.0)
    assert r["place"]["hours_after"] == "Mo-Fr 10:00-16:00,17:00-21:00"
    assert (r["place"]["open_in_slot_before"], r["place"]["open_in_slot_after"], r["places_after"]) == (False, True, 2)
    cases = [(q, library, "weekday_evening", None), (q, library, "weekend", None), (q, library, "windows", "Tue 18:00-19:00"),
             (q, ids["Evening club"], "free_times", None),
             (GapQuery(region="testville", minutes=15, slot="weekday_daytime"), ids["Evening club"], "weekday_daytime", None),
             (GapQuery(region="testville", minutes=10, slot="weekday_daytime"), ids["Evening club"], "free_times", None),
             (GapQuery(region="testville", minutes=15), library, "weekend", None)]
    for query, pid, add, windows in cases:
        got = longer_hours(engine, settings, query, place_id=pid, add=add, windows=windows)
        want = _straightforward(engine, settings, query, pid, got["place"]["hours_after"])
        assert got["change_covered_households"] == pytest.approx(want["total"], abs=1e-9), (add, query)
        assert got["change_most_deprived_covered"] == pytest.approx(want["deprived"], abs=1e-9)
        assert got["change_by_decile"] == pytest.approx(want["by_decile"], abs=1e-9)
        # and the general what-if, changing the hours outright, agrees
        general = what_if(engine, settings, query, hours={pid: got["place"]["hours_after"]})
        assert got["after"]["by_decile"] == pytest.approx(general["after"]["by_decile"])
        assert got["after"]["covered_households"] == pytest.approx(general["after"]["covered_households"])
        assert got["places_after"] == general["places_after"]
    # "Any time" counts every place whatever its hours: longer hours change nothing.
    anytime = longer_hours(engine, settings, GapQuery(region="testville"), place_id=library, add="free_times")
    assert anytime["change_covered_households"] == 0 and anytime["place"]["open_in_slot_before"]


def test_unknown_hours_counted_as_open_can_close_in_the_slot(settings, engine):
    ids = seed(engine)
    _set_hours(engine, ids["Evening club"], None)
    q = GapQuery(region="testville", minutes=15, slot="weekday_daytime", include_unknown_hours=True)
    got = longer_hours(engine, settings, q, place_id=ids["Evening club"], add="weekend")
    assert (got["place"]["open_in_slot_before"], got["place"]["open_in_slot_after"]) == (True, False)
    want = _straightforward(engine, settings, q, ids["Evening club"], got["place"]["hours_after"])
    assert got["change_covered_households"] == pytest.approx(want["total"]) == -10.0


def test_places_to_extend_and_a_place_not_counted(settings, engine):
    ids = seed(engine)
    q = GapQuery(region="testville", minutes=15, slot="weekday_evening")
    listed = places_to_extend(engine, settings, q)["places"]
    assert {p["place_id"]: p["open_in_slot"] for p in listed} == {ids["Evening club"]: True,
                                                                  ids[next(k for k in ids if k.startswith("<"))]: False}
    with pytest.raises(InvalidQuery, match="not among"):
        longer_hours(engine, settings, q, place_id=ids["Hall"], add="weekend")  # a place of worship: not counted


def test_api_longer_hours_bounds_roles_and_budget(client, engine, settings):
    from tests.test_review import _user

    ids = seed(engine)
    library = ids[next(k for k in ids if k.startswith("<"))]
    body = {"region": "testville", "slot": "weekday_evening", "place_id": library, "add": "weekday_evening"}
    assert client.post("/api/gaps/what-if/hours", json=body).status_code == 401
    carer, _ = _user(engine, "carer")
    assert client.post("/api/gaps/what-if/hours", json=body, headers=carer).status_code == 403
    analyst, _ = _user(engine, "council_analyst")
    listed = client.get("/api/gaps/places", params={"region": "testville", "slot": "weekday_evening"}, headers=analyst)
    assert listed.status_code == 200 and [p["name"] for p in listed.json()["places"]][0].startswith("<script>")
    r = client.post("/api/gaps/what-if/hours", json=body, headers=analyst)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["change_covered_households"] == pytest.approx(60.0) and out["change_by_decile"] == {"1": 50.0, "9": 10.0}
    assert out["place"]["hours_after"] == "Mo-Fr 10:00-16:00,17:00-21:00" and out["place"]["open_in_slot_after"]
    for bad, where in (({**body, "place_id": ids["Hall"]}, "not among"), ({**body, "add": "windows"}, "say which times"),
                       ({**body, "add": "windows", "windows": "Tue 9-8"}, "ends before"), ({**body, "minutes": 0}, "minutes"),
                       ({**body, "add": "brunch"}, "add"), ({**body, "windows": "x" * 301}, "windows"),
                       ({**body, "region": "narnia"}, "unknown region")):
        res = client.post("/api/gaps/what-if/hours", json=bad, headers=analyst)
        assert res.status_code in (404, 422) and where in res.text, (bad, res.status_code, res.text)
    # Both what-ifs draw on the per-client cost budget; refused requests are given back.
    budget = client.app.state.cost_budget
    spent = []
    original = budget.spend
    budget.spend = lambda who, cost: (spent.append(cost), original(who, cost))[1]
    try:
        client.post("/api/gaps/what-if/hours", json=body, headers=analyst)
        client.post("/api/gaps/what-if", json={"region": "testville", "add": []}, headers=analyst)
    finally:
        budget.spend = original
    assert len(spent) == 2 and all(c >= 1 for c in spent)


def test_rutland_gains_equal_the_whole_analysis_rerun(rutland, tmp_path):
    from kindmap.config import Settings
    from kindmap.db import make_engine
    from tests.conftest import copy_database

    settings0, engine0, _ = rutland
    url = copy_database(settings0.database_url, folder=tmp_path, name="rutland-hours")
    settings = Settings(database_url=url, data_dir=settings0.data_dir, state_dir=settings0.state_dir)
    engine = make_engine(url, settings=settings)
    try:
        q = GapQuery(region="rutland", minutes=15, slot="weekday_evening")
        listed = places_to_extend(engine, settings, q)["places"]
        closed = [p for p in listed if not p["open_in_slot"]]
        assert len(listed) > 20 and closed
        gains = []
        for p in closed[:: max(1, len(closed) // 4)][:4]:
            got = longer_hours(engine, settings, q, place_id=p["place_id"], add="weekday_evening")
            want = _straightforward(engine, settings, q, p["place_id"], got["place"]["hours_after"])
            assert open_in_slot([got["place"]["hours_after"]], q.slot, include_unknown=False)[0]
            assert got["change_covered_households"] == pytest.approx(want["total"], abs=1e-6)
            assert got["change_by_decile"] == pytest.approx(want["by_decile"], abs=1e-6)
            gains.append(got["change_covered_households"])
        assert any(g > 0 for g in gains)
    finally:
        engine.dispose()
