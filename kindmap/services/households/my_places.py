""""My places": a private, easy-read page for the person a household supports, reached by an
unguessable link (32 random bytes; only its sha256 stored) that expires and that the carers can turn
off. It shows the plan's places only — never the home, walk times or anything of another household —
and takes "I liked it" / "Not for me", which the carers see. A wrong, expired or revoked link is one
and the same "not found"."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, delete, select

from kindmap.errors import InvalidQuery, NotFound
from kindmap.models.accounts import User
from kindmap.models.common import utcnow
from kindmap.models.households import Household, MyPlacesLink, PersonChoice, PlanItem
from kindmap.services.accounts.auth import as_utc, token_digest
from kindmap.services.households.audit import record
from kindmap.services.households.records import visible_household

LIFETIME = timedelta(days=90)
CHOICES = {"liked": "I liked it", "not_for_me": "Not for me"}
GONE = "this page is not here; ask your carer for a new link"


@dataclass
class LinkState:
    on: bool
    expires_at: datetime | None


def state(session: Session, user: User, household_id: int, *, now: datetime | None = None) -> LinkState:
    """Whether the household's link is on, and until when (for its carers)."""
    visible_household(session, user, household_id)
    link = _live(session, household_id, now or utcnow())
    return LinkState(link is not None, as_utc(link.expires_at) if link else None)


def _live(session: Session, household_id: int, now: datetime) -> MyPlacesLink | None:
    for link in session.exec(select(MyPlacesLink).where(MyPlacesLink.household_id == household_id,
                                                        MyPlacesLink.revoked_at.is_(None))).all():
        if as_utc(link.expires_at) > now:
            return link
    return None


def turn_on(session: Session, user: User, household_id: int, *, now: datetime | None = None) -> str:
    """A new link (any older one stops working); the token, shown once."""
    visible_household(session, user, household_id)
    now = now or utcnow()
    turn_off(session, user, household_id, now=now)
    raw = secrets.token_urlsafe(32)
    session.add(MyPlacesLink(household_id=household_id, token_hash=token_digest(raw), created_by=user.id,
                             created_at=now, expires_at=now + LIFETIME))
    record(session, user=user, household_id=household_id, action="update", detail="my places link on", now=now)
    session.flush()
    return raw


def turn_off(session: Session, user: User, household_id: int, *, now: datetime | None = None) -> None:
    """Every link of the household stops working."""
    visible_household(session, user, household_id)
    for link in session.exec(select(MyPlacesLink).where(MyPlacesLink.household_id == household_id,
                                                        MyPlacesLink.revoked_at.is_(None))).all():
        link.revoked_at = now or utcnow()
        session.add(link)
    record(session, user=user, household_id=household_id, action="update", detail="my places link off", now=now)


def household_for(session: Session, raw: str | None, *, now: datetime | None = None) -> Household:
    """The household a live link opens, or ``NotFound`` (wrong, expired and revoked alike)."""
    if not raw or len(raw) > 100:
        raise NotFound(GONE)
    link = session.exec(select(MyPlacesLink).where(MyPlacesLink.token_hash == token_digest(raw))).first()
    if link is None or link.revoked_at is not None or as_utc(link.expires_at) <= (now or utcnow()):
        raise NotFound(GONE)
    household = session.get(Household, link.household_id)
    if household is None:
        raise NotFound(GONE)
    return household


def choose(session: Session, raw: str | None, plan_item_id: int | None, choice: str, *,
           now: datetime | None = None) -> None:
    """The person's answer about one of their places (their last answer counts)."""
    household = household_for(session, raw, now=now)
    if choice not in CHOICES:
        raise InvalidQuery("choice: liked or not_for_me")
    item = session.get(PlanItem, plan_item_id) if plan_item_id else None
    if item is None or item.household_id != household.id:
        raise NotFound(GONE)
    session.exec(delete(PersonChoice).where(PersonChoice.household_id == household.id,
                                            PersonChoice.plan_item_id == item.id))
    session.add(PersonChoice(household_id=household.id, plan_item_id=item.id, choice=choice, said_at=now or utcnow()))


def choices(session: Session, household_id: int) -> dict[int, str]:
    """{plan item id: 'liked' or 'not_for_me'} as the person said."""
    rows = session.exec(select(PersonChoice.plan_item_id, PersonChoice.choice)
                        .where(PersonChoice.household_id == household_id)).all()
    return dict(rows)
