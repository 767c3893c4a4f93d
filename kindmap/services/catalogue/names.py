"""The names people use: fuzzy name search over places, and towns and postcodes as locations.

A place is found by the words of its name, its other names (OSM ``alt_name``, ``old_name``,
``official_name``, ``short_name``…), its kind ("library") and the town or village it is in,
so "Oakham Library" finds Rutland County Library in Oakham and "Uppinham libary" finds
Uppingham Library. Words are compared with rapidfuzz (edit-distance ratio, ≥ 0.8, or a
prefix of at least three letters), on the in-memory catalogue, so it behaves the same on
SQLite and PostgreSQL and costs one pass over the distinct words of the catalogue per
query word (bounded: at most ``MAX_WORDS`` words of at most 100 characters).

Ranking: relevance first (how well each word matched, and where: the place's own names
count fully, its kind 0.9, its town 0.85; a name equal to or starting with the query gets
a bonus); with a starting point, nearer places win among similar matches
(``relevance − 0.05·log2(1 + km)``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process
from scipy.sparse import csr_matrix
from scipy.spatial import cKDTree
from sqlalchemy import func
from sqlmodel import Session, select

from kindmap.errors import InvalidQuery
from kindmap.geo.distance import haversine_m, unit_vectors
from kindmap.models import Locality, Postcode
from kindmap.services.catalogue.index import CatalogIndex
from kindmap.taxonomy import label

MAX_WORDS = 8
WORD_SCORE = 0.8  # a query word matches a word of a name at this rapidfuzz ratio (0..1) or better
PREFIX_MIN = 3  # "oakh" matches "oakham": a typed prefix of this many letters counts as a good match
KIND_WEIGHT, TOWN_WEIGHT = 0.9, 0.85
TOWN_RADIUS_M = 3000.0  # a place belongs to the nearest settlement within this distance
SETTLEMENTS = ("city", "town", "village", "suburb", "quarter", "neighbourhood", "hamlet")
STOPWORDS = frozenset("the a an of and in at on near".split())
_DISTRICT = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)$")
_SECTOR = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9])$")
_FULL = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})$")


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


@dataclass(frozen=True)
class Location:
    """Where a query points when it names a town or a (partial) postcode; EPSG:4326."""

    name: str
    kind: str  # postcode, postcode_sector, postcode_district, or OSM place=* (town, village…)
    lon: float
    lat: float
    postcodes: int | None = None  # how many postcode centroids a district or sector averages


@dataclass
class NameIndex:
    """Word matrices over the catalogue: rows are catalogue positions, columns distinct words."""

    vocab: np.ndarray
    own: csr_matrix  # words of the name and other names
    kind: csr_matrix  # words of the category label
    town: csr_matrix  # words of the settlement the place is in
    town_names: list[str | None]
    folded: list[str]  # folded names, for the exact/prefix bonus
    localities: list[Locality]


def _matrix(rows: list[list[str]], vocab_ids: dict[str, int], size: int) -> csr_matrix:
    indptr, indices = [0], []
    for row in rows:
        cols = sorted({vocab_ids[w] for w in row})
        indices.extend(cols)
        indptr.append(len(indices))
    data = np.ones(len(indices), dtype=np.float32)
    return csr_matrix((data, np.asarray(indices, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
                      shape=(len(rows), size))


def _towns(index: CatalogIndex, localities: list[Locality]) -> list[str | None]:
    """The name of the nearest settlement within ``TOWN_RADIUS_M`` of each place (None if none)."""
    settled = [loc for loc in localities if loc.kind in SETTLEMENTS]
    if not settled or not index.size:
        return [None] * index.size
    tree = cKDTree(unit_vectors([loc.lon for loc in settled], [loc.lat for loc in settled]))
    _, nearest = tree.query(unit_vectors(index.lon, index.lat), k=1)
    nearest = np.atleast_1d(nearest)
    metres = haversine_m(index.lon, index.lat, np.array([settled[i].lon for i in nearest]),
                         np.array([settled[i].lat for i in nearest]))
    return [settled[i].name if m <= TOWN_RADIUS_M else None for i, m in zip(nearest.tolist(), metres.tolist())]


def build_name_index(index: CatalogIndex, localities: list[Locality]) -> NameIndex:
    """Word matrices for one catalogue index and the region's settlements."""
    towns = _towns(index, localities)
    own = [words(" ".join([c.name, *split_names(c.other_names)])) for c in index.cards]
    kind = [words(label(c.category)) for c in index.cards]
    town = [words(t) for t in towns]
    vocab = sorted({w for rows in (own, kind, town) for row in rows for w in row})
    ids = {w: i for i, w in enumerate(vocab)}
    return NameIndex(np.asarray(vocab, dtype=object), _matrix(own, ids, len(vocab)), _matrix(kind, ids, len(vocab)),
                     _matrix(town, ids, len(vocab)), towns, [fold(c.name) for c in index.cards], localities)


_cache: dict[int, tuple[CatalogIndex, NameIndex]] = {}


def name_index(session: Session, index: CatalogIndex) -> NameIndex:
    """The name index for a catalogue index, built once per index build."""
    hit = _cache.get(id(index))
    if hit is None or hit[0] is not index:
        localities = list(session.exec(select(Locality).order_by(Locality.id)).all())
        _cache.clear()  # one live index per process is the norm; never grow without bound
        hit = _cache[id(index)] = (index, build_name_index(index, localities))
    return hit[1]


def query_words(text: str) -> list[str]:
    """The words of a query, or ``InvalidQuery`` when none is left to search for."""
    found = words(text)
    if not found:
        raise InvalidQuery("q: type at least one letter or number of the place's name")
    return found[:MAX_WORDS]


