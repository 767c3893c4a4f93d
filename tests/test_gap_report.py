"""The gap report a council takes to a meeting: headline sentences right in every edge case, the
method and assumptions box at the top (unknown hours, with and without), grouped place names, data
sources, and the same report as a PDF (WeasyPrint) with its headline, assumptions and charts."""

from __future__ import annotations

import copy
import io
import re

import pytest

from kindmap.db import write_session
from kindmap.models import Place, Region
from kindmap.services.gaps import words
from kindmap.services.gaps.analysis import GapQuery, analyse_gaps
from kindmap.services.gaps.report import grouped_names, write_outputs
from tests.test_gaps import _pt, seed


@pytest.fixture
def result(settings, engine):
    seed(engine)
    return analyse_gaps(engine, settings, GapQuery(region="testville", minutes=15))


def _with(result, *, covered: dict[int, float] | None = None, deciles: dict[int, int] | None = None, households=None):
    """A copy of ``result`` with per-decile covered households / decile numbers / households replaced."""
    r = copy.deepcopy(result)
    for d in r.by_decile:
        if households is not None:
            d["households"] = households.get(d["decile"], d["households"])
        if covered is not None:
            d["covered_households"] = covered.get(d["decile"], d["covered_households"])
        if deciles is not None:
            d["decile"] = deciles.get(d["decile"], d["decile"])
    t = r.totals
    t["households"] = sum(d["households"] for d in r.by_decile)
    t["covered_households"] = sum(d["covered_households"] for d in r.by_decile)
    deprived = [d for d in r.by_decile if d["decile"] in (1, 2)]
    t["most_deprived_households"] = sum(d["households"] for d in deprived)
    t["most_deprived_covered"] = sum(d["covered_households"] for d in deprived)
    return r


def test_headline_in_the_ordinary_case(result):
    # Area A (decile 1): 50 of 100 within reach; area B (decile 9): 20 of 30 (at any time the evening club counts).
    assert words.headline(result) == [
        "54% of households in Testville (70 of 130) live within 15 minutes' walk of a welcoming, free place; "
        "60 households do not.",
        "In the 1 small area among the most deprived 20% nationally, 50% of households are within reach "
        "(50 of 100), against 67% elsewhere in Testville.",
    ]


def test_headline_when_every_household_is_within_reach(result):
    r = _with(result, covered={1: 100, 9: 30})
    assert words.headline(r) == [
        "Every household in Testville (130 households) lives within 15 minutes' walk of a welcoming, free place.",
        "In the 1 small area among the most deprived 20% nationally, every household (100 households) is within "
        "reach, against 100% elsewhere in Testville.",
    ]


def test_headline_when_no_household_is_within_reach(result):
    r = _with(result, covered={1: 0, 9: 0})
    assert words.headline(r) == [
        "No household in Testville lives within 15 minutes' walk of a welcoming, free place: all 130 households "
        "are further away.",
        "In the 1 small area among the most deprived 20% nationally, no household is within reach (100 households), "
        "against 0% elsewhere in Testville.",
    ]


def test_headline_when_no_area_is_in_the_most_deprived_deciles(result):
    r = _with(result, deciles={1: 5})
    r.deprivation_index = "IMD 2019"
    text = " ".join(words.headline(r))
    assert "None of Testville's small areas is among the most deprived 20% nationally (IMD 2019 deciles 1–2)." in text
    assert "–" not in text.replace("1–2", "") and " of 0 " not in text and "None%" not in text


def test_headline_with_no_households_and_a_time_slot(result):
    r = _with(result, households={1: 0, 9: 0}, covered={1: 0, 9: 0})
    r.query = GapQuery(region="testville", minutes=10, slot="weekend")
    assert words.headline(r)[0] == ("No households are recorded in Testville's small areas, so walking reach cannot be "
                                    "measured.")
    ok = _with(result)
    ok.query = GapQuery(region="testville", minutes=10, slot="weekend")
    assert "welcoming, free place open at weekends (Sat–Sun 10am–4pm)" in words.headline(ok)[0]


def test_percentages_never_round_to_a_false_all_or_none():
    assert words.percent(0.996) == "over 99%" and words.percent(0.004) == "under 1%"
    assert words.percent(1.0) == "100%" and words.percent(0.0) == "0%" and words.percent(None) == "no"


def test_unnamed_places_are_grouped_once_with_a_count():
    assert grouped_names(["Park (unnamed)"] * 20 + ["Ketton Library", "park (unnamed)"]) == [
        "Ketton Library", "Park (unnamed) × 20", "park (unnamed)"]


def _add_unknown_hours_parks(engine, n=3) -> None:
    with write_session(engine) as s:
        region = s.query(Region).filter(Region.slug == "testville").one()
        for i in range(n):
            lon, lat = _pt(3000 + i)  # beside area B's 3,000 m postcode
            s.add(Place(name="Park (unnamed)", category="park", lon=lon, lat=lat, region_id=region.id))


