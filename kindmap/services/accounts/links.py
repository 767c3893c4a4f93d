"""One-time links that set a password: a scheme worker invites a carer, or a worker or admin issues a
password reset. No email server is needed: the worker copies the link and passes it on.

A link is 32 random bytes (URL-safe); only its sha256 is stored. It works once and until it
expires (invites 7 days, resets 24 hours); a newer link for the same account and purpose ends the
older one. Every refusal says the same thing, so a link cannot be probed for whose it is.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlmodel import Session, select

from kindmap.errors import Forbidden, InvalidQuery, NotFound
from kindmap.models.accounts import AccountLink, Role, User
from kindmap.models.common import utcnow
from kindmap.services.accounts.auth import add_user, as_utc, set_password, token_digest

LIFETIME = {"invite": timedelta(days=7), "reset": timedelta(hours=24)}
DEAD_LINK = "this link has been used, has expired or is not right; ask your scheme worker for a new one"
# Who may issue links for whom: scheme workers for carers of their own scheme; admins for anyone.
ISSUERS = frozenset({Role.scheme_worker, Role.admin})


def _issue(session: Session, user: User, *, purpose: str, by: User, now: datetime) -> str:
    for old in session.exec(select(AccountLink).where(AccountLink.user_id == user.id, AccountLink.purpose == purpose,
                                                      AccountLink.used_at.is_(None))).all():
        old.used_at = now  # one live link per account and purpose
        session.add(old)
    raw = secrets.token_urlsafe(32)
    session.add(AccountLink(token_hash=token_digest(raw), user_id=user.id, purpose=purpose, created_by=by.id,
                            created_at=now, expires_at=now + LIFETIME[purpose]))
    session.flush()
    return raw


def invite_carer(session: Session, by: User, *, email: str, display_name: str = "",
                 now: datetime | None = None) -> tuple[User, str]:
    """A new carer account in ``by``'s scheme, inactive until its invite link sets a password; (user, link token)."""
    if by.role != Role.scheme_worker or by.scheme_id is None:
        raise Forbidden("only a scheme worker can invite a carer to their scheme")
    # Unusable until the invite is taken up: a random password nobody knows, and inactive.
    user = add_user(session, email=email, password=secrets.token_urlsafe(24), role=Role.carer,
                    display_name=" ".join((display_name or "").split())[:120], scheme_id=by.scheme_id)
    user.active = False
    session.add(user)
    return user, _issue(session, user, purpose="invite", by=by, now=now or utcnow())


def issue_reset(session: Session, by: User, user_id: int, *, now: datetime | None = None) -> tuple[User, str]:
    """A password-reset link for an account ``by`` may manage (their scheme's carers; anyone for an admin)."""
    if by.role not in ISSUERS:
        raise Forbidden("only a scheme worker or an admin can issue a password-reset link")
    user = session.get(User, user_id)
    manageable = user is not None and (by.role == Role.admin or (
        user.role == Role.carer and user.scheme_id is not None and user.scheme_id == by.scheme_id))
    if not manageable:
        raise NotFound("no carer with that id in your scheme")
    purpose = "invite" if not user.active and _pending_invite(session, user.id) else "reset"
    return user, _issue(session, user, purpose=purpose, by=by, now=now or utcnow())


def _pending_invite(session: Session, user_id: int) -> bool:
    return session.exec(select(AccountLink.id).where(AccountLink.user_id == user_id,
                                                     AccountLink.purpose == "invite")).first() is not None


def live_link(session: Session, raw: str | None, *, now: datetime | None = None) -> tuple[AccountLink, User]:
    """The unused, unexpired link and its account, or ``NotFound`` (one message for every refusal)."""
    if not raw or len(raw) > 100:
        raise NotFound(DEAD_LINK)
    link = session.exec(select(AccountLink).where(AccountLink.token_hash == token_digest(raw))).first()
    now = now or utcnow()
    if link is None or link.used_at is not None or as_utc(link.expires_at) <= now:
        raise NotFound(DEAD_LINK)
    user = session.get(User, link.user_id)
    if user is None or (link.purpose == "reset" and not user.active):
        raise NotFound(DEAD_LINK)
    return link, user


def redeem(session: Session, raw: str | None, *, password: str, confirm: str, now: datetime | None = None) -> User:
    """Use a link: set the password (and switch an invited account on); every other sign-in of it ends."""
    now = now or utcnow()
    link, user = live_link(session, raw, now=now)
    if password != confirm:
        raise InvalidQuery("confirm: the two passwords are not the same")
    set_password(session, user, password)  # checks the length; revokes every sign-in
    user.active = True
    link.used_at = now
    session.add_all([user, link])
    return user


def scheme_carers(session: Session, by: User) -> list[User]:
    """The carers of ``by``'s scheme (scheme workers), for invitations and resets."""
    if by.role != Role.scheme_worker or by.scheme_id is None:
        return []
    return list(session.exec(select(User).where(User.scheme_id == by.scheme_id, User.role == Role.carer)
                             .order_by(User.email)).all())
