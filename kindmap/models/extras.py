"""What an import knew about a place that kindmap's Place columns cannot hold.

One row per (source, source_id, region): the original record as JSON (an ORUK
service, a CSV row), the place it became or was merged into (``place_id`` is
``None`` for a record that could not go on the map, e.g. an ORUK service without
a usable location), and how it was matched. Nothing an import reads is dropped
silently: it is a column on Place, or it is here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from kindmap.models.common import utcnow


class PlaceExtra(SQLModel, table=True):
    """The original record behind (part of) a place, by source; internal, never served as is."""

    __table_args__ = (UniqueConstraint("source", "source_id", "region_id", name="uq_placeextra_source"),)

    id: int | None = Field(default=None, primary_key=True)
    place_id: int | None = Field(default=None, foreign_key="place.id", index=True,
                                 description="The place it became or was merged into; None if it could not be placed.")
    region_id: int | None = Field(default=None, foreign_key="region.id", index=True)
    source: str = Field(max_length=40, index=True, description="csv, oruk…")
    source_id: str = Field(max_length=120, index=True)
    kind: str = Field(max_length=40, description="oruk_service, csv_row…")
    data_json: str = Field(description="The original record, JSON.")
    match: str | None = Field(default=None, max_length=400,
                              description="'new', or why it was merged into an existing place (dedupe).")
    note: str | None = Field(default=None, max_length=400, description="e.g. why it could not be placed.")
    # Open Referral UK: the id the record's service is re-exported under (the source's own id), looked up by
    # /openreferral/services/{id}; see kindmap.services.standards.oruk.carried.
    service_id: str | None = Field(default=None, max_length=120, index=True)
    imported_at: datetime = Field(default_factory=utcnow)
