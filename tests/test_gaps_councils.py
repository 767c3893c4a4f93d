"""Councils side by side on small synthetic councils worked by hand: shares within 5/10/15/20 minutes
overall and in deciles 1–2, a council with no areas in deciles 1–2, one with no map data at all,
different deprivation indices named as such, one council alone, the API and its roles."""

from __future__ import annotations

import pytest
from sqlmodel import select

from kindmap.db import write_session
from kindmap.errors import InvalidQuery, NotFound
from kindmap.models import Area, Place, Postcode, Region
from kindmap.services.gaps.compare import MAX_COUNCILS, as_dict, chosen, compare_councils
from tests.test_gaps import _pt, _square, seed


def add_council(engine, slug: str, name: str, *, x0: float, decile: int, index: str, map_share: float | None,
                nation: str = "Wales", code: str | None = None, households: int = 40, place: bool = True) -> None:
    """A one-area council at ``x0`` m east: its households at one postcode 100 m from a library."""
    with write_session(engine) as s:
        r = Region(slug=slug, name=name, nation=nation, code=code)
        s.add(r)
        s.flush()
        lon, lat = _pt(x0)
        s.add(Area(code=f"{slug[:3].upper()}1", name=f"{name} 001A", kind="test", households=households,
                   deprivation_decile=decile, deprivation_rank=decile * 10, deprivation_index=index, map_share=map_share,
                   centroid_lon=lon, centroid_lat=lat, geometry_geojson=_square(x0), region_id=r.id))
        s.add(Postcode(postcode=f"{slug[:2].upper()}1 1AA", lon=lon, lat=lat, area_code=f"{slug[:3].upper()}1", region_id=r.id))
        if place:
            plon, plat = _pt(x0 + 100)
            s.add(Place(name=f"{name} Library", category="library", lon=plon, lat=plat, region_id=r.id))


def test_shares_by_hand_and_the_edge_cases(settings, engine):
    seed(engine)  # Testville: A (decile 1, 100 households) 50 at 3.25 min, 50 at 32.5; B (decile 9, 30) 10 at 8.1, 0 and 32.5 min
    with write_session(engine) as s:
        for a in s.exec(select(Area)).all():
            a.deprivation_index = "IMD 2025"
        s.exec(select(Region).where(Region.slug == "testville")).one().nation = "England"
    add_council(engine, "calmby", "Calmby", x0=20_000, decile=7, index="WIMD 2019", map_share=1.0)
    add_council(engine, "blankshire", "Blankshire", x0=40_000, decile=1, index="WIMD 2019", map_share=0.0)
    c = compare_councils(engine, settings, focus="testville")
    assert [r.region for r in c.rows] == ["testville", "calmby", "blankshire"]  # the one asked about, then nearest
    t, calm, blank = c.rows
    assert t.method == "estimated" and t.households == t.households_with_map_data == 130 and t.map_data_share == 1.0
    assert t.shares == {5: pytest.approx(60 / 130), 10: pytest.approx(70 / 130), 15: pytest.approx(70 / 130),
                        20: pytest.approx(70 / 130)}
    assert t.deprived_areas == 1 and t.deprived_households == 100
    assert t.deprived_shares == {5: 0.5, 10: 0.5, 15: 0.5, 20: 0.5}
    # No areas in deciles 1–2: every household within reach, the deprived shares are None and said in words.
    assert calm.shares == {5: 1.0, 10: 1.0, 15: 1.0, 20: 1.0}
    assert calm.deprived_areas == 0 and calm.deprived_shares == {5: None, 10: None, 15: None, 20: None}
    assert "Calmby has no small areas in WIMD 2019's deciles 1–2." in c.sentences
    # No map data at all: nothing judged, so no shares (not 0%: no data is not no access).
    assert blank.households == 40 and blank.households_with_map_data == 0 and blank.map_data_share == 0.0
    assert blank.method is None and blank.shares == {5: None, 10: None, 15: None, 20: None}
    assert blank.deprived_areas == 0 and blank.no_data_areas == 1
    assert any(s.startswith("Blankshire has no map data over its small areas") for s in c.sentences)
    # Two indices: named per council, and said not to be comparable ranks.
    assert c.indices == ["IMD 2025", "WIMD 2019"]
    different = next(s for s in c.sentences if s.startswith("These councils use different deprivation indices"))
    assert "IMD 2025 for Testville" in different and "WIMD 2019 for Calmby, Blankshire" in different
    assert "own nation only" in different
    body = as_dict(c)
    assert body["councils"][0]["within"]["5"] == pytest.approx(60 / 130) and body["councils"][2]["within"]["20"] is None


def test_partial_map_data_is_left_out_of_the_shares(settings, engine):
    add_council(engine, "calmby", "Calmby", x0=0, decile=2, index="WIMD 2019", map_share=1.0)
    with write_session(engine) as s:
        r = s.exec(select(Region).where(Region.slug == "calmby")).one()
        lon, lat = _pt(9000)  # a second area, 30% inside the map data and far from the library
        s.add(Area(code="CAL2", name="Calmby 002A", kind="test", households=60, deprivation_decile=1,
                   deprivation_index="WIMD 2019", map_share=0.3, centroid_lon=lon, centroid_lat=lat,
                   geometry_geojson=_square(9000), region_id=r.id))
    (row,) = compare_councils(engine, settings).rows
    assert row.households == 100 and row.households_with_map_data == 40 and row.map_data_share == pytest.approx(0.4)
    assert row.shares[5] == 1.0 and row.deprived_shares[5] == 1.0 and row.deprived_households == 40
    c = compare_councils(engine, settings)
    assert any("Map data covers 40% of Calmby's households: 1 small area mostly outside it is left out" in s for s in c.sentences)


