"""Kindness notes: short thank-yous from the public, shown on a place's page once a
moderator approved them. Nothing about who wrote a note is stored."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from kindmap.models.common import utcnow

MAX_NOTE_CHARS = 500


class KindnessNote(SQLModel, table=True):
    __tablename__ = "kindness_note"

    id: int | None = Field(default=None, primary_key=True)
    place_id: int = Field(foreign_key="place.id", index=True)
    text: str = Field(max_length=MAX_NOTE_CHARS, description="The note as approved (a moderator may have edited it).")
    received_at: datetime | None = Field(default=None, description="When the public sent it.")
    approved_at: datetime = Field(default_factory=utcnow, index=True)
    review_item_id: int | None = Field(default=None, foreign_key="review_item.id", index=True)


class KindnessNotePublic(SQLModel):
    """What the public sees of a note: the words and when it was approved."""

    text: str
    approved_at: datetime
