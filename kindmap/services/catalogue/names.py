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

from __future__ import annotations

import bisect
import re
import threading
import unicodedata
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process
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


# The most places one name query may score. A word matching more (a kind everyone has, at national
# scale) is refused with a 422 asking for another word or a filter, so no query costs the catalogue.
MAX_CANDIDATES = 100_000


@dataclass
class NameIndex:
    """Postings over the catalogue, built once per catalogue index, so a query's cost follows its matches.

    Words of the places' own names are numbered in sorted order (``tokens``); ``own_ptr``/``own_places``
    list each word's places (word → places, CSR) and ``fwd_ptr``/``fwd_words`` each place's words (place →
    words), both as int32 arrays, not Python objects per place. Kinds and towns are few, so a place holds
    only its category code (the catalogue's) and its settlement (``town_of``), with each one's places listed.
    A query word is compared with the distinct words only (those of the right length for a fuzzy match,
    and a ``searchsorted`` range for a prefix); the candidates are the places of the query word that
    matches the fewest; only they are scored.
    """

    tokens: list[str]  # every distinct word of the names and other names, sorted (stopwords included)
    own_ptr: np.ndarray  # word id → its places: own_places[own_ptr[w]:own_ptr[w + 1]] (sorted)
    own_places: np.ndarray
    fwd_ptr: np.ndarray  # place → its name words (stopwords left out): fwd_words[fwd_ptr[p]:fwd_ptr[p + 1]]
    fwd_words: np.ndarray
    name_ptr: np.ndarray  # place → the words of its name in order, stopwords kept (the exact/prefix bonus)
    name_words: np.ndarray
    match_ids: np.ndarray  # the word ids a query word can match (those some place holds), sorted
    match_words: list[str]  # their text, sorted (prefix ranges)
    by_length: np.ndarray  # match_words positions ordered by length (fuzzy candidates are lengths near the query's)
    by_length_words: list[str]
    length_start: np.ndarray  # by_length_words[length_start[k]:] have length ≥ k
    by_length_sizes: np.ndarray  # int32: their lengths
    letter_counts: np.ndarray  # uint8 (BUCKETS, words): how many of each word's characters fall in each bucket
    category: np.ndarray  # the catalogue's category code per place
    kind_vocab: list[str]  # words of the category labels, sorted
    kind_groups: tuple[np.ndarray, np.ndarray]  # kind word → the category codes holding it (CSR)
    kind_ptr: np.ndarray  # category code → its places (CSR, sorted)
    kind_places: np.ndarray
    town_of: np.ndarray  # int32 settlement of each place (index into towns), -1 none
    towns: list[str]  # settlement names
    town_vocab: list[str]  # words of the settlement names, sorted
    town_groups: tuple[np.ndarray, np.ndarray]  # town word → the settlements holding it (CSR)
    town_ptr: np.ndarray  # settlement → its places (CSR, sorted)
    town_places: np.ndarray
    localities: list[Locality]
    locality_choices: list[str]  # folded names and other names of the localities, for locate_localities
    locality_owners: list[int]

    @property
    def size(self) -> int:
        return int(self.fwd_ptr.size - 1)

    @property
    def nbytes(self) -> int:
        """Bytes held in arrays (the word lists add ~60 bytes a distinct word)."""
        return sum(v.nbytes for v in vars(self).values() if isinstance(v, np.ndarray))


_ASCII_FOLD = bytes(ord(chr(c).lower()) if chr(c).isalnum() else 0x20 for c in range(128)) + bytes(range(128, 256))
_ROW = 0x7C  # "|": rows of the joined text are " \n "-separated; "\n" becomes this token ("|" in text is a space)
_ASCII_FOLD = _ASCII_FOLD[:10] + bytes([_ROW]) + _ASCII_FOLD[11:]


