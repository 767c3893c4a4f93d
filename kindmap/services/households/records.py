"""Private Shared Lives households: who may see them, create, change, delete; the links log.

Visibility: the household's own carers and workers of its scheme — nobody else. Admins manage
accounts, not households: a home's location reaches only the people who care for that household
and its scheme's workers (the product's privacy standard). For anyone else a household does not exist (``NotFound`` with a message that echoes nothing), so
an id cannot be probed — not even by time: the rule is an SQL condition, so a hidden
household and a missing one cost the same single statement. Only scheme workers decide who a
household's carers are. Every read of a location or links log is audited in the
same transaction as the read.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache

import shapely
from shapely.geometry import Point, shape
from sqlalchemy import exists
from sqlmodel import Session, delete, select

from kindmap.errors import Forbidden, InvalidQuery, NotFound
from kindmap.ingest.postcodes import normalise_postcode
from kindmap.models import Place, Postcode, Region
from kindmap.models.accounts import Role, User
from kindmap.models.activities import Opportunity
from kindmap.models.common import utcnow
from kindmap.models.households import (
    Household,
    HouseholdCarer,
    HouseholdCreate,
    HouseholdPrivate,
    HouseholdSummary,
    HouseholdUpdate,
    LinkCreate,
    LinkLog,
    LinkPrivate,
    LocationInput,
    MyPlacesLink,
    NotForUs,
    PersonChoice,
    PlanItem,
)
from kindmap.services.accounts.auth import as_utc
from kindmap.services.households.audit import record

HIDDEN = "household not found"
CREATORS = frozenset({Role.carer, Role.scheme_worker})
ASSIGNERS = frozenset({Role.scheme_worker})
NOT_ASSIGNER = "only the scheme's workers can change a household's carers"
# Names no id: listing the bad ones told the caller which user ids are active carers.
BAD_CARERS = "carer_ids: one or more ids are not carers of this scheme you can assign"


# --------------------------------------------------------------------------- visibility


def carer_ids(session: Session, household_id: int) -> list[int]:
    """Users who are carers of the household, by id."""
    return sorted(session.exec(select(HouseholdCarer.user_id).where(HouseholdCarer.household_id == household_id)).all())


def may_see(user: User):
    """The visibility rule, in one place: an SQL condition on ``Household``, or ``None`` when ``user`` may see none."""
    if not user.active:
        return None
    if user.role == Role.scheme_worker and user.scheme_id is not None:
        return Household.scheme_id == user.scheme_id
    if user.role == Role.carer:
        return exists().where(HouseholdCarer.household_id == Household.id, HouseholdCarer.user_id == user.id)
    return None


def visible_household(session: Session, user: User, household_id: int) -> Household:
    """The household if ``user`` may see it, else ``NotFound`` (the same for absent and hidden).

    One statement loads the household and checks access together, so "missing" and "not yours" run
    the same SQL and take the same time (loading it first and checking after cost a hidden one an
    extra query, which a stopwatch could see).
    """
    rule = may_see(user)
    household = session.exec(select(Household).where(Household.id == household_id, rule)).first() \
        if rule is not None else None
    if household is None:
        raise NotFound(HIDDEN)
    return household


def list_households(session: Session, user: User) -> list[HouseholdSummary]:
    """Every household ``user`` may see (no locations: listing is not audited)."""
    rule = may_see(user)
    if rule is None:
        return []
    return [summary(h, carer_ids(session, h.id))
            for h in session.exec(select(Household).where(rule).order_by(Household.id)).all()]


def summary(household: Household, carers: list[int]) -> HouseholdSummary:
    """The household without its location or notes."""
    return HouseholdSummary(id=household.id, label=household.label, scheme_id=household.scheme_id,
                            interests=list(household.interests), access_needs=list(household.access_needs),
                            profile=household.profile, comfortable_walk_minutes=household.comfortable_walk_minutes,
                            free_windows=household.free_windows, carer_ids=carers)


def private(household: Household, carers: list[int]) -> HouseholdPrivate:
    """Everything, for the household's own carers and scheme workers."""
    return HouseholdPrivate(**summary(household, carers).model_dump(), lon=household.lon, lat=household.lat,
                            postcode=household.postcode, location_source=household.location_source,
                            notes=household.notes, created_at=as_utc(household.created_at),
                            updated_at=as_utc(household.updated_at))


# --------------------------------------------------------------------------- location


