"""Words of names and queries: folded for case and accents, stopwords left out."""

from __future__ import annotations

import unicodedata

from kindmap.errors import InvalidQuery

MAX_WORDS = 8
WORD_SCORE = 0.8  # a query word matches a word of a name at this rapidfuzz ratio (0..1) or better
PREFIX_MIN = 3  # "oakh" matches "oakham": a typed prefix of this many letters counts as a good match
KIND_WEIGHT, TOWN_WEIGHT = 0.9, 0.85
TOWN_RADIUS_M = 3000.0  # a place belongs to the nearest settlement within this distance
SETTLEMENTS = ("city", "town", "village", "suburb", "quarter", "neighbourhood", "hamlet")
STOPWORDS = frozenset("the a an of and in at on near".split())


def fold(text: str | None) -> str:
    """Case- and accent-insensitive form of a name: 'Café  St. Anne’s' → 'cafe st annes'."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    bare = bare.replace("'", "").replace("\u2019", "").replace("&", " and ")
    return " ".join("".join(c if c.isalnum() else " " for c in bare).split())


def words(text: str | None) -> list[str]:
    """The searchable words of a text (folded, without 'the', 'of'…)."""
    return [w for w in fold(text).split() if w not in STOPWORDS]


def split_names(text: str | None) -> list[str]:
    """'A; B' → ['A', 'B'] (OSM's and kindmap's separator for several names)."""
    return [n.strip() for n in (text or "").split(";") if n.strip()]


def query_words(text: str) -> list[str]:
    """The words of a query, or ``InvalidQuery`` when none is left to search for."""
    found = words(text)
    if not found:
        raise InvalidQuery("q: type at least one letter or number of the place's name")
    return found[:MAX_WORDS]