def _token_rows(texts: list[str]) -> tuple[list[bytes], np.ndarray, np.ndarray]:
    """The folded words of many texts at once: the distinct words (UTF-8), and per word found its id and text.

    Equal to ``fold(text).split()`` per text, in a few passes of C over one joined buffer: ASCII texts
    (nearly all) need only a byte table (case, punctuation to spaces, apostrophes dropped); the others
    are folded one by one first. ``words()`` one text at a time took ~40 s at 10⁶ places.
    """
    texts = [t if t.isascii() else fold(t) for t in texts]
    joined = " \n ".join(texts)
    if joined.count("\n") != max(len(texts) - 1, 0):  # a text with a newline: it is a space to fold()
        joined = " \n ".join(t.replace("\n", " ") for t in texts)
    words = joined.replace("&", " and ").encode().translate(_ASCII_FOLD, b"'").split()
    numbered: dict[bytes, int] = {}
    ids = np.fromiter((numbered.setdefault(w, len(numbered)) for w in words), dtype=np.int64, count=len(words))
    row_mark = numbered.get(b"|", -1)
    is_row = ids == row_mark
    rows = np.cumsum(is_row)[~is_row]
    return list(numbered), ids[~is_row], rows


def _csr(rows: np.ndarray, cols: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR (pointers, columns) of (row, col) pairs already sorted by row; int32 pointers while they fit
    (at 10⁷ places int64 pointers took 80 MB more)."""
    ptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=ptr[1:])
    return (ptr.astype(np.int32) if ptr[-1] < 2**31 else ptr), cols.astype(np.int32)


def _grouped(keys: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions grouped by ``keys`` (0..n_keys-1; negative left out), ascending in each group: CSR."""
    order = np.argsort(keys, kind="stable")
    order = order[keys[order] >= 0]
    return _csr(keys[order], order, n_keys)


def _gather(ptr: np.ndarray, data: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The concatenated CSR rows ``rows`` and the length of each, without a Python loop."""
    starts, lens = ptr[rows], ptr[rows + 1] - ptr[rows]
    total = int(lens.sum())
    if total == 0:
        return data[:0], lens
    shift = np.repeat(starts - (np.cumsum(lens) - lens), lens)
    return data[np.arange(total) + shift], lens


def _town_of(index: CatalogIndex, settled: list[Locality]) -> np.ndarray:
    """The nearest settlement within ``TOWN_RADIUS_M`` of each place (index into ``settled``, -1 if none)."""
    if not settled or not index.size:
        return np.full(index.size, -1, dtype=np.int32)
    tree = cKDTree(unit_vectors([loc.lon for loc in settled], [loc.lat for loc in settled]))
    _, nearest = tree.query(unit_vectors(index.lon, index.lat), k=1)
    nearest = np.atleast_1d(nearest)
    metres = haversine_m(index.lon, index.lat, np.array([loc.lon for loc in settled])[nearest],
                         np.array([loc.lat for loc in settled])[nearest])
    return np.where(metres <= TOWN_RADIUS_M, nearest, -1).astype(np.int32)


def _small_vocab(texts: list[str | None]) -> tuple[list[str], tuple[np.ndarray, np.ndarray]]:
    """Sorted distinct words of some texts (labels, settlement names) and, per word, the texts holding it."""
    rows = [words(t) for t in texts]
    vocab = sorted({w for row in rows for w in row})
    ids = {w: i for i, w in enumerate(vocab)}
    pairs = sorted({(ids[w], k) for k, row in enumerate(rows) for w in row})
    word_of = np.array([w for w, _ in pairs], dtype=np.int64)
    return vocab, _csr(word_of, np.array([k for _, k in pairs], dtype=np.int64), len(vocab))


def build_name_index(index: CatalogIndex, localities: list[Locality]) -> NameIndex:
    """Postings for one catalogue index and the region's settlements (vectorised: ~2 s at 10⁶ places)."""
    n = index.size
    names = index.names.take(np.arange(n))
    others = index.other_names.take(np.arange(n))
    texts = [t for pair in zip(names, others) for t in (pair[0] or "", pair[1] or "")]  # rows 2p, 2p + 1
    del names, others
    # each distinct text is folded once (names repeat: "St Mary's Church", "Village Hall"…)
    distinct = dict.fromkeys(texts)
    for k, text in enumerate(distinct):
        distinct[text] = k
    text_of = np.fromiter(map(distinct.__getitem__, texts), dtype=np.int64, count=len(texts))
    raw, distinct_ids, distinct_rows = _token_rows(list(distinct))
    del texts, distinct
    ids, lens = _gather(_csr(distinct_rows, distinct_ids, int(text_of.max(initial=-1)) + 1)[0], distinct_ids, text_of)
    rows = np.repeat(np.arange(text_of.size), lens)
    vocab = [w.decode() for w in raw]
    order = sorted(range(len(vocab)), key=vocab.__getitem__)
    renumber = np.empty(len(vocab), dtype=np.int64)
    renumber[np.asarray(order, dtype=np.int64)] = np.arange(len(vocab))
    tokens = [vocab[i] for i in order]
    ids = renumber[ids]
    places = rows // 2
    # the name's own words in order, stopwords kept
    named = rows % 2 == 0
    name_ptr, name_words = _csr(places[named], ids[named], n)
    # each place's words, once, stopwords left out
    stop = np.isin(ids, [k for k, w in enumerate(tokens) if w in STOPWORDS])
    pairs = np.sort(places[~stop] * max(len(tokens), 1) + ids[~stop])  # sorting: np.unique's hashing took 4 s at 10⁶
    pairs = pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))] if pairs.size else pairs
    fwd_places, fwd_ids = pairs // max(len(tokens), 1), pairs % max(len(tokens), 1)
    fwd_ptr, fwd_words = _csr(fwd_places, fwd_ids, n)
    own_ptr, own_places = _grouped_pairs(fwd_ids, fwd_places, len(tokens))
    match_ids = np.flatnonzero(np.diff(own_ptr) > 0)
    match_words = [tokens[i] for i in match_ids]
    lengths = np.fromiter((len(w) for w in match_words), dtype=np.int64, count=len(match_words))
    by_length = np.argsort(lengths, kind="stable")
    sorted_lengths = lengths[by_length]
    length_start = np.searchsorted(sorted_lengths, np.arange(int(sorted_lengths.max(initial=0)) + 2))
    letter_counts = _letter_counts([match_words[i] for i in by_length], sorted_lengths)
    kind_vocab, kind_groups = _small_vocab([label(c) for c in index.category.values])
    kind_ptr, kind_places = _grouped(index.category.codes.astype(np.int64), len(index.category.values))
    settled = [loc for loc in localities if loc.kind in SETTLEMENTS]
    town_of = _town_of(index, settled)
    town_vocab, town_groups = _small_vocab([loc.name for loc in settled])
    town_ptr, town_places = _grouped(town_of.astype(np.int64), len(settled))
    choices, owners = [], []
    for i, loc in enumerate(localities):
        for name in [loc.name, *split_names(loc.other_names)]:
            choices.append(fold(name))
            owners.append(i)
    return NameIndex(tokens, own_ptr, own_places, fwd_ptr, fwd_words, name_ptr, name_words, match_ids, match_words,
                     by_length, [match_words[i] for i in by_length], length_start, sorted_lengths.astype(np.int32),
                     letter_counts, index.category.codes, kind_vocab,
                     kind_groups, kind_ptr, kind_places, town_of, [loc.name for loc in settled], town_vocab, town_groups,
                     town_ptr, town_places, localities, choices, owners)


