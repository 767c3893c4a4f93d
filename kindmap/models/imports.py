"""A record of every import run, so re-imports can be compared and audited."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from kindmap.models.common import utcnow


class ImportRun(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20, description="osm, areas, postcodes, csv…")
    region_id: int | None = Field(default=None, foreign_key="region.id", index=True)
    file_name: str = Field(max_length=300)
    file_sha256: str | None = Field(default=None, max_length=64)
    data_timestamp: datetime | None = Field(default=None, description="Newest element timestamp in the file (OSM).")
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    missing: int = 0
    skipped: int = 0
    finished_at: datetime = Field(default_factory=utcnow)
