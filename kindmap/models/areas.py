"""Regions (councils), their small areas (LSOA, data zone) and postcodes.

Geometries are stored as GeoJSON text in EPSG:4326 so one code path serves SQLite and
PostgreSQL; spatial work happens in memory with shapely/scipy, not in SQL.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from kindmap.models.common import utcnow


class RegionBase(SQLModel):
    slug: str = Field(index=True, unique=True, max_length=64, description="Short name, e.g. 'rutland'.")
    name: str = Field(max_length=200)
    code: str | None = Field(default=None, max_length=16, description="ONS/GSS code, e.g. E06000017.")
    nation: str | None = Field(default=None, max_length=32)


class Region(RegionBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    boundary_geojson: str | None = None
    # Where the region's OpenStreetMap extract has map data (EPSG:4326 GeoJSON): areas outside it
    # are "no data", never "no access". None until an extract is imported.
    map_extent_geojson: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class RegionPublic(RegionBase):
    id: int


class AreaBase(SQLModel):
    code: str = Field(index=True, unique=True, max_length=16)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=40, description="Small-area system, e.g. 'LSOA 2011', 'Data zone 2011'.")
    population: int | None = None
    households: int | None = None
    deprivation_index: str | None = Field(default=None, max_length=40, description="e.g. 'IMD 2019'.")
    deprivation_rank: int | None = None
    deprivation_decile: int | None = Field(default=None, ge=1, le=10, description="1 = most deprived.")
    deprivation_score: float | None = Field(default=None, description="The index's score (higher = more deprived).")
    deprivation_method: str | None = Field(
        default=None, max_length=200,
        description="How the figures reach this area, e.g. 'direct (LSOA21)' or how WIMD 2019 was carried to 2021 areas.")
    ward_code: str | None = Field(default=None, max_length=16, description="Electoral ward (GSS), e.g. E05012633.")
    ward_name: str | None = Field(default=None, max_length=200, description="The ward people know, e.g. 'Greetham'.")
    map_share: float | None = Field(
        default=None, ge=0, le=1,
        description="Share of the area (0–1) the region's OpenStreetMap extract covers; None until one is imported.")
    centroid_lon: float
    centroid_lat: float


class Area(AreaBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    region_id: int = Field(foreign_key="region.id", index=True)
    geometry_geojson: str


class AreaPublic(AreaBase):
    id: int
    region_id: int


class Postcode(SQLModel, table=True):
    """A postcode centroid, used to turn a typed postcode into a point for search."""

    # Gap analysis reads every postcode of a region's areas (10⁶ at national scale): a covering
    # index answers that from the index alone (0.8 s -> 0.3 s per 3×10⁵ rows on SQLite).
    __table_args__ = (Index("ix_postcode_area_cover", "area_code", "postcode", "lon", "lat"),)

    postcode: str = Field(primary_key=True, max_length=8, description="Normalised, e.g. 'LE15 6HP'.")
    lon: float
    lat: float
    area_code: str | None = Field(default=None, max_length=16, index=True)
    region_id: int | None = Field(default=None, foreign_key="region.id", index=True)