def _grouped_pairs(keys: np.ndarray, values: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR of ``values`` grouped by ``keys`` (stable: values keep their order in each group)."""
    order = np.argsort(keys, kind="stable")
    return _csr(keys[order], values[order], n_keys)


_cache: dict[int, tuple[CatalogIndex, NameIndex]] = {}
_building = threading.Lock()


def name_index(session: Session, index: CatalogIndex) -> NameIndex:
    """The name index for a catalogue index, built once per index build (requests arriving meanwhile wait
    for that build rather than each making their own: ~4 s CPU and ~75 MB at 10⁶ places)."""
    hit = _cache.get(id(index))
    if hit is not None and hit[0] is index:
        return hit[1]
    with _building:
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


BUCKETS = 16  # characters counted by code point mod 16: digits fall in buckets of their own
PREFILTER_FROM = 2_000  # below this many words of the right length, rapidfuzz alone is quicker


def _letter_counts(words_: list[str], lengths: np.ndarray) -> np.ndarray:
    """Per bucket, each word's characters in it (uint8, at most 255; a bucket's row is contiguous, so a query
    reads only the rows of its own characters), in one numpy pass."""
    if not words_:
        return np.zeros((BUCKETS, 0), dtype=np.uint8)
    points = np.frombuffer("".join(words_).encode("utf-32-le"), dtype=np.uint32)
    owner = np.repeat(np.arange(len(words_), dtype=np.int64), lengths)
    counts = np.bincount(owner * BUCKETS + points % BUCKETS, minlength=len(words_) * BUCKETS)
    return np.ascontiguousarray(np.minimum(counts, 255).astype(np.uint8).reshape(len(words_), BUCKETS).T)


def _may_match(names: NameIndex, word: str, lo: int, hi: int) -> np.ndarray:
    """Positions in ``lo:hi`` (by length) of the words that can reach ratio ≥ 0.8 with ``word``.

    The ratio is 2·LCS/(a + b), and the longest common subsequence has at most as many of each
    character as both words: so Σ min(counts) per bucket bounds it from above, and a word with
    5·Σ < 2·(a + b) cannot match. A necessary condition only: rapidfuzz decides on the rest. With a
    vocabulary of 10⁶ words (numbered names) this leaves ~1 % of them to rapidfuzz.
    """
    query = np.bincount(np.frombuffer(word.encode("utf-32-le"), dtype=np.uint32) % BUCKETS, minlength=BUCKETS)
    common = np.zeros(hi - lo, dtype=np.uint8 if len(word) < 256 else np.int32)  # at most len(word): no overflow
    for bucket in np.flatnonzero(query).tolist():
        common += np.minimum(names.letter_counts[bucket, lo:hi], np.uint8(min(int(query[bucket]), 255)))
    return lo + np.flatnonzero(5 * common.astype(np.int32) >= 2 * (len(word) + names.by_length_sizes[lo:hi]) - 1)


def _own_matches(names: NameIndex, word: str) -> tuple[np.ndarray, np.ndarray]:
    """The word ids (sorted) a query word matches and their scores: the rapidfuzz ratio (0..1) if ≥ 0.8, and
    at least 0.95 for words it is a prefix of (≥ 3 letters), as scoring every word would give them.

    Only words whose length allows a ratio ≥ 0.8 are compared (2·min(a, b)/(a + b) ≥ 0.8 means the longer
    is at most 1.5 × the shorter), and the prefixes are one ``bisect`` range of the sorted words.
    """
    size = len(word)
    lo = names.length_start[min(max((2 * size) // 3 - 1, 0), names.length_start.size - 1)]
    hi = names.length_start[min((3 * size) // 2 + 2, names.length_start.size - 1)]
    found, scores = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    if hi > lo:
        if hi - lo >= PREFILTER_FROM:
            near = _may_match(names, word, lo, hi)
            choices = [names.by_length_words[i] for i in near.tolist()]
        else:
            near, choices = np.arange(lo, hi), names.by_length_words[lo:hi]
        if choices:
            ratio = process.cdist([word], choices, scorer=fuzz.ratio, dtype=np.float32, workers=1,
                                  score_cutoff=WORD_SCORE * 100)[0] / 100.0
            hit = np.flatnonzero(ratio >= WORD_SCORE)
            found, scores = names.by_length[near[hit]], ratio[hit]
    if size >= PREFIX_MIN:
        first = bisect.bisect_left(names.match_words, word)
        last = bisect.bisect_right(names.match_words, word, lo=first, key=lambda w: w[:size])
        if last > first:
            found = np.concatenate([found, np.arange(first, last)])
            scores = np.concatenate([scores, np.full(last - first, 0.95, dtype=np.float32)])
    if not found.size:
        return found, scores
    order = np.lexsort((-scores, found))  # per word its best score first
    found, scores = found[order], scores[order]
    first = np.concatenate(([True], found[1:] != found[:-1]))
    return names.match_ids[found[first]], scores[first].astype(np.float32)


def _vocab_scores(vocab: list[str], word: str) -> np.ndarray:
    """0..1 per word of a sorted vocabulary: rapidfuzz ratio, ≥ 0.95 where ``word`` (≥ 3 letters) is a prefix
    (one ``bisect`` range, no loop over the words); below ``WORD_SCORE`` is 0."""
    if not vocab:
        return np.zeros(0, dtype=np.float32)
    scores = process.cdist([word], vocab, scorer=fuzz.ratio, dtype=np.float32, workers=1,
                           score_cutoff=WORD_SCORE * 100)[0] / 100.0
    if len(word) >= PREFIX_MIN:
        first = bisect.bisect_left(vocab, word)
        last = bisect.bisect_right(vocab, word, lo=first, key=lambda w: w[:len(word)])
        scores[first:last] = np.maximum(scores[first:last], 0.95)
    return np.where(scores >= WORD_SCORE, scores, 0.0).astype(np.float32)


def _per_group(scores: np.ndarray, groups: tuple[np.ndarray, np.ndarray], count: int) -> np.ndarray:
    """Per category or settlement, the best score among its words (0 with none; one more 0 at the end)."""
    best = np.zeros(count + 1, dtype=np.float32)
    hit = np.flatnonzero(scores > 0)
    owners, lens = _gather(*groups, hit)
    np.maximum.at(best, owners, np.repeat(scores[hit], lens))
    return best


@dataclass(eq=False)
class _WordMatch:
    own_ids: np.ndarray
    own_scores: np.ndarray
    kind: np.ndarray  # per category code (+ a trailing 0)
    town: np.ndarray  # per settlement (+ a trailing 0, for -1)
    estimate: int  # places it can match (an upper bound)


def _match_word(names: NameIndex, word: str) -> _WordMatch:
    own_ids, own_scores = _own_matches(names, word)
    kind = _per_group(_vocab_scores(names.kind_vocab, word), names.kind_groups, names.kind_ptr.size - 1)
    town = _per_group(_vocab_scores(names.town_vocab, word), names.town_groups, len(names.towns))
    estimate = (int((names.own_ptr[own_ids + 1] - names.own_ptr[own_ids]).sum())
                + int(np.diff(names.kind_ptr)[kind[:-1] > 0].sum()) + int(np.diff(names.town_ptr)[town[:-1] > 0].sum()))
    return _WordMatch(own_ids, own_scores, kind, town, estimate)


def _candidates(names: NameIndex, m: _WordMatch) -> np.ndarray:
    """Every place a word matches (sorted): its words' places, its kinds' and its towns' places."""
    parts = [_gather(names.own_ptr, names.own_places, m.own_ids)[0],
             _gather(names.kind_ptr, names.kind_places, np.flatnonzero(m.kind[:-1] > 0))[0],
             _gather(names.town_ptr, names.town_places, np.flatnonzero(m.town[:-1] > 0))[0]]
    return np.unique(np.concatenate(parts).astype(np.int64))


