"""Pages in the OpenAPI document are honest about their refusals: every operation that serves HTML
documents the status and media type a signed-out, wrongly-addressed or not-found request really gets."""

from __future__ import annotations

import re
from datetime import timedelta

import jsonschema
import pytest

from kindmap.db import write_session
from kindmap.services.accounts.auth import add_user, issue_token

MISSING_ID = "987654321"  # a well-formed id no row has (the database is empty)
BAD_ID = "0"  # ids are >= 1


def _html_operations(openapi: dict) -> list[tuple[str, str, dict]]:
    found = []
    for path, operations in openapi["paths"].items():
        for method, op in operations.items():
            if any("text/html" in r.get("content", {}) for r in op.get("responses", {}).values()):
                found.append((path, method, op))
    return found


def _url(path: str, op: dict, value: str) -> str:
    names = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
    assert names == set(re.findall(r"{(\w+)}", path)), path
    return re.sub(r"{\w+}", value, path)


def _check_documented(openapi: dict, path: str, method: str, op: dict, response) -> None:
    """The status is documented for the operation, with the media type and schema the body has."""
    where = f"{method.upper()} {path} -> {response.status_code}"
    documented = op["responses"].get(str(response.status_code))
    assert documented is not None, f"{where}: status not documented ({sorted(op['responses'])})"
    media = response.headers["content-type"].split(";")[0].strip()
    assert media in documented.get("content", {}), f"{where}: {media} documented as {list(documented.get('content', {}))}"
    if media == "application/json":
        schema = {**documented["content"][media]["schema"], "components": openapi["components"]}
        jsonschema.validate(response.json(), schema)
        assert response.json()["detail"], where  # says what to fix


@pytest.fixture
def admin_token(engine) -> str:
    with write_session(engine) as session:
        admin = add_user(session, email="admin@example.org", password="correct horse battery staple", role="admin")
        token, _row = issue_token(session, admin, ttl=timedelta(hours=1))
    return token


def test_the_printable_plan_is_one_of_the_html_operations(client):
    paths = [(p, m) for p, m, _op in _html_operations(client.get("/openapi.json").json())]
    assert ("/api/households/{household_id}/plan/print", "get") in paths


def test_every_html_operation_documents_its_refusals_as_json(client):
    """Refusals come from the one error handler as {"detail"} JSON, so no page may document them as HTML."""
    for path, method, op in _html_operations(client.get("/openapi.json").json()):
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")):
                assert list(response.get("content", {})) == ["application/json"], (method, path, status)


def test_signed_out_missing_and_bad_requests_get_documented_statuses(client, admin_token):
    openapi = client.get("/openapi.json").json()
    operations = _html_operations(openapi)
    assert operations
    for path, method, op in operations:
        missing, bad = _url(path, op, MISSING_ID), _url(path, op, BAD_ID)
        seen = {}
        # Signed out: refused before the id is even looked at.
        for url in (missing, bad):
            r = client.request(method, url)
            _check_documented(openapi, path, method, op, r)
            seen.setdefault("signed out", r.status_code)
        # A session cookie that is not (or no longer) valid is also a documented refusal.
        r = client.request(method, missing, cookies={"kindmap_session": "not-a-session"})
        _check_documented(openapi, path, method, op, r)
        # Signed in: a missing id, and an id that cannot be one.
        auth = {"Authorization": f"Bearer {admin_token}"}
        r = client.request(method, missing, headers=auth)
        _check_documented(openapi, path, method, op, r)
        seen["missing"] = r.status_code
        r = client.request(method, bad, headers=auth)
        _check_documented(openapi, path, method, op, r)
        seen["bad"] = r.status_code
        # A page addressed by an id: a missing one is 404. One addressed by its query (the gap report): the
        # query is missing here, so both are a 422 saying what to give.
        by_id = bool(re.findall(r"{(\w+)}", path)) and "{fmt}" not in path
        assert seen == {"signed out": 401, "missing": 404 if by_id else 422, "bad": 422}, (path, seen)


def test_the_map_page_offers_sign_in_not_staff_pages(client):
    """Signed out, the map shows "Sign in" (staff and carers reach their pages from the navigation
    after signing in); it does not list pages a visitor cannot use."""
    page = client.get("/").text
    assert 'href="/login"' in page
    assert 'href="/council"' not in page and 'href="/moderate"' not in page
    assert client.get("/login").status_code == 200
    for path in ("/council", "/moderate"):
        assert client.get(path).status_code == 200  # signed out: the page with its sign-in form


def test_every_page_has_one_description(client):
    """Search engines and link previews read one meta description per page (Lighthouse SEO)."""
    for path in ("/council", "/moderate", "/login", "/suggest"):
        page = client.get(path).text
        assert page.count('<meta name="description"') == 1, path
