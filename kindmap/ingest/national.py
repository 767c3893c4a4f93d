"""The national tables for England and Wales: councils (LTLA 2024) and their LSOA 2021 rows.

Only one council's rows are ever read (an OGR ``where=`` on the council code), so a
35,672-row table costs what the council's 26–300 rows cost. EPSG:4326 throughout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pyogrio

from kindmap.errors import DataError, InvalidQuery, NotFound
from kindmap.ingest.areas import AreaColumns, read_boundary

# A GSS code of a local authority district: England E06–E09, Wales W06. Checked before it is
# put into an OGR filter, so no text from outside ever reaches the filter unquoted.
COUNCIL_CODE = re.compile(r"^[EW]0[6-9][0-9]{6}$")
GSS_CODE = re.compile(r"^[EKNSW][0-9]{8}$")
NATIONS = {"E": "England", "W": "Wales"}

# The national LSOA 2021 table's columns (uk/lsoa21_england_wales.gpkg, layer lsoa21).
LSOA21_COLUMNS = AreaColumns(
    code="lsoa21cd", name="lsoa21nm", rank="imd_rank", decile="imd_decile", score="imd_score",
    population="population", households="households", index_col="index_name", method="deprivation_mapping",
    ward_code="ward24cd", ward_name="ward24nm", kind="LSOA 2021",
)


@dataclass(frozen=True)
class Council:
    """A local authority district: GSS code, name and nation."""

    code: str
    name: str

    @property
    def nation(self) -> str:
        """England or Wales, from the code's first letter."""
        return NATIONS[self.code[0]]

    @property
    def slug(self) -> str:
        """A region slug from the name: 'Newport' → 'newport', 'King's Lynn and West Norfolk' → 'kings-lynn-and-west-norfolk'."""
        return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]+", "-", self.name.lower().replace("'", ""))).strip("-")[:64]

    def where(self, column: str = "ltla24cd") -> str:
        """The OGR filter selecting this council's rows."""
        assert COUNCIL_CODE.match(self.code)
        return f"{column} = '{self.code}'"


def _councils(path: Path) -> list[Council]:
    try:
        frame = pyogrio.read_dataframe(path, read_geometry=False, columns=["ltla24cd", "ltla24nm"])
    except Exception as exc:  # pyogrio raises several driver-specific errors
        raise DataError(f"{path.name} is not the council table (layer ltla24 with ltla24cd, ltla24nm): {exc}") from exc
    return [Council(str(c), str(n)) for c, n in zip(frame["ltla24cd"], frame["ltla24nm"])]


def _fold(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower().replace("&", " and ")).strip()


def find_council(path: Path, query: str) -> Council:
    """The council a GSS code or name names, from the council table at ``path``.

    A code must be a council's; a name matches case-insensitively, whole first, then as a
    part ('Newport' is one council; 'Hampshire' is East Hampshire or … and lists them).
    """
    text = (query or "").strip()
    if not text:
        raise InvalidQuery("name a council by its GSS code (e.g. E06000017) or its name (e.g. 'Newport')")
    councils = _councils(Path(path))
    if GSS_CODE.match(text.upper()):
        code = text.upper()
        found = next((c for c in councils if c.code == code), None)
        if found is None:
            if code[0] == "S":
                raise NotFound(f"{code} is a Scottish code; Scottish councils use 2011 data zones with SIMD 2020 "
                               "(kindmap import areas with uk/scotland_dz2011_simd2020.gpkg), not this table")
            raise NotFound(f"{code} is not a council (local authority district) of England or Wales in {Path(path).name}; "
                           "council codes start E06, E07, E08, E09 or W06, e.g. E06000017 for Rutland")
        return found
    wanted = _fold(text)
    exact = [c for c in councils if _fold(c.name) == wanted]
    if len(exact) == 1:
        return exact[0]
    partial = exact or [c for c in councils if wanted and wanted in _fold(c.name)]
    if len(partial) == 1:
        return partial[0]
    if not partial:
        raise NotFound(f"no council of England or Wales is called {text!r}; give its name as ONS spells it "
                       "(e.g. 'Newport', 'Rutland') or its GSS code")
    listed = "; ".join(f"{c.name} ({c.code})" for c in sorted(partial, key=lambda c: c.name)[:20])
    raise InvalidQuery(f"{text!r} matches {len(partial)} councils: {listed}. Give the full name or the code.")


def council_boundary(path: Path, council: Council) -> str:
    """The council's outline (LTLA 2024, generalised) as GeoJSON text in EPSG:4326."""
    return read_boundary(Path(path), where=council.where())