def _bonus(names: NameIndex, positions: np.ndarray, qwords: list[str]) -> np.ndarray:
    """0.1 where the folded name is the query's words, 0.05 where it starts with them, else 0 (float32)."""
    k = len(qwords)
    if not positions.size or not names.name_words.size:
        return np.zeros(positions.size, dtype=np.float32)
    start, length = names.name_ptr[positions], names.name_ptr[positions + 1] - names.name_ptr[positions]
    starts = length >= k
    for j, word in enumerate(qwords[:-1]):
        at = bisect.bisect_left(names.tokens, word)
        wid = at if at < len(names.tokens) and names.tokens[at] == word else -1
        starts &= names.name_words[np.where(starts, start + j, 0)] == wid
    last = qwords[-1]
    lo = bisect.bisect_left(names.tokens, last)
    hi = bisect.bisect_right(names.tokens, last, lo=lo, key=lambda w: w[:len(last)])
    last_id = lo if lo < len(names.tokens) and names.tokens[lo] == last else -1
    tail = names.name_words[np.where(starts, start + k - 1, 0)]
    starts &= (tail >= lo) & (tail < hi)
    exact = starts & (length == k) & (tail == last_id)
    return np.where(exact, 0.1, np.where(starts, 0.05, 0.0)).astype(np.float32)


