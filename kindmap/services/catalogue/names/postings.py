"""The name index: postings over the catalogue (word → places, place → words), built once per
catalogue index, so a query's cost follows its matches."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree
from sqlmodel import Session, select

from kindmap.geo.distance import haversine_m, unit_vectors
from kindmap.models import Locality
from kindmap.services.catalogue.index import CatalogIndex
from kindmap.services.catalogue.names.text import SETTLEMENTS, STOPWORDS, TOWN_RADIUS_M, fold, split_names, words
from kindmap.taxonomy import label

BUCKETS = 16  # characters counted by code point mod 16: digits fall in buckets of their own


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


def _letter_counts(words_: list[str], lengths: np.ndarray) -> np.ndarray:
    """Per bucket, each word's characters in it (uint8, at most 255; a bucket's row is contiguous, so a query
    reads only the rows of its own characters), in one numpy pass."""
    if not words_:
        return np.zeros((BUCKETS, 0), dtype=np.uint8)
    points = np.frombuffer("".join(words_).encode("utf-32-le"), dtype=np.uint32)
    owner = np.repeat(np.arange(len(words_), dtype=np.int64), lengths)
    counts = np.bincount(owner * BUCKETS + points % BUCKETS, minlength=len(words_) * BUCKETS)
    return np.ascontiguousarray(np.minimum(counts, 255).astype(np.uint8).reshape(len(words_), BUCKETS).T)