def _word_scores(vocab: np.ndarray, word: str) -> np.ndarray:
    """0..1 per vocabulary word: rapidfuzz ratio, a prefix of ≥ 3 letters counting 0.95; below WORD_SCORE is 0."""
    if not vocab.size:
        return np.zeros(0, dtype=np.float32)
    scores = process.cdist([word], list(vocab), scorer=fuzz.ratio, dtype=np.float32, workers=1)[0] / 100.0
    if len(word) >= PREFIX_MIN:
        prefix = np.fromiter((v.startswith(word) for v in vocab), dtype=bool, count=vocab.size)
        scores = np.where(prefix, np.maximum(scores, 0.95), scores)
    return np.where(scores >= WORD_SCORE, scores, 0.0).astype(np.float32)


def _best(matrix: csr_matrix, scores: np.ndarray) -> np.ndarray:
    """Per row, the best score among the words the row holds."""
    if matrix.shape[1] == 0:
        return np.zeros(matrix.shape[0], dtype=np.float32)
    return np.asarray(matrix.multiply(scores[np.newaxis, :]).tocsr().max(axis=1).todense()).ravel()


def match_places(names: NameIndex, text: str, keep: np.ndarray, *, lon: float | None = None,
                 lat: float | None = None, lons: np.ndarray | None = None,
                 lats: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Catalogue positions matching every word of ``text`` (best first) and their relevance (0..~1.1).

    A match needs each word in the place's names, kind or town, and at least one word in its
    names or kind (a town alone is a location, not a place). With ``lon``/``lat`` (and the
    catalogue's ``lons``/``lats``) nearer places rank higher among similar matches.
    """
    qwords = query_words(text)
    n = keep.size
    total = np.zeros(n, dtype=np.float32)
    ok = keep.copy()
    named = np.zeros(n, dtype=bool)
    for word in qwords:
        scores = _word_scores(names.vocab, word)
        own, kind, town = _best(names.own, scores), _best(names.kind, scores), _best(names.town, scores)
        best = np.maximum.reduce([own, KIND_WEIGHT * kind, TOWN_WEIGHT * town])
        ok &= (own > 0) | (kind > 0) | (town > 0)
        named |= (own > 0) | (kind > 0)
        total += best
    ok &= named
    positions = np.flatnonzero(ok)
    relevance = total[positions] / len(qwords)
    phrase = fold(" ".join(qwords))
    bonus = np.array([0.1 if names.folded[p] == phrase else 0.05 if names.folded[p].startswith(phrase) else 0.0
                      for p in positions], dtype=np.float32)
    relevance = relevance + bonus
    rank = relevance.astype(np.float64)
    if lon is not None and lat is not None and lons is not None and positions.size:
        km = haversine_m(lon, lat, lons[positions], lats[positions]) / 1000.0
        rank = rank - 0.05 * np.log2(1.0 + km)
    order = np.lexsort((positions, -rank))
    return positions[order], relevance[order]


# ----------------------------------------------------------------------------- locations

def _postcode_shapes(text: str) -> list[tuple[str, str]]:
    """The readings of ``text`` as (part of) a UK postcode: ('postcode'|'district'|'sector', normalised).

    'LE15' is district LE15 or sector LE1 5; both are returned, district first.
    """
    compact = re.sub(r"\s+", " ", (text or "").strip().upper())
    out = []
    if m := _FULL.match(compact):
        out.append(("postcode", f"{m.group(1)} {m.group(2)}"))
    if m := _DISTRICT.match(compact):
        out.append(("district", m.group(1)))
    if m := _SECTOR.match(compact):
        out.append(("sector", f"{m.group(1)} {m.group(2)}"))
    return out


def locate_postcode_area(session: Session, text: str) -> Location | None:
    """A full postcode, or the mean centroid of a district ('LE15') or sector ('LE15 6'); None if unknown."""
    for kind, code in _postcode_shapes(text):
        if kind == "postcode":
            row = session.get(Postcode, code)
            if row is not None:
                return Location(code, "postcode", row.lon, row.lat, 1)
            continue
        pattern = f"{code} %" if kind == "district" else f"{code}%"
        count, lon, lat = session.exec(select(func.count(), func.avg(Postcode.lon), func.avg(Postcode.lat))
                                       .where(Postcode.postcode.like(pattern))).one()
        if count:
            return Location(code, f"postcode_{kind}", float(lon), float(lat), int(count))
    return None


def locate_localities(names: NameIndex, text: str, *, limit: int = 5) -> list[Location]:
    """Towns, villages and neighbourhoods whose name (or other name) matches ``text``, best first."""
    phrase = fold(text)
    if not phrase or not names.localities:
        return []
    choices, owners = [], []
    for i, loc in enumerate(names.localities):
        for name in [loc.name, *split_names(loc.other_names)]:
            choices.append(fold(name))
            owners.append(i)
    found = process.extract(phrase, choices, scorer=fuzz.ratio, score_cutoff=85, limit=limit * 3)
    order = {k: rank for rank, k in enumerate(SETTLEMENTS)}
    best: dict[int, float] = {}
    for _choice, score, k in found:
        best[owners[k]] = max(best.get(owners[k], 0.0), score)
    ranked = sorted(best.items(), key=lambda t: (-t[1], order.get(names.localities[t[0]].kind, 99), t[0]))
    return [Location(names.localities[i].name, names.localities[i].kind, names.localities[i].lon, names.localities[i].lat)
            for i, _ in ranked[:limit]]


def locate(session: Session, names: NameIndex, text: str) -> list[Location]:
    """Locations a query may mean: a (partial) postcode first, else matching towns and villages."""
    area = locate_postcode_area(session, text)
    if area is not None:
        return [area]
    return locate_localities(names, text)