def match_places(names: NameIndex, text: str, keep, *, lon: float | None = None, lat: float | None = None,
                 lons: np.ndarray | None = None, lats: np.ndarray | None = None,
                 limit: int | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Catalogue positions matching every word of ``text`` (best first, the first ``limit``), their relevance
    (0..~1.1), and how many match in all.

    A match needs each word in the place's names, kind or town, and at least one word in its
    names or kind (a town alone is a location, not a place). With ``lon``/``lat`` (and the
    catalogue's ``lons``/``lats``) nearer places rank higher among similar matches. ``keep`` is a bool
    per catalogue position or a function giving it for some positions (the filters, asked only of the
    candidates). Only the places of the query word matching the fewest are scored: past
    ``MAX_CANDIDATES`` the query is refused (``InvalidQuery``).
    """
    qwords = query_words(text)
    matches = [_match_word(names, w) for w in qwords]
    rarest = min(range(len(matches)), key=lambda k: matches[k].estimate)
    driver = matches[rarest]
    if driver.estimate > MAX_CANDIDATES:
        word = qwords[rarest]
        raise InvalidQuery(f"q: every word matches too many places (“{word}”: {driver.estimate:,}, more than "
                           f"{MAX_CANDIDATES:,}); add another word of the place's name, or its town")
    cand = _candidates(names, driver)
    if cand.size:
        cand = cand[keep(cand) if callable(keep) else keep[cand]]
    n = cand.size
    total = np.zeros(n, dtype=np.float32)
    ok = np.ones(n, dtype=bool)
    named = np.zeros(n, dtype=bool)
    held, lens = _gather(names.fwd_ptr, names.fwd_words, cand)
    offsets = np.cumsum(lens) - lens
    has_words = lens > 0
    category, town_of = names.category[cand], names.town_of[cand]
    for m in matches:
        own = np.zeros(n, dtype=np.float32)
        if held.size and m.own_ids.size:
            at = np.minimum(np.searchsorted(m.own_ids, held), m.own_ids.size - 1)
            scores = np.where(m.own_ids[at] == held, m.own_scores[at], np.float32(0.0))
            own[has_words] = np.maximum.reduceat(scores, offsets[has_words])
        kind, town = m.kind[category], m.town[town_of]
        best = np.maximum.reduce([own, KIND_WEIGHT * kind, TOWN_WEIGHT * town])
        ok &= (own > 0) | (kind > 0) | (town > 0)
        named |= (own > 0) | (kind > 0)
        total += best
    ok &= named
    positions = cand[ok]
    relevance = total[ok] / len(qwords)
    relevance = relevance + _bonus(names, positions, qwords)
    rank = relevance.astype(np.float64)
    if lon is not None and lat is not None and lons is not None and positions.size:
        km = haversine_m(lon, lat, lons[positions], lats[positions]) / 1000.0
        rank = rank - 0.05 * np.log2(1.0 + km)
    if limit is not None and positions.size > limit:  # only the first ``limit`` need ordering (ties kept)
        top = rank >= np.partition(rank, positions.size - limit)[positions.size - limit]
        order = np.flatnonzero(top)[np.lexsort((positions[top], -rank[top]))][:limit]
    else:
        order = np.lexsort((positions, -rank))
    return positions[order], relevance[order], int(positions.size)


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
    owners = names.locality_owners
    found = process.extract(phrase, names.locality_choices, scorer=fuzz.ratio, score_cutoff=85, limit=limit * 3)
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
