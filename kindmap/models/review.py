"""One review queue for moderators: possibly-closed places, duplicates, problem reports,
resident suggestions and kindness notes, each with its evidence and a one-call outcome."""

from __future__ import annotations

import json
from datetime import datetime
from enum import Enum
from typing import Any

from sqlmodel import Field, SQLModel

from kindmap.models.common import utcnow


class ReviewKind(str, Enum):
    possibly_closed = "possibly_closed"  # a source stopped listing the place
    duplicate = "duplicate"  # place_id and related_place_id may be the same place
    problem_report = "problem_report"  # the public says something is wrong
    suggestion = "suggestion"  # a resident suggests a new place or a change
    hours_change = "hours_change"  # a source or person reports different hours
    kindness_note = "kindness_note"  # a thank-you note waiting to be shown


class ReviewStatus(str, Enum):
    open = "open"
    resolved = "resolved"


class ReviewOutcome(str, Enum):
    confirm_closed = "confirm_closed"  # status closed: hidden from the public
    keep = "keep"  # published, verified now
    merge = "merge"  # keep place_id, fold related_place_id into it (or changes["keep_id"])
    edit = "edit"  # apply changes as local facts, verified now
    dismiss = "dismiss"  # nothing to do (e.g. not a duplicate)
    reappeared = "reappeared"  # set by an import when a missing place came back


class ReviewItem(SQLModel, table=True):
    __tablename__ = "review_item"

    id: int | None = Field(default=None, primary_key=True)
    kind: ReviewKind = Field(index=True)
    status: ReviewStatus = Field(default=ReviewStatus.open, index=True)
    place_id: int | None = Field(default=None, foreign_key="place.id", index=True)
    related_place_id: int | None = Field(default=None, foreign_key="place.id", index=True)
    region_id: int | None = Field(default=None, foreign_key="region.id", index=True)
    source: str = Field(max_length=40, description="Who raised it: osm-reimport, dedupe, public, resident…")
    evidence_json: str = Field(default="{}", description="JSON object shown side by side to the moderator.")
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)
    resolved_at: datetime | None = None
    resolved_by: int | None = Field(default=None, description="User id of the moderator; never public.")
    outcome: ReviewOutcome | None = None
    resolution_json: str | None = Field(default=None, description="The changes applied, as JSON.")

    def evidence(self) -> dict[str, Any]:
        """The evidence as a dict."""
        return json.loads(self.evidence_json or "{}")
