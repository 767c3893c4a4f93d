"""Who read or changed a household's private data, and when.

``household_id`` is a plain column (no foreign key) so the record outlives the household.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from kindmap.models.common import utcnow

# What was touched; reads of the location or the links log must always be recorded.
ACTIONS = ("read_location", "read_links", "create", "update", "delete", "add_link", "delete_link", "read_audit")


class AuditEntry(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    household_id: int = Field(index=True)
    action: str = Field(max_length=20)
    detail: str | None = Field(default=None, max_length=200, description="Which fields; never their values.")


class AuditEntryPublic(SQLModel):
    """As shown to the household's scheme workers and admins."""

    id: int
    at: datetime
    user_id: int
    user_email: str | None
    household_id: int
    action: str
    detail: str | None
