"""Opportunities (activities, groups, events) and local support services: public data.

An opportunity is at a catalogue place (``place_id``) or has its own point (EPSG:4326).
Its recurring schedule is either an OSM ``opening_hours`` value ("Th 14:00-16:00") or an
RFC 5545 recurrence ("DTSTART:20250102T140000\\nRRULE:FREQ=WEEKLY;BYDAY=TH") with a
duration in minutes; both are validated where they enter.
"""

from __future__ import annotations

import math
from datetime import datetime
from enum import Enum

from pydantic import ValidationInfo, field_validator, model_validator
from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from kindmap.models.common import utcnow
from kindmap.models.households import check_terms
from kindmap.schemas import LocalDateTime, UtcDateTime

MAX_RRULE_CHARS = 500


class Cost(str, Enum):
    free = "free"
    donation = "donation"
    low = "low"


class Booking(str, Enum):
    drop_in = "drop_in"
    booking = "booking"


class ScheduleKind(str, Enum):
    opening_hours = "opening_hours"
    rrule = "rrule"


class ActivityStatus(str, Enum):
    published = "published"
    pending = "pending"


class SupportKind(str, Enum):
    shared_lives_scheme_office = "shared_lives_scheme_office"
    advice = "advice"
    carers_support = "carers_support"
    food_support = "food_support"
    mental_health = "mental_health"
    befriending = "befriending"
    transport = "transport"
    other = "other"