def test_one_council_says_so_and_how_to_add_a_neighbour(settings, engine):
    add_council(engine, "calmby", "Calmby", x0=0, decile=5, index="WIMD 2019", map_share=None)
    c = compare_councils(engine, settings, focus="calmby")
    assert len(c.rows) == 1 and c.loaded == 1
    assert c.sentences[0].startswith("Only one council is loaded (Calmby), so there is no neighbour to compare it with.")
    assert "kindmap region setup CODE-OR-NAME --osm" in c.sentences[0]


def test_a_council_without_places_or_areas_is_named_not_fatal(settings, engine):
    add_council(engine, "calmby", "Calmby", x0=0, decile=5, index="WIMD 2019", map_share=1.0)
    add_council(engine, "emptyton", "Emptyton", x0=5000, decile=5, index="WIMD 2019", map_share=1.0, place=False)
    with write_session(engine) as s:
        s.add(Region(slug="bare", name="Bare"))
    c = compare_councils(engine, settings)
    by = {r.region: r for r in c.rows}
    assert by["emptyton"].places == 0 and by["emptyton"].shares[20] == 0.0  # no places: nobody within reach
    assert by["bare"].problem and "no small areas" in by["bare"].problem
    assert any(s.startswith("Bare could not be measured") for s in c.sentences)


def test_bad_input_and_the_bound(settings, engine):
    add_council(engine, "calmby", "Calmby", x0=0, decile=5, index="WIMD 2019", map_share=1.0)
    with pytest.raises(NotFound, match="imported regions: calmby"):
        compare_councils(engine, settings, focus="narnia")
    with pytest.raises(InvalidQuery, match="time slot"):
        compare_councils(engine, settings, slot="midnight")
    regions = [Region(slug=f"r{i:02d}", name=f"R{i:02d}") for i in range(20)]
    assert len(chosen(regions, None)) == MAX_COUNCILS and chosen(regions, "r15")[0].slug == "r15"


def test_api_roles_and_body(client, engine):
    from tests.test_review import _user

    seed(engine)
    add_council(engine, "calmby", "Calmby", x0=20_000, decile=7, index="WIMD 2019", map_share=1.0)
    assert client.get("/api/gaps/councils").status_code == 401
    carer, _ = _user(engine, "carer")
    assert client.get("/api/gaps/councils", headers=carer).status_code == 403
    analyst, _ = _user(engine, "council_analyst")
    body = client.get("/api/gaps/councils", params={"region": "calmby"}, headers=analyst).json()
    assert [c["region"] for c in body["councils"]] == ["calmby", "testville"] and body["thresholds"] == [5, 10, 15, 20]
    assert body["councils"][0]["within"] == {"5": 1.0, "10": 1.0, "15": 1.0, "20": 1.0}
    # Aggregates only: no coordinates and no postcodes anywhere in the answer.
    text = str(body)
    assert "lon" not in body["councils"][0] and "TV1" not in text and "CA1" not in text
    assert client.get("/api/gaps/councils", params={"region": "narnia"}, headers=analyst).status_code == 404
    assert client.get("/api/gaps/councils", params={"slot": "midnight"}, headers=analyst).status_code == 422


def test_the_report_sets_the_councils_side_by_side(settings, engine, tmp_path):
    from kindmap.services.gaps.analysis import GapQuery, analyse_gaps
    from kindmap.services.gaps.report import write_outputs
    from tests.test_gaps import PAYLOAD

    seed(engine)
    add_council(engine, "calmby", PAYLOAD, x0=20_000, decile=7, index="WIMD 2019", map_share=1.0)
    r = analyse_gaps(engine, settings, GapQuery(region="testville"))
    c = compare_councils(engine, settings, focus="testville")
    paths = write_outputs(r, tmp_path / "out", settings=settings, comparison=c)
    assert {p.name for p in paths} >= {"councils.png", "councils.svg", "report.html"}
    page = (tmp_path / "out" / "report.html").read_text()
    section = page[page.index('<section id="councils">'):page.index("</section>", page.index('<section id="councils">'))]
    assert "<h2>Councils side by side</h2>" in section and "Testville" in section and "WIMD 2019" in section
    assert "<script>" not in page and "&lt;script&gt;" in section  # the council's name is text
    assert "<td>46%</td><td>54%</td><td>54%</td><td>54%</td><td>50%</td>" in section  # Testville, by hand
    assert "<td>100%</td><td>100%</td><td>100%</td><td>100%</td><td>no areas</td>" in section  # no deciles 1–2
    assert 'alt="Bar charts of the table above' in section

    # One council: the section says so and how to add a neighbour; no chart.
    alone = compare_councils(engine, settings, focus="testville")
    alone.rows, alone.loaded = alone.rows[:1], 1
    from kindmap.services.gaps.compare import sentences

    alone.sentences = sentences(alone)
    write_outputs(r, tmp_path / "one", settings=settings, comparison=alone)
    page = (tmp_path / "one" / "report.html").read_text()
    assert "Only one council is loaded (Testville)" in page and "kindmap region setup" in page
    assert not (tmp_path / "one" / "councils.png").exists()
