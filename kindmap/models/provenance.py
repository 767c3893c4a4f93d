"""Where each place's facts came from, and what local people added on top.

Two tables:

* ``PlaceSource`` — one row per (source, source_id) feeding a place: the values that
  source supplied last time (``values_json``), its own timestamp (the OSM element's last
  edit), when an import last saw it and since when it has been missing. Imports write
  only here and then recompute the place's columns.
* ``LocalFact`` — a council officer's or moderator's value for one field (e.g.
  ``warm_hospitality`` = true, note "free tea on Tuesdays"). The newest active fact per
  field overrides the imported value and survives re-imports.

The ``Place`` columns hold the *effective* values (local fact if present, else the primary
source's value), so search, the catalogue and every other reader need no change.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import Enum
from typing import Any

from sqlmodel import Field, SQLModel

from kindmap.models.common import utcnow


class FieldGroup(str, Enum):
    """Fields that are checked together; "checked on …" is shown per group."""

    identity = "identity"
    hours = "hours"
    welcome = "welcome"
    accessibility = "accessibility"
    contact = "contact"


FIELD_GROUPS: dict[FieldGroup, tuple[str, ...]] = {
    FieldGroup.identity: ("name", "other_names", "description", "category", "lon", "lat", "address", "postcode",
                         "footprint_geojson", "listing"),
    FieldGroup.hours: ("opening_hours",),
    FieldGroup.welcome: ("free_to_use", "no_purchase_needed", "drop_in", "warm_hospitality", "toilets", "seating", "wifi"),
    FieldGroup.accessibility: ("wheelchair", "accessible_toilet", "hearing_loop", "quiet_space", "step_free"),
    FieldGroup.contact: ("phone", "email", "website"),
}
GROUP_OF: dict[str, FieldGroup] = {name: group for group, names in FIELD_GROUPS.items() for name in names}
# Fields a source supplies and a local fact may override.
SOURCED_FIELDS: tuple[str, ...] = tuple(GROUP_OF)


class PlaceSource(SQLModel, table=True):
    """One source record behind a place (an OSM element, a CSV row, an ORUK service, a resident's suggestion)."""

    __tablename__ = "place_source"

    id: int | None = Field(default=None, primary_key=True)
    place_id: int = Field(foreign_key="place.id", index=True)
    source: str = Field(max_length=40, index=True, description="osm, csv, oruk, resident, council…")
    source_id: str | None = Field(default=None, max_length=120, index=True, description="e.g. 'way/123'.")
    source_name: str | None = Field(default=None, max_length=200, description="File or feed name, e.g. the extract.")
    licence: str | None = Field(default=None, max_length=80)
    values_json: str = Field(default="{}", description="The values this source supplied last time (JSON object).")
    source_timestamp: datetime | None = Field(default=None, description="The source's own last edit (OSM element timestamp).")
    first_seen_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow, description="When an import last found it.")
    last_seen_run_id: int | None = Field(default=None, foreign_key="importrun.id")
    missing_since: datetime | None = Field(default=None, description="Set when a newer import no longer has it.")
    primary: bool = Field(default=True, description="False after a merge moved it onto another place.")
    tags_json: str | None = Field(default=None, description="The OSM element's tags last time (JSON), for the inclusion rule.")

    def values(self) -> dict[str, Any]:
        """The supplied values as a dict."""
        return json.loads(self.values_json or "{}")

    def tags(self) -> dict[str, str]:
        """The source's tags (OSM), or {} when it has none."""
        return json.loads(self.tags_json) if self.tags_json else {}


class LocalFact(SQLModel, table=True):
    """A locally confirmed value for one field of one place; it wins over imported values."""

    __tablename__ = "local_fact"

    id: int | None = Field(default=None, primary_key=True)
    place_id: int = Field(foreign_key="place.id", index=True)
    field: str = Field(max_length=40, description="A Place column from SOURCED_FIELDS.")
    value_json: str = Field(description="The value as JSON (null clears an imported value).")
    note: str | None = Field(default=None, max_length=1000, description="Public note, e.g. 'free tea on Tuesdays'.")
    source: str = Field(default="council", max_length=40, description="council, moderator, resident (approved suggestion).")
    author_id: int | None = Field(default=None, description="Who made it; private, never in public responses.")
    author_role: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(default_factory=utcnow)
    verified_at: datetime = Field(default_factory=utcnow, description="When a person last confirmed it.")
    superseded_at: datetime | None = Field(default=None, index=True, description="Set when a newer fact replaced it.")

    def value(self) -> Any:
        """The value, decoded."""
        return json.loads(self.value_json)
