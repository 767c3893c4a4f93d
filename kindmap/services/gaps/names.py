"""Small areas as people know them: the electoral ward (from the area table, when loaded) and the
nearest town or village (from the region's OpenStreetMap extract). Codes stay available, in small
print, where neither is known.

Reading the extract's place nodes takes ~0.4 s for Rutland; it is done once per file and kept
(keyed by path, size and modification time), so a page asking again costs nothing.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from kindmap.config import Settings
from kindmap.errors import KindmapError
from kindmap.geo.projection import LocalProjection
from kindmap.ingest.settlements import Settlement, read_settlements

NEAR_KM = 10.0  # beyond this a settlement is not "near" anything in the area
# The national LSOA 2021 table (England and Wales) carries each LSOA's 2024 ward. An area loaded
# without its ward (the LSOA 2011 demo areas) borrows it when its code is unchanged in 2021.
NATIONAL_TABLE = "uk/lsoa21_england_wales.gpkg"
_LSOA_CODE = re.compile(r"^[EW]0[0-9]{7}$")


@lru_cache(maxsize=8)
def _settlements(path: str, size: int, mtime_ns: int) -> tuple[Settlement, ...]:
    return tuple(read_settlements(Path(path)))


def region_settlements(settings: Settings, region: str) -> list[Settlement]:
    """The region's named towns and villages, or [] when it has no OpenStreetMap extract on disk."""
    from kindmap.ingest.manifest import load_manifest

    try:
        entry = load_manifest(region).file("osm")
    except KindmapError:
        return []
    path = Path(settings.data_dir) / entry.path
    try:
        stat = path.stat()
    except OSError:
        return []
    return list(_settlements(str(path), stat.st_size, stat.st_mtime_ns))


def nearest_names(lon: np.ndarray, lat: np.ndarray, settlements: list[Settlement]) -> list[str | None]:
    """The nearest town or village to each point (None when none is within ``NEAR_KM``)."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    if not settlements or lon.size == 0:
        return [None] * lon.size
    proj = LocalProjection.centred_on(lon, lat)
    sx, sy = proj.forward(np.array([s.lon for s in settlements]), np.array([s.lat for s in settlements]))
    px, py = proj.forward(lon, lat)
    dist, idx = cKDTree(np.column_stack((sx, sy))).query(np.column_stack((px, py)), k=1)
    return [settlements[i].name if d <= NEAR_KM * 1000 else None for d, i in zip(dist, idx)]


def area_label(ward: str | None, near: str | None, name: str) -> str:
    """One line a councillor recognises: 'Greetham ward, near Cottesmore', else the area's own name."""
    if ward and near and near.casefold() != ward.casefold():
        return f"{ward} ward, near {near}"
    if ward:
        return f"{ward} ward"
    if near:
        return f"near {near}"
    return name


@lru_cache(maxsize=16)
def _wards(path: str, mtime_ns: int, codes: tuple[str, ...]) -> dict[str, str]:
    import pyogrio

    quoted = ",".join(f"'{c}'" for c in codes)  # codes checked against _LSOA_CODE: no quotes inside
    frame = pyogrio.read_dataframe(path, layer="lsoa21", columns=["lsoa21cd", "ward24nm"], read_geometry=False,
                                   where=f"lsoa21cd IN ({quoted})")
    return {str(c): str(w) for c, w in zip(frame["lsoa21cd"], frame["ward24nm"]) if w}


def national_wards(settings: Settings, codes: list[str]) -> dict[str, str]:
    """Ward names for LSOA codes from the national table (~0.1 s, then kept); {} when it is not on disk."""
    wanted = tuple(sorted({c for c in codes if _LSOA_CODE.match(c or "")}))[:5000]
    path = Path(settings.data_dir) / NATIONAL_TABLE
    if not wanted:
        return {}
    try:
        return _wards(str(path), path.stat().st_mtime_ns, wanted)
    except Exception:  # missing or unreadable table: areas keep their other names
        return {}
