"""Shared Lives households (private), their carers, their links log and plan items.

A household's location is stored precisely (EPSG:4326) because walking times need it,
and it appears in exactly one wire format, ``HouseholdPrivate``, which only the
household's carers, its scheme's workers and admins receive. Every other model here
names no location field, so no other response can carry one.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from enum import Enum
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import field_validator, model_validator
from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from kindmap.config import project_geodata_dir
from kindmap.models.common import utcnow

# A user id as a request may give it: 64-bit like every database id, so a larger number is a 422
# naming the field, not a driver overflow (500) on PostgreSQL.
UserId = Annotated[int, Field(ge=1, le=2**63 - 1)]

MAX_NOTE_CHARS = 2000
Profile = Literal["walk", "slow", "step_free"]


@lru_cache
def vocabulary() -> dict[str, dict[str, str]]:
    """``{"interests": {slug: label}, "access_needs": {slug: label}}`` from geodata/interests.json."""
    data = json.loads((project_geodata_dir() / "interests.json").read_text(encoding="utf-8"))
    return {key: {item["slug"]: item["label"] for item in data[key]} for key in ("interests", "access_needs")}


def check_terms(values: list[str], *, kind: str) -> list[str]:
    """Lower-cased, de-duplicated slugs; ``ValueError`` naming the allowed ones for any unknown."""
    known = vocabulary()[kind]
    clean = list(dict.fromkeys(v.strip().lower().replace("-", "_").replace(" ", "_") for v in values if v and v.strip()))
    unknown = [v for v in clean if v not in known]
    if unknown:
        raise ValueError(f"unknown {kind.replace('_', ' ')} {', '.join(map(repr, unknown))}; use any of: {', '.join(known)}")
    return clean


def _check_windows(value: str | None) -> str | None:
    from kindmap.errors import InvalidQuery
    from kindmap.hours import parse_windows

    if value is None or not value.strip():
        return None
    try:
        parse_windows(value)
    except InvalidQuery as exc:
        raise ValueError(exc.message) from None
    return value.strip()


def _check_coordinate(value: float | None, *, low: float, high: float, name: str) -> float | None:
    if value is None:
        return None
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"{name} must be a finite number from {low:g} to {high:g} (EPSG:4326 degrees)")
    return value


class HouseholdFields(SQLModel):
    """The editable, non-location fields, validated where they enter."""

    interests: list[str] = Field(default_factory=list, max_length=16)
    access_needs: list[str] = Field(default_factory=list, max_length=6)
    profile: Profile = "walk"
    comfortable_walk_minutes: int = Field(default=15, ge=1, le=120, description="Minutes, one way.")
    free_windows: str | None = Field(default=None, max_length=500, description="e.g. 'Mon 10:00-12:00,Thu 14:00-16:00'.")
    notes: str | None = Field(default=None, max_length=MAX_NOTE_CHARS, description="Private; at most 2,000 characters.")

    @field_validator("interests")
    @classmethod
    def _interests(cls, value: list[str]) -> list[str]:
        return check_terms(value, kind="interests")

    @field_validator("access_needs")
    @classmethod
    def _needs(cls, value: list[str]) -> list[str]:
        return check_terms(value, kind="access_needs")

    @field_validator("free_windows")
    @classmethod
    def _windows(cls, value: str | None) -> str | None:
        return _check_windows(value)


class LocationInput(SQLModel):
    """A postcode, or a point (lon/lat, EPSG:4326): one or the other."""

    postcode: str | None = Field(default=None, max_length=10)
    lon: float | None = None
    lat: float | None = None

    @field_validator("lon")
    @classmethod
    def _lon(cls, value: float | None) -> float | None:
        return _check_coordinate(value, low=-180, high=180, name="lon")

    @field_validator("lat")
    @classmethod
    def _lat(cls, value: float | None) -> float | None:
        return _check_coordinate(value, low=-90, high=90, name="lat")

    def has_location(self) -> bool:
        """Whether any location field was given."""
        return self.postcode is not None or self.lon is not None or self.lat is not None

    @model_validator(mode="after")
    def _one_location(self):
        if self.postcode is not None and (self.lon is not None or self.lat is not None):
            raise ValueError("give either a postcode or lon and lat, not both")
        if (self.lon is None) != (self.lat is None):
            raise ValueError("give both lon and lat")
        return self


class HouseholdCreate(HouseholdFields, LocationInput):
    label: str = Field(min_length=1, max_length=80, description="Pseudonymous, e.g. 'Household A'; no names needed.")
    scheme_id: int | None = Field(default=None, description="The creator's own scheme (the default); no other.")
    carer_ids: list[UserId] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _needs_location(self):
        if not self.has_location():
            raise ValueError("give a postcode, or lon and lat, for where the household lives")
        return self


class HouseholdUpdate(LocationInput):
    """Only the fields given change."""

    label: str | None = Field(default=None, min_length=1, max_length=80)
    interests: list[str] | None = Field(default=None, max_length=16)
    access_needs: list[str] | None = Field(default=None, max_length=6)
    profile: Profile | None = None
    comfortable_walk_minutes: int | None = Field(default=None, ge=1, le=120)
    free_windows: str | None = Field(default=None, max_length=500)
    notes: str | None = Field(default=None, max_length=MAX_NOTE_CHARS)
    carer_ids: list[UserId] | None = Field(default=None, max_length=10)

    @field_validator("interests")
    @classmethod
    def _interests(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else check_terms(value, kind="interests")

    @field_validator("access_needs")
    @classmethod
    def _needs(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else check_terms(value, kind="access_needs")

    @field_validator("free_windows")
    @classmethod
    def _windows(cls, value: str | None) -> str | None:
        return _check_windows(value)


class Household(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    label: str = Field(max_length=80)
    scheme_id: int = Field(foreign_key="scheme.id", index=True)
    lon: float
    lat: float
    postcode: str | None = Field(default=None, max_length=8)
    location_source: str = Field(default="point", max_length=10, description="'postcode' or 'point'.")
    interests: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    access_needs: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    profile: str = Field(default="walk", max_length=10)
    comfortable_walk_minutes: int = 15
    free_windows: str | None = Field(default=None, max_length=500)
    notes: str | None = Field(default=None, max_length=MAX_NOTE_CHARS)
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class HouseholdCarer(SQLModel, table=True):
    """Which carers (users) look after which household."""

    household_id: int = Field(foreign_key="household.id", primary_key=True)
    user_id: int = Field(foreign_key="user.id", primary_key=True, index=True)


class HouseholdSummary(SQLModel):
    """A household without its location or notes (lists)."""

    id: int
    label: str
    scheme_id: int
    interests: list[str]
    access_needs: list[str]
    profile: str
    comfortable_walk_minutes: int
    free_windows: str | None
    carer_ids: list[int]


class HouseholdPrivate(HouseholdSummary):
    """Everything, including the precise location: only for the household's carers, scheme workers and admins."""

    lon: float = Field(description="EPSG:4326.")
    lat: float = Field(description="EPSG:4326.")
    postcode: str | None
    location_source: str
    notes: str | None
    created_at: datetime
    updated_at: datetime


