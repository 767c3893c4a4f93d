""""Not for us": suggestions a household's carers turned down, remembered so they stop being suggested
(until the carers ask to see them again). Kept per household, audited like the plan."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from sqlmodel import Session, delete, select

from kindmap.errors import InvalidQuery
from kindmap.models import Place
from kindmap.models.accounts import User
from kindmap.models.activities import Opportunity, SupportService
from kindmap.models.common import utcnow
from kindmap.models.households import NotForUs
from kindmap.services.households.audit import record
from kindmap.services.households.records import visible_household

MAX_ID = 2**63 - 1
TABLES = {"place": Place, "opportunity": Opportunity, "support": SupportService}


class NotForUsCreate(BaseModel):
    """Which suggestion (both fields are checked after the household is found, so a hidden one is 404)."""

    kind: Literal["place", "opportunity", "support"] | None = None
    id: int | None = Field(default=None, ge=1, le=MAX_ID)


def turned_down(session: Session, household_id: int) -> set[tuple[str, int]]:
    """(kind, id) of every suggestion the household turned down."""
    rows = session.exec(select(NotForUs.kind, NotForUs.target_id).where(NotForUs.household_id == household_id)).all()
    return {(kind, target) for kind, target in rows}


def turn_down(session: Session, user: User, household_id: int, data: NotForUsCreate, *,
              now: datetime | None = None) -> int:
    """Remember "not for us" for one suggestion (saying it twice changes nothing); the number turned down."""
    visible_household(session, user, household_id)
    if data.kind is None or data.id is None:
        raise InvalidQuery("give kind (place, opportunity or support) and id")
    if session.get(TABLES[data.kind], data.id) is None:
        raise InvalidQuery(f"id: no {data.kind} with id {data.id}")
    if session.get(NotForUs, (household_id, data.kind, data.id)) is None:
        session.add(NotForUs(household_id=household_id, kind=data.kind, target_id=data.id, added_by=user.id,
                             added_at=now or utcnow()))
        record(session, user=user, household_id=household_id, action="update", detail="not for us", now=now)
    session.flush()
    return len(turned_down(session, household_id))


def forget_all(session: Session, user: User, household_id: int, *, now: datetime | None = None) -> None:
    """Suggest everything again."""
    visible_household(session, user, household_id)
    session.exec(delete(NotForUs).where(NotForUs.household_id == household_id))
    record(session, user=user, household_id=household_id, action="update", detail="not for us cleared", now=now)
