"""One council's rows of the national LSOA 2021 table, with ward, score and the deprivation method per row."""

from __future__ import annotations

from kindmap.ingest.areas import AreaColumns, read_areas

NATIONAL = AreaColumns(code="lsoa21cd", name="lsoa21nm", rank="imd_rank", decile="imd_decile", score="imd_score",
                       population="population", households="households", index_col="index_name",
                       method="deprivation_mapping", ward_code="ward24cd", ward_name="ward24nm", kind="LSOA 2021")


def test_rutland_rows_of_the_national_table_carry_ward_and_imd_2025(data_dir):
    read = read_areas(data_dir / "uk/lsoa21_england_wales.gpkg", columns=NATIONAL, where="ltla24cd = 'E06000017'")
    assert not read.problems
    by_code = {r.code: r for r in read.records}
    assert len(by_code) == 26 and all(c.startswith("E01") for c in by_code)
    greetham = next(r for r in read.records if r.name == "Rutland 001C")
    assert greetham.ward_name == "Greetham" and greetham.ward_code.startswith("E05")
    assert {r.deprivation_index for r in read.records} == {"IMD 2025"}
    assert {r.deprivation_method for r in read.records} == {"direct (LSOA21)"}
    assert all(r.deprivation_score is not None and 1 <= r.deprivation_decile <= 10 for r in read.records)
    assert sum(r.households for r in read.records) == 16685 and sum(r.population for r in read.records) == 41151


def test_welsh_rows_say_how_wimd_2019_reached_2021_areas(data_dir):
    read = read_areas(data_dir / "uk/lsoa21_england_wales.gpkg", columns=NATIONAL, where="ltla24cd = 'W06000022'")
    assert len(read.records) == 100 and not read.problems
    assert {r.deprivation_index for r in read.records} == {"WIMD 2019"}
    assert all(r.deprivation_method.startswith("WIMD 2019 LSOA11") for r in read.records)
    assert sum(r.deprivation_decile == 1 for r in read.records) == 23
    assert sum(r.households for r in read.records) == 66060