@lru_cache(maxsize=32)
def _boundary(geojson: str):
    geometry = shape(json.loads(geojson))
    shapely.prepare(geometry)
    return geometry


def resolve_location(session: Session, where: LocationInput) -> tuple[float, float, str | None, str]:
    """(lon, lat, postcode, source) in EPSG:4326; ``InvalidQuery`` outside every loaded region.

    Messages never echo the postcode or point: they are someone's home.
    """
    regions = session.exec(select(Region)).all()
    names = ", ".join(sorted(r.name for r in regions)) or "none yet"
    if where.postcode is not None:
        try:
            code = normalise_postcode(where.postcode)
        except Exception:  # noqa: BLE001  (any unreadable postcode gets the same plain answer)
            raise InvalidQuery("postcode: that is not a UK postcode (e.g. LE15 6HP)") from None
        row = session.get(Postcode, code)
        if row is None or row.region_id is None:
            raise InvalidQuery(f"postcode: that postcode is outside every loaded region (loaded: {names}); "
                               "check it, or give lon and lat")
        return row.lon, row.lat, row.postcode, "postcode"
    lon, lat = float(where.lon), float(where.lat)
    bounded = [r for r in regions if r.boundary_geojson]
    if bounded and not any(_boundary(r.boundary_geojson).covers(Point(lon, lat)) for r in bounded):
        raise InvalidQuery(f"lon/lat: that point is outside every loaded region (loaded: {names})")
    return lon, lat, None, "point"


# --------------------------------------------------------------------------- create, change, delete


def _scheme_for(session: Session, user: User, scheme_id: int | None) -> int:
    if user.role not in CREATORS or user.scheme_id is None:
        raise Forbidden("only carers and scheme workers of a scheme can add households")
    if scheme_id is not None and scheme_id != user.scheme_id:
        raise InvalidQuery("scheme_id: you can add households only to your own scheme")
    return user.scheme_id


def _set_carers(session: Session, household: Household, wanted: list[int]) -> list[int]:
    wanted = sorted(set(wanted))
    if wanted:
        found = session.exec(select(User.id).where(User.id.in_(wanted), User.role == Role.carer, User.active == True,  # noqa: E712
                                                   User.scheme_id == household.scheme_id)).all()
        if len(set(found)) != len(wanted):
            raise InvalidQuery(BAD_CARERS)
    session.exec(delete(HouseholdCarer).where(HouseholdCarer.household_id == household.id))
    for uid in wanted:
        session.add(HouseholdCarer(household_id=household.id, user_id=uid))
    return wanted


def create_household(session: Session, user: User, data: HouseholdCreate, *, now: datetime | None = None) -> HouseholdPrivate:
    """Add a household; a carer who adds one becomes its carer (and its only one). All or nothing."""
    scheme_id = _scheme_for(session, user, data.scheme_id)
    if user.role not in ASSIGNERS and set(data.carer_ids) - {user.id}:
        raise Forbidden(NOT_ASSIGNER)
    lon, lat, postcode, source = resolve_location(session, data)
    now = now or utcnow()
    household = Household(label=data.label.strip(), scheme_id=scheme_id, lon=lon, lat=lat, postcode=postcode,
                          location_source=source, interests=data.interests, access_needs=data.access_needs,
                          profile=data.profile, comfortable_walk_minutes=data.comfortable_walk_minutes,
                          free_windows=data.free_windows, notes=data.notes, created_by=user.id,
                          created_at=now, updated_at=now)
    session.add(household)
    session.flush()
    carers = _set_carers(session, household, [user.id] if user.role == Role.carer else data.carer_ids)
    record(session, user=user, household_id=household.id, action="create", now=now)
    return private(household, carers)


def read_household(session: Session, user: User, household_id: int, *, now: datetime | None = None) -> HouseholdPrivate:
    """One household with its location (audited)."""
    household = visible_household(session, user, household_id)
    record(session, user=user, household_id=household.id, action="read_location", now=now)
    return private(household, carer_ids(session, household.id))


