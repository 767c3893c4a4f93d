"""Who cares for which household, for a scheme's workers, and their one change to it: adding or removing
a carer. The change goes through ``records.update_household`` (the PATCH the API offers), so it is
checked (active carers of the same scheme only) and audited like any other change to a household.
Labels and names only: never a location.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, select

from kindmap.errors import Forbidden, InvalidQuery
from kindmap.models.accounts import Role, User
from kindmap.models.households import Household, HouseholdCarer, HouseholdUpdate
from kindmap.services.households import records

MAX_CARERS = 10  # HouseholdCreate/HouseholdUpdate's bound on carer_ids


@dataclass
class Person:
    id: int
    name: str


@dataclass
class CaredFor:
    """One household by label, its carers, and the scheme's active carers who could be added."""

    id: int
    label: str
    carers: list[Person] = field(default_factory=list)
    could_add: list[Person] = field(default_factory=list)


def _worker(user: User) -> int:
    if user.role != Role.scheme_worker or user.scheme_id is None:
        raise Forbidden("only a scheme worker changes who cares for a household")
    return user.scheme_id


def who_cares(session: Session, user: User) -> list[CaredFor]:
    """The scheme's households by label, each with its carers (two queries for the whole scheme)."""
    scheme_id = _worker(user)
    carers = session.exec(select(User).where(User.scheme_id == scheme_id, User.role == Role.carer)
                          .order_by(User.display_name, User.email)).all()
    names = {c.id: Person(c.id, c.display_name or c.email) for c in carers}
    active = [names[c.id] for c in carers if c.active]
    links = session.exec(select(HouseholdCarer.household_id, HouseholdCarer.user_id)
                         .join(Household, Household.id == HouseholdCarer.household_id)
                         .where(Household.scheme_id == scheme_id)).all()
    by_household: dict[int, set[int]] = {}
    for household_id, user_id in links:
        by_household.setdefault(household_id, set()).add(user_id)
    rows = []
    for household_id, label in session.exec(select(Household.id, Household.label).where(Household.scheme_id == scheme_id)
                                            .order_by(Household.label, Household.id)).all():
        mine = by_household.get(household_id, set())
        rows.append(CaredFor(household_id, label, [names[u] for u in sorted(mine, key=lambda u: names[u].name.lower())
                                                   if u in names],
                             [p for p in active if p.id not in mine]))
    return rows


def change_carer(session: Session, user: User, household_id: int, carer_id: int, *, change: str,
                 now: datetime | None = None) -> None:
    """``change`` "add" or "remove" one carer of a household of the worker's scheme (``NotFound`` for any
    other household, before anything else is looked at)."""
    _worker(user)
    household = records.visible_household(session, user, household_id)
    if change not in ("add", "remove"):
        raise InvalidQuery("change: choose add or remove")
    add = change == "add"
    current = set(records.carer_ids(session, household.id))
    if add and len(current) >= MAX_CARERS:
        raise InvalidQuery(f"carer: a household has at most {MAX_CARERS} carers; remove one first")
    if add and carer_id not in current:
        carer = session.get(User, carer_id) if carer_id else None
        if carer is None or carer.role != Role.carer or not carer.active or carer.scheme_id != household.scheme_id:
            raise InvalidQuery("carer: choose one of your scheme's carers who has set their password")
    if add and carer_id in current:
        raise InvalidQuery("carer: they already care for this household")
    if not add and carer_id not in current:
        raise InvalidQuery("carer: they are not a carer of this household")
    wanted = current | {carer_id} if add else current - {carer_id}
    records.update_household(session, user, household_id, HouseholdUpdate(carer_ids=sorted(wanted)), now=now)
