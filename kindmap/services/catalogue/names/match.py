"""Scoring a name query against the name index: each query word against the distinct words only,
then only the places of the word that matches the fewest."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from kindmap.errors import InvalidQuery
from kindmap.geo.distance import haversine_m
from kindmap.services.catalogue.names.postings import BUCKETS, NameIndex, _gather
from kindmap.services.catalogue.names.text import KIND_WEIGHT, PREFIX_MIN, TOWN_WEIGHT, WORD_SCORE, query_words

# The most places one name query may score. A word matching more (a kind everyone has, at national
# scale) is refused with a 422 asking for another word or a filter, so no query costs the catalogue.
MAX_CANDIDATES = 100_000
PREFILTER_FROM = 2_000  # below this many words of the right length, rapidfuzz alone is quicker


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
