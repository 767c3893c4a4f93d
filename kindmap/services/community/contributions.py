"""Contributions from the public — suggest a place, report a problem, thank a place —
queued for moderators, and what moderators decide about them.

Nothing here knows who sent a contribution: no address, account or device is stored.
Texts are NFC-normalised, stripped of control characters and bounded in length.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlmodel import Session, select

from kindmap.errors import Conflict, InvalidQuery, NotFound
from kindmap.hours import check_hours
from kindmap.models import (
    Place,
    PlaceCreate,
    PlaceSource,
    PlaceStatus,
    ReviewItem,
    ReviewKind,
    ReviewOutcome,
    ReviewStatus,
)
from kindmap.models.common import utcnow
from kindmap.models.contributions import (
    MAX_NOTE_CHARS,
    KindnessNote,
    KindnessNotePublic,
)
from kindmap.services.catalogue.search import get_place, locate_postcode
from kindmap.services.community.review import add_review_item, settle_listing
from kindmap.taxonomy import categories

MAX_BODY_BYTES = 16_384
HONEYPOT = "nickname"  # hidden from people by the page; bots that fill every field fill it
SOURCE = "public"
MAX_WAITING = 50  # open notes/reports kept on one place before we ask people to wait
PROBLEMS = {
    "closed": "It has closed",
    "wrong_hours": "The opening hours are wrong",
    "not_free": "It is not free",
    "not_accessible": "It is not accessible as described",
    "other": "Something else",
}
_CONTROL = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
FIELD_NAMES = {"name": "Name of the place", "category": "Type of place", "address": "Address", "postcode": "Postcode",
               "website": "Website", "opening_hours": "Opening hours", "description": "What makes it welcoming",
               "text": "Your note", "details": "What is wrong", "problem": "What is wrong", "place_id": "Place"}


def clean(value: Any, *, multiline: bool = False) -> Any:
    """NFC-normalise text, drop control and bidi-override characters, trim; other values pass."""
    if not isinstance(value, str):
        return value
    text = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    if not multiline:
        text = text.replace("\n", " ")
    text = _CONTROL.sub("", text)
    return re.sub(r"[ \t]+", " ", text).strip()


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    nickname: str | None = Field(default=None, max_length=200, description="Honeypot: leave empty.")

    @field_validator("*", mode="before")
    @classmethod
    def _clean(cls, value: Any, info) -> Any:
        return clean(value, multiline=info.field_name in ("description", "details", "text"))

    @field_validator("*", mode="after")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value == "" else value


class SuggestionIn(_In):
    name: str = Field(min_length=2, max_length=200)
    category: str = Field(max_length=40)
    address: str | None = Field(default=None, max_length=400)
    postcode: str | None = Field(default=None, max_length=10)
    website: str | None = Field(default=None, max_length=500)
    opening_hours: str | None = Field(default=None, max_length=300)
    description: str | None = Field(default=None, max_length=2000)


class ProblemIn(_In):
    place_id: int = Field(ge=1)
    problem: Literal["closed", "wrong_hours", "not_free", "not_accessible", "other"]
    details: str | None = Field(default=None, max_length=2000)


class KindnessIn(_In):
    place_id: int = Field(ge=1)
    text: str = Field(min_length=3, max_length=MAX_NOTE_CHARS)


def parse(model: type[_In], payload: Any) -> _In:
    """Validate a submission; friendly ``InvalidQuery`` naming each field to fix."""
    if not isinstance(payload, dict):
        raise InvalidQuery("send the form fields as a JSON object")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise InvalidQuery(". ".join(_friendly(e) for e in exc.errors()) + ".") from None


def _friendly(error: dict) -> str:
    field = str(error["loc"][0]) if error.get("loc") else "form"
    label = FIELD_NAMES.get(field, field)
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return f"{label}: please fill this in"
    if kind == "string_too_short":
        return f"{label}: please write at least {ctx.get('min_length')} characters"
    if kind == "string_too_long":
        return f"{label}: please keep it to {ctx.get('max_length')} characters or fewer"
    if kind == "extra_forbidden":
        return f"{field}: this form has no such field"
    if kind == "literal_error":
        return f"{label}: choose one of the options"
    return f"{label}: {error.get('msg', 'not valid')}"


# Rate limits per kind of contribution, each per 10 minutes: (about one place or one suggested
# name from one client, from one client in all, from everyone). A library's or community centre's
# wifi is one client shared by many people, so its own cap is wide and the narrow one is per place:
# one household thanking its favourite place again and again does not lock the others out.
# A new kind of contribution adds its row here (kinds without one get (3, 20, 200)).
RATE_LIMITS: dict[str, tuple[int, int, int]] = {
    "suggestion": (2, 10, 200),
    "problem_report": (3, 20, 200),
    "kindness_note": (3, 30, 300),
    "answer": (8, 40, 400),  # one visitor may answer each of the seven questions about one place
}


def rate_target(data: _In) -> str:
    """What a submission is about, for the narrow rate limit: its place, or the suggested name."""
    place_id = getattr(data, "place_id", None)
    if place_id is not None:
        return f"place/{place_id}"
    return "name/" + " ".join(str(getattr(data, "name", "") or "").casefold().split())


def is_bot(data: _In) -> bool:
    """True when the honeypot field was filled (people never see it)."""
    return bool(data.nickname)


def _stamp(now: datetime) -> str:
    return now.isoformat(timespec="seconds")


# ----------------------------------------------------------------------------- submissions

def submit_suggestion(session: Session, data: SuggestionIn, *, now: datetime | None = None) -> ReviewItem:
    """Queue a suggested new place (one review item per suggestion) with its location if known."""
    now = now or utcnow()
    if data.category not in categories():
        raise InvalidQuery(f"Type of place: choose one of the options ({', '.join(categories())})")
    if not (data.postcode or data.address):
        raise InvalidQuery("Address or postcode: please give at least one, so we can find the place")
    if data.website and not re.match(r"^https?://[^\s/]+\.[^\s]+$", data.website, re.I):
        raise InvalidQuery("Website: give a full web address starting with https:// or http://")
    point = None
    if data.postcode:
        try:
            row = locate_postcode(session, data.postcode)
        except (NotFound, InvalidQuery):
            raise InvalidQuery(f"Postcode: we do not know {data.postcode}; check it, or leave it empty and "
                               "describe where the place is in the address") from None
        point = {"lon": row.lon, "lat": row.lat, "from": f"postcode {row.postcode}"}
        data = data.model_copy(update={"postcode": row.postcode})
    if data.opening_hours and not check_hours(data.opening_hours).valid:
        pass  # kept as written; a moderator turns it into opening-hours syntax
    submitted = data.model_dump(exclude={"nickname"}, exclude_none=True)
    evidence = {"contribution": "suggestion", "submitted": submitted, "point": point, "received_at": _stamp(now)}
    # Each suggestion is its own item: add_review_item would fold every open suggestion
    # (they share place_id None) into one, so the same row is built here directly.
    item = ReviewItem(kind=ReviewKind.suggestion, place_id=None, source=SOURCE,
                      evidence_json=json.dumps(evidence, sort_keys=True, ensure_ascii=False), created_at=now, updated_at=now)
    session.add(item)
    session.flush()
    return item


def _append(session: Session, *, kind: str, place_id: int, key: str, entry: dict, contribution: str) -> ReviewItem:
    """Add ``entry`` to the open item for this place (one item per place and kind, as the queue dedupes)."""
    get_place(session, place_id)  # 404 unless the public can see it
    open_item = session.exec(select(ReviewItem).where(
        ReviewItem.kind == ReviewKind(kind), ReviewItem.status == ReviewStatus.open, ReviewItem.place_id == place_id,
        ReviewItem.related_place_id == None)).first()  # noqa: E711
    evidence = open_item.evidence() if open_item is not None else {}
    entries = list(evidence.get(key, []))
    if len(entries) >= MAX_WAITING:
        raise Conflict("Many messages about this place are already waiting for a moderator; please try again in a few days")
    entries.append(entry)
    return add_review_item(session, kind=kind, place_id=place_id, source=SOURCE,
                           evidence={"contribution": contribution, key: entries})


def submit_problem(session: Session, data: ProblemIn, *, now: datetime | None = None) -> ReviewItem:
    """Queue a problem report about a published place (resolved through the review outcomes)."""
    now = now or utcnow()
    if data.problem == "other" and not data.details:
        raise InvalidQuery("What is wrong: please tell us in a few words")
    entry = {"problem": data.problem, "problem_label": PROBLEMS[data.problem], "details": data.details,
             "received_at": _stamp(now)}
    return _append(session, kind="problem_report", place_id=data.place_id, key="reports", entry=entry,
                   contribution="problem_report")


def submit_kindness(session: Session, data: KindnessIn, *, now: datetime | None = None) -> ReviewItem:
    """Queue a thank-you note for a place; it is shown only after a moderator approves it."""
    now = now or utcnow()
    return _append(session, kind="kindness_note", place_id=data.place_id, key="notes",
                   entry={"text": data.text, "received_at": _stamp(now)}, contribution="kindness_note")


# ----------------------------------------------------------------------------- decisions

def _open_item(session: Session, item_id: int, kinds: tuple[ReviewKind, ...]) -> ReviewItem:
    item = session.get(ReviewItem, item_id)
    if item is None:
        raise NotFound(f"no review item with id {item_id}")
    if item.kind not in kinds:
        hint = "use POST /api/review/{id}/resolve for this kind" if item.kind is ReviewKind.problem_report else ""
        raise InvalidQuery(f"item {item_id} is a {item.kind.value}; approve works on suggestions and kindness notes. {hint}".strip())
    if item.status == ReviewStatus.resolved:
        raise Conflict(f"review item {item_id} was already decided on {item.resolved_at:%Y-%m-%d}")
    return item


def _region_for(session: Session, lon: float, lat: float) -> int | None:
    """The region of the nearest place (a suggestion has no region of its own)."""
    rows = session.exec(select(Place.region_id, Place.lon, Place.lat).where(Place.region_id != None)).all()  # noqa: E711
    if not rows:
        return None
    return min(rows, key=lambda r: (r[1] - lon) ** 2 + (r[2] - lat) ** 2)[0]


def _finish(item: ReviewItem, *, outcome: ReviewOutcome, applied: dict, by: int | None, now: datetime) -> None:
    item.status, item.outcome, item.resolved_at, item.resolved_by = ReviewStatus.resolved, outcome, now, by
    item.resolution_json, item.updated_at = json.dumps(applied, sort_keys=True, default=str, ensure_ascii=False), now


def approve_suggestion(session: Session, item_id: int, *, changes: dict[str, Any] | None = None,
                       by_user_id: int | None = None, now: datetime | None = None) -> Place:
    """Publish a suggested place (a moderator may correct any field, and must give lon/lat if no postcode matched)."""
    now = now or utcnow()
    item = _open_item(session, item_id, (ReviewKind.suggestion,))
    evidence = item.evidence()
    changes = {k: clean(v, multiline=k == "description") for k, v in (changes or {}).items()}
    values: dict[str, Any] = {**evidence.get("submitted", {}), **(evidence.get("point") or {}), **changes}
    values.pop("from", None)
    if values.get("lon") is None or values.get("lat") is None:
        raise InvalidQuery("this suggestion has no location yet: give lon and lat (EPSG:4326) in changes")
    try:
        checked = PlaceCreate.model_validate({**values, "source": "resident", "source_id": f"suggestion/{item.id}",
                                              "verified_at": now, "status": PlaceStatus.published})
    except ValidationError as exc:
        raise InvalidQuery("changes are not valid: " + "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from None
    if checked.category not in categories():
        raise InvalidQuery(f"category must be one of: {', '.join(categories())}")
    hours_valid = None if not checked.opening_hours else check_hours(checked.opening_hours).valid
    place = Place(**checked.model_dump(exclude={"listing", "listing_rule"}),
                  region_id=_region_for(session, checked.lon, checked.lat),
                  opening_hours_valid=hours_valid, imported_at=now, created_at=now, updated_at=now)
    # A suggested toilet is a facility, a food bank is support: the inclusion rule decides, as for imports.
    settle_listing(place, facts={}, tags={})
    session.add(place)
    session.flush()
    supplied = checked.model_dump(mode="json", include=set(values) & set(PlaceCreate.model_fields))
    session.add(PlaceSource(place_id=place.id, source="resident", source_id=f"suggestion/{item.id}",
                            values_json=json.dumps(supplied, sort_keys=True), first_seen_at=now, last_seen_at=now))
    item.place_id, item.region_id = place.id, place.region_id
    _finish(item, outcome=ReviewOutcome.edit if changes else ReviewOutcome.keep,
            applied={"place_id": place.id, "approved": True, "changes": changes}, by=by_user_id, now=now)
    session.flush()
    if place.listing == "support":
        from kindmap.services.catalogue.support_layer import sync_support_layer

        sync_support_layer(session)
    return place


def approve_kindness(session: Session, item_id: int, *, notes: list[str] | None = None, by_user_id: int | None = None,
                     now: datetime | None = None) -> list[KindnessNote]:
    """Show the item's notes on the place page; ``notes`` (edited texts) replaces them when given."""
    now = now or utcnow()
    item = _open_item(session, item_id, (ReviewKind.kindness_note,))
    waiting = item.evidence().get("notes", [])
    if notes is None:
        chosen = [(n.get("text", ""), n.get("received_at")) for n in waiting]
    else:
        if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
            raise InvalidQuery("notes must be a list of texts")
        chosen = [(n, None) for n in notes]
    rows = []
    for text, received in chosen:
        text = clean(text, multiline=True)
        if not 1 <= len(text) <= MAX_NOTE_CHARS:
            raise InvalidQuery(f"each note must be 1–{MAX_NOTE_CHARS} characters")
        received_at = datetime.fromisoformat(received) if received else None
        rows.append(KindnessNote(place_id=item.place_id, text=text, received_at=received_at, approved_at=now,
                                 review_item_id=item.id))
    session.add_all(rows)
    _finish(item, outcome=ReviewOutcome.keep, applied={"approved_notes": len(rows)}, by=by_user_id, now=now)
    session.flush()
    return rows


def reject(session: Session, item_id: int, *, reason: str | None = None, by_user_id: int | None = None,
           now: datetime | None = None) -> ReviewItem:
    """Decline a suggestion or kindness note: nothing is published; the item is closed as dismissed."""
    now = now or utcnow()
    item = _open_item(session, item_id, (ReviewKind.suggestion, ReviewKind.kindness_note))
    _finish(item, outcome=ReviewOutcome.dismiss, applied={"rejected": True, "reason": clean(reason or "")[:300]},
            by=by_user_id, now=now)
    session.flush()
    return item


def public_notes(session: Session, place_id: int, *, limit: int = 50) -> list[KindnessNotePublic]:
    """Approved notes for a published place, newest first."""
    get_place(session, place_id)
    rows = session.exec(select(KindnessNote).where(KindnessNote.place_id == place_id)
                        .order_by(KindnessNote.approved_at.desc(), KindnessNote.id.desc()).limit(limit)).all()
    return [KindnessNotePublic(text=r.text, approved_at=r.approved_at) for r in rows]

