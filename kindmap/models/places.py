"""Welcoming places: the public catalogue.

Criteria and accessibility are tri-state (True / False / None = not known), because
most sources say nothing about most of them and "unknown" must not read as "no".
"""

from __future__ import annotations

import math
from datetime import datetime
from enum import Enum

from pydantic import field_validator
from sqlmodel import Field, SQLModel

from kindmap.models.common import utcnow


class PlaceStatus(str, Enum):
    published = "published"
    pending = "pending"
    closed = "closed"  # hidden from the public; also a place merged into another (see merged_into_id)


class Listing(str, Enum):
    """Where a place is shown (the inclusion rule, geodata/inclusion.json, decides)."""

    welcoming = "welcoming"  # the public list and map of welcoming places
    support = "support"  # its own layer of support services
    facility = "facility"  # toilets, playgrounds, benches, water: near places and in their own layer
    excluded = "excluded"  # kept for moderators (a fee, members only, a chain…), never shown


class Wheelchair(str, Enum):
    yes = "yes"
    limited = "limited"
    no = "no"


class WelcomeCriteria(SQLModel):
    """The Kinder Communities welcome criteria, as recorded for one place."""

    free_to_use: bool | None = Field(default=None, description="Free to use.")
    no_purchase_needed: bool | None = Field(default=None, description="No purchase needed to stay.")
    drop_in: bool | None = Field(default=None, description="Drop in without referral or membership.")
    warm_hospitality: bool | None = Field(default=None, description="e.g. free tea or coffee.")
    toilets: bool | None = None
    seating: bool | None = None
    wifi: bool | None = None


class Accessibility(SQLModel):
    wheelchair: Wheelchair | None = None
    accessible_toilet: bool | None = None
    hearing_loop: bool | None = None
    quiet_space: bool | None = None
    step_free: bool | None = None


class PlaceBase(WelcomeCriteria, Accessibility):
    name: str = Field(max_length=200)
    other_names: str | None = Field(default=None, max_length=400,
                                    description="Other names people use (OSM alt_name, old_name, official_name, "
                                                "short_name…), '; '-separated; name search finds them.")
    description: str | None = Field(default=None, max_length=4000)
    category: str = Field(index=True, max_length=40, description="A slug from geodata/taxonomy.json.")
    lon: float = Field(ge=-180, le=180, description="Longitude, EPSG:4326.")
    lat: float = Field(ge=-90, le=90, description="Latitude, EPSG:4326.")
    address: str | None = Field(default=None, max_length=400)
    postcode: str | None = Field(default=None, max_length=8)
    opening_hours: str | None = Field(default=None, max_length=1000, description="OSM opening_hours syntax.")
    phone: str | None = Field(default=None, max_length=80)
    email: str | None = Field(default=None, max_length=200)
    website: str | None = Field(default=None, max_length=500)

    @field_validator("lon", "lat")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("coordinates must be finite numbers")
        return value


class PlaceCreate(PlaceBase):
    """What an import or an editor supplies."""

    footprint_geojson: str | None = None
    source: str = Field(default="manual", max_length=40, description="osm, csv, oruk, resident, council…")
    source_id: str | None = Field(default=None, max_length=120, description="e.g. 'way/123' for OSM.")
    source_licence: str | None = Field(default=None, max_length=80)
    source_timestamp: datetime | None = None
    verified_at: datetime | None = None
    status: PlaceStatus = PlaceStatus.published
    listing: Listing | None = Field(default=None, description="welcoming, support, facility or excluded; "
                                    "decided by the inclusion rule when not given.")
    listing_rule: str | None = Field(default=None, max_length=60, description="The rule that decided the listing.")


class Place(PlaceBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    region_id: int | None = Field(default=None, foreign_key="region.id", index=True)
    footprint_geojson: str | None = None
    opening_hours_valid: bool | None = Field(
        default=None, description="False when opening-hours-py cannot parse the string (kept as given)."
    )
    source: str = Field(default="manual", max_length=40, index=True)
    source_id: str | None = Field(default=None, max_length=120, index=True)
    source_licence: str | None = Field(default=None, max_length=80)
    source_timestamp: datetime | None = None
    imported_at: datetime | None = None
    verified_at: datetime | None = None
    status: PlaceStatus = Field(default=PlaceStatus.published, index=True)
    # Only "welcoming" places are public welcoming places; see kindmap.ingest.inclusion.
    # Kept as text (not a database enum) so a new listing never needs an enum migration.
    listing: str = Field(default=Listing.welcoming.value, max_length=20, index=True)
    listing_rule: str | None = Field(default=None, max_length=60)
    # A source stopped listing it: still shown (with a warning) until a moderator decides.
    possibly_closed_since: datetime | None = Field(default=None, index=True)
    # Set when a moderator merged this duplicate into another place (then status is closed),
    # so links, plans and notes that hold this id can follow it.
    merged_into_id: int | None = Field(default=None, foreign_key="place.id")
    created_at: datetime = Field(default_factory=utcnow)
    # onupdate: any ORM update moves it, even one that forgot to; the catalogue index
    # (services/catalogue/index.py) keys its rebuilds on it.
    updated_at: datetime = Field(default_factory=utcnow, index=True, sa_column_kwargs={"onupdate": utcnow})


class PlacePublic(PlaceBase):
    """The wire format for the public: no internal or private columns."""

    id: int
    category_label: str
    opening_hours_valid: bool | None
    source: str
    source_id: str | None
    source_licence: str | None
    verified_at: datetime | None
    imported_at: datetime | None
    status: PlaceStatus
    listing: Listing = Listing.welcoming
    listing_rule: str | None = None
    possibly_closed_since: datetime | None = None
