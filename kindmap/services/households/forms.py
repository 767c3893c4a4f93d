"""The carers' web forms for a household, in plain words: the weekly free-time grid, form fields
to the API's request models, and validation problems to a message per field.

The pages post ordinary HTML forms; this turns them into the same ``HouseholdCreate`` /
``HouseholdUpdate`` the JSON API validates, so both paths refuse exactly the same things.
Nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pydantic import ValidationError

from kindmap.errors import KindmapError
from kindmap.models.households import HouseholdCreate, HouseholdPrivate, HouseholdUpdate, vocabulary

DAYS = (("Mon", "Monday"), ("Tue", "Tuesday"), ("Wed", "Wednesday"), ("Thu", "Thursday"), ("Fri", "Friday"),
        ("Sat", "Saturday"), ("Sun", "Sunday"))
# (slug, words, start, end) of the grid's parts of a day, local time.
SLOTS = (("morning", "Morning", "09:00", "12:00"), ("afternoon", "Afternoon", "12:00", "17:00"),
         ("evening", "Evening", "17:00", "21:00"))
PACES = (("walk", "Usual walking pace"), ("slow", "Slower walking"),
         ("step_free", "Step-free (wheelchair, no steps or stairs)"))
WALK_MINUTES = (5, 10, 15, 20, 30, 45, 60)
FIELDS = ("label", "postcode", "interests", "access_needs", "profile", "comfortable_walk_minutes", "free_windows",
          "notes")
# Words for pydantic's messages a carer might meet (the API's own words otherwise).
PLAIN = {
    "string_too_short": "Enter {what}",
    "missing": "Enter {what}",
    "string_too_long": "This is too long: at most {max_length} characters",
    "too_long": "Choose at most {max_length}",
}
WHAT = {"label": "a name for the household, for example 'Household A'", "postcode": "the postcode of the home"}


@dataclass(frozen=True)
class Cell:
    """One box of the weekly grid: a day and a part of it."""

    key: str
    day: str
    day_words: str
    slot_words: str
    start: str
    end: str


def grid() -> list[list[Cell]]:
    """The weekly grid, a row per day."""
    return [[Cell(f"{d}-{s}", d, words, sw, a, b) for s, sw, a, b in SLOTS] for d, words in DAYS]


def windows_from_form(cells: Iterable[str], other: str | None) -> str | None:
    """The free-windows text for the ticked grid boxes plus any other times typed; None when empty."""
    ticked = set(cells)
    parts = [f"{c.day} {c.start}-{c.end}" for row in grid() for c in row if c.key in ticked]
    extra = (other or "").strip().strip(",")
    if extra:
        parts.append(extra)
    return ",".join(parts) or None


def grid_from_windows(text: str | None) -> tuple[set[str], str]:
    """(ticked grid boxes, the other times as text) for an existing free-windows value."""
    if not text:
        return set(), ""
    exact = {f"{c.day} {c.start}-{c.end}".lower(): c.key for row in grid() for c in row}
    ticked, other = set(), []
    for item in text.split(","):
        key = exact.get(" ".join(item.strip().lower().split()))
        if key:
            ticked.add(key)
        elif item.strip():
            other.append(item.strip())
    return ticked, ",".join(other)


def choices() -> dict:
    """Everything the household form offers: interests, access needs, paces, walks, the grid."""
    words = vocabulary()
    return {"interests": list(words["interests"].items()), "access_needs": list(words["access_needs"].items()),
            "paces": PACES, "walk_minutes": WALK_MINUTES, "grid": grid(), "slots": SLOTS}


def _int(value: str | None) -> int | str | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return value  # let the model say what is wrong


def _float(value: str | None) -> float | str | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return value  # let the model say what is wrong


def household_body(get: Callable[[str], str | None], getlist: Callable[[str], list[str]]) -> dict:
    """The request body a household form describes (``get``/``getlist`` read the posted form).

    The home is the postcode when one is typed, else the pin put on the map (``lon``/``lat``)."""
    postcode = (get("postcode") or "").strip()
    lon, lat = (None, None) if postcode else (_float(get("lon")), _float(get("lat")))
    body = {
        "label": (get("label") or "").strip(),
        "postcode": postcode or None,
        "lon": lon,
        "lat": lat,
        "interests": getlist("interests"),
        "access_needs": getlist("access_needs"),
        "profile": get("profile") or "walk",
        "comfortable_walk_minutes": _int(get("comfortable_walk_minutes")) or 15,
        "free_windows": windows_from_form(getlist("free"), get("other_times")),
        "notes": (get("notes") or "").strip() or None,
    }
    return body


def _message(error: dict) -> str:
    field = next((str(p) for p in error.get("loc", ()) if isinstance(p, str)), "")
    template = PLAIN.get(error.get("type", ""))
    if template:
        try:
            return template.format(what=WHAT.get(field, "this"), **(error.get("ctx") or {}))
        except (KeyError, IndexError):
            pass
    text = str(error.get("msg", "this is not right"))
    text = text.removeprefix("Value error, ").replace("lon and lat", "a pin on the map")
    return text[:1].upper() + text[1:]


def field_errors(exc: ValidationError) -> dict[str, str]:
    """One message per form field (the first problem each); a whole-form problem goes to the postcode,
    since every model-wide check of a household form is about where it lives."""
    found: dict[str, str] = {}
    for error in exc.errors():
        loc = [p for p in error.get("loc", ()) if isinstance(p, str)]
        field = loc[0] if loc and loc[0] in FIELDS else "postcode"
        found.setdefault(field, _message(error))
    return found


def domain_field_error(exc: KindmapError) -> dict[str, str]:
    """A service's 'field: what to fix' message as {field: words}; other messages go to the form as a whole."""
    field, sep, words = exc.message.partition(": ")
    if sep and field in FIELDS + ("lon/lat",):
        key = "postcode" if field == "lon/lat" else field
        words = words.replace("give lon and lat", "put a pin on the map")
        return {key: words[:1].upper() + words[1:]}
    return {"form": exc.message[:1].upper() + exc.message[1:]}


