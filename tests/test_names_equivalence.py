"""The name index's postings give exactly what scoring every place gave: the same places, in the same
order, with the same relevance, for random catalogues and many queries (typos, prefixes, kinds, towns,
other names, stopwords, accents, postcodes, nothing found). The reference below is the straightforward
scoring name search used before (one word × place matrix per field, every place scored per query)."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import pytest
from sqlmodel import select
from rapidfuzz import fuzz, process
from scipy.sparse import csr_matrix
from scipy.spatial import cKDTree

from kindmap.db import read_session, write_session
from kindmap.errors import InvalidQuery
from kindmap.geo.distance import haversine_m, unit_vectors
from kindmap.models import Locality, Place, Region
from kindmap.services.catalogue.names import match as M
from kindmap.services.catalogue.names import postings as P
from kindmap.services.catalogue.index import CatalogIndex, build_index
from kindmap.services.catalogue.names import (
    KIND_WEIGHT,
    PREFIX_MIN,
    SETTLEMENTS,
    TOWN_RADIUS_M,
    TOWN_WEIGHT,
    WORD_SCORE,
    fold,
    query_words,
    split_names,
    words,
)
from kindmap.taxonomy import categories, label

# ----------------------------------------------------------------------------- the reference (before)

@dataclass
class RefIndex:
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


def ref_build(index: CatalogIndex, localities: list[Locality]) -> RefIndex:
    """Word matrices for one catalogue index and the region's settlements."""
    towns = _towns(index, localities)
    own = [words(" ".join([c.name, *split_names(c.other_names)])) for c in index.cards]
    kind = [words(label(c.category)) for c in index.cards]
    town = [words(t) for t in towns]
    vocab = sorted({w for rows in (own, kind, town) for row in rows for w in row})
    ids = {w: i for i, w in enumerate(vocab)}
    return RefIndex(np.asarray(vocab, dtype=object), _matrix(own, ids, len(vocab)), _matrix(kind, ids, len(vocab)),
                     _matrix(town, ids, len(vocab)), towns, [fold(c.name) for c in index.cards], localities)


def ref_word_scores(vocab: np.ndarray, word: str) -> np.ndarray:
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


