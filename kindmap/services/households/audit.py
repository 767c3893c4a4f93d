"""The household audit trail: every read of a location or links log, every change."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from kindmap.models.accounts import User
from kindmap.models.audit import ACTIONS, AuditEntry, AuditEntryPublic
from kindmap.models.common import utcnow


def record(session: Session, *, user: User, household_id: int, action: str, detail: str | None = None,
           now: datetime | None = None) -> AuditEntry:
    """Add one entry in the caller's transaction (so a failed change leaves no entry, and a read is never unrecorded)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    entry = AuditEntry(at=now or utcnow(), user_id=user.id, household_id=household_id, action=action,
                       detail=(detail or None) and detail[:200])
    session.add(entry)
    return entry


def entries_for(session: Session, household_id: int, *, limit: int = 500) -> list[AuditEntryPublic]:
    """Newest first, with the reader's email so a scheme worker can follow up."""
    rows = session.exec(
        select(AuditEntry, User.email).join(User, User.id == AuditEntry.user_id, isouter=True)
        .where(AuditEntry.household_id == household_id).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    ).all()
    return [AuditEntryPublic(id=e.id, at=e.at, user_id=e.user_id, user_email=email, household_id=e.household_id,
                             action=e.action, detail=e.detail) for e, email in rows]
