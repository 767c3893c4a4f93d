"""Open Referral UK taxonomies and taxonomy terms: kindmap's categories, attributes, interests and support kinds.

Term ids are the same UUID5s that services' attributes carry (``oruk.term_id(slug)``), so a
client can resolve every attribute of an exported service from ``/openreferral/taxonomy_terms``.
"""

from __future__ import annotations

import uuid

from kindmap.errors import InvalidQuery, NotFound
from kindmap.models.activities import SupportKind
from kindmap.models.households import vocabulary
from kindmap.services.standards.oruk.activities import (
    INTEREST_TAXONOMY,
    SUPPORT_TAXONOMY,
    support_term,
)
from kindmap.services.standards.oruk.documents import (
    ATTRIBUTE_TAXONOMY,
    TAXONOMY_NAME,
    Page,
    _check_paging,
    stable_id,
    term_id,
)
from kindmap.taxonomy import categories

_DESCRIPTIONS = {
    TAXONOMY_NAME: "Kinds of welcoming, free, everyday places where people connect.",
    ATTRIBUTE_TAXONOMY: "Facts about a service: free to use, drop in.",
    INTEREST_TAXONOMY: "Interests an activity offers (gardening, music, walking…).",
    SUPPORT_TAXONOMY: "Kinds of local support service.",
}


def taxonomy_id(name: str) -> str:
    """The UUID5 of one of kindmap's taxonomies."""
    return stable_id("taxonomy", name)


def _terms() -> list[tuple[str, str, str]]:
    """(taxonomy, slug, label) of every term, in a stable order."""
    out = [(TAXONOMY_NAME, c.slug, c.label) for c in categories().values()]
    out += [(ATTRIBUTE_TAXONOMY, "free", "Free to use"), (ATTRIBUTE_TAXONOMY, "drop_in", "Drop in, no referral needed")]
    out += [(INTEREST_TAXONOMY, slug, label) for slug, label in vocabulary()["interests"].items()]
    out += [(SUPPORT_TAXONOMY, support_term(k.value), k.value.replace("_", " ").capitalize()) for k in SupportKind]
    return out


def _term(taxonomy: str, slug: str, label: str) -> dict:
    return {"id": term_id(slug), "name": label, "description": label, "taxonomy": taxonomy,
            "taxonomy_id": taxonomy_id(taxonomy), "term": slug}


def all_terms() -> list[dict]:
    """Every taxonomy term (ids unique across taxonomies)."""
    return [_term(*t) for t in _terms()]


def _taxonomy(name: str, *, with_terms: bool) -> dict:
    doc = {"id": taxonomy_id(name), "name": name, "description": _DESCRIPTIONS[name], "version": "1"}
    if with_terms:
        doc["taxonomy_terms"] = [t for t in all_terms() if t["taxonomy"] == name]
    return doc


def _page(items: list[dict], page: int, per_page: int) -> Page:
    _check_paging(page, per_page)
    return Page(len(items), page, per_page, items[(page - 1) * per_page: page * per_page])


def list_taxonomies(*, page: int = 1, per_page: int = 50) -> Page:
    """A page of kindmap's taxonomies (without their terms)."""
    return _page([_taxonomy(n, with_terms=False) for n in _DESCRIPTIONS], page, per_page)


def list_taxonomy_terms(*, page: int = 1, per_page: int = 50) -> Page:
    """A page of every taxonomy term."""
    return _page(all_terms(), page, per_page)


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise InvalidQuery(f"{value!r} is not a UUID; ORUK ids look like 3fa85f64-5717-4562-b3fc-2c963f66afa6") from None


def get_taxonomy(value: str) -> dict:
    """One taxonomy with its terms, or ``NotFound``."""
    wanted = _uuid(value)
    for name in _DESCRIPTIONS:
        if taxonomy_id(name) == wanted:
            return _taxonomy(name, with_terms=True)
    raise NotFound(f"no taxonomy with id {value}")


def get_taxonomy_term(value: str) -> dict:
    """One taxonomy term, or ``NotFound``."""
    wanted = _uuid(value)
    for term in all_terms():
        if term["id"] == wanted:
            return term
    raise NotFound(f"no taxonomy term with id {value}")
