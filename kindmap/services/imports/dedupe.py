"""Duplicates across sources: is an incoming record a place kindmap already has?

Rules (thresholds documented in geodata/oruk_mapping.md, "Duplicates"):

* Same category, and within ``radius_m`` metres great-circle (EPSG:4326 in):
  150 m when both points are surveyed, 250 m when the incoming point is only a
  postcode centroid (rural postcode centroids sit 100–250 m from the building).
* Then a name match: token-set similarity ≥ 0.6 after dropping generic words
  ("library", "centre", "the"…), *or* the same postcode, *or* every remaining name
  token appears in the existing place's name or address ("Oakham" in "Oakham Library,
  Catmos Street"). The nearest qualifying place wins.
* Near misses (reported, never merged): same category within twice the radius with
  name similarity ≥ 0.6 but too far; or within the radius with a weak name (≥ 0.3).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from kindmap.geo.distance import PointIndex

NAME_THRESHOLD = 0.6
NEAR_MISS_NAME = 0.3
RADIUS_M = 150.0
POSTCODE_RADIUS_M = 250.0
GENERIC = frozenset(
    "the a an of and at in on library libraries centre center community hall village branch county public "
    "council".split()
)
# Fields a second source may fill when the place has none (never overwrites).
FILLABLE = ("opening_hours", "postcode", "address", "phone", "email", "website", "description")


def name_tokens(text: str | None) -> set[str]:
    """Lower-case, accent-free words of a name without generic words."""
    plain = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower().replace("&", " ")
    return {t for t in re.findall(r"[a-z0-9]+", plain) if t not in GENERIC}


def token_set_similarity(a: str | None, b: str | None) -> float:
    """0..1 like rapidfuzz's token_set_ratio, on names without generic words (difflib)."""
    ta, tb = name_tokens(a), name_tokens(b)
    if not ta or not tb:
        return 0.0
    common = " ".join(sorted(ta & tb))
    rest_a = " ".join(sorted(ta - tb))
    rest_b = " ".join(sorted(tb - ta))
    full_a = f"{common} {rest_a}".strip()
    full_b = f"{common} {rest_b}".strip()
    ratio = lambda x, y: SequenceMatcher(None, x, y).ratio() if x and y else 0.0  # noqa: E731
    return max(ratio(common, full_a), ratio(common, full_b), ratio(full_a, full_b))


@dataclass(frozen=True)
class Candidate:
    """An existing place as the matcher sees it."""

    id: int
    name: str
    category: str
    lon: float
    lat: float
    postcode: str | None = None
    address: str | None = None


@dataclass
class Match:
    """A decision about one incoming record; ``place_id`` is None when it is new."""

    incoming: str
    place_id: int | None
    place_name: str | None
    distance_m: float | None
    similarity: float
    reason: str
    source_id: str | None = None


@dataclass
class DedupeReport:
    merges: list[Match] = field(default_factory=list)
    near_misses: list[Match] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Readable lines for a person to check."""
        out = [f"merged {m.incoming!r} into #{m.place_id} {m.place_name!r} ({m.distance_m:.0f} m, {m.reason})" for m in self.merges]
        out += [f"near miss (not merged): {m.incoming!r} vs #{m.place_id} {m.place_name!r} ({m.distance_m:.0f} m, "
                f"name similarity {m.similarity:.2f}; {m.reason}) — check by hand" for m in self.near_misses]
        return out


class Matcher:
    """Finds the existing place an incoming record duplicates (EPSG:4326 in, metres)."""

    def __init__(self, places: list[Candidate]) -> None:
        self.places = places
        self.index = PointIndex([p.lon for p in places], [p.lat for p in places]) if places else None

    def match(self, *, name: str, category: str, lon: float, lat: float, postcode: str | None = None,
              from_postcode: bool = False) -> tuple[Match | None, Match | None]:
        """(merge, near_miss) for one incoming record; at most one of them is set."""
        if self.index is None:
            return None, None
        radius = POSTCODE_RADIUS_M if from_postcode else RADIUS_M
        idx, dist = self.index.within(lon, lat, radius_m=2 * radius)
        mine = name_tokens(name)
        near: Match | None = None
        for i, d in sorted(zip(idx.tolist(), dist.tolist()), key=lambda t: t[1]):
            place = self.places[i]
            if place.category != category:
                continue
            sim = token_set_similarity(name, place.name)
            if d <= radius:
                theirs = name_tokens(f"{place.name} {place.address or ''}")
                if sim >= NAME_THRESHOLD:
                    return Match(name, place.id, place.name, d, sim, f"name similarity {sim:.2f}"), None
                if postcode and place.postcode and postcode.replace(" ", "") == place.postcode.replace(" ", ""):
                    return Match(name, place.id, place.name, d, sim, f"same postcode {place.postcode}"), None
                if mine and mine <= theirs:
                    return Match(name, place.id, place.name, d, sim, "name found in its name or address"), None
                if sim >= NEAR_MISS_NAME and near is None:
                    near = Match(name, place.id, place.name, d, sim, "close, but the names differ")
            elif sim >= NAME_THRESHOLD and near is None:
                near = Match(name, place.id, place.name, d, sim, f"similar name, but more than {radius:.0f} m apart")
        return None, near
