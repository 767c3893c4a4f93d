"""Sources merged field by field: a second source (a council's library list) fills what the place
does not record yet, and where both record opening hours and they disagree, both values go to
review with their sources and dates while the page keeps showing the trusted one.

Trust, highest first: a local fact (a person confirmed it), then the place's primary source
(OpenStreetMap: edited by people who were there, with a date per element), then a list merged
into it. A moderator settles a disagreement with the ``edit`` outcome, which records a local fact.
Hours are compared by what they mean, not how they are written: the open intervals of one
reference week (a Monday-to-Sunday week in January 2026, no bank holidays), day by day.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import opening_hours
from sqlmodel import Session, select

from kindmap.hours import check_hours
from kindmap.models import Place, PlaceCreate, PlaceSource, ReviewItem, ReviewKind
from kindmap.models.common import utcnow
from kindmap.services.community.review import add_review_item

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEK = datetime(2026, 1, 5)  # a Monday, with no bank holiday that week


def week_spans(text: str) -> list[list[str]] | None:
    """Open spans per weekday of a reference week ('09:30-17:00'), or None when the text cannot be read."""
    if not text or not check_hours(text).valid:
        return None
    parsed = opening_hours.OpeningHours(text)
    days: list[list[str]] = []
    for k in range(7):
        a = _WEEK + timedelta(days=k)
        spans = []
        for start, end, state, _comment in parsed.intervals(a, a + timedelta(days=1)):
            if state == opening_hours.State.OPEN:
                end_text = "24:00" if end >= a + timedelta(days=1) else f"{end:%H:%M}"
                spans.append(f"{start:%H:%M}-{end_text}")
        days.append(spans)
    return days


def hours_differences(trusted: str, other: str) -> list[str]:
    """The days on which two opening_hours texts differ, in words ('Saturday: closed / 09:30-16:00')."""
    a, b = week_spans(trusted), week_spans(other)
    if a is None or b is None:
        return [] if (trusted or "").strip() == (other or "").strip() else ["the hours are written differently"]
    words = lambda spans: ", ".join(spans) or "closed"  # noqa: E731
    return [f"{DAY_NAMES[k]}: {words(a[k])} / {words(b[k])}" for k in range(7) if a[k] != b[k]]


def merge_into(session: Session, place: Place, new: PlaceCreate, *, fields: tuple[str, ...], source: str,
               source_id: str, file: str, now: datetime | None = None) -> tuple[list[str], list[str]]:
    """Fill ``place``'s empty ``fields`` from ``new`` (never overwrite); queue an hours disagreement for review.

    Returns (fields filled, days on which the hours disagree).
    """
    now = now or utcnow()
    filled = []
    for name in fields:
        value = getattr(new, name)
        if value is not None and getattr(place, name) is None:
            setattr(place, name, value)
            filled.append(name)
    if "opening_hours" in filled:
        place.opening_hours_valid = check_hours(place.opening_hours).valid
    if filled:
        place.updated_at = now
    differences = []
    if new.opening_hours and place.opening_hours and "opening_hours" not in filled:
        differences = hours_differences(place.opening_hours, new.opening_hours)
        if differences:
            _queue_hours(session, place, new, differences=differences, source=source, source_id=source_id, file=file,
                         now=now)
    return filled, differences


def _trusted_source(session: Session, place: Place) -> dict:
    """Where the hours shown now come from, with the date that source gives."""
    from kindmap.services.community.review import active_facts

    fact = active_facts(session, place.id).get("opening_hours")
    if fact is not None:
        return {"source": fact.source, "kind": "local fact", "date": fact.verified_at.isoformat()}
    src = session.exec(select(PlaceSource).where(PlaceSource.place_id == place.id, PlaceSource.primary == True)  # noqa: E712
                       .order_by(PlaceSource.id)).first()
    ts = (src.source_timestamp if src else None) or place.source_timestamp
    return {"source": place.source, "source_id": place.source_id, "kind": "primary source",
            "date": ts.isoformat() if ts else None, "date_is": "the source's last edit of this place"}


def _queue_hours(session: Session, place: Place, new: PlaceCreate, *, differences: list[str], source: str,
                 source_id: str, file: str, now: datetime) -> ReviewItem:
    shown = {"value": place.opening_hours, **_trusted_source(session, place)}
    other = {"value": new.opening_hours, "source": source, "source_id": source_id, "file": file,
             "date": now.isoformat(), "date_is": "when kindmap imported the list (the list gives no date per row)"}
    evidence = {"field": "opening_hours", "place": place.name, "shown": shown, "other": other,
                "differences": differences,
                "decide": "edit with {\"opening_hours\": …} to record the right hours as a local fact, or dismiss"}
    return add_review_item(session, kind=ReviewKind.hours_change.value, place_id=place.id, evidence=evidence,
                           source=source)


def disputed_hours(session: Session, place_id: int) -> list[dict]:
    """Open disagreements about a place's hours between published sources (for its public page)."""
    rows = session.exec(select(ReviewItem).where(ReviewItem.place_id == place_id,
                                                 ReviewItem.kind == ReviewKind.hours_change,
                                                 ReviewItem.status == "open")).all()
    out = []
    for row in rows:
        evidence = row.evidence()
        other = evidence.get("other") or {}
        if evidence.get("field") == "opening_hours" and other.get("file"):  # from a published list, not a person
            out.append({"file": other["file"], "value": other.get("value"), "differences": evidence.get("differences", [])})
    return out