def ref_match(names: RefIndex, text: str, keep: np.ndarray, *, lon: float | None = None,
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
        scores = ref_word_scores(names.vocab, word)
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




# ----------------------------------------------------------------------------- random catalogues

WORDS = ("St Mary's Church", "Oakham", "Library", "Community Centre", "The Old Mill", "Café Zoë", "Bob’s Shed",
         "Grace Chapel", "Bridge Street", "Village Hall", "Scout Hut", "Park", "Garden", "A&B Hub", "Straße",
         "Uppingham", "Uppinham", "Langham", "Ketton", "of the", "and", "Welcome", "Friends", "Meeting House",
         "10", "2nd", "Sports Club", "Allotments", "Playground", "Toilets", "Market", "Museum", "Gallery",
         "Arts Centre", "Ōtaki", "line\nbreak", "tab\there", "O'Brien", "hyphen-ated", "ÉGLISE", "church",
         "Methodist", "Baptist", "Quaker", "Youth", "Men’s", "Repair Café", "Food Bank", "Warm Space")
TOWNS = [("Oakham", "town"), ("Uppingham", "town"), ("Langham", "village"), ("Ketton", "village"),
         ("Barrowden", "hamlet"), ("Rutland Water", "locality"), ("Cottesmore", "village")]


def _random_name(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 3:
        return word
    i = rng.randrange(len(word) - 1)
    return rng.choice([word[:i] + word[i + 1:], word[:i] + word[i + 1] + word[i] + word[i + 2:],
                       word[:i] + rng.choice("aeiouxz") + word[i + 1:], word[:i] + "e" + word[i:]])


def _seed(engine, seed: int, n: int) -> None:
    rng = random.Random(seed)
    kinds = list(categories())
    with write_session(engine) as s:
        region = Region(slug=f"r{seed}", name=f"Region {seed}")
        s.add(region)
        s.flush()
        for name, kind in TOWNS:
            s.add(Locality(region_id=region.id, name=name, kind=kind, lon=-0.7 + rng.uniform(-0.1, 0.1),
                           lat=52.6 + rng.uniform(-0.1, 0.1), other_names="Oakham Town" if name == "Oakham" else None))
        for _ in range(n):
            others = "; ".join(_random_name(rng) for _ in range(rng.randint(1, 2))) if rng.random() < 0.3 else None
            s.add(Place(name=_random_name(rng) if rng.random() > 0.02 else "The", other_names=others,
                        category=rng.choice(kinds), lon=-0.7 + rng.uniform(-0.15, 0.15),
                        lat=52.6 + rng.uniform(-0.15, 0.15), region_id=region.id))


def _queries(rng: random.Random, index: CatalogIndex, count: int) -> list[str]:
    vocab = sorted({w for name in index.names for w in words(name)})
    kinds = sorted({w for c in index.category.values for w in words(label(c))})
    towns = [t for t, _ in TOWNS]
    out = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 3)):
            pick = rng.random()
            word = rng.choice(vocab)
            if pick < 0.3:
                parts.append(word)
            elif pick < 0.5:
                parts.append(_typo(rng, word))
            elif pick < 0.65:
                parts.append(word[: rng.randint(1, max(1, len(word)))].upper())
            elif pick < 0.8:
                parts.append(rng.choice(kinds))
            elif pick < 0.9:
                parts.append(rng.choice(towns))
            else:
                parts.append(rng.choice(["zzqx", "the", "of", "LE15 6", "LE15", "Café", "St.", "&", "'", "10"]))
        out.append(" ".join(parts))
    return out + ["Oakham Library", "uppinham libary", "the of", "zzzz qqqq", "st marys", "mary", "a", "church",
                  "cafe zoe", "bobs", "a and b", "ōtaki", "strasse", "le15 6ab", "line break"]


@pytest.mark.parametrize("seed,prefilter", [(1, False), (2, False), (3, True)])
def test_postings_match_the_straightforward_scoring(engine, seed, prefilter, monkeypatch):
    if prefilter:  # a small vocabulary goes straight to rapidfuzz; here every word goes through the letter counts
        monkeypatch.setattr(M, "PREFILTER_FROM", 0)
    _seed(engine, seed, 400)
    rng = random.Random(100 + seed)
    with read_session(engine) as s:
        index = build_index(s)
        localities = list(s.exec(select(Locality).order_by(Locality.id)).all())
    new, ref = P.build_name_index(index, localities), ref_build(index, localities)
    assert index.size == 400
    compared = found = 0
    for text in _queries(rng, index, 300):
        keep = np.random.default_rng(len(text)).random(index.size) < (1.0 if rng.random() < 0.5 else 0.7)
        point = {} if rng.random() < 0.5 else {"lon": -0.7 + rng.uniform(-0.2, 0.2), "lat": 52.6 + rng.uniform(-0.2, 0.2)}
        try:
            want_pos, want_rel = ref_match(ref, text, keep, lons=index.lon, lats=index.lat, **point)
        except InvalidQuery:
            with pytest.raises(InvalidQuery):
                M.match_places(new, text, lambda p: keep[p], lons=index.lon, lats=index.lat, **point)
            continue
        got_pos, got_rel, total = M.match_places(new, text, lambda p: keep[p], lons=index.lon, lats=index.lat, **point)
        assert total == want_pos.size, text
        assert got_pos.tolist() == want_pos.tolist(), text
        np.testing.assert_allclose(got_rel, want_rel, rtol=0, atol=1e-9, err_msg=text)
        for limit in (1, 5, 50):
            top, rel, total = M.match_places(new, text, keep, lons=index.lon, lats=index.lat, limit=limit, **point)
            assert top.tolist() == want_pos[:limit].tolist() and total == want_pos.size, text
            np.testing.assert_allclose(rel, want_rel[:limit], rtol=0, atol=1e-9)
        compared += 1
        found += bool(want_pos.size)
    assert compared > 250 and 100 < found < compared  # both matches and empty results were compared
    # towns, through the same settlements, are where the places are
    assert [t for t in P.build_name_index(index, localities).towns] == [t for t, k in TOWNS if k in SETTLEMENTS]


