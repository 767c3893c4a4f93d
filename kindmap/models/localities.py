"""Towns, villages and neighbourhoods (OSM ``place=*``): names people search by that are not places to go.

Replaced whole by each OSM import of a region; only used to turn "Uppingham" into a point,
and to say which town a place is in ("Oakham Library" finds Rutland County Library in Oakham).
"""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class Locality(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    region_id: int | None = Field(default=None, foreign_key="region.id", index=True)
    name: str = Field(max_length=200, index=True)
    other_names: str | None = Field(default=None, max_length=400, description="alt_name, loc_name…; '; '-separated.")
    kind: str = Field(max_length=20, description="OSM place=*: city, town, village, hamlet, suburb, neighbourhood.")
    lon: float = Field(ge=-180, le=180, description="EPSG:4326")
    lat: float = Field(ge=-90, le=90)
    source_id: str | None = Field(default=None, max_length=120, description="e.g. 'node/123'.")
