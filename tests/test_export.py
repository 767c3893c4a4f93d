"""Exports of the public catalogue: CSV (formula cells neutralised), GeoJSON, GeoPackage; atomic writes; CLI."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone

import pyogrio
import pytest
from typer.testing import CliRunner

from kindmap.cli import app as cli_app
from kindmap.config import ATTRIBUTION, get_settings
from kindmap.db import read_session, write_session
from kindmap.errors import InvalidQuery
from kindmap.models import Place, PlaceStatus, Region
from kindmap.services.catalogue import export
from kindmap.services.catalogue.export import CSV_COLUMNS, PlaceRecord, export_catalogue

NASTY = ["=HYPERLINK(\"http://evil\",\"x\")", "+44 1572 000000", "-2+3+cmd|' /C calc'!A0", "@SUM(A1:A2)",
         "\tTabbed hall", "\rReturn hall"]
VERIFIED = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)


@pytest.fixture
def catalogue(engine):
    with write_session(engine) as s:
        east, west = Region(slug="eastshire", name="Eastshire"), Region(slug="westshire", name="Westshire")
        s.add_all([east, west])
        s.flush()
        for i, name in enumerate([*NASTY, "Oakham Library", "Quiet Park"]):
            s.add(Place(name=name, category="library" if i % 2 else "park", lon=-0.7 - i / 100, lat=52.6 + i / 100,
                        region_id=east.id if i < 5 else west.id, description="=1+1" if i == 0 else "Everyone welcome",
                        free_to_use=[True, False, None][i % 3], wheelchair="yes" if i == 1 else None,
                        source="osm", source_id=f"node/{i}", source_licence="ODbL-1.0", verified_at=VERIFIED if i == 6 else None))
        s.add(Place(name="Closed SECRET", category="library", lon=-0.6, lat=52.5, status=PlaceStatus.closed))
        s.add(Place(name="Pending SECRET", category="library", lon=-0.6, lat=52.5, status=PlaceStatus.pending))
    return engine


def _export(engine, fmt, out, **kw):
    with read_session(engine) as s:
        return export_catalogue(s, fmt=fmt, out=out, **kw)


def test_csv_neutralises_formula_cells_and_keeps_provenance(catalogue, tmp_path):
    result = _export(catalogue, "csv", tmp_path / "places.csv")
    assert result.count == 8
    with open(tmp_path / "places.csv", encoding="utf-8", newline="") as f:  # keep the \r inside a quoted cell
        text = f.read()
    assert "SECRET" not in text
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert tuple(rows[0]) == CSV_COLUMNS
    names = [r["name"] for r in rows]
    assert names == ["'" + n for n in NASTY] + ["Oakham Library", "Quiet Park"]
    for row in rows:
        assert not row["name"].startswith(export.FORMULA_START) and not row["description"].startswith(export.FORMULA_START)
        assert row["attribution"] == ATTRIBUTION and row["source"] == "osm" and row["source_licence"] == "ODbL-1.0"
        assert float(row["lon"]) < 0 and row["lon"].startswith("-")  # numbers stay numbers
    assert rows[0]["description"] == "'=1+1"
    assert rows[6]["verified_at"] == "2024-05-06T07:08:09Z" and rows[6]["region"] == "westshire"
    assert rows[0]["free_to_use"] == "true" and rows[1]["free_to_use"] == "false" and rows[2]["free_to_use"] == ""
    assert rows[0]["imported_at"] == "" and rows[0]["updated_at"].endswith("Z")


def test_neutralise():
    assert [export.neutralise(v) for v in ("=1", "+1", "-1", "@x", "\tx", "\rx", "a=1", "")] == [
        "'=1", "'+1", "'-1", "'@x", "'\tx", "'\rx", "a=1", ""]


def test_geojson_has_attribution_and_public_fields_only(catalogue, tmp_path):
    _export(catalogue, "geojson", tmp_path / "places.geojson", region="westshire")
    doc = json.loads((tmp_path / "places.geojson").read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection" and doc["attribution"] == ATTRIBUTION
    assert [f["properties"]["name"] for f in doc["features"]] == ["\rReturn hall", "Oakham Library", "Quiet Park"]
    for feature in doc["features"]:
        assert set(feature["properties"]) == set(PlaceRecord.model_fields) - {"id", "lon", "lat"}
        assert feature["geometry"]["type"] == "Point"
    frame = pyogrio.read_dataframe(tmp_path / "places.geojson")
    assert len(frame) == 3 and frame.crs.to_epsg() == 4326


def test_gpkg_reads_back_with_the_same_rows(catalogue, tmp_path):
    path = tmp_path / "places.gpkg"
    result = _export(catalogue, "gpkg", path)
    info = pyogrio.read_info(path, layer="places")
    assert info["crs"] == "EPSG:4326" and info["geometry_type"] == "Point" and info["features"] == result.count == 8
    assert info["layer_metadata"]["DESCRIPTION"] == ATTRIBUTION
    frame = pyogrio.read_dataframe(path, layer="places")
    with read_session(catalogue) as s:
        records = export.public_places(s)
    assert list(frame["id"]) == [r.id for r in records]
    assert list(frame["name"]) == [r.name for r in records]  # raw names: only CSV needs neutralising
    assert list(frame.geometry.x) == pytest.approx([r.lon for r in records])
    assert list(frame.geometry.y) == pytest.approx([r.lat for r in records])
    assert [None if v is None or v != v else bool(v) for v in frame["free_to_use"]] == [r.free_to_use for r in records]
    assert frame.loc[6, "verified_at"].to_pydatetime() == VERIFIED
    assert set(frame.columns) == set(PlaceRecord.model_fields) | {"geometry"}


def test_filters_by_region_and_category(catalogue, tmp_path):
    assert _export(catalogue, "csv", tmp_path / "a.csv", region="eastshire").count == 5
    assert _export(catalogue, "csv", tmp_path / "b.csv", categories=["library"]).count == 4
    with pytest.raises(InvalidQuery, match="unknown region 'nowhere'; regions loaded: eastshire, westshire"):
        _export(catalogue, "csv", tmp_path / "c.csv", region="nowhere")
    with pytest.raises(InvalidQuery, match="unknown category"):
        _export(catalogue, "csv", tmp_path / "c.csv", categories=["casino"])
    assert not (tmp_path / "c.csv").exists()


def test_writes_are_atomic(catalogue, tmp_path, monkeypatch):
    target = tmp_path / "places.gpkg"
    target.write_bytes(b"the previous export")

    def broken(records, path):
        path.write_bytes(b"half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export, "write_gpkg", broken)
    with pytest.raises(InvalidQuery, match="could not write the file"):
        _export(catalogue, "gpkg", target)
    assert target.read_bytes() == b"the previous export"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".places.gpkg")] == []  # no temp file left


@pytest.fixture
def cli_env(catalogue, settings, monkeypatch):
    monkeypatch.setenv("KINDMAP_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize("fmt", ["csv", "geojson", "gpkg"])
def test_cli_exports(cli_env, tmp_path, fmt):
    out = tmp_path / f"out.{fmt}"
    result = CliRunner().invoke(cli_app, ["export", fmt, "--out", str(out), "--category", "park"])
    assert result.exit_code == 0, result.output
    assert "wrote 4 published place(s)" in result.output
    assert len(pyogrio.read_dataframe(out)) == 4


@pytest.mark.parametrize("where, says", [
    ("missing/dir/out.csv", "does not exist"),
    (".", "is a folder"),
])
def test_cli_bad_output_path_exits_2(cli_env, tmp_path, where, says):
    result = CliRunner().invoke(cli_app, ["export", "csv", "--out", str(tmp_path / where)])
    assert result.exit_code == 2 and says in result.output


def test_cli_unknown_region_exits_2(cli_env, tmp_path):
    result = CliRunner().invoke(cli_app, ["export", "geojson", "--out", str(tmp_path / "x.geojson"), "--region", "nowhere"])
    assert result.exit_code == 2 and "unknown region 'nowhere'" in result.output


def test_api_downloads(client, catalogue):
    response = client.get("/api/export.csv?category=library")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text, newline="")))
    assert [r["name"] for r in rows] == ["'+44 1572 000000", "'@SUM(A1:A2)", "'\rReturn hall", "Quiet Park"]
    response = client.get("/api/export.geojson?region=eastshire")
    assert response.headers["content-type"] == "application/geo+json"
    assert len(response.json()["features"]) == 5 and response.json()["attribution"] == ATTRIBUTION
    assert client.get("/api/export.csv?region=nowhere").status_code == 422
    assert "SECRET" not in client.get("/api/export.csv").text
