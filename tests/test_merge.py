"""Sources merged field by field on the real Rutland files: the council's library lists fill hours OSM
lacks; where both give hours and disagree (Oakham on Saturdays), both go to review with sources and
dates, and the page keeps showing the trusted one until a moderator decides."""

from __future__ import annotations

import dataclasses
import json

from fastapi.testclient import TestClient
from sqlmodel import select

from kindmap.db import read_session, write_session
from kindmap.ingest.csv_places import preset
from kindmap.models import Place, ReviewItem
from kindmap.services.community.review import resolve_review_item
from kindmap.services.imports.merge import hours_differences, week_spans
from kindmap.services.imports.places import import_csv
from tests.test_dedupe import copy_rutland


def test_hours_compared_by_meaning_not_spelling():
    assert hours_differences("Mo-Fr 09:30-17:00", "Mo,Tu,We,Th,Fr 09:30-17:00") == []
    assert hours_differences("Mo-Fr 09:30-17:00", "Mo-Fr 09:30-17:00; Sa 09:30-16:00") == ["Saturday: closed / 09:30-16:00"]
    assert hours_differences("24/7", "Mo-Su 00:00-24:00") == []
    assert week_spans("not hours at all") is None
    assert hours_differences("whenever", "Mo 10:00-12:00") == ["the hours are written differently"]


def _hours_items(engine) -> list[ReviewItem]:
    with read_session(engine) as s:
        return s.exec(select(ReviewItem).where(ReviewItem.kind == "hours_change")).all()


def test_council_lists_fill_gaps_and_oakhams_saturday_goes_to_review(rutland, tmp_path, data_dir):
    settings, engine = copy_rutland(rutland, tmp_path)
    with read_session(engine) as s:
        oakham = s.exec(select(Place).where(Place.name == "Rutland County Library")).one()
    assert oakham.opening_hours == "Mo-Fr 09:30-17:00"  # OSM's: no Saturday
    result = import_csv(engine, region="rutland", path=data_dir / "rutland/libraries_rutland.csv",
                        mapping=preset("libraries-schema"), data_dir=data_dir)
    filled = {c["name"]: c["filled"] for c in result.report.changes}
    assert "opening_hours" in filled["Ketton Library"] and "opening_hours" not in filled.get("Rutland County Library", [])
    assert any("Rutland County Library: libraries_rutland.csv gives other opening hours (Saturday: closed / 09:30-16:00)"
               in w for w in result.report.warnings)
    [item] = _hours_items(engine)
    evidence = item.evidence()
    assert item.place_id == oakham.id and item.status == "open"
    assert evidence["shown"]["value"] == "Mo-Fr 09:30-17:00" and evidence["shown"]["source"] == "osm"
    assert evidence["shown"]["date"].startswith("2021-01-12")  # the OSM element's last edit
    assert evidence["other"]["value"] == "Mo-Fr 09:30-17:00; Sa 09:30-16:00"
    assert evidence["other"]["file"] == "libraries_rutland.csv" and evidence["other"]["date"]
    assert evidence["differences"] == ["Saturday: closed / 09:30-16:00"]

    # The national list, one council's rows: the same disagreement, folded into the same open item.
    where = dataclasses.replace(preset("libraries-schema"), where={"Local authority": "Rutland County Council"})
    import_csv(engine, region="rutland", path=data_dir / "uk/schemas__libraries.csv", mapping=where, data_dir=data_dir)
    assert len(_hours_items(engine)) == 1

    from kindmap.api.app import create_app

    with TestClient(create_app(settings, engine=engine)) as client:
        page = client.get(f"/places/{oakham.id}").text
        assert "Another published list" in page and "Saturday: closed / 09:30-16:00" in page
        assert client.get(f"/api/places/{oakham.id}").json()["properties"]["opening_hours"] == "Mo-Fr 09:30-17:00"
        with write_session(engine) as s:  # a moderator checked with the library: open on Saturdays
            resolve_review_item(s, item.id, outcome="edit", changes={"opening_hours": "Mo-Fr 09:30-17:00; Sa 09:30-16:00"},
                                by_user_id=1, by_role="moderator")
        page = client.get(f"/places/{oakham.id}").text
        assert "Another published list" not in page and "Sat 09:30-16:00" in page
    # A later import of the list agrees now: nothing new to review.
    import_csv(engine, region="rutland", path=data_dir / "rutland/libraries_rutland.csv",
               mapping=preset("libraries-schema"), data_dir=data_dir)
    assert [i.status for i in _hours_items(engine)] == ["resolved"]
    assert json.loads(_hours_items(engine)[0].resolution_json)["changes"]["opening_hours"].endswith("Sa 09:30-16:00")