def update_household(session: Session, user: User, household_id: int, data: HouseholdUpdate, *,
                     now: datetime | None = None) -> HouseholdPrivate:
    """Change the fields given; the location only via a postcode or a lon/lat pair."""
    household = visible_household(session, user, household_id)
    changes = data.model_dump(exclude_unset=True)
    for name in ("label", "profile", "comfortable_walk_minutes", "interests", "access_needs", "carer_ids"):
        if name in changes and changes[name] is None:
            raise InvalidQuery(f"{name}: cannot be empty; leave it out to keep it")
    carers = carer_ids(session, household.id)
    # Granting or taking access is the scheme's decision; a carer may only restate the carers as they are.
    if "carer_ids" in changes and user.role not in ASSIGNERS and set(changes["carer_ids"]) != set(carers):
        raise Forbidden(NOT_ASSIGNER)
    if data.has_location():
        household.lon, household.lat, household.postcode, household.location_source = resolve_location(session, data)
    for name in ("label", "interests", "access_needs", "profile", "comfortable_walk_minutes", "free_windows", "notes"):
        if name in changes:
            setattr(household, name, changes[name].strip() if name == "label" else changes[name])
    if "carer_ids" in changes and user.role in ASSIGNERS:
        carers = _set_carers(session, household, changes["carer_ids"])
    household.updated_at = now or utcnow()
    session.add(household)
    record(session, user=user, household_id=household.id, action="update",
           detail=",".join(sorted(k for k in changes if k not in ("lon", "lat", "postcode")) +
                           (["location"] if data.has_location() else [])), now=now)
    return private(household, carers)


def delete_household(session: Session, user: User, household_id: int, *, now: datetime | None = None) -> None:
    """Remove a household and its carers, links and plan (the audit trail stays)."""
    household = visible_household(session, user, household_id)
    if user.role == Role.carer:
        raise Forbidden("only the scheme's workers can delete a household")
    for table in (HouseholdCarer, LinkLog, PersonChoice, PlanItem, NotForUs, MyPlacesLink):
        session.exec(delete(table).where(table.household_id == household.id))
    session.delete(household)
    record(session, user=user, household_id=household_id, action="delete", now=now)


# --------------------------------------------------------------------------- links log


def _link(row: LinkLog) -> LinkPrivate:
    return LinkPrivate(id=row.id, household_id=row.household_id, on=row.on, place_id=row.place_id,
                       opportunity_id=row.opportunity_id, outcome=row.outcome, note=row.note, created_at=as_utc(row.created_at),
                       what=row.what, feeling=row.feeling)


def list_links(session: Session, user: User, household_id: int, *, now: datetime | None = None) -> list[LinkPrivate]:
    """The household's links log, oldest first (audited)."""
    visible_household(session, user, household_id)
    record(session, user=user, household_id=household_id, action="read_links", now=now)
    rows = session.exec(select(LinkLog).where(LinkLog.household_id == household_id).order_by(LinkLog.on, LinkLog.id)).all()
    return [_link(r) for r in rows]


def add_link(session: Session, user: User, household_id: int, data: LinkCreate, *, now: datetime | None = None) -> LinkPrivate:
    """Record a community link made (a place or an opportunity)."""
    visible_household(session, user, household_id)
    if data.place_id is not None and session.get(Place, data.place_id) is None:
        raise InvalidQuery(f"place_id: no place with id {data.place_id}")
    if data.opportunity_id is not None and session.get(Opportunity, data.opportunity_id) is None:
        raise InvalidQuery(f"opportunity_id: no opportunity with id {data.opportunity_id}")
    row = LinkLog(household_id=household_id, on=data.on, place_id=data.place_id, opportunity_id=data.opportunity_id,
                  outcome=data.outcome, note=data.note, created_by=user.id, created_at=now or utcnow(),
                  what=data.what, feeling=data.feeling)
    session.add(row)
    session.flush()
    record(session, user=user, household_id=household_id, action="add_link", now=now)
    return _link(row)


def delete_link(session: Session, user: User, household_id: int, link_id: int, *, now: datetime | None = None) -> None:
    """Remove one entry of the links log."""
    visible_household(session, user, household_id)
    row = session.get(LinkLog, link_id)
    if row is None or row.household_id != household_id:
        raise NotFound("link not found")
    session.delete(row)
    record(session, user=user, household_id=household_id, action="delete_link", now=now)


def audit_trail(session: Session, user: User, household_id: int, *, now: datetime | None = None):
    """The household's audit entries, for its scheme's workers."""
    visible_household(session, user, household_id)
    if user.role != Role.scheme_worker:
        raise Forbidden("only the scheme's workers can read the audit trail")
    from kindmap.services.households.audit import entries_for

    record(session, user=user, household_id=household_id, action="read_audit", now=now)
    return entries_for(session, household_id)