def test_a_word_matching_too_many_places_is_refused(client, engine, monkeypatch):
    _seed(engine, 4, 200)
    with read_session(engine) as s:
        index = build_index(s)
    names = P.build_name_index(index, [])
    positions, _rel, total = M.match_places(names, "church", np.ones(index.size, bool))
    assert total > 10
    church, baptist = M._match_word(names, "church").estimate, M._match_word(names, "baptist").estimate
    assert church >= total and baptist < church
    monkeypatch.setattr(M, "MAX_CANDIDATES", church - 1)
    with pytest.raises(InvalidQuery, match="too many places"):
        M.match_places(names, "church", np.ones(index.size, bool))
    # another word that matches fewer places makes the same word fine
    assert M.match_places(names, "church baptist", np.ones(index.size, bool))[2] <= total
    r = client.get("/api/places/search", params={"q": "church"})
    assert r.status_code == 422 and "add another word" in r.text, r.text
    assert client.get("/api/places/search", params={"q": "church baptist"}).status_code == 200
    from kindmap.api.routes import pages

    monkeypatch.undo()
    assert f"{M.MAX_CANDIDATES:,}" in pages.search_by_name.__doc__  # the documented bound is the real one


def test_folding_many_names_at_once_equals_one_at_a_time():
    texts = ["Café  St. Anne’s", "A&B", "O'Brien's\nHall", "", "the", "ÉGLISE Saint-Pierre", "tab\there|pipe",
             "Ōtaki", "Straße 10", "ǅemal", "x" * 100]
    tokens, ids, rows = P._token_rows(texts)
    got = [[] for _ in texts]
    for i, r in zip(ids.tolist(), rows.tolist()):
        got[r].append(tokens[i].decode())
    assert got == [fold(t).split() for t in texts]


def test_the_server_builds_the_name_index_at_start(settings, engine):
    from fastapi.testclient import TestClient

    from kindmap.api.app import create_app
    from kindmap.services.catalogue.index import DEFAULT_CACHE

    _seed(engine, 5, 50)
    P._cache.clear()
    with TestClient(create_app(settings, engine=engine)), read_session(engine) as s:
        index = DEFAULT_CACHE.get(s, tz=settings.timezone)
        assert P._cache[id(index)][0] is index and P._cache[id(index)][1].size == 50  # before any name search


def test_the_letter_count_filter_keeps_every_word_that_can_match():
    rng = random.Random(7)
    alphabet = "abcdeéfghij0123456789ōß"
    vocab = sorted({"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(4000)})
    lengths = np.array([len(w) for w in vocab])
    order = np.argsort(lengths, kind="stable")
    by_length = [vocab[i] for i in order]

    class Vocab:  # the fields _may_match reads
        letter_counts = P._letter_counts(by_length, lengths[order])
        by_length_sizes = lengths[order].astype(np.int32)

    kept_total = 0
    for _ in range(200):
        word = rng.choice(vocab)
        word = _typo(rng, word) if rng.random() < 0.7 else word
        kept = set(M._may_match(Vocab, word, 0, len(by_length)).tolist())
        kept_total += len(kept)
        for i, other in enumerate(by_length):
            if fuzz.ratio(word, other) >= 80:
                assert i in kept, (word, other)
    assert kept_total < 200 * len(vocab) / 3  # and it does leave most words out