def test_assumptions_give_the_result_with_and_without_places_of_unknown_hours(settings, engine):
    seed(engine)
    _add_unknown_hours_parks(engine)
    r = analyse_gaps(engine, settings, GapQuery(region="testville", minutes=15))
    a = words.assumptions(r)
    # The parks reach B's 3,000 m postcode (10 households): 80 of 130 with them, 70 without.
    assert a[0] == ("3 of the 5 places counted have no opening hours recorded. They are counted as open at any time, "
                    "and as open 40 hours a week in the access score.")
    assert a[1] == ("With them, 62% of households are within 15 minutes' walk; without them, 54%. In the most deprived "
                    "areas: 50% with them, 50% without.")
    evenings = analyse_gaps(engine, settings, GapQuery(region="testville", minutes=15, slot="weekday_evening"))
    assert words.assumptions(evenings)[:2] == [
        "3 places have no opening hours recorded, so they are not counted as open on weekday evenings (Mon–Fri 5pm–9pm).",
        # Only the evening club (B's 5,000 m postcode, 10 households) is open; the parks would add B's 3,000 m one.
        "With them, 15% of households are within 15 minutes' walk; without them, 8%. In the most deprived areas: "
        "0% with them, 0% without."]


def test_report_html_and_pdf_open_with_the_headline_and_assumptions(settings, engine, tmp_path):
    pypdf = pytest.importorskip("pypdf")
    seed(engine)
    _add_unknown_hours_parks(engine)
    r = analyse_gaps(engine, settings, GapQuery(region="testville", minutes=15))
    out = tmp_path / "gaps"
    write_outputs(r, out, settings=settings)
    html = (out / "report.html").read_text(encoding="utf-8")
    # Headline, then the assumptions box, before any chart or table.
    assert html.index('id="headline"') < html.index('id="assumptions"') < html.index("<img") < html.index("<table")
    assert html.count("Park (unnamed)") == 1 and "Park (unnamed) × 3" in html
    assert "Data sources" in html and "<script" not in html

    pdf = pypdf.PdfReader(io.BytesIO((out / "report.pdf").read_bytes()))
    first = re.sub(r"\s+", " ", pdf.pages[0].extract_text())
    assert "62% of households in Testville (80 of 130) live within 15 minutes' walk" in first
    assert "Method and assumptions" in first and "With them, 62%" in first and "without them, 54%" in first
    assert sum(len(p.images) for p in pdf.pages) >= 4  # map, 5/10/15/20, deciles, walk times
    assert r.areas[0]["label"] and r.areas[0]["no_data"] is False


def test_report_downloads_for_analysts_only(client, engine):
    from datetime import timedelta

    from kindmap.services.accounts.auth import add_user, issue_token

    seed(engine)
    with write_session(engine) as s:
        analyst = add_user(s, email="analyst@example.org", password="a long pass phrase 42", role="council_analyst")
        moderator = add_user(s, email="mod@example.org", password="a long pass phrase 42", role="moderator")
        tokens = {u.role.value: issue_token(s, u, ttl=timedelta(hours=1))[0] for u in (analyst, moderator)}
    auth = {"Authorization": "Bearer " + tokens["council_analyst"]}
    r = client.get("/api/gaps/report.pdf?region=testville&minutes=10", headers=auth)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF")
    assert r.headers["content-disposition"] == 'attachment; filename="kindmap-gaps-testville-10min.pdf"'
    assert r.headers["cache-control"] == "private, no-store"
    page = client.get("/api/gaps/report.html?region=testville", headers=auth)
    assert page.status_code == 200 and 'id="assumptions"' in page.text and "<script" not in page.text
    assert client.get("/api/gaps/report.pdf?region=testville").status_code == 401
    assert client.get("/api/gaps/report.pdf?region=testville", headers={"Authorization": "Bearer " + tokens["moderator"]}).status_code == 403
    bad = client.get("/api/gaps/report.doc?region=testville", headers=auth)
    assert bad.status_code == 422
    assert client.get("/api/gaps/report.pdf?region=nowhere", headers=auth).status_code == 404
    # The API's JSON has the same sentences and the areas as people know them.
    body = client.get("/api/gaps?region=testville&geometry=true", headers=auth).json()
    assert body["headline"][0].startswith("54% of households in Testville (70 of 130)")
    assert body["assumptions"][0] == "Every place counted has its opening hours recorded."
    assert body["areas"][0]["geometry"]["type"] == "Polygon" and body["areas"][0]["label"]
    assert len(body["place_points"]) == body["places"]
    assert "geometry" not in client.get("/api/gaps?region=testville", headers=auth).json()["areas"][0] or \
        client.get("/api/gaps?region=testville", headers=auth).json()["areas"][0]["geometry"] is None


def test_without_pango_the_other_outputs_are_still_written(settings, engine, tmp_path, monkeypatch):
    from kindmap.errors import DataError
    from kindmap.services.gaps import report

    def no_pango(_html):
        raise DataError("the PDF report needs the Pango library")

    monkeypatch.setattr(report, "report_pdf", no_pango)
    seed(engine)
    paths = write_outputs(analyse_gaps(engine, settings, GapQuery(region="testville")), tmp_path / "g", settings=settings)
    names = {p.name for p in paths}
    assert "report.pdf" not in names and {"report.html", "map.html", "areas.csv"} <= names


def test_headline_names_the_areas_left_out_for_want_of_map_data(result):
    r = copy.deepcopy(result)
    r.totals.update(no_data_areas=3, no_data_households=1234.0)
    assert words.headline(r)[-1] == ("3 small areas lie mostly outside the map data (1,234 households): not judged, "
                                     "and left out of these figures.")
    assert len(words.headline(result)) == 2
