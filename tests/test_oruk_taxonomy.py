"""Open Referral UK taxonomies and taxonomy terms: validate against the ORUK schemas; ids match service attributes."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from kindmap.db import read_session
from kindmap.services.standards.oruk import activities as oruk_activities
from kindmap.services.standards.oruk import taxonomy as oruk_taxonomy
from tests.test_oruk import _valid, validators  # noqa: F401  (the compiled-schema validators, for Page)
from tests.test_oruk_activities import world  # noqa: F401  (published opportunities and support services)


@pytest.fixture(scope="module")
def taxonomy_validators(data_dir):
    # No compiled taxonomy schemas exist; taxonomy.json refers to taxonomy_term.json, inlined here.
    folder = data_dir.parent / "schemas" / "openreferral-uk"
    term = json.loads((folder / "taxonomy_term.json").read_text())
    taxonomy = json.loads((folder / "taxonomy.json").read_text())
    assert taxonomy["properties"]["taxonomy_terms"]["items"] == {"$ref": "taxonomy_term.json"}
    taxonomy["properties"]["taxonomy_terms"]["items"] = term
    checker = Draft202012Validator.FORMAT_CHECKER
    return Draft202012Validator(taxonomy, format_checker=checker), Draft202012Validator(term, format_checker=checker)


def _pages(client, url, validators):  # noqa: F811
    out, page, body = [], 1, {"last_page": False}
    while not body["last_page"]:
        response = client.get(f"{url}?page={page}&per_page=7")
        assert response.status_code == 200
        body = response.json()
        _valid(validators["page"], body)
        out, page = out + body["contents"], page + 1
    assert len(out) == body["total_items"]
    return out


def test_taxonomies_and_terms_validate_and_page(client, validators, taxonomy_validators):  # noqa: F811
    tax_v, term_v = taxonomy_validators
    taxonomies = _pages(client, "/openreferral/taxonomies", validators)
    assert [t["name"] for t in taxonomies] == ["kindmap categories", "kindmap attributes", "kindmap interests",
                                               "kindmap support kinds"]
    terms = _pages(client, "/openreferral/taxonomy_terms", validators)
    assert len({t["id"] for t in terms}) == len(terms) > 30
    for term in terms:
        _valid(term_v, term)
        assert client.get(f"/openreferral/taxonomy_terms/{term['id']}").json() == term
    total = 0
    for tax in taxonomies:
        _valid(tax_v, tax)
        full = client.get(f"/openreferral/taxonomies/{tax['id']}").json()
        _valid(tax_v, full)
        assert all(t["taxonomy_id"] == tax["id"] for t in full["taxonomy_terms"]) and full["taxonomy_terms"]
        total += len(full["taxonomy_terms"])
    assert total == len(terms)
    assert {t["term"] for t in terms} >= {"library", "free", "drop_in", "gardening", "support_other", "other"}


def test_every_exported_attribute_resolves_to_a_listed_term(world):  # noqa: F811
    terms = {t["id"]: t for t in oruk_taxonomy.all_terms()}
    with read_session(world) as s:
        docs = oruk_activities.all_services(s)
    attributes = [a for d in docs for a in d["attributes"]]
    assert attributes
    for attribute in attributes:
        listed = terms[attribute["taxonomy_term_id"]]
        assert (listed["term"], listed["taxonomy"]) == (attribute["taxonomy_term"]["term"], attribute["taxonomy_term"]["taxonomy"])


@pytest.mark.parametrize("url, status", [("/openreferral/taxonomies/not-a-uuid", 422),
                                         ("/openreferral/taxonomy_terms/3fa85f64-5717-4562-b3fc-2c963f66afa6", 404),
                                         ("/openreferral/taxonomies/3fa85f64-5717-4562-b3fc-2c963f66afa6", 404),
                                         ("/openreferral/taxonomy_terms?per_page=0", 422)])
def test_bad_ids_and_paging(client, url, status):
    response = client.get(url)
    assert response.status_code == status and response.json()["detail"]