def validate(body: dict, *, new: bool) -> HouseholdCreate | HouseholdUpdate:
    """The API's own model of the form (``ValidationError`` as the API would refuse it)."""
    if new:
        return HouseholdCreate.model_validate(body)
    # An edit replaces every field the form shows; no postcode and no pin keeps the home where it is.
    data = {k: v for k, v in body.items() if not (k in ("postcode", "lon", "lat") and v is None)}
    return HouseholdUpdate.model_validate(data)


def form_values(household: HouseholdPrivate | None) -> dict:
    """The form's starting values: a household's, or a new one's defaults."""
    if household is None:
        return {"label": "", "postcode": "", "lon": "", "lat": "", "interests": [], "access_needs": [], "profile": "walk",
                "comfortable_walk_minutes": 15, "free": set(), "other_times": "", "notes": ""}
    ticked, other = grid_from_windows(household.free_windows)
    # The pin is not put back in the form: a postcode or a new pin changes the home, nothing keeps it.
    return {"label": household.label, "postcode": household.postcode or "", "lon": "", "lat": "",
            "interests": household.interests,
            "access_needs": household.access_needs, "profile": household.profile,
            "comfortable_walk_minutes": household.comfortable_walk_minutes, "free": ticked, "other_times": other,
            "notes": household.notes or ""}


def posted_values(body: dict, get: Callable[[str], str | None], getlist: Callable[[str], list[str]]) -> dict:
    """The form's values as posted, to show again with its problems (nothing is lost)."""
    return {"label": body["label"], "postcode": get("postcode") or "", "lon": get("lon") or "", "lat": get("lat") or "",
            "interests": getlist("interests"),
            "access_needs": getlist("access_needs"), "profile": body["profile"],
            "comfortable_walk_minutes": body["comfortable_walk_minutes"], "free": set(getlist("free")),
            "other_times": get("other_times") or "", "notes": get("notes") or ""}