def check_schedule(kind: ScheduleKind | None, text: str | None) -> str | None:
    """Validate a schedule string of ``kind``; ``ValueError`` says what to fix."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    if kind is None:
        raise ValueError("give schedule_kind ('opening_hours' or 'rrule') with a schedule")
    if kind == ScheduleKind.opening_hours:
        from kindmap.hours import check_hours

        result = check_hours(text)
        if not result.valid:
            raise ValueError(f"schedule: {result.error}")
        return text
    if len(text) > MAX_RRULE_CHARS:
        raise ValueError(f"schedule: an RRULE is at most {MAX_RRULE_CHARS} characters")
    # One bounded check (kindmap.recurrence): finer than daily, never occurring, too many starts…
    # are refused here in milliseconds; dateutil's own rule[0] could walk years of candidates first.
    from kindmap.recurrence import check_rrule

    try:
        return check_rrule(text)
    except ValueError as exc:
        raise ValueError(f"schedule: {exc}") from None


def _finite(value: float | None, name: str, limit: float) -> float | None:
    if value is not None and (not math.isfinite(value) or abs(value) > limit):
        raise ValueError(f"{name} must be a finite number from {-limit:g} to {limit:g} (EPSG:4326 degrees)")
    return value


class Provenance(SQLModel):
    source: str = Field(default="manual", max_length=40)
    source_id: str | None = Field(default=None, max_length=120)
    source_licence: str | None = Field(default=None, max_length=80)
    verified_at: datetime | None = None
    sample: bool = Field(default=False, description="Demonstration data, not a real listing.")


class Contact(SQLModel):
    phone: str | None = Field(default=None, max_length=80)
    email: str | None = Field(default=None, max_length=200)
    website: str | None = Field(default=None, max_length=500)


class OpportunityBase(Contact, Provenance):
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    place_id: int | None = Field(default=None, foreign_key="place.id", index=True)
    lon: float | None = Field(default=None, description="EPSG:4326; taken from the place when place_id is given.")
    lat: float | None = None
    schedule_kind: ScheduleKind | None = None
    schedule: str | None = Field(default=None, max_length=MAX_RRULE_CHARS)
    duration_minutes: int = Field(default=120, ge=5, le=24 * 60, description="Length of each RRULE occurrence.")
    cost: Cost = Cost.free
    audience: str = Field(default="everyone welcome", max_length=200)
    booking: Booking = Booking.drop_in
    accessibility_notes: str | None = Field(default=None, max_length=1000)
    status: ActivityStatus = ActivityStatus.published


class OpportunityCreate(OpportunityBase):
    interests: list[str] = Field(default_factory=list, max_length=16)

    @field_validator("interests")
    @classmethod
    def _interests(cls, value: list[str]) -> list[str]:
        return check_terms(value, kind="interests")

    @field_validator("lon")
    @classmethod
    def _lon(cls, value: float | None) -> float | None:
        return _finite(value, "lon", 180)

    @field_validator("lat")
    @classmethod
    def _lat(cls, value: float | None) -> float | None:
        return _finite(value, "lat", 90)

    @model_validator(mode="after")
    def _where_and_when(self, info: ValidationInfo):
        # An importer that will resolve a place by name passes context {"place_pending": True}.
        pending = bool(info.context and info.context.get("place_pending"))
        if (self.lon is None) != (self.lat is None):
            raise ValueError("give both lon and lat, or neither")
        if self.place_id is None and self.lon is None and not pending:
            raise ValueError("give place_id, or lon and lat, for where it happens")
        self.schedule = check_schedule(self.schedule_kind, self.schedule)
        return self


class Opportunity(OpportunityBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    interests: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    region_id: int | None = Field(default=None, foreign_key="region.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class OpportunityPublic(SQLModel):
    id: int
    title: str
    description: str | None
    interests: list[str]
    place_id: int | None
    place_name: str | None
    lon: float
    lat: float
    schedule_kind: ScheduleKind | None
    schedule: str | None
    duration_minutes: int
    next_on: LocalDateTime | None = Field(description="Next start, local time with its UTC offset, when the schedule says.")
    cost: Cost
    audience: str
    booking: Booking
    phone: str | None
    email: str | None
    website: str | None
    accessibility_notes: str | None
    status: ActivityStatus
    source: str
    source_id: str | None
    source_licence: str | None
    verified_at: UtcDateTime | None
    sample: bool
    distance_m: float | None = Field(default=None, description="Straight-line metres from the search point.")


class SupportBase(Contact, Provenance):
    name: str = Field(min_length=1, max_length=200)
    kind: SupportKind
    description: str | None = Field(default=None, max_length=4000)
    eligibility: str | None = Field(default=None, max_length=1000, description="Who it is for, in plain words.")
    region: str | None = Field(default=None, max_length=64, index=True, description="Region slug of the area served.")
    place_id: int | None = Field(default=None, foreign_key="place.id")
    lon: float | None = None
    lat: float | None = None
    opening_hours: str | None = Field(default=None, max_length=255)
    status: ActivityStatus = ActivityStatus.published


class SupportCreate(SupportBase):
    area_codes: list[str] = Field(default_factory=list, max_length=500, description="Small-area codes served.")

    @field_validator("lon")
    @classmethod
    def _lon(cls, value: float | None) -> float | None:
        return _finite(value, "lon", 180)

    @field_validator("lat")
    @classmethod
    def _lat(cls, value: float | None) -> float | None:
        return _finite(value, "lat", 90)

    @model_validator(mode="after")
    def _check(self):
        if (self.lon is None) != (self.lat is None):
            raise ValueError("give both lon and lat, or neither")
        if not self.region and not self.area_codes:
            raise ValueError("give the area served: a region slug and/or area_codes")
        if self.opening_hours:
            check_schedule(ScheduleKind.opening_hours, self.opening_hours)
        self.area_codes = [c.strip().upper() for c in self.area_codes if c.strip()]
        return self


class SupportService(SupportBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    area_codes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class SupportPublic(SQLModel):
    id: int
    name: str
    kind: SupportKind
    description: str | None
    eligibility: str | None
    region: str | None
    area_codes: list[str]
    place_id: int | None
    lon: float | None
    lat: float | None
    opening_hours: str | None
    phone: str | None
    email: str | None
    website: str | None
    status: ActivityStatus
    source: str
    source_id: str | None
    source_licence: str | None
    verified_at: UtcDateTime | None
    sample: bool
    distance_m: float | None = None
