"""The names people use: fuzzy name search over places, and towns and postcodes as locations.

A place is found by the words of its name, its other names (OSM ``alt_name``, ``old_name``,
``official_name``, ``short_name``…), its kind ("library") and the town or village it is in,
so "Oakham Library" finds Rutland County Library in Oakham and "Uppinham libary" finds
Uppingham Library. Words are compared with rapidfuzz (edit-distance ratio, ≥ 0.8, or a
prefix of at least three letters), on the in-memory catalogue, so it behaves the same on
SQLite and PostgreSQL. The cost follows the matches, not the catalogue: postings (word →
places) are built once per catalogue index (~4 s CPU and ~75 MB at 10⁶ places); a query word
is compared with the distinct words of a length that can match (and a sorted range for
prefixes); only the places of the query word matching the fewest are scored, at most
``MAX_CANDIDATES`` (a broader query is refused with a 422 asking for another word), and
at most ``MAX_WORDS`` words of at most 100 characters are read.

Ranking: relevance first (how well each word matched, and where: the place's own names
count fully, its kind 0.9, its town 0.85; a name equal to or starting with the query gets
a bonus); with a starting point, nearer places win among similar matches
(``relevance − 0.05·log2(1 + km)``).
"""

from kindmap.services.catalogue.names.locations import Location, locate, locate_localities, locate_postcode_area
from kindmap.services.catalogue.names.match import MAX_CANDIDATES, match_places
from kindmap.services.catalogue.names.postings import NameIndex, build_name_index, name_index
from kindmap.services.catalogue.names.text import (
    KIND_WEIGHT,
    MAX_WORDS,
    PREFIX_MIN,
    SETTLEMENTS,
    STOPWORDS,
    TOWN_RADIUS_M,
    TOWN_WEIGHT,
    WORD_SCORE,
    fold,
    query_words,
    split_names,
    words,
)

__all__ = ["KIND_WEIGHT", "MAX_CANDIDATES", "MAX_WORDS", "PREFIX_MIN", "SETTLEMENTS", "STOPWORDS", "TOWN_RADIUS_M",
           "TOWN_WEIGHT", "WORD_SCORE", "Location", "NameIndex", "build_name_index", "fold", "locate",
           "locate_localities", "locate_postcode_area", "match_places", "name_index", "query_words", "split_names",
           "words"]