class Outcome(str, Enum):
    tried = "tried"
    enjoyed = "enjoyed"
    regular = "regular"
    not_for_us = "not_for_us"


# After a visit (kindness made visible): what happened, and how it felt (three faces).
What = Literal["said_hello", "had_a_chat", "joined_in", "made_a_friend", "helped_someone"]
Feeling = Literal["good", "okay", "not_good"]
WHAT_WORDS = {"said_hello": "Said hello", "had_a_chat": "Had a chat", "joined_in": "Joined in",
              "made_a_friend": "Made a friend", "helped_someone": "Helped someone"}
FEELING_WORDS = {"good": "Good", "okay": "Okay", "not_good": "Not good"}


class LinkCreate(SQLModel):
    """One community link made: a place or an opportunity, on a date, and how it went."""

    on: date
    place_id: int | None = None
    opportunity_id: int | None = None
    outcome: Outcome
    note: str | None = Field(default=None, max_length=MAX_NOTE_CHARS)
    what: What | None = Field(default=None, description="What happened: said hello … helped someone.")
    feeling: Feeling | None = Field(default=None, description="How it felt: good, okay, not good.")

    @model_validator(mode="after")
    def _one_target(self):
        if (self.place_id is None) == (self.opportunity_id is None):
            raise ValueError("give either place_id or opportunity_id")
        return self


class LinkLog(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    on: date = Field(index=True)
    place_id: int | None = Field(default=None, foreign_key="place.id", index=True)
    opportunity_id: int | None = Field(default=None, foreign_key="opportunity.id", index=True)
    outcome: Outcome
    note: str | None = Field(default=None, max_length=MAX_NOTE_CHARS)
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    what: str | None = Field(default=None, max_length=20)
    feeling: str | None = Field(default=None, max_length=10)


class LinkPrivate(SQLModel):
    id: int
    household_id: int
    on: date
    place_id: int | None
    opportunity_id: int | None
    outcome: Outcome
    note: str | None
    created_at: datetime
    what: str | None = None
    feeling: str | None = None


class PlanItem(SQLModel, table=True):
    """A place, opportunity or support service saved into a household's community-links plan."""

    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    place_id: int | None = Field(default=None, foreign_key="place.id")
    opportunity_id: int | None = Field(default=None, foreign_key="opportunity.id")
    support_id: int | None = Field(default=None, foreign_key="supportservice.id")
    note: str | None = Field(default=None, max_length=MAX_NOTE_CHARS)
    added_by: int | None = Field(default=None, foreign_key="user.id")
    added_at: datetime = Field(default_factory=utcnow)
    position: int | None = Field(default=None, description="Order in the plan (carers reorder it); None: by id.")


class NotForUs(SQLModel, table=True):
    """A suggestion a household's carers said "not for us" to: it is left out of their suggestions."""

    household_id: int = Field(foreign_key="household.id", primary_key=True)
    kind: str = Field(max_length=12, primary_key=True, description="'place', 'opportunity' or 'support'.")
    target_id: int = Field(primary_key=True)
    added_by: int | None = Field(default=None, foreign_key="user.id")
    added_at: datetime = Field(default_factory=utcnow)


class MyPlacesLink(SQLModel, table=True):
    """The private "My places" link a carer turns on for the person they support: only its sha256 is
    stored; it expires, and the carers can turn it off (revoke) at any time."""

    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    token_hash: str = Field(max_length=64, index=True, unique=True)
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    revoked_at: datetime | None = None


class PersonChoice(SQLModel, table=True):
    """What the person said about a place on their "My places" page: 'liked' or 'not_for_me' (theirs to say)."""

    household_id: int = Field(foreign_key="household.id", primary_key=True)
    plan_item_id: int = Field(foreign_key="planitem.id", primary_key=True)
    choice: str = Field(max_length=12)
    said_at: datetime = Field(default_factory=utcnow)
